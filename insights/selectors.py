"""Reads for course staff: the dashboard, the submissions browser, the stuck-learner queue.
Every function takes a course the caller has already gated (courses.selectors.course_get_for_user
with the TA role at least); none of them reaches outside that course.

Analytics count learners only (the student role): staff trying an exercise are not a cohort."""

from collections import defaultdict
from datetime import timedelta
from statistics import median

from django.db.models import Count, Max, Min, Q
from django.utils import timezone

from courses.models import Exercise, Membership
from grader.models import GradeRecord, Submission
from insights import clusters as clustering
from insights.models import StuckResolution
from tutor.models import Conversation, Message

STUCK_FAILED_SUBMITS = 5  # this many failed submits of one exercise without a pass
STUCK_HOURS = 24  # or trying this long (at least two submits) without a pass
GRADED = {"kind": Submission.Kind.SUBMIT, "status": Submission.Status.GRADED, "gradable": True}


def students_of(*, course) -> set[int]:
    return set(
        Membership.objects.filter(course=course, role=Membership.Role.STUDENT, user__is_staff=False).values_list(
            "user_id", flat=True
        )
    )


def exercises_of(*, course) -> list[Exercise]:
    """The published version's exercises in course order (what learners see)."""
    if course.published_version_id is None:
        return []
    return list(
        Exercise.objects.filter(version_id=course.published_version_id)
        .select_related("module")
        .only("slug", "title", "position", "points", "device", "module__position", "module__title")
    )


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def course_dashboard(*, course, now=None) -> dict:
    """Enrollment, active learners this week, and per exercise: pass rate, median attempts and
    time to pass, and the tests failing most (each a misconception, linked to its cluster)."""
    now = now or timezone.now()
    students = students_of(course=course)
    week_ago = now - timedelta(days=7)
    active = set(
        Submission.objects.filter(course=course, user_id__in=students, created_at__gte=week_ago).values_list(
            "user_id", flat=True
        )
    ) | set(
        Membership.objects.filter(course=course, user_id__in=students, last_seen_at__gte=week_ago).values_list(
            "user_id", flat=True
        )
    )
    started = {
        (r["user_id"], r["exercise_slug"]): r["first"]
        for r in Submission.objects.filter(course=course, user_id__in=students)
        .values("user_id", "exercise_slug")
        .annotate(first=Min("created_at"))
    }
    attempted, first_pass = defaultdict(set), {}
    for uid, slug, number, passed, created in (
        Submission.objects.filter(course=course, user_id__in=students, **GRADED)
        .order_by("created_at")
        .values_list("user_id", "exercise_slug", "number", "passed", "created_at")
    ):
        attempted[slug].add(uid)
        if passed and (uid, slug) not in first_pass:
            first_pass[(uid, slug)] = (number, created)
    failing = defaultdict(lambda: defaultdict(list))
    for sid, slug, result in (
        Submission.objects.filter(course=course, user_id__in=students, passed=False, **GRADED)
        .order_by("-created_at")
        .values_list("id", "exercise_slug", "result")
    ):
        fp = clustering.fingerprint(result)
        if fp is not None:
            failing[slug][(fp.first_test, fp.first_name)].append(sid)
    rows = []
    for ex in exercises_of(course=course):
        passes = {uid: v for (uid, slug), v in first_pass.items() if slug == ex.slug}
        times = [(created - started[(uid, ex.slug)]).total_seconds() for uid, (_, created) in passes.items()]
        tried = len(attempted[ex.slug])
        top = sorted(failing[ex.slug].items(), key=lambda kv: -len(kv[1]))[:3]
        rows.append(
            {
                "exercise": ex,
                "attempted": tried,
                "passed": len(passes),
                "pass_rate": (len(passes) / tried) if tried else None,
                "median_attempts": median([n for n, _ in passes.values()]) if passes else None,
                "median_time": _duration(median(times)) if times else "—",
                "top_failing": [
                    {"test": test, "name": name, "count": len(ids), "examples": ids[:3]} for (test, name), ids in top
                ],
            }
        )
    flagged = Submission.objects.filter(course=course, flagged=True).count()
    return {"enrolled": len(students), "active_week": len(active), "flagged": flagged, "exercises": rows}


BROWSE_STATUSES = {
    "passed": Q(status=Submission.Status.GRADED, passed=True),
    "failed": Q(status=Submission.Status.GRADED, passed=False),
    "error": Q(status=Submission.Status.ERROR),
    "active": Q(status__in=(Submission.Status.QUEUED, Submission.Status.RUNNING)),
    "flagged": Q(flagged=True),
}


