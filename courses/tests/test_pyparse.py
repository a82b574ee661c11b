"""Validation must not fail on good source because another thread was building an AST at the
same moment (CPython 3.11's shared AST recursion depth, courses/format/pyparse.py). The clash
itself is rare and timing-bound, so these tests raise CPython's error on cue."""

import ast

import pytest

from courses.format import pyparse

MISMATCH = SystemError("AST constructor recursion depth mismatch (before=96, after=145)")


def flaky_parse(monkeypatch, failures: int, error=MISMATCH):
    real, calls = ast.parse, []

    def parse(*args, **kwargs):
        calls.append(1)
        if len(calls) <= failures:
            raise error
        return real(*args, **kwargs)

    monkeypatch.setattr(pyparse.ast, "parse", parse)
    return calls


def test_a_clash_with_another_thread_is_retried(monkeypatch):
    calls = flaky_parse(monkeypatch, failures=2)
    tree = pyparse.parse("def test_x(check):\n    check('x', 1)\n", "tests/visible/test_x.py")
    assert [n.name for n in tree.body] == ["test_x"] and len(calls) == 3


def test_a_clash_that_never_clears_is_reported(monkeypatch):
    flaky_parse(monkeypatch, failures=100)
    with pytest.raises(SystemError, match="recursion depth mismatch"):
        pyparse.parse("x = 1\n")


def test_other_errors_are_not_retried(monkeypatch):
    calls = flaky_parse(monkeypatch, failures=100, error=SystemError("something else"))
    with pytest.raises(SystemError, match="something else"):
        pyparse.parse("x = 1\n")
    assert len(calls) == 1


def test_a_syntax_error_is_still_a_syntax_error():
    with pytest.raises(SyntaxError):
        pyparse.parse("def broken(:\n", "<broken>")
