"""The API as a script or the terminal client uses it: a token made on the settings page, the
course and exercise read, a Submit sent and its events polled to the verdict the browser shows;
then the token revoked. Bad tokens, scopes, bodies and other people's objects get one-line
errors with the right status."""

import json
import re
import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import ApiToken
from accounts.tokens import token_create
from grader.tests.test_pipeline import SOLUTION

pytestmark = pytest.mark.django_db


def call(client, method, path, token=None, body=None, raw=None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    data = raw if raw is not None else (json.dumps(body) if body is not None else None)
    kwargs = {"data": data, "content_type": "application/json"} if data is not None else {}
    response = getattr(client, method)(f"/api/v1{path}", **kwargs, **headers)
    return response.status_code, response.json()


def test_token_from_the_settings_page_then_revoked(student_client, student, course):
    page = student_client.post("/settings/tokens/new/", {"name": "laptop", "scopes": ["read", "submit"], "days": "30"})
    text = re.search(r"fs_[0-9a-f]{8}_[\w-]+", page.content.decode()).group(0)
    assert "not shown again" in page.content.decode()
    assert text not in student_client.get("/settings/tokens/").content.decode()  # once only
    assert not ApiToken.objects.filter(secret_hash__contains=text.split("_", 2)[2]).exists()

    api = Client()
    status, body = call(api, "get", "/courses", text)
    assert status == 200 and [c["slug"] for c in body] == ["demo"] and body[0]["role"] == "student"
    token = ApiToken.objects.get(user=student)
    student_client.post(f"/settings/tokens/{token.pk}/revoke/")
    status, body = call(api, "get", "/courses", text)
    assert status == 401 and body["detail"].startswith("token “laptop” was revoked on")


def test_bad_tokens_get_one_line_reasons(student, course):
    api = Client()
    assert call(api, "get", "/courses") == (
        401,
        {"detail": "no token: send the header Authorization: Bearer fs_… (Account → API tokens)"},
    )
    assert call(api, "get", "/courses", "hello")[1]["detail"].startswith("not a From Scratch token")
    _, good = token_create(user=student, name="x", scopes=["read"])
    assert call(api, "get", "/courses", good[:-2] + "zz")[1]["detail"].startswith("unknown token")
    token, old = token_create(user=student, name="old", scopes=["read"], days=1)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(hours=1))
    status, body = call(api, "get", "/courses", old)
    assert status == 401 and body["detail"].startswith("token “old” expired on")


def test_scopes_bodies_and_other_peoples_things(
    student, course, make_user, settings, django_capture_on_commit_callbacks
):
    from courses.models import Membership
    from courses.services import membership_enroll, membership_set_role

    api = Client()
    _, reader = token_create(user=student, name="r", scopes=["read"])
    _, writer = token_create(user=student, name="w", scopes=["read", "submit", "staff"])
    path = "/courses/demo/exercises/mean/submissions"
    status, body = call(api, "post", path, reader, {"files": {"stats.py": SOLUTION}})
    assert status == 403 and "“submit” scope" in body["detail"]
    status, body = call(api, "post", path, writer, raw="{not json")
    assert status == 400 and body["detail"].startswith("body: not valid JSON")
    status, body = call(api, "post", path, writer, {"kind": "submit"})
    assert status == 400 and body["detail"] == "files: Field required"
    status, body = call(api, "post", path, writer, {"files": {"stats.py": 3}})
    assert status == 400 and body["detail"].startswith("files.stats.py: Input should be a valid string")
    status, body = call(api, "post", path, writer, {"files": {"other.py": "x = 1"}})
    assert status == 400 and "other.py" in body["detail"]
    with django_capture_on_commit_callbacks(execute=False):
        status, body = call(api, "post", path, writer, {"files": {"stats.py": SOLUTION}})
    assert status == 201 and body["status"] == "queued" and body["number"] == 1
    mine = body["id"]
    # Another learner's token sees none of it; a student's staff scope opens no staff data.
    other = make_user("other")
    membership_enroll(user=other, course=course)
    _, theirs = token_create(user=other, name="t", scopes=["read", "staff"])
    assert call(api, "get", f"/submissions/{mine}", theirs)[0] == 404
    assert call(api, "get", f"/submissions/{mine}/events", theirs)[0] == 404
    # A resume point past any log (schemathesis sent 2**63, which Redis refuses) names the field.
    for path in (f"/submissions/{mine}/events?after=-1", f"/submissions/{mine}/stream?after={2**63}"):
        status, body = call(api, "get", path, writer)
        assert status == 400 and body["detail"].startswith("after: Input should be"), body
    assert call(api, "get", f"/submissions/{mine}/events?after={2**53 - 1}", writer) == (
        200,
        {"finished": False, "events": []},
    )
    assert call(api, "get", "/courses/demo/gradebook", writer)[0] == 403
    ta = make_user("ta")
    membership_set_role(user=ta, course=course, role=Membership.Role.TA)
    _, ta_token = token_create(user=ta, name="ta", scopes=["read", "staff"])
    status, rows = call(api, "get", "/courses/demo/gradebook", ta_token)
    assert status == 200 and {r["username"] for r in rows} == {"student", "other"}
    _, ta_reader = token_create(user=ta, name="ta2", scopes=["read"])
    assert call(api, "get", "/courses/demo/gradebook", ta_reader)[0] == 403
    # A token in a loop slows itself down.
    settings.RATE_LIMITS = {"api.token": (3, 60)}
    _, looping = token_create(user=student, name="loop", scopes=["read"])
    codes = [call(api, "get", "/courses", looping)[0] for _ in range(4)]
    assert codes == [200, 200, 200, 429]


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
@pytest.mark.sandbox
def test_get_submit_and_follow_to_the_verdict(student, student_client, course, celery_worker):
    api = Client()
    _, token = token_create(user=student, name="cli", scopes=["read", "submit"])
    status, ex = call(api, "get", "/courses/demo/exercises/mean", token)
    assert status == 200 and ex["files"] == ["stats.py"] and ex["locked"] is None
    assert "def mean" in ex["starter"]["stats.py"] and "tests/visible/test_mean.py" in ex["visible_tests"]
    assert not [p for p in ex["visible_tests"] if "hidden" in p]  # hidden tests never leave the server
    status, sub = call(
        api, "post", "/courses/demo/exercises/mean/submissions", token, {"files": {"stats.py": SOLUTION}}
    )
    assert status == 201
    seen, after, deadline = [], 0, time.monotonic() + 90
    while True:
        status, page = call(api, "get", f"/submissions/{sub['id']}/events?after={after}", token)
        assert status == 200
        seen += page["events"]
        after = max([after] + [e["seq"] for e in page["events"]])
        if page["finished"]:
            break
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert [e["seq"] for e in seen] == list(range(1, len(seen) + 1))  # each event once, in order
    assert seen[-1]["type"] == "recorded" and any(e["type"] == "result" for e in seen)
    status, done = call(api, "get", f"/submissions/{sub['id']}", token)
    assert done["passed"] and done["score"] == done["max_score"] == 4 and "integrity" not in done["result"]
    # The browser shows the same submission with the same score.
    assert "Score: 4 / 4" in student_client.get(done["url"]).content.decode()
    status, progress = call(api, "get", "/courses/demo/progress", token)
    assert progress == [{"exercise": "mean", "status": "passed", "best_score": 4.0, "max_score": 4.0, "submits": 1}]


