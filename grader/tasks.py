"""Database-side Celery tasks (queue `grader`). Thin: parse, call a service."""

from celery import shared_task
from django.db import InterfaceError, OperationalError, close_old_connections

from gpu_runner import contract
from grader import services

# A dropped database connection (a failover, a restart, pg_terminate_backend) must not lose a
# result until the reaper grades the code again: retry on a fresh connection, backing off 1, 2, 4,
# 8, 16 s. A retry that finds the result already stored changes nothing (the conditional update
# on status and attempt).
DB_RETRY_LIMIT = 5


def _retrying(task, write, payload: dict) -> None:
    try:
        write(payload=payload)
    except (OperationalError, InterfaceError) as exc:
        # The broken connection would fail the retry too: drop it so the next query reconnects.
        close_old_connections()
        raise task.retry(exc=exc, countdown=2**task.request.retries) from exc


@shared_task(name=contract.RECORD_RESULT, bind=True, acks_late=True, ignore_result=True, max_retries=DB_RETRY_LIMIT)
def record_result(self, payload: dict) -> None:
    _retrying(self, services.submission_record_result, payload)


@shared_task(name=contract.SUBMISSION_STARTED, ignore_result=True)
def submission_started(submission_id: int, attempt: int) -> None:
    services.submission_mark_started(submission_id=submission_id, attempt=attempt)


@shared_task(name="grader.reap_stuck", ignore_result=True)
def reap_stuck() -> dict:
    return services.submissions_reap()


@shared_task(name=contract.RECORD_REFERENCE, ignore_result=True)
def record_reference(payload: dict) -> None:
    """A reference-only job: a warm-up after a publish, or a `fromscratch test` asking for the
    visible tests' expected values."""
    if payload.get("error"):
        services.reference_warm_failed(
            content_hash=payload["content_hash"],
            device=payload.get("reference_device") or "cpu",
            error=payload["error"],
        )
    elif payload.get("reference_events") and payload.get("reference_device"):
        services.reference_store(
            content_hash=payload["content_hash"], device=payload["reference_device"], events=payload["reference_events"]
        )
    if "warm_version" in payload:
        services.reference_warmed(content_hash=payload["content_hash"], version_id=payload["warm_version"])


@shared_task(name=contract.RECORD_REPLAY, bind=True, acks_late=True, ignore_result=True, max_retries=DB_RETRY_LIMIT)
def record_replay(self, payload: dict) -> None:
    _retrying(self, services.replay_record, payload)
