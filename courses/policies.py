"""Course and exercise policies (issue #12, item 5): when an exercise opens, when it is due, what a
late submission earns, how often a learner may submit, how much GPU time a week they get and how
many tutor questions.

Pure functions only: no database and no clock (callers pass `now`), so the grader, the pages and
the gradebook share one set of rules and their tests need no fixtures. Reads live in
`courses.selectors` (`policy_for`, `policies_for_course`), writes in `courses.services.policies`.

Rows (`courses.models.Policy`, or anything with the same attributes, or a dict) merge field by
field: defaults < the course's row < the exercise's row. A null field (or "" for `late_policy`)
inherits; a field null everywhere means "no limit" (or, for dates, "none").
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

NONE, CURVE, CLOSED = "none", "curve", "closed"
LATE_POLICIES = (NONE, CURVE, CLOSED)
FIELDS = (
    "release_at",
    "due_at",
    "late_policy",
    "late_curve",
    "rate_limit",
    "rate_window_minutes",
    "gpu_seconds_per_week",
    "tutor_quota",
    "tutor_refill_seconds",
)
# The tutor's allowance is one per learner per course (tutor.models.Allowance), so an exercise
# row cannot carry one.
COURSE_ONLY = ("tutor_quota", "tutor_refill_seconds")


@dataclass(frozen=True)
class EffectivePolicy:
    release_at: datetime | None = None
    due_at: datetime | None = None
    late_policy: str = NONE
    late_curve: tuple[tuple[float, float], ...] = ()
    rate_limit: int | None = None
    rate_window_minutes: int | None = None
    gpu_seconds_per_week: int | None = None
    tutor_quota: int | None = None
    tutor_refill_seconds: int | None = None
    # field -> "default" | "course" | "exercise": where each value came from (the staff page).
    sources: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)

    def released(self, now: datetime) -> bool:
        return self.release_at is None or now >= self.release_at

    def closed(self, now: datetime) -> bool:
        return self.late_policy == CLOSED and self.due_at is not None and now > self.due_at

    @property
    def rate_limited(self) -> bool:
        return bool(self.rate_limit and self.rate_window_minutes)


@dataclass(frozen=True)
class Late:
    late: bool
    hours: float
    credit: float


@dataclass(frozen=True)
class WindowState:
    """Submits counted in the sliding window that ends now, and when the next one is allowed
    once none are left."""

    limit: int
    minutes: int
    used: int
    left: int
    next_at: datetime | None
    retry_after: int  # seconds until next_at (0 while some are left)

    @property
    def message(self) -> str:
        span = window_words(self.minutes)
        if self.left:
            return f"{self.left} of {self.limit} submissions left in this {span} window."
        return f"No submissions left in this {span} window: the next one is allowed {when_words(self.next_at, self.retry_after)}."

    def as_dict(self) -> dict:
        return {
            "limit": self.limit,
            "minutes": self.minutes,
            "used": self.used,
            "left": self.left,
            "next_at": self.next_at.isoformat() if self.next_at else None,
            "retry_after": self.retry_after,
            "message": self.message,
        }


@dataclass(frozen=True)
class GpuState:
    budget: int
    used: float
    resets_at: datetime
    retry_after: int

    @property
    def left(self) -> float:
        return max(0.0, self.budget - self.used)

    @property
    def exhausted(self) -> bool:
        return self.used >= self.budget

    @property
    def message(self) -> str:
        return (
            f"GPU time this week: {self.used:.0f} of {self.budget} s used; "
            f"it resets {when_words(self.resets_at, self.retry_after)}."
        )

    def as_dict(self) -> dict:
        return {
            "budget": self.budget,
            "used": round(self.used, 1),
            "left": round(self.left, 1),
            "resets_at": self.resets_at.isoformat(),
            "message": self.message,
        }


# --- merging ----------------------------------------------------------------------------------------
def _value(row, name):
    if row is None:
        return None
    value = row.get(name) if isinstance(row, Mapping) else getattr(row, name, None)
    return None if value == "" else value


def effective(course_row, exercise_row) -> EffectivePolicy:
    """The policy one exercise runs under: each field from the exercise's row when it sets it,
    else the course's, else the default. Either row may be None."""
    values, sources = {}, {}
    for name in FIELDS:
        for origin, row in (("exercise", exercise_row), ("course", course_row)):
            value = _value(row, name)
            if value is not None:
                values[name], sources[name] = value, origin
                break
        else:
            sources[name] = "default"
    if "late_curve" in values:
        values["late_curve"] = tuple((float(h), float(c)) for h, c in values["late_curve"])
    return EffectivePolicy(**values, sources=sources)


