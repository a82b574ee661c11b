"""Sign-in limits (windows "login.address" and "login.account"): on allauth's form and on
/admin/login/, counted together; once a window is full the password is not even checked."""

import re

import pytest
from django.contrib.auth.signals import user_logged_in, user_login_failed

from tests.fixtures import PASSWORD

LOGIN = "/accounts/login/"
ADMIN = "/admin/login/?next=/admin/"


@pytest.fixture(autouse=True)
def small_windows(settings):
    settings.RATE_LIMITS = {"login.account": (3, 300), "login.address": (5, 300)}


@pytest.fixture
def password_checks():
    """Every time Django's authenticate() ran (it sends one of these two signals)."""
    seen = []

    def record(sender, **kwargs):
        seen.append(1)

    user_logged_in.connect(record, weak=False)
    user_login_failed.connect(record, weak=False)
    yield seen
    user_logged_in.disconnect(record)
    user_login_failed.disconnect(record)


def sign_in(client, login, password, **extra):
    return client.post(LOGIN, {"login": login, "password": password}, **extra)


def signed_in(client):
    return "_auth_user_id" in client.session


def test_the_right_password_is_refused_after_too_many_failures(client, make_user, password_checks):
    make_user("grace")
    for _ in range(3):
        assert sign_in(client, "grace@example.org", "wrong").status_code == 200
    checks_before = len(password_checks)
    response = sign_in(client, "grace@example.org", PASSWORD)
    body = response.content.decode()
    assert "Too many sign-in attempts for this account" in body
    # Fixed windows: the wait is what is left of this one.
    assert re.search(r"Try again in \d+ (s|minutes)\.", body)
    assert not signed_in(client)
    assert len(password_checks) == checks_before  # the password was never tried


def test_the_account_window_holds_whatever_the_address_and_spelling(client, make_user):
    make_user("grace")
    for address in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        sign_in(client, "GRACE@example.org", "wrong", REMOTE_ADDR=address)
    response = sign_in(client, "grace@example.org", PASSWORD, REMOTE_ADDR="10.0.0.9")
    assert "Too many sign-in attempts for this account" in response.content.decode()
    assert not signed_in(client)


def test_other_accounts_from_the_same_address_are_limited_by_the_address_window(client, make_user):
    make_user("grace")
    make_user("ada")
    for name in ("alan", "alan", "edsger", "edsger", "barbara"):  # 5 failures, none over 3 per account
        sign_in(client, f"{name}@example.org", "wrong")
    response = sign_in(client, "grace@example.org", PASSWORD)
    assert "Too many sign-in attempts from this address" in response.content.decode()
    assert not signed_in(client)
    # Someone else, elsewhere, signs in as usual.
    assert sign_in(client, "ada@example.org", PASSWORD, REMOTE_ADDR="10.9.9.9").status_code == 302


def test_a_successful_sign_in_forgets_the_accounts_failures(client, make_user):
    make_user("grace")
    for _ in range(2):
        sign_in(client, "grace@example.org", "wrong")
    assert sign_in(client, "grace@example.org", PASSWORD).status_code == 302
    client.post("/accounts/logout/")
    for _ in range(2):
        sign_in(client, "grace@example.org", "wrong", REMOTE_ADDR="10.0.0.2")
    assert sign_in(client, "grace@example.org", PASSWORD, REMOTE_ADDR="10.0.0.2").status_code == 302


def test_the_admin_login_is_limited_too(client, make_user, password_checks):
    make_user("root", staff=True)
    for _ in range(3):
        response = client.post(ADMIN, {"username": "root", "password": "wrong"})
        assert "Too many" not in response.content.decode()
    checks_before = len(password_checks)
    response = client.post(ADMIN, {"username": "root", "password": PASSWORD})
    assert "Too many sign-in attempts for this account" in response.content.decode()
    assert not signed_in(client)
    assert len(password_checks) == checks_before


def test_the_site_and_the_admin_share_one_count(client, make_user):
    make_user("root", staff=True)
    for _ in range(3):
        sign_in(client, "root@example.org", "wrong")  # email on the site form
    response = client.post(ADMIN, {"username": "root", "password": PASSWORD})  # username on the admin
    assert "Too many sign-in attempts for this account" in response.content.decode()
    assert not signed_in(client)


def test_the_client_ip_header_is_used_only_when_configured(client, make_user, settings):
    make_user("grace")
    for n in range(5):
        sign_in(client, f"nobody{n}@example.org", "wrong", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
    # Not configured: every request came from REMOTE_ADDR, whatever the header claimed.
    assert "from this address" in sign_in(client, "grace@example.org", PASSWORD).content.decode()

    settings.CLIENT_IP_HEADER = "X-Forwarded-For"
    response = sign_in(client, "grace@example.org", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.7, 10.0.0.1")
    assert response.status_code == 302
