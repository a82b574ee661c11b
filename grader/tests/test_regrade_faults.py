"""A staff regrade that cannot grade (the sandbox fails, the worker is lost too often) costs the
learner nothing: they keep the grade they had, on the version it was given on, and nobody is told
their score changed. The regrade says how many it kept."""

from datetime import timedelta

import pytest
from django.utils import timezone

from courses.models import Exercise, ExerciseProgress
from grader.models import Notice, Regrade, Submission

pytestmark = pytest.mark.django_db

PASSED = {"status": "passed", "gradable": True, "score": 4, "max_score": 4, "tests": [], "exercise": {"version": 1}}


@pytest.fixture
def graded(course, student, make_user, django_capture_on_commit_callbacks):
    from courses.services import progress_record
    from grader.services import regrade_start
    from grader.services.regrades import grade_record

    exercise = Exercise.objects.get(version=course.published_version, slug="mean")
    sub = Submission.objects.create(
        user=student,
        course=course,
        exercise=exercise,
        exercise_slug="mean",
        files={"stats.py": ""},
        status="graded",
        passed=True,
        score=4,
        max_score=4,
        result=PASSED,
    )
    grade_record(submission=sub)
    progress_record(user=student, course=course, exercise_slug="mean", score=4, max_score=4, passed=True)
    with django_capture_on_commit_callbacks(execute=False):  # no worker: the job is never sent
        regrade = regrade_start(
            course=course, user=make_user("teacher", staff=True), scope="exercise", exercise_slug="mean"
        )
    sub.refresh_from_db()
    assert sub.status == "queued" and regrade.total == 1
    return sub, regrade


def _kept(sub, regrade, student):
    sub.refresh_from_db()
    regrade.refresh_from_db()
    assert (sub.status, sub.passed, sub.score, sub.result) == ("graded", True, 4, PASSED)
    assert regrade.done == 1 and regrade.finished_at is not None
    assert regrade.skipped == {"could not be graded again (kept the earlier grade)": 1}
    assert not Notice.objects.exists()
    assert ExerciseProgress.objects.get(user=student, exercise_slug="mean").status == "passed"


def test_infrastructure_fault_keeps_the_grade(graded, student):
    from grader.services import submission_record_result

    sub, regrade = graded
    submission_record_result(
        payload={
            "submission_id": sub.pk,
            "attempt": sub.attempt,
            "gradable": False,
            "infrastructure_error": "no sandbox",
        }
    )
    _kept(sub, regrade, student)


def test_reaper_giving_up_keeps_the_grade(graded, student, settings):
    from grader.services import submissions_reap

    sub, regrade = graded
    Submission.objects.filter(pk=sub.pk).update(
        attempt=settings.GRADER_MAX_ATTEMPTS, deadline_at=timezone.now() - timedelta(seconds=1)
    )
    assert submissions_reap()["failed"] == 1
    _kept(sub, regrade, student)
    assert Regrade.objects.get(pk=regrade.pk).changed == 0
