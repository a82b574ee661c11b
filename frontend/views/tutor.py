"""HTTP side of the tutor: open (or resume) a conversation, list them, rate a reply, ask a human."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from courses import selectors as course_selectors
from courses.models import Membership
from frontend.views.body import BadBody, read_json
from tutor import selectors, services
from tutor.models import Message


@login_required
@require_POST
def start(request, slug):
    course = course_selectors.course_get_for_user(user=request.user, slug=slug)
    if not course_selectors.has_role(user=request.user, course=course, role=Membership.Role.STUDENT):
        return JsonResponse({"error": "Enroll in the course to use its tutor."}, status=403)
    try:
        data = read_json(request, fields={"kind": str, "slug": str, "new": bool})
    except BadBody as exc:
        return exc.response()
    try:
        conversation = services.conversation_start(
            user=request.user,
            course=course,
            kind=data.get("kind", "course"),
            item_slug=data.get("slug", "")[:80],
            new=bool(data.get("new")),
        )
    except services.MessageRejected as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse(
        {
            "id": conversation.pk,
            "ws": f"/ws/tutor/{conversation.pk}/",
            "quota": services.allowance_status(user=request.user, course=course),
        }
    )


@login_required
def conversations(request, slug):
    course = course_selectors.course_get_for_user(user=request.user, slug=slug)
    return render(
        request,
        "frontend/tutor_conversations.html",
        {
            "course": course,
            "conversations": selectors.conversations_for_learner(user=request.user, course=course),
            "quota": services.allowance_status(user=request.user, course=course),
        },
    )


@login_required
@require_POST
def rate(request, message_id):
    message = Message.objects.select_related("conversation").filter(pk=message_id).first()
    if message is None:
        raise Http404("No such message.")
    selectors.conversation_get_for_user(user=request.user, conversation_id=message.conversation_id)
    try:
        data = read_json(request, fields={"rating": int, "comment": str})
    except BadBody as exc:
        return exc.response()
    try:
        rating = data.get("rating", 0)
        services.message_rate(message=message, user=request.user, rating=rating, comment=data.get("comment", ""))
    except (ValueError, TypeError, services.MessageRejected) as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse({"rating": message.rating})


@login_required
@require_POST
def ask_human(request, conversation_id):
    conversation = selectors.conversation_get_for_user(user=request.user, conversation_id=conversation_id)
    try:
        services.conversation_request_human(conversation=conversation, user=request.user)
    except services.MessageRejected as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse({"requested_at": conversation.human_requested_at.isoformat()})
