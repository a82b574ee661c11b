"""The websockets follow the same roles as the pages: a learner's submission stream and tutor
conversation open for the learner and the course's staff, and for nobody else."""

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from config.asgi import application
from frontend.tests.test_websocket import session_headers
from insights.tests.test_staff_access import world  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db(transaction=True)
ANONYMOUS = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]


async def _connect(path, user):
    headers = ANONYMOUS if user is None else await database_sync_to_async(session_headers)(user)
    comm = WebsocketCommunicator(application, path, headers=headers)
    connected, code = await comm.connect()
    await comm.disconnect()
    return connected, code


@pytest.mark.parametrize("kind", ["submission", "tutor"])
async def test_sockets_by_role(world, make_user, kind):  # noqa: F811
    from courses.services import membership_enroll

    other_student = await database_sync_to_async(make_user)("other-student")
    await database_sync_to_async(membership_enroll)(user=other_student, course=world["course"])
    path = f"/ws/submissions/{world['sub'].pk}/" if kind == "submission" else f"/ws/tutor/{world['convo'].pk}/"
    people = world["people"]
    assert await _connect(path, None) == (False, 4401)
    for allowed in ("student", "ta", "instructor"):
        connected, _ = await _connect(path, people[allowed])
        assert connected, allowed
    for refused in (people["outsider"], other_student):
        assert await _connect(path, refused) == (False, 4403), refused.username


async def test_resume_points_out_of_range_get_an_error_frame(world):  # noqa: F811
    """A resume point Redis cannot index (2**63) is refused in a frame, not a crashed socket."""
    headers = await database_sync_to_async(session_headers)(world["people"]["student"])
    comm = WebsocketCommunicator(application, f"/ws/submissions/{world['sub'].pk}/", headers=headers)
    assert (await comm.connect())[0]
    for after in (2**63, -1, "3"):
        await comm.send_json_to({"type": "resume", "after": after})
        reply = await comm.receive_json_from(timeout=5)
        assert reply["type"] == "error" and "resume.after must be an integer from 0 to" in reply["error"]
    await comm.send_json_to({"type": "resume", "after": 2**53 - 1})
    assert await comm.receive_nothing(timeout=0.5)
    await comm.disconnect()
