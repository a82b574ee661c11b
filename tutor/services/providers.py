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
import random
from dataclasses import dataclass

from django.conf import settings

from tutor.services.retrieval import words


class ProviderError(Exception):
    """The provider is down, hangs or answers garbage; the learner gets a clear message."""


@dataclass
class ProviderConfig:
    base_url: str
    api_key: str
    model: str
    timeout: float
    retries: int

    @property
    def name(self) -> str:
        return "openai-compatible" if self.base_url or self.api_key else "offline"


def config_for(course) -> ProviderConfig:
    tutor = ((course.published_version.meta if course.published_version else {}) or {}).get("tutor") or {}
    return ProviderConfig(
        base_url=tutor.get("base_url") or settings.TUTOR_BASE_URL,
        api_key=settings.TUTOR_API_KEY,
        model=tutor.get("model") or settings.TUTOR_MODEL,
        timeout=settings.TUTOR_TIMEOUT_SECONDS,
        retries=settings.TUTOR_MAX_RETRIES,
    )


def provider_for(course):
    config = config_for(course)
    if config.model and (config.base_url or config.api_key):
        return OpenAIProvider(config)
    return OfflineProvider()


class OpenAIProvider:
    name = "openai-compatible"

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


class OfflineProvider:
    """A useful tutor with no model: retrieval, the grader's message and the hint ladder."""

    name = "offline"
    model = "offline"

    def answer(self, prompt) -> str:
        question_words = set(words(prompt.question))
        off_topic = any(m in prompt.question.lower() for m in OFF_TOPIC_MARKERS) and not question_words & COURSE_WORDS
        if off_topic:
            return (
                "*Offline tutor (no AI model is configured on this server).* I can only help with this course: "
                "the lessons, the exercises and your code. What are you working on?\n"
                '<sidecar>{"strategy": "decline", "failing_test": "", "function": "", "lines": [], "citations": []}</sidecar>'
            )
        parts = [
            "*Offline tutor (no AI model is configured on this server): I answer from the lessons, the grader and the "
            "exercise's hints.*"
        ]
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
            quote = " ".join(best.text.replace("\n", " ").split()[:60])
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
        import json

        return "\n\n".join(parts) + f"\n<sidecar>{json.dumps(sidecar)}</sidecar>"

    async def stream(self, prompt):
        text = self.answer(prompt)
        for i in range(0, len(text), 12):
            yield ("token", text[i : i + 12])
            await asyncio.sleep(0.01)
        yield ("usage", {"tokens_in": 0, "tokens_out": 0})
