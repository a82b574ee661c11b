"""For a course's TAs and instructors: the dashboard, the submissions browser, the gradebook,
the stuck-learner queue, integrity review, learners' progress and tutor transcripts. Thin: each
view gates the course (courses.selectors), parses input and calls an insights/grader function."""

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.models import User
from courses import selectors as course_selectors
from courses.models import ExerciseProgress, Membership
from grader import selectors as grader_selectors
from grader import services as grader_services
from grader.models import Submission
from insights import gradebook as gradebook_data
from insights import selectors as insights
from insights import services as insight_services
from tutor import selectors as tutor_selectors

TA = Membership.Role.TA


def _course(request, slug, role=TA):
    return course_selectors.course_get_for_user(user=request.user, slug=slug, role=role)


def _page(request, course, template, **context):
    context.update(
        course=course,
        is_instructor=course_selectors.has_role(user=request.user, course=course, role=Membership.Role.INSTRUCTOR),
    )
    return render(request, template, context)


@login_required
def overview(request, slug):
    course = _course(request, slug)
    members = course_selectors.members_of(course=course).annotate(
        passed=Count(
            "user__progress",
            filter=Q(user__progress__course=course, user__progress__status=ExerciseProgress.Status.PASSED),
        ),
        attempted=Count("user__progress", filter=Q(user__progress__course=course)),
    )
    return _page(
        request,
        course,
        "frontend/staff_overview.html",
        members=members,
        conversations=tutor_selectors.conversations_for_staff(course=course)[:100],
        usage=tutor_selectors.usage_for_course(course=course),
        flagged=grader_selectors.flagged_for_staff(course=course),
    )


@login_required
def dashboard(request, slug):
    course = _course(request, slug)
    return _page(request, course, "frontend/staff_dashboard.html", data=insights.course_dashboard(course=course))


def _date(value: str, name: str):
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{name}: {value!r} is not a date like 2026-12-07") from None


@login_required
def submissions(request, slug):
    course = _course(request, slug)
    q = {k: request.GET.get(k, "").strip() for k in ("learner", "exercise", "status", "kind", "since", "until")}
    error = ""
    try:
        rows = insights.submissions_browse(
            course=course,
            learner=q["learner"],
            exercise=q["exercise"],
            status=q["status"],
            kind=q["kind"],
            since=_date(q["since"], "since"),
            until=_date(q["until"], "until"),
        )
    except ValueError as exc:
        error, rows = str(exc), insights.submissions_browse(course=course).none()
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    flagged_ids = [s.pk for s in page if s.flagged]
    reasons = {
        s.pk: grader_selectors.integrity_reasons(s, limit=1)
        for s in Submission.objects.filter(pk__in=flagged_ids).only("id", "result")
    }
    for s in page:
        s.flag_reasons = reasons.get(s.pk, [])
    keep = "&".join(f"{k}={v}" for k, v in q.items() if v)
    return _page(
        request,
        course,
        "frontend/staff_submissions.html",
        page=page,
        q=q,
        keep=keep,
        error=error,
        exercises=insights.exercises_of(course=course),
        statuses=list(insights.BROWSE_STATUSES),
    )


@login_required
def gradebook(request, slug):
    course = _course(request, slug)
    if request.GET.get("format") == "csv":
        response = HttpResponse(gradebook_data.gradebook_csv(course=course), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{course.slug}-gradebook.csv"'
        return response
    return _page(request, course, "frontend/staff_gradebook.html", book=gradebook_data.gradebook(course=course))


@login_required
def stuck(request, slug):
    course = _course(request, slug)
    return _page(request, course, "frontend/staff_stuck.html", items=insights.stuck_learners(course=course))


@login_required
@require_POST
def stuck_resolve(request, slug):
    course = _course(request, slug)
    learner = get_object_or_404(User, pk=request.POST.get("learner") or 0)
    if course_selectors.membership_get(user=learner, course=course) is None:
        raise Http404("No such learner in this course.")
    insight_services.stuck_resolve(
        course=course,
        learner=learner,
        exercise_slug=request.POST.get("exercise", ""),
        user=request.user,
        note=request.POST.get("note", ""),
    )
    messages.success(request, f"Marked {learner.username} as helped.")
    return redirect("staff_stuck", slug=slug)


@login_required
@require_POST
def flag_clear(request, submission_id):
    submission = grader_selectors.submission_get_for_user(user=request.user, submission_id=submission_id)
    if not grader_selectors.can_review(user=request.user, submission=submission):
        raise Http404("No such submission.")
    try:
        grader_services.integrity_clear(submission=submission, user=request.user, note=request.POST.get("note", ""))
        messages.success(request, "The flag is cleared; the evidence and your note stay with the submission.")
    except ValueError as exc:
        messages.error(request, str(exc))
    return redirect("submission_detail", submission_id=submission.pk)


@login_required
@require_POST
def notices_read(request):
    ids = [int(i) for i in request.POST.getlist("notice") if i.isdigit()]
    grader_services.notice_mark_read(user=request.user, notice_ids=ids)
    target = request.POST.get("next") or ""
    safe = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return redirect(target if safe else "home")


@login_required
def conversation(request, slug, conversation_id):
    course = _course(request, slug)
    convo = tutor_selectors.conversation_get_for_user(
        user=request.user, conversation_id=conversation_id, for_staff=True
    )
    if convo.course_id != course.pk:
        raise Http404("No such conversation in this course.")
    return _page(
        request,
        course,
        "frontend/staff_conversation.html",
        conversation=convo,
        messages=tutor_selectors.conversation_messages(conversation=convo),
    )
