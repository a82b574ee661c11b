"""Server-sent events for one submission: the same events, in the same order and each once, as
the browser's websocket, for clients that can hold an HTTP response open (curl, a script)."""

import json
import time

from gpu_runner.events import replay
from grader.models import Submission

KEEPALIVE_SECONDS = 15
MAX_SECONDS = 900  # a stream ends; the client resumes with ?after=<last id>


def _frame(event: dict) -> str:
    return f"id: {event['seq']}\nevent: {event.get('type', 'message')}\ndata: {json.dumps(event)}\n\n"


def sse(submission_id: int, after: int = 0, *, poll: float = 0.25):
    last, started, quiet = after, time.monotonic(), time.monotonic()
    while True:
        status = Submission.objects.filter(pk=submission_id).values_list("status", flat=True).first()
        finished = status in (Submission.Status.GRADED, Submission.Status.ERROR)
        events = replay(submission_id, last)
        if not events and finished:
            stored = Submission.objects.filter(pk=submission_id).values_list("events", flat=True).first() or []
            events = [e for e in stored if e.get("seq", 0) > last]
        for event in events:
            last = max(last, event.get("seq", last))
            quiet = time.monotonic()
            yield _frame(event)
        if finished and not events:
            yield f"event: end\ndata: {json.dumps({'last': last})}\n\n"
            return
        if time.monotonic() - started > MAX_SECONDS:
            return
        if time.monotonic() - quiet > KEEPALIVE_SECONDS:
            quiet = time.monotonic()
            yield ": still grading\n\n"  # a comment line: keeps proxies from closing an idle stream
        time.sleep(poll)
