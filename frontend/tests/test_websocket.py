"""The websocket path: auth scope, origin check and the real channels-redis layer."""

import pytest
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.test import Client

from config.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)


def session_headers(user):
    client = Client()
    client.force_login(user)
    cookie = client.cookies["sessionid"].value
    return [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1"), (b"cookie", f"sessionid={cookie}".encode())]


async def test_the_layer_is_channels_redis():
    layer = get_channel_layer()
    assert type(layer).__module__.startswith("channels_redis")


async def test_signed_in_socket_answers_and_receives_group_messages(make_user):
    from channels.db import database_sync_to_async

    user = await database_sync_to_async(make_user)("ws-user")
    comm = WebsocketCommunicator(application, "/ws/ping/", headers=await database_sync_to_async(session_headers)(user))
    connected, _ = await comm.connect()
    assert connected
    await comm.send_json_to({"type": "ping"})
    assert await comm.receive_json_from(timeout=5) == {"type": "pong", "user": "ws-user"}
    # A message sent through Redis to the user's group reaches this socket.
    await get_channel_layer().group_send(f"user.{user.pk}", {"type": "user.notice", "text": "hello via redis"})
    assert await comm.receive_json_from(timeout=5) == {"type": "notice", "text": "hello via redis"}
    await comm.disconnect()


async def test_socket_without_a_session_is_closed_with_4401():
    comm = WebsocketCommunicator(
        application, "/ws/ping/", headers=[(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]
    )
    connected, code = await comm.connect()
    await comm.disconnect()  # let the application finish before the test's event loop closes
    assert not connected
    assert code == 4401


async def test_socket_from_another_origin_is_refused(make_user):
    from channels.db import database_sync_to_async

    user = await database_sync_to_async(make_user)("ws-user2")
    headers = [
        h if h[0] != b"origin" else (b"origin", b"https://evil.example")
        for h in await database_sync_to_async(session_headers)(user)
    ]
    comm = WebsocketCommunicator(application, "/ws/ping/", headers=headers)
    connected, _ = await comm.connect()
    await comm.disconnect()
    assert not connected


@pytest.mark.parametrize(
    "frame,error",
    [
        ("not json", "not valid JSON"),
        ("[1, 2]", 'string "type"'),
        ('{"type": 5}', 'string "type"'),
        ('{"type": "dance"}', "unknown message type"),
    ],
)
async def test_malformed_frames_get_an_error_frame_and_the_socket_stays_open(make_user, frame, error):
    from channels.db import database_sync_to_async

    user = await database_sync_to_async(make_user)("ws-user3")
    comm = WebsocketCommunicator(application, "/ws/ping/", headers=await database_sync_to_async(session_headers)(user))
    assert (await comm.connect())[0]
    await comm.send_to(text_data=frame)
    reply = await comm.receive_json_from(timeout=5)
    assert reply["type"] == "error" and error in reply["error"]
    await comm.send_json_to({"type": "ping"})
    assert (await comm.receive_json_from(timeout=5))["type"] == "pong"
    await comm.disconnect()
