"""Per-learner question allowance, CS50-style: a full bar of `quota` questions, one question back
every `refill_seconds`, never above the cap. Set per course by its policy (courses/policies.py),
else in course.toml [tutor]."""

import math
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from courses.selectors import policy_for
from tutor.models import Allowance


class QuotaExceeded(Exception):
    def __init__(self, seconds_left: int):
        super().__init__(f"out of questions for now; one comes back in {seconds_left} s")
        self.seconds_left = seconds_left


def course_limits(course) -> tuple[int, int]:
    """(questions, seconds per question back): the course's policy where it sets them (the
    instructors' Dates and limits page), else course.toml [tutor], else the settings."""
    tutor = ((course.published_version.meta if course.published_version else {}) or {}).get("tutor") or {}
    policy = policy_for(course=course, exercise_slug="")
    quota = policy.tutor_quota or tutor.get("quota", settings.TUTOR_QUOTA)
    refill = policy.tutor_refill_seconds or tutor.get("refill_seconds", settings.TUTOR_REFILL_SECONDS)
    return int(quota), int(refill)


def _refilled(points: float, since: datetime, now: datetime, cap: int, refill: int) -> float:
    return min(float(cap), points + max(0.0, (now - since).total_seconds()) / refill)


def allowance_status(*, user, course, now=None) -> dict:
    now = now or timezone.now()
    cap, refill = course_limits(course)
    row = Allowance.objects.filter(user=user, course=course).first()
    points = _refilled(row.points, row.updated_at, now, cap, refill) if row else float(cap)
    next_in = 0 if points >= cap else math.ceil(round((1 - (points - math.floor(points))) * refill, 6))
    return {"left": math.floor(points), "cap": cap, "refill_seconds": refill, "next_in": next_in}


@transaction.atomic
def allowance_take(*, user, course, now=None) -> dict:
    """Spend one question or raise QuotaExceeded (with the wait until the next one)."""
    now = now or timezone.now()
    cap, refill = course_limits(course)
    row, _ = Allowance.objects.select_for_update().get_or_create(
        user=user, course=course, defaults={"points": float(cap), "updated_at": now}
    )
    points = _refilled(row.points, row.updated_at, now, cap, refill)
    if points < 1:
        raise QuotaExceeded(math.ceil(round((1 - points) * refill, 6)))
    row.points, row.updated_at = points - 1, now
    row.save(update_fields=["points", "updated_at"])
    return allowance_status(user=user, course=course, now=now)
