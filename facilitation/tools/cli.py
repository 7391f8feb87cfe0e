"""The ``facilitation`` command: serve, doctor, analyze, import-polis, export, loadtest (see CONTRACT.md)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from facilitation.web.fdlimit import DEFAULT_EXPECT

if TYPE_CHECKING:
    from facilitation.settings import Settings

__all__ = ["main", "uvicorn_options"]


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """How uvicorn serves the app.

    No WebSocket-level pings (``ws_ping_interval=None``): every client already sends the protocol's ``ping``
    every 20 s and the server closes a connection silent for 75 s (docs/protocol.md), so a second heartbeat
    only doubled the traffic of idle phones: at 10,000 phones, 500 server pings and 500 pongs a second, each
    with its own timer, about 8 % of the event loop's time (py-spy, bench_live.py) for no client that the
    idle close would not find.
    """
    return {
        "host": settings.host,
        "port": settings.port,
        "ws_max_size": 1024 * 1024,
        "ws_per_message_deflate": False,  # ~1.8x CPU per message for tiny JSON frames
        "ws_ping_interval": None,
        "ws_ping_timeout": None,
        "timeout_graceful_shutdown": 5,
        "log_level": "info",
        "access_log": False,
    }


def _serve(args: argparse.Namespace) -> int:
    from facilitation.settings import Settings
    from facilitation.web import server

    settings = Settings.from_env(
        host=args.host, port=args.port, store=args.store, redis=args.redis, workers=args.workers,
        demo=args.demo or None,
    )
    if settings.workers < 1:
        print("error: --workers must be at least 1", file=sys.stderr)
        return 2
    if settings.workers > 1 and not settings.redis:
        print(
            "error: --workers N>1 needs --redis URL (or FACILITATION_REDIS): workers share meetings "
            "through Redis; the embedded SQLite store serves one worker",
            file=sys.stderr,
        )
        return 2
    options = uvicorn_options(settings)
    _announce(settings, args.expect)
    if settings.workers > 1:
        import os

        os.environ.update(settings.to_env())
        server.run("facilitation.web.app:create_app", settings, factory=True, workers=settings.workers, **options)
    else:
        from facilitation.web.app import create_app

        server.run(create_app(settings), settings, **options)
    return 0


def _announce(settings: Settings, expect: int) -> None:
    """Before the server starts: raise the open-file limit, say where phones join and what may stop them."""
    from facilitation.web import fdlimit, network

    limit = fdlimit.raise_limit()  # before uvicorn: workers and the analysis pool inherit it
    base = network.advertised_base(settings.host, settings.port, settings.public_url)
    print(f"facilitation serving on {settings.host}:{settings.port} (store {settings.store_url.split('@')[-1]})",
          flush=True)
    print(fdlimit.capacity_message(limit, settings.workers), flush=True)
    shortfall = fdlimit.shortfall_message(limit, expect, settings.workers)
    if shortfall:
        print(shortfall, file=sys.stderr, flush=True)
    print(f"create a meeting: {base}/new", flush=True)
    if not network.is_loopback(settings.host) or settings.public_url:
        print(f"phones join at: {base}/m/<CODE> (the QR on the projector names this address)", flush=True)
    for line in _reachability_warning(settings):
        print(line, file=sys.stderr, flush=True)


def _reachability_warning(settings: Settings) -> list[str]:
    """Loud lines when phones in the room cannot reach the links this server hands out."""
    from facilitation.web import network

    if settings.public_url:
        return []
    lan = network.lan_addresses()
    if network.is_loopback(settings.host):
        where = f"http://{lan[0]}:{settings.port}" if lan else "this laptop's Wi-Fi address"
        return [
            "!" * 78,
            f"!! bound to {settings.host}: only this laptop can open these links; PHONES CANNOT JOIN.",
            f"!! To let phones on the same Wi-Fi join, restart with --host 0.0.0.0 (links will name {where}),",
            "!! or set FACILITATION_PUBLIC_URL to an address phones reach. Check with: facilitation doctor",
            "!" * 78,
        ]
    if network.is_wildcard(settings.host) and not lan:
        return ["warning: no network address found besides loopback: phones cannot reach this laptop. Join a "
                "Wi-Fi or a phone's hotspot (then restart), or set FACILITATION_PUBLIC_URL."]
    return []


def _analyze(args: argparse.Namespace) -> int:
    from facilitation.tools.analyze import run

    return int(run(args.path, args.json))


def _import_polis(args: argparse.Namespace) -> int:
    from facilitation.tools.import_polis import run

    return int(run(args.path, args.store))


def _export(args: argparse.Namespace) -> int:
    from facilitation.tools.export import run

    return int(run(args.code, args.format, args.out, args.store, args.agency or "", args.dataset or "",
                   args.transcript or ""))


def _import_transcript(args: argparse.Namespace) -> int:
    from facilitation.tools.import_transcript import run

    return int(run(args.code, args.path, args.store))


def _purge(args: argparse.Namespace) -> int:
    from facilitation.tools.purge import run

    return int(run(args.store, args.dry_run))


def _loadtest(args: argparse.Namespace) -> int:
    from facilitation.tools.loadtest import run
    from facilitation.web import fdlimit

    limit = fdlimit.raise_limit()  # the phones' processes inherit it: each phone is one socket here too
    processes = args.processes or (2 if args.participants >= 400 else 1)  # loadtest's own default
    needed = fdlimit.files_needed(-(-args.participants // max(1, processes)))
    if limit.soft is not None and limit.soft < needed:
        print(f"warning: the load generator's open-file limit is {limit.soft:,}, below the {needed:,} its phones "
              f"need: {fdlimit.raise_command(needed, 'facilitation loadtest')}", file=sys.stderr)

    return int(run(args))


def _doctor(args: argparse.Namespace) -> int:
    from facilitation.tools.doctor import run

    return int(run(args))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="facilitation", description="Live collaborative meetings.")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the server")
    serve.add_argument("--host", default=None, help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (default 8000)")
    serve.add_argument("--store", default=None, help="store URL (default sqlite:///./facilitation.db)")
    serve.add_argument("--redis", default=None, help="Redis URL: share meetings across workers and machines")
    serve.add_argument("--workers", type=int, default=None, help="worker processes (needs --redis above 1)")
    serve.add_argument("--demo", action="store_true", help="create a demo meeting with simulated voters")
    serve.add_argument("--expect", type=int, default=DEFAULT_EXPECT, metavar="N",
                       help=f"participants you expect (default {DEFAULT_EXPECT:,}): warns at startup when the "
                            "open-file limit cannot hold them")
    serve.set_defaults(func=_serve)

    analyze = sub.add_parser("analyze", help="cluster a Pol.is export folder")
    analyze.add_argument("path")
    analyze.add_argument("--json", action="store_true", help="print the analysis as JSON only")
    analyze.set_defaults(func=_analyze)

    imp = sub.add_parser("import-polis", help="create a meeting from a Pol.is export folder")
    imp.add_argument("path")
    imp.add_argument("--store", default=None)
    imp.set_defaults(func=_import_polis)

    export = sub.add_parser("export", help="export a meeting's session summary")
    export.add_argument("code")
    export.add_argument("--format", required=True, choices=["md", "html", "pdf", "json", "record", "polis", "opendata"])
    export.add_argument("--out", default=None)
    export.add_argument("--store", default=None)
    export.add_argument("--agency", default=None,
                        help="opendata: the providing agency its attribution statement names (required there)")
    export.add_argument("--dataset", default=None,
                        help="opendata: the dataset's name and version in the attribution statement")
    export.add_argument("--transcript", default=None, metavar="PATH",
                        help="record: a PDIS Markdown transcript to place among the meeting's events")
    export.set_defaults(func=_export)

    transcript = sub.add_parser("import-transcript",
                                help="keep a stenographer's transcript (PDIS Markdown) with a meeting, for its record")
    transcript.add_argument("code")
    transcript.add_argument("path")
    transcript.add_argument("--store", default=None)
    transcript.set_defaults(func=_import_transcript)

    purge = sub.add_parser("purge", help="delete the meetings past their retention period (e.g. daily from cron)")
    purge.add_argument("--store", default=None)
    purge.add_argument("--dry-run", action="store_true", help="list them, delete nothing")
    purge.set_defaults(func=_purge)

    doctor = sub.add_parser("doctor", help="check this laptop before a meeting: network, limits, disk, PDF, ...")
    doctor.add_argument("--host", default=None, help="the address serve will bind (default 127.0.0.1)")
    doctor.add_argument("--port", type=int, default=None, help="the port serve will use (default 8000)")
    doctor.add_argument("--store", default=None, help="the store serve will use")
    doctor.add_argument("--redis", default=None, help="the Redis URL serve will use")
    doctor.add_argument("--workers", type=int, default=None, help="the worker processes serve will run")
    doctor.add_argument("--expect", type=int, default=DEFAULT_EXPECT, metavar="N",
                        help=f"participants you expect (default {DEFAULT_EXPECT:,})")
    doctor.add_argument("--lang", default=None, choices=["zh-TW", "en"],
                        help="language of this report and of the meeting (default: from LANG)")
    doctor.add_argument("--json", action="store_true", help="print the checks as JSON only")
    doctor.set_defaults(func=_doctor)

    load = sub.add_parser("loadtest", help="drive a running server like N phones and a projector")
    load.add_argument("url")
    load.add_argument("--participants", type=int, default=100)
    load.add_argument("--duration", type=float, default=30.0)
    load.add_argument("--vote-interval", type=float, default=3.0)
    load.add_argument("--code", default=None, help="join this meeting instead of creating one")
    load.add_argument("--json", action="store_true")
    load.add_argument("--host-key", default=None, help="with --code: open the meeting if it is in the lobby")
    load.add_argument("--processes", type=int, default=0, help="phone processes (default: 2 from 400 phones)")
    load.add_argument("--steady", action="store_true", help="vote at a fixed interval instead of at random")
    load.add_argument("--seed", type=int, default=0, help="random seed of the simulated phones")
    from facilitation.tools.loadtest import add_options  # the options beyond the contract's, declared once there

    add_options(load)
    load.set_defaults(func=_loadtest)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except BrokenPipeError:  # `facilitation doctor | head`: the reader left; say nothing more, as cat would
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # Python's exit flush would raise again on the closed pipe
        return 141 if os.name != "nt" else 1  # 128 + SIGPIPE, what a shell reports for a killed writer


if __name__ == "__main__":
    sys.exit(main())
