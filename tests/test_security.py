"""Security checks that must hold for every page: CSRF on every state-changing URL, no cookie
sessions on the bearer-token API, and production's cookie, HTTPS and `check --deploy` settings.

The CSRF sweep is generated from the URL resolver, so a view added tomorrow is covered without
editing this file; a view that switches CSRF off must be named in `CSRF_EXEMPT` below, with why.
Sign-in and submission rate limits are tested where they live (accounts/tests/test_login_limits.py,
grader/tests/test_policy_limits.py, api/tests/test_api.py); missing production variables in
tests/test_config.py; the websocket Origin check in frontend/tests/test_websocket.py.
"""

import json
import os
import re
import subprocess
import sys

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.utils.crypto import get_random_string

from tests import services
from tests.fixtures import PASSWORD, ROOT

# Views allowed to skip Django's CSRF check, by namespace or URL name, and why. Anything else
# marked csrf_exempt fails `test_no_view_is_csrf_exempt_unless_listed`.
CSRF_EXEMPT = {
    # django-ninja marks every operation exempt; the API authenticates only by bearer token
    # (api/auth.py), which a cross-site form cannot send. Checked below: cookies do not act there.
    "api-v1": "bearer tokens only",
}

# Sample values for URL parameters. The sweeps need only URLs that resolve to the view: the CSRF
# middleware decides before the view runs. Ids name no row, or the admin's delete view would
# delete the signed-in superuser (user 1) halfway through the sweep.
SAMPLES = {"app_label": "auth", "url": "nowhere/", "key": "abc", "uidb36": "1"}
NO_ROW = "987654"


def _sample(name: str, converter: str = "str") -> str:
    if name in SAMPLES:
        return SAMPLES[name]
    return NO_ROW if converter in ("int", "path") or name.endswith("id") or name == "number" else "x"


def _fill(pattern) -> str:
    """A concrete path matching one resolver pattern (route or regex)."""
    text = str(pattern)
    if hasattr(pattern, "converters") and not text.startswith("^"):  # a route: <int:number>
        return re.sub(r"<(?:(\w+):)?(\w+)>", lambda m: _sample(m.group(2), m.group(1) or "str"), text)
    out, i = [], 0
    text = text.lstrip("^").rstrip("$")
    while i < len(text):
        m = re.match(r"\(\?P<(\w+)>", text[i:])
        if m:  # replace the whole (balanced) group by a sample value
            depth, j = 0, i
            while True:
                depth += text[j] == "("
                depth -= text[j] == ")"
                j += 1
                if depth == 0:
                    break
            out.append(_sample(m.group(1)))
            i = j
        else:
            out.append(text[i])
            i += 1
    return "".join(out).replace("\\", "")


def _routes(resolver=None, prefix="", namespace=""):
    """(path, callback, namespace, name) for every view the site serves."""
    resolver = resolver or get_resolver()
    for p in resolver.url_patterns:
        if isinstance(p, URLResolver):
            yield from _routes(p, prefix + _fill(p.pattern), p.namespace or namespace)
        elif isinstance(p, URLPattern):
            yield "/" + prefix + _fill(p.pattern), p.callback, namespace, p.name or ""


def _exempt_reason(namespace, name):
    return CSRF_EXEMPT.get(namespace) or CSRF_EXEMPT.get(name)


def _checked_routes():
    routes = [r for r in _routes() if not getattr(r[1], "csrf_exempt", False)]
    assert len(routes) > 50, "the resolver walk found too few views"
    return routes


def test_no_view_is_csrf_exempt_unless_listed():
    exempt = [(path, ns, name) for path, view, ns, name in _routes() if getattr(view, "csrf_exempt", False)]
    unknown = [(path, name) for path, ns, name in exempt if not _exempt_reason(ns, name)]
    assert not unknown, f"views without CSRF checks, not in CSRF_EXEMPT: {unknown}"
    assert exempt, "the API's operations are exempt (ninja): if none are, CSRF_EXEMPT is stale"


def test_every_generated_url_reaches_its_view():
    """The sweep below is only as good as its URLs: each must resolve to the view it stands for."""
    for path, view, _ns, name in _checked_routes():
        assert resolve(path).func is view, (path, name)


def _csrf_refused(response) -> bool:
    return response.status_code == 403 and b"CSRF verification failed" in response.content


@pytest.fixture
def admin_user(make_user):
    return make_user("root", staff=True)


