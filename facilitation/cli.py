"""The ``facilitation`` command: serve, analyze, import-polis, export, loadtest (see CONTRACT.md)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["main"]


def _serve(args: argparse.Namespace) -> int:
    from facilitation import server
    from facilitation.settings import Settings

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
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "ws_max_size": 1024 * 1024,
        "ws_per_message_deflate": False,  # ~1.8x CPU per message for tiny JSON frames
        "ws_ping_interval": 20.0,
        "ws_ping_timeout": 20.0,
        "timeout_graceful_shutdown": 5,
        "log_level": "info",
        "access_log": False,
    }
    base = settings.public_url or f"http://{settings.host}:{settings.port}"
    print(f"facilitation serving on {base} (store {settings.store_url.split('@')[-1]})", flush=True)
    print(f"create a meeting: {base}/new", flush=True)
    if settings.workers > 1:
        import os

        os.environ.update(settings.to_env())
        server.run("facilitation.app:create_app", settings, factory=True, workers=settings.workers, **options)
    else:
        from facilitation.app import create_app

        server.run(create_app(settings), settings, **options)
    return 0


def _analyze(args: argparse.Namespace) -> int:
    from facilitation.commands.analyze import run

    return int(run(args.path, args.json))


def _import_polis(args: argparse.Namespace) -> int:
    from facilitation.commands.import_polis import run

    return int(run(args.path, args.store))


def _export(args: argparse.Namespace) -> int:
    from facilitation.commands.export import run

    return int(run(args.code, args.format, args.out, args.store))


def _loadtest(args: argparse.Namespace) -> int:
    from facilitation.loadtest import run

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
    export.add_argument("--format", required=True, choices=["md", "html", "pdf", "json", "polis"])
    export.add_argument("--out", default=None)
    export.add_argument("--store", default=None)
    export.set_defaults(func=_export)

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
    load.set_defaults(func=_loadtest)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
