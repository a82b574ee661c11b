"""Reads for courses, and the permission gates for course objects.

Every view that touches a course goes through one of the `*_get_for_user` gates: they return the
object or raise. A course the user may not see is a 404 (its existence is not revealed); a course
the user sees but lacks the role for is a 403.
"""

import copy
import threading
from collections import OrderedDict

from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import Http404

from courses import policies
from courses.format.exercises import bundle as split_bundle
from courses.models import Course, CourseVersion, Exercise, ExerciseProgress, Lesson, Membership, Module, Policy

Role = Membership.Role
# Who may do what, by role. Site staff count as instructors of every course.
_RANK = {None: 0, Role.STUDENT: 1, Role.TA: 2, Role.INSTRUCTOR: 3}


def role_for(*, user, course: Course) -> str | None:
    if not user.is_authenticated:
        return None
    if user.is_staff:
        return Role.INSTRUCTOR
    membership = _membership(user, course)
    return membership.role if membership is not None else None


def _membership(user, course: Course) -> Membership | None:
    """The user's membership row, read once per request (the role gate and the page both need it)."""
    cache = getattr(user, "_course_memberships", None)
    if cache is None:
        cache = user._course_memberships = {}
    if course.pk not in cache:
        cache[course.pk] = Membership.objects.filter(user=user, course=course).first()
    return cache[course.pk]


def has_role(*, user, course: Course, role: str) -> bool:
    return _RANK[role_for(user=user, course=course)] >= _RANK[role]


def course_get_for_user(*, user, slug: str, role: str | None = None) -> Course:
    """The course if `user` may see it, and holds at least `role` when one is asked for.

    A published course is visible to every signed-in user (so they can enroll); an unpublished
    one only to its staff.
    """
    course = Course.objects.select_related("published_version").filter(slug=slug).first()
    if course is None:
        raise Http404("No such course.")
    current = role_for(user=user, course=course)
    if course.published_version_id is None and _RANK[current] < _RANK[Role.TA]:
        raise Http404("No such course.")
    if role is not None and _RANK[current] < _RANK[role]:
        raise PermissionDenied(f"This page needs the {role} role in {course.title}.")
    return course


def version_for_learner(*, course: Course) -> CourseVersion:
    if course.published_version is None:
        raise Http404("This course has no published version yet.")
    course.published_version.course = course  # so `version.course` costs no query
    return course.published_version


def course_list_visible(*, user) -> list[Course]:
    courses = Course.objects.select_related("published_version").order_by("title")
    return [c for c in courses if c.published_version_id or has_role(user=user, course=c, role=Role.TA)]


def membership_get(*, user, course: Course) -> Membership | None:
    if not user.is_authenticated:
        return None
    return _membership(user, course)


# --- a version's structure, kept per process --------------------------------------------------
# A version's modules, lessons and exercises never change once imported (new content is a new
# version), so each web process keeps what it has read of them: every lesson and exercise page
# needs the reading order (all 45 items of the flagship course) and its own row, and reading those
# each time was most of a page's cost (bench/web.py). Keyed by what identifies the content too, so
# a primary key reused after a rolled-back test transaction never serves another version's rows.
_MEMO: OrderedDict = OrderedDict()
_MEMO_LOCK = threading.Lock()
_MEMO_SIZE = 512


def _memo(version: CourseVersion, name: tuple, build):
    key = (version.pk, version.content_hash, version.created_at, *name)
    with _MEMO_LOCK:
        if key in _MEMO:
            _MEMO.move_to_end(key)
            return _MEMO[key]
    value = build()
    with _MEMO_LOCK:
        _MEMO[key] = value
        while len(_MEMO) > _MEMO_SIZE:
            _MEMO.popitem(last=False)
    return value


def _private(instance):
    """A copy of a kept row for one request: what the caller sets on it stays theirs."""
    mine = copy.copy(instance)
    mine._state = copy.copy(instance._state)
    mine._state.fields_cache = dict(instance._state.fields_cache)
    return mine


def modules_with_items(*, version: CourseVersion) -> list[Module]:
    """Modules in order, each with `.items`: its lessons and exercises interleaved by position.
    Shared by every request of this process: read, never change."""
    return _memo(version, ("modules",), lambda: _modules_with_items(version))


def _modules_with_items(version: CourseVersion) -> list[Module]:
    modules = list(
        Module.objects.filter(version=version).prefetch_related(
            Prefetch(
                "lessons", queryset=Lesson.objects.only("id", "slug", "title", "position", "minutes", "module_id")
            ),
            Prefetch("exercises", queryset=Exercise.objects.defer("spec", "prompt_html")),
        )
    )
    for module in modules:
        items = [("lesson", lesson) for lesson in module.lessons.all()]
        items += [("exercise", exercise) for exercise in module.exercises.all()]
        module.items = sorted(items, key=lambda item: item[1].position)
    return modules


