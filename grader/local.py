"""A job a learner can run on their own machine (`fromscratch test`): their files, the visible
tests, and the reference's cached observations of those tests, so the runner's own verdict code
judges it locally exactly as the server would. It carries neither the reference solution nor a
hidden test: the cache must already cover every visible test, and when it does not, a reference
run is requested from the workers and the caller asks again."""

from django.conf import settings
from django.core.cache import cache

from gpu_runner import contract, verdicts
from grader.models import ReferenceRun
from grader.services.submissions import job_build

LOCAL_DEVICE = "cpu"  # a learner's machine: the CPU configuration (cpu_fallback for GPU exercises)


def _visible(exercise) -> list[dict]:
    return [t for t in exercise.spec["tests"] if t["visibility"] == "visible"]


def local_job_for(*, user, exercise) -> dict | None:
    tests = _visible(exercise)
    ids = {t["id"] for t in tests}
    cached = ReferenceRun.objects.filter(content_hash=exercise.content_hash, device=LOCAL_DEVICE).first()
    have = set(verdicts.summarize(cached.events)["tests"]) if cached else set()
    job = job_build(exercise=exercise, files={}, tests=tests, user=user)
    if not ids <= have:
        _request_reference(exercise, job)
        return None
    keep = {t.get("file") for t in tests}
    job.update(
        files={},
        device=LOCAL_DEVICE,
        tests=tests,
        reference_tests=tests,
        test_sources={p: src for p, src in job["test_sources"].items() if p in keep},
        reference={LOCAL_DEVICE: [e for e in cached.events if e.get("test") in ids or "test" not in e]},
        reference_files={},
        reference_support_files={},
        kind="local",
    )
    return job


def _request_reference(exercise, job) -> None:
    """Once a minute at most per exercise version: a reference-only run on a worker, whose
    observations `grader.record_reference` stores (the reply list is read by nobody)."""
    key = f"local-reference:{exercise.content_hash}"
    if not cache.add(key, 1, timeout=60):
        return
    from config.celery import app

    job = dict(job, files={f: "" for f in exercise.spec["files"]}, reply_to=f"{settings.KEY_PREFIX}local:{key}")
    app.send_task(contract.RUN_JOB, args=[job], queue=contract.QUEUE_FOR_DEVICE[exercise.device])
