"""Reachable by default: links handed to the laptop's own browser name an address phones can reach."""

from __future__ import annotations

import ipaddress
import re
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from facilitation.web import network
from tests.laptop.support import LimitedServer
from tests.support.servers import scaled


@pytest.fixture
def started() -> Iterator[list[LimitedServer]]:
    """Servers a test starts, stopped after it."""
    servers: list[LimitedServer] = []
    yield servers
    for server in servers:
        server.stop()


def _store(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'meetings.db'}"


def test_lan_addresses_are_never_loopback_link_local_or_virtual() -> None:
    """Every detected address is a plain IPv4 address on a real interface, best first, without duplicates."""
    addresses = network.lan_addresses(fresh=True)
    assert len(addresses) == len(set(addresses))
    for address in addresses:
        ip = ipaddress.ip_address(address)
        assert ip.version == 4 and not ip.is_loopback and not ip.is_link_local
        interface = network.interface_of(address)
        assert interface is None or not interface.startswith(network.VIRTUAL_PREFIXES)


def test_loopback_request_to_a_wildcard_bind_gets_the_lan_address() -> None:
    """Pure rule: 127.0.0.1 / localhost / 0.0.0.0 become the best LAN address; the port and scheme stay."""
    lan = network.lan_addresses()
    expected = f"http://{lan[0]}:8000" if lan else "http://127.0.0.1:8000"
    assert network.join_base("http://127.0.0.1:8000/", "0.0.0.0") == expected
    assert network.join_base("http://localhost:8000", "::") == (expected if lan else "http://localhost:8000")


def test_other_requests_keep_the_address_they_used() -> None:
    """A phone that reached us by a LAN address or a name keeps it; a loopback-only server keeps loopback."""
    assert network.join_base("http://10.1.2.3:8000/", "0.0.0.0") == "http://10.1.2.3:8000"
    assert network.join_base("https://meet.example.org/", "0.0.0.0") == "https://meet.example.org"
    assert network.join_base("http://127.0.0.1:8000", "127.0.0.1") == "http://127.0.0.1:8000"


def test_public_url_wins_everywhere() -> None:
    """FACILITATION_PUBLIC_URL overrides every detected address, for requests and for printed links."""
    assert network.join_base("http://127.0.0.1:8000", "0.0.0.0", "https://vote.example.tw/") == \
        "https://vote.example.tw"
    assert network.advertised_base("0.0.0.0", 8000, "https://vote.example.tw") == "https://vote.example.tw"


def test_meeting_created_from_loopback_on_a_wildcard_server_names_the_lan_address(
        tmp_path: Path, started: list[LimitedServer]) -> None:
    """POST /api/meetings to 127.0.0.1 on a server bound to 0.0.0.0: join, projector and host URLs name the LAN."""
    server = LimitedServer(_store(tmp_path), soft=4096, hard=4096, host="0.0.0.0")
    started.append(server)
    server.start()
    lan = network.lan_addresses(fresh=True)
    body = server.post_meeting()
    join = urlsplit(body["urls"]["join"])
    assert join.port == server.port and join.path == f"/m/{body['code']}"
    if lan:  # a machine with a network: the address phones reach, never loopback
        assert join.hostname == lan[0]
        assert not ipaddress.ip_address(join.hostname).is_loopback
    else:
        assert join.hostname == "127.0.0.1"
    assert all(urlsplit(u).hostname == join.hostname for u in body["urls"].values())


def test_a_phone_using_the_lan_address_keeps_it(tmp_path: Path, started: list[LimitedServer]) -> None:
    """A request that arrived on the LAN address gets links with that same address."""
    lan = network.lan_addresses(fresh=True)
    if not lan:
        pytest.skip("this machine has no LAN address")
    server = LimitedServer(_store(tmp_path), soft=4096, hard=4096, host="0.0.0.0")
    started.append(server)
    server.start()
    body = server.post_meeting(via=f"http://{lan[0]}:{server.port}")
    assert body["urls"]["join"] == f"http://{lan[0]}:{server.port}/m/{body['code']}"


def test_public_url_wins_over_the_lan_address(tmp_path: Path, started: list[LimitedServer]) -> None:
    """With FACILITATION_PUBLIC_URL set, a loopback request on a wildcard server gets the public URL."""
    server = LimitedServer(_store(tmp_path), soft=4096, hard=4096, host="0.0.0.0",
                           env={"FACILITATION_PUBLIC_URL": "https://vote.example.tw"})
    started.append(server)
    server.start()
    body = server.post_meeting()
    assert body["urls"]["join"] == f"https://vote.example.tw/m/{body['code']}"
    assert "phones join at: https://vote.example.tw/m/<CODE>" in server.log()
    assert "PHONES CANNOT JOIN" not in server.log()


def test_serve_on_loopback_warns_loudly_and_names_the_flag(tmp_path: Path, started: list[LimitedServer]) -> None:
    """Bound to 127.0.0.1, serve says phones cannot join and how to fix it (--host 0.0.0.0)."""
    server = LimitedServer(_store(tmp_path), soft=4096, hard=4096)
    started.append(server)
    server.start()
    log = server.log()
    assert "bound to 127.0.0.1: only this laptop can open these links; PHONES CANNOT JOIN." in log
    assert "restart with --host 0.0.0.0" in log
    body = server.post_meeting()  # links stay loopback: they are only good on this laptop, as the banner says
    assert urlsplit(body["urls"]["join"]).hostname == "127.0.0.1"


@pytest.mark.slow
def test_demo_on_a_wildcard_bind_prints_lan_urls(tmp_path: Path, started: list[LimitedServer]) -> None:
    """`serve --host 0.0.0.0 --demo` prints the demo's join URL with the LAN address phones can open."""
    server = LimitedServer(_store(tmp_path), soft=4096, hard=4096, host="0.0.0.0", extra=["--demo"])
    started.append(server)
    server.start()
    lan = network.lan_addresses(fresh=True)
    address = lan[0] if lan else "127.0.0.1"
    deadline = time.monotonic() + scaled(10)
    match = None
    while match is None and time.monotonic() < deadline:
        match = re.search(r"^join: (\S+)$", server.log(), re.M)
        time.sleep(0.1)
    assert match, server.log()
    assert re.fullmatch(rf"http://{re.escape(address)}:{server.port}/m/[A-Z0-9]{{6}}", match.group(1))
    assert f"create a meeting: http://{address}:{server.port}/new" in server.log()
