"""Websocket consumers: transport only. They parse frames, call selectors/services, and relay
channel-layer events to the browser (DESIGN.md §2).

Close codes used across consumers (4000-4999 are application codes):
- 4401: no signed-in session
- 4403: signed in, but not allowed to see this object
- 4400: a frame that is not the JSON shape this endpoint takes (sent as an error frame; the
  socket stays open so one bad message loses nothing)
"""

import json

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.http import Http404

from gpu_runner.events import MAX_SEQ, group_name, replay

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403


class JsonConsumer(AsyncJsonWebsocketConsumer):
    """Shared handling of malformed frames: answer with an error frame, keep the socket."""

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        if text_data is None:
            await self.send_json({"type": "error", "error": "binary frames are not accepted; send JSON text"})
            return
        try:
            content = json.loads(text_data)
        except ValueError:
            await self.send_json({"type": "error", "error": "frame is not valid JSON"})
            return
        if not isinstance(content, dict) or not isinstance(content.get("type"), str):
            await self.send_json({"type": "error", "error": 'frame must be a JSON object with a string "type"'})
            return
        await self.receive_json(content)

    async def reject_anonymous(self) -> bool:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return True
        return False


class PingConsumer(JsonConsumer):
    """Liveness of the websocket path (auth scope, origin check, channel layer) for the header
    indicator and for tests: joins a per-user group, answers pings, relays group notices."""

    async def connect(self):
        if await self.reject_anonymous():
            return
        self.group = f"user.{self.scope['user'].pk}"
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        if content["type"] == "ping":
            await self.send_json({"type": "pong", "user": self.scope["user"].username})
        else:
            await self.send_json({"type": "error", "error": f"unknown message type {content['type']!r}"})

    async def user_notice(self, event):
        await self.send_json({"type": "notice", "text": event["text"]})


class SubmissionConsumer(JsonConsumer):
    """Live events of one submission. The browser sends {"type": "resume", "after": <last seq>}
    and gets every logged event after it, then live ones; each seq is sent at most once per
    connection, so a reconnect neither loses nor duplicates a card."""

    async def connect(self):
        if await self.reject_anonymous():
            return
        from grader.selectors import submission_get_for_user

        try:
            self.submission = await database_sync_to_async(submission_get_for_user)(
                user=self.scope["user"], submission_id=int(self.scope["url_route"]["kwargs"]["submission_id"])
            )
        except Http404:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.group = group_name(self.submission.pk)
        self.sent: set[int] = set()
        self.replaying = True
        self.held: list[dict] = []
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        if content["type"] != "resume":
            await self.send_json({"type": "error", "error": f"unknown message type {content['type']!r}; send resume"})
            return
        after = content.get("after", 0)
        if not isinstance(after, int) or isinstance(after, bool) or not 0 <= after <= MAX_SEQ:
            await self.send_json({"type": "error", "error": f"resume.after must be an integer from 0 to {MAX_SEQ}"})
            return
        self.replaying = True
        for event in await database_sync_to_async(self._backlog)(after):
            await self._send_event(event)
        held, self.held, self.replaying = self.held, [], False
        for event in sorted(held, key=lambda e: e.get("seq", 0)):
            if event.get("seq", 0) > after:
                await self._send_event(event)

    def _backlog(self, after):
        events = replay(self.submission.pk, after)
        if not events:
            self.submission.refresh_from_db(fields=["events", "status"])
            events = [e for e in self.submission.events or [] if e.get("seq", 0) > after]
        return events

    async def submission_event(self, message):
        event = message["event"]
        if self.replaying:
            self.held.append(event)
        else:
            await self._send_event(event)

    async def _send_event(self, event):
        seq = event.get("seq")
        if seq in self.sent:
            return
        self.sent.add(seq)
        await self.send_json({"type": "event", "event": event})


