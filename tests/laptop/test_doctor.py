"""`facilitation doctor` on this machine: every check runs for real, passing and failing, in both languages."""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from facilitation.web import network
from tests.laptop.support import LimitedServer, hard_limit, limits, require_posix_limits, run_cli
from tests.redis.support import redis_or_skip
from tests.support.servers import free_port

CHECK_NAMES = ["network", "port", "open_files", "disk", "pdf", "redis", "clock", "language"]


def doctor(*args: str, env: dict[str, str] | None = None, preexec: Any = None) -> tuple[int, dict[str, Any]]:
    """Run `facilitation doctor --json ...`; the exit status and the checks by name."""
    result = run_cli("doctor", "--json", *args, env=env, preexec=preexec, timeout=120)
    report = json.loads(result.stdout)
    assert [c["name"] for c in report["checks"]] == CHECK_NAMES, result.stdout
    return result.returncode, {c["name"]: c for c in report["checks"]} | {"ok": report["ok"]}


@pytest.fixture(scope="module")
def failing(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict[str, Any]]:
    """One doctor run whose store is under /proc (root cannot write there) and whose Redis is not running."""
    return doctor("--host", "0.0.0.0", "--port", str(free_port()), "--store", "sqlite:////proc/facilitation/x.db",
                  "--redis", f"redis://127.0.0.1:{free_port()}/0", env={"LANG": "en_US.UTF-8"})


@pytest.fixture
def store(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'meetings.db'}"


@pytest.fixture
def started() -> Iterator[list[LimitedServer]]:
    servers: list[LimitedServer] = []
    yield servers
    for server in servers:
        server.stop()


def test_ready_laptop_passes_with_exit_status_zero(store: str) -> None:
    """Bound for the room, a writable store, no Redis: nothing fails and the exit status is 0."""
    code, checks = doctor("--host", "0.0.0.0", "--port", str(free_port()), "--store", store)
    failed = [name for name in CHECK_NAMES if checks[name]["status"] == "fail"]
    assert code == (1 if failed else 0) and checks["ok"] is (not failed)
    assert checks["disk"]["status"] == "pass" and checks["disk"]["data"]["free_bytes"] > 0
    assert checks["port"]["status"] == "pass" and "free to bind" in checks["port"]["summary"]
    assert checks["redis"]["status"] == "skip"
    assert checks["pdf"]["status"] in ("pass", "warn"), checks["pdf"]  # the test extra installs WeasyPrint
    lan = network.lan_addresses(fresh=True)
    assert checks["network"]["status"] == ("pass" if lan else "fail")
    if lan:
        assert checks["network"]["data"]["join_url"].startswith(f"http://{lan[0]}:")
        assert "hotspot" in checks["network"]["fix"] and "FACILITATION_PUBLIC_URL" in checks["network"]["fix"]


def test_store_on_a_read_only_path_fails(failing: tuple[int, dict[str, Any]]) -> None:
    """A store under /proc cannot be written even by root: the disk line fails and says what to do."""
    code, checks = failing
    assert code == 1 and checks["ok"] is False
    assert checks["disk"]["status"] == "fail" and "/proc/facilitation/x.db" in checks["disk"]["summary"]
    assert "--store sqlite:///" in checks["disk"]["fix"]


