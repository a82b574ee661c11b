"""Instructors and TAs in Chromium: editing a lesson with live preview and publishing version
N+1, XSS in Markdown, a warning about a test learner code could forge, and a TA joining a
learner's tutor conversation live."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import log_in

pytestmark = pytest.mark.e2e
LESSON = "modules/01-autograd/lessons/01-derivatives.md"
VISIBLE_TEST = "modules/01-autograd/exercises/value/tests/visible/test_value.py"


@pytest.fixture
def people(site, make_user):
    from courses.models import Course
    from courses.services import membership_set_role

    course = Course.objects.get(slug="zero-to-gpt")
    for name, role in (("learner", "student"), ("helper", "ta"), ("teacher", "instructor")):
        membership_set_role(user=make_user(name), course=course, role=role)
    return course


def editor_text(page, text):
    page.locator("#author-editor .cm-content").click()
    page.keyboard.press("Control+End")
    page.keyboard.insert_text(text)


def test_instructor_edits_a_lesson_previews_and_publishes_a_new_version(new_page, people, shot):
    from accounts.models import User
    from courses.models import Exercise
    from grader.models import Submission

    old_exercise = Exercise.objects.get(slug="value", version=people.published_version)
    old = Submission.objects.create(
        user=User.objects.get(username="learner"),
        course=people,
        exercise=old_exercise,
        exercise_slug="value",
        files={"micrograd/engine.py": "x = 1"},
        status="graded",
    )
    page = new_page()
    log_in(page, "teacher")
    page.goto(f"/courses/zero-to-gpt/author/?path={LESSON}")
    expect(page.locator("#preview h1")).to_contain_text("Derivatives")
    editor_text(page, "\n\n## A fresh section {#fresh}\n\nThe preview shows $e^{i\\pi} + 1 = 0$ as typeset maths.\n")
    expect(page.locator("#preview")).to_contain_text("A fresh section")
    expect(page.locator("#preview .katex").last).to_be_visible()
    page.click("#save-btn")
    expect(page.locator("#save-state")).to_have_text("Saved and validated")
    expect(page.locator("#problem-count")).to_contain_text("none")
    shot(page, "author")
    page.click("#publish-btn")
    expect(page.locator(".messages")).to_contain_text("Published version 2")
    people.refresh_from_db()
    assert people.published_version.number == 2
    old.refresh_from_db()
    assert old.exercise.version.number == 1  # old submissions keep pointing at version 1
    page.goto("/courses/zero-to-gpt/lessons/derivatives/")
    expect(page.locator("#user-content-fresh")).to_be_visible()


def test_script_in_markdown_is_refused_and_never_runs(new_page, people):
    page = new_page()
    page.add_init_script("window.__xss = undefined")
    log_in(page, "teacher")
    page.goto(f"/courses/zero-to-gpt/author/?path={LESSON}")
    editor_text(page, '\n\n<script>window.__xss = 1</script>\n<img src="x" onerror="window.__xss = 2">\n')
    page.wait_for_timeout(800)  # the live preview re-renders
    page.click("#save-btn")
    expect(page.locator("#problems")).to_contain_text("raw <script> is not allowed")
    expect(page.locator("#problems")).to_contain_text("event-handler attributes")
    expect(page.locator(".cm-lint-marker-error").first).to_be_visible()  # marked next to the line
    assert page.evaluate("window.__xss") is None
    page.click("#publish-btn")
    expect(page.locator(".messages")).to_contain_text("Not published")


def test_a_test_without_value_checks_is_warned_about_but_publishes(new_page, people):
    page = new_page()
    log_in(page, "teacher")
    page.goto(f"/courses/zero-to-gpt/author/?path={VISIBLE_TEST}")
    editor_text(page, '\n\ndef test_it_runs(check):\n    check.true("it runs", True)\n')
    page.click("#save-btn")
    expect(page.locator("#save-state")).to_have_text("Saved and validated")
    expect(page.locator("#problems .warning")).to_contain_text(
        "warning: test_it_runs carries 1 point(s) but makes no value check"
    )
    expect(page.locator(".cm-lint-marker-warning").first).to_be_visible()  # amber, next to the def line
    expect(page.locator(".cm-lint-marker-error")).to_have_count(0)
    expect(page.locator("#problem-count")).to_contain_text("ready to publish; 1 warning(s)")
    page.click("#publish-btn")
    expect(page.locator(".messages")).to_contain_text("Published version 2")


def test_a_ta_joins_a_learners_conversation_live(new_page, people, shot):
    learner = new_page()
    log_in(learner, "learner")
    learner.goto("/courses/zero-to-gpt/lessons/derivatives/")
    learner.click("[data-tutor-open]")
    learner.fill("#tutor-input", "What does the chain rule say?")
    learner.click("#tutor-send")
    expect(learner.locator(".tmsg-tutor .tmsg-body").last).to_contain_text("Offline tutor", timeout=30_000)
    learner.click("[data-tutor-human]")
    expect(learner.locator("#tutor-log")).to_contain_text("A TA has been asked")

    ta = new_page()
    log_in(ta, "helper")
    ta.goto("/courses/zero-to-gpt/staff/")
    expect(ta.locator("#tutor-conversations")).to_contain_text("wants a person")
    ta.click("text=What does the chain rule say?")
    expect(ta.locator("#tutor-log")).to_contain_text("What does the chain rule say?")
    shot(ta, "staff-conversation")
    ta.fill("#tutor-input", "Hi, I'm Sam from the course team. Which part of the lesson is unclear?")
    ta.click("#tutor-send")
    message = learner.locator(".tmsg-ta").last
    expect(message).to_contain_text("Sam from the course team", timeout=10_000)
    expect(message.locator(".tmsg-who")).to_contain_text("TA helper (a person)")
    # And the learner's next question reaches the TA live.
    learner.fill("#tutor-input", "The part about reused nodes.")
    learner.click("#tutor-send")
    expect(ta.locator("#tutor-log")).to_contain_text("The part about reused nodes.", timeout=10_000)
