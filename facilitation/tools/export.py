"""`facilitation export CODE --format md|html|pdf|json|record|polis|opendata [--out PATH] [--store URL]
[--agency NAME] [--dataset NAME] [--transcript PATH]`.

Reads the meeting and its last published analysis from the store (see :mod:`facilitation.export.summary`)
and writes one report file, or a folder: Pol.is CSVs for ``polis``, the open-data package for ``opendata``
(whose attribution statement names ``--agency``, required there). ``record`` is the publishable record
(:mod:`facilitation.export.record`), with the transcript at ``--transcript`` placed in it. Without ``--out`` the file is
``<CODE>.<ext>`` (``<CODE>-polis/``, ``<CODE>-opendata/`` for the folders) in the current directory;
``--out -`` prints a text format on stdout. Errors go to stderr with exit status 2.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from facilitation.core.codes import normalize_code
from facilitation.export import FILE_FORMATS, FOLDER_FORMATS, FORMATS, TEXT_FORMATS, render
from facilitation.export.polis import PolisIds, polis_ids
from facilitation.export.summary import Summary, SummaryUnavailable, build_summary, read_meeting
from facilitation.settings import Settings
from facilitation.storage import open_store
from facilitation.web.network import advertised_base

__all__ = ["base_url", "load", "run"]


def base_url(settings: Settings) -> str:
    """Where links in reports and the printed host URL point: the public URL, else the address phones would
    use for a server bound as configured (the LAN address for ``0.0.0.0``, see :mod:`facilitation.web.network`)."""
    return advertised_base(settings.host, settings.port, settings.public_url)


async def load(code: str, settings: Settings) -> Summary:
    return (await load_with_ids(code, settings))[0]


async def load_with_ids(code: str, settings: Settings) -> tuple[Summary, PolisIds]:
    """The summary, and the Pol.is ids an imported meeting keeps in its log (for ``--format polis``)."""
    store = open_store(settings.store_url)
    await store.start()
    try:
        events, analysis = await read_meeting(store, code)
    finally:
        await store.close()
    return build_summary(events, analysis, join_url=f"{base_url(settings)}/m/{code}"), polis_ids(events)


async def _stored_transcript(settings: Settings, code: str) -> str | None:
    """The transcript kept with the meeting (``facilitation import-transcript``), if any."""
    store = open_store(settings.store_url)
    await store.start()
    try:
        return await store.load_document(code, "transcript")
    finally:
        await store.close()


def run(code: str, fmt: str, out: str | None, store: str | None, agency: str = "", dataset: str = "",
        transcript: str = "") -> int:
    settings = Settings.from_env(store=store)
    canonical = normalize_code(code)
    if canonical is None:
        print(f"error: {code!r} is not a meeting code", file=sys.stderr)
        return 2
    if fmt not in FORMATS:
        print(f"error: unknown format {fmt!r}: one of {', '.join(FORMATS)}", file=sys.stderr)
        return 2
    if out == "-" and fmt not in TEXT_FORMATS:
        # a folder cannot go to stdout, and a PDF there ends up in a terminal: say so before the work
        kind = "a folder of CSV files" if fmt in FOLDER_FORMATS else "a binary file"
        print(f"error: --out - prints a text format ({', '.join(TEXT_FORMATS)}); {fmt} is {kind}: "
              f"give --out PATH", file=sys.stderr)
        return 2
    if fmt == "opendata" and not agency.strip():
        print("error: --format opendata needs --agency NAME: the Open Government Data License's attribution "
              "statement names the providing agency", file=sys.stderr)
        return 2
    try:
        summary, ids = asyncio.run(load_with_ids(canonical, settings))
        if fmt == "polis":
            from facilitation.export.polis import write_polis

            folder = Path(out or f"{canonical}-polis")
            write_polis(summary, folder, ids)
            print(f"wrote {folder}/", file=sys.stderr)
            return 0
        if fmt == "opendata":
            from facilitation.export.opendata import write_opendata

            folder = Path(out or f"{canonical}-opendata")
            write_opendata(summary, folder, agency=agency, dataset=dataset)
            print(f"wrote {folder}/", file=sys.stderr)
            return 0
        stored = asyncio.run(_stored_transcript(settings, canonical)) if fmt == "record" and not transcript else None
        if fmt == "record" and (transcript or stored):
            from facilitation.export.record import render_record
            from facilitation.export.transcript import parse_transcript

            text = Path(transcript).read_text(encoding="utf-8-sig") if transcript else str(stored)
            data = render_record(summary, parse_transcript(text), published_at=summary.published_at).encode("utf-8")
        else:
            data = render(summary, fmt)
    except (SummaryUnavailable, OSError, RuntimeError, ValueError, UnicodeDecodeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if out == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return 0
    path = Path(out or f"{canonical}.{FILE_FORMATS[fmt][1]}")
    path.write_bytes(data)
    print(f"wrote {path}", file=sys.stderr)
    return 0
