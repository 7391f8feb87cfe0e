"""``facilitation doctor``: what a PO runs on the laptop before the meeting, in zh-TW or English.

Each check looks at one thing that has broken a real meeting, says what it found and, when it is not
fine, exactly what to do. ``pass`` and ``fail`` are facts this machine can establish; ``warn`` marks what
it cannot establish alone (a venue's Wi-Fi may isolate phones from the laptop: only a phone can tell) or
what works but degrades the meeting; ``skip`` marks a check that does not apply (no Redis configured).
The exit status is 1 when any check fails, so a script can gate on it; ``--json`` prints the same checks
as data.

No check sends traffic beyond this machine: the LAN address comes from the routing table
(:mod:`facilitation.web.network`), the port probe connects to this machine's own addresses, and Redis is
contacted only at the URL configured.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from facilitation.settings import Settings
from facilitation.web import fdlimit, network

__all__ = ["CHECKS", "Check", "Text", "detect_language", "run", "run_checks"]

DISK_FAIL_BYTES = 200 * 1024 * 1024
"""Below this free space a meeting's store may fill the disk mid-meeting: fail. Measured: 1,000 phones voting
for 30 s (10,328 votes, live analysis on) left 7.5 MB of SQLite database and WAL, so 200 MB is a long
meeting with room for exports and logs."""
DISK_WARN_BYTES = 1024 * 1024 * 1024
"""Below this, warn: every published map is stored beside the votes, and logs and exports need room too."""
PROBE_TIMEOUT = 1.0
"""Seconds to wait for this machine's own port or a configured Redis: a local answer is immediate."""
STATUS_WORDS = {
    "en": {"pass": "PASS", "warn": "WARN", "fail": "FAIL", "skip": "SKIP"},
    "zh-TW": {"pass": "通過", "warn": "注意", "fail": "失敗", "skip": "略過"},  # two wide characters: 4 columns
}


@dataclass(frozen=True)
class Check:
    """One line of the report: a stable ``name``, a status, what was found, what to do, and the raw facts."""

    name: str
    status: str
    summary: str
    fix: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


class Text:
    """Picks the report's language: every sentence is written once in each, side by side."""

    def __init__(self, language: str) -> None:
        self.language = language

    def __call__(self, en: str, zh: str) -> str:
        return zh if self.language == "zh-TW" else en


def detect_language(env: dict[str, str] | None = None) -> str:
    """zh-TW when the locale says Chinese (LC_ALL, LC_MESSAGES, LANG), else English."""
    env = dict(os.environ) if env is None else env
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name, "")
        if value:
            return "zh-TW" if value.lower().startswith("zh") else "en"
    return "en"


def _locale(env: dict[str, str]) -> str:
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        if env.get(name):
            return env[name]
    return ""


@dataclass(frozen=True)
class Context:
    settings: Settings
    expect: int
    language: str
    env: dict[str, str]
    meeting_language: str = "zh-TW"
    """The meeting's language: ``--lang`` when given, else the default on /new (zh-TW)."""

    @property
    def t(self) -> Text:
        return Text(self.language)


# ---------------------------------------------------------------- network and port