# --- late submissions -------------------------------------------------------------------------------
def curve_credit(points, hours: float) -> float:
    """Credit `hours` after the due date: linear between the points, the first point's credit
    before it, nothing after the last one."""
    if not points:
        return 1.0
    if hours <= points[0][0]:
        return float(points[0][1])
    for (h0, c0), (h1, c1) in zip(points, points[1:], strict=False):
        if hours <= h1:
            return float(c0 + (c1 - c0) * (hours - h0) / (h1 - h0))
    return 0.0


def late(policy, when: datetime) -> Late:
    """Whether a submission made at `when` is late under `policy`, by how many hours, and the
    fraction of its score it keeps. No policy or no due date: never late, full credit. A
    submission that got in after a `closed` due date (made by staff, or before the policy
    changed) keeps nothing."""
    due = getattr(policy, "due_at", None)
    if due is None or when <= due:
        return Late(False, 0.0, 1.0)
    hours = (when - due).total_seconds() / 3600
    if policy.late_policy == CURVE:
        credit = curve_credit(policy.late_curve, hours)
    elif policy.late_policy == CLOSED:
        credit = 0.0
    else:
        credit = 1.0
    return Late(True, hours, credit)


# --- the submit window and the GPU budget -----------------------------------------------------------
def window_state(*, limit: int | None, minutes: int | None, times, now: datetime) -> WindowState | None:
    """Where a learner stands in a sliding window of `minutes`: `times` are their counted submits
    (any order; older ones are ignored). None when the policy sets no window."""
    if not limit or not minutes:
        return None
    span = timedelta(minutes=minutes)
    inside = sorted(t for t in times if now - span < t <= now)
    used, left = len(inside), max(0, limit - len(inside))
    next_at, retry = None, 0
    if not left:
        # The submit that must age out before one more fits.
        next_at = inside[used - limit] + span
        retry = max(1, math.ceil((next_at - now).total_seconds()))
    return WindowState(limit, minutes, used, left, next_at, retry)


def week_start(now: datetime) -> datetime:
    """Monday 00:00 UTC of `now`'s ISO week: when the GPU budget starts again."""
    day = now.astimezone(UTC).date()
    monday = day - timedelta(days=day.weekday())
    return datetime(monday.year, monday.month, monday.day, tzinfo=UTC)


def gpu_state(*, budget: int | None, used_seconds: float, now: datetime) -> GpuState | None:
    if not budget:
        return None
    resets = week_start(now) + timedelta(days=7)
    return GpuState(budget, float(used_seconds), resets, max(1, math.ceil((resets - now).total_seconds())))


# --- words ------------------------------------------------------------------------------------------
def span_words(seconds: float) -> str:
    seconds = max(0, math.ceil(seconds))
    if seconds < 120:
        return f"{seconds} s"
    minutes = math.ceil(seconds / 60)
    if minutes < 120:
        return f"{minutes} minutes"
    hours = round(seconds / 3600)
    if hours < 48:
        return f"{hours} hours"
    return f"{round(seconds / 86400)} days"


def window_words(minutes: int) -> str:
    if minutes % 60 == 0:
        return f"{minutes // 60}-hour"
    return f"{minutes}-minute"


