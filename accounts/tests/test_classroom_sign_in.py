"""A classroom signs in at the start of a lesson: many learners, one address (a school's NAT).

Only failed sign-ins are limited (accounts/services.py). allauth also limits every sign-in to 30
a minute per address by default; bench/load.py found 20 of 50 learners refused with a 429 at the
start of a run, all with the right password. Its limit is off (settings ACCOUNT_RATE_LIMITS)."""

import pytest

from tests.fixtures import PASSWORD

pytestmark = pytest.mark.django_db


def test_forty_learners_behind_one_address_all_sign_in(client, make_user):
    learners = [make_user(f"learner{i}") for i in range(40)]
    for user in learners:
        client.cookies.clear()
        response = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD}, REMOTE_ADDR="10.1.2.3")
        assert response.status_code == 302, (user.username, response.status_code)
        assert client.session["_auth_user_id"] == str(user.pk)


def test_failed_sign_ins_from_that_address_are_still_limited(client, make_user, settings):
    settings.RATE_LIMITS = {"login.address": (5, 300)}
    make_user("grace")
    for _ in range(5):
        response = client.post(
            "/accounts/login/", {"login": "grace@example.org", "password": "wrong"}, REMOTE_ADDR="10.1.2.3"
        )
        assert response.status_code == 200
    response = client.post(
        "/accounts/login/", {"login": "grace@example.org", "password": PASSWORD}, REMOTE_ADDR="10.1.2.3"
    )
    assert "Too many sign-in attempts from this address" in response.content.decode()
    assert "_auth_user_id" not in client.session
