"""Staff regrades wait behind learners' own jobs: a regrade of earlier submits is queued first,
a learner's Submit after it, and one worker with one slot starts on the learner's job first.
A real worker process on a queue of this test's own (the session's worker never sees it)."""

import time

import pytest

from grader.models import Submission
from grader.tests.test_pipeline import SOLUTION
from tests.services import Worker

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.sandbox]
QUEUE = "grade.cpu.prio"  # Submission.queue holds 20 characters


def test_learner_job_overtakes_a_queued_regrade(
    course, student, make_user, tmp_path, django_capture_on_commit_callbacks
):
    from courses.models import Exercise
    from grader.services import regrade_start, submission_create, submission_enqueue

    exercise = Exercise.objects.get(version=course.published_version, slug="mean")
    old = [
        Submission.objects.create(
            user=student,
            course=course,
            exercise=exercise,
            exercise_slug="mean",
            files={"stats.py": SOLUTION},
            status="graded",
            passed=True,
            score=4,
            max_score=4,
            number=i + 1,
            queue=QUEUE,
            result={"status": "passed", "score": 4, "max_score": 4, "tests": [], "exercise": {"version": 1}},
        )
        for i in range(3)
    ]
    teacher = make_user("teacher", staff=True)
    regrade = regrade_start(course=course, user=teacher, scope="exercise", exercise_slug="mean")  # sent now
    assert regrade.total == 3
    with django_capture_on_commit_callbacks(execute=False):
        mine = submission_create(user=student, exercise=exercise, files={"stats.py": SOLUTION})
    Submission.objects.filter(pk=mine.pk).update(queue=QUEUE)
    mine.queue = QUEUE
    submission_enqueue(submission=mine)  # after the regrade's three, at the learners' priority

    worker = Worker(tmp_path / "worker.log").start(queues=f"{QUEUE},grader", concurrency=1, warm="py")
    try:
        deadline = time.monotonic() + 180
        ids = [s.pk for s in old] + [mine.pk]
        while Submission.objects.filter(pk__in=ids).exclude(status__in=("graded", "error")).exists():
            assert time.monotonic() < deadline, "grading did not finish"
            time.sleep(0.2)
    finally:
        worker.stop()
    rows = {s.pk: s for s in Submission.objects.filter(pk__in=ids)}
    assert all(s.status == "graded" and s.passed for s in rows.values())
    assert rows[mine.pk].started_at < min(rows[s.pk].started_at for s in old)
