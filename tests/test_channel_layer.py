"""The channel layer hands a burst of events to one server process whole.

channels-redis keeps one Redis inbox per server process for every socket it serves, and drops
what does not fit its capacity without an error. A process serving many learners gets bursts
(each test's card, each tutor token): bench/load.py at 50 learners saw verdicts and tutor replies
that never reached the page. This sends a burst to one process's sockets before any of them
reads, as a busy process does, and checks every socket gets every event, in order.
"""

import asyncio
import uuid

import pytest


@pytest.mark.timeout(120)
def test_a_burst_to_many_sockets_of_one_process_arrives_whole():
    from channels.layers import channel_layers

    sockets, events = 20, 60  # 1200 messages in one process's inbox at once

    async def burst():
        layer = channel_layers.make_backend("default")  # the settings' configuration, a fresh instance
        tag = uuid.uuid4().hex[:8]
        channels = [await layer.new_channel() for _ in range(sockets)]
        for i, channel in enumerate(channels):
            await layer.group_add(f"burst.{tag}.{i}", channel)
        for n in range(events):
            for i in range(sockets):
                await layer.group_send(f"burst.{tag}.{i}", {"type": "submission.event", "n": n})
        received = {}
        for channel in channels:
            received[channel] = [(await asyncio.wait_for(layer.receive(channel), 10))["n"] for _ in range(events)]
        for i, channel in enumerate(channels):
            await layer.group_discard(f"burst.{tag}.{i}", channel)
        await layer.close_pools()
        return received

    received = asyncio.run(burst())
    assert all(seen == list(range(events)) for seen in received.values())
