"""Staff regrades: grade past submits again, against the version each was graded with or the
course's current one, at a lower priority than learners' own jobs, keeping score history and
telling learners when a score changed.

A regrade reuses the submission pipeline (the same job, runner, verdict and conditional result
write): the row goes back to `queued` with its attempt bumped, pointing at the exercise row it is to
be graded against. What differs is folded in by `regrade_fold` when the result is recorded."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from courses.models import Exercise, ExerciseProgress
from grader.models import GradeRecord, Notice, Regrade, Submission

FINISHED = (Submission.Status.GRADED, Submission.Status.ERROR)
log = logging.getLogger(__name__)


def grade_record(*, submission: Submission, regrade=None) -> GradeRecord:
    """Append the submission's current grade to its history (never edited afterwards)."""
    result = submission.result or {}
    return GradeRecord.objects.create(
        submission=submission,
        regrade=regrade,
        version=(result.get("exercise") or {}).get("version") or submission.exercise.version.number,
        status=result.get("status") or submission.status,
        gradable=submission.gradable,
        passed=submission.passed,
        score=submission.score,
        max_score=submission.max_score,
        tests={t["id"]: t["status"] for t in result.get("tests") or [] if "id" in t},
    )


def regrade_start(
    *, course, user, scope: str, target: str = Regrade.Target.CURRENT, exercise_slug: str = "", submission=None, note=""
) -> Regrade:
    """Queue a regrade. The caller has checked that `user` is an instructor of `course`.
    Raises ValueError for a request that names nothing to regrade."""
    if scope not in Regrade.Scope.values:
        raise ValueError(f"unknown regrade scope {scope!r}; expected one of {', '.join(Regrade.Scope.values)}")
    if target not in Regrade.Target.values:
        raise ValueError(f"unknown regrade target {target!r}; expected original or current")
    rows = Submission.objects.filter(course=course, kind=Submission.Kind.SUBMIT).select_related(
        "exercise__version", "submitted_exercise"
    )
    if scope == Regrade.Scope.SUBMISSION:
        if submission is None or submission.course_id != course.pk:
            raise ValueError("a submission regrade needs a submission of this course")
        if submission.kind != Submission.Kind.SUBMIT:
            raise ValueError("only submits are graded for credit; a Run has nothing to regrade")
        rows, exercise_slug = rows.filter(pk=submission.pk), submission.exercise_slug
    elif scope == Regrade.Scope.EXERCISE:
        if not exercise_slug or not Exercise.objects.filter(version__course=course, slug=exercise_slug).exists():
            raise ValueError(f"this course has no exercise {exercise_slug!r}")
        rows = rows.filter(exercise_slug=exercise_slug)
    current = {}
    if target == Regrade.Target.CURRENT:
        if course.published_version_id is None:
            raise ValueError("the course has no published version to regrade against")
        current = {e.slug: e for e in Exercise.objects.filter(version_id=course.published_version_id)}
    with transaction.atomic():
        regrade = Regrade.objects.create(
            course=course,
            scope=scope,
            target=target,
            exercise_slug=exercise_slug if scope != Regrade.Scope.COURSE else "",
            submission=submission if scope == Regrade.Scope.SUBMISSION else None,
            requested_by=user,
            note=note[:300],
        )
        skipped, queued = {}, []
        with_history = set(GradeRecord.objects.filter(submission__in=rows).values_list("submission_id", flat=True))
        deadline = timezone.now() + timedelta(seconds=settings.GRADER_QUEUE_TIMEOUT_SECONDS)
        for sub in rows:
            original = sub.submitted_exercise or sub.exercise
            exercise = current.get(sub.exercise_slug) if current else original
            if exercise is None:
                skipped["not in the current version"] = skipped.get("not in the current version", 0) + 1
                continue
            if sub.status not in FINISHED:
                skipped["still being graded"] = skipped.get("still being graded", 0) + 1
                continue
            if sub.pk not in with_history and sub.result:
                grade_record(submission=sub)  # graded before history was kept
            # Conditional: a row that started grading since we read it is left alone.
            if Submission.objects.filter(pk=sub.pk, status__in=FINISHED).update(
                status=Submission.Status.QUEUED,
                attempt=F("attempt") + 1,
                exercise=exercise,
                submitted_exercise=original,
                regrade=regrade,
                deadline_at=deadline,
                started_at=None,
                finished_at=None,
            ):
                queued.append(sub.pk)
        regrade.total, regrade.skipped = len(queued), skipped
        if not queued:
            regrade.finished_at = timezone.now()
        regrade.save(update_fields=["total", "skipped", "finished_at"])
        transaction.on_commit(lambda: _enqueue(queued))
    return regrade


