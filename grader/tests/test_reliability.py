"""A grading host needs the broker and nothing else. (Losing workers, Redis or the database
connection: test_faults.py and test_faults_infra.py.)"""

import json
import time

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
