"""Exceptions and syntax errors as a learner should see them: type, message, and only the frames
in their own files (and visible tests). Harness frames and hidden tests are left out."""

import os
import traceback


class TestTimeout(Exception):
    pass


class HarnessError(Exception):
    pass


def on_alarm(signum, frame):
    raise TestTimeout("this test ran past its time limit")


def _rel(filename, work):
    filename = filename or ""
    return os.path.relpath(filename, work) if filename.startswith(work) else filename


def describe(exc, ctx) -> dict:
    work = ctx["work"]
    if isinstance(exc, SyntaxError):
        return {
            "type": "SyntaxError",
            "message": exc.msg,
            "file": _rel(exc.filename, work),
            "line": exc.lineno,
            "code": (exc.text or "").rstrip()[:300],
            "frames": [],
        }
    frames = []
    for frame in traceback.extract_tb(exc.__traceback__):
        rel = _rel(frame.filename, work)
        if rel in ctx["learner_files"]:
            frames.append({"file": rel, "line": frame.lineno, "func": frame.name, "code": (frame.line or "")[:300]})
        elif rel in ctx["visible_sources"]:
            frames.append(
                {"file": rel, "line": frame.lineno, "func": frame.name, "code": (frame.line or "")[:300], "test": True}
            )
        elif rel.startswith("<hidden"):
            frames.append({"file": "(hidden test)", "line": None, "func": frame.name, "code": "", "test": True})
    try:
        message = str(exc)
    except Exception:
        message = "(the exception's message could not be shown)"
    if isinstance(exc, AssertionError) and not message and frames:
        message = f"assert failed: {frames[-1]['code']}"
    return {"type": type(exc).__name__, "message": message[:2000], "frames": frames[-8:]}


def syntax_errors(files: dict, ctx) -> list[dict]:
    found = []
    for rel, content in files.items():
        if not rel.endswith(".py"):
            continue
        try:
            compile(content, os.path.join(ctx["work"], rel), "exec")
        except SyntaxError as exc:
            info = describe(exc, ctx)
            info["file"] = rel
            found.append(info)
    return found
