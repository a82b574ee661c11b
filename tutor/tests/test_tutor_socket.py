"""The tutor over its websocket, with the real channel layer: streaming, stop, quota, people,
permissions, and the guardrails that run before a reply is shown."""

import json
import re

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from config.asgi import application
from tutor.eval.fake_openai import FakeOpenAI, Hang

pytestmark = pytest.mark.django_db(transaction=True)
VARIANCE_FIX = "def variance(xs):\n    mu = sum(xs) / len(xs)\n    return sum((x - mu) ** 2 for x in xs) / len(xs)\n"


def headers_for(user):
    client = Client()
    client.force_login(user)
    return [
        (b"origin", b"http://127.0.0.1"),
        (b"host", b"127.0.0.1"),
        (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()),
    ]


async def open_conversation(user, course, kind="exercise", slug="mean"):
    from tutor.services import conversation_start

    convo = await database_sync_to_async(conversation_start)(user=user, course=course, kind=kind, item_slug=slug)
    comm = WebsocketCommunicator(
        application, f"/ws/tutor/{convo.pk}/", headers=await database_sync_to_async(headers_for)(user)
    )
    connected, code = await comm.connect()
    return convo, comm, connected, code


async def until(comm, kind, wait=30):
    seen = []
    while True:
        event = await comm.receive_json_from(timeout=wait)
        seen.append(event)
        if event["type"] == kind:
            return event, seen


async def test_offline_tutor_streams_cites_and_says_it_is_offline(student, course):
    convo, comm, connected, _ = await open_conversation(student, course, kind="lesson", slug="welcome")
    assert connected
    history = await comm.receive_json_from(timeout=5)
    assert history["type"] == "history" and history["quota"]["left"] == 10
    await comm.send_json_to({"type": "ask", "text": "How do I compute the mean of a list?"})
    done, seen = await until(comm, "tutor.done")
    tokens = [e for e in seen if e["type"] == "tutor.token"]
    assert len(tokens) > 3  # streamed, not sent at once
    assert "Offline tutor" in done["html"]
    assert 'href="/courses/demo/lessons/welcome/' in done["html"]
    # The lesson is quoted as a reader sees it: no anchor syntax, no admonition syntax.
    quoted = done["html"].split("<blockquote>", 1)[1]
    assert "{#" not in quoted and "!!!" not in quoted and "```" not in quoted
    assert "Try it:" in quoted or "Every lesson is Markdown" in quoted
    assert "sidecar" not in "".join(t["text"] for t in tokens) and "sidecar" not in done["html"]
    assert any(e["type"] == "quota" and e["quota"]["left"] == 9 for e in seen)
    await comm.disconnect()


async def test_model_reply_streams_through_an_openai_compatible_endpoint(student, course, settings):
    reply = 'Look at how `variance` divides. What is the population variance of [1, 2, 3, 4]? See [[welcome#code]].\n<sidecar>{"failing_test": "test_variance", "function": "variance", "lines": [6], "citations": ["welcome#code"], "strategy": "question"}</sidecar>'
    with FakeOpenAI(lambda body: reply) as server:
        settings.TUTOR_BASE_URL, settings.TUTOR_MODEL, settings.TUTOR_API_KEY = server.base_url, "fake-model", "k"
        convo, comm, _, _ = await open_conversation(student, course)
        await comm.receive_json_from(timeout=5)
        await comm.send_json_to(
            {
                "type": "ask",
                "text": "why does test_variance fail?",
                "code": {"stats.py": "def variance(xs):\n    return 1\n"},
            }
        )
        done, seen = await until(comm, "tutor.done")
        sent = server.requests[0]
    assert "population variance" in done["html"] and done["citations"] == ["welcome#code"]
    assert sent["messages"][0]["role"] == "system" and "return 1" in sent["messages"][1]["content"]
    from tutor.models import Message

    stored = await database_sync_to_async(lambda: Message.objects.filter(role="tutor").latest("id"))()
    assert stored.sidecar["function"] == "variance" and stored.tokens_out > 0 and stored.cost_usd > 0
    assert stored.provider == "openai-compatible" and stored.model == "fake-model"
    await comm.disconnect()