def check_network(ctx: Context) -> Check:
    t, s = ctx.t, ctx.settings
    lan = network.lan_addresses(fresh=True)
    interfaces = {address: network.interface_of(address) for address in lan}
    data: dict[str, Any] = {"lan_addresses": lan, "interfaces": interfaces, "bind": s.host,
                            "public_url": s.public_url}
    isolation = t(
        "Venue Wi-Fi may block phones from reaching this laptop (client isolation): open {test} on a phone "
        "before the meeting; if it does not load, use a phone's hotspot for the laptop and the phones, or set "
        "FACILITATION_PUBLIC_URL to an address phones reach.",
        "會場 Wi-Fi 可能阻擋手機連到這台筆電（用戶端隔離）：會前先用手機開 {test}；打不開的話，讓筆電和手機都連"
        "同一支手機的熱點，或把 FACILITATION_PUBLIC_URL 設成手機連得到的網址。")
    if s.public_url:
        join = f"{s.public_url.rstrip('/')}/m/<CODE>"
        data["join_url"] = join
        return Check("network", "pass", t(f"FACILITATION_PUBLIC_URL is set: phones will join at {join}",
                                          f"已設定 FACILITATION_PUBLIC_URL：手機會用 {join} 加入"),
                     isolation.format(test=f"{s.public_url.rstrip('/')}/healthz"), data)
    if not lan:
        return Check("network", "fail", t(
            "No network address besides loopback (127.0.0.1): phones cannot reach this laptop.",
            "除了本機位址（127.0.0.1）之外找不到網路位址：手機連不到這台筆電。"), t(
            "Join the venue Wi-Fi, or turn on a phone's hotspot and join it, then run `facilitation doctor` again.",
            "請連上會場 Wi-Fi，或開手機熱點並連上，再執行一次 `facilitation doctor`。"), data)
    shown = ", ".join(f"{a} ({interfaces[a]})" if interfaces[a] else a for a in lan)
    best = f"http://{lan[0]}:{s.port}"
    data["join_url"] = f"{best}/m/<CODE>"
    if network.is_loopback(s.host):
        return Check("network", "fail", t(
            f"LAN address {shown}, but the server binds {s.host}: phones cannot join (links would name {s.host}).",
            f"區域網路位址 {shown}，但伺服器只綁定 {s.host}：手機無法加入（連結會是 {s.host}）。"), t(
            f"Serve for the room: `facilitation serve --host 0.0.0.0`; phones then join at {best}/m/<CODE>.",
            f"請讓會場連得到：`facilitation serve --host 0.0.0.0`，手機就會用 {best}/m/<CODE> 加入。"), data)
    if not network.is_wildcard(s.host) and s.host not in lan:
        return Check("network", "fail", t(
            f"The server binds {s.host}, which is not one of this laptop's LAN addresses ({shown}).",
            f"伺服器綁定的 {s.host} 不是這台筆電的區域網路位址（{shown}）。"), t(
            "Use --host 0.0.0.0 (every interface) or one of the addresses above.",
            "請改用 --host 0.0.0.0（所有網路介面）或上面其中一個位址。"), data)
    join = f"http://{s.host if not network.is_wildcard(s.host) else lan[0]}:{s.port}"
    data["join_url"] = f"{join}/m/<CODE>"
    return Check("network", "pass", t(
        f"LAN address {shown}: phones will join at {join}/m/<CODE> (the projector's QR names it).",
        f"區域網路位址 {shown}：手機會用 {join}/m/<CODE> 加入（投影畫面的 QR code 就是這個網址）。"),
        isolation.format(test=f"{join}/healthz"), data)


def _facilitation_answer(address: str, port: int) -> dict[str, Any] | None:
    """The /healthz JSON of a facilitation server at address:port, None for anything else."""
    connection = http.client.HTTPConnection(address, port, timeout=PROBE_TIMEOUT * 3)
    try:
        connection.request("GET", "/healthz")
        body = json.loads(connection.getresponse().read(65536))
        return body if isinstance(body, dict) and "store" in body and "bus" in body else None
    except (OSError, ValueError, http.client.HTTPException):
        return None
    finally:
        connection.close()


def _listening(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=PROBE_TIMEOUT):
            return True
    except OSError:
        return False


