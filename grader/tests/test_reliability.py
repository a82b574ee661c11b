"""Losing workers loses no submission, and a grading host needs the broker and nothing else."""

import json
import os
import signal
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from grader.models import Submission
from tests.services import Worker

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.sandbox, pytest.mark.slow]
SLOW_SOLUTION = (
    "import time\ntime.sleep(2.5)\n\n\ndef mean(xs):\n    return sum(xs) / len(xs)\n\n\n"
    "def variance(xs):\n    mu = mean(xs)\n    return sum((x - mu) ** 2 for x in xs) / len(xs)\n"
)


def submit(client, code):
    response = client.post(
        "/courses/demo/exercises/mean/submit/",
        json.dumps({"kind": "submit", "files": {"stats.py": code}}),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def wait_for(pk, statuses, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s = Submission.objects.get(pk=pk)
        if s.status in statuses:
            return s
        time.sleep(0.1)
    raise AssertionError(f"submission {pk} is {Submission.objects.get(pk=pk).status}, not {statuses}")


def test_kill_9_of_the_process_grading_a_submission_loses_nothing(student_client, celery_worker):
    from config.celery import app

    pk = submit(student_client, SLOW_SOLUTION)
    wait_for(pk, {"running"})
    pids = []
    deadline = time.monotonic() + 20
    while not pids and time.monotonic() < deadline:
        active = app.control.inspect(timeout=1).active() or {}
        pids = [t["worker_pid"] for tasks in active.values() for t in tasks if t["name"] == "gpu_runner.run_job"]
    assert pids, "no worker process reported the grading task as active"
    os.kill(pids[0], signal.SIGKILL)
    s = wait_for(pk, {"graded", "error"})
    assert s.status == "graded" and s.passed, s.result
    celery_worker.wait_ready()


def test_kill_9_of_the_whole_worker_then_the_reaper_finishes_the_job(student_client, celery_worker, tmp_path):
    from grader.services import submissions_reap

    celery_worker.stop()
    doomed = Worker(tmp_path / "doomed.log").start(warm="py")
    try:
        pk = submit(student_client, SLOW_SOLUTION)
        wait_for(pk, {"running"})
        doomed.kill9()
    finally:
        doomed.stop()
    assert Submission.objects.get(pk=pk).status == "running"
    celery_worker.start()
    later = Submission.objects.get(pk=pk).deadline_at + timedelta(seconds=1)
    assert submissions_reap(now=later) == {"requeued": 1, "failed": 0}
    s = wait_for(pk, {"graded", "error"})
    assert s.status == "graded" and s.passed and s.attempt == 2


def test_a_grading_host_needs_only_the_broker(student_client, celery_worker, tmp_path):
    """A runner-only worker (config.settings.runner, no DATABASE_URL) grades; a database-side
    worker records the result."""
    celery_worker.stop()
    runner = Worker(tmp_path / "runner.log")
    db_side = Worker(tmp_path / "db.log")
    try:
        runner.start(
            queues="grade.cpu,grade.gpu", warm="py", DJANGO_SETTINGS_MODULE="config.settings.runner", DATABASE_URL=None
        )
        db_side.start(queues="grader", warm="")
        started = timezone.now()
        pk = submit(student_client, SLOW_SOLUTION.replace("time.sleep(2.5)", "pass"))
        s = wait_for(pk, {"graded", "error"})
        assert s.status == "graded" and s.passed and s.finished_at > started
    finally:
        runner.stop()
        db_side.stop()
        celery_worker.start()
