"""A phone's `typing` signal (issue 22): the host console learns how many phones are writing, nothing is
logged, and the signal is refused where it makes no sense."""

from __future__ import annotations

import json

import pytest

from facilitation.tools.client import MeetingClient, ServerError
from tests.server.conftest import Clients, MeetingInfo, meeting_info
from tests.support.servers import ServerProcess, scaled


async def typing(phone: MeetingClient, active: bool) -> None:
    await phone.send_raw(json.dumps({"v": 1, "type": "typing", "active": active}))


async def count(host: MeetingClient, expected: int, timeout: float = 10.0) -> None:
    message = await host.next_message("typing", timeout=scaled(timeout), where=lambda m: m["count"] == expected)
    assert message["count"] == expected


@pytest.mark.asyncio
async def test_the_host_hears_how_many_phones_are_writing(
        server: ServerProcess, meeting: MeetingInfo, host: MeetingClient, clients: Clients) -> None:
    """Two phones start writing, one sends or empties its box: the host gets 1, 2, 1; the log keeps none of it."""
    first, second = await clients.open(), await clients.open()
    before = meeting_info(server.url, meeting.code)
    await typing(first, True)
    await count(host, 1)
    await typing(second, True)
    await count(host, 2)
    await typing(first, True)  # a repeat while still writing changes nothing, then it stops
    await typing(first, False)
    await count(host, 1)
    after = meeting_info(server.url, meeting.code)
    assert after.get("seq") == before.get("seq"), "typing is transient: no event in the log"


@pytest.mark.asyncio
async def test_a_silent_phone_drops_out_of_the_count(host: MeetingClient, clients: Clients) -> None:
    """A phone that said it writes and then went silent (closed tab) stops counting after the TTL."""
    phone = await clients.open()
    await typing(phone, True)
    await count(host, 1)
    await count(host, 0, timeout=20.0)


@pytest.mark.asyncio
async def test_typing_is_refused_outside_collecting_and_from_screens(host: MeetingClient, clients: Clients) -> None:
    """In voting `active: true` is refused with phase_forbids naming the phase; a projector may not send it;
    `active` must be a boolean."""
    phone = await clients.open()
    projector = await clients.open("projector")
    await host.command("phase", phase="voting")
    await typing(phone, True)
    error = await phone.next_message("error", timeout=scaled(10))
    assert error["error"]["code"] == "phase_forbids" and "voting" in error["error"]["message"]
    await typing(projector, True)
    refused = await projector.next_message("error", timeout=scaled(10))
    assert refused["error"]["code"] in ("forbidden", "wrong_role", "not_allowed"), refused
    with pytest.raises(ServerError) as bad:
        await phone.command("typing", active="yes")
    assert bad.value.code == "invalid_field"