def test_store_where_a_folder_is_a_file_fails(tmp_path: Path) -> None:
    """A store path through a regular file (a file where a folder is needed) fails the disk line."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    code, checks = doctor("--store", f"sqlite:///{blocker / 'x.db'}")
    assert code == 1 and checks["disk"]["status"] == "fail"
    assert "is a file, not a folder" in checks["disk"]["summary"]


def test_unreachable_redis_fails(failing: tuple[int, dict[str, Any]]) -> None:
    """A Redis URL nobody listens on fails the Redis line, naming how to start it."""
    _, checks = failing
    assert checks["redis"]["status"] == "fail" and "does not answer" in checks["redis"]["summary"]
    assert "redis-server" in checks["redis"]["fix"]


def test_running_redis_passes(store: str) -> None:
    """A real redis-server answers: the Redis line passes with its version."""
    redis = redis_or_skip()
    try:
        _, checks = doctor("--store", store, "--redis", redis.url)
    finally:
        redis.stop()
    assert checks["redis"]["status"] == "pass" and checks["redis"]["data"]["version"]
    assert checks["redis"]["data"]["appendonly"] == "yes"


def test_loopback_bind_fails_the_network_line(store: str) -> None:
    """The default bind (127.0.0.1) fails the network line and names --host 0.0.0.0."""
    code, checks = doctor("--host", "127.0.0.1", "--store", store, "--port", str(free_port()))
    assert code == 1
    if network.lan_addresses(fresh=True):
        assert checks["network"]["status"] == "fail" and "--host 0.0.0.0" in checks["network"]["fix"]


def test_public_url_passes_the_network_line(store: str) -> None:
    """With FACILITATION_PUBLIC_URL the join URL is the public one."""
    _, checks = doctor("--store", store, env={"FACILITATION_PUBLIC_URL": "https://vote.example.tw"})
    assert checks["network"]["status"] == "pass"
    assert checks["network"]["data"]["join_url"] == "https://vote.example.tw/m/<CODE>"


def test_port_taken_by_another_program_fails(store: str) -> None:
    """A port where something else listens (not facilitation) fails and suggests another port."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        _, checks = doctor("--store", store, "--port", str(port))
    assert checks["port"]["status"] == "fail" and "taken by another program" in checks["port"]["summary"]
    assert "--port" in checks["port"]["fix"]


def test_running_server_on_loopback_only_fails_for_the_room(store: str, started: list[LimitedServer]) -> None:
    """A facilitation server already running on 127.0.0.1 answers, but not on the LAN: doctor says restart it."""
    server = LimitedServer(store, soft=4096, hard=4096)
    started.append(server)
    server.start()
    _, checks = doctor("--host", "0.0.0.0", "--port", str(server.port), "--store", store)
    assert "127.0.0.1" in checks["port"]["data"]["facilitation"]
    if network.lan_addresses(fresh=True):
        assert checks["port"]["status"] == "fail" and "--host 0.0.0.0" in checks["port"]["fix"]


def test_running_server_for_the_room_passes(store: str, started: list[LimitedServer]) -> None:
    """A facilitation server bound to 0.0.0.0 answers on every address doctor probes."""
    server = LimitedServer(store, soft=4096, hard=4096, host="0.0.0.0")
    started.append(server)
    server.start()
    _, checks = doctor("--host", "0.0.0.0", "--port", str(server.port), "--store", store)
    assert checks["port"]["status"] == "pass"
    assert checks["port"]["data"]["facilitation"] == checks["port"]["data"]["probed"]


def test_open_file_limit_too_low_fails_with_the_command(store: str) -> None:
    """Under `ulimit -n 256`, 1,000 expected participants fail the line, with the command that raises it."""
    require_posix_limits()
    code, checks = doctor("--store", store, "--expect", "1000", preexec=limits(256, 256))
    line = checks["open_files"]
    assert code == 1 and line["status"] == "fail"
    assert line["data"]["soft"] == 256 and line["data"]["phones_per_process"] == 192
    assert "prlimit" in line["fix"] or "launchctl" in line["fix"]


def test_open_file_limit_raised_passes(store: str) -> None:
    """Under `ulimit -Sn 256` with a hard limit of 2,048, doctor reports what serve will raise it to."""
    require_posix_limits()
    hard = hard_limit()
    if hard is not None and hard < 2048:
        pytest.skip(f"hard limit {hard}")
    _, checks = doctor("--store", store, "--expect", "1000", preexec=limits(256, 2048))
    line = checks["open_files"]
    assert line["status"] == "pass" and line["data"]["before"] == 256 and line["data"]["soft"] == 2048
    assert "serve raises it from 256" in line["summary"]


def test_clock_line_reports_this_machines_time(failing: tuple[int, dict[str, Any]]) -> None:
    """The clock line shows the current UTC time (within a minute) and the NTP state when it can know it."""
    _, checks = failing
    shown = time.strptime(checks["clock"]["data"]["utc"], "%Y-%m-%d %H:%M:%S UTC")
    assert abs(time.mktime(shown) - time.mktime(time.gmtime())) < 120
    assert checks["clock"]["status"] in ("pass", "warn")
    assert checks["clock"]["data"]["ntp_synchronized"] in (True, False, None)