def test_a_post_without_a_token_is_refused_on_every_view(admin_user):
    """Signed in as a superuser (every role), so nothing but CSRF stands in the way."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    let_through = [p for p, *_ in _checked_routes() if not _csrf_refused(client.post(p, {"x": "1"}))]
    assert not let_through, f"POST without a CSRF token was not refused: {let_through}"


def test_a_post_with_a_valid_token_passes_the_csrf_check_on_every_view(admin_user):
    """The other half of the sweep: the refusal above is the token's absence, not the view."""
    passed_on = []
    for path, *_ in _checked_routes():
        # A fresh client each time: some of these POSTs sign out (logout) or change the password.
        client = Client(enforce_csrf_checks=True)
        client.force_login(admin_user)
        token = get_random_string(32)  # what Django keeps in the cookie
        client.cookies["csrftoken"] = token
        response = client.post(path, {"x": "1"}, HTTP_X_CSRFTOKEN=token)
        if not _csrf_refused(response):
            passed_on.append(path)
    refused = sorted({p for p, *_ in _checked_routes()} - set(passed_on))
    assert not refused, f"refused even with a valid token: {refused}"


def _form_token(client, page) -> str:
    """The token as the browser has it after loading `page`: the csrftoken cookie the page set
    (read by exercise.js, tutor.js, author.js) or the form's hidden field."""
    response = client.get(page)
    assert response.status_code == 200, page
    m = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', response.content)
    return m.group(1).decode() if m else client.cookies["csrftoken"].value


