"""Where replies come from.

- OpenAIProvider: any OpenAI-compatible endpoint through `openai.AsyncOpenAI` (base URL, key and
  model from settings, overridable per course), streaming, with a first-token timeout and retries
  with backoff for connection failures before anything was streamed.
- OfflineProvider: no model at all (the embedded default). It answers from retrieval (quoting and
  linking the best lesson section), the failing test's message and the next rung of the hint
  ladder, and says it is the offline tutor.
Both yield ("token", text) pieces, then ("usage", {...}).
"""

import asyncio
import json
import logging
import os
import random
from dataclasses import dataclass

from django.conf import settings

from courses.format.schema import tutor_key_env
from tutor.services.reply_text import plain_text
from tutor.services.retrieval import words

log = logging.getLogger(__name__)


class ProviderError(Exception):
    """The provider is down, hangs or answers garbage; the learner gets a clear message."""


@dataclass
class ProviderConfig:
    base_url: str
    api_key: str
    model: str
    timeout: float
    retries: int
    # Why this course's own endpoint cannot be used (for the operator's log and the staff view):
    # the learner then gets the offline tutor, labelled, and never the platform's key.
    problem: str = ""

    @property
    def name(self) -> str:
        return "openai-compatible" if self.base_url or self.api_key else "offline"


def config_for(course) -> ProviderConfig:
    """The platform's endpoint and key, or the course's own `[tutor] base_url` with the key from
    the course's own variable (`api_key_env`, which must be tutor_key_env(slug)). The
    platform's TUTOR_API_KEY only ever goes to the platform's TUTOR_BASE_URL."""
    tutor = ((course.published_version.meta if course.published_version else {}) or {}).get("tutor") or {}
    model = tutor.get("model") or settings.TUTOR_MODEL
    common = {"timeout": settings.TUTOR_TIMEOUT_SECONDS, "retries": settings.TUTOR_MAX_RETRIES}
    if not tutor.get("base_url"):
        return ProviderConfig(base_url=settings.TUTOR_BASE_URL, api_key=settings.TUTOR_API_KEY, model=model, **common)
    name, expected = tutor.get("api_key_env") or "", tutor_key_env(course.slug)
    problem = ""
    if name != expected:
        problem = (
            f"course {course.slug!r} sets [tutor] base_url but "
            + ("no api_key_env" if not name else f"api_key_env = {name!r}")
            + f"; its endpoint's key must be in the environment variable {expected} (api_key_env = {expected!r})"
        )
    elif not os.environ.get(name):
        problem = (
            f"course {course.slug!r} uses its own tutor endpoint {tutor['base_url']}, but the environment "
            f"variable {name} (its key) is not set on this server"
        )
    if problem:
        return ProviderConfig(base_url="", api_key="", model="", problem=problem, **common)
    return ProviderConfig(base_url=tutor["base_url"], api_key=os.environ[name], model=model, **common)


def provider_for(course):
    config = config_for(course)
    if config.problem:
        log.warning("tutor: %s; learners get the offline tutor", config.problem)
        return OfflineProvider(problem=config.problem)
    if config.model and (config.base_url or config.api_key):
        return OpenAIProvider(config)
    return OfflineProvider()


class OpenAIProvider:
    name = "openai-compatible"
    problem = ""

    def __init__(self, config: ProviderConfig):
        self.config = config
        self.model = config.model

    def client(self):
        from openai import AsyncOpenAI

        # Retries are ours (only before the first token); the client's would replay half-streamed replies.
        return AsyncOpenAI(
            base_url=self.config.base_url or None,
            api_key=self.config.api_key or "not-needed",
            timeout=self.config.timeout,
            max_retries=0,
        )

    async def stream(self, prompt):
        import openai

        client = self.client()
        attempt, started = 0, False
        try:
            while True:
                try:
                    response = await client.chat.completions.create(
                        model=self.model,
                        messages=prompt.messages,
                        stream=True,
                        temperature=0.2,
                        max_tokens=700,
                        stream_options={"include_usage": True},
                    )
                    usage = None
                    iterator = response.__aiter__()
                    while True:
                        try:
                            chunk = await asyncio.wait_for(iterator.__anext__(), timeout=self.config.timeout)
                        except StopAsyncIteration:
                            break
                        if getattr(chunk, "usage", None):
                            usage = {
                                "tokens_in": chunk.usage.prompt_tokens or 0,
                                "tokens_out": chunk.usage.completion_tokens or 0,
                            }
                        for choice in chunk.choices or []:
                            text = getattr(choice.delta, "content", None)
                            if text:
                                started = True
                                yield ("token", text)
                    if not started:
                        raise ProviderError("the tutor's model sent an empty or unusable answer")
                    yield ("usage", usage or {})
                    return
                except (
                    TimeoutError,
                    openai.APIConnectionError,
                    openai.APITimeoutError,
                    openai.RateLimitError,
                    openai.InternalServerError,
                ) as exc:
                    if started or attempt >= self.config.retries:
                        raise ProviderError(f"the tutor's model is not answering ({type(exc).__name__})") from exc
                    attempt += 1
                    await asyncio.sleep(min(8.0, 0.5 * 2**attempt) * (0.8 + 0.4 * random.random()))
                except openai.APIError as exc:
                    raise ProviderError(
                        f"the tutor's model sent an unusable answer ({type(exc).__name__}: {str(exc)[:200]})"
                    ) from exc
        finally:
            await client.close()


