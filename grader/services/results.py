"""The database side of grading: record the runner's observations as a result, cache reference
observations, track phases, and re-enqueue lost submissions (DESIGN.md §3-§4)."""

import json
import logging
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path

import jsonschema
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from courses.services import progress_record
from gpu_runner import verdicts, wire
from gpu_runner.events import EventStream, replay, result_event
from grader.jobs import wall_seconds
from grader.models import ReferenceRun, Submission
from grader.services.regrades import grade_record, regrade_fold, regrade_not_gradable

log = logging.getLogger(__name__)
ACTIVE = (Submission.Status.QUEUED, Submission.Status.RUNNING)


@lru_cache(maxsize=1)
def result_schema() -> dict:
    return json.loads((Path(__file__).resolve().parent.parent / "result_schema.json").read_text())


def validate_result(result: dict) -> None:
    jsonschema.validate(result, result_schema())


def reference_store(*, content_hash: str, device: str, events: list) -> None:
    """Cache reference observations, merging tests computed separately (a Run's visible tests
    first, a Submit's hidden ones later)."""
    with transaction.atomic():
        row, created = ReferenceRun.objects.select_for_update().get_or_create(
            content_hash=content_hash, device=device, defaults={"events": events}
        )
        if created:
            return
        have = set(verdicts.summarize(row.events)["tests"])
        new = [e for e in events if e.get("test") not in have and e.get("t") not in ("done", "load", "syntax")]
        if new or row.error:
            row.events = row.events + new
            row.error = ""  # a good run answers an earlier failed warm-up
            row.save(update_fields=["events", "error"])


def submission_mark_started(*, submission_id: int, attempt: int) -> bool:
    submission = Submission.objects.select_related("exercise").filter(pk=submission_id).first()
    if submission is None:
        return False
    now = timezone.now()
    deadline = now + timedelta(seconds=2 * wall_seconds(submission.exercise.spec) + 120)
    return bool(
        Submission.objects.filter(pk=submission_id, attempt=attempt, status=Submission.Status.QUEUED).update(
            status=Submission.Status.RUNNING, started_at=now, deadline_at=deadline
        )
    )


def _iso(ts) -> str | None:
    if ts is None:
        return None
    if isinstance(ts, (int, float)):
        return datetime.fromtimestamp(ts, tz=UTC).isoformat()
    return ts.isoformat()


def _tests_for(submission: Submission) -> list:
    tests = submission.exercise.spec["tests"]
    if submission.kind == Submission.Kind.RUN:
        tests = [t for t in tests if t["visibility"] == "visible"]
    return [{**t, "name": t.get("title") or t["id"]} for t in tests]


def _infrastructure_result(submission: Submission, message: str) -> dict:
    return verdicts.infrastructure_result(tests=_tests_for(submission), message=message)


def _runner_result(submission: Submission, payload: dict) -> dict:
    """The result the runner computed (execute.py: the one place a verdict is made), or an
    infrastructure result when it sent none (the job never ran, the worker was lost)."""
    result = payload.get("result")
    if isinstance(result, dict) and payload.get("gradable", True):
        return dict(result)
    message = payload.get("infrastructure_error") or "the grading infrastructure failed"
    if isinstance(result, dict) and not result.get("gradable", True):
        return dict(result)
    return _infrastructure_result(submission, message)