def lesson_get(*, version: CourseVersion, slug: str) -> Lesson:
    lesson = _memo(
        version,
        ("lesson", slug),
        lambda: Lesson.objects.select_related("module").filter(version=version, slug=slug).first(),
    )
    if lesson is None:
        raise Http404("No such lesson in this course.")
    return _private(lesson)


def exercise_get(*, version: CourseVersion, slug: str) -> Exercise:
    exercise = _memo(
        version,
        ("exercise", slug),
        lambda: Exercise.objects.select_related("module", "lesson").filter(version=version, slug=slug).first(),
    )
    if exercise is None:
        raise Http404("No such exercise in this course.")
    exercise = _private(exercise)
    exercise.version = version  # the caller's: its status and course are current
    return exercise


def lesson_exercises(*, version: CourseVersion, lesson: Lesson) -> list[Exercise]:
    """The exercises a lesson leads to, in order (kept like the rest of the version)."""
    return _memo(version, ("lesson-exercises", lesson.pk), lambda: list(lesson.exercises.all()))


def reading_order(*, version: CourseVersion) -> list[tuple[str, object]]:
    """Every lesson and exercise in course order: drives previous/next links."""
    return _memo(
        version, ("order",), lambda: [item for module in modules_with_items(version=version) for item in module.items]
    )


def progress_by_slug(*, user, course: Course) -> dict[str, ExerciseProgress]:
    if not user.is_authenticated:
        return {}
    return {p.exercise_slug: p for p in ExerciseProgress.objects.filter(user=user, course=course)}


def members_of(*, course: Course, role: str | None = None):
    qs = Membership.objects.filter(course=course).select_related("user").order_by("user__username")
    return qs.filter(role=role) if role else qs


# --- course files ---------------------------------------------------------------------------------
_bundle_cache: dict[str, dict] = {}


def version_files(*, version: CourseVersion, prefix: str) -> dict[str, bytes]:
    """Files of a version under `prefix/`, keyed by path relative to it."""
    from courses.models import Blob

    prefix = prefix.rstrip("/") + "/"
    wanted = {p[len(prefix) :]: h for p, h in version.manifest.items() if p.startswith(prefix)}
    blobs = dict(Blob.objects.filter(sha256__in=set(wanted.values())).values_list("sha256", "data"))
    return {rel: bytes(blobs[h]) for rel, h in wanted.items()}


def exercise_bundle(*, exercise: Exercise) -> dict:
    """An exercise's files as text: starter, solution, tests (by path), mutants. Cached per
    content hash (versions are immutable, so the hash is a safe key)."""
    cached = _bundle_cache.get(exercise.content_hash)
    if cached is not None:
        return cached
    files = {
        rel: data.decode("utf-8", "replace")
        for rel, data in version_files(version=exercise.version, prefix=exercise.path).items()
    }
    bundle = split_bundle(files)
    if len(_bundle_cache) > 256:
        _bundle_cache.clear()
    _bundle_cache[exercise.content_hash] = bundle
    return bundle


def exercise_in_version(*, version: CourseVersion, slug: str) -> Exercise | None:
    return Exercise.objects.filter(version=version, slug=slug).first()


def shared_files(*, version: CourseVersion, names: list) -> dict[str, str]:
    """Course-level shared/ files an exercise lists (read-only support for the learner)."""
    if not names:
        return {}
    files = version_files(version=version, prefix="shared")
    return {name: files[name].decode("utf-8", "replace") for name in names if name in files}


# --- policies (courses/policies.py) ---------------------------------------------------------------
def policy_for(*, course: Course, exercise_slug: str) -> policies.EffectivePolicy:
    """The policy an exercise runs under (its row over the course's), in one query. An empty
    slug gives the course-wide one."""
    rows = {p.exercise_slug: p for p in Policy.objects.filter(course=course, exercise_slug__in={"", exercise_slug})}
    return policies.effective(rows.get(""), rows.get(exercise_slug) if exercise_slug else None)


def policy_rows(*, course: Course) -> dict[str, Policy]:
    """The course's own policy rows by exercise slug ("" for the course's), for the staff page."""
    return {p.exercise_slug: p for p in Policy.objects.filter(course=course)}


def policies_for_course(*, course: Course) -> dict[str, policies.EffectivePolicy]:
    """Every exercise's effective policy, keyed by slug, plus "" for the course default: the
    exercises of the published (else the latest) version and any slug a row names (an exercise a
    later version dropped still has submissions to grade). Two queries (three while nothing is
    published)."""
    rows = policy_rows(course=course)
    if course.published_version is not None:
        slugs = [item.slug for kind, item in reading_order(version=course.published_version) if kind == "exercise"]
    else:
        version_id = course.versions.order_by("-number").values_list("pk", flat=True).first()
        slugs = (
            list(Exercise.objects.filter(version_id=version_id).values_list("slug", flat=True)) if version_id else []
        )
    base = rows.get("")
    out = {"": policies.effective(base, None)}
    for slug in [*slugs, *(s for s in rows if s and s not in slugs)]:
        out[slug] = policies.effective(base, rows.get(slug))
    return out
