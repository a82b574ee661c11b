"""Prerequisites: earlier exercises whose code an exercise runs on (`[[uses]]`) or starts from
(`starter_from`). Pure: no database. The one place that names the `if_not_passed` policies and
words the lock message.

A learner who has not passed a prerequisite (a passing Submit; a Run never counts) finds the
exercise locked, because the alternative would be handing them that exercise's reference
solution: anything in their sandbox is readable with open(), and anything in their editor is
simply shown. An instructor can opt in to the reference instead (`if_not_passed = "reference"`),
knowing learners can then read it.
"""

from dataclasses import dataclass

LOCK = "lock"
REFERENCE = "reference"
# `if_not_passed` values. Course policies will add time-based ones (e.g. the reference only after
# the deadline): add them here, and teach `applies_reference` what they mean.
POLICIES = {
    LOCK: "the exercise stays locked until the learner passes the prerequisite",
    REFERENCE: "the prerequisite's reference solution stands in for the learner's code (they can read it)",
}
DEFAULT_POLICY = LOCK


@dataclass(frozen=True)
class Prerequisite:
    exercise: str  # the earlier exercise's slug
    files: tuple  # the files taken from it (uses) or carried into the editor (starter_from)
    how: str  # "uses" | "starter_from"
    policy: str  # one of POLICIES


def prerequisites_of(spec: dict) -> list[Prerequisite]:
    """An exercise's prerequisites, in the order its exercise.toml names them."""
    default = spec.get("if_not_passed") or DEFAULT_POLICY
    found = [
        Prerequisite(u["exercise"], tuple(u["files"]), "uses", u.get("if_not_passed") or default)
        for u in spec.get("uses") or []
    ]
    source = spec.get("starter_from")
    if source and source not in {p.exercise for p in found}:
        files = tuple(f for f in spec.get("files") or [])
        found.append(Prerequisite(source, files, "starter_from", default))
    return found


def applies_reference(policy: str) -> bool:
    """Whether a learner who has not passed gets the reference instead of a lock."""
    return policy == REFERENCE


def lock_message(*, title: str, prerequisite: Prerequisite) -> str:
    """What a learner reads on the locked page and in the refusal of a submission."""
    files = ", ".join(prerequisite.files)
    if prerequisite.how == "uses":
        return f"Pass “{title}” first: this exercise runs on your own code from it ({files})."
    return f"Pass “{title}” first: this exercise starts from your own code for it ({files})."
