"""Expected values ahead of the first learner. When a course version is stored or published, every
exercise whose reference observations are not cached yet gets a reference-only job on its own queue
(at batch priority, one at a time), so the first learner's Run and
Submit take the warm path instead of running the reference first (6.9 s and 10.7 s on a fresh
`make run` before this). An exercise unchanged since an earlier version shares that version's
cache (the content hash), so most publishes send little or nothing."""

import logging

from django.core.cache import cache
from django.db import transaction

from gpu_runner import contract, verdicts
from grader.jobs import wall_seconds
from grader.models import ReferenceRun

log = logging.getLogger(__name__)


def covered_tests(rows) -> set:
    """Test ids with a good observation in any of the exercise's cached reference runs."""
    have = set()
    for events in rows:
        have |= {tid for tid, rec in verdicts.summarize(events)["tests"].items() if rec.get("outcome") == "ok"}
    return have


def references_warm(*, version) -> int:
    """Send the reference-only job of the first exercise of `version` (in course order) whose
    tests are not all covered and whose warm-up has not failed; returns how many were sent (0 or
    1). Runs after commit (the courses app's `version_ready` signal) and again each time a
    warm-up is recorded, so a version warms one exercise at a time: on a worker host with two
    slots, a learner's job and the database side's tasks always find one free, even while the
    reference of an hour-long training exercise runs."""
    from config.celery import app
    from grader.services.submissions import job_build

    for exercise in version.exercises.all():
        tests = exercise.spec.get("tests") or []
        rows = list(ReferenceRun.objects.filter(content_hash=exercise.content_hash).values_list("events", "error"))
        if {t["id"] for t in tests} <= covered_tests(events for events, _ in rows) or any(e for _, e in rows):
            continue
        # One warm-up in flight per exercise content (publishing right after importing asks twice);
        # the key lapses if the job is lost, and the next import or publish starts again.
        if not cache.add(_key(exercise.content_hash), version.pk, timeout=int(wall_seconds(exercise.spec) * 3 + 60)):
            return 0
        job = job_build(exercise=exercise, files={f: "" for f in exercise.spec["files"]}, tests=tests, uses_files={})
        job.update(kind="reference", reference_tests=tests, warm_version=version.pk)
        app.send_task(
            contract.RUN_JOB,
            args=[job],
            queue=contract.QUEUE_FOR_DEVICE[exercise.device],
            priority=contract.PRIORITY_BATCH,
        )
        log.info("warming the expected values of %s (%s v%s)", exercise.slug, version.course.slug, version.number)
        return 1
    return 0


def reference_warmed(*, content_hash: str, version_id: int | None) -> int:
    """A warm-up was recorded: release its key and send the version's next one."""
    from courses.models import CourseVersion

    cache.delete(_key(content_hash))
    version = CourseVersion.objects.filter(pk=version_id).first() if version_id else None
    return references_warm(version=version) if version is not None else 0


def _key(content_hash: str) -> str:
    return f"reference-warm:{content_hash}"


def reference_warm_failed(*, content_hash: str, device: str, error: str) -> None:
    """Keep why a warm-up failed, for the versions page; a later good run clears it."""
    with transaction.atomic():
        row, created = ReferenceRun.objects.select_for_update().get_or_create(
            content_hash=content_hash, device=device, defaults={"events": [], "error": error[:2000]}
        )
        if not created:
            row.error = error[:2000]
            row.save(update_fields=["error"])