async def test_a_hanging_provider_gives_a_clear_message_and_refunds_the_question(student, course, settings):
    with FakeOpenAI(lambda body: Hang(10)) as server:
        settings.TUTOR_BASE_URL, settings.TUTOR_MODEL, settings.TUTOR_API_KEY = server.base_url, "fake-model", "k"
        settings.TUTOR_TIMEOUT_SECONDS, settings.TUTOR_MAX_RETRIES = 1.0, 0
        convo, comm, _, _ = await open_conversation(student, course)
        await comm.receive_json_from(timeout=5)
        await comm.send_json_to({"type": "ask", "text": "hello?"})
        done, seen = await until(comm, "tutor.done")
        # The refund notice is sent straight to the socket, the reply through the channel layer:
        # either may arrive first.
        refunds = [e for e in seen if e["type"] == "quota" and e["quota"]["left"] == 10]
        quota = refunds[-1] if refunds else (await until(comm, "quota"))[0]
    assert done["status"] == "error" and "not available right now" in done["html"]
    assert quota["quota"]["left"] == 10  # refunded
    from tutor.models import Message

    assert await database_sync_to_async(lambda: Message.objects.filter(role="learner", text="hello?").exists())()
    await comm.disconnect()


async def test_stop_keeps_what_was_said(student, course, settings):
    long_reply = "word " * 400
    with FakeOpenAI(lambda body: long_reply) as server:
        settings.TUTOR_BASE_URL, settings.TUTOR_MODEL, settings.TUTOR_API_KEY = server.base_url, "fake-model", "k"
        convo, comm, _, _ = await open_conversation(student, course)
        await comm.receive_json_from(timeout=5)
        await comm.send_json_to({"type": "ask", "text": "explain everything"})
        await until(comm, "tutor.token")
        await comm.send_json_to({"type": "stop"})
        done, _ = await until(comm, "tutor.done")
    assert done["status"] == "stopped" and "(stopped)" in done["html"]
    await comm.disconnect()


async def test_quota_exhausted_is_explained_and_keeps_the_question(student, course, settings):
    settings.TUTOR_QUOTA = 1
    from django.utils import timezone

    from tutor.models import Allowance

    await database_sync_to_async(Allowance.objects.create)(
        user=student, course=course, points=0.0, updated_at=timezone.now()
    )
    convo, comm, _, _ = await open_conversation(student, course)
    await comm.receive_json_from(timeout=5)
    await comm.send_json_to({"type": "ask", "text": "one more question"})
    error = await comm.receive_json_from(timeout=5)
    assert error["type"] == "error" and error["code"] == "quota" and error["keep_input"]
    assert "comes back in" in error["error"]
    await comm.disconnect()


@pytest.mark.parametrize(
    "frame,words",
    [
        ({"type": "ask", "text": ""}, "empty"),
        ({"type": "ask", "text": "x" * 100_000}, "the limit is 4,000"),
        ({"type": "ask", "text": 5}, "must be text"),
        ({"type": "dance"}, "unknown message type"),
        ({"type": "ta_message", "text": "hi"}, "only the course's TAs"),
    ],
)
async def test_bad_messages_get_a_clear_error(student, course, frame, words):
    convo, comm, _, _ = await open_conversation(student, course)
    await comm.receive_json_from(timeout=5)
    await comm.send_json_to(frame)
    error = await comm.receive_json_from(timeout=5)
    assert error["type"] == "error" and words in error["error"]
    await comm.disconnect()


async def test_another_learner_cannot_open_the_conversation(student, course, make_user):
    from courses.services import membership_enroll
    from tutor.services import conversation_start

    convo = await database_sync_to_async(conversation_start)(user=student, course=course, kind="course")
    other = await database_sync_to_async(make_user)("nosy")
    await database_sync_to_async(membership_enroll)(user=other, course=course)
    comm = WebsocketCommunicator(
        application, f"/ws/tutor/{convo.pk}/", headers=await database_sync_to_async(headers_for)(other)
    )
    connected, code = await comm.connect()
    await comm.disconnect()  # let the application finish before the test's event loop closes
    assert not connected and code == 4403