def _signed_in(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def test_enrolling_needs_the_token_from_the_course_page(make_user, course):
    from courses.models import Membership

    client = _signed_in(make_user("ada"))
    enroll = f"/courses/{course.slug}/enroll/"
    assert _csrf_refused(client.post(enroll))
    assert not Membership.objects.filter(user__username="ada").exists()
    token = _form_token(client, f"/courses/{course.slug}/")
    assert client.post(enroll, {"csrfmiddlewaretoken": token}).status_code == 302
    assert Membership.objects.filter(user__username="ada", course=course).exists()


def test_saving_a_draft_and_submitting_need_the_token(student, course, settings):
    from grader.models import Draft, Submission

    settings.RATE_CAPS = {"submission.active": 100, "submission.active_gpu": 100}
    client = _signed_in(student)
    page = f"/courses/{course.slug}/exercises/mean/"
    body = json.dumps({"kind": "submit", "files": {"stats.py": "def mean(xs):\n    return 0\n"}})
    for action in ("draft/", "submit/"):
        assert _csrf_refused(client.post(page + action, body, content_type="application/json"))
    assert not Draft.objects.exists() and not Submission.objects.exists()
    token = _form_token(client, page)
    headers = {"content_type": "application/json", "HTTP_X_CSRFTOKEN": token}
    assert client.post(page + "draft/", body, **headers).status_code == 200
    assert client.post(page + "submit/", body, **headers).status_code == 201
    assert Draft.objects.count() == 1 and Submission.objects.count() == 1


def test_starting_a_tutor_conversation_needs_the_token(student, course):
    from tutor.models import Conversation

    client = _signed_in(student)
    start = f"/courses/{course.slug}/tutor/start/"
    assert _csrf_refused(client.post(start, "{}", content_type="application/json"))
    assert not Conversation.objects.exists()
    token = _form_token(client, f"/courses/{course.slug}/")
    response = client.post(start, "{}", content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200, response.content
    assert Conversation.objects.filter(user=student).count() == 1


def test_creating_an_api_token_and_signing_out_need_the_token(make_user):
    from accounts.models import ApiToken

    client = _signed_in(make_user("ada"))
    assert _csrf_refused(client.post("/settings/tokens/new/", {"name": "laptop", "scopes": ["read"]}))
    assert _csrf_refused(client.post("/accounts/logout/"))
    assert not ApiToken.objects.exists() and "_auth_user_id" in client.session
    token = _form_token(client, "/settings/tokens/")
    ok = client.post("/settings/tokens/new/", {"name": "laptop", "scopes": ["read"], "csrfmiddlewaretoken": token})
    assert ok.status_code == 200 and ApiToken.objects.count() == 1
    assert client.post("/accounts/logout/", {"csrfmiddlewaretoken": token}).status_code == 302
    assert "_auth_user_id" not in client.session


def test_the_admin_needs_the_token(make_user):
    from accounts.models import User

    client = _signed_in(make_user("root", staff=True))
    add = "/admin/accounts/user/add/"
    data = {
        "username": "mallory",
        "password1": PASSWORD + "!x",
        "password2": PASSWORD + "!x",
        "usable_password": "true",
    }
    assert _csrf_refused(client.post(add, data))
    assert not User.objects.filter(username="mallory").exists()
    response = client.post(add, {**data, "csrfmiddlewaretoken": _form_token(client, add)})
    assert response.status_code == 302, response.content[:2000]
    assert User.objects.filter(username="mallory").exists()


def test_a_signed_in_browser_cannot_use_the_api_with_its_cookies(student, course):
    """A cross-site page can make the learner's browser send cookies, never a bearer token: the
    API must not accept the session, with or without a CSRF token."""
    from grader.models import Submission

    client = Client(enforce_csrf_checks=True)
    client.force_login(student)
    token = _form_token(client, f"/courses/{course.slug}/")
    url = f"/api/v1/courses/{course.slug}/exercises/mean/submissions"
    body = json.dumps({"kind": "submit", "files": {"stats.py": "def mean(xs):\n    return 0\n"}})
    for extra in ({}, {"HTTP_X_CSRFTOKEN": token}):
        response = client.post(url, body, content_type="application/json", **extra)
        assert response.status_code == 401, response.content
        assert "Authorization: Bearer" in response.json()["detail"]
    assert client.get(f"/api/v1/courses/{course.slug}").status_code == 401
    assert not Submission.objects.exists()


# --- Production settings, from a fresh interpreter with a realistic environment.

HOST = "learn.example.org"


def _prod_env(**extra) -> dict:
    from tests.test_config import start_env

    env = start_env()
    env.pop("GRADER_UNSAFE_LOCAL", None)
    env["DJANGO_SECRET_KEY"] = get_random_string(64)
    env.update(extra)
    return env


def test_check_deploy_reports_no_issues_with_production_settings():
    out = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=_prod_env(),
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "System check identified no issues" in out.stdout


def test_check_deploy_still_warns_when_an_operator_turns_hsts_off():
    """The preload reminder is silenced by design (prod.py); the other HTTPS checks are not."""
    out = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env=_prod_env(DJANGO_HSTS_SECONDS="0", DJANGO_SECURE_COOKIES="false"),
        capture_output=True,
        text=True,
    )
    assert "security.W004" in out.stderr and "security.W012" in out.stderr, out.stderr


# Production settings on the test session's database: the one thing changed, so the subprocess
# can sign someone in (production refuses SQLite, which local test runs use).
PROD_ON_TEST_DB = """
import os
from config.settings.prod import *  # noqa: F403
from config.env import database_config
DATABASES = {"default": database_config(os.environ["FS_TEST_DATABASE_URL"])}
"""

SIGN_IN = f"""
import json, re, django
django.setup()
from django.test import Client
from accounts.models import User

User.objects.create_user("grace", "grace@example.org", {PASSWORD!r})
c = Client(enforce_csrf_checks=True, HTTP_HOST={HOST!r})
https = {{"HTTP_X_FORWARDED_PROTO": "https"}}  # as the TLS-terminating proxy sends it
plain = c.get("/accounts/login/")
probe = c.get("/healthz")
page = c.get("/accounts/login/", **https)
token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content).group(1).decode()
signed = c.post(
    "/accounts/login/",
    {{"login": "grace@example.org", "password": {PASSWORD!r}, "csrfmiddlewaretoken": token}},
    HTTP_REFERER="https://{HOST}/accounts/login/",
    **https,
)
print(json.dumps({{
    "plain": [plain.status_code, plain.get("Location")],
    "probe": probe.status_code,
    "page": [page.status_code, page.get("Strict-Transport-Security")],
    "csrf_cookie": page.cookies["csrftoken"].OutputString(),
    "signed": [signed.status_code, signed.get("Location")],
    "session_cookie": signed.cookies["sessionid"].OutputString(),
}}))
"""


@pytest.mark.django_db(transaction=True)
def test_a_sign_in_through_production_settings_sets_secure_cookies(tmp_path, settings):
    (tmp_path / "prod_on_test_db.py").write_text(PROD_ON_TEST_DB)
    env = _prod_env(
        DJANGO_SETTINGS_MODULE="prod_on_test_db",
        DJANGO_ALLOWED_HOSTS=HOST,
        FS_TEST_DATABASE_URL=services.test_database_url(),
        REDIS_URL=settings.REDIS_URL,
        FROMSCRATCH_KEY_PREFIX=settings.KEY_PREFIX,
        PYTHONPATH=os.pathsep.join([str(tmp_path), str(ROOT)]),
    )
    out = subprocess.run([sys.executable, "-c", SIGN_IN], cwd=ROOT, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    # Plain HTTP is sent to HTTPS; HTTPS (per the proxy's header) is served with HSTS.
    assert got["plain"] == [301, f"https://{HOST}/accounts/login/"]
    assert got["page"] == [200, "max-age=31536000; includeSubDomains"]
    # Except the health probe, which speaks plain HTTP to the process, past the proxy.
    assert got["probe"] in (200, 503), got
    assert got["signed"][0] == 302, got
    session = got["session_cookie"].split("; ")
    # Secure: never sent over plain HTTP. HttpOnly: page scripts cannot read it. SameSite=Lax:
    # not sent on cross-site POSTs (CSRF's second line).
    assert {"Secure", "HttpOnly", "SameSite=Lax"} <= set(session), session
    csrf = got["csrf_cookie"].split("; ")
    # The CSRF cookie is read by the page's own scripts (exercise.js), so not HttpOnly.
    assert {"Secure", "SameSite=Lax"} <= set(csrf) and "HttpOnly" not in csrf, csrf