def submission_record_result(*, payload: dict) -> Submission | None:
    """Store the runner's result. Idempotent: only the current attempt of a still-active
    submission is written (a duplicate or stale delivery changes nothing)."""
    submission = (
        Submission.objects.select_related("exercise__version", "course", "user")
        .filter(pk=payload.get("submission_id"))
        .first()
    )
    if submission is None:
        log.warning("result for unknown submission %s", payload.get("submission_id"))
        return None
    exercise = submission.exercise
    if payload.get("reference_events") and payload.get("reference_device"):
        reference_store(
            content_hash=exercise.content_hash, device=payload["reference_device"], events=payload["reference_events"]
        )
    now = timezone.now()
    shown = payload.get("result")
    result = _runner_result(submission, payload)
    result.update(
        kind=submission.kind,
        attempt=submission.number,
        exercise={"slug": exercise.slug, "version": exercise.version.number},
        device=payload.get("device", ""),
        cpu_fallback=bool(payload.get("cpu_fallback")),
        resources=payload.get("resources") or {},
        runner_version=payload.get("runner_version", ""),
        timing={
            "queued_at": _iso(submission.created_at),
            "started_at": _iso(payload.get("started_at")),
            "finished_at": _iso(payload.get("finished_at") or now),
        },
        output={k: (payload.get("process") or {}).get(k, "") for k in ("stdout", "stderr")},
    )
    result = wire.jsonsafe(result)
    try:
        validate_result(result)
    except jsonschema.ValidationError as exc:
        log.error("result for submission %s failed schema validation: %s", submission.pk, exc.message)
        result = _infrastructure_result(submission, "the grader produced an invalid result")
        result.update(kind=submission.kind, attempt=submission.number, timing={})
    gradable = result["gradable"]
    if not gradable and submission.regrade_id is not None:
        # An infrastructure fault during a staff regrade: the learner keeps the grade they had.
        regrade_not_gradable(submission=submission, attempt=payload.get("attempt"), detail=result["verdict"]["detail"])
        submission.refresh_from_db()
        return submission
    passed = gradable and result["status"] == "passed"
    flagged = bool((result.get("integrity") or {}).get("flagged"))
    stream = EventStream(submission.pk, submission.attempt)
    replaced = shown is None or (shown.get("status"), shown.get("score"), shown.get("gradable")) != (
        result["status"],
        result["score"],
        gradable,
    )
    with transaction.atomic():
        updated = Submission.objects.filter(pk=submission.pk, attempt=payload.get("attempt"), status__in=ACTIVE).update(
            status=Submission.Status.GRADED if gradable else Submission.Status.ERROR,
            gradable=gradable,
            passed=passed,
            flagged=flagged,
            score=result["score"],
            max_score=result["max_score"],
            result=result,
            device=payload.get("device", ""),
            runner_version=payload.get("runner_version", ""),
            finished_at=now,
            started_at=submission.started_at
            or (datetime.fromtimestamp(payload["started_at"], tz=UTC) if payload.get("started_at") else None),
            error="" if gradable else result["verdict"]["detail"],
        )
        if not updated:
            return None
        submission.refresh_from_db()
        if submission.regrade_id is not None:
            regrade_fold(submission=submission)  # history, recomputed progress, the learner's notice
        elif submission.kind == Submission.Kind.SUBMIT:
            grade_record(submission=submission)
        if gradable and submission.kind == Submission.Kind.SUBMIT and submission.regrade_id is None:
            progress_record(
                user=submission.user,
                course=submission.course,
                exercise_slug=submission.exercise_slug,
                score=result["score"],
                max_score=result["max_score"],
                passed=passed,
            )
        if replaced:
            # The runner showed nothing, or something this copy had to replace: send the stored one.
            stream.emit("result", **result_event(result, kind=submission.kind))
        else:
            # The runner already showed this result; say it is recorded (the progress badge listens).
            stream.emit(
                "recorded", kind=submission.kind, passed=passed, score=result["score"], max_score=result["max_score"]
            )
        stream.flush()
        # The event log goes in with the result, so whoever sees the submission finished also
        # sees its events (a separate update raced readers that polled the status).
        Submission.objects.filter(pk=submission.pk).update(events=wire.jsonsafe(replay(submission.pk)))
    submission.refresh_from_db()
    return submission


def submissions_reap(*, now=None) -> dict:
    """Re-enqueue submissions whose deadline passed (a lost message or a dead worker); after
    GRADER_MAX_ATTEMPTS tries, give up and mark them not gradable."""
    from grader.services.submissions import submission_enqueue

    now = now or timezone.now()
    counts = {"requeued": 0, "failed": 0}
    for submission in Submission.objects.filter(status__in=ACTIVE, deadline_at__lt=now).select_related("exercise"):
        if submission.attempt >= settings.GRADER_MAX_ATTEMPTS:
            if submission.regrade_id is not None:
                detail = f"grading did not finish after {submission.attempt} tries"
                if regrade_not_gradable(submission=submission, attempt=submission.attempt, detail=detail):
                    counts["failed"] += 1
                continue
            result = _infrastructure_result(submission, f"grading did not finish after {submission.attempt} tries")
            result.update(kind=submission.kind, attempt=submission.number, timing={})
            if Submission.objects.filter(pk=submission.pk, attempt=submission.attempt, status__in=ACTIVE).update(
                status=Submission.Status.ERROR,
                gradable=False,
                result=result,
                finished_at=now,
                error=result["verdict"]["detail"],
            ):
                counts["failed"] += 1
                EventStream(submission.pk, submission.attempt).emit(
                    "result", **result_event(result, kind=submission.kind)
                )
            continue
        next_attempt = submission.attempt + 1
        deadline = now + timedelta(seconds=settings.GRADER_QUEUE_TIMEOUT_SECONDS)
        if Submission.objects.filter(pk=submission.pk, attempt=submission.attempt, status__in=ACTIVE).update(
            status=Submission.Status.QUEUED, attempt=next_attempt, deadline_at=deadline, started_at=None
        ):
            submission.attempt, submission.status = next_attempt, Submission.Status.QUEUED
            transaction.on_commit(lambda s=submission: submission_enqueue(submission=s))
            counts["requeued"] += 1
    return counts
