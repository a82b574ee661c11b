"""The runner's Celery task. It needs the broker and the channel layer (both Redis), never the
database: results go back as a message to `grader.record_result` (sent by name, so this app
imports nothing from grader)."""

import json
import logging
import os

import redis
from celery import shared_task
from celery.signals import worker_process_init, worker_process_shutdown
from django.conf import settings

from gpu_runner import contract, runtime
from gpu_runner.events import EventStream, result_event
from gpu_runner.execute import execute

log = logging.getLogger(__name__)


def _delivery_count(submission_id, attempt) -> int:
    """How many times this attempt's message reached a worker: a job that keeps killing its
    worker must stop being redelivered (task_reject_on_worker_lost "can cause message loops")."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    key = f"{settings.KEY_PREFIX}sub:{submission_id}:{attempt}:deliveries"
    count = client.incr(key)
    client.expire(key, 24 * 3600)
    return int(count)


@shared_task(name=contract.RUN_JOB, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def run_job(job: dict) -> None:
    from config.celery import app

    sid, attempt = job.get("submission_id"), job.get("attempt")
    deliveries = _delivery_count(sid, attempt) if sid is not None else 1
    if deliveries > settings.GRADER_MAX_ATTEMPTS:
        payload = {
            "submission_id": sid,
            "attempt": attempt,
            "gradable": False,
            "kind": job.get("kind", "submission"),
            "infrastructure_error": f"the worker grading this submission was lost {settings.GRADER_MAX_ATTEMPTS} times",
        }
        app.send_task(contract.RECORD_RESULT, args=[payload], queue=contract.QUEUE_GRADER)
        return
    # The replacement spare starts after the result is out, not before (pool.refills_after).
    with runtime.pool().refills_after():
        _run_and_report(app, job, sid, attempt, deliveries)


def _send_reference(app, job, payload, **extra) -> None:
    """The reference observations a job computed, to `grader.record_reference` (the cache)."""
    record = {
        "content_hash": job["exercise"]["content_hash"],
        "reference_device": payload.get("reference_device") or payload.get("device") or "cpu",
        "reference_events": payload.get("reference_events") or [],
        **extra,
    }
    app.send_task(contract.RECORD_REFERENCE, args=[record], queue=contract.QUEUE_GRADER)


def _run_and_report(app, job, sid, attempt, deliveries=1) -> None:
    if job.get("reply_to"):
        # A check someone is waiting for (the tutor's leak check): answer on a Redis list, not
        # to the database side. No events: nobody watches a stream for it.
        payload = execute(
            job, pool=runtime.pool(), data_dir=settings.DATASET_CACHE_DIR, mirror_dir=settings.COURSE_ASSETS_DIR
        )
        client = redis.Redis.from_url(settings.REDIS_URL)
        client.rpush(job["reply_to"], json.dumps(payload))
        client.expire(job["reply_to"], 300)
        if payload.get("reference_events") and job.get("exercise", {}).get("content_hash"):
            _send_reference(app, job, payload)
        return
    if job.get("kind") == "reference" and sid is None:
        # A warm-up after a publish: the reference alone, its observations (or why it could not
        # run) to the database side, which caches them for every learner of that exercise.
        payload = execute(
            job, pool=runtime.pool(), data_dir=settings.DATASET_CACHE_DIR, mirror_dir=settings.COURSE_ASSETS_DIR
        )
        error = payload.get("dataset_error") or payload.get("infrastructure_error") or ""
        _send_reference(app, job, payload, error=error, warm_version=job.get("warm_version"))
        return
    if job.get("report_outcome") is not None:
        # A staff replay (a candidate version against a past submission): graded exactly like a
        # submission, reported to its own task, streamed to nobody.
        payload = execute(
            job, pool=runtime.pool(), data_dir=settings.DATASET_CACHE_DIR, mirror_dir=settings.COURSE_ASSETS_DIR
        )
        payload.pop("learner_events", None)
        payload["outcome_id"] = job["report_outcome"]
        app.send_task(contract.RECORD_REPLAY, args=[payload], queue=contract.QUEUE_GRADER)
        return
    stream = EventStream(sid, attempt) if sid is not None else None
    if stream is not None and deliveries > 1:
        # The worker grading this attempt was lost mid-run (kill -9, out of memory), so the log
        # may already hold some of its tests: say that grading starts again, so a client (and a
        # reader of the stored log) counts only what follows.
        stream.emit("restarted", delivery=deliveries, max_deliveries=settings.GRADER_MAX_ATTEMPTS)
    if sid is not None:
        app.send_task(contract.SUBMISSION_STARTED, args=[sid, attempt], queue=contract.QUEUE_GRADER)
    payload = execute(
        job,
        pool=runtime.pool(),
        data_dir=settings.DATASET_CACHE_DIR,
        mirror_dir=settings.COURSE_ASSETS_DIR,
        stream=stream,
    )
    if stream is not None:
        # Show the verdict now; the database side stores this same result and only speaks up
        # again if it had to replace it (a result that fails schema validation).
        stream.emit("result", **result_event(payload["result"], kind=job.get("submission_kind", "submit")))
        stream.flush()
    payload.pop("learner_events", None)  # graded already; the database keeps the event log
    app.send_task(contract.RECORD_RESULT, args=[payload], queue=contract.QUEUE_GRADER)


@worker_process_init.connect
def _warm_pool(**kwargs):
    kinds = os.environ.get("GPU_RUNNER_WARM", "py,torch")
    if settings.GRADER_WARM_POOL and kinds:
        runtime.warm(kinds)


@worker_process_shutdown.connect
def _close_pool(**kwargs):
    if runtime._pool is not None:
        runtime._pool.close()
