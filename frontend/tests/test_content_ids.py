"""Author- and tutor-written HTML cannot name an element of the page: every id it carries is
prefixed `user-content-`, links and tutor citations keep `#anchor` and land on the prefixed id,
and stored HTML from before the prefix is re-sanitised by a migration."""

import importlib
import re

import pytest

from tests.fixtures import import_published, make_course_folder

CLOBBER = (
    '\n## Page data {#exercise-data}\n\n<div id="exercise-data">{"files": {}}</div>\n<span id="run-btn">x</span>\n'
)


@pytest.fixture
def hostile_course(db, tmp_path):
    folder = make_course_folder(tmp_path / "demo")
    lesson = folder / "modules/01-basics/lessons/01-welcome.md"
    lesson.write_text(lesson.read_text() + CLOBBER)
    prompt = folder / "modules/01-basics/exercises/mean/prompt.md"
    prompt.write_text(prompt.read_text() + CLOBBER)
    return import_published(folder)


@pytest.fixture
def member(client, make_user, hostile_course):
    from courses.services import membership_enroll

    user = make_user("learner")
    membership_enroll(user=user, course=hostile_course)
    client.force_login(user)
    return user


def ids(html: str) -> list[str]:
    return re.findall(r'\bid="([^"]+)"', html)


def test_lesson_ids_are_prefixed(client, member):
    html = client.get("/courses/demo/lessons/welcome/").content.decode()
    assert "exercise-data" not in ids(html) and "run-btn" not in ids(html)
    assert "user-content-exercise-data" in ids(html)
    assert 'href="#exercise-data"' in html  # the table of contents keeps the anchor


def test_the_exercise_page_has_one_exercise_data_and_it_is_the_script(client, member):
    html = client.get("/courses/demo/exercises/mean/").content.decode()
    assert ids(html).count("exercise-data") == 1
    assert ids(html).count("run-btn") == 1
    assert re.search(r'<script id="exercise-data" type="application/json">', html)
    assert "user-content-exercise-data" in ids(html)


def test_a_tutor_citation_lands_on_an_existing_heading(client, member):
    from tutor.services.conversations import render_plain

    reply = render_plain("See [[welcome#code]] and [[welcome#exercise-data]].", "demo")
    hrefs = re.findall(r'href="(/courses/demo/lessons/[^"#]+/)#([^"]+)"', reply)
    assert len(hrefs) == 2
    for path, anchor in hrefs:
        page = client.get(path).content.decode()
        # site.js lands "#anchor" on "user-content-anchor" when the page has no "anchor" of its own.
        assert f"user-content-{anchor}" in ids(page) and anchor not in ids(page)


def test_tutor_replies_are_prefixed_too():
    from tutor.services.conversations import render_plain

    assert ids(render_plain("## Exercise data\n\ntext", "demo")) == ["user-content-exercise-data"]


def test_the_migration_prefixes_html_stored_before_the_change(member, hostile_course):
    from django.apps import apps

    from courses.models import Exercise, Lesson
    from tutor.models import Conversation, Message

    old = '<h2 id="exercise-data">Old</h2><a href="#exercise-data">x</a>'
    Lesson.objects.filter(module__version__course=hostile_course).update(html=old)
    Exercise.objects.filter(version__course=hostile_course).update(prompt_html=old)
    convo = Conversation.objects.create(user=member, course=hostile_course, kind="course")
    reply = Message.objects.create(conversation=convo, role="tutor", text="x", html=old)

    importlib.import_module("courses.migrations.0002_prefix_content_ids").prefix_ids(apps, None)
    importlib.import_module("tutor.migrations.0002_prefix_content_ids").prefix_ids(apps, None)

    for html in [
        *Lesson.objects.filter(module__version__course=hostile_course).values_list("html", flat=True),
        *Exercise.objects.filter(version__course=hostile_course).values_list("prompt_html", flat=True),
        Message.objects.get(pk=reply.pk).html,
    ]:
        assert ids(html) == ["user-content-exercise-data"]
        assert 'href="#exercise-data"' in html
