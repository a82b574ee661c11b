"""One tutor reply, streamed: prose goes out token by token as it is generated; anything that
could be code, the sidecar and anything that might be the canary are held back until the
guardrails have run on the whole reply. Then the final, checked, sanitised HTML replaces the
streamed text.
"""

import asyncio
import time
from decimal import Decimal

from channels.db import database_sync_to_async
from django.conf import settings

from tutor.models import Message
from tutor.services import canary as canaries
from tutor.services import code_review, guardrails, reply_text
from tutor.services.context import build_prompt
from tutor.services.conversations import render_plain
from tutor.services.providers import ProviderError, provider_for
from tutor.services.retrieval import anchors_for, labels_for

CANARY_GUARD = 24  # trailing characters held back: the end of the text may still change meaning
REFUSAL = (
    "I can't help with that request. I'm here for this course: ask me about the lesson, your code or a failing "
    "test, and I'll help you work it out."
)


class StreamFilter:
    """Decides which part of the growing reply may be shown now: the longest start that holds
    no code however the reply goes on (reply_text.safe_length), never the sidecar, and nothing
    from the point where text begins to look like the canary (canary.StreamWatch), minus a
    short tail. The guardrails then run on the whole reply and the final HTML replaces it."""

    def __init__(self, canary: str = ""):
        self.text = ""
        self.sent = 0
        self.stopped = False  # the sidecar or something canary-like began: nothing more streams
        self.watch = canaries.StreamWatch(canary)

    def feed(self, piece: str) -> str:
        self.text += piece
        if self.stopped:
            return ""
        limit = min(len(self.text) - CANARY_GUARD, reply_text.safe_length(self.text))
        at = self.text.lower().find("<sidecar", self.sent)
        if at != -1 and at < limit:
            limit, self.stopped = at, True
        if limit <= self.sent:
            return ""
        out = self.text[self.sent : limit]
        if not self.watch.clear(out):
            self.stopped = True
            return ""
        self.sent = limit
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
    visible, code_flags = await code_review.review(text=visible, prompt=prompt, user=user, version=version)
    return visible.strip(), sidecar, sorted(set(flags + code_flags)), good


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
        context={**prompt.context_record(), **({"provider_problem": provider.problem} if provider.problem else {})},
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
    filt = StreamFilter(prompt.canary)
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
    if getattr(provider, "problem", ""):
        flags = sorted({*flags, "tutor_not_configured"})  # staff see it in the transcript, with the reason
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
