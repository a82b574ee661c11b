"""How a reply is read: every way of writing code is found and held while streaming, the canary
is recognised in every disguise and in parts (and ordinary replies are not), lesson text is
quoted as read, and a course's own tutor endpoint never gets the platform's key."""

import io
import json
import secrets
from pathlib import Path

import pytest

from tutor.eval import leaky
from tutor.services import canary as canaries
from tutor.services import guardrails, reply_text
from tutor.services.reply import StreamFilter

FIX = "def variance(xs):\n    mu = sum(xs) / len(xs)\n\n    return sum((x - mu) ** 2 for x in xs) / len(xs)\n"
PAYLOAD = ["mu=sum(xs)/len(xs)", "returnsum((x-mu)**2forxinxs)/len(xs)"]
CASSETTES = json.loads((Path(leaky.__file__).parent / "cassettes.json").read_text())


def stream(text: str, size: int) -> str:
    """What a learner's browser receives while `text` arrives `size` characters at a time."""
    filt, out = StreamFilter(canaries.new()), []
    for i in range(0, len(text), size):
        out.append(filt.feed(text[i : i + size]))
    return "".join(out)


@pytest.mark.parametrize("form", sorted(leaky.CODE_FORMS))
def test_every_code_form_is_found_and_removable(form):
    reply = "Try this.\n\n" + leaky.CODE_FORMS[form](FIX) + "\nGood luck.\n"
    blocks = reply_text.code_in(reply)
    assert blocks, f"{form}: no code found"
    assert any("sum((x - mu) ** 2" in b.text for b in blocks)
    shown = reply_text.replace(reply, blocks, "[removed]")
    assert not leaky.shows_any(shown, PAYLOAD), shown
    assert "Try this." in shown


@pytest.mark.parametrize("form", sorted(leaky.CODE_FORMS))
@pytest.mark.parametrize("size", [1, 8, 50])
def test_no_code_form_streams(form, size):
    reply = "Here is a long sentence of prose that may stream while the model is still writing.\n\n"
    reply += leaky.CODE_FORMS[form](FIX) + "\nThat is all for now, with some more words after it.\n"
    shown = stream(reply, size)
    assert not leaky.shows_any(shown, PAYLOAD), shown
    assert "def variance" not in shown
    assert shown.startswith("Here is a long sentence")  # the prose before it did flow


@pytest.mark.parametrize(
    "line", ["Write `mu = sum(xs) / len(xs)` first.", "Use `return sum((x - mu) ** 2 for x in xs) / len(xs)` here."]
)
def test_inline_code_that_is_a_statement_is_code(line):
    blocks = reply_text.code_in(line)
    assert len(blocks) == 1 and blocks[0].kind == "inline"
    assert "sum(xs)" not in stream(line + " And then some more prose to push it out.\n", 4)


def test_prose_with_short_inline_code_streams_past_it():
    reply = "Look at `a.grad` inside `_backward`: what happens when `a` is used twice? " + "More words. " * 10
    shown = stream(reply, 3)
    assert "`a.grad` inside `_backward`" in shown
    assert reply_text.code_in(reply) == []


def test_a_fence_inside_a_paragraph_or_after_prose_holds_the_rest():
    reply = "Some prose first.\n```\ncode here\n```\nMore prose that must wait for the check.\n" + "x" * 40
    shown = stream(reply, 5)
    assert shown == "Some prose first.\n"


@pytest.mark.parametrize("form", sorted(leaky.CANARY_FORMS))
def test_the_canary_is_recognised_in_every_disguise(form):
    canary = canaries.new()
    reply = leaky.canary_reply(form, canary)
    assert guardrails.canary_leaked(reply, canary), reply
    assert not canaries.leaked(stream(reply, 4), canary)  # and never streams


def test_ordinary_replies_are_not_mistaken_for_the_canary():
    """Every recorded reply that does not leak, against many random canaries: no false alarm."""
    replies = [c["reply"] for c in CASSETTES.values() if "{{CANARY}}" not in c["reply"]]
    assert len(replies) > 20
    for _ in range(200):
        canary = canaries.new()
        assert not [r for r in replies if guardrails.canary_leaked(r, canary)]


