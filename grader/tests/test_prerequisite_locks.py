"""Prerequisite locks without running code: who finds an exercise locked, what opting in to the
reference changes, and what is stored on the submission. (The whole path, with the sandbox, is
test_prerequisites.py.)"""

import json

import pytest

from courses.models import Membership
from grader.models import Submission
from tests.fixtures import autograd_folder, import_published

pytestmark = pytest.mark.django_db


def _course(tmp_path, edit=None):
    folder = autograd_folder(tmp_path / "autograd")
    if edit:
        edit(folder)
    return import_published(folder)


def _member(make_user, course, name, role=Membership.Role.STUDENT):
    from courses.services import membership_set_role

    user = make_user(name)
    membership_set_role(user=user, course=course, role=role)
    return user


def _pass(user, course, slug, files, kind=Submission.Kind.SUBMIT):
    from courses.models import Exercise

    exercise = Exercise.objects.get(version=course.published_version, slug=slug)
    return Submission.objects.create(
        user=user,
        course=course,
        exercise=exercise,
        exercise_slug=slug,
        kind=kind,
        files=files,
        status=Submission.Status.GRADED,
        passed=True,
    )


def _submit(client, slug, files, kind="run"):
    return client.post(
        f"/courses/zero-to-gpt/exercises/{slug}/submit/",
        json.dumps({"kind": kind, "files": files}),
        content_type="application/json",
    )


def test_only_a_passing_submit_unlocks(tmp_path, client, make_user):
    course = _course(tmp_path)
    learner = _member(make_user, course, "learner")
    client.force_login(learner)
    engine = {"micrograd/engine.py": "class Value: ...\n"}
    _pass(learner, course, "value", engine, kind=Submission.Kind.RUN)
    assert "🔒 locked" in client.get("/courses/zero-to-gpt/exercises/mlp/").content.decode()
    _pass(learner, course, "value", engine)
    html = client.get("/courses/zero-to-gpt/exercises/mlp/").content.decode()
    assert "🔒 locked" not in html and 'id="submit-btn"' in html
    response = _submit(client, "mlp", {"micrograd/nn.py": "x = 1\n"})
    assert response.status_code == 201
    stored = Submission.objects.get(pk=response.json()["id"])
    assert stored.uses_files["value"]["source"] == "yours" and stored.uses_files["value"]["files"] == engine


def test_course_staff(tmp_path, client, make_user):
    """Instructors preview a locked exercise (and see why learners cannot); TAs are learners of
    the prerequisites like anyone else."""
    course = _course(tmp_path)
    teacher = _member(make_user, course, "teacher", Membership.Role.INSTRUCTOR)
    ta = _member(make_user, course, "ta", Membership.Role.TA)
    client.force_login(teacher)
    html = client.get("/courses/zero-to-gpt/exercises/activations/").content.decode()
    assert "Locked for learners who have not passed" in html
    assert "Pass “A scalar autograd engine” first: this exercise starts from your own code for it" in html
    assert 'id="submit-btn"' in html
    client.force_login(ta)
    assert "🔒 locked" in client.get("/courses/zero-to-gpt/exercises/activations/").content.decode()
    assert _submit(client, "activations", {"micrograd/engine.py": "x = 1\n"}).status_code == 403


def test_an_instructor_can_opt_in_to_the_reference(tmp_path, client, make_user):
    def opt_in(folder):
        toml = folder / "modules/01-autograd/exercises/mlp/exercise.toml"
        text = toml.read_text()
        toml.write_text(
            text.replace(
                'files = ["micrograd/engine.py"]\n', 'files = ["micrograd/engine.py"]\nif_not_passed = "reference"\n', 1
            )
        )

    course = _course(tmp_path, opt_in)
    learner = _member(make_user, course, "learner")
    client.force_login(learner)
    html = client.get("/courses/zero-to-gpt/exercises/mlp/").content.decode()
    assert 'id="submit-btn"' in html and "its reference solution until you pass it" in html
    response = _submit(client, "mlp", {"micrograd/nn.py": "x = 1\n"})
    assert response.status_code == 201
    used = Submission.objects.get(pk=response.json()["id"]).uses_files["value"]
    assert used["source"] == "reference" and used["submission"] is None
    assert "Topological order without recursion" in used["files"]["micrograd/engine.py"]
    # activations did not opt in: it stays locked.
    assert "🔒 locked" in client.get("/courses/zero-to-gpt/exercises/activations/").content.decode()


def test_reset_gives_the_learners_own_code_back(tmp_path, client, make_user):
    course = _course(tmp_path)
    learner = _member(make_user, course, "learner")
    client.force_login(learner)
    mine = {"micrograd/engine.py": "# my engine\nclass Value: ...\n"}
    _pass(learner, course, "value", mine)
    client.post(
        "/courses/zero-to-gpt/exercises/activations/draft/",
        json.dumps({"files": {"micrograd/engine.py": "half-finished"}}),
        content_type="application/json",
    )
    response = client.post("/courses/zero-to-gpt/exercises/activations/reset/")
    assert response.json()["files"] == mine


def test_a_submit_still_being_recorded_is_awaited_not_refused(tmp_path, client, make_user):
    """The verdict reaches the browser a moment before the database records it: a learner who
    goes straight on finds the page waiting for that Submit, and then open."""
    from courses.models import Exercise

    course = _course(tmp_path)
    learner = _member(make_user, course, "learner")
    client.force_login(learner)
    html = client.get("/courses/zero-to-gpt/exercises/mlp/").content.decode()
    assert "🔒 locked" in html and "being graded" not in html and 'http-equiv="refresh"' not in html
    running = Submission.objects.create(
        user=learner,
        course=course,
        exercise=Exercise.objects.get(version=course.published_version, slug="value"),
        exercise_slug="value",
        kind=Submission.Kind.SUBMIT,
        files={"micrograd/engine.py": "class Value: ...\n"},
        status=Submission.Status.RUNNING,
    )
    html = client.get("/courses/zero-to-gpt/exercises/mlp/").content.decode()
    assert "🔒 locked" in html and "is being graded" in html and 'http-equiv="refresh"' in html
    Submission.objects.filter(pk=running.pk).update(status=Submission.Status.GRADED, passed=True)
    html = client.get("/courses/zero-to-gpt/exercises/mlp/").content.decode()
    assert "🔒 locked" not in html and 'id="submit-btn"' in html
