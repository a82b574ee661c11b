"""The broker and the database failing under the grader lose no submission and grade none twice
(issue #14): Redis restarting empty with 50 submissions queued, and the database connection of
the task recording a result dropped while it writes. Real Redis servers, PostgreSQL and Celery
worker processes."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection

from grader.models import Submission
from grader.tests.faults import (
    SOLUTION,
    assert_graded_once,
    progress_count,
    submit,
    wait_for,
    wait_until,
)
from tests import services
from tests.own_redis import RedisServer, pointed_at
from tests.services import Worker

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.sandbox, pytest.mark.slow]
QUEUED = 50  # issue #14: "Redis restarted while 50 submissions are queued"


def _queued_jobs(client) -> int:
    # Kombu keeps one list per priority step: grade.cpu, grade.cpu\x06\x163, ...
    return sum(client.llen(key) for key in client.scan_iter(match=f"{settings.KEY_PREFIX}grade.*"))


def test_redis_restarted_empty_with_50_submissions_queued_loses_none(
    student_client, student, celery_worker, tmp_path, settings
):
    from grader.services import submissions_reap

    # One learner submitting 50 times: lift their caps so all 50 wait in the queue at once.
    settings.RATE_CAPS = {"submission.active": QUEUED}
    settings.RATE_LIMITS = {"submission.user": (QUEUED, 60)}
    celery_worker.stop()  # it is on the shared Redis; this test's workers use the private one
    server = RedisServer(tmp_path / "redis").start()
    worker = Worker(tmp_path / "worker.log")
    try:
        with pointed_at(server.url):
            pks = [submit(student_client, SOLUTION) for _ in range(QUEUED)]
            broker = server.client()
            assert _queued_jobs(broker) == QUEUED  # nobody consumes yet
            server.restart()  # a crash, and back with nothing: the 50 messages are gone
            assert _queued_jobs(broker) == 0
            assert Submission.objects.filter(pk__in=pks, status="queued").count() == QUEUED
            worker.start(warm="py")
            # The beat's reaper, at a time past the queued deadlines, re-sends them from the
            # database (through this process's broker connection, broken by the restart).
            later = max(Submission.objects.filter(pk__in=pks).values_list("deadline_at", flat=True))
            assert submissions_reap(now=later + timedelta(seconds=1)) == {"requeued": QUEUED, "failed": 0}
            wait_until(
                lambda: Submission.objects.filter(pk__in=pks, status__in=("graded", "error")).count() == QUEUED,
                f"all {QUEUED} submissions finished",
                timeout=300,
                every=0.5,
            )
            for pk in pks:
                assert assert_graded_once(pk).attempt == 2
            assert progress_count(student) == QUEUED
    finally:
        worker.stop()
        server.stop()
        celery_worker.start()


# The task recording a result blocks on this row lock inside its transaction, so the test can
# find its connection and drop it at a known point (a real slow path, not a fake in the code).
BLOCKED = (
    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    " AND wait_event_type = 'Lock' AND query LIKE 'UPDATE \"grader_submission\"%'"
)


def test_a_database_connection_dropped_while_recording_retries_without_a_double_result(
    student_client, student, celery_worker
):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL to drop a connection (pg_terminate_backend); CI runs it with DATABASE_URL")
    import psycopg

    from config.celery import app
    from gpu_runner import contract

    log_start = celery_worker.log_path.stat().st_size
    # 2.5 s at import: time to lock the row once the runner has marked it running.
    pk = submit(student_client, "import time\ntime.sleep(2.5)\n" + SOLUTION)
    wait_for(pk, {"running"})
    url = services.test_database_url()
    # pg_stat_activity is a snapshot within a transaction: watch it from a connection without one.
    with psycopg.connect(url) as holder, psycopg.connect(url, autocommit=True) as watcher:
        holder.execute("SELECT id FROM grader_submission WHERE id = %s FOR UPDATE", [pk])
        pid = wait_until(
            lambda: watcher.execute(BLOCKED).fetchone(), "grader.record_result waiting on the row", timeout=90
        )[0]
        watcher.execute("SELECT pg_terminate_backend(%s)", [pid])
        holder.rollback()  # the row lock goes; the retry must find its own connection
    wait_for(pk, {"graded", "error"}, timeout=90)
    s = assert_graded_once(pk)
    assert progress_count(student) == 1
    new_log = celery_worker.log_path.read_bytes()[log_start:].decode(errors="replace")
    assert "grader.record_result[" in new_log and "retry: Retry in 1s: OperationalError" in new_log, new_log[-3000:]

    # The same result delivered again (a redelivery after a lost ack) changes nothing.
    duplicate = {"submission_id": pk, "attempt": s.attempt, "gradable": True, "result": s.result}
    task = app.send_task(contract.RECORD_RESULT, args=[duplicate], queue=contract.QUEUE_GRADER)
    wait_until(
        lambda: f"grader.record_result[{task.id}] succeeded" in celery_worker.log_path.read_text(errors="replace"),
        "the duplicate delivery handled",
        timeout=60,
    )
    again = assert_graded_once(pk)
    assert again.finished_at == s.finished_at and again.events == s.events
    assert progress_count(student) == 1