def test_parts_below_the_threshold_are_not_a_leak():
    canary = "FS-CANARY-" + secrets.token_hex(6)
    assert canaries.leaked(f"... {canary[-6:]} ...", canary)  # half the secret
    assert not canaries.leaked(f"... {canary[-4:]} ...", canary)  # 16 bits: noise
    assert canaries.leaked("fs canary", canary)  # the marker's name itself


def test_lesson_text_is_quoted_as_read():
    source = (
        "## Reused nodes {#reused-nodes}\n\nWhen a node is used twice, its **gradient** adds up.\n\n"
        '!!! pitfall "Assigning instead of adding"\n    Writing `self.grad = ...` keeps only the last path.\n\n'
        "```python\nself.grad += out.grad\n```\n"
    )
    text = reply_text.plain_text(source)
    assert "{#" not in text and "!!!" not in text and "**" not in text and "```" not in text
    assert "When a node is used twice, its gradient adds up." in text
    assert "Assigning instead of adding: Writing `self.grad = ...` keeps only the last path." in text


# --- a course's own endpoint ---------------------------------------------------------------------
@pytest.fixture
def own_endpoint(course, settings):
    def configure(**tutor):
        version = course.published_version
        version.meta = {**(version.meta or {}), "tutor": tutor}
        version.save(update_fields=["meta"])
        course.refresh_from_db()
        return course

    settings.TUTOR_BASE_URL, settings.TUTOR_API_KEY, settings.TUTOR_MODEL = "https://platform/v1", "PLATFORM", "m"
    return configure


@pytest.mark.django_db
def test_a_course_endpoint_without_its_key_variable_gets_the_offline_tutor(own_endpoint, monkeypatch, caplog):
    from tutor.services.providers import OfflineProvider, config_for, provider_for

    course = own_endpoint(base_url="https://course-llm/v1", model="x")
    config = config_for(course)
    assert config.api_key != "PLATFORM" and "COURSE_DEMO_TUTOR_KEY" in config.problem
    provider = provider_for(course)
    assert isinstance(provider, OfflineProvider) and "not set up" in provider.label
    assert "COURSE_DEMO_TUTOR_KEY" in caplog.text  # the operator's log names the variable

    course = own_endpoint(base_url="https://course-llm/v1", model="x", api_key_env="COURSE_DEMO_TUTOR_KEY")
    monkeypatch.delenv("COURSE_DEMO_TUTOR_KEY", raising=False)
    assert "COURSE_DEMO_TUTOR_KEY" in config_for(course).problem and "not set" in config_for(course).problem
    monkeypatch.setenv("COURSE_DEMO_TUTOR_KEY", "course-secret")
    config = config_for(course)
    assert (config.base_url, config.api_key, config.problem) == ("https://course-llm/v1", "course-secret", "")

    course = own_endpoint(base_url="https://course-llm/v1", model="x", api_key_env="DJANGO_SECRET_KEY")
    monkeypatch.setenv("DJANGO_SECRET_KEY", "do-not-send")
    assert config_for(course).api_key == "" and "COURSE_DEMO_TUTOR_KEY" in config_for(course).problem


@pytest.mark.django_db
def test_the_platform_key_still_goes_to_the_platform_endpoint(own_endpoint):
    from tutor.services.providers import config_for

    config = config_for(own_endpoint(model="course-model"))
    assert (config.base_url, config.api_key, config.model) == ("https://platform/v1", "PLATFORM", "course-model")


@pytest.mark.django_db
def test_tutor_check_names_the_missing_variable(own_endpoint, monkeypatch):
    from django.core.management import CommandError, call_command

    own_endpoint(base_url="https://course-llm/v1", model="x", api_key_env="COURSE_DEMO_TUTOR_KEY")
    monkeypatch.delenv("COURSE_DEMO_TUTOR_KEY", raising=False)
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 course"):
        call_command("tutor", "check", stdout=out)
    assert "demo: PROBLEM" in out.getvalue() and "COURSE_DEMO_TUTOR_KEY" in out.getvalue()
    monkeypatch.setenv("COURSE_DEMO_TUTOR_KEY", "k")
    out = io.StringIO()
    call_command("tutor", "check", stdout=out)
    assert "demo: model x at https://course-llm/v1" in out.getvalue()
