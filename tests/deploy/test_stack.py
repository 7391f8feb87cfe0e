"""scripts/stack.sh starts the deployed shape from one command (nginx, workers, Redis) and stops it
leaving nothing listening; docker-compose.yml reads the same configuration files."""

from __future__ import annotations

import asyncio
import re
import time
import urllib.request
from collections.abc import Iterator

import pytest

from facilitation.tools.client import MeetingClient
from tests.deploy.stack import ROOT, Stack, start_stack
from tests.redis.support import create_meeting, open_voting
from tests.support.processes import alive
from tests.support.servers import scaled

pytestmark = pytest.mark.redis


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    running = start_stack(2)
    try:
        yield running
    finally:
        running.down()


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=scaled(5)) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_liveness_and_readiness_through_nginx_and_on_each_worker(stack: Stack) -> None:
    """/livez and /readyz answer 200 through nginx and on every worker; readiness names its checks."""
    for base in (stack.url, stack.app_url(0), stack.app_url(1)):
        assert _get(base + "/livez")[0] == 200
        status, body = _get(base + "/readyz")
        assert status == 200 and '"store":true' in body and '"bus":true' in body and '"ownership":true' in body


def test_metrics_say_which_worker_they_come_from(stack: Stack) -> None:
    """Each worker's /metrics labels every series with its name (app1, app2 from the script)."""
    for index in (0, 1):
        text = _get(stack.app_url(index) + "/metrics")[1]
        samples = [line for line in text.splitlines() if line and not line.startswith("#")]
        assert samples and all(f'worker="app{index + 1}"' in line for line in samples)


@pytest.mark.asyncio
async def test_a_vote_through_nginx_reaches_a_projector_on_a_worker(stack: Stack) -> None:
    """A meeting created and voted through nginx; a projector connected to each worker directly sees the vote."""
    meeting = create_meeting(stack.url, 2)
    assert meeting["urls"]["join"].startswith(stack.url)  # links name nginx, not a worker
    await open_voting(stack.url, meeting)
    screens = [MeetingClient(stack.app_url(i), meeting["code"], "projector") for i in (0, 1)]
    for screen in screens:
        await screen.connect()
    phone = MeetingClient(stack.url, meeting["code"])
    await phone.connect()
    ack = await phone.vote(0, "agree", op="through-nginx")
    for screen in screens:
        batch = await screen.next_message("batch", timeout=scaled(10),
                                          where=lambda m: any(e["seq"] == ack["seq"] for e in m["events"]))
        assert [e["type"] for e in batch["events"] if e["seq"] == ack["seq"]] == ["vote"]
    await asyncio.gather(phone.close(), *(s.close() for s in screens))


@pytest.mark.parametrize("cluster", [False, True], ids=["one-node", "cluster"])
def test_down_leaves_nothing_listening(cluster: bool) -> None:
    """`down` stops nginx, every worker and every Redis node: no process of the stack is left, and none of
    the ports they listened on (read from /proc, not only those the state file names) accepts a connection."""
    stack = start_stack(1, cluster=cluster)
    pids = stack.pids()
    ports = stack.ports()
    assert stack.sockets() == set(ports)  # the state file names every port the stack listens on
    assert stack.listening() == ports
    stack.down()
    assert [pid for pid in pids if alive(pid)] == []
    assert stack.listening() == []
    assert not (stack.dir / "pids").exists()


def test_up_prints_the_url_to_open(stack: Stack) -> None:
    """`up` prints nginx's /new page as the address to open, and that address answers through nginx."""
    printed = re.findall(r"open (http://\S+)", stack.printed)
    assert printed == [stack.url + "/new"]
    assert _get(printed[0])[0] == 200


def test_status_tells_a_live_worker_from_a_ready_one() -> None:
    """With Redis killed, `status` shows the worker live but not ready, Redis stopped, nginx live."""
    stack = start_stack(1)
    try:
        before = stack.run("status").stdout
        assert re.search(r"^app1 .* running +live=yes ready=yes$", before, re.MULTILINE), before
        stack.kill("redis1")
        deadline = time.monotonic() + scaled(20)
        while _get(stack.app_url(0) + "/readyz")[0] == 200:
            assert time.monotonic() < deadline, "the worker stayed ready without Redis"
            time.sleep(0.1)
        result = stack.run("status")
        assert result.returncode == 0  # something still runs
        assert re.search(r"^app1 .* running +live=yes ready=no$", result.stdout, re.MULTILINE), result.stdout
        assert re.search(r"^redis1 .* stopped", result.stdout, re.MULTILINE), result.stdout
        assert re.search(r"^nginx .* running +live=yes$", result.stdout, re.MULTILINE), result.stdout
    finally:
        stack.down()


def test_compose_and_the_script_read_one_configuration() -> None:
    """docker-compose.yml mounts the nginx template and the Redis config the script renders, and both read
    deploy/stack.env; the template's only placeholders are the two addresses that differ (checked as text:
    there is no Docker engine here)."""
    compose = (ROOT / "docker-compose.yml").read_text()
    cluster = (ROOT / "deploy" / "compose.cluster.yml").read_text()
    script = (ROOT / "scripts" / "stack.sh").read_text()
    assert "./deploy/nginx.conf.template:/etc/nginx/templates/facilitation.conf.template" in compose
    assert "deploy/nginx.conf.template" in script
    assert compose.count("env_file: deploy/stack.env") == 2 and 'deploy/stack.env"' in script
    assert "/etc/facilitation/redis.conf" in compose and "deploy/redis.conf" in script
    assert "/etc/facilitation/redis-cluster.conf" in cluster and "deploy/redis-cluster.conf" in script
    template = (ROOT / "deploy" / "nginx.conf.template").read_text()
    assert set(re.findall(r"\$\{([A-Z_]+)\}", template)) == {"APP_SERVER", "NGINX_PORT"}
    assert "APP_SERVER: app:8000" in compose and "/readyz" in compose


def test_compose_runs_as_many_cluster_nodes_as_the_script() -> None:
    """deploy/compose.cluster.yml's nodes (services and the create command's list) number what
    deploy/stack.env's REDIS_CLUSTER_MASTERS x (1 + REDIS_CLUSTER_REPLICAS) makes the script start."""
    settings = dict(line.split("=", 1) for line in (ROOT / "deploy" / "stack.env").read_text().splitlines()
                    if line and not line.startswith("#"))
    nodes = int(settings["REDIS_CLUSTER_MASTERS"]) * (1 + int(settings["REDIS_CLUSTER_REPLICAS"]))
    cluster = (ROOT / "deploy" / "compose.cluster.yml").read_text()
    services = re.findall(r"^  redis-(\d+): \*node$", cluster, re.MULTILINE)
    assert [int(n) for n in services] == list(range(1, nodes + 1))
    created = re.search(r"for n in ([\d ]+); do getent", cluster)
    assert created is not None and [int(n) for n in created.group(1).split()] == list(range(1, nodes + 1))
    depends = re.findall(r"^      redis-(\d+): \{condition: service_healthy\}$", cluster, re.MULTILINE)
    assert [int(n) for n in depends] == list(range(1, nodes + 1))
