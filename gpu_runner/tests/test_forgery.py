"""Forgery suite (issue #10): wrong implementations of flagship exercises plus a trick that rewrites
the grader from inside the sandbox. Each trick is shown to work against the commit before the
hardening in docs/forgery.md (measured with tools/forgery.py there); here each must end failed,
gain nothing over the wrong code alone, leak nothing, and be flagged where the guard can see it.

Through the real sandbox, the real harness and the trusted comparison, as a submission is graded.
"""

from pathlib import Path

import pytest

from tools.forgery import Course, load_attacks, run_attack

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
ATTACKS = load_attacks(ROOT / "tools" / "forgery_attacks.py")


@pytest.fixture(scope="module")
def course():
    c = Course(str(ROOT / "content" / "zero-to-gpt"))
    yield c
    c.close()


@pytest.mark.timeout(600)
@pytest.mark.parametrize("attack", ATTACKS, ids=[a["name"] for a in ATTACKS])
def test_the_trick_does_not_help_wrong_code(course, attack):
    row = run_attack(course, attack)
    alone, tricked = row["alone"], row["with_trick"]
    assert alone["gradable"] and tricked["gradable"]
    # The wrong implementation fails on its own (else the attack proves nothing) ...
    assert alone["status"] != "passed", alone
    # ... and the trick does not rescue it: no test passes that the wrong code alone fails.
    assert tricked["status"] != "passed", tricked["messages"]
    assert not row["gained"], f"{attack['name']} made these pass: {row['gained']}"
    assert not tricked["leaked"], "a hidden test's source reached the learner"
    if attack["detects"]:
        assert tricked["flagged"], f"{attack['name']} was not flagged for review"


def test_honest_code_is_never_flagged(course):
    """The reference solutions of the exercises the attacks use trip nothing (no false evidence)."""
    from grader.course_check import _exercise_files

    for slug in sorted({a["exercise"] for a in ATTACKS}):
        ex = course.spec["exercises"][slug]
        result = course.grade(slug, _exercise_files(course.tree, ex)["solution"])
        assert result["status"] == "passed", (slug, result["message"])
        assert not result["integrity"]["flagged"], (slug, result["integrity"])