async def test_a_ta_joins_live_and_their_messages_are_marked_as_from_a_person(student, course, make_user):
    from courses.services import membership_set_role

    ta = await database_sync_to_async(make_user)("helper")
    await database_sync_to_async(membership_set_role)(user=ta, course=course, role="ta")
    convo, learner, _, _ = await open_conversation(student, course, kind="course", slug="")
    await learner.receive_json_from(timeout=5)
    watcher = WebsocketCommunicator(
        application, f"/ws/tutor/{convo.pk}/", headers=await database_sync_to_async(headers_for)(ta)
    )
    assert (await watcher.connect())[0]
    snapshot = await watcher.receive_json_from(timeout=5)
    assert snapshot["staff"] is True
    # The TA sees the learner's question arrive live...
    await learner.send_json_to({"type": "ask", "text": "I am stuck on variance"})
    seen, _ = await until(watcher, "message")
    assert seen["message"]["role"] == "learner"
    await until(learner, "tutor.done")
    # ...and the learner sees the TA's answer live, marked as a person.
    await watcher.send_json_to({"type": "ta_message", "text": "Hi! Let's look at it together."})
    msg, _ = await until(learner, "message")
    assert msg["message"]["role"] == "ta" and msg["message"]["author"] == "helper"
    await learner.disconnect()
    await watcher.disconnect()


@pytest.mark.sandbox
@pytest.mark.worker
async def test_code_that_would_solve_the_failing_test_is_redacted(student, course, settings, celery_worker):
    """The reply's code, spliced into the learner's file, makes their failing test pass in the
    sandbox: the learner sees the explanation, not the code."""
    from grader.models import Submission

    learner_code = "def mean(xs):\n    return sum(xs) / len(xs)\n\n\ndef variance(xs):\n    return 0.0\n"
    await database_sync_to_async(_graded_failure)(student, course, learner_code)
    reply = (
        "Compare your variance with the definition. Here is a version that works:\n\n```python\n"
        + VARIANCE_FIX.replace("sum((x - mu) ** 2 for x in xs)", "sum([(v - mu) * (v - mu) for v in xs])")
        + "```\n"
        '<sidecar>{"failing_test": "test_variance", "function": "variance", "lines": [5], "citations": [], "strategy": "explain"}</sidecar>'
    )
    with FakeOpenAI(lambda body: reply) as server:
        settings.TUTOR_BASE_URL, settings.TUTOR_MODEL, settings.TUTOR_API_KEY = server.base_url, "fake-model", "k"
        convo, comm, _, _ = await open_conversation(student, course)
        await comm.receive_json_from(timeout=5)
        await comm.send_json_to({"type": "ask", "text": "fix it for me", "code": {"stats.py": learner_code}})
        done, seen = await until(comm, "tutor.done", wait=120)
    streamed = "".join(e["text"] for e in seen if e["type"] == "tutor.token")
    assert "def variance" not in streamed  # code was held back while streaming
    assert "def variance" not in done["html"] and "Code removed" in done["html"]
    assert "leak_exec" in done["flags"]
    assert await database_sync_to_async(Submission.objects.count)() == 1  # the check is not a submission
    await comm.disconnect()


def _graded_failure(student, course, code):
    from courses.models import Exercise
    from grader.models import Submission

    exercise = Exercise.objects.get(slug="mean")
    Submission.objects.create(
        user=student,
        course=course,
        exercise=exercise,
        exercise_slug="mean",
        files={"stats.py": code},
        status="graded",
        result={
            "message": "2 of 3",
            "tests": [
                {
                    "id": "test_variance",
                    "name": "Variance",
                    "status": "failed",
                    "visibility": "visible",
                    "message": "variance([1, 2, 3, 4]): expected 1.25, got 0",
                    "expected": "1.25",
                    "actual": "0",
                }
            ],
        },
    )


async def test_http_rating_and_asking_for_a_human(student, course, client):
    from tutor.models import Conversation, Message

    convo = await database_sync_to_async(Conversation.objects.create)(user=student, course=course, kind="course")
    reply = await database_sync_to_async(Message.objects.create)(
        conversation=convo, role="tutor", text="hi", html="<p>hi</p>"
    )
    await database_sync_to_async(client.force_login)(student)
    response = await database_sync_to_async(client.post)(
        f"/tutor/messages/{reply.pk}/rate/", json.dumps({"rating": -1}), content_type="application/json"
    )
    assert response.status_code == 200
    response = await database_sync_to_async(client.post)(f"/tutor/conversations/{convo.pk}/human/")
    assert response.status_code == 200
    await database_sync_to_async(convo.refresh_from_db)()
    assert convo.human_requested_at is not None