def _enqueue(ids: list[int]) -> None:
    from grader.services.submissions import submission_enqueue

    for sub in Submission.objects.filter(pk__in=ids).select_related("exercise__version", "user", "course"):
        submission_enqueue(submission=sub)


def progress_recompute(*, user, course, exercise_slug: str) -> None:
    """A learner's standing on an exercise from their graded submits as they stand now: a regrade
    can lower a score as well as raise it, so nothing is folded in incrementally."""
    graded = Submission.objects.filter(
        user=user,
        course=course,
        exercise_slug=exercise_slug,
        kind=Submission.Kind.SUBMIT,
        status=Submission.Status.GRADED,
        gradable=True,
    )
    rows = list(graded.values_list("score", "max_score", "passed"))
    progress, _ = ExerciseProgress.objects.select_for_update().get_or_create(
        user=user, course=course, exercise_slug=exercise_slug
    )
    progress.submissions = len(rows)
    progress.best_score = max((r[0] or 0 for r in rows), default=0)
    progress.max_score = max((r[1] or 0 for r in rows), default=progress.max_score)
    progress.status = ExerciseProgress.Status.PASSED if any(r[2] for r in rows) else ExerciseProgress.Status.ATTEMPTED
    progress.save(update_fields=["submissions", "max_score", "best_score", "status", "updated_at"])


def regrade_not_gradable(*, submission: Submission, attempt: int, detail: str) -> bool:
    """A regrade that could not grade (a sandbox or worker fault, too many tries) must cost the
    learner nothing: the row goes back to the grade it had, on the exercise version that grade
    was given on, and the regrade counts it as kept. The row still holds that grade (a regrade
    only changes it when a gradable result arrives). Returns whether this delivery was current."""
    last = submission.grades.order_by("-created_at", "-pk").first()
    exercise = submission.exercise
    if last is not None and last.version != exercise.version.number:
        exercise = (
            Exercise.objects.filter(
                version__course_id=submission.course_id, version__number=last.version, slug=submission.exercise_slug
            ).first()
            or exercise
        )
    with transaction.atomic():
        if not Submission.objects.filter(
            pk=submission.pk, attempt=attempt, status__in=(Submission.Status.QUEUED, Submission.Status.RUNNING)
        ).update(
            status=Submission.Status.GRADED if submission.gradable else Submission.Status.ERROR,
            exercise=exercise,
            finished_at=timezone.now(),
        ):
            return False
        log.warning("regrade %s kept submission %s's grade: %s", submission.regrade_id, submission.pk, detail)
        regrade = Regrade.objects.select_for_update().get(pk=submission.regrade_id)
        why = "could not be graded again (kept the earlier grade)"
        regrade.skipped = {**regrade.skipped, why: regrade.skipped.get(why, 0) + 1}
        regrade.done += 1
        if regrade.done >= regrade.total and regrade.finished_at is None:
            regrade.finished_at = timezone.now()
        regrade.save(update_fields=["skipped", "done", "finished_at"])
    return True


def _points(score, max_score) -> str:
    return "not gradable" if score is None else f"{score:g}/{max_score or 0:g}"


def regrade_fold(*, submission: Submission) -> None:
    """After a regraded result is written (inside its transaction): history, progress, the
    learner's notice when the score or verdict changed, the batch's counters."""
    before = submission.grades.order_by("-created_at", "-pk").first()
    record = grade_record(submission=submission, regrade=submission.regrade)
    progress_recompute(user=submission.user, course=submission.course, exercise_slug=submission.exercise_slug)
    changed = before is not None and (before.score, before.passed) != (record.score, record.passed)
    if changed:
        text = (
            f"Your submission #{submission.number} of “{submission.exercise.title}” was regraded "
            f"(course version {record.version}): {_points(before.score, before.max_score)} → "
            f"{_points(record.score, record.max_score)}"
            + (", now passed." if record.passed and not before.passed else "")
            + (", no longer passing." if before.passed and not record.passed else ".")
        )
        Notice.objects.create(user=submission.user, course=submission.course, submission=submission, text=text)
    Regrade.objects.filter(pk=submission.regrade_id).update(
        done=F("done") + 1, changed=F("changed") + (1 if changed else 0)
    )
    Regrade.objects.filter(pk=submission.regrade_id, done__gte=F("total"), finished_at__isnull=True).update(
        finished_at=timezone.now()
    )


def notice_mark_read(*, user, notice_ids: list[int]) -> int:
    return Notice.objects.filter(user=user, pk__in=notice_ids, read_at__isnull=True).update(read_at=timezone.now())
