"""Sign up, log in, log out, password reset by email; bad input gets a form error."""

import re

from django.core import mail

from accounts.models import User


def test_sign_up_logs_the_new_user_in(client, db):
    response = client.post(
        "/accounts/signup/",
        {
            "email": "ada@example.org",
            "username": "ada",
            "password1": "a-Long-enough-passw0rd",
            "password2": "a-Long-enough-passw0rd",
        },
    )
    assert response.status_code == 302
    assert User.objects.filter(email="ada@example.org").exists()
    assert "ada" in client.get("/").content.decode()


def test_log_in_and_out(client, make_user):
    make_user("grace")
    response = client.post("/accounts/login/", {"login": "grace@example.org", "password": "correct horse battery"})
    assert response.status_code == 302
    assert "Log out" in client.get("/").content.decode()
    client.post("/accounts/logout/")
    assert "Log in" in client.get("/").content.decode()


def test_wrong_credentials_give_a_form_error(client, make_user):
    make_user("grace")
    response = client.post("/accounts/login/", {"login": "grace@example.org", "password": "wrong"})
    assert response.status_code == 200
    assert "not correct" in response.content.decode() or "incorrect" in response.content.decode().lower()
    assert "_auth_user_id" not in client.session


def test_password_reset_sends_an_email_with_a_working_link(client, make_user):
    make_user("grace")
    client.post("/accounts/password/reset/", {"email": "grace@example.org"})
    assert len(mail.outbox) == 1
    link = re.search(r"http://[^\s]+/accounts/password/reset/key/[^\s]+", mail.outbox[0].body).group(0)
    response = client.get(link.replace("http://testserver", ""), follow=True)
    assert response.status_code == 200
    form_url = response.redirect_chain[-1][0] if response.redirect_chain else link.replace("http://testserver", "")
    response = client.post(form_url, {"password1": "N3w-password-long", "password2": "N3w-password-long"})
    assert response.status_code == 302
    assert client.login(username="grace", password="N3w-password-long") or User.objects.get(
        username="grace"
    ).check_password("N3w-password-long")


def test_unknown_route_is_a_404_page(client, db):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()
