"""A lesson's scoreboard shows the learner's own numbers: the last value of a metric from their
most recent graded run that reported it, "not yet" where they have none, and never anyone
else's. Rows are declared in the lesson's front matter and checked by `course validate`."""

import pytest

from courses.format.tree import load
from courses.format.validate import validate
from grader.models import Submission

pytestmark = pytest.mark.django_db
BOARD = """---
title: Welcome
minutes: 5
scoreboard:
  - {exercise: mean, metric: dev loss, label: My model, reference: 2.13, source: the reference}
  - {exercise: mean, metric: train loss, label: Training, reference: 2.0}
---
"""


@pytest.fixture
def course_folder(course_folder):
    lesson = course_folder / "modules/01-basics/lessons/01-welcome.md"
    body = lesson.read_text().split("---", 2)[2]
    lesson.write_text(BOARD + body)
    return course_folder


def graded(user, course, metrics, kind="submit", **extra):
    from courses.models import Exercise

    exercise = Exercise.objects.get(version=course.published_version, slug="mean")
    return Submission.objects.create(
        user=user,
        course=course,
        exercise=exercise,
        exercise_slug="mean",
        kind=kind,
        files={},
        status=Submission.Status.GRADED,
        result={"metrics": metrics},
        score=0,
        max_score=1,
        **extra,
    )


def rows(client):
    page = client.get("/courses/demo/lessons/welcome/")
    assert page.status_code == 200
    return {r["label"]: r for r in page.context["scoreboard"]}, page.content.decode()


def test_the_board_fills_with_the_learners_own_latest_numbers(student_client, student, course, make_user):
    board, html = rows(student_client)
    assert board["My model"]["mine"] is None and "not yet" in html
    graded(student, course, {"dev loss": [[0, 3.3], [1000, 2.2012]]})
    graded(student, course, {"dev loss": [[0, 3.1], [1000, 2.1034]]}, kind="run")
    graded(student, course, {})  # a later run that reported nothing keeps the number shown
    graded(student, course, {"dev loss": [[0, 1.0]]}, gradable=False)  # not graded: ignored
    other = make_user("someone")
    graded(other, course, {"dev loss": [[0, 1.5]], "train loss": [[0, 1.7]]})
    board, html = rows(student_client)
    assert board["My model"]["mine"]["shown"] == "2.1034" and board["My model"]["mine"]["kind"] == "run"
    assert board["Training"]["mine"] is None  # the other learner's 1.7 is not shown
    assert "2.1034" in html and "1.7" not in html and "the reference" in html


def test_validate_checks_scoreboard_rows(course_folder):
    lesson = course_folder / "modules/01-basics/lessons/01-welcome.md"
    lesson.write_text(
        lesson.read_text()
        .replace("exercise: mean, metric: train loss", "exercise: nope, metric: train loss")
        .replace("label: My model, ", "")
    )
    tree, problems = load(course_folder)
    _, more = validate(tree)
    text = "\n".join(p.message for p in problems + more)
    assert "scoreboard: exercise 'nope' does not exist" in text
    assert "'label'" in text and "scoreboard row 1" in text
