"""Rendered pages kept per learner (frontend/page_cache.py): served again only while nothing the
page shows has changed, in the order learners do things. Each test first makes sure the page is
really being served from the cache (the `X-Page-Cache: hit` header), then changes something and
reads the page a learner would see next."""

import json
import re
import time
from datetime import timedelta

import pytest
from django.apps import apps
from django.conf import settings
from django.test import Client
from django.utils import timezone

from courses import stamps
from courses.models import Course, Membership
from tests.fixtures import make_course_folder

LESSON = "/courses/demo/lessons/welcome/"
EXERCISE = "/courses/demo/exercises/mean/"


def cached(client, url):
    """The page, read twice: the second time it must come from the cache."""
    first = client.get(url)
    assert first.status_code == 200, first
    again = client.get(url)
    assert again["X-Page-Cache"] == "hit"
    return again


def page_data(response) -> dict:
    found = re.search(r'<script id="exercise-data" type="application/json">(.*?)</script>', response.text, re.S)
    return json.loads(found.group(1))


def test_every_model_with_a_learner_or_course_is_tracked_or_says_why_not():
    from courses.models import Course as CourseModel

    user_model = apps.get_model(settings.AUTH_USER_MODEL)
    ours = [m for m in apps.get_models() if m._meta.app_label in {"accounts", "courses", "grader", "tutor", "insights"}]
    unaccounted = []
    for model in ours:
        related = {f.related_model for f in model._meta.fields if f.is_relation}
        if (model is user_model or model is CourseModel or related & {user_model, CourseModel}) and not (
            stamps.tracked(model) or model._meta.label in stamps.UNTRACKED
        ):
            unaccounted.append(model._meta.label)
    assert not unaccounted, f"say in courses/stamps.py whether a write to these changes a learner's page: {unaccounted}"
    assert set(stamps.UNTRACKED) <= {m._meta.label for m in apps.get_models()}, "UNTRACKED names a model gone"


