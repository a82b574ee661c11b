"""`ast.parse` that survives CPython 3.11's AST recursion-depth bug.

CPython 3.11 keeps the AST constructor's recursion depth in per-interpreter state, not per call
(python/cpython#106905). When two threads build ASTs at once, each can see the other's depth and
raise `SystemError: AST constructor recursion depth mismatch` for perfectly good source. Threads
do this more often than one would think: on 3.11 `traceback` parses source lines to place its
`^^^` carets, so any logged exception in another thread of the web server races a course
validation (seen here: an instructor's workspace page gave a 500 while the tutor logged an error).
Our own calls take one lock; a clash with someone else's parse is retried, since the error says
nothing about the source.
"""

import ast
import threading

_lock = threading.Lock()
_TRIES = 5


def parse(source: str, filename: str = "<unknown>") -> ast.Module:
    for attempt in range(_TRIES):
        try:
            with _lock:
                return ast.parse(source, filename=filename)
        except SystemError as exc:
            if "recursion depth mismatch" not in str(exc) or attempt == _TRIES - 1:
                raise
    raise AssertionError("unreachable")
