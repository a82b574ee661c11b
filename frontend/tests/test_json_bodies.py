"""Every JSON endpoint answers a malformed body with a 400 (413 when too large) that names the
problem, never a 500, and keeps what it had: a draft, an author's file, a rating."""

import json

import pytest

LESSON = "modules/01-basics/lessons/01-welcome.md"
BAD = [
    ("{not json", 400, "not valid JSON"),
    ("[1, 2]", 400, "must be a JSON object, not a list"),
    ('"text"', 400, "must be a JSON object, not text"),
    (b"\xff\xfe\x00garbage", 400, "not valid JSON"),
    ("[" * 100_000, 400, "not valid JSON"),
]


def post(client, url, body):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(url, data, content_type="application/json")


def assert_refused(response, status, words):
    assert response.status_code == status, response.content[:300]
    assert words in response.json()["error"]


@pytest.fixture
def instructor_client(client, make_user, course):
    from courses.services import membership_set_role

    teacher = make_user("teacher")
    membership_set_role(user=teacher, course=course, role="instructor")
    client.force_login(teacher)
    return client


@pytest.fixture
def endpoints(course):
    c = course.slug
    return {
        "draft": f"/courses/{c}/exercises/mean/draft/",
        "submit": f"/courses/{c}/exercises/mean/submit/",
        "file": f"/courses/{c}/author/file/",
        "preview": f"/courses/{c}/author/preview/",
        "tutor": f"/courses/{c}/tutor/start/",
    }


def lesson_text(client, course):
    from courses.models import AuthoringWorkspace
    from courses.services import workspace_tree

    ws = AuthoringWorkspace.objects.get(course=course)
    return workspace_tree(workspace=ws).files[LESSON].decode()


@pytest.mark.parametrize("body,status,words", BAD)
@pytest.mark.parametrize("name", ["draft", "submit", "tutor"])
def test_learner_endpoints_refuse_malformed_bodies(student_client, endpoints, name, body, status, words):
    assert_refused(post(student_client, endpoints[name], body), status, words)


@pytest.mark.parametrize("body,status,words", BAD)
@pytest.mark.parametrize("name", ["file", "preview"])
def test_author_endpoints_refuse_malformed_bodies(instructor_client, endpoints, name, body, status, words):
    assert_refused(post(instructor_client, endpoints[name], body), status, words)


@pytest.mark.parametrize(
    "name,body,words",
    [
        ("draft", {"files": ["stats.py"]}, "'files' must be an object, not a list"),
        ("submit", {"files": "x = 1"}, "'files' must be an object, not text"),
        ("submit", {"files": {"stats.py": ""}, "kind": 3}, "'kind' must be text, not a number"),
        ("tutor", {"kind": ["lesson"]}, "'kind' must be text, not a list"),
        ("tutor", {"slug": 7}, "'slug' must be text, not a number"),
        ("tutor", {"new": "yes"}, "'new' must be true or false, not text"),
    ],
)
def test_learner_endpoints_name_the_wrong_typed_field(student_client, endpoints, name, body, words):
    assert_refused(post(student_client, endpoints[name], body), 400, words)


@pytest.mark.parametrize(
    "name,body,words",
    [
        ("file", {"path": LESSON, "content": 5}, "'content' must be text, not a number"),
        ("file", {"path": ["a"], "content": "x"}, "'path' must be text, not a list"),
        ("file", {"path": LESSON, "delete": "no"}, "'delete' must be true or false, not text"),
        ("file", {"path": LESSON}, "'content' is missing"),
        ("preview", {"content": {"a": 1}}, "'content' must be text, not an object"),
    ],
)
def test_author_endpoints_name_the_wrong_typed_field(instructor_client, endpoints, name, body, words):
    assert_refused(post(instructor_client, endpoints[name], body), 400, words)


def test_a_bad_draft_body_keeps_the_saved_draft(student_client, endpoints, student, course):
    from grader.selectors import draft_get

    good = {"files": {"stats.py": "def mean(xs):\n    return 42\n"}}
    assert post(student_client, endpoints["draft"], good).status_code == 200
    for body in ("", "{}", "{bad", "[]", json.dumps({"files": None})):
        post(student_client, endpoints["draft"], body)
    assert draft_get(user=student, course=course, exercise_slug="mean").files == good["files"]


def test_a_bad_file_body_keeps_the_authors_file(instructor_client, endpoints, course):
    saved = "---\ntitle: Welcome\n---\n\n# Welcome\n\nKept.\n"
    assert post(instructor_client, endpoints["file"], {"path": LESSON, "content": saved}).status_code == 200
    for body in ("{bad", "[]", {"path": LESSON}, {"path": LESSON, "content": None}, {"path": LESSON, "content": 0}):
        assert post(instructor_client, endpoints["file"], body).status_code == 400
    assert lesson_text(instructor_client, course) == saved


def test_a_body_over_the_cap_is_413(instructor_client, endpoints, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
    huge = json.dumps({"content": "x" * (100 * 1024), "path": LESSON})
    assert_refused(post(instructor_client, endpoints["preview"], huge), 413, "too large")
    assert_refused(post(instructor_client, endpoints["file"], huge), 413, "too large")


def test_a_draft_over_the_exercise_cap_is_refused(student_client, endpoints):
    huge = json.dumps({"files": {"stats.py": "x" * (3 << 20)}})
    response = post(student_client, endpoints["draft"], huge)
    assert response.status_code in (400, 413)
    assert "too large" in response.json()["error"]


def test_rating_refuses_malformed_bodies_and_keeps_the_rating(student_client, student, course):
    from tutor.models import Conversation, Message

    convo = Conversation.objects.create(user=student, course=course, kind="course")
    reply = Message.objects.create(conversation=convo, role="tutor", text="hi", html="<p>hi</p>")
    url = f"/tutor/messages/{reply.pk}/rate/"
    assert post(student_client, url, {"rating": 1}).status_code == 200
    assert_refused(post(student_client, url, "{bad"), 400, "not valid JSON")
    assert_refused(post(student_client, url, "[1]"), 400, "JSON object")
    assert_refused(post(student_client, url, {"rating": "1"}), 400, "'rating' must be a whole number, not text")
    assert_refused(post(student_client, url, {"rating": True}), 400, "'rating' must be a whole number")
    reply.refresh_from_db()
    assert reply.rating == 1


def test_well_formed_bodies_still_work(student_client, instructor_client, endpoints):
    assert post(student_client, endpoints["tutor"], {"kind": "course"}).status_code == 200
    preview = post(instructor_client, endpoints["preview"], {"content": "# Hi", "path": "x.md"})
    assert preview.status_code == 200 and "Hi" in preview.json()["html"]
