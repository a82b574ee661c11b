"""One tutor reply, streamed: prose goes out token by token as it is generated; code blocks, the
sidecar and anything that might be the canary are held back until the guardrails have run on
the whole reply. Then the final, checked, sanitised HTML replaces the streamed text.
"""

import asyncio
import time
from decimal import Decimal

from channels.db import database_sync_to_async
from django.conf import settings

from courses import selectors as course_selectors
from tutor.models import Message
from tutor.services import guardrails, leak_check
from tutor.services.context import build_prompt
from tutor.services.conversations import render_plain
from tutor.services.providers import ProviderError, provider_for
from tutor.services.retrieval import anchors_for, labels_for

CANARY_GUARD = 24  # trailing characters held back so a canary can never stream out whole
REFUSAL = (
    "I can't help with that request. I'm here for this course: ask me about the lesson, your code or a failing "
    "test, and I'll help you work it out."
)


class StreamFilter:
    """Decides which part of the growing reply is safe to show now: everything before the first
    code fence, sidecar or canary-like marker, minus a short tail that could be the start of one.
    Once something is held, the rest waits for the guardrails."""

    MARKERS = ("```", "<sidecar", "FS-CANARY", "fs-canary")

    def __init__(self):
        self.text = ""
        self.sent = 0
        self.held = False

    def feed(self, piece: str) -> str:
        self.text += piece
        if self.held:
            return ""
        limit = len(self.text) - CANARY_GUARD
        for marker in self.MARKERS:
            at = self.text.find(marker, self.sent)
            if at != -1:
                limit, self.held = min(limit, at), True
        out = self.text[self.sent : max(limit, self.sent)]
        self.sent = max(limit, self.sent)
        return out


async def run_guardrails(*, text: str, prompt, conversation, user) -> tuple[str, dict, list[str], list[str]]:
    """(final text, sidecar, flags, valid citations)."""
    visible, sidecar = guardrails.split_sidecar(text)
    flags = []
    if guardrails.canary_leaked(visible, prompt.canary) or guardrails.canary_leaked(text, prompt.canary):
        return REFUSAL, sidecar, ["canary"], []
    version = conversation.course.published_version
    valid_refs = await database_sync_to_async(anchors_for)(version) if version else set()
    visible, good, bad = guardrails.check_citations(visible, valid_refs)
    if bad:
        flags.append("citation_invalid")
    exercise = prompt.exercise
    if exercise is not None:
        bundle = await database_sync_to_async(course_selectors.exercise_bundle)(exercise=exercise)
        reference = {f: bundle["solution"].get(f, "") for f in exercise.spec["files"]}
        starter = {f: bundle["starter"].get(f, "") for f in exercise.spec["files"]}
        failing = [t["id"] for t in prompt.failing if t.get("status") in ("failed", "error")]
        for start, end, lang, code in reversed(guardrails.code_blocks(visible)):
            if lang not in ("", "python", "py", "python3"):
                continue
            leak = None
            if guardrails.similarity_leak(code, reference, starter):
                leak = "leak_similarity"
            elif failing and prompt.code:
                files = leak_check.spliced_files(prompt.code, code)
                if files is not None:
                    try:
                        passed = await leak_check.tests_passed_with(
                            exercise=exercise, user=user, files=files, failing_ids=failing
                        )
                    except (TimeoutError, RuntimeError):
                        passed = []
                        flags.append("leak_check_unavailable")
                    if passed:
                        leak = "leak_exec"
            if leak:
                flags.append(leak)
                visible = visible[:start] + guardrails.REDACTED + visible[end:]
    return visible, sidecar, sorted(set(flags)), good


@database_sync_to_async
def _prepare(conversation, question_message, code, focus_test):
    prompt = build_prompt(
        conversation=conversation,
        question=question_message.text,
        code=code,
        focus_test=focus_test,
        exclude_id=question_message.pk,
    )
    question_message.context = {**question_message.context, **prompt.context_record()}
    question_message.save(update_fields=["context"])
    provider = provider_for(conversation.course)
    reply = Message.objects.create(
        conversation=conversation,
        role=Message.Role.TUTOR,
        text="",
        status=Message.Status.STREAMING,
        provider=provider.name,
        model=provider.model,
        context=prompt.context_record(),
    )
    return prompt, provider, reply


def _cost(usage: dict) -> Decimal:
    return (
        Decimal(str(settings.TUTOR_PRICE_INPUT_PER_1K)) * usage.get("tokens_in", 0)
        + Decimal(str(settings.TUTOR_PRICE_OUTPUT_PER_1K)) * usage.get("tokens_out", 0)
    ) / 1000


async def stream_reply(*, conversation, question_message, code=None, focus_test="", stop: asyncio.Event, emit):
    """Generate, stream, check and store the reply. `emit(dict)` sends an event to the group."""
    started = time.monotonic()
    prompt, provider, reply = await _prepare(conversation, question_message, code, focus_test)
    await emit({"type": "tutor.start", "message_id": reply.pk, "provider": provider.name})
    filt = StreamFilter()
    usage, status, error = {}, Message.Status.COMPLETE, ""
    try:
        async for kind, value in provider.stream(prompt):
            if stop.is_set():
                status = Message.Status.STOPPED
                break
            if kind == "token":
                safe = filt.feed(value)
                if safe:
                    await emit({"type": "tutor.token", "message_id": reply.pk, "text": safe})
            elif kind == "usage":
                usage = value or {}
    except ProviderError as exc:
        status, error = Message.Status.ERROR, str(exc)
    if status == Message.Status.ERROR:
        text = (
            f"The tutor is not available right now: {error}. Your question is saved and did not use up your "
            "allowance. Try again in a minute, or press “Ask a human”."
        )
        flags, sidecar, good = ["provider_error"], {}, []
    else:
        if filt.sent < len(filt.text):
            await emit({"type": "tutor.checking", "message_id": reply.pk})
        text, sidecar, flags, good = await run_guardrails(
            text=filt.text, prompt=prompt, conversation=conversation, user=conversation.user
        )
        if status == Message.Status.STOPPED:
            text = (text + "\n\n*(stopped)*").strip()
    usage.setdefault("tokens_in", 0 if provider.name == "offline" else prompt.tokens)
    usage.setdefault("tokens_out", 0 if provider.name == "offline" else len(filt.text) // 4)

    @database_sync_to_async
    def save():
        reply.text = text
        version = conversation.course.published_version
        reply.html = render_plain(text, conversation.course.slug, labels_for(version) if version else None)
        reply.status, reply.flags, reply.sidecar = status, flags, sidecar
        reply.tokens_in, reply.tokens_out = usage["tokens_in"], usage["tokens_out"]
        reply.cost_usd = _cost(usage)
        reply.latency_ms = int((time.monotonic() - started) * 1000)
        reply.save()
        conversation.save(update_fields=["updated_at"])
        return reply

    reply = await save()
    reply.raw_text = filt.text  # what the model said before the guardrails (the eval compares)
    await emit(
        {
            "type": "tutor.done",
            "message_id": reply.pk,
            "html": reply.html,
            "status": reply.status,
            "flags": reply.flags,
            "citations": good,
        }
    )
    return reply
