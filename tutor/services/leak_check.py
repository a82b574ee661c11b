"""Leak check by execution: would the code in a reply make the learner's failing tests pass?

Each code block is spliced into the learner's own files (guardrails.splice), and the failing
tests (plus what they depend on) run in the real sandbox on a grade.cpu worker, exactly like a
submission, compared with the reference on the trusted side. The runner answers on a Redis list
this coroutine waits on, so the check needs no database on the worker.
"""

import asyncio
import json
import uuid

import redis.asyncio as aredis
from channels.db import database_sync_to_async
from django.conf import settings

from gpu_runner import verdicts
from gpu_runner.execute import merged_reference
from grader.services import job_build
from tutor.services.guardrails import splice


def _tests_with_dependencies(exercise, failing_ids: list[str]) -> list[dict]:
    by_id = {t["id"]: t for t in exercise.spec["tests"]}
    wanted, stack = set(), list(failing_ids)
    while stack:
        tid = stack.pop()
        if tid in by_id and tid not in wanted:
            wanted.add(tid)
            stack.extend(by_id[tid].get("depends_on") or [])
    return [{**t, "name": t.get("title") or t["id"]} for t in exercise.spec["tests"] if t["id"] in wanted]


def spliced_files(code: dict, snippet: str) -> dict | None:
    for name, source in code.items():
        result = splice(source, snippet)
        if result is not None:
            return {**code, name: result}
    return None


# `manage.py tutor eval` runs the check in-process (it owns a sandbox pool); the platform sends it
# to a grade.cpu worker like any other job.
RUN_LOCALLY = False


def _run_here(job) -> dict:
    from gpu_runner import runtime
    from gpu_runner.execute import execute

    return execute(job, pool=runtime.pool(), data_dir=settings.DATASET_CACHE_DIR, mirror_dir=settings.COURSE_ASSETS_DIR)


async def _run_on_a_worker(job, wait_seconds: float) -> dict:
    from config.celery import app

    key = f"{settings.KEY_PREFIX}tutor:check:{uuid.uuid4().hex}"
    job["reply_to"] = key
    await asyncio.to_thread(app.send_task, "gpu_runner.run_job", args=[job], queue="grade.cpu")
    # The read timeout must outlast the blocking wait (redis-py's default is 5 s).
    client = aredis.Redis.from_url(settings.REDIS_URL, socket_timeout=wait_seconds + 10)
    try:
        reply = await client.blpop([key], timeout=wait_seconds)
    finally:
        await client.aclose()
    if reply is None:
        raise TimeoutError("the leak check did not finish in time")
    return json.loads(reply[1])


async def tests_passed_with(
    *, exercise, user, files: dict, failing_ids: list[str], wait_seconds: float = 60.0
) -> list[str]:
    """Which of `failing_ids` pass when the learner's files are replaced by `files`."""
    tests = _tests_with_dependencies(exercise, failing_ids)
    job = await database_sync_to_async(job_build)(
        exercise=exercise, files=files, tests=tests, user=user, kind="leak-check"
    )
    payload = await asyncio.to_thread(_run_here, job) if RUN_LOCALLY else await _run_on_a_worker(job, wait_seconds)
    if not payload.get("gradable", True):
        raise RuntimeError(payload.get("infrastructure_error", "the leak check could not run"))
    reference = merged_reference(job, payload)
    result = verdicts.grade(
        tests=tests,
        learner_events=payload.get("learner_events") or [],
        reference_events=reference or [],
        process=payload.get("process") or {},
    )
    return [t["id"] for t in result["tests"] if t["status"] == "passed" and t["id"] in failing_ids]
