"""Setting a course's or an exercise's policy (the rules: courses/policies.py)."""

import math
from collections.abc import Mapping

from django.core.exceptions import PermissionDenied
from django.db import transaction

from courses import policies
from courses.models import Course, Exercise, Membership, Policy
from courses.selectors import has_role


@transaction.atomic
def policy_set(*, course: Course, exercise_slug: str = "", user, **fields) -> Policy | None:
    """Set some fields of one policy row (exercise_slug "" is the course's); fields not named keep
    their value, a field given as None or "" goes back to inheriting. Checked field by field and
    then merged, against the course's row and every exercise row it affects, so no row ever
    leaves an exercise due before it opens. Raises ValueError with the reason; nothing is saved
    then. Returns the row, or None when it no longer sets anything (it is deleted).

    `user` is the instructor making the change (None from `manage.py course policy`)."""
    if user is not None and not has_role(user=user, course=course, role=Membership.Role.INSTRUCTOR):
        raise PermissionDenied("Only the course's instructors set its policies.")
    if exercise_slug and not Exercise.objects.filter(version__course=course, slug=exercise_slug).exists():
        raise ValueError(f"{course.slug} has no exercise {exercise_slug!r}")
    clean = check_fields(fields, course_wide=not exercise_slug)
    rows = {p.exercise_slug: p for p in Policy.objects.select_for_update().filter(course=course)}
    row = rows.get(exercise_slug) or Policy(course=course, exercise_slug=exercise_slug)
    for name, value in clean.items():
        setattr(row, name, value)
    if row.late_policy and row.late_policy != policies.CURVE and "late_curve" not in clean:
        row.late_curve = None  # a curve only means something under the curve policy
    rows[exercise_slug] = row
    # The rows this one reaches: itself, and every exercise's when it is the course's.
    affected = [s for s in rows if s] if not exercise_slug else [exercise_slug]
    check_effective(policies.effective(rows.get(""), None), where="course default")
    for slug in affected:
        check_effective(policies.effective(rows.get(""), rows[slug]), where=f"exercise {slug}")
    if all(getattr(row, name) in (None, "") for name in policies.FIELDS):
        if row.pk:
            row.delete()
        return None
    row.updated_by = user
    row.save()
    return row


def check_curve(points) -> list[list[float]]:
    if not isinstance(points, list | tuple) or not points:
        raise ValueError("late curve: give at least one point, hours=credit, starting at 0 hours")
    clean = []
    for point in points:
        if not isinstance(point, list | tuple) or len(point) != 2:
            raise ValueError(f"late curve: {point!r} is not a pair [hours, credit]")
        try:
            hours, credit = (float(x) for x in point)
        except (TypeError, ValueError):
            raise ValueError(f"late curve: {point!r} is not a pair of numbers [hours, credit]") from None
        if not (math.isfinite(hours) and math.isfinite(credit)):
            raise ValueError("late curve: hours and credit must be finite numbers")
        if not 0 <= credit <= 1:
            raise ValueError(f"late curve: credit {credit:g} at {hours:g} h is outside [0, 1]")
        clean.append([hours, credit])
    if clean[0][0] != 0:
        raise ValueError(f"late curve: the first point must be at 0 hours late, not {clean[0][0]:g}")
    for (h0, c0), (h1, c1) in zip(clean, clean[1:], strict=False):
        if h1 <= h0:
            raise ValueError(f"late curve: hours must increase from point to point ({h1:g} comes after {h0:g})")
        if c1 > c0:
            raise ValueError(f"late curve: credit must not rise with lateness ({c1:g} at {h1:g} h after {c0:g})")
    return clean


def check_fields(fields: Mapping, *, course_wide: bool) -> dict:
    """One row's fields, checked one by one: unknown names, types, positive limits, the late
    policy and its curve. Raises ValueError naming the field."""
    clean = {}
    for name, value in fields.items():
        if name not in policies.FIELDS:
            raise ValueError(f"unknown policy field {name!r} (known: {', '.join(policies.FIELDS)})")
        if value == "":
            value = None
        if name in policies.COURSE_ONLY and value is not None and not course_wide:
            raise ValueError(f"{name} is per course (the tutor's allowance is one per learner per course)")
        if name in ("release_at", "due_at"):
            value = policies.parse_when(value)
        elif name == "late_policy":
            if value is not None and value not in policies.LATE_POLICIES:
                raise ValueError(f"late_policy must be one of {', '.join(policies.LATE_POLICIES)}, not {value!r}")
            value = value or ""
        elif name == "late_curve":
            value = None if value is None else check_curve(policies.parse_curve(value))
        elif value is not None:
            try:
                if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                    raise ValueError
                value = int(value)
            except (TypeError, ValueError):
                raise ValueError(f"{name} must be a whole number, not {value!r}") from None
            if value <= 0:
                raise ValueError(f"{name} must be positive (leave it empty for no limit), not {value}")
        clean[name] = value
    return clean


def check_effective(policy: policies.EffectivePolicy, *, where: str = "") -> None:
    """Rules across fields, on the merged policy: an exercise row can break them together with
    the course's (a release after the course's due date)."""
    at = f" ({where})" if where else ""
    if policy.release_at and policy.due_at and policy.due_at <= policy.release_at:
        raise ValueError(
            f"the due date ({policies.date_words(policy.due_at)}) must come after the release date "
            f"({policies.date_words(policy.release_at)}){at}"
        )
    if policy.late_policy == policies.CURVE and not policy.late_curve:
        raise ValueError(f"late_policy curve needs a late curve, e.g. 0=1, 24=0.5, 72=0{at}")
    if bool(policy.rate_limit) != bool(policy.rate_window_minutes):
        raise ValueError(
            f"a submission limit needs both a number (rate_limit) and a window in minutes (rate_window_minutes){at}"
        )
