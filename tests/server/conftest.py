"""Fixtures for protocol tests: a real `facilitation serve` process and a fresh meeting on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from facilitation.tools.client import MeetingClient
from tests.support.servers import ServerProcess, scaled

NO_ANALYSIS = {"FACILITATION_ANALYSIS": "0"}
"""Live analysis is irrelevant to the protocol and would only add CPU noise to timing assertions."""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A running `facilitation serve` with its own SQLite file, live analysis off."""
    proc = ServerProcess(f"sqlite:///{tmp_path / 'meetings.db'}", env=NO_ANALYSIS).start()
    try:
        yield proc
    finally:
        proc.stop()


@dataclass
class MeetingInfo:
    code: str
    host_key: str
    body: dict[str, Any]


def create_meeting(base_url: str, **settings: Any) -> MeetingInfo:
    """POST /api/meetings and return the code and host key."""
    payload = {"title": "Test", "seeds": [f"Seed statement {i}." for i in range(5)], **settings}
    response = httpx.post(f"{base_url}/api/meetings", json=payload, timeout=scaled(10))
    assert response.status_code == 201, response.text
    body = response.json()
    return MeetingInfo(body["code"], body["host_key"], body)


def meeting_info(base_url: str, code: str) -> dict[str, Any]:
    response = httpx.get(f"{base_url}/api/meetings/{code}", timeout=scaled(10))
    assert response.status_code == 200, response.text
    return dict(response.json())


@pytest.fixture
def meeting(server: ServerProcess) -> MeetingInfo:
    """A meeting with five seeds, still in the lobby."""
    return create_meeting(server.url)


@pytest_asyncio.fixture
async def host(server: ServerProcess, meeting: MeetingInfo) -> AsyncIterator[MeetingClient]:
    """A connected host that has moved the meeting to the collecting phase."""
    client = MeetingClient(server.url, meeting.code, "host", host_key=meeting.host_key)
    await client.connect()
    await client.command("phase", phase="collecting")
    yield client
    await client.close()


class Clients:
    """Tracks clients opened by a test so they are all closed at the end."""

    def __init__(self, url: str, code: str) -> None:
        self.url, self.code = url, code
        self.opened: list[MeetingClient] = []

    async def open(self, role: str = "participant", since: int | None = None, **hello: Any) -> MeetingClient:
        client = MeetingClient(self.url, self.code, role, **hello)
        await client.connect(since=since, timeout=scaled(10))
        self.opened.append(client)
        return client

    async def close(self) -> None:
        for client in self.opened:
            await client.close()


@pytest_asyncio.fixture
async def clients(server: ServerProcess, meeting: MeetingInfo) -> AsyncIterator[Clients]:
    """Opens participants, projectors and hosts on the meeting; closes them after the test."""
    tracker = Clients(server.url, meeting.code)
    yield tracker
    await tracker.close()
