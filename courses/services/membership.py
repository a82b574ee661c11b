from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from courses.models import Course, ExerciseProgress, Membership


def membership_enroll(*, user, course: Course) -> Membership:
    """Join a published course as a student; keeps an existing (possibly higher) role."""
    membership, _ = Membership.objects.get_or_create(
        user=user, course=course, defaults={"role": Membership.Role.STUDENT}
    )
    _forget(user, course)
    return membership


def membership_set_role(*, user, course: Course, role: str) -> Membership:
    if role not in Membership.Role.values:
        raise ValueError(f"unknown role {role!r}; expected one of {', '.join(Membership.Role.values)}")
    membership, created = Membership.objects.get_or_create(user=user, course=course, defaults={"role": role})
    if not created and membership.role != role:
        membership.role = role
        membership.save(update_fields=["role"])
    _forget(user, course)
    return membership


def _forget(user, course: Course) -> None:
    """Drop the membership the selectors kept on this user object (courses.selectors._membership)."""
    getattr(user, "_course_memberships", {}).pop(course.pk, None)


TOUCH_EVERY = timedelta(minutes=5)  # "active this week" needs no finer clock than this


def membership_touch(*, membership_id, kind: str, slug: str, last=None):
    """Remember the lesson or exercise a member opened last ("continue where you left off").
    `last` is what was written before, (kind, slug, when), as the caller knows it: the row, or
    what a cached page kept in the session. Returns the time written, or None for a reload
    within TOUCH_EVERY, which writes nothing (a write per page view was a write per request
    under load)."""
    if membership_id is None:
        return None
    now = timezone.now()
    if last and tuple(last[:2]) == (kind, slug) and last[2] and now - last[2] < TOUCH_EVERY:
        return None
    Membership.objects.filter(pk=membership_id).update(last_kind=kind, last_slug=slug, last_seen_at=now)
    return now


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
