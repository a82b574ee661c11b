"""Replay: before an instructor publishes a change to an exercise's tests, grade the candidate
version against every past submit of that exercise (stored files, sandboxed, at batch priority)
and show whose verdict would change. Nothing a learner sees is touched."""

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from gpu_runner import contract, wire
from grader.models import Replay, ReplayOutcome, Submission
from grader.services.errors import PrerequisiteLocked
from grader.services.results import reference_store


def replay_start(*, exercise, user) -> Replay:
    """Replay `exercise` (a row of any version of its course, typically an unpublished candidate)
    against every graded submit of the same exercise slug. The caller checked the instructor role."""
    course = exercise.version.course
    subs = list(
        Submission.objects.filter(
            course=course,
            exercise_slug=exercise.slug,
            kind=Submission.Kind.SUBMIT,
            status=Submission.Status.GRADED,
            gradable=True,
        ).order_by("pk")
    )
    with transaction.atomic():
        replay = Replay.objects.create(
            course=course, exercise=exercise, exercise_slug=exercise.slug, requested_by=user, total=len(subs)
        )
        ReplayOutcome.objects.bulk_create(
            [ReplayOutcome(replay=replay, submission=s, before_passed=s.passed, before_score=s.score) for s in subs]
        )
        if not subs:
            Replay.objects.filter(pk=replay.pk).update(status=Replay.Status.FINISHED, finished_at=timezone.now())
        transaction.on_commit(lambda: _enqueue(replay.pk))
    return replay


def _enqueue(replay_id: int) -> None:
    from config.celery import app
    from grader.services.submissions import _stored_uses_files, _time_limits, job_build

    replay = Replay.objects.select_related("exercise__version").get(pk=replay_id)
    exercise = replay.exercise
    soft, hard = _time_limits(exercise.spec)
    outcomes = ReplayOutcome.objects.filter(replay=replay).select_related("submission__exercise", "submission__user")
    for outcome in outcomes:
        sub = outcome.submission
        try:
            uses_files = _stored_uses_files(sub)
        except PrerequisiteLocked as exc:
            replay_record(payload={"outcome_id": outcome.pk, "gradable": False, "infrastructure_error": str(exc)})
            continue
        job = job_build(exercise=exercise, files=sub.files, tests=exercise.spec["tests"], uses_files=uses_files)
        job["report_outcome"] = outcome.pk
        job["submission_kind"] = Submission.Kind.SUBMIT
        app.send_task(
            contract.RUN_JOB,
            args=[job],
            queue=contract.QUEUE_FOR_DEVICE[exercise.device],
            soft_time_limit=soft,
            time_limit=hard,
            priority=contract.PRIORITY_BATCH,
        )


def replay_record(*, payload: dict) -> ReplayOutcome | None:
    """Store one replayed verdict. Idempotent: a redelivered report changes nothing."""
    outcome = ReplayOutcome.objects.select_related("replay__exercise").filter(pk=payload.get("outcome_id")).first()
    if outcome is None:
        return None
    if payload.get("reference_events") and payload.get("reference_device"):
        reference_store(
            content_hash=outcome.replay.exercise.content_hash,
            device=payload["reference_device"],
            events=payload["reference_events"],
        )
    result = payload.get("result") if isinstance(payload.get("result"), dict) else None
    gradable = bool(payload.get("gradable", True)) and result is not None and result.get("gradable", True)
    fields = {"finished": True, "after_gradable": gradable}
    if gradable:
        fields.update(
            after_passed=result["status"] == "passed",
            after_score=result.get("score"),
            after_max_score=result.get("max_score"),
            after_tests=wire.jsonsafe({t["id"]: t["status"] for t in result.get("tests") or [] if "id" in t}),
            detail=(_first_failure(result) or "")[:500],
        )
    else:
        detail = payload.get("infrastructure_error") or ((result or {}).get("verdict") or {}).get("detail") or ""
        fields["detail"] = (detail or "the candidate version could not grade this submission")[:500]
    with transaction.atomic():
        if not ReplayOutcome.objects.filter(pk=outcome.pk, finished=False).update(**fields):
            return None
        Replay.objects.filter(pk=outcome.replay_id).update(done=F("done") + 1)
        Replay.objects.filter(pk=outcome.replay_id, done__gte=F("total"), status=Replay.Status.RUNNING).update(
            status=Replay.Status.FINISHED, finished_at=timezone.now()
        )
    outcome.refresh_from_db()
    return outcome


def _first_failure(result: dict) -> str:
    for test in result.get("tests") or []:
        if test.get("status") in ("failed", "error"):
            return f"{test.get('id')}: {test.get('message') or ''}"
    return ""
