"""The host leaves a participant out of the analysis and brings them back (issue 24, ``analysis_exclude``),
against a real server: the next run's map counts neither their votes nor them, the meeting keeps their votes,
the phone is told nothing and votes on, and taking the exclusion back puts them on the map again."""

from __future__ import annotations

import pytest

from facilitation.tools.client import MeetingClient, ServerError
from tests.analysis.support import close_all, create_meeting, map_with_votes, phones, vote_camps
from tests.support.servers import ServerProcess, scaled

pytestmark = pytest.mark.asyncio


async def test_an_excluded_participant_leaves_the_map_and_comes_back(server: ServerProcess) -> None:
    code, key = await create_meeting(server, 8)
    host = MeetingClient(server.url, code, "host", host_key=key)
    await host.connect()
    clients = await phones(server, code, 20)
    try:
        await vote_camps(clients, range(8))
        full = await map_with_votes(host, 160)
        target = clients[0].participant
        assert target is not None and target in full["points"]["participants"]

        ack = await host.command("analysis_exclude", participant=target, excluded=True)
        assert ack["result"] == {"participant": target, "excluded": True}
        without = await host.next_message("analysis", timeout=scaled(30),
                                          where=lambda m: m["upto_seq"] >= ack["seq"])
        assert without["counts"]["votes"] == 160 - 8 and without["counts"]["participants"] == 19
        assert target not in without["points"]["participants"]

        with pytest.raises(ServerError) as refused:  # already excluded: nothing to do, said so
            await host.command("analysis_exclude", participant=target, excluded=True)
        assert refused.value.code == "no_change"

        vote = await clients[0].vote(0, "pass")  # the phone votes on as before: the meeting keeps its votes
        assert vote["type"] == "ack"
        back = await host.command("analysis_exclude", participant=target, excluded=False)
        assert back["result"] == {"participant": target, "excluded": False}
        restored = await host.next_message("analysis", timeout=scaled(30),
                                           where=lambda m: m["upto_seq"] >= back["seq"])
        assert restored["counts"]["votes"] == 160 and target in restored["points"]["participants"]
    finally:
        await close_all([*clients, host])
