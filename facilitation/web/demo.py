"""The demo meeting for ``facilitation serve --demo``: seed statements and simulated voters.

The simulated participants are drawn from three planted opinion camps, so the projector shows groups
forming within seconds. They go through the same :meth:`Room.submit` path as real phones (no sockets,
so they cost the server almost nothing) and keep voting slowly while the server runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import secrets
import sys
from dataclasses import dataclass

from facilitation.core.errors import ClientError
from facilitation.core.meeting import Join, MeetingSettings, SetPhase, Vote, hash_secret
from facilitation.live.hub import Hub
from facilitation.live.room import Room
from facilitation.settings import Settings
from facilitation.web.network import advertised_base

__all__ = ["DEMO_SEEDS", "Demo", "start_demo"]

DEMO_TITLE = "示範會議：夜市周邊交通與行人安全"
DEMO_TOPIC = "如何讓夜市周邊的街道對行人、住戶和攤商都更安全、更方便？"
DEMO_SEEDS = [
    "夜市營業時段應該全面禁止機車進入攤位街道。",
    "應該在夜市周邊增設有人管理的機車停車區。",
    "攤商應該自行負責攤位前的人行空間淨空。",
    "週末應該實施交通管制，平日維持現狀。",
    "住戶的車輛進出權利應該優先於夜市人潮。",
    "應該增加公車班次，減少開車到夜市的人。",
    "市府應該補助攤商改用統一規格的攤車。",
    "夜市結束後的清潔應由市府統一負責。",
    "應該設置行人專用時相的紅綠燈。",
    "不應該為了夜市而限制一般道路通行。",
    "夜間噪音管制應該更嚴格執行。",
    "應該開放附近學校操場作為臨時停車場。",
]
DEMO_ROLES = ("住戶", "攤商", "市府機關", "遊客")
DEMO_PARTICIPANTS = 36
VOTES_PER_SECOND = 6.0


@dataclass
class Demo:
    room: Room
    host_key: str
    task: asyncio.Task[None]

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


def _camp_vote(camp: int, statement: int, rng: random.Random, values: tuple[str, ...]) -> str:
    """Each camp leans on each statement; a fixed hash makes the lean stable, noise keeps it human."""
    lean = ((statement * 7 + camp * 5) % 9) / 8.0  # 0 = disagree ... 1 = agree
    roll = rng.random()
    if roll < 0.1:
        return "pass"
    if "acceptable" in values and 0.35 < lean < 0.65:
        return "acceptable"
    return "agree" if rng.random() < lean else "disagree"


async def _simulate(hub: Hub, code: str, rng: random.Random) -> None:
    """The simulated voters. The room is looked up through the hub at every step, never kept: that marks
    the meeting as in use (it is not evicted while the demo runs), and a room closed meanwhile is never
    written through."""
    participants = []
    for i in range(DEMO_PARTICIPANTS):
        room = await hub.room(code)
        applied = await room.submit(Join(hash_secret(secrets.token_urlsafe(18)), f"demo-{i + 1}",
                                         DEMO_ROLES[i % len(DEMO_ROLES)]))
        participants.append((int(applied.result["participant"]), i % 3))
    counter = 0
    while True:
        await asyncio.sleep(1.0 / VOTES_PER_SECOND)
        room = await hub.room(code)
        participant, camp = rng.choice(participants)
        choice = room.next_for(participant)["next"]
        if choice is None:
            continue
        counter += 1
        value = _camp_vote(camp, int(choice["id"]), rng, room.meeting.settings.vote_values)
        with contextlib.suppress(ClientError):
            await room.submit(Vote(participant, int(choice["id"]), value, f"demo-{counter}"))


async def start_demo(hub: Hub, settings: Settings) -> Demo:
    """Create the demo meeting, print its URLs and start the simulated voters."""
    meeting_settings = MeetingSettings(
        title=DEMO_TITLE, topic=DEMO_TOPIC, description="這是示範用的會議，資料為模擬。", roles=DEMO_ROLES
    )
    room, host_key = await hub.create_meeting(meeting_settings, DEMO_SEEDS)
    await room.submit(SetPhase("collecting", "demo-start"))
    base = advertised_base(settings.host, settings.port, settings.public_url)
    print(f"host: {base}/host/{room.code}#key={host_key}", flush=True)
    print(f"projector: {base}/projector/{room.code}", flush=True)
    print(f"join: {base}/m/{room.code}", flush=True)
    sys.stdout.flush()
    task = asyncio.get_running_loop().create_task(_simulate(hub, room.code, random.Random(7)), name="demo-voters")
    return Demo(room, host_key, task)