def test_a_hit_is_the_learners_own_page_with_a_fresh_nonce_and_a_working_csrf_token(student, make_user, course):
    from courses.services import membership_enroll

    mine = Client(enforce_csrf_checks=True)
    mine.force_login(student)
    page = cached(mine, EXERCISE)
    nonce = re.search(r"'nonce-([^']+)'", page["Content-Security-Policy"]).group(1)
    assert f'nonce="{nonce}"' in page.text  # the inline script's nonce is this response's
    assert nonce not in cached(mine, EXERCISE).text  # and the next hit has its own

    # The token in a cached page is good for this learner's next POST (the draft autosave).
    token = re.search(r'"X-CSRFToken": "([^"]+)"', page.text).group(1)
    saved = mine.post(
        EXERCISE + "draft/",
        json.dumps({"files": {"stats.py": "# mine\n"}}),
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert saved.status_code == 200, saved.content

    other = make_user("someone")
    membership_enroll(user=other, course=course)
    theirs = Client()
    theirs.force_login(other)
    shown = theirs.get(EXERCISE)
    assert shown["X-Page-Cache"] == "miss" and "someone" in shown.text and ">student<" not in shown.text
    assert "# mine" not in shown.text


def test_draft_then_reload_shows_the_draft_and_reset_shows_the_starter(student_client):
    cached(student_client, EXERCISE)
    student_client.post(
        EXERCISE + "draft/", json.dumps({"files": {"stats.py": "# half done\n"}}), content_type="application/json"
    )
    page = student_client.get(EXERCISE)
    assert page["X-Page-Cache"] == "miss"
    assert page_data(page)["files"]["stats.py"] == "# half done\n" and "Draft restored" in page.text
    assert student_client.get(EXERCISE)["X-Page-Cache"] == "hit"
    student_client.post(EXERCISE + "reset/")
    assert page_data(student_client.get(EXERCISE))["files"]["stats.py"] != "# half done\n"


def test_leaving_the_course_closes_its_pages_at_once(student_client, student, course):
    cached(student_client, LESSON)
    Membership.objects.filter(user=student, course=course).delete()
    gone = student_client.get(LESSON)
    assert gone.status_code == 302 and gone["Location"] == "/courses/demo/"


def test_a_published_version_replaces_every_learners_page(student_client, course, tmp_path):
    from tests.fixtures import import_published

    cached(student_client, LESSON)
    folder = make_course_folder(tmp_path / "v2")
    lesson = next(folder.rglob("lessons/*.md"))
    lesson.write_text(lesson.read_text() + "\n\nA paragraph added in version two.\n")
    import_published(folder)
    assert "A paragraph added in version two." in student_client.get(LESSON).text


def test_a_release_date_locks_the_page_then_it_opens_by_itself(student_client, course):
    from courses.services import policy_set

    cached(student_client, EXERCISE)
    opens = timezone.now() + timedelta(seconds=2)
    policy_set(course=course, exercise_slug="mean", user=None, release_at=opens)
    locked = cached(student_client, EXERCISE)
    assert "exercise-data" not in locked.text  # the locked page, kept no longer than the date
    time.sleep(max(0.0, (opens - timezone.now()).total_seconds()) + 0.2)
    opened = student_client.get(EXERCISE)
    assert opened["X-Page-Cache"] == "miss" and "exercise-data" in opened.text


def test_flash_messages_and_notices_show_on_a_cached_page(student_client, student, course):
    from django.contrib.messages.constants import SUCCESS
    from django.contrib.messages.storage.base import Message
    from django.contrib.messages.storage.cookie import CookieStorage
    from django.http import HttpResponse

    from grader.models import Notice

    cached(student_client, LESSON)
    # A message queued by the request before (as enrolment does) is shown once, then hits resume.
    response = HttpResponse()
    CookieStorage(student_client.get(LESSON).wsgi_request)._store([Message(SUCCESS, "Welcome back")], response)
    student_client.cookies.update(response.cookies)
    assert "Welcome back" in student_client.get(LESSON).text
    again = student_client.get(LESSON)
    assert "Welcome back" not in again.text and again["X-Page-Cache"] == "hit"

    notice = Notice.objects.create(user=student, course=course, text="Your score on mean changed to 4/4")
    assert "Your score on mean changed" in student_client.get(LESSON).text
    student_client.post("/notices/read/", {"notice": [notice.pk], "next": LESSON})
    assert "Your score on mean changed" not in student_client.get(LESSON).text


def test_continue_follows_pages_served_from_the_cache(student_client, student, course):
    """Where the learner was last is written on a hit too; moving between pages does not empty
    the cache (that write changes nothing a lesson or exercise page shows)."""
    cached(student_client, LESSON)
    cached(student_client, EXERCISE)
    assert student_client.get(LESSON)["X-Page-Cache"] == "hit"
    membership = Membership.objects.get(user=student, course=course)
    assert (membership.last_kind, membership.last_slug) == ("lesson", "welcome")
    assert "Continue: " in student_client.get("/courses/demo/").text
    assert student_client.get(EXERCISE)["X-Page-Cache"] == "hit"
    membership.refresh_from_db()
    assert (membership.last_kind, membership.last_slug) == ("exercise", "mean")


def test_pages_render_when_the_cache_is_down(student_client, settings):
    settings.CACHES = {**settings.CACHES, "pages": {**settings.CACHES["pages"], "LOCATION": "redis://127.0.0.1:9/0"}}
    page = student_client.get(LESSON)
    assert page.status_code == 200 and "Welcome" in page.text


def test_a_renamed_course_shows_its_new_title(student_client, course):
    cached(student_client, LESSON)
    Course.objects.filter(pk=course.pk).update(title="Demo course, second edition")
    assert "Demo course, second edition" in student_client.get(LESSON).text


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
@pytest.mark.sandbox
def test_run_then_submit_then_reload_shows_each_verdict(student_client, student, celery_worker):
    """The worker is another process: its writes must reach the page this process kept."""
    from grader.tests.test_pipeline import SOLUTION, submit, wait_finished

    page = cached(student_client, EXERCISE)
    assert page_data(page)["latest"] is None and "not started" in page.text
    run = wait_finished(submit(student_client, {"stats.py": SOLUTION}, kind="run").json()["id"])
    after_run = student_client.get(EXERCISE)
    assert page_data(after_run)["latest"] == {"id": run.pk, "status": "graded", "ws": f"/ws/submissions/{run.pk}/"}
    assert "not started" in after_run.text  # a Run counts toward nothing
    assert student_client.get(EXERCISE)["X-Page-Cache"] == "hit"
    sub = wait_finished(submit(student_client, {"stats.py": SOLUTION}).json()["id"])
    after_submit = student_client.get(EXERCISE)
    assert page_data(after_submit)["latest"]["id"] == sub.pk
    assert "✓ passed" in after_submit.text
