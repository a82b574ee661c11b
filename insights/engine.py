"""The course data engine, read side: misconception clusters of an exercise's failing submits,
one cluster's detail (examples, trend, tutor questions asked around it) and whether it shrank
after staff acted on it. The caller has gated the course (TA role at least)."""

from collections import Counter
from datetime import timedelta

from django.http import Http404
from django.utils import timezone

from courses import selectors as course_selectors
from grader.models import Submission
from insights import clusters as clustering
from insights.models import ClusterAction
from insights.selectors import GRADED, exercises_of, students_of
from tutor.models import Conversation, Message


def exercise_for_staff(*, course, exercise_slug: str):
    for ex in exercises_of(course=course):
        if ex.slug == exercise_slug:
            return ex
    raise Http404("No such exercise in the published version of this course.")


def _failing_rows(*, course, exercise_slug: str, students: set[int], with_files: bool):
    fields = ["id", "user_id", "exercise_slug", "created_at", "result"] + (["files"] if with_files else [])
    return (
        Submission.objects.filter(
            course=course, exercise_slug=exercise_slug, user_id__in=students, passed=False, **GRADED
        )
        .order_by("-created_at", "-pk")
        .values(*fields)
    )


def clusters_for_exercise(*, course, exercise_slug: str) -> list[clustering.Cluster]:
    exercise = exercise_for_staff(course=course, exercise_slug=exercise_slug)
    reference = course_selectors.exercise_bundle(exercise=exercise)["solution"]
    students = students_of(course=course)
    rows = _failing_rows(course=course, exercise_slug=exercise_slug, students=students, with_files=True)
    passing = Submission.objects.filter(
        course=course, exercise_slug=exercise_slug, user_id__in=students, passed=True, **GRADED
    ).order_by("-created_at")[:200]
    background = set()
    for files in passing.values_list("files", flat=True):
        background |= clustering.changed_lines(files, reference)
    return clustering.build(rows, reference=reference, background=background)


def _trend(days: Counter, *, today, span: int = 28) -> list[dict]:
    out = []
    for back in range(span - 1, -1, -1):
        day = today - timedelta(days=back)
        out.append({"day": day, "count": days.get(day, 0)})
    return out


def _share(signature: str, rows: list[tuple], start, end) -> dict:
    """The cluster's share of the exercise's failing submits in [start, end)."""
    inside = [sig for when, sig in rows if start <= when < end]
    hits = sum(1 for sig in inside if sig == signature)
    return {"failing": len(inside), "in_cluster": hits, "share": (hits / len(inside)) if inside else None}


def cluster_detail(*, course, exercise_slug: str, signature: str, now=None) -> dict:
    now = now or timezone.now()
    found = next(
        (c for c in clusters_for_exercise(course=course, exercise_slug=exercise_slug) if c.signature == signature), None
    )
    if found is None:
        raise Http404("No such cluster (it may have emptied since: every member passed or was regraded).")
    members = list(
        Submission.objects.filter(pk__in=found.submissions[:50]).select_related("user").order_by("-created_at")
    )
    # Every failing submit of the exercise with its signature: the before/after shares of actions.
    signatures = [
        (r["created_at"], (clustering.fingerprint(r["result"]) or clustering.Fingerprint("", "", "", "", ())).signature)
        for r in _failing_rows(
            course=course, exercise_slug=exercise_slug, students=students_of(course=course), with_files=False
        )
    ]
    actions = []
    for action in ClusterAction.objects.filter(course=course, exercise_slug=exercise_slug, signature=signature):
        window = max(now - action.created_at, timedelta(hours=1))
        actions.append(
            {
                "action": action,
                "before": _share(signature, signatures, action.created_at - window, action.created_at),
                "after": _share(signature, signatures, action.created_at, now + timedelta(seconds=1)),
            }
        )
    learners = set(found.learners)
    questions = list(
        Message.objects.filter(
            conversation__course=course,
            conversation__kind=Conversation.Kind.EXERCISE,
            conversation__item_slug=exercise_slug,
            conversation__user_id__in=learners,
            role=Message.Role.LEARNER,
            created_at__gte=found.first_seen - timedelta(hours=1),
            created_at__lte=found.last_seen + timedelta(hours=3),
        )
        .select_related("conversation__user")
        .order_by("-created_at")[:20]
    )
    return {
        "cluster": found,
        "members": members,
        "example": next((m for m in members if m.pk == found.example), members[0] if members else None),
        "trend": _trend(found.days, today=now.date()),
        "actions": actions,
        "questions": questions,
    }
