"""What a course's policy (courses/policies.py) leaves a learner on one exercise, and the check
`submission_create` makes before it stores anything, in this order: the release date, a closed
due date, the submit window, the weekly GPU budget. Staff (TA and up) are exempt from all four.

Counted from the database rather than a cache: the submissions are the record, the next allowed
time of a sliding window comes from the oldest submit still in it, and `submission_create` counts
inside its per-learner lock, so two requests at once cannot both take the last submit.
"""

import math
from datetime import timedelta

from django.utils import timezone

from courses import policies
from courses import selectors as course_selectors
from courses.models import Membership
from gpu_runner import contract
from grader.models import Submission
from grader.services.errors import SubmissionClosed, SubmissionLimited

GPU_QUEUE = contract.QUEUE_GPU


def exempt(*, user, course) -> bool:
    return course_selectors.has_role(user=user, course=course, role=Membership.Role.TA)


def submit_times(*, user, course, exercise_slug: str, since) -> list:
    """When the learner's Submits that count toward the window were made: a Run never counts,
    nor a submission that could not be graded (an infrastructure fault costs the learner nothing)."""
    return list(
        Submission.objects.filter(
            user=user,
            course=course,
            exercise_slug=exercise_slug,
            kind=Submission.Kind.SUBMIT,
            gradable=True,
            created_at__gt=since,
        ).values_list("created_at", flat=True)
    )


def gpu_seconds_used(*, user, course, since) -> float:
    """Wall seconds of the learner's GPU-queue jobs in this course since `since`, Runs included
    (both hold a GPU). A job still waiting or running has no result yet and counts nothing."""
    values = Submission.objects.filter(user=user, course=course, queue=GPU_QUEUE, created_at__gte=since).values_list(
        "result__resources__wall_seconds", flat=True
    )
    # Non-finite values are stored as "NaN"/"Infinity" (which the JSON key lookup may hand back
    # as floats): not a measurement, so not counted.
    return float(sum(v for v in values if isinstance(v, int | float) and math.isfinite(v)))


def _window(*, user, exercise, policy, now) -> tuple[policies.WindowState | None, list]:
    if not policy.rate_limited:
        return None, []
    since = now - timedelta(minutes=policy.rate_window_minutes)
    times = submit_times(user=user, course=exercise.version.course, exercise_slug=exercise.slug, since=since)
    return policies.window_state(
        limit=policy.rate_limit, minutes=policy.rate_window_minutes, times=times, now=now
    ), times


def gpu_for(*, user, exercise, policy, now) -> policies.GpuState | None:
    if exercise.device != "gpu" or not policy.gpu_seconds_per_week:
        return None
    used = gpu_seconds_used(user=user, course=exercise.version.course, since=policies.week_start(now))
    return policies.gpu_state(budget=policy.gpu_seconds_per_week, used_seconds=used, now=now)


def learner_limits(*, user, exercise, policy=None, now=None) -> dict:
    """Where the learner stands, for the exercise page and the submit response:
    {"window": {...} or None, "gpu": {...} or None, "exempt": bool}; staff get "rules" too: the
    limits in words, which do not apply to them."""
    course = exercise.version.course
    policy = policy or course_selectors.policy_for(course=course, exercise_slug=exercise.slug)
    if exempt(user=user, course=course):
        rules = policies.limits_words(policy, gpu=exercise.device == "gpu")
        return {"window": None, "gpu": None, "exempt": True, "rules": rules}
    now = now or timezone.now()
    window, _times = _window(user=user, exercise=exercise, policy=policy, now=now)
    gpu = gpu_for(user=user, exercise=exercise, policy=policy, now=now)
    return {"window": window and window.as_dict(), "gpu": gpu and gpu.as_dict(), "exempt": False}


def require_within_policy(*, user, exercise, kind: str, now=None) -> dict:
    """Refuse a Run or Submit the policy does not allow (SubmissionClosed: 403, SubmissionLimited:
    429 with retry_after), else return where the learner stands once it is stored. Run is held
    to the release date and the GPU budget only: it grades nothing, so it neither counts toward
    the window nor closes with the due date (learners can still practise)."""
    course = exercise.version.course
    if exempt(user=user, course=course):
        return {"window": None, "gpu": None, "exempt": True}
    now = now or timezone.now()
    policy = course_selectors.policy_for(course=course, exercise_slug=exercise.slug)
    submit = kind == Submission.Kind.SUBMIT
    if not policy.released(now):
        raise SubmissionClosed(policies.release_message(policy, now))
    if submit and policy.closed(now):
        raise SubmissionClosed(policies.closed_message(policy))
    window, times = _window(user=user, exercise=exercise, policy=policy, now=now)
    if submit and window and not window.left:
        raise SubmissionLimited(
            f"You have used all {window.limit} submissions allowed in any "
            f"{policies.window_words(window.minutes)} window for this exercise. The next one is allowed "
            f"{policies.when_words(window.next_at, window.retry_after)}. Run does not count: you can still run "
            "the visible tests.",
            retry_after=window.retry_after,
            quota={"window": window.as_dict()},
        )
    gpu = gpu_for(user=user, exercise=exercise, policy=policy, now=now)
    if gpu and gpu.exhausted:
        raise SubmissionLimited(
            f"You have used {gpu.used:.0f} s of your {gpu.budget} s of GPU time this week in {course.title}. "
            f"It resets {policies.when_words(gpu.resets_at, gpu.retry_after)}.",
            retry_after=gpu.retry_after,
            quota={"gpu": gpu.as_dict()},
        )
    if submit and window:  # the one being stored now counts
        window = policies.window_state(limit=window.limit, minutes=window.minutes, times=[*times, now], now=now)
    return {"window": window and window.as_dict(), "gpu": gpu and gpu.as_dict(), "exempt": False}
