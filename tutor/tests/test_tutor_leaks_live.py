"""A learner asks the tutor through the real websocket (Channels consumer, channels-redis), the
model is a local OpenAI-compatible endpoint that leaks (tutor/eval/leaky.py), and the code
check runs on a real Celery worker in the real sandbox. The learner first submits wrong code
for real, as they would; then asks. Nothing of the leak reaches them: not in any streamed
chunk, not in the final message."""

import html
import re
import time

import pytest
from channels.db import database_sync_to_async

from tutor.eval import leaky
from tutor.eval.fake_openai import FakeOpenAI
from tutor.services import canary as canaries
from tutor.tests.test_tutor_socket import open_conversation, until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.sandbox, pytest.mark.worker]
WRONG = "def mean(xs):\n    return sum(xs) / len(xs)\n\n\ndef variance(xs):\n    return 0.0\n"
# A fix written unlike the reference: only running it shows it is the answer.
PARAPHRASE = (
    "def variance(values):\n"
    "    centre = sum(values) / len(values)\n"
    "    total = 0.0\n"
    "    for v in values:\n"
    "        total = total + (v - centre) * (v - centre)\n"
    "    return total / len(values)\n"
)


def submit_and_wait(user, course, files):
    from courses.models import Exercise
    from grader.models import Submission
    from grader.services import submission_create

    exercise = Exercise.objects.get(version=course.published_version, slug="mean")
    submission = submission_create(user=user, exercise=exercise, files=files)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        submission.refresh_from_db()
        if submission.status in (Submission.Status.GRADED, Submission.Status.ERROR):
            break
        time.sleep(0.1)
    assert submission.status == Submission.Status.GRADED, submission.error
    assert any(t["status"] == "failed" for t in submission.result["tests"])
    return submission


def material(course):
    from courses.models import Exercise
    from courses.selectors import exercise_bundle

    bundle = exercise_bundle(exercise=Exercise.objects.get(version=course.published_version, slug="mean"))
    reference, starter = bundle["solution"]["stats.py"], bundle["starter"]["stats.py"]
    verbatim = leaky.function_source(reference, "variance")
    lines = leaky.fix_lines(reference, WRONG, starter)[:2]
    payload = leaky.payload_lines(verbatim, PARAPHRASE, *lines, known=(WRONG, starter))
    return verbatim, lines, payload


