"""No learner waits for the reference (issue #14, item 6): importing and publishing a version
computes every exercise's expected values on the workers, the instructor sees the progress, and
the first learner's Run and then Submit are graded against the cache (no reference run on their
time). A reference that fails its own tests is named to the instructor, not to a learner."""

import io

import pytest
from django.core.management import call_command

from courses.models import Course, Membership
from courses.services import membership_enroll, membership_set_role
from grader.models import ReferenceRun
from grader.selectors import references_status
from grader.tests.test_pipeline import SOLUTION, submit, wait_finished
from tests.fixtures import autograd_folder, make_course_folder

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.sandbox]


def _import(folder, *, wait=120):
    out, err = io.StringIO(), io.StringIO()
    call_command("course", "import", str(folder), "--publish", "--wait", str(wait), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_publish_warms_the_cache_then_run_and_submit_take_the_warm_path(
    tmp_path, settings, make_user, client, celery_worker
):
    settings.GRADER_WARM_REFERENCES = True
    out, err = _import(make_course_folder(tmp_path / "demo"))
    assert "expected values: 1/1 exercises ready" in out, (out, err)
    course = Course.objects.get(slug="demo")
    version = course.published_version
    exercise = version.exercises.get(slug="mean")
    (cached,) = ReferenceRun.objects.filter(content_hash=exercise.content_hash)
    assert cached.error == "" and references_status(version=version)["ready"] == ["mean"]

    # The instructor's versions page says so.
    teacher = make_user("teacher")
    membership_set_role(user=teacher, course=course, role=Membership.Role.INSTRUCTOR)
    client.force_login(teacher)
    page = client.get("/courses/demo/versions/").content.decode()
    assert "All 1 exercises have their reference solution" in page

    # The first learner: Run, then Submit, both graded against what the warm-up cached.
    learner = make_user("first")
    membership_enroll(user=learner, course=course)
    client.force_login(learner)
    run = wait_finished(submit(client, {"stats.py": SOLUTION}, kind="run").json()["id"])
    sub = wait_finished(submit(client, {"stats.py": SOLUTION}, kind="submit").json()["id"])
    assert run.passed and sub.passed and sub.score == sub.max_score == 4, sub.result["message"]
    assert cached.created_at < run.created_at
    # Nothing was added to the cache by their jobs: the warm-up had covered every test.
    assert ReferenceRun.objects.get(pk=cached.pk).events == cached.events

    # Re-importing unchanged content sends nothing and stays ready.
    out, _ = _import(make_course_folder(tmp_path / "again"), wait=0)
    assert "unchanged" in out and "1/1 exercises ready" in out


def test_a_reference_that_fails_its_own_tests_is_named_to_the_instructor(
    tmp_path, settings, make_user, client, celery_worker
):
    settings.GRADER_WARM_REFERENCES = True
    folder = make_course_folder(tmp_path / "demo")
    solution = folder / "modules/01-basics/exercises/mean/solution/stats.py"
    # Appended, so the mutants' patches still apply: the reference's mean now raises.
    solution.write_text(solution.read_text() + '\n\ndef mean(xs):\n    raise RuntimeError("unfinished")\n')
    out, err = _import(folder, wait=120)
    assert "0/1 exercises ready" in out and "mean: expected values could not be computed" in err, (out, err)
    assert "does not pass its own tests" in err
    course = Course.objects.get(slug="demo")
    teacher = make_user("teacher")
    membership_set_role(user=teacher, course=course, role=Membership.Role.INSTRUCTOR)
    client.force_login(teacher)
    page = client.get("/courses/demo/versions/").content.decode()
    assert "Could not compute" in page and "does not pass its own tests" in page
    # Learners never see that panel.
    learner = make_user("learner")
    membership_enroll(user=learner, course=course)
    client.force_login(learner)
    assert client.get(f"/courses/demo/versions/{course.published_version.number}/expected-values/").status_code in (
        403,
        404,
    )


def test_a_version_warms_one_exercise_after_another_until_all_are_ready(tmp_path, settings, celery_worker):
    """Each recorded warm-up sends the next (one slot of the worker at a time)."""
    settings.GRADER_WARM_REFERENCES = True
    out, err = _import(autograd_folder(tmp_path / "autograd"), wait=240)
    version = Course.objects.get().published_version
    status = references_status(version=version)
    assert status["pending"] == [] and status["failed"] == [], (out, err)
    assert len(status["ready"]) == status["total"] == version.exercises.count() > 1
    assert f"expected values: {status['total']}/{status['total']} exercises ready" in out
