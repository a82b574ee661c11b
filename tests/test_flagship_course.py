"""The flagship course, checked the way an instructor checks theirs: it validates, and through the
real sandboxed grader every reference passes, every starter fails and every mutant fails."""

from pathlib import Path

import pytest
from django.core.management import call_command

FLAGSHIP = Path(__file__).resolve().parent.parent / "content" / "zero-to-gpt"
pytestmark = [pytest.mark.sandbox, pytest.mark.slow]


def test_flagship_validates(capsys):
    call_command("course", "validate", str(FLAGSHIP))
    out = capsys.readouterr().out
    assert "problem" not in out.lower() and "warning" not in out.lower(), out


@pytest.mark.timeout(1500)
def test_every_reference_passes_and_every_starter_and_mutant_fails(capsys):
    # --fail-fast: a mutant caught by its first test does not go on to train (half the time of
    # the full table; `course test` without it is tested on a small course).
    call_command("course", "test", str(FLAGSHIP), "--fail-fast")  # raises CommandError on any miss
    out = capsys.readouterr().out
    assert "0 miss(es)" in out, out
