"""A grading host needs the broker and nothing else. (Losing workers, Redis or the database
connection: test_faults.py and test_faults_infra.py.)"""

import pytest
from django.utils import timezone

from grader.tests.faults import SOLUTION, submit, wait_for
from tests.services import Worker

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.sandbox, pytest.mark.slow]


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
        pk = submit(student_client, SOLUTION)
        s = wait_for(pk, {"graded", "error"})
        assert s.status == "graded" and s.passed and s.finished_at > started
    finally:
        runner.stop()
        db_side.stop()
        celery_worker.start()
