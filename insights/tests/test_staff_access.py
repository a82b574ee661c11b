"""Who may see and do what on the staff pages: every staff page and action × anonymous, a
student of the course, a TA, an instructor of another course, and the course's instructor.
Nothing leaks: a page either answers or refuses; a refused action changes nothing."""

import pytest
from django.test import Client

from courses.models import Exercise, Membership
from grader.models import Regrade, Replay, Submission
from insights.models import ClusterAction, StuckResolution
from tests.fixtures import import_published, make_course_folder

pytestmark = pytest.mark.django_db

FAILING = {
    "schema_version": "1.0",
    "status": "failed",
    "gradable": True,
    "message": "1 of 3 tests passed.",
    "score": 1,
    "max_score": 4,
    "tests": [
        {"id": "test_mean_small", "name": "Mean of a short list", "status": "passed", "message": ""},
        {
            "id": "test_variance",
            "name": "test_variance",
            "status": "failed",
            "message": "n, not n - 1 — variance: expected 1.25, got 1.67",
        },
        {"id": "test_random_lists", "name": "test_random_lists", "status": "failed", "message": "hidden differs"},
    ],
}


@pytest.fixture
def world(tmp_path, make_user):
    from courses.services import membership_set_role
    from tutor.models import Conversation

    course = import_published(make_course_folder(tmp_path / "demo"))
    other = import_published(make_course_folder(tmp_path / "other", slug="other", title="Other course"))
    people = {
        "student": make_user("student"),
        "ta": make_user("ta"),
        "outsider": make_user("outsider"),  # instructor of the other course
        "instructor": make_user("instructor"),
    }
    roles = {"student": "student", "ta": "ta", "instructor": "instructor"}
    for name, role in roles.items():
        membership_set_role(user=people[name], course=course, role=role)
    membership_set_role(user=people["outsider"], course=other, role=Membership.Role.INSTRUCTOR)
    exercise = Exercise.objects.get(version=course.published_version, slug="mean")
    sub = Submission.objects.create(
        user=people["student"],
        course=course,
        exercise=exercise,
        exercise_slug="mean",
        files={"stats.py": "x = 1\n"},
        status="graded",
        score=1,
        max_score=4,
        result=FAILING,
        flagged=True,
    )
    convo = Conversation.objects.create(user=people["student"], course=course, kind="exercise", item_slug="mean")
    replay = Replay.objects.create(course=course, exercise=exercise, exercise_slug="mean", total=0, status="finished")
    from insights.clusters import fingerprint

    return {
        "course": course,
        "people": people,
        "sub": sub,
        "convo": convo,
        "replay": replay,
        "sig": fingerprint(FAILING).signature,
    }


TA_PAGES = [
    "/courses/demo/staff/",
    "/courses/demo/staff/dashboard/",
    "/courses/demo/staff/submissions/?status=failed",
    "/courses/demo/staff/gradebook/",
    "/courses/demo/staff/gradebook/?format=csv",
    "/courses/demo/staff/stuck/",
    "/courses/demo/staff/clusters/?exercise=mean",
    "/courses/demo/staff/clusters/mean/{sig}/",
    "/courses/demo/staff/conversations/{convo}/",
]
INSTRUCTOR_PAGES = [
    "/courses/demo/staff/regrades/",
    "/courses/demo/staff/replays/{replay}/",
    "/courses/demo/staff/policies/",
]
EXPECT = {  # actor -> (TA page, instructor page)
    "student": (403, 403),
    "ta": (200, 403),
    "outsider": (403, 403),
    "instructor": (200, 200),
}


def _client(world, actor):
    client = Client()
    if actor != "anonymous":
        client.force_login(world["people"][actor])
    return client


def _url(template, world):
    return template.format(sig=world["sig"], convo=world["convo"].pk, replay=world["replay"].pk)


@pytest.mark.parametrize("actor", ["anonymous", "student", "ta", "outsider", "instructor"])
def test_pages(world, actor):
    client = _client(world, actor)
    for kind, pages in (("ta", TA_PAGES), ("instructor", INSTRUCTOR_PAGES)):
        for template in pages:
            response = client.get(_url(template, world))
            if actor == "anonymous":
                assert response.status_code == 302 and "/accounts/login/" in response["Location"], template
                continue
            want = EXPECT[actor][0 if kind == "ta" else 1]
            assert response.status_code == want, (actor, template, response.status_code)
            if want != 200:  # a refusal shows none of the course's learners or code
                assert b"student" not in response.content.replace(b"students", b"") or actor == "student", template


def _posts(world):
    sub = world["sub"]
    return [
        (
            "ta",
            "/courses/demo/staff/stuck/resolve/",
            {"learner": world["people"]["student"].pk, "exercise": "mean"},
            lambda: StuckResolution.objects.exists(),
        ),
        (
            "ta",
            f"/submissions/{sub.pk}/clear-flag/",
            {"note": "false alarm"},
            lambda: not Submission.objects.get(pk=sub.pk).flagged,
        ),
        (
            "instructor",
            "/courses/demo/staff/regrades/start/",
            {"scope": "exercise", "exercise": "mean"},
            lambda: Regrade.objects.exists(),
        ),
        (
            "instructor",
            f"/courses/demo/staff/clusters/mean/{world['sig']}/act/",
            {"action": "hint", "test": "test_variance", "text": "Divide by n."},
            lambda: ClusterAction.objects.exists(),
        ),
    ]


@pytest.mark.parametrize("actor", ["anonymous", "student", "ta", "outsider", "instructor"])
def test_actions(world, actor, django_capture_on_commit_callbacks):
    client = _client(world, actor)
    for needs, url, data, happened in _posts(world):
        with django_capture_on_commit_callbacks(execute=False):  # no worker here: nothing is sent
            response = client.post(url, data)
        allowed = actor in ("instructor",) or (needs == "ta" and actor == "ta")
        if actor == "anonymous":
            assert response.status_code == 302 and "/accounts/login/" in response["Location"]
        elif allowed:
            assert response.status_code == 302, (actor, url, response.status_code)
            assert happened(), (actor, url)
        else:
            assert response.status_code in (403, 404), (actor, url, response.status_code)
            assert not happened(), (actor, url)


def test_submission_page_staff_panel_only_for_staff(world):
    sub = world["sub"]
    own = _client(world, "student").get(f"/submissions/{sub.pk}/").content.decode()
    assert "Score history" not in own and "Clear the flag" not in own
    staff = _client(world, "ta").get(f"/submissions/{sub.pk}/").content.decode()
    assert "Score history" in staff and "Clear the flag" in staff
    assert "Regrade this submission" not in staff  # changing scores is for instructors
    assert "Regrade this submission" in _client(world, "instructor").get(f"/submissions/{sub.pk}/").content.decode()
    assert _client(world, "outsider").get(f"/submissions/{sub.pk}/").status_code == 404


def test_gradebook_csv_is_this_course_only(world, make_user):
    from courses.models import Course
    from courses.services import membership_enroll

    stranger = make_user("stranger")
    membership_enroll(user=stranger, course=Course.objects.get(slug="other"))
    csv_text = _client(world, "ta").get("/courses/demo/staff/gradebook/?format=csv").content.decode()
    assert "student" in csv_text and "stranger" not in csv_text and "ta@" not in csv_text