def submissions_browse(*, course, learner="", exercise="", status="", kind="", since=None, until=None):
    """Every submission of the course, newest first, filtered. Unknown filter values raise
    ValueError with the allowed ones (the page shows it rather than an unfiltered list)."""
    rows = Submission.objects.filter(course=course).select_related("user", "exercise__version")
    if learner:
        rows = rows.filter(Q(user__username__icontains=learner) | Q(user__email__iexact=learner))
    if exercise:
        rows = rows.filter(exercise_slug=exercise)
    if status:
        if status not in BROWSE_STATUSES:
            raise ValueError(f"unknown status {status!r}; choose one of {', '.join(BROWSE_STATUSES)}")
        rows = rows.filter(BROWSE_STATUSES[status])
    if kind:
        if kind not in Submission.Kind.values:
            raise ValueError(f"unknown kind {kind!r}; choose run or submit")
        rows = rows.filter(kind=kind)
    if since:
        rows = rows.filter(created_at__date__gte=since)
    if until:
        rows = rows.filter(created_at__date__lte=until)
    return rows.defer("files", "events", "result").order_by("-created_at", "-pk")


def grade_history(*, submission) -> list[GradeRecord]:
    return list(submission.grades.select_related("regrade__requested_by").order_by("created_at", "pk"))


def conversation_around(*, submission, hours: int = 2) -> tuple[Conversation | None, list[Message]]:
    """The learner's tutor conversation about this exercise, the messages from an hour before the
    submission to `hours` after it finished: what they asked while working on it."""
    convo = (
        Conversation.objects.filter(
            user=submission.user,
            course=submission.course,
            kind=Conversation.Kind.EXERCISE,
            item_slug=submission.exercise_slug,
        )
        .order_by("-updated_at")
        .first()
    )
    if convo is None:
        return None, []
    start = submission.created_at - timedelta(hours=1)
    end = (submission.finished_at or submission.created_at) + timedelta(hours=hours)
    messages = list(convo.messages.filter(created_at__gte=start, created_at__lte=end).order_by("created_at", "id"))
    return convo, messages


def stuck_learners(*, course, now=None) -> list[dict]:
    """Learners who need a person: many failed submits on one exercise, long trying without a
    pass, or a request for a human. Items a TA resolved stay away until the learner is stuck
    again after that (a newer failed submit or a newer request)."""
    now = now or timezone.now()
    students = students_of(course=course)
    titles = {e.slug: e.title for e in exercises_of(course=course)}
    resolved = {}
    for r in StuckResolution.objects.filter(course=course).order_by("resolved_at"):
        resolved[(r.learner_id, r.exercise_slug)] = r.resolved_at
    items = []
    groups = (
        Submission.objects.filter(course=course, user_id__in=students, **GRADED)
        .values("user_id", "exercise_slug")
        .annotate(
            submits=Count("id"),
            passes=Count("id", filter=Q(passed=True)),
            first=Min("created_at"),
            last=Max("created_at"),
            latest=Max("id"),
        )
        .filter(passes=0)
    )
    for g in groups:
        reasons = []
        if g["submits"] >= STUCK_FAILED_SUBMITS:
            reasons.append(f"{g['submits']} failed submits, none passed")
        hours = (now - g["first"]).total_seconds() / 3600
        if g["submits"] >= 2 and hours >= STUCK_HOURS:
            reasons.append(f"trying for {_duration(hours * 3600)} without a pass")
        since = resolved.get((g["user_id"], g["exercise_slug"]))
        if not reasons or (since is not None and g["last"] <= since):
            continue
        items.append(
            {
                "learner_id": g["user_id"],
                "exercise_slug": g["exercise_slug"],
                "exercise_title": titles.get(g["exercise_slug"], g["exercise_slug"]),
                "reasons": reasons,
                "submits": g["submits"],
                "since": g["first"],
                "last": g["last"],
                "latest_submission": g["latest"],
                "conversation": None,
            }
        )
    by_key = {(i["learner_id"], i["exercise_slug"]): i for i in items}
    for convo in Conversation.objects.filter(course=course, user_id__in=students, human_requested_at__isnull=False):
        answered = convo.messages.filter(role=Message.Role.TA, created_at__gte=convo.human_requested_at).exists()
        slug = convo.item_slug if convo.kind == Conversation.Kind.EXERCISE else ""
        since = resolved.get((convo.user_id, slug))
        if answered or (since is not None and convo.human_requested_at <= since):
            continue
        item = by_key.get((convo.user_id, slug))
        if item is None:
            item = by_key[(convo.user_id, slug)] = {
                "learner_id": convo.user_id,
                "exercise_slug": slug,
                "exercise_title": titles.get(slug, convo.title or "the course"),
                "reasons": [],
                "submits": 0,
                "since": convo.human_requested_at,
                "last": convo.human_requested_at,
                "latest_submission": None,
                "conversation": None,
            }
            items.append(item)
        item["reasons"].insert(0, "asked for a human")
        item["conversation"] = convo.pk
        item["last"] = max(item["last"], convo.human_requested_at)
    from accounts.models import User

    names = dict(User.objects.filter(pk__in={i["learner_id"] for i in items}).values_list("pk", "username"))
    for item in items:
        item["learner"] = names.get(item["learner_id"], "?")
        item["asked"] = item["conversation"] is not None
    # People who asked first, then the longest stuck.
    return sorted(items, key=lambda i: (not i["asked"], i["since"]))
