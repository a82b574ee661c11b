"""What the fault tests (test_faults*.py) share: submitting, waiting, finding the worker process
that grades a submission, and the one check they all end with, "graded exactly once"."""

import json
import time

from courses.models import ExerciseProgress
from grader.models import GradeRecord, Submission

# The demo exercise's tests (courses/skeleton), in the order they run.
TEST_IDS = ["test_mean_small", "test_variance", "test_random_lists"]
SOLUTION = (
    "def mean(xs):\n    return sum(xs) / len(xs)\n\n\n"
    "def variance(xs):\n    mu = mean(xs)\n    return sum((x - mu) ** 2 for x in xs) / len(xs)\n"
)
# Correct, but the first variance() call takes 4 s: the first test is reported (the learner has
# seen it) while the second is still running, which is when a fault hurts most.
SLOW_SECOND_TEST = (
    "import time\n\n_slow = [4.0]\n\n\n"
    "def mean(xs):\n    return sum(xs) / len(xs)\n\n\n"
    "def variance(xs):\n    if _slow:\n        time.sleep(_slow.pop())\n"
    "    mu = mean(xs)\n    return sum((x - mu) ** 2 for x in xs) / len(xs)\n"
)


def submit(client, code) -> int:
    response = client.post(
        "/courses/demo/exercises/mean/submit/",
        json.dumps({"kind": "submit", "files": {"stats.py": code}}),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def wait_for(pk, statuses, timeout=90) -> Submission:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s = Submission.objects.get(pk=pk)
        if s.status in statuses:
            return s
        time.sleep(0.1)
    raise AssertionError(f"submission {pk} is {Submission.objects.get(pk=pk).status} after {timeout} s, not {statuses}")


def wait_until(condition, what, timeout=60, every=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"{what}: not within {timeout} s")


def grading_pids(pk) -> list[int]:
    """The pids of the worker processes that report grading submission `pk` right now."""
    from config.celery import app

    active = app.control.inspect(timeout=1).active() or {}
    pids = []
    for tasks in active.values():
        for task in tasks:
            args = task.get("args")
            job = args[0] if isinstance(args, (list, tuple)) and args else {}
            if task["name"] == "gpu_runner.run_job" and isinstance(job, dict) and job.get("submission_id") == pk:
                pids.append(task["worker_pid"])
    return pids


def reported_tests(pk) -> list[str]:
    """Tests the live log (Redis) has reported for submission `pk` so far."""
    from gpu_runner.events import replay

    return [e["result"]["id"] for e in replay(pk) if e["type"] == "test"]


def assert_graded_once(pk, *, passed=True) -> Submission:
    """The submission ends graded, with one grading record, one verdict in its stored event log,
    each test shown once by the run that counted, and (checked by the caller, who knows how many
    submits the learner made) progress counting it once."""
    s = Submission.objects.get(pk=pk)
    assert s.status == "graded" and s.gradable and s.passed is passed, (s.status, s.error, s.result)
    assert GradeRecord.objects.filter(submission=s).count() == 1
    assert [e["type"] for e in s.events].count("result") == 1, [e["type"] for e in s.events]
    mine = [e for e in s.events if e.get("attempt") == s.attempt]
    assert [e["type"] for e in mine].count("result") == 1 and [e["type"] for e in mine].count("recorded") == 1
    # A worker lost mid-run leaves what it showed in the log; the runner says "restarted" before
    # showing the tests again, so the run that counted is what follows the last restart.
    restarts = [i for i, e in enumerate(mine) if e["type"] == "restarted"]
    counted = mine[restarts[-1] + 1 :] if restarts else mine
    shown = [e["result"]["id"] for e in counted if e["type"] == "test"]
    assert sorted(shown) == sorted(TEST_IDS), f"tests shown by the run that counted: {shown}"
    return s


def progress_count(user) -> int:
    """How many graded submits the learner's standing on the exercise counts."""
    row = ExerciseProgress.objects.filter(user=user, exercise_slug="mean").first()
    return row.submissions if row else 0
