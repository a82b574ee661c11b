"""Websocket consumers: transport only. They parse frames, call selectors/services, and relay
channel-layer events to the browser (DESIGN.md §2).

Close codes used across consumers (4000-4999 are application codes):
- 4401: no signed-in session
- 4403: signed in, but not allowed to see this object
- 4400: a frame that is not the JSON shape this endpoint takes (sent as an error frame; the
  socket stays open so one bad message loses nothing)
"""

import json

from channels.generic.websocket import AsyncJsonWebsocketConsumer

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
