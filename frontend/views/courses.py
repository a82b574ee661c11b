"""Course outline, enrolment and lesson pages."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from courses import selectors, services
from courses.models import Membership
from courses.policies import limits_words, page_words
from frontend import page_cache
from frontend.page_cache import cached_page
from grader import selectors as grader_selectors

Role = Membership.Role


def _continue_link(course, membership, order):
    """Where "continue" goes: the item after the last one opened, or the first item."""
    if not order:
        return None
    if membership and membership.last_slug:
        for i, (kind, item) in enumerate(order):
            if kind == membership.last_kind and item.slug == membership.last_slug:
                return order[i]
    return order[0]


def policy_context(course) -> dict:
    """What the course and lesson pages say of the course's policy: `dated` (exercise slug -> its
    release and due dates in words, for those that have any) and `course_rules` (its limits)."""
    now = timezone.now()
    effective = selectors.policies_for_course(course=course)
    return {
        "dated": {s: page_words(p, now) for s, p in effective.items() if s and (p.release_at or p.due_at)},
        "course_rules": limits_words(effective[""], gpu=True),
    }


def item_url(course, kind, item):
    name = "lesson_detail" if kind == "lesson" else "exercise_detail"
    return reverse(name, args=[course.slug, item.slug])


@login_required
def course_detail(request, slug):
    course = selectors.course_get_for_user(user=request.user, slug=slug)
    membership = selectors.membership_get(user=request.user, course=course)
    version = course.published_version or course.versions.order_by("-number").first()
    modules = selectors.modules_with_items(version=version) if version else []
    progress = selectors.progress_by_slug(user=request.user, course=course)
    order = [item for module in modules for item in module.items]
    passed = sum(1 for p in progress.values() if p.status == "passed")
    exercises = sum(1 for kind, _ in order if kind == "exercise")
    nxt = _continue_link(course, membership, order)
    return render(
        request,
        "frontend/course_detail.html",
        {
            "course": course,
            "membership": membership,
            "modules": modules,
            "progress": progress,
            "version": version,
            "passed": passed,
            "exercise_count": exercises,
            "percent": round(100 * passed / exercises) if exercises else 0,
            "continue_item": nxt,
            "continue_url": item_url(course, *nxt) if nxt else None,
            "is_staff_role": selectors.has_role(user=request.user, course=course, role=Role.TA),
            "is_instructor": selectors.has_role(user=request.user, course=course, role=Role.INSTRUCTOR),
            **policy_context(course),
        },
    )


@login_required
@require_POST
def course_enroll(request, slug):
    course = selectors.course_get_for_user(user=request.user, slug=slug)
    selectors.version_for_learner(course=course)
    services.membership_enroll(user=request.user, course=course)
    messages.success(request, f"You are enrolled in {course.title}. Welcome!")
    return redirect("course_detail", slug=course.slug)


def learner_context(request, slug):
    """The course and version a member reads; non-members are sent to the course page to enroll."""
    course = selectors.course_get_for_user(user=request.user, slug=slug)
    membership = selectors.membership_get(user=request.user, course=course)
    if membership is None and not request.user.is_staff:
        return course, None, None
    # Staff preview the latest version; learners read the published one.
    if selectors.has_role(user=request.user, course=course, role=Role.TA) and request.GET.get("preview"):
        version = course.versions.order_by("-number").first()
    else:
        version = selectors.version_for_learner(course=course)
    return course, membership, version


@login_required
@cached_page
def lesson_detail(request, slug, lesson_slug):
    course, membership, version = learner_context(request, slug)
    if version is None:
        messages.info(request, "Enroll in the course to read its lessons.")
        return redirect("course_detail", slug=slug)
    lesson = selectors.lesson_get(version=version, slug=lesson_slug)
    order = selectors.reading_order(version=version)
    index = next(i for i, (kind, item) in enumerate(order) if kind == "lesson" and item.pk == lesson.pk)
    prev_item = order[index - 1] if index > 0 else None
    next_item = order[index + 1] if index + 1 < len(order) else None
    page_cache.touch(request, membership, "lesson", lesson.slug)
    exercises = selectors.lesson_exercises(version=version, lesson=lesson)
    dated = policy_context(course)["dated"] if exercises else {}
    page_cache.not_after(request, *(d[k] for d in dated.values() for k in ("release_at", "due_at")))
    return render(
        request,
        "frontend/lesson.html",
        {
            "course": course,
            "lesson": lesson,
            "version": version,
            "membership": membership,
            "prev": (prev_item, item_url(course, *prev_item)) if prev_item else None,
            "next": (next_item, item_url(course, *next_item)) if next_item else None,
            "exercises": exercises,
            "tutor_context": {"kind": "lesson", "slug": lesson.slug},
            "dated": dated,
            "scoreboard": grader_selectors.scoreboard(user=request.user, course=course, rows=lesson.scoreboard)
            if lesson.scoreboard
            else [],
            "figures": grader_selectors.lesson_figures(user=request.user, course=course, rows=lesson.figures)
            if lesson.figures
            else [],
        },
    )
