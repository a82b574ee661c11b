"""For a course's TAs and instructors: submissions flagged for integrity review, learners'
progress, tutor transcripts (flagged first), usage and cost, and a live view of one
conversation they can join."""

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.shortcuts import render

from courses import selectors as course_selectors
from courses.models import ExerciseProgress, Membership
from grader import selectors as grader_selectors
from tutor import selectors as tutor_selectors


@login_required
def overview(request, slug):
    course = course_selectors.course_get_for_user(user=request.user, slug=slug, role=Membership.Role.TA)
    members = course_selectors.members_of(course=course).annotate(
        passed=Count(
            "user__progress",
            filter=Q(user__progress__course=course, user__progress__status=ExerciseProgress.Status.PASSED),
        ),
        attempted=Count("user__progress", filter=Q(user__progress__course=course)),
    )
    return render(
        request,
        "frontend/staff_overview.html",
        {
            "course": course,
            "members": members,
            "conversations": tutor_selectors.conversations_for_staff(course=course)[:100],
            "usage": tutor_selectors.usage_for_course(course=course),
            "flagged": grader_selectors.flagged_for_staff(course=course),
        },
    )


@login_required
def conversation(request, slug, conversation_id):
    course = course_selectors.course_get_for_user(user=request.user, slug=slug, role=Membership.Role.TA)
    convo = tutor_selectors.conversation_get_for_user(
        user=request.user, conversation_id=conversation_id, for_staff=True
    )
    if convo.course_id != course.pk:
        from django.http import Http404

        raise Http404("No such conversation in this course.")
    return render(
        request,
        "frontend/staff_conversation.html",
        {
            "course": course,
            "conversation": convo,
            "messages": tutor_selectors.conversation_messages(conversation=convo),
        },
    )