def date_words(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%a %d %b %Y, %H:%M UTC")


def when_words(when: datetime, seconds: float) -> str:
    return f"at {date_words(when)} (in {span_words(seconds)})"


def release_message(policy: EffectivePolicy, now: datetime) -> str:
    seconds = (policy.release_at - now).total_seconds()
    return f"This exercise is not open yet: it opens {when_words(policy.release_at, seconds)}."


def closed_message(policy: EffectivePolicy) -> str:
    return (
        f"Submissions to this exercise closed at its due date, {date_words(policy.due_at)}. "
        "Run still works, for practice."
    )


def curve_words(points) -> str:
    steps = ", ".join(f"{c:.0%} at {h:g} h" for h, c in points)
    return f"Late submissions earn less: {steps} late, nothing after."


def due_words(policy: EffectivePolicy, now: datetime) -> str:
    """The due date and what happens after it, in one or two sentences ("" without a due date)."""
    if policy.due_at is None:
        return ""
    seconds = (policy.due_at - now).total_seconds()
    when = date_words(policy.due_at)
    head = f"Due {when} (in {span_words(seconds)})." if seconds > 0 else f"Was due {when}."
    if policy.late_policy == CLOSED:
        return f"{head} No submissions after the due date."
    if policy.late_policy == CURVE:
        return f"{head} {curve_words(policy.late_curve)}"
    return f"{head} Late submissions are accepted, marked late, for full credit."


def limits_words(policy: EffectivePolicy, *, gpu: bool) -> str:
    """The limits in one sentence, for staff ("" when there are none)."""
    parts = []
    if policy.rate_limited:
        submits = "Submit" if policy.rate_limit == 1 else "Submits"
        window = window_words(policy.rate_window_minutes)
        parts.append(f"at most {policy.rate_limit} {submits} per exercise in any {window} window")
    if gpu and policy.gpu_seconds_per_week:
        parts.append(f"{policy.gpu_seconds_per_week} s of GPU time a week")
    return f"Learners get {' and '.join(parts)}." if parts else ""


def page_words(policy: EffectivePolicy, now: datetime) -> dict:
    """What the pages say about an exercise's dates: `opens` (only before its release date),
    `due` (the due date and the late rule), `closed` (past a closed due date), `late` (past the
    due date)."""
    return {
        "opens": "" if policy.released(now) else release_message(policy, now),
        "release_at": policy.release_at,
        "due": due_words(policy, now),
        "due_at": policy.due_at,
        "closed": policy.closed(now),
        "late": policy.due_at is not None and now > policy.due_at,
    }


# --- parsing (the staff page and `manage.py course policy`; checks: courses/services/policies.py) ---
def parse_when(text) -> datetime | None:
    """'2026-12-20T23:59Z', '2026-12-20 23:59' or a datetime-local value; UTC unless it says."""
    if text is None or isinstance(text, datetime):
        return None if text is None else (text if text.tzinfo else text.replace(tzinfo=UTC))
    text = str(text).strip()
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1] in "zZ" else text)
    except ValueError:
        raise ValueError(f"{text!r} is not a date and time: write it as 2026-12-20T23:59Z (UTC)") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def parse_curve(text) -> list[list[float]] | None:
    """'0=1, 24=0.5, 72=0' (hours=credit) or a list of pairs; None for empty."""
    if text is None or isinstance(text, list | tuple):
        return None if text is None else [list(p) for p in text]
    text = str(text).strip()
    if not text:
        return None
    points = []
    for part in text.replace(";", ",").split(","):
        hours, sep, credit = part.partition("=")
        try:
            if not sep:
                raise ValueError
            points.append([float(hours), float(credit)])
        except ValueError:
            raise ValueError(
                f"late curve: {part.strip()!r} is not hours=credit (write it as 0=1, 24=0.5, 72=0)"
            ) from None
    return points


def curve_text(points) -> str:
    return ", ".join(f"{h:g}={c:g}" for h, c in points or ())