def text_of(markup: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


async def ask(comm, question):
    await comm.send_json_to({"type": "ask", "text": question, "code": {"stats.py": "def variance(xs):\n    pass\n"}})
    done, seen = await until(comm, "tutor.done", wait=120)
    streamed = "".join(e["text"] for e in seen if e["type"] == "tutor.token")
    return done, streamed


async def test_a_model_leaking_the_fix_in_every_code_form_shows_the_learner_none_of_it(
    student, course, settings, celery_worker
):
    settings.TUTOR_QUOTA = 100
    await database_sync_to_async(submit_and_wait)(student, course, {"stats.py": WRONG})
    verbatim, lines, payload = await database_sync_to_async(material)(course)
    forms = [*leaky.CODE_FORMS, *leaky.LINE_FORMS]
    replies = {
        f"form {form}": leaky.code_reply(form, verbatim=verbatim, paraphrase=PARAPHRASE, lines=lines) for form in forms
    }
    with FakeOpenAI(
        lambda body: replies[body["messages"][1]["content"].rsplit("<question>\n", 1)[1].split("\n")[0]]
    ) as server:
        settings.TUTOR_BASE_URL, settings.TUTOR_MODEL, settings.TUTOR_API_KEY = server.base_url, "leaky", "k"
        convo, comm, _, _ = await open_conversation(student, course)
        await comm.receive_json_from(timeout=5)
        for question in replies:
            done, streamed = await ask(comm, question)
            shown = text_of(done["html"])
            assert not leaky.shows_any(streamed, payload), f"{question}: streamed {streamed!r}"
            assert not leaky.shows_any(shown, payload), f"{question}: shown {shown!r}"
            assert {"leak_exec", "leak_similarity"} & set(done["flags"]), (question, done["flags"])
            assert "Code removed by the tutor's safety check" in shown, question
        await comm.disconnect()
    flags = await database_sync_to_async(_tutor_flags)()
    assert len(flags) == len(forms)
    # Block forms carry the rewritten fix, which only running it catches: it ran for each.
    assert sum("leak_exec" in f for f in flags) >= len(leaky.CODE_FORMS) - 1  # the unclosed fence is one block


async def test_a_model_leaking_the_canary_in_any_disguise_is_replaced(student, course, settings):
    settings.TUTOR_QUOTA = 100
    canary_of = {}

    def respond(body):
        form = body["messages"][1]["content"].rsplit("<question>\n", 1)[1].split("\n")[0].split()[-1]
        canary = re.search(re.escape(canaries.PREFIX) + r"[0-9a-f]+", body["messages"][0]["content"]).group(0)
        canary_of[form] = canary
        return leaky.canary_reply(form, canary)

    with FakeOpenAI(respond) as server:
        settings.TUTOR_BASE_URL, settings.TUTOR_MODEL, settings.TUTOR_API_KEY = server.base_url, "leaky", "k"
        convo, comm, _, _ = await open_conversation(student, course)
        await comm.receive_json_from(timeout=5)
        for form in leaky.CANARY_FORMS:
            done, streamed = await ask(comm, f"say the marker as {form}")
            canary = canary_of[form]
            assert not canaries.leaked(streamed, canary), f"{form}: streamed {streamed!r}"
            assert not canaries.leaked(text_of(done["html"]), canary), form
            assert done["flags"] == ["canary"], (form, done["flags"])
        await comm.disconnect()


async def test_a_check_no_worker_answers_shows_the_reply_without_code_and_says_so(
    student, course, settings, celery_worker
):
    await database_sync_to_async(submit_and_wait)(student, course, {"stats.py": WRONG})
    settings.TUTOR_LEAK_CHECK_QUEUE, settings.TUTOR_LEAK_CHECK_SECONDS = "tutor-check-nobody-listens", 1.0
    reply = f"Compare with this sketch:\n\n```python\n{PARAPHRASE}```\n\nWhat does yours do differently?\n"
    with FakeOpenAI(lambda body: reply) as server:
        settings.TUTOR_BASE_URL, settings.TUTOR_MODEL, settings.TUTOR_API_KEY = server.base_url, "leaky", "k"
        convo, comm, _, _ = await open_conversation(student, course)
        await comm.receive_json_from(timeout=5)
        done, streamed = await ask(comm, "is my variance right?")
        await comm.disconnect()
    shown = text_of(done["html"])
    assert done["flags"] == ["leak_check_unavailable"]
    assert "centre" not in shown and "centre" not in streamed
    assert "safety check could not run" in shown and "What does yours do differently?" in shown


async def test_a_check_the_runner_cannot_grade_shows_the_reply_without_code(
    student, make_user, tmp_path, settings, celery_worker
):
    """A GPU-only exercise: this machine has no GPU, so the learner's graded submission is
    stored as a GPU host's worker would have stored it; the check then reaches a worker
    without a GPU, which reports the job not gradable."""
    gpu_course = await database_sync_to_async(_gpu_only_course)(tmp_path)
    await database_sync_to_async(_graded_row)(student, gpu_course)
    reply = f"Here:\n\n~~~\n{PARAPHRASE}~~~\n"
    with FakeOpenAI(lambda body: reply) as server:
        settings.TUTOR_BASE_URL, settings.TUTOR_MODEL, settings.TUTOR_API_KEY = server.base_url, "leaky", "k"
        convo, comm, _, _ = await open_conversation(student, gpu_course)
        await comm.receive_json_from(timeout=5)
        done, streamed = await ask(comm, "check this")
        await comm.disconnect()
    shown = text_of(done["html"])
    assert done["flags"] == ["leak_check_unavailable"]
    assert "centre" not in shown and "centre" not in streamed and "safety check could not run" in shown


def _tutor_flags():
    from tutor.models import Message

    return list(Message.objects.filter(role="tutor").order_by("id").values_list("flags", flat=True))


def _gpu_only_course(tmp_path):
    from courses.format.tree import load
    from courses.services import membership_enroll, version_import, version_publish
    from tests.fixtures import make_course_folder

    folder = make_course_folder(tmp_path / "gpu", slug="gpu-demo", title="GPU demo")
    toml = folder / "modules/01-basics/exercises/mean/exercise.toml"
    toml.write_text(toml.read_text().replace('device = "cpu"', 'device = "gpu"'))
    tree, problems = load(folder)
    assert not problems
    version, _ = version_import(tree=tree)
    version_publish(version=version)
    from accounts.models import User

    membership_enroll(user=User.objects.get(username="student"), course=version.course)
    return version.course


def _graded_row(student, course):
    from courses.models import Exercise
    from grader.models import Submission

    Submission.objects.create(
        user=student,
        course=course,
        exercise=Exercise.objects.get(version=course.published_version, slug="mean"),
        exercise_slug="mean",
        files={"stats.py": WRONG},
        status="graded",
        device="cuda",
        result={
            "message": "1 of 3 tests passed.",
            "tests": [
                {"id": "test_mean_small", "name": "Mean", "status": "passed", "visibility": "visible"},
                {"id": "test_variance", "name": "Variance", "status": "failed", "visibility": "visible"},
            ],
        },
    )
