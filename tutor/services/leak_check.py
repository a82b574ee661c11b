"""Leak check by execution: would the code in a reply make the learner's failing tests pass?

The code is spliced into the files of the stored submission the tutor is reasoning about (the
learner's latest graded Run or Submit of the exercise, re-read through its permission gate),
never into what the browser sent; the tests that submission failed (plus what they depend on)
run in the real sandbox on a grade.cpu worker, exactly like a submission, against the exercise
version that submission was graded on, and are compared with the reference on the trusted side.
The runner answers on a Redis list this coroutine waits on, so the check needs no database on
the worker.

Every way the check can fail to give an answer (no worker in time, the runner reporting the job
not gradable, the tests gone from the exercise, the learner's check rate used up, Redis down)
raises CheckUnavailable: the caller then shows no code at all (code_review.py).
"""

import asyncio
import json
import uuid
from dataclasses import dataclass

import redis.asyncio as aredis
from channels.db import database_sync_to_async
from django.conf import settings

from config import ratelimits
from gpu_runner.contract import QUEUE_FOR_DEVICE
from grader.services import job_build
from tutor.services.guardrails import splice


class CheckUnavailable(Exception):
    """The execution check could not give an answer; the text says why (for the log and staff)."""


@dataclass
class Base:
    """What a reply's code is checked against: a stored submission's files and failures."""

    submission_id: int
    exercise: object  # the Exercise row (and so the version) it was graded on
    files: dict
    failing: list[str]  # ids of the tests it failed or errored on


def base_for(*, user, submission_id: int) -> Base:
    from tutor.selectors import submission_for_check

    submission = submission_for_check(user=user, submission_id=submission_id)
    tests = (submission.result or {}).get("tests") or []
    failing = [t["id"] for t in tests if t.get("status") in ("failed", "error")]
    exercise = submission.exercise
    return Base(submission.pk, exercise, dict(submission.files or {}), failing)


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


def queue_for(exercise) -> str:
    """Checks run on CPU workers (TUTOR_LEAK_CHECK_QUEUE), except for an exercise that cannot
    run without a GPU."""
    if exercise.device == "gpu" and not (exercise.spec.get("cpu_fallback") or {}).get("allowed"):
        return QUEUE_FOR_DEVICE["gpu"]
    return settings.TUTOR_LEAK_CHECK_QUEUE


async def _run_on_a_worker(job, queue: str, wait_seconds: float) -> dict:
    from config.celery import app

    key = f"{settings.KEY_PREFIX}tutor:check:{uuid.uuid4().hex}"
    job["reply_to"] = key
    await asyncio.to_thread(app.send_task, "gpu_runner.run_job", args=[job], queue=queue)
    # The read timeout must outlast the blocking wait (redis-py's default is 5 s).
    client = aredis.Redis.from_url(settings.REDIS_URL, socket_timeout=wait_seconds + 10)
    try:
        reply = await client.blpop([key], timeout=wait_seconds)
    finally:
        await client.aclose()
    if reply is None:
        raise CheckUnavailable(f"no worker answered the code check within {wait_seconds:g} s")
    return json.loads(reply[1])


async def tests_passed_with(*, base: Base, user, files: dict, wait_seconds: float | None = None) -> list[str]:
    """Which of the base's failing tests pass when its files are replaced by `files`."""
    tests = _tests_with_dependencies(base.exercise, base.failing)
    if not any(t["id"] in base.failing for t in tests):
        raise CheckUnavailable("the tests this submission failed are no longer part of its exercise")
    decision = await database_sync_to_async(ratelimits.hit)("tutor.leak_check", str(user.pk))
    if not decision.allowed:
        raise CheckUnavailable(decision.message)
    job = await database_sync_to_async(job_build)(
        exercise=base.exercise, files=files, tests=tests, user=user, kind="leak-check"
    )
    wait = settings.TUTOR_LEAK_CHECK_SECONDS if wait_seconds is None else wait_seconds
    try:
        if RUN_LOCALLY:
            payload = await asyncio.to_thread(_run_here, job)
        else:
            payload = await _run_on_a_worker(job, queue_for(base.exercise), wait)
    except CheckUnavailable:
        raise
    except Exception as exc:  # Redis or the broker down, a garbled answer: no answer is no pass
        raise CheckUnavailable(f"the code check failed to run ({type(exc).__name__}: {exc})") from exc
    if not payload.get("gradable", True):
        raise CheckUnavailable(payload.get("infrastructure_error") or "the runner could not run the code check")
    result = payload.get("result") or {}
    if not result.get("gradable", False):
        raise CheckUnavailable(result.get("message") or "the code check could not be graded")
    return [t["id"] for t in result["tests"] if t["status"] == "passed" and t["id"] in base.failing]
