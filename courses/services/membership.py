from django.db import transaction
from django.utils import timezone

from courses.models import Course, ExerciseProgress, Membership


def membership_enroll(*, user, course: Course) -> Membership:
    """Join a published course as a student; keeps an existing (possibly higher) role."""
    membership, _ = Membership.objects.get_or_create(
        user=user, course=course, defaults={"role": Membership.Role.STUDENT}
    )
    return membership


def membership_set_role(*, user, course: Course, role: str) -> Membership:
    if role not in Membership.Role.values:
        raise ValueError(f"unknown role {role!r}; expected one of {', '.join(Membership.Role.values)}")
    membership, created = Membership.objects.get_or_create(user=user, course=course, defaults={"role": role})
    if not created and membership.role != role:
        membership.role = role
        membership.save(update_fields=["role"])
    return membership


def membership_touch(*, membership: Membership | None, kind: str, slug: str) -> None:
    """Remember the lesson or exercise a member opened last ("continue where you left off")."""
    if membership is None:
        return
    Membership.objects.filter(pk=membership.pk).update(last_kind=kind, last_slug=slug, last_seen_at=timezone.now())


@transaction.atomic
def progress_record(
    *, user, course: Course, exercise_slug: str, score: float, max_score: float, passed: bool
) -> ExerciseProgress:
    """Fold one graded submission into the learner's standing: best score wins, passed sticks."""
    progress, _ = ExerciseProgress.objects.select_for_update().get_or_create(
        user=user, course=course, exercise_slug=exercise_slug, defaults={"max_score": max_score}
    )
    progress.submissions += 1
    progress.max_score = max_score
    if score >= progress.best_score:
        progress.best_score = score
    if passed:
        progress.status = ExerciseProgress.Status.PASSED
    progress.save(update_fields=["submissions", "max_score", "best_score", "status", "updated_at"])
    return progress
