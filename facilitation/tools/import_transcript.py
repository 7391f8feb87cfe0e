"""`facilitation import-transcript CODE PATH [--store URL]`: keep a stenographer's transcript (PDIS Markdown:
``### 姓名：`` paragraphs) with the meeting, so the record (the export, and the public page once published)
places it among the meeting's events. The file is parsed first; a file with no speech is refused. Importing
again replaces the transcript (the corrected version participants asked for). Prints how it was read."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from facilitation.core.codes import normalize_code
from facilitation.export.transcript import TranscriptError, parse_transcript
from facilitation.settings import Settings
from facilitation.storage import open_store

__all__ = ["run"]

TRANSCRIPT = "transcript"


def run(code: str, path: str, store: str | None) -> int:
    canonical = normalize_code(code)
    if canonical is None:
        print(f"error: {code!r} is not a meeting code", file=sys.stderr)
        return 2
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        parsed = parse_transcript(text)
    except TranscriptError as exc:
        print(f"error: {path}: {exc}", file=sys.stderr)
        return 2
    paragraphs = [p for p in parsed.paragraphs if p.kind == "speech"]
    if not paragraphs:
        print(f"error: {path} holds no speech (### 姓名： headings followed by text)", file=sys.stderr)
        return 2
    found = asyncio.run(_save(Settings.from_env(store=store).store_url, canonical, text))
    if not found:
        print(f"error: no meeting {canonical} in this store", file=sys.stderr)
        return 2
    speakers = sorted({p.speaker for p in paragraphs})
    markers = sum(1 for p in parsed.paragraphs if p.kind == "marker")
    print(f"stored the transcript of {canonical}: {len(paragraphs)} paragraphs by {len(speakers)} speakers, "
          f"{markers} markers")
    return 0


async def _save(url: str, code: str, text: str) -> bool:
    s = open_store(url)
    await s.start()
    try:
        if not await s.load(code):
            return False
        await s.save_document(code, TRANSCRIPT, text)
        return True
    finally:
        await s.close()