def _zip(folder, extra=None) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, f"demo/{path.relative_to(folder)}")
        for name, text in (extra or {}).items():
            archive.writestr(name, text)
    return buffer.getvalue()


def test_course_import_by_archive(course, course_folder, student, make_user):
    from courses.models import Membership
    from courses.services import membership_set_role

    teacher = make_user("teacher")
    membership_set_role(user=teacher, course=course, role=Membership.Role.INSTRUCTOR)
    _, token = token_create(user=teacher, name="ci", scopes=["read", "staff"])
    _, learner = token_create(user=student, name="s", scopes=["read", "staff"])
    api = Client()
    lesson = course_folder / "modules/01-basics/lessons/01-welcome.md"
    lesson.write_text(lesson.read_text() + "\n\nA new paragraph.\n")

    def post(tok, data, publish="false"):
        from django.core.files.uploadedfile import SimpleUploadedFile

        response = api.post(
            f"/api/v1/course-imports?publish={publish}",
            {"archive": SimpleUploadedFile("demo.zip", data, content_type="application/zip")},
            HTTP_AUTHORIZATION=f"Bearer {tok}",
        )
        return response.status_code, response.json()

    assert post(learner, _zip(course_folder))[0] == 403
    status, body = post(token, _zip(course_folder), publish="true")
    assert status == 201 and body == {"course": "demo", "version": 2, "created": True, "published": True}
    course.refresh_from_db()
    assert course.published_version.number == 2
    status, body = post(token, _zip(course_folder, {"../evil.txt": "x"}))
    assert status == 400 and body["detail"].startswith("archive: ../evil.txt")
    status, body = post(token, b"not a zip")
    assert (status, body["detail"]) == (400, "archive: not a zip archive")
    (course_folder / "modules/01-basics/module.toml").write_text("title = 3\n")
    status, body = post(token, _zip(course_folder))
    assert status == 400 and "module.toml:" in body["detail"]


def test_my_submissions_newest_first(student, course, django_capture_on_commit_callbacks):
    api = Client()
    _, token = token_create(user=student, name="w", scopes=["read", "submit"])
    path = "/courses/demo/exercises/mean/submissions"
    with django_capture_on_commit_callbacks(execute=False):
        first = call(api, "post", path, token, {"kind": "run", "files": {"stats.py": SOLUTION}})[1]["id"]
        second = call(api, "post", path, token, {"files": {"stats.py": SOLUTION}})[1]["id"]
    status, rows = call(api, "get", path, token)
    assert status == 200 and [r["id"] for r in rows] == [second, first] and rows[0]["kind"] == "submit"
