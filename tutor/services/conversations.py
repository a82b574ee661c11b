"""Conversations and their messages: learner questions, TA messages, ratings, asking for a human."""

from django.conf import settings
from django.utils import timezone

from courses import rendering
from tutor.models import Conversation, Message


class MessageRejected(ValueError):
    """A message that cannot be accepted; the text says why (shown to the sender)."""


def conversation_start(
    *, user, course, kind: str, item_slug: str = "", title: str = "", new: bool = False
) -> Conversation:
    """The learner's conversation about this lesson or exercise (resumed), or a new one."""
    if kind not in Conversation.Kind.values:
        raise MessageRejected(f"unknown conversation kind {kind!r}")
    if not new:
        existing = (
            Conversation.objects.filter(user=user, course=course, kind=kind, item_slug=item_slug)
            .order_by("-updated_at")
            .first()
        )
        if existing:
            return existing
    return Conversation.objects.create(user=user, course=course, kind=kind, item_slug=item_slug, title=title[:200])


def clean_text(text) -> str:
    if not isinstance(text, str):
        raise MessageRejected("a message must be text")
    text = text.replace("\x00", "").strip()
    if not text:
        raise MessageRejected("the message is empty")
    if len(text) > settings.TUTOR_MAX_QUESTION_CHARS:
        raise MessageRejected(
            f"the message is {len(text):,} characters; the limit is {settings.TUTOR_MAX_QUESTION_CHARS:,}. "
            "Ask about one part, and paste only the lines that matter."
        )
    return text


def render_plain(text: str, course_slug: str, labels: dict | None = None) -> str:
    """Markdown from people and models: no raw HTML at all, then sanitised."""
    return rendering.render(
        text, link_base=f"/courses/{course_slug}/lessons/", allow_html=False, link_labels=labels
    ).html


def message_add_learner(*, conversation: Conversation, text: str, context: dict | None = None) -> Message:
    text = clean_text(text)
    message = Message.objects.create(
        conversation=conversation,
        role=Message.Role.LEARNER,
        author=conversation.user,
        text=text,
        html=render_plain(text, conversation.course.slug),
        context=context or {},
    )
    if not conversation.title:
        conversation.title = text[:80]
    conversation.save(update_fields=["title", "updated_at"])
    return message


def message_add_ta(*, conversation: Conversation, author, text: str) -> Message:
    text = clean_text(text)
    message = Message.objects.create(
        conversation=conversation,
        role=Message.Role.TA,
        author=author,
        text=text,
        html=render_plain(text, conversation.course.slug),
    )
    conversation.save(update_fields=["updated_at"])
    return message


def message_rate(*, message: Message, user, rating: int, comment: str = "") -> Message:
    if message.conversation.user_id != user.pk:
        raise MessageRejected("only the learner of this conversation can rate its replies")
    if message.role != Message.Role.TUTOR:
        raise MessageRejected("only tutor replies can be rated")
    if rating not in (-1, 0, 1):
        raise MessageRejected("rating must be -1, 0 or 1")
    message.rating, message.rating_comment = rating, (comment or "")[:500]
    message.save(update_fields=["rating", "rating_comment"])
    return message


def conversation_request_human(*, conversation: Conversation, user) -> Conversation:
    if conversation.user_id != user.pk:
        raise MessageRejected("only the learner can ask for a human in their conversation")
    if conversation.human_requested_at is None:
        conversation.human_requested_at = timezone.now()
        conversation.save(update_fields=["human_requested_at", "updated_at"])
        Message.objects.create(
            conversation=conversation,
            role=Message.Role.SYSTEM,
            text="You asked for a person. A TA of this course will read this conversation and answer here.",
            html="<p>You asked for a person. A TA of this course will read this conversation and answer here.</p>",
        )
    return conversation
