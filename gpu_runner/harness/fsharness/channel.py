"""The events channel to the trusted parent: one JSON object per line on an inherited fd.

Learner code shares this process and can write to the same fd, so each line the harness writes
carries the job's token (sent by the parent on stdin, kept only in this closure); the parent
drops and counts every line without it. Each line also starts with a newline, so a partial line
written by someone else cannot swallow the harness's next event.

The encoder is `_json`'s C encoder, built once here: `json.dumps` looks up module globals and
class attributes on every call, which learner code could replace.
"""

import _json
import os
import threading


def open_channel(fd: int):
    """(emit, set_token): emit(event_dict) writes one line; set_token(t) arms authentication."""
    write, lock = os.write, threading.Lock()
    state = [None]

    def refuse(obj):
        raise TypeError(f"cannot send a {type(obj).__name__} to the grader")

    encode = _json.make_encoder(
        None, refuse, _json.encode_basestring_ascii, None, ":", ",", False, False, False
    )  # markers off (events are trees the harness builds), allow_nan False: NaN must be tagged

    def emit(event: dict) -> None:
        if state[0] is not None:
            event["k"] = state[0]
        data = ("\n" + "".join(encode(event, 0)) + "\n").encode()
        view = memoryview(data)
        with lock:
            while view:
                view = view[write(fd, view) :]

    def set_token(token) -> None:
        state[0] = str(token) if token else None

    return emit, set_token