def test_language_mismatch_warns_and_match_passes(store: str) -> None:
    """Meeting in zh-TW with an English locale warns (browsers follow the locale); a zh_TW locale passes."""
    _, mismatch = doctor("--store", store, "--lang", "zh-TW", env={"LANG": "en_US.UTF-8", "LC_ALL": ""})
    assert mismatch["language"]["status"] == "warn"
    assert mismatch["language"]["data"]["browser_language_guess"] == "en"
    _, match = doctor("--store", store, "--lang", "zh-TW", env={"LANG": "zh_TW.UTF-8", "LC_ALL": ""})
    assert match["language"]["status"] == "pass" and match["language"]["data"]["missing_count"] == 0


def test_report_in_traditional_chinese(tmp_path: Path) -> None:
    """`--lang zh-TW` prints the report in Traditional Chinese with a word per status, and exits 1 on failure."""
    result = run_cli("doctor", "--lang", "zh-TW", "--store", "sqlite:////proc/facilitation/x.db",
                     "--port", str(free_port()), env={"LANG": "C.UTF-8"})
    assert result.returncode == 1
    assert "這台筆電準備好開會了嗎" in result.stdout
    assert "失敗  disk" in result.stdout and "通過  open_files" in result.stdout
    assert "項檢查失敗" in result.stdout


def test_language_follows_the_locale_by_default() -> None:
    """Without --lang, a zh_TW locale gets the Chinese report and any other the English one."""
    chinese = run_cli("doctor", "--port", str(free_port()), env={"LANG": "zh_TW.UTF-8", "LC_ALL": ""})
    english = run_cli("doctor", "--port", str(free_port()), env={"LANG": "en_US.UTF-8", "LC_ALL": ""})
    assert "這台筆電準備好開會了嗎" in chinese.stdout
    assert "is this laptop ready for the meeting?" in english.stdout


def test_missing_pdf_libraries_fail_the_pdf_line(tmp_path: Path, store: str) -> None:
    """A WeasyPrint that cannot load Pango (as on a laptop without the system libraries) fails the PDF line."""
    shadow = tmp_path / "shadow" / "weasyprint"
    shadow.mkdir(parents=True)
    # What WeasyPrint raises when libpango is absent; placed first on the path for this one child process.
    (shadow / "__init__.py").write_text("raise OSError(\"cannot load library 'libpango-1.0-0'\")\n")
    code, checks = doctor("--store", store, env={"PYTHONPATH": f"{shadow.parent}{os.pathsep}{Path.cwd()}"})
    assert code == 1 and checks["pdf"]["status"] == "fail"
    assert "libpango-1.0-0" in checks["pdf"]["summary"]
    assert "pip install 'facilitation[pdf]'" in checks["pdf"]["fix"] and "libpangoft2" in checks["pdf"]["fix"]


def test_workers_without_redis_fail_the_redis_line(store: str) -> None:
    """`--workers 2` without Redis is what serve refuses: doctor says so before the meeting."""
    code, checks = doctor("--store", store, "--workers", "2")
    assert code == 1 and checks["redis"]["status"] == "fail" and "--redis" in checks["redis"]["fix"]


def test_no_emoji_font_warns_on_the_pdf_line(tmp_path: Path, store: str) -> None:
    """Without an emoji font WeasyPrint draws emoji as boxes over the next characters (seen in a PO
    rehearsal's PDF): doctor warns and names the package. A fontconfig listing DejaVu Sans (which holds a
    few emoji code points) and a CJK font, but no emoji family, stands in for such a laptop."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "fc-list"
    fake.write_text("#!/bin/sh\necho 'Noto Sans CJK TC'\necho 'DejaVu Sans'\n")
    fake.chmod(0o755)
    _, checks = doctor("--store", store, env={"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"})
    assert checks["pdf"]["status"] == "warn", checks["pdf"]
    assert "fonts-noto-color-emoji" in checks["pdf"]["fix"] and checks["pdf"]["data"]["emoji_font"] is False
