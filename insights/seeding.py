"""A seeded cohort for the course data engine: learners who submit the four independently written
implementations of the `value` exercise in insights/seed/value/, correct or with one of four bugs
planted by hand into each (patches against that implementation's correct.py; BUGS.toml says which
tests each bug fails, as measured). Every
submission goes through the real pipeline (submission_create → queue → worker → sandbox).

Each learner's copy is disguised (a header comment of their own, a different number of blank
lines between definitions), so no two submissions are the same text and nothing but behaviour
ties the members of a cluster together."""

import random
import re
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

from courses.format import patches

SEED_DIR = Path(__file__).resolve().parent / "seed" / "value"
LEARNER_FILE = "micrograd/engine.py"
HEADERS = [
    "# my micrograd engine",
    "# autograd exercise, second try",
    "# tidy this up later",
    "# written after the derivatives lesson",
    "# scalar autodiff",
    "",
]


@dataclass(frozen=True)
class Variant:
    impl: str
    bug: str | None  # None: correct
    source: str


def bugs() -> dict:
    return tomllib.loads((SEED_DIR / "BUGS.toml").read_text())


def variants() -> list[Variant]:
    meta = bugs()
    out = []
    for impl in meta["implementations"]:
        correct = (SEED_DIR / impl / "correct.py").read_text()
        out.append(Variant(impl, None, correct))
        for bug in meta["bugs"]:
            hunks = patches.parse((SEED_DIR / impl / f"{bug}.patch").read_text())[LEARNER_FILE]
            out.append(Variant(impl, bug, patches.apply(correct, hunks)))
    return out


def disguise(source: str, rng: random.Random) -> str:
    """The same program in a learner's own layout: a header comment and 1-3 blank lines before
    each top-level definition. Behaviour is untouched."""
    header = rng.choice(HEADERS)
    body = re.sub(r"\n+(?=(?:def|class) )", lambda m: "\n" * rng.randint(2, 4), source.strip("\n"))
    return (header + "\n" if header else "") + body + "\n"


def _submit(user, exercise, files, *, retries: int = 20):
    from grader.services import SubmissionLimited, submission_create

    for _ in range(retries):
        try:
            return submission_create(user=user, exercise=exercise, files=files)
        except SubmissionLimited as exc:  # this learner's own caps: wait, as a person would
            time.sleep(min(max(getattr(exc, "retry_after", 1) or 1, 1), 30))
    raise RuntimeError(f"{user.username} could not submit after {retries} tries")


def _wait(ids, timeout: float = 600):
    from grader.models import Submission

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = Submission.objects.filter(pk__in=ids).exclude(status__in=("graded", "error")).count()
        if not left:
            return
        time.sleep(0.5)
    raise RuntimeError(f"submissions still grading after {timeout:.0f} s: is a worker running?")


def seed_cohort(*, course, learners: int, seed: int = 0, prefix: str = "seed", log=print) -> list[dict]:
    """Enroll `learners` generated learners and have each work through the exercise: some pass at
    once, most hit one planted bug first (some twice), some give up. Waits for grading between
    a learner's attempts. Returns the plan: [{learner, impl, bug, submissions: [ids]}]."""
    from accounts.models import User
    from courses.models import Exercise
    from courses.services import membership_enroll

    rng = random.Random(seed)
    exercise = Exercise.objects.get(version=course.published_version, slug=bugs()["exercise"])
    pool = variants()
    correct = {v.impl: v for v in pool if v.bug is None}
    wrong = [v for v in pool if v.bug is not None]
    plan = []
    for i in range(learners):
        user, _ = User.objects.get_or_create(
            username=f"{prefix}-{i:03d}", defaults={"email": f"{prefix}-{i:03d}@example.org"}
        )
        membership_enroll(user=user, course=course)
        impl = pool[i % len(pool)].impl
        roll = rng.random()
        bug = None if roll < 0.15 else rng.choice([v for v in wrong if v.impl == impl])
        steps = [bug] * (2 if roll > 0.75 else 1) if bug else []
        if roll < 0.9:
            steps.append(correct[impl])  # gets there in the end
        plan.append({"learner": user, "impl": impl, "bug": bug.bug if bug else None, "steps": steps, "ids": []})
    # Round-robin over learners, one attempt each per round, so attempts interleave as in a class.
    for round_ in range(max(len(p["steps"]) for p in plan)):
        batch = []
        for p in plan:
            if round_ < len(p["steps"]):
                sub = _submit(p["learner"], exercise, {LEARNER_FILE: disguise(p["steps"][round_].source, rng)})
                p["ids"].append(sub.pk)
                batch.append(sub.pk)
        log(f"round {round_ + 1}: {len(batch)} submissions queued; waiting for the worker")
        _wait(batch)
    return [
        {"learner": p["learner"].username, "impl": p["impl"], "bug": p["bug"], "submissions": p["ids"]} for p in plan
    ]