async def test_a_course_endpoint_whose_key_is_missing_gets_the_labelled_offline_tutor(
    student, course, settings, monkeypatch
):
    """The course points at its own endpoint but the operator has not set its key: the learner
    gets the offline tutor, labelled; staff see why; the platform's key goes nowhere."""
    with FakeOpenAI(lambda body: "a model reply") as course_endpoint, FakeOpenAI(lambda body: "platform") as platform:
        settings.TUTOR_BASE_URL, settings.TUTOR_MODEL, settings.TUTOR_API_KEY = platform.base_url, "m", "PLATFORM-KEY"
        monkeypatch.delenv("COURSE_DEMO_TUTOR_KEY", raising=False)
        await database_sync_to_async(_own_endpoint)(course, course_endpoint.base_url)
        convo, comm, _, _ = await open_conversation(student, course, kind="lesson", slug="welcome")
        await comm.receive_json_from(timeout=5)
        await comm.send_json_to({"type": "ask", "text": "How do I compute the mean of a list?"})
        done, _ = await until(comm, "tutor.done")
        await comm.disconnect()
        assert course_endpoint.requests == [] and platform.requests == []
    assert "Offline tutor" in done["html"] and "not set up" in done["html"]
    assert "tutor_not_configured" in done["flags"]
    from tutor.models import Message

    reply = await database_sync_to_async(lambda: Message.objects.filter(role="tutor").latest("id"))()
    assert "COURSE_DEMO_TUTOR_KEY" in reply.context["provider_problem"]


def _own_endpoint(course, url):
    version = course.published_version
    version.meta = {**version.meta, "tutor": {"base_url": url, "model": "m", "api_key_env": "COURSE_DEMO_TUTOR_KEY"}}
    version.save(update_fields=["meta"])


async def test_code_for_an_exercise_nobody_has_graded_yet_is_held_back_with_a_reason(student, course, settings):
    """No graded Run or Submit: a block that would replace one of the exercise's functions
    cannot be checked against any failure, so it is held; an unrelated snippet is shown."""
    reply = (
        "Something like:\n\n~~~\ndef variance(xs):\n    return max(xs) - min(xs)\n~~~\n\n"
        "And a general idea:\n\n    print(sorted([3, 1, 2]))\n"
    )
    with FakeOpenAI(lambda body: reply) as server:
        settings.TUTOR_BASE_URL, settings.TUTOR_MODEL, settings.TUTOR_API_KEY = server.base_url, "fake-model", "k"
        convo, comm, _, _ = await open_conversation(student, course)
        await comm.receive_json_from(timeout=5)
        await comm.send_json_to({"type": "ask", "text": "how do I start?"})
        done, seen = await until(comm, "tutor.done")
        await comm.disconnect()
    streamed = "".join(e["text"] for e in seen if e["type"] == "tutor.token")
    assert "max(xs)" not in streamed and "max(xs)" not in done["html"]
    assert "there is none yet" in done["html"] and done["flags"] == ["leak_unchecked"]
    assert "sorted([3, 1, 2])" in done["html"]


async def test_in_a_lesson_conversation_exercise_code_is_held_and_lesson_code_is_shown(student, course, settings):
    reply = (
        "The lesson's own example:\n\n```python\ndef mean(xs):\n    return sum(xs) / len(xs)\n```\n\n"
        "And for the exercise:\n\n```python\ndef variance(xs):\n    return max(xs) - min(xs)\n```\n"
    )
    with FakeOpenAI(lambda body: reply) as server:
        settings.TUTOR_BASE_URL, settings.TUTOR_MODEL, settings.TUTOR_API_KEY = server.base_url, "fake-model", "k"
        convo, comm, _, _ = await open_conversation(student, course, kind="lesson", slug="welcome")
        await comm.receive_json_from(timeout=5)
        await comm.send_json_to({"type": "ask", "text": "show me"})
        done, _ = await until(comm, "tutor.done")
        await comm.disconnect()
    shown = re.sub(r"<[^>]+>", "", done["html"])
    assert "max(xs)" not in shown and "from that exercise's page" in shown
    assert "return sum(xs) / len(xs)" in shown and done["flags"] == ["leak_unchecked"]
