"""Reads for grading, and the permission gate for submissions."""

from django.http import Http404

from courses.models import Membership
from courses.selectors import has_role
from grader.models import Draft, Submission


def submission_get_for_user(*, user, submission_id: int) -> Submission:
    """A learner sees their own submissions; TAs and instructors see those in their courses.
    Anything else is a 404, so ids of other people's work reveal nothing."""
    submission = (
        Submission.objects.select_related("exercise__version", "course", "user").filter(pk=submission_id).first()
    )
    if submission is None or not user.is_authenticated:
        raise Http404("No such submission.")
    if submission.user_id == user.pk or has_role(user=user, course=submission.course, role=Membership.Role.TA):
        return submission
    raise Http404("No such submission.")


def submission_history(*, user, course, exercise_slug: str, limit: int = 50) -> list[Submission]:
    return list(
        Submission.objects.filter(user=user, course=course, exercise_slug=exercise_slug)
        .select_related("exercise__version")
        .order_by("-created_at")[:limit]
    )


def submission_previous(*, submission: Submission) -> Submission | None:
    return (
        Submission.objects.filter(
            user=submission.user,
            course=submission.course,
            exercise_slug=submission.exercise_slug,
            created_at__lt=submission.created_at,
        )
        .order_by("-created_at")
        .first()
    )


def latest_result(*, user, course, exercise_slug: str) -> Submission | None:
    return (
        Submission.objects.filter(
            user=user, course=course, exercise_slug=exercise_slug, status=Submission.Status.GRADED
        )
        .order_by("-created_at")
        .first()
    )


def draft_get(*, user, course, exercise_slug: str) -> Draft | None:
    return Draft.objects.filter(user=user, course=course, exercise_slug=exercise_slug).first()


def flagged_for_staff(*, course, limit: int = 50) -> list[dict]:
    """Submissions in this course whose grading found evidence of tampering, newest first, each
    with the reasons staff need to review it. The caller has checked the staff role."""
    rows = (
        Submission.objects.filter(course=course, flagged=True)
        .select_related("user", "exercise")
        .order_by("-created_at")[:limit]
    )
    return [{"submission": s, "reasons": integrity_reasons(s)} for s in rows]


def integrity_reasons(submission: Submission, limit: int = 5) -> list[str]:
    """The evidence behind a flag, as short lines ("channel: 12 forged and 0 malformed lines…")."""
    integrity = (submission.result or {}).get("integrity") or {}
    reasons = []
    for item in integrity.get("evidence") or []:
        line = f"{item.get('kind') or 'evidence'}: {item.get('detail') or ''}".strip()
        if item.get("test"):
            line += f" (during {item['test']})"
        if line not in reasons:
            reasons.append(line)
    return reasons[:limit]


def can_review(*, user, submission: Submission) -> bool:
    """Staff of the submission's course see its integrity evidence; the learner sees only the
    verdict (the failed tests say they were tampered with)."""
    return has_role(user=user, course=submission.course, role=Membership.Role.TA)


def _recent_graded(*, user, course, exercise_slug: str, limit: int = 20):
    """The learner's own graded, gradable submissions of one exercise, newest first."""
    return (
        Submission.objects.filter(
            user=user, course=course, exercise_slug=exercise_slug, status=Submission.Status.GRADED, gradable=True
        )
        .only("pk", "kind", "result", "created_at")
        .order_by("-created_at")[:limit]
    )


def scoreboard(*, user, course, rows: list[dict]) -> list[dict]:
    """A lesson's scoreboard filled with this learner's own numbers: for each row, the last value
    of the metric in their most recent graded run that reported it (a Submit's hidden training
    run, or a Run's). Only the learner's own submissions are read."""
    filled = []
    for row in rows:
        mine = None
        for submission in _recent_graded(user=user, course=course, exercise_slug=row["exercise"]):
            series = ((submission.result or {}).get("metrics") or {}).get(row["metric"]) or []
            if series and isinstance(series[-1], list) and len(series[-1]) == 2:
                value = series[-1][1]  # a float, or "NaN" / "Infinity" for a diverged run
                shown = f"{value:.4f}" if isinstance(value, (int, float)) else str(value)[:20]
                mine = {"value": value, "shown": shown, "kind": submission.kind, "submission": submission.pk}
                break
        filled.append({**row, "mine": mine})
    return filled


def lesson_figures(*, user, course, rows: list[dict]) -> list[dict]:
    """A lesson's figures drawn from this learner's own latest graded run of each exercise that
    drew them (check.heatmap / scatter / graph); `figure` is None where they have none yet."""
    filled = []
    for row in rows:
        recent = _recent_graded(user=user, course=course, exercise_slug=row["exercise"])
        figures = (((s.result or {}).get("figures") or {}).get(row["name"]) for s in recent)
        figure = next((f for f in figures if isinstance(f, dict)), None)
        filled.append({**row, "label": row.get("label") or row["name"], "figure": figure})
    return filled


def references_status(*, version) -> dict:
    """For instructors: which exercises of `version` have every test's expected values cached
    (their first learner takes the warm path), which are still being computed, which failed."""
    from grader.models import ReferenceRun
    from grader.services.references import covered_tests

    exercises = list(version.exercises.all())
    rows: dict[str, list] = {}
    for content_hash, events, error in ReferenceRun.objects.filter(
        content_hash__in={e.content_hash for e in exercises}
    ).values_list("content_hash", "events", "error"):
        rows.setdefault(content_hash, []).append((events, error))
    ready, pending, failed = [], [], []
    for exercise in exercises:
        found = rows.get(exercise.content_hash, [])
        wanted = {t["id"] for t in exercise.spec.get("tests") or []}
        if wanted <= covered_tests(events for events, _ in found):
            ready.append(exercise.slug)
        elif any(error for _, error in found):
            failed.append({"slug": exercise.slug, "error": next(error for _, error in found if error)})
        else:
            pending.append(exercise.slug)
    return {"total": len(exercises), "ready": ready, "pending": pending, "failed": failed}
