"""A course's policy at work (issue #12, item 5; rules in courses/policies.py): submission_create
refuses what the release date, a closed due date, the submit window and the weekly GPU budget do
not allow, each with a message that says why and until when; Run does not count toward the
window; staff are exempt; the exercise page shows where the learner stands before they hit a
limit; and only the course's instructors reach its Dates and limits page.

No worker runs here (and on_commit never fires inside these tests' transactions), so
submissions stay queued, as behind a busy queue."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from courses import policies
from courses.models import Exercise, Membership, Policy
from courses.services import membership_enroll, membership_set_role, policy_set
from grader.models import Submission

pytestmark = pytest.mark.django_db
SOLUTION = "def mean(xs):\n    return sum(xs) / len(xs)\n\n\ndef variance(xs):\n    return 0.0\n"
PAGE = "/courses/demo/exercises/mean/"
POLICIES = "/courses/demo/staff/policies/"


@pytest.fixture(autouse=True)
def _roomy_platform_caps(settings):
    # The platform's own caps (config/ratelimits.py) are tested in test_limits.py; here they
    # must not get in the way of the policy's.
    settings.RATE_CAPS = {"submission.active": 1000, "submission.active_gpu": 1000}


def submit(client, kind="submit"):
    return client.post(
        PAGE + "submit/", json.dumps({"kind": kind, "files": {"stats.py": SOLUTION}}), content_type="application/json"
    )


def set_policy(course, slug="", **fields):
    return policy_set(course=course, exercise_slug=slug, user=None, **fields)


def staff(make_user, course, name, role):
    user = make_user(name)
    membership_set_role(user=user, course=course, role=role)
    return user


def test_a_learner_sees_the_window_fill_and_is_told_when_the_next_submit_is_allowed(student_client, course):
    set_policy(course, rate_limit=3, rate_window_minutes=10)
    page = student_client.get(PAGE).content.decode()
    assert "3 of 3 submissions left in this 10-minute window." in page
    first = submit(student_client)
    assert first.status_code == 201 and first.json()["quota"]["window"]["left"] == 2
    second = submit(student_client)
    assert second.json()["quota"]["window"]["message"] == "1 of 3 submissions left in this 10-minute window."
    # Before the limit is hit, the page says so too.
    assert "1 of 3 submissions left in this 10-minute window." in student_client.get(PAGE).content.decode()
    third = submit(student_client)
    assert third.status_code == 201
    opens_again = Submission.objects.order_by("created_at").first().created_at + timedelta(minutes=10)
    assert third.json()["quota"]["window"]["next_at"] == opens_again.isoformat()
    assert "the next one is allowed at " + policies.date_words(opens_again) in student_client.get(PAGE).content.decode()
    refused = submit(student_client)
    assert refused.status_code == 429 and refused.json()["limited"]
    error = refused.json()["error"]
    assert "You have used all 3 submissions allowed in any 10-minute window for this exercise." in error
    assert f"The next one is allowed at {policies.date_words(opens_again)}" in error
    assert int(refused["Retry-After"]) > 0 and refused.json()["quota"]["window"]["left"] == 0
    assert Submission.objects.filter(kind="submit").count() == 3  # nothing stored for the refused one


def test_run_does_not_count_toward_the_window(student_client, course):
    set_policy(course, rate_limit=1, rate_window_minutes=60)
    assert submit(student_client).status_code == 201
    runs = [submit(student_client, "run") for _ in range(3)]
    assert [r.status_code for r in runs] == [201] * 3
    assert runs[-1].json()["quota"]["window"]["left"] == 0  # the run reports the window, unchanged
    assert submit(student_client).status_code == 429


def test_a_submission_that_could_not_be_graded_gives_its_place_back(student_client, course):
    set_policy(course, rate_limit=1, rate_window_minutes=60)
    assert submit(student_client).status_code == 201
    Submission.objects.update(status=Submission.Status.ERROR, gradable=False)  # an infrastructure fault
    assert submit(student_client).status_code == 201


def test_the_exercise_policy_overrides_the_course_window(student_client, course):
    set_policy(course, rate_limit=1, rate_window_minutes=60)
    set_policy(course, "mean", rate_limit=2)
    assert [submit(student_client).status_code for _ in range(3)] == [201, 201, 429]


def test_before_the_release_date_learners_cannot_open_or_submit(student_client, client, course, make_user):
    opens = timezone.now() + timedelta(days=2)
    set_policy(course, "mean", release_at=opens)
    page = student_client.get(PAGE)
    html = page.content.decode()
    assert page.status_code == 200 and "not open yet" in html and policies.date_words(opens) in html
    assert 'id="editor-host"' not in html and "exercise-data" not in html  # no code, no starter
    refused = submit(student_client, "run")
    assert refused.status_code == 403 and refused.json()["closed"]
    assert "This exercise is not open yet: it opens at " + policies.date_words(opens) in refused.json()["error"]
    assert student_client.post(PAGE + "reset/").status_code == 403
    # The course page says when it opens.
    assert "opens " in student_client.get("/courses/demo/").content.decode()
    # Staff can open and submit it, and see that learners cannot yet.
    client.force_login(staff(make_user, course, "ta", Membership.Role.TA))
    staff_page = client.get(PAGE).content.decode()
    assert "Learners cannot open this exercise until" in staff_page and 'id="editor-host"' in staff_page
    assert submit(client).status_code == 201
    # Once the date has passed, it opens.
    Policy.objects.filter(exercise_slug="mean").update(release_at=timezone.now() - timedelta(minutes=1))
    assert 'id="editor-host"' in student_client.get(PAGE).content.decode()
    assert submit(student_client).status_code == 201


def test_after_a_closed_due_date_submit_is_refused_and_run_still_works(student_client, course):
    due = timezone.now() - timedelta(hours=1)
    set_policy(course, due_at=due, late_policy="closed")
    html = student_client.get(PAGE).content.decode()
    assert "No submissions after the due date." in html and "Run still works" in html
    refused = submit(student_client)
    assert refused.status_code == 403
    assert refused.json()["error"].startswith(
        f"Submissions to this exercise closed at its due date, {policies.date_words(due)}."
    )
    assert submit(student_client, "run").status_code == 201
    # Under `none`, a late submit is accepted (the gradebook marks it late, at full credit).
    set_policy(course, late_policy="none")
    assert submit(student_client).status_code == 201
    assert "Late submissions are accepted, marked late, for full credit." in student_client.get(PAGE).content.decode()


def test_staff_are_exempt_from_windows_and_closed_due_dates(client, course, make_user):
    set_policy(course, rate_limit=1, rate_window_minutes=60, due_at=timezone.now() - timedelta(hours=1))
    set_policy(course, late_policy="closed")
    client.force_login(staff(make_user, course, "ta", Membership.Role.TA))
    assert [submit(client).status_code for _ in range(3)] == [201] * 3
    html = client.get(PAGE).content.decode()
    assert "Learners get at most 1 Submit per exercise in any 1-hour window." in html and "you are exempt" in html


def gpu_run(user, course, seconds, *, days_ago=0):
    exercise = Exercise.objects.get(version=course.published_version, slug="mean")
    row = Submission.objects.create(
        user=user,
        course=course,
        exercise=exercise,
        exercise_slug="mean",
        kind="run",
        files={},
        queue="grade.gpu",
        status=Submission.Status.GRADED,
        result={"resources": {"wall_seconds": seconds}},
    )
    Submission.objects.filter(pk=row.pk).update(created_at=timezone.now() - timedelta(days=days_ago))


def test_the_weekly_gpu_budget(student_client, student, course, make_user):
    Exercise.objects.filter(slug="mean").update(device="gpu")
    set_policy(course, gpu_seconds_per_week=600)
    gpu_run(student, course, 400.4)
    gpu_run(student, course, 5000, days_ago=8)  # last week's: not counted
    gpu_run(student, course, "NaN")  # not a measurement: not counted
    other = make_user("other")
    membership_enroll(user=other, course=course)
    gpu_run(other, course, 5000)  # someone else's
    html = student_client.get(PAGE).content.decode()
    assert "GPU time this week: 400 of 600 s used; it resets at " in html
    ok = submit(student_client, "run")
    assert ok.status_code == 201 and ok.json()["quota"]["gpu"]["used"] == 400.4
    gpu_run(student, course, 250)
    refused = submit(student_client)
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    resets = policies.week_start(timezone.now()) + timedelta(days=7)
    assert refused.json()["error"].startswith(
        f"You have used 650 s of your 600 s of GPU time this week in Demo course. It resets at {policies.date_words(resets)}"
    )


def test_the_course_and_lesson_pages_show_due_dates_and_limits(student_client, course):
    set_policy(course, "mean", due_at=timezone.now() + timedelta(days=3))
    set_policy(course, rate_limit=5, rate_window_minutes=10, gpu_seconds_per_week=900)
    for url in ("/courses/demo/", "/courses/demo/lessons/welcome/"):
        html = student_client.get(url).content.decode()
        assert 'data-policy="due"' in html and ">due " in html, url
    assert (
        "Learners get at most 5 Submits per exercise in any 10-minute window and 900 s of GPU time a week."
        in student_client.get("/courses/demo/").content.decode()
    )


# --- the instructors' page ----------------------------------------------------------------------------
def test_the_policy_page_is_for_the_courses_instructors_only(client, course, student, make_user, tmp_path):
    from tests.fixtures import import_published, make_course_folder

    response = client.get(POLICIES)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    client.force_login(student)
    assert client.get(POLICIES).status_code == 403
    assert client.post(POLICIES, {"rate_limit": "1", "rate_window_minutes": "1"}).status_code == 403
    client.force_login(staff(make_user, course, "ta", Membership.Role.TA))
    assert client.get(POLICIES).status_code == 403
    other = import_published(make_course_folder(tmp_path / "other", slug="other", title="Other course"))
    client.force_login(staff(make_user, other, "elsewhere", Membership.Role.INSTRUCTOR))
    assert client.get(POLICIES).status_code in (403, 404)
    assert client.post(POLICIES, {"rate_limit": "1", "rate_window_minutes": "1"}).status_code in (403, 404)
    assert not Policy.objects.exists()
    client.force_login(staff(make_user, course, "teacher", Membership.Role.INSTRUCTOR))
    page = client.get(POLICIES)
    assert (
        page.status_code == 200
        and "Course default" in page.content.decode()
        and "Mean and variance" in page.content.decode()
    )


def test_an_instructor_sets_a_row_with_the_form(course, make_user):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(staff(make_user, course, "teacher", Membership.Role.INSTRUCTOR))
    form = {"exercise_slug": "mean", "rate_limit": "5", "rate_window_minutes": "10", "due_at": "2026-12-20T23:59"}
    assert client.post(POLICIES, form).status_code == 403  # no CSRF token
    page = client.get(POLICIES + "?row=mean")
    token = page.cookies["csrftoken"].value
    saved = client.post(POLICIES, {**form, "csrfmiddlewaretoken": token}, follow=True)
    assert saved.status_code == 200 and "Saved the policy of Mean and variance." in saved.content.decode()
    row = Policy.objects.get(course=course, exercise_slug="mean")
    assert (row.rate_limit, row.rate_window_minutes) == (
        5,
        10,
    ) and row.due_at.isoformat() == "2026-12-20T23:59:00+00:00"
    assert "5 per 10 min" in saved.content.decode()
    # A mistake is shown, named, and nothing changes.
    bad = client.post(
        POLICIES, {**form, "late_policy": "curve", "late_curve": "0=1, 24=2", "csrfmiddlewaretoken": token}
    )
    assert bad.status_code == 400 and "credit 2 at 24 h is outside [0, 1]" in bad.content.decode()
    assert Policy.objects.get(course=course, exercise_slug="mean").late_policy == ""
    assert client.get(POLICIES + "?row=nope").status_code == 404