class TutorConsumer(JsonConsumer):
    """A tutor conversation, for its learner and for the course's TAs and instructors.

    Frames from the browser:
      {"type": "ask", "text": str, "code": {file: text}?, "test": str?}   learner only
      {"type": "stop"}                                                   stops the reply being written
      {"type": "ta_message", "text": str}                                TAs/instructors only
    Everything that happens is broadcast to the conversation's group, so a TA watching sees the
    learner's question and the reply stream live, and the learner sees a TA's message live.
    """

    async def connect(self):
        if await self.reject_anonymous():
            return
        from tutor.selectors import conversation_get_for_user, is_staff_viewer

        user = self.scope["user"]
        try:
            self.conversation = await database_sync_to_async(conversation_get_for_user)(
                user=user, conversation_id=int(self.scope["url_route"]["kwargs"]["conversation_id"])
            )
        except Http404:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.staff = await database_sync_to_async(is_staff_viewer)(user=user, conversation=self.conversation)
        self.group = f"tutor.{self.conversation.pk}"
        self.task = None
        self.stop_event = None
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json(await database_sync_to_async(self._snapshot)())

    def _snapshot(self):
        from tutor.selectors import conversation_messages
        from tutor.services import allowance_status

        messages = [_message_json(m) for m in conversation_messages(conversation=self.conversation)]
        quota = None if self.staff else allowance_status(user=self.conversation.user, course=self.conversation.course)
        return {
            "type": "history",
            "conversation": self.conversation.pk,
            "messages": messages,
            "quota": quota,
            "staff": self.staff,
        }

    async def disconnect(self, code):
        if getattr(self, "stop_event", None) is not None:
            self.stop_event.set()
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        kind = content["type"]
        if kind == "stop":
            if self.stop_event is not None:
                self.stop_event.set()
            return
        text = content.get("text")
        if kind == "ta_message":
            if not self.staff:
                await self.send_json(
                    {"type": "error", "error": "only the course's TAs and instructors can post here as a person"}
                )
                return
            await self._ta_message(text)
        elif kind == "ask":
            if self.staff:
                await self.send_json({"type": "error", "error": "staff post with ta_message; ask is for the learner"})
                return
            if self.task is not None and not self.task.done():
                await self.send_json({"type": "error", "error": "the tutor is still answering; press Stop first"})
                return
            code = content.get("code") if isinstance(content.get("code"), dict) else None
            test = content.get("test") if isinstance(content.get("test"), str) else ""
            await self._ask(text, code, test[:100])
        else:
            await self.send_json(
                {"type": "error", "error": f"unknown message type {kind!r}; use ask, stop or ta_message"}
            )

    async def _ta_message(self, text):
        from tutor import services

        try:
            message = await database_sync_to_async(services.message_add_ta)(
                conversation=self.conversation, author=self.scope["user"], text=text
            )
        except services.MessageRejected as exc:
            await self.send_json({"type": "error", "error": str(exc)})
            return
        await self.channel_layer.group_send(
            self.group, {"type": "tutor.relay", "event": {"type": "message", "message": _message_json(message)}}
        )

    async def _ask(self, text, code, test):
        import asyncio

        from tutor import services
        from tutor.services.reply import stream_reply

        conversation, user = self.conversation, self.scope["user"]
        try:
            text = services.conversations.clean_text(text)
            quota = await database_sync_to_async(services.allowance_take)(user=user, course=conversation.course)
        except services.MessageRejected as exc:
            await self.send_json({"type": "error", "error": str(exc), "keep_input": True})
            return
        except services.QuotaExceeded as exc:
            status = await database_sync_to_async(services.allowance_status)(user=user, course=conversation.course)
            await self.send_json(
                {
                    "type": "error",
                    "code": "quota",
                    "keep_input": True,
                    "quota": status,
                    "error": f"You have used your questions for now. One comes back in {_mmss(exc.seconds_left)}.",
                }
            )
            return
        context = {"test": test} if test else {}
        message = await database_sync_to_async(services.message_add_learner)(
            conversation=conversation, text=text, context=context
        )
        await self.channel_layer.group_send(
            self.group, {"type": "tutor.relay", "event": {"type": "message", "message": _message_json(message)}}
        )
        await self.send_json({"type": "quota", "quota": quota})
        self.stop_event = asyncio.Event()

        async def emit(event):
            await self.channel_layer.group_send(self.group, {"type": "tutor.relay", "event": event})

        async def run():
            try:
                reply = await stream_reply(
                    conversation=conversation,
                    question_message=message,
                    code=code,
                    focus_test=test,
                    stop=self.stop_event,
                    emit=emit,
                )
                if "provider_error" in reply.flags:
                    await database_sync_to_async(_refund)(user, conversation.course)
                    status = await database_sync_to_async(services.allowance_status)(
                        user=user, course=conversation.course
                    )
                    await self.send_json({"type": "quota", "quota": status})
            except Exception as exc:  # the socket must get an answer whatever broke
                await self.send_json(
                    {"type": "error", "error": f"the tutor failed: {type(exc).__name__}. Your question is saved."}
                )
                raise

        self.task = asyncio.ensure_future(run())

    async def tutor_relay(self, message):
        await self.send_json(message["event"])


def _mmss(seconds):
    return f"{seconds // 60}:{seconds % 60:02d}"


def _refund(user, course):
    from django.db.models import F

    from tutor.models import Allowance

    Allowance.objects.filter(user=user, course=course).update(points=F("points") + 1)


def _message_json(m):
    return {
        "id": m.pk,
        "role": m.role,
        "html": m.html,
        "status": m.status,
        "rating": m.rating,
        "flags": m.flags,
        "author": m.author.username if m.author_id and m.role == "ta" else None,
        "at": m.created_at.isoformat(),
    }
