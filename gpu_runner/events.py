"""Live submission events: a per-submission log in Redis plus a Channels group broadcast.

Every event (phase change, test finished, metric point, log line, final result) is appended to
the Redis list `sub:<id>:events`; the length RPUSH returns is the event's sequence number, so
events from every producer (web, runner, grader) share one gap-free order with one round trip.
The event then goes to the channel-layer group `submission.<id>`. A browser that reconnects
sends the last sequence number it saw and gets the rest from the list (or, once the submission
is graded, from its copy in the database).

Publishing happens on one background asyncio loop per process, so the sandbox reader never
waits on Redis; `flush()` waits for everything queued so far.
"""

import asyncio
import json
import threading
import time

import redis
import redis.asyncio as aredis
from django.conf import settings

from gpu_runner.wire import jsonsafe

LOG_TTL_SECONDS = 7 * 24 * 3600
# The largest sequence number a client may resume after: a JavaScript safe integer, so a browser
# can hold it exactly, and far below Redis's signed 64-bit list indices (a larger index is a Redis
# error, not an empty answer: schemathesis found it through the API).
MAX_SEQ = 2**53 - 1
# The fields of a result that the `result` event carries (docs/result-schema.md, "Live events").
RESULT_EVENT_KEYS = (
    "status",
    "gradable",
    "score",
    "max_score",
    "message",
    "verdict",
    "tests",
    "metrics",
    "histograms",
    "figures",
)


def result_event(result: dict, *, kind: str) -> dict:
    return {"kind": kind, **{k: result[k] for k in RESULT_EVENT_KEYS if k in result}}


def group_name(submission_id: int) -> str:
    return f"submission.{submission_id}"


def log_key(submission_id: int) -> str:
    return f"{settings.KEY_PREFIX}sub:{submission_id}:events"


class _Publisher:
    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.queue: asyncio.Queue | None = None
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, name="event-publisher", daemon=True)
        self.thread.start()
        self.ready.wait()

    def _run(self):
        asyncio.set_event_loop(self.loop)
        self.queue = asyncio.Queue()
        self.client = aredis.Redis.from_url(settings.REDIS_URL)
        from channels.layers import get_channel_layer

        self.layer = get_channel_layer()
        self.loop.create_task(self._drain())
        self.ready.set()
        self.loop.run_forever()

    async def _drain(self):
        while True:
            submission_id, event, future = await self.queue.get()
            try:
                key = log_key(submission_id)
                body = json.dumps(event, separators=(",", ":"), allow_nan=False)
                seq = await self.client.rpush(key, body)
                if seq == 1:
                    await self.client.expire(key, LOG_TTL_SECONDS)
                event = {**event, "seq": seq}
                await self.layer.group_send(group_name(submission_id), {"type": "submission.event", "event": event})
                future.set_result(event)
            except Exception as exc:  # a broken Redis must not kill the publisher thread
                future.set_exception(exc)

    def submit(self, submission_id: int, event: dict):
        import concurrent.futures

        future = concurrent.futures.Future()
        self.loop.call_soon_threadsafe(self.queue.put_nowait, (submission_id, event, future))
        return future


_publisher = None
_lock = threading.Lock()


def _get_publisher() -> _Publisher:
    global _publisher
    with _lock:
        if _publisher is None or not _publisher.thread.is_alive():
            _publisher = _Publisher()
        return _publisher


class EventStream:
    """Events of one submission attempt. `emit` returns at once; `flush` waits for delivery."""

    def __init__(self, submission_id: int, attempt: int):
        self.submission_id, self.attempt = submission_id, attempt
        self.pending = []

    def emit(self, type_: str, **data) -> None:
        # jsonsafe: browsers and PostgreSQL read these, and JSON has no NaN.
        event = jsonsafe({"type": type_, "attempt": self.attempt, "at": round(time.time(), 3), **data})
        self.pending.append(_get_publisher().submit(self.submission_id, event))

    def flush(self, timeout: float = 10.0) -> list[dict]:
        done = []
        for future in self.pending:
            try:
                done.append(future.result(timeout))
            except Exception:  # delivery is best effort; the database keeps the result
                pass
        self.pending = []
        return done


_sync_client = None


def _client():
    global _sync_client
    if _sync_client is None:
        _sync_client = redis.Redis.from_url(settings.REDIS_URL)
    return _sync_client


def replay(submission_id: int, after_seq: int = 0) -> list[dict]:
    """Logged events with seq > after_seq, in order."""
    if after_seq > MAX_SEQ:
        return []  # past any log that can exist
    raw = _client().lrange(log_key(submission_id), max(after_seq, 0), -1)
    return [{**json.loads(body), "seq": after_seq + i + 1} for i, body in enumerate(raw)]


def log_length(submission_id: int) -> int:
    return int(_client().llen(log_key(submission_id)))