OFF_TOPIC_MARKERS = (
    "weather",
    "recipe",
    "poem",
    "song",
    "lyrics",
    "stock",
    "bitcoin",
    "football",
    "election",
    "homework for",
    "essay",
    "capital of",
    "movie",
    "celebrity",
    "dating",
)
COURSE_WORDS = set(
    words("""gradient backward forward value tensor torch loss softmax attention token bigram model train
training layer neuron mlp batchnorm embedding transformer gpt python code error test function class tanh relu exp
derivative chain rule learning rate optimizer adamw cache kv bpe merge encode decode logits mask head""")
)


OFFLINE_LABEL = "Offline tutor (no AI model is configured on this server)"
UNCONFIGURED_LABEL = "Offline tutor (this course's AI tutor is not set up on this server yet)"


class OfflineProvider:
    """A useful tutor with no model: retrieval, the grader's message and the hint ladder."""

    name = "offline"
    model = "offline"

    def __init__(self, problem: str = ""):
        self.problem = problem
        self.label = UNCONFIGURED_LABEL if problem else OFFLINE_LABEL

    def answer(self, prompt) -> str:
        question_words = set(words(prompt.question))
        off_topic = any(m in prompt.question.lower() for m in OFF_TOPIC_MARKERS) and not question_words & COURSE_WORDS
        if off_topic:
            return (
                f"*{self.label}.* I can only help with this course: "
                "the lessons, the exercises and your code. What are you working on?\n"
                '<sidecar>{"strategy": "decline", "failing_test": "", "function": "", "lines": [], "citations": []}</sidecar>'
            )
        parts = [f"*{self.label}: I answer from the lessons, the grader and the exercise's hints.*"]
        citations = []
        if prompt.failing:
            test = prompt.failing[0]
            parts.append(
                f"**{test.get('name') or test['id']}** {'is failing' if test['status'] != 'error' else 'raised an error'}: "
                f"{(test.get('message') or '').strip()}"
            )
            if test.get("expected") is not None:
                parts.append(f"Expected `{test['expected']}`, your code gave `{test['actual']}`.")
            hints = prompt.hints.get(test["id"]) or []
            if hints:
                parts.append(f"Hint {len(hints)}: {hints[-1]}")
        if prompt.sections:
            best = prompt.sections[0]
            quote = " ".join(plain_text(best.text).split()[:60])
            for delimiter in ("`", "$"):  # a cut through code or maths would leave it open
                if quote.count(delimiter) % 2:
                    quote = quote[: quote.rfind(delimiter)].rstrip()
            parts.append(f"From the lesson, [[{best.ref}]]:\n\n> {quote}…")
            citations.append(best.ref)
            if len(prompt.sections) > 1:
                parts.append(f"Related: [[{prompt.sections[1].ref}]].")
                citations.append(prompt.sections[1].ref)
        if len(parts) == 1:
            parts.append(
                "I could not find a lesson section about that. Try asking with the name of the function or "
                "the test you are working on, or open the lesson for this exercise."
            )
        sidecar = {
            "failing_test": prompt.failing[0]["id"] if prompt.failing else "",
            "function": "",
            "lines": [],
            "citations": citations,
            "strategy": "hint" if prompt.failing else "pointer",
        }
        return "\n\n".join(parts) + f"\n<sidecar>{json.dumps(sidecar)}</sidecar>"

    async def stream(self, prompt):
        text = self.answer(prompt)
        for i in range(0, len(text), 12):
            yield ("token", text[i : i + 12])
            await asyncio.sleep(0.01)
        yield ("usage", {"tokens_in": 0, "tokens_out": 0})