def check_port(ctx: Context) -> Check:
    t, s = ctx.t, ctx.settings
    lan = network.lan_addresses()
    targets = (["127.0.0.1", *lan] if network.is_wildcard(s.host) else [s.host])
    listening = {a: _listening(a, s.port) for a in targets}
    answers = {a: _facilitation_answer(a, s.port) if listening[a] else None for a in targets}
    data: dict[str, Any] = {"port": s.port, "probed": targets,
                            "listening": [a for a in targets if listening[a]],
                            "facilitation": [a for a in targets if answers[a] is not None]}
    if any(listening.values()):
        ours = data["facilitation"]
        if not ours:
            return Check("port", "fail", t(
                f"Port {s.port} is taken by another program on {', '.join(data['listening'])}.",
                f"連接埠 {s.port} 已被其他程式占用（{', '.join(data['listening'])}）。"), t(
                f"Stop that program or serve on another port: --port {s.port + 80}.",
                f"請關掉那個程式，或改用其他連接埠：--port {s.port + 80}。"), data)
        unreachable = [a for a in lan if a not in ours]
        if network.is_wildcard(s.host) and unreachable:
            return Check("port", "fail", t(
                f"A facilitation server answers on {', '.join(ours)}:{s.port} but not on the LAN address "
                f"{', '.join(unreachable)}: it is bound to loopback only.",
                f"facilitation 伺服器在 {', '.join(ours)}:{s.port} 有回應，但區域網路位址 {', '.join(unreachable)} "
                "沒有：它只綁定本機。"), t(
                "Restart it with --host 0.0.0.0.", "請用 --host 0.0.0.0 重新啟動。"), data)
        return Check("port", "pass", t(
            f"A facilitation server is running and answers on {', '.join(f'{a}:{s.port}' for a in ours)}.",
            f"facilitation 伺服器已在執行，{', '.join(f'{a}:{s.port}' for a in ours)} 有回應。"), None, data)
    bind_at = "0.0.0.0" if network.is_wildcard(s.host) else s.host
    try:
        with socket.socket(socket.AF_INET6 if ":" in bind_at else socket.AF_INET) as probe:
            if os.name != "nt":  # on Windows SO_REUSEADDR would let us bind a port in use
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((bind_at, s.port))
    except OSError as exc:
        data["bind_error"] = str(exc)
        why = {errno.EADDRINUSE: t("in use", "已被占用"),
               errno.EACCES: t("needs administrator rights", "需要系統管理員權限"),
               errno.EADDRNOTAVAIL: t("not an address of this machine", "不是這台電腦的位址"),
               }.get(exc.errno or 0, str(exc))
        return Check("port", "fail", t(f"Cannot bind {bind_at}:{s.port}: {why}.",
                                       f"無法綁定 {bind_at}:{s.port}：{why}。"),
                     t(f"Use another port (e.g. --port {max(s.port, 1024) + 80}) or another --host.",
                       f"請改用其他連接埠（例如 --port {max(s.port, 1024) + 80}）或其他 --host。"), data)
    return Check("port", "pass", t(f"Port {s.port} is free to bind on {bind_at} (no server running yet).",
                                   f"連接埠 {s.port} 可在 {bind_at} 綁定（伺服器尚未啟動）。"), None, data)


# ---------------------------------------------------------------- limits, disk, PDF, Redis


