"""Losing worker processes loses no submission and grades none twice (issue #14): a process killed
mid-run, a whole worker killed (the reaper takes over), and a submission that kills its worker
every time (given up after GRADER_MAX_ATTEMPTS, with a message the learner sees). Real Redis, a
real database and Celery worker processes; every kill is a real SIGKILL."""

import os
import signal
import threading
import time
from datetime import timedelta

import pytest
import redis
from django.conf import settings

from grader.models import GradeRecord, Submission
from grader.tests.faults import (
    SLOW_SECOND_TEST,
    assert_graded_once,
    grading_pids,
    progress_count,
    reported_tests,
    submit,
    wait_for,
    wait_until,
)
from tests.services import Worker

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.sandbox, pytest.mark.slow]
# Correct code that never finishes in time to matter: every delivery is still running when the
# killer thread finds it.
POISON = "import time\ntime.sleep(120)\n\n\ndef mean(xs):\n    return sum(xs) / len(xs)\n"


def test_kill_9_of_the_process_grading_a_submission_loses_nothing(student_client, student, celery_worker):
    pk = submit(student_client, SLOW_SECOND_TEST)
    # The learner has seen the first test; the second is running.
    wait_until(lambda: "test_mean_small" in reported_tests(pk), "the first test reported", timeout=90)
    pids = wait_until(lambda: grading_pids(pk), "a worker process reporting the job active", timeout=30)
    os.kill(pids[0], signal.SIGKILL)
    wait_for(pk, {"graded", "error"})
    s = assert_graded_once(pk)
    # The broker redelivered the same attempt (no reaper involved), and the log says it restarted.
    assert s.attempt == 1
    assert [e["type"] for e in s.events].count("restarted") == 1
    assert progress_count(student) == 1
    celery_worker.wait_ready()


def test_kill_9_of_the_whole_worker_then_the_reaper_finishes_the_job(student_client, student, celery_worker, tmp_path):
    from grader.services import submissions_reap

    celery_worker.stop()
    doomed = Worker(tmp_path / "doomed.log")
    try:
        doomed.start(warm="py")
        pk = submit(student_client, SLOW_SECOND_TEST)
        wait_until(lambda: "test_mean_small" in reported_tests(pk), "the first test reported", timeout=90)
        doomed.kill9()
        assert Submission.objects.get(pk=pk).status == "running"
    finally:
        doomed.stop()
        celery_worker.start()
    # What the beat does every 30 s, at a time past the dead run's deadline.
    later = Submission.objects.get(pk=pk).deadline_at + timedelta(seconds=1)
    assert submissions_reap(now=later) == {"requeued": 1, "failed": 0}
    wait_for(pk, {"graded", "error"})
    s = assert_graded_once(pk)
    assert s.attempt == 2
    assert progress_count(student) == 1


def _deliveries(client, pk) -> int:
    return int(client.get(f"{settings.KEY_PREFIX}sub:{pk}:1:deliveries") or 0)


def _queued_jobs(client) -> int:
    # Kombu keeps one list per priority step: grade.cpu, grade.cpu\x06\x163, ...
    return sum(client.llen(key) for key in client.scan_iter(match=f"{settings.KEY_PREFIX}grade.*"))


def test_a_submission_that_kills_its_worker_every_time_ends_not_gradable(student_client, student, celery_worker):
    pk = submit(student_client, POISON)
    killed, stop = [], threading.Event()

    def killer():
        # Whatever worker process reports this submission's job as active dies, every time.
        while not stop.is_set():
            for pid in grading_pids(pk):
                if pid not in killed:
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)

    thread = threading.Thread(target=killer, name="killer", daemon=True)
    thread.start()
    try:
        s = wait_for(pk, {"graded", "error"}, timeout=240)
    finally:
        stop.set()
        thread.join(30)
    limit = settings.GRADER_MAX_ATTEMPTS
    assert len(killed) >= limit
    assert s.status == "error" and not s.gradable and s.attempt == 1
    assert s.error == f"the worker grading this submission was lost {limit} times"
    message = s.result["message"]
    assert message.startswith("This submission could not be graded, through no fault of your code")
    assert message.endswith("It does not count as an attempt.")
    # The learner is told once, live and on the submission's page.
    results = [e for e in s.events if e["type"] == "result"]
    assert len(results) == 1 and results[0]["message"] == message
    page = student_client.get(f"/submissions/{pk}/").content.decode()
    assert f"was lost {limit} times" in page
    assert GradeRecord.objects.filter(submission=s).count() == 1 and progress_count(student) == 0

    # Not looping: no job left in the queue, none running, and no further delivery while we watch.
    client = redis.Redis.from_url(settings.REDIS_URL)
    wait_until(lambda: not grading_pids(pk) and _queued_jobs(client) == 0, "the queue drained", timeout=60)
    seen = _deliveries(client, pk)
    assert seen > limit
    watch_until = time.monotonic() + 5  # a redelivery would come within a second: watch five
    while time.monotonic() < watch_until:
        assert _deliveries(client, pk) == seen and _queued_jobs(client) == 0
        time.sleep(0.25)
    assert Submission.objects.get(pk=pk).status == "error"
    celery_worker.wait_ready()
