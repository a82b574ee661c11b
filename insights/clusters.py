"""Misconceptions from failing submissions (the course data engine), as pure functions.

A cluster is a *behaviour*: the same first failing test with the same check message (numbers
and quoted names blanked out) and the same set of failing tests. Two learners who planted the same
bug in differently written code fail the same checks with the same wrong values, so they land in
one cluster; one learner's code that differs from another's only in style, never does anything
else. Clustering by code similarity would do the opposite (group by who wrote the code, not by
what is wrong), so the code diff from the reference is used only inside a cluster: to pick the
most focused example (the smallest diff) and to show the lines its members changed in common.
"""

import difflib
import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?|\b(?:nan|inf|NaN|Infinity)\b")
QUOTED = re.compile(r"'[^'\n]{0,80}'|\"[^\"\n]{0,80}\"")
FAILING = ("failed", "error")


def check_text(message: str) -> str:
    """The specific part of a test's message: after the author's words, which every failure of
    that test shares ("Gradients accumulate… — a.grad: expected 2, got 1" → "a.grad: expected 2, got 1")."""
    # The first line is the check; later lines are the test's own message (the same for every
    # failure of the test) or what happened after the check.
    message = ((message or "").strip().splitlines() or [""])[0]
    return message.rsplit(" — ", 1)[-1] if " — " in message else message


def normalize(text: str) -> str:
    text = QUOTED.sub("'…'", text)
    text = NUMBER.sub("#", text)
    return " ".join(text.split())[:240]


@dataclass(frozen=True)
class Fingerprint:
    signature: str  # 16 hex digits, stable across runs and versions of this module's rules
    first_test: str
    first_name: str
    check: str  # normalized check message
    failing: tuple[str, ...]
    shown: str = ""  # the check as one member saw it, numbers and all (for people, not for keys)


def fingerprint(result: dict | None) -> Fingerprint | None:
    """The misconception a graded result shows, or None when nothing failed (or it was not gradable)."""
    if not result or not result.get("gradable", True):
        return None
    tests = result.get("tests") or []
    failing = [t for t in tests if t.get("status") in FAILING]
    if not failing:
        if result.get("status") == "passed":
            return None
        # Nothing ran: a syntax error, a crash on import, a time limit before the first test.
        verdict = result.get("verdict") or {}
        first, name, shown = "(before any test)", "Before any test ran", (result.get("message") or "")[:300]
        check = normalize(shown)
        failing_ids: tuple[str, ...] = (f"verdict:{verdict.get('kind', '')}",)
    else:
        first, name = failing[0]["id"], failing[0].get("name") or failing[0]["id"]
        shown = check_text(failing[0].get("message") or "")[:300]
        check = normalize(shown)
        failing_ids = tuple(sorted(t["id"] for t in failing))
    key = json.dumps([first, check, failing_ids])
    return Fingerprint(hashlib.sha256(key.encode()).hexdigest()[:16], first, name, check, failing_ids, shown)


def _code_lines(text: str) -> list[str]:
    out = []
    for line in (text or "").splitlines():
        stripped = " ".join(line.split())
        if stripped and not stripped.startswith("#"):
            out.append(stripped)
    return out


def changed_lines(files: dict, reference: dict) -> set[str]:
    """Lines (whitespace collapsed, comments and blanks dropped) the learner has and the reference
    solution lacks, per file: a rough "what did they write differently"."""
    added = set()
    for name, text in (files or {}).items():
        ref, mine = _code_lines(reference.get(name, "")), _code_lines(text)
        # Line-level matching only (ndiff's character-level pass made a cluster page take ~1 s).
        for tag, _i1, _i2, j1, j2 in difflib.SequenceMatcher(None, ref, mine, autojunk=False).get_opcodes():
            if tag in ("insert", "replace"):
                added.update(f"{name}: {line}" for line in mine[j1:j2])
    return added


@dataclass
class Cluster:
    fingerprint: Fingerprint
    exercise_slug: str
    submissions: list[int] = field(default_factory=list)  # newest first
    learners: set = field(default_factory=set)
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    days: Counter = field(default_factory=Counter)  # date -> submits
    example: int | None = None  # the member whose code differs least from the reference
    common_lines: list[tuple[str, int]] = field(default_factory=list)

    @property
    def signature(self) -> str:
        return self.fingerprint.signature


def build(rows, *, reference: dict | None = None, background: set | None = None, common: int = 6) -> list[Cluster]:
    """Group failing submissions. `rows`: dicts with id, user_id, exercise_slug, created_at,
    result and (optionally) files, newest first. Largest clusters (by learners) first.
    `background`: changed lines that passing submissions have too (style, not the mistake), left
    out of each cluster's lines in common."""
    background = background or set()
    clusters: dict[tuple[str, str], Cluster] = {}
    diffs: dict[tuple[str, str], dict[int, set]] = {}
    for row in rows:
        fp = fingerprint(row["result"])
        if fp is None:
            continue
        key = (row["exercise_slug"], fp.signature)
        cluster = clusters.setdefault(key, Cluster(fingerprint=fp, exercise_slug=row["exercise_slug"]))
        cluster.submissions.append(row["id"])
        cluster.learners.add(row["user_id"])
        when = row["created_at"]
        cluster.first_seen = min(cluster.first_seen or when, when)
        cluster.last_seen = max(cluster.last_seen or when, when)
        cluster.days[when.date()] += 1
        if reference is not None and row.get("files") is not None:
            diffs.setdefault(key, {})[row["id"]] = changed_lines(row["files"], reference)
    for key, cluster in clusters.items():
        member_diffs = diffs.get(key) or {}
        if member_diffs:
            cluster.example = min(member_diffs, key=lambda sid: (len(member_diffs[sid]), -sid))
            counts = Counter(line for lines in member_diffs.values() for line in lines if line not in background)
            cluster.common_lines = [(line, n) for line, n in counts.most_common(common) if n > 1]
        else:
            cluster.example = cluster.submissions[0] if cluster.submissions else None
    return sorted(clusters.values(), key=lambda c: (-len(c.learners), -len(c.submissions), c.signature))