def check_open_files(ctx: Context) -> Check:
    t, s = ctx.t, ctx.settings
    limit = fdlimit.raise_limit()  # what serve will do before it starts
    data: dict[str, Any] = {"soft": limit.soft, "hard": limit.hard, "before": limit.before,
                            "phones_per_process": limit.phones, "expect": ctx.expect, "workers": s.workers,
                            "files_needed": fdlimit.files_needed(-(-ctx.expect // max(1, s.workers)))}
    shortfall = fdlimit.shortfall_message(limit, ctx.expect, s.workers)
    if limit.soft is None:
        return Check("open_files", "fail" if shortfall else "pass", fdlimit.capacity_message(limit, s.workers),
                     shortfall, data)
    holds = (limit.phones or 0) * max(1, s.workers)
    raised = ""
    if limit.raised:
        raised = t(f" (serve raises it from {limit.before:,})", f"（serve 會從 {limit.before:,} 調高）")
    summary = t(f"Open-file limit {limit.soft:,}{raised}: serve can hold {holds:,} phones; you expect {ctx.expect:,}.",
                f"開啟檔案上限 {limit.soft:,}{raised}：可容納 {holds:,} 支手機；預計 {ctx.expect:,} 人。")
    if shortfall:
        needed, command = data["files_needed"], fdlimit.raise_command(data["files_needed"])
        return Check("open_files", "fail", summary, t(f"Raise the hard limit to at least {needed:,}: {command}.",
                                                      f"請把硬上限調到至少 {needed:,}：{command}。"), data)
    return Check("open_files", "pass", summary, None, data)


def _first_existing(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path(path.anchor or ".")


def check_disk(ctx: Context) -> Check:
    t, url = ctx.t, ctx.settings.store_url
    if not url.startswith("sqlite://"):
        return Check("disk", "skip", t("The store is Redis: see the Redis line.",
                                       "資料存在 Redis：請看 Redis 那一行。"))
    raw = url.removeprefix("sqlite:///")
    if raw in ("", ":memory:"):
        return Check("disk", "warn", t("The store is in memory: nothing survives a restart.",
                                       "資料只存在記憶體：重新啟動後全部消失。"),
                     t("Use --store sqlite:///./facilitation.db.", "請用 --store sqlite:///./facilitation.db。"))
    path = Path(raw).absolute()
    existing = _first_existing(path.parent)
    data: dict[str, Any] = {"store": str(path), "checked": str(existing)}
    fix = t("Use a folder you can write to: --store sqlite:///$HOME/facilitation.db.",
            "請改用可寫入的資料夾：--store sqlite:///$HOME/facilitation.db。")
    problem = None
    if not existing.is_dir():
        problem = t(f"{existing} is a file, not a folder", f"{existing} 是檔案，不是資料夾")
    else:
        try:
            with tempfile.TemporaryFile(dir=existing):
                pass
            if path.exists():
                with path.open("r+b"):
                    pass
        except OSError as exc:
            problem = t(f"cannot write there ({exc.strerror or exc})", f"無法寫入（{exc.strerror or exc}）")
    if problem:
        return Check("disk", "fail", t(f"Store {path}: {problem}.", f"資料檔 {path}：{problem}。"), fix, data)
    free = shutil.disk_usage(existing).free
    data["free_bytes"] = free
    summary = t(f"Store {path}: writable, {free / 2**30:.1f} GiB free.",
                f"資料檔 {path}：可寫入，剩餘 {free / 2**30:.1f} GiB。")
    if free < DISK_FAIL_BYTES:
        return Check("disk", "fail", summary, t("Free some disk space or put the store on another disk.",
                                                "請清出磁碟空間，或把資料檔放到其他磁碟。"), data)
    if free < DISK_WARN_BYTES:
        return Check("disk", "warn", summary, t("Less than 1 GiB free: free some space before a long meeting.",
                                                "剩不到 1 GiB：長時間會議前請先清出空間。"), data)
    return Check("disk", "pass", summary, None, data)


def check_pdf(ctx: Context) -> Check:
    t = ctx.t
    fix_install = t("pip install 'facilitation[pdf]' and the Pango libraries: apt-get install libpango-1.0-0 "
                    "libpangoft2-1.0-0 (Debian/Ubuntu) or brew install pango (macOS).",
                    "pip install 'facilitation[pdf]'，並安裝 Pango 函式庫：apt-get install libpango-1.0-0 "
                    "libpangoft2-1.0-0（Debian/Ubuntu）或 brew install pango（macOS）。")
    try:
        from weasyprint import HTML  # type: ignore[import-untyped,unused-ignore]

        pdf = HTML(string="<p>會議摘要 summary</p>").write_pdf()
    except Exception as exc:  # ImportError, or OSError when Pango is missing
        return Check("pdf", "fail", t(f"PDF export unavailable: {type(exc).__name__}: {str(exc)[:160]}",
                                      f"無法匯出 PDF：{type(exc).__name__}：{str(exc)[:160]}"), fix_install,
                     {"error": str(exc)})
    data: dict[str, Any] = {"bytes": len(pdf or b"")}
    fonts = None
    if shutil.which("fc-list"):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            fonts = subprocess.run(["fc-list", ":lang=zh-tw", "family"], capture_output=True, text=True,
                                   timeout=10).stdout.strip()
        data["cjk_fonts"] = bool(fonts)
    if fonts == "":
        return Check("pdf", "warn", t("PDF export works, but no Traditional Chinese font is installed: Chinese "
                                      "text would print as empty boxes.",
                                      "可以匯出 PDF，但沒有安裝繁體中文字型：中文會印成空白方框。"),
                     t("apt-get install fonts-noto-cjk", "apt-get install fonts-noto-cjk"), data)
    emoji = _has_emoji_font()
    if emoji is not None:
        data["emoji_font"] = emoji
    if emoji is False:  # participants type emoji; without a font WeasyPrint draws boxes over the next characters
        return Check("pdf", "warn", t("PDF export works, but no emoji font is installed: emoji in statements "
                                      "would print as boxes over the characters beside them.",
                                      "可以匯出 PDF，但沒有安裝表情符號字型："
                                      "意見中的表情符號會印成方框並蓋住旁邊的字。"),
                     t("apt-get install fonts-noto-color-emoji", "apt-get install fonts-noto-color-emoji"), data)
    return Check("pdf", "pass", t("PDF export works (WeasyPrint and its libraries rendered a test page).",
                                  "可以匯出 PDF（WeasyPrint 及其函式庫已成功產生測試頁）。"), None, data)


def _has_emoji_font() -> bool | None:
    """Whether fontconfig knows an emoji font (Noto Color Emoji, Twemoji, ...; None: it cannot be asked).
    By family name: DejaVu Sans covers a few emoji code points, which WeasyPrint does not make up for."""
    if not shutil.which("fc-list"):
        return None
    try:
        listed = subprocess.run(["fc-list", ":", "family"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return "emoji" in listed.lower()


def check_redis(ctx: Context) -> Check:
    t, url = ctx.t, ctx.settings.redis
    if not url and ctx.settings.workers > 1:
        return Check("redis", "fail", t(f"--workers {ctx.settings.workers} without Redis: serve refuses to start.",
                                        f"--workers {ctx.settings.workers} 卻沒有 Redis：serve 會拒絕啟動。"),
                     t("Add --redis redis://localhost:6379/0, or serve one process (one process holds the phones the "
                       "open_files line shows).",
                       "請加上 --redis redis://localhost:6379/0，或只用單一程序"
                       "（可容納的手機數見 open_files 那一行）。"))
    if not url:
        return Check("redis", "skip", t("No Redis configured: one process with the SQLite store.",
                                        "未設定 Redis：單一程序搭配 SQLite。"))
    import redis

    shown = url.rpartition("@")[2]
    client = redis.Redis.from_url(url, socket_connect_timeout=PROBE_TIMEOUT * 2, socket_timeout=PROBE_TIMEOUT * 2)
    try:
        client.ping()
        info = client.info("server")
        data: dict[str, Any] = {"url": shown, "version": info.get("redis_version")}
        with contextlib.suppress(redis.RedisError):
            data["appendonly"] = client.config_get("appendonly").get("appendonly")
    except redis.RedisError as exc:
        return Check("redis", "fail", t(f"Redis at {shown} does not answer: {exc}", f"Redis（{shown}）沒有回應：{exc}"),
                     t("Start Redis (redis-server --appendonly yes --appendfsync always) or fix --redis / "
                       "FACILITATION_REDIS; without Redis, serve one process with the SQLite store.",
                       "請啟動 Redis（redis-server --appendonly yes --appendfsync always）或修正 --redis / "
                       "FACILITATION_REDIS；不用 Redis 時以單一程序搭配 SQLite 執行。"), {"url": shown})
    finally:
        client.close()
    summary = t(f"Redis {data['version']} answers at {shown}.", f"Redis {data['version']}（{shown}）有回應。")
    if data.get("appendonly") == "no":
        return Check("redis", "warn", summary + t(" Append-only file is off: a crash loses acknowledged votes.",
                                                  "未開啟 AOF：當機時會遺失已確認的投票。"),
                     "redis-cli config set appendonly yes", data)
    return Check("redis", "pass", summary, None, data)


# ---------------------------------------------------------------- clock and language


def check_clock(ctx: Context) -> Check:
    t = ctx.t
    now = time.time()
    shown = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(now))
    data: dict[str, Any] = {"utc": shown}
    if not 1_704_067_200 <= now < 4_102_444_800:  # 2024-01-01 .. 2100-01-01
        return Check("clock", "fail", t(f"The clock reads {shown}: that cannot be right.",
                                        f"時鐘顯示 {shown}：不可能正確。"),
                     t("Set the date and time (automatic time in the system settings).",
                       "請設定正確的日期時間（系統設定中的自動校時）。"), data)
    synced = None
    if shutil.which("timedatectl"):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            answer = subprocess.run(["timedatectl", "show", "-p", "NTPSynchronized", "--value"],
                                    capture_output=True, text=True, timeout=5)
            if answer.returncode == 0 and answer.stdout.strip() in ("yes", "no"):
                synced = answer.stdout.strip() == "yes"
    data["ntp_synchronized"] = synced
    if synced is False:
        return Check("clock", "warn", t(f"The clock reads {shown} and is not synchronised (NTP).",
                                        f"時鐘顯示 {shown}，但沒有自動校時（NTP）。"),
                     t("Times in the summary may be off: sudo timedatectl set-ntp true.",
                       "摘要中的時間可能不準：sudo timedatectl set-ntp true。"), data)
    state = t("synchronised (NTP)", "已自動校時（NTP）") if synced else t(
        "sync state unknown here (no timedatectl answer): compare with your phone",
        "無法得知是否自動校時（timedatectl 沒有回應）：請和手機時間比對")
    return Check("clock", "pass", t(f"The clock reads {shown}, {state}.", f"時鐘顯示 {shown}，{state}。"), None, data)


def check_language(ctx: Context) -> Check:
    from facilitation.paths import STATIC_DIR

    t = ctx.t
    catalogs: dict[str, set[str]] = {}
    for lang in ("zh-TW", "en"):
        try:
            catalogs[lang] = set(json.loads((Path(STATIC_DIR) / "i18n" / f"{lang}.json").read_text("utf-8")))
        except (OSError, ValueError):
            catalogs[lang] = set()
    meeting = ctx.meeting_language
    other = "en" if meeting == "zh-TW" else "zh-TW"
    missing = sorted(catalogs[other] - catalogs[meeting])
    locale = _locale(ctx.env)
    neutral = not locale or locale in ("C", "POSIX") or locale.upper().startswith(("C.", "POSIX."))
    browser = None if neutral else detect_language(ctx.env)
    data: dict[str, Any] = {"meeting_language": meeting, "locale": locale or None,
                            "browser_language_guess": browser, "missing_texts": missing[:20],
                            "missing_count": len(missing)}
    if not catalogs[meeting] or missing:
        count = len(missing) or t("all", "全部")
        return Check("language", "fail", t(f"{count} page texts are missing in {meeting}: they would show in "
                                           "the other language.",
                                           f"{meeting} 缺少 {count} 段頁面文字：會以另一種語言顯示。"),
                     t("Reinstall the package (static/i18n is incomplete).",
                       "請重新安裝（static/i18n 不完整）。"), data)
    how = t("Pages show the meeting's language (chosen on /new) whatever the browser's language; everyone can "
            "switch with the 中/EN button.",
            "頁面顯示會議語言（在 /new 建立時選擇），不看瀏覽器語言；每個人都能用「中/EN」按鈕切換。")
    if browser is None or browser != meeting:
        seen = locale or t("not set", "未設定")
        return Check("language", "warn", t(
            f"Meeting language {meeting}; this laptop's locale is {seen}, so its browser may use another "
            "language (the CLI cannot see the phones' browsers).",
            f"會議語言 {meeting}；這台筆電的語系是 {seen}，瀏覽器可能用另一種語言（命令列看不到手機的瀏覽器）。"),
            how + t(f" Pick {meeting} on /new, or run doctor with --lang to check another language.",
                    f" 建立會議時請選 {meeting}，或用 --lang 檢查另一種語言。"), data)
    return Check("language", "pass", t(f"Meeting language {meeting} matches this laptop's locale ({locale}).",
                                       f"會議語言 {meeting} 與這台筆電的語系（{locale}）一致。"), how, data)


CHECKS: tuple[Callable[[Context], Check], ...] = (
    check_network, check_port, check_open_files, check_disk, check_pdf, check_redis, check_clock, check_language,
)


def run_checks(settings: Settings, expect: int, language: str, env: dict[str, str] | None = None,
               meeting_language: str = "zh-TW") -> list[Check]:
    """Every check, in order; a check that crashes is reported as failed, never hides the others."""
    ctx = Context(settings, expect, language, dict(os.environ) if env is None else env, meeting_language)
    results = []
    for check in CHECKS:
        name = check.__name__.removeprefix("check_")
        try:
            results.append(check(ctx))
        except Exception as exc:
            results.append(Check(name, "fail", f"{type(exc).__name__}: {exc}", None, {"crashed": True}))
    return results


def _print(checks: list[Check], language: str) -> None:
    t = Text(language)
    words = STATUS_WORDS[language]
    print(t("facilitation doctor: is this laptop ready for the meeting?",
            "facilitation doctor：這台筆電準備好開會了嗎？"))
    for check in checks:
        print(f"{words[check.status]}  {check.name:<10}  {check.summary}")
        if check.fix:
            print(f"{'':<4}  {'':<10}  → {check.fix}")
    failed = sum(1 for c in checks if c.status == "fail")
    print(t(f"{failed} check(s) failed." if failed else "No check failed.",
            f"{failed} 項檢查失敗。" if failed else "所有檢查都沒有失敗。"))


def run(args: argparse.Namespace) -> int:
    """The ``doctor`` command: 1 when any check fails, else 0."""
    settings = Settings.from_env(host=args.host, port=args.port, store=args.store, redis=args.redis,
                                 workers=args.workers)
    language = args.lang or detect_language()
    expect = args.expect if args.expect is not None else fdlimit.DEFAULT_EXPECT
    checks = run_checks(settings, expect, language, meeting_language=args.lang or "zh-TW")
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:  # a Windows console or a file in a legacy code page cannot encode "→" or 通過
        reconfigure(errors="replace")
    failed = any(c.status == "fail" for c in checks)
    if args.json:
        print(json.dumps({"ok": not failed, "language": language, "expect": expect,
                          "checks": [asdict(c) for c in checks]}, ensure_ascii=False))
    else:
        _print(checks, language)
    sys.stdout.flush()
    return 1 if failed else 0
