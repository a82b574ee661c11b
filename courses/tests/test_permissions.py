"""One gate per object type: anonymous users go to log in, users without the role get 403/404,
and nobody sees another user's data."""

import json

import pytest

from courses.models import Membership
from courses.services import membership_set_role


def test_anonymous_user_is_redirected_to_log_in(client, course):
    for url in [
        f"/courses/{course.slug}/",
        f"/courses/{course.slug}/lessons/welcome/",
        f"/courses/{course.slug}/exercises/mean/",
    ]:
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url


def test_non_member_sees_the_course_page_but_cannot_submit(client, make_user, course):
    client.force_login(make_user("outsider"))
    assert client.get(f"/courses/{course.slug}/").status_code == 200
    response = client.post(
        f"/courses/{course.slug}/exercises/mean/submit/",
        json.dumps({"files": {"stats.py": "x=1"}}),
        content_type="application/json",
    )
    assert response.status_code == 403


def test_unpublished_course_is_invisible_to_students(client, make_user, course):
    course.published_version = None
    course.save()
    client.force_login(make_user("outsider"))
    assert client.get(f"/courses/{course.slug}/").status_code == 404


@pytest.mark.parametrize("role,expected", [(None, 403), (Membership.Role.STUDENT, 403), (Membership.Role.TA, 200)])
def test_staff_pages_need_the_ta_role(client, make_user, course, role, expected):
    user = make_user("someone")
    if role:
        membership_set_role(user=user, course=course, role=role)
    client.force_login(user)
    response = client.get(f"/courses/{course.slug}/staff/")
    assert response.status_code == expected


@pytest.mark.parametrize("role,expected", [(Membership.Role.TA, 403), (Membership.Role.INSTRUCTOR, 200)])
def test_authoring_needs_the_instructor_role(client, make_user, course, role, expected):
    user = make_user("someone")
    membership_set_role(user=user, course=course, role=role)
    client.force_login(user)
    assert client.get(f"/courses/{course.slug}/author/").status_code == expected


def test_another_learners_submission_is_a_404(client, make_user, course, student):
    from courses.models import Exercise
    from grader.models import Submission

    exercise = Exercise.objects.get(slug="mean")
    theirs = Submission.objects.create(
        user=student, course=course, exercise=exercise, exercise_slug="mean", files={"stats.py": "secret"}
    )
    other = make_user("other")
    membership_set_role(user=other, course=course, role=Membership.Role.STUDENT)
    client.force_login(other)
    response = client.get(f"/submissions/{theirs.pk}/")
    assert response.status_code == 404
    assert "secret" not in response.content.decode()
    client.force_login(student)
    assert client.get(f"/submissions/{theirs.pk}/").status_code == 200
