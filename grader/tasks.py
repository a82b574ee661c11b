"""Database-side Celery tasks (queue `grader`). Thin: parse, call a service."""

from celery import shared_task

from gpu_runner import contract
from grader import services


@shared_task(name=contract.RECORD_RESULT, acks_late=True, ignore_result=True)
def record_result(payload: dict) -> None:
    services.submission_record_result(payload=payload)


@shared_task(name=contract.SUBMISSION_STARTED, ignore_result=True)
def submission_started(submission_id: int, attempt: int) -> None:
    services.submission_mark_started(submission_id=submission_id, attempt=attempt)


@shared_task(name="grader.reap_stuck", ignore_result=True)
def reap_stuck() -> dict:
    return services.submissions_reap()


@shared_task(name=contract.RECORD_REFERENCE, ignore_result=True)
def record_reference(payload: dict) -> None:
    """A reference-only job (course publish pre-computes expected values)."""
    if payload.get("reference_events") and payload.get("reference_device"):
        services.reference_store(
            content_hash=payload["content_hash"], device=payload["reference_device"], events=payload["reference_events"]
        )


@shared_task(name=contract.RECORD_REPLAY, acks_late=True, ignore_result=True)
def record_replay(payload: dict) -> None:
    services.replay_record(payload=payload)
