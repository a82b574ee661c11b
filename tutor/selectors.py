"""Reads for the tutor and the permission gate for conversations."""

from django.db.models import Count, Q, Sum
from django.http import Http404

from courses.models import Membership
from courses.selectors import has_role
from tutor.models import Conversation, Message


def conversation_get_for_user(*, user, conversation_id: int, for_staff: bool = False) -> Conversation:
    """The learner's own conversation, or any conversation of a course where `user` is a TA or
    instructor. Everything else is a 404: another learner's conversation is never readable."""
    conversation = Conversation.objects.select_related("course", "user").filter(pk=conversation_id).first()
    if conversation is None or not user.is_authenticated:
        raise Http404("No such conversation.")
    if conversation.user_id == user.pk and not for_staff:
        return conversation
    if has_role(user=user, course=conversation.course, role=Membership.Role.TA):
        return conversation
    raise Http404("No such conversation.")


def is_staff_viewer(*, user, conversation: Conversation) -> bool:
    return conversation.user_id != user.pk and has_role(user=user, course=conversation.course, role=Membership.Role.TA)


def conversation_messages(*, conversation: Conversation, limit: int = 200) -> list[Message]:
    return list(conversation.messages.select_related("author").order_by("created_at", "id")[:limit])


def conversations_for_learner(*, user, course) -> list[Conversation]:
    return list(
        Conversation.objects.filter(user=user, course=course).annotate(n=Count("messages")).order_by("-updated_at")
    )


def conversations_for_staff(*, course):
    flagged = Q(messages__rating=-1) | ~Q(messages__flags=[]) | Q(human_requested_at__isnull=False)
    return (
        Conversation.objects.filter(course=course)
        .select_related("user")
        .annotate(n=Count("messages", distinct=True), flagged=Count("messages", filter=flagged, distinct=True))
        .order_by("-human_requested_at", "-updated_at")
    )


def usage_for_course(*, course) -> dict:
    agg = Message.objects.filter(conversation__course=course, role=Message.Role.TUTOR).aggregate(
        replies=Count("id"), tokens_in=Sum("tokens_in"), tokens_out=Sum("tokens_out"), cost=Sum("cost_usd")
    )
    return {k: v or 0 for k, v in agg.items()}


def graded_submission_for(*, user, conversation: Conversation, exercise_slug: str):
    """The learner's latest graded Run or Submit of the exercise a conversation is about: what
    the tutor reasons about and what its code check runs against. Read through the
    submission's permission gate, so a conversation can never reach someone else's files."""
    from grader.selectors import latest_result, submission_get_for_user

    latest = latest_result(user=conversation.user, course=conversation.course, exercise_slug=exercise_slug)
    if latest is None:
        return None
    return submission_get_for_user(user=user, submission_id=latest.pk)


def submission_for_check(*, user, submission_id: int):
    """A stored submission, re-read through its permission gate, for the tutor's code check."""
    from grader.selectors import submission_get_for_user

    return submission_get_for_user(user=user, submission_id=submission_id)
