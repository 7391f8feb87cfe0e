"""`facilitation purge [--store URL] [--dry-run]`: delete every meeting past its retention period, then make
the deleted data unrecoverable from the files (SQLite: secure_delete and VACUUM; Redis: the append-only
file rewritten). A running server purges by itself every hour; this is for cron, or a server that is off.
Prints one line per meeting."""

from __future__ import annotations

import asyncio
import time

from facilitation.live.erasure import Expiry, purge
from facilitation.settings import Settings
from facilitation.storage import open_store

__all__ = ["run"]


def run(store: str | None, dry_run: bool = False) -> int:
    settings = Settings.from_env(store=store)
    due = asyncio.run(_purge(settings.store_url, dry_run))
    verb = "would delete" if dry_run else "deleted"
    for found in due:
        ended = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(found.ended_at))
        print(f"{verb} {found.code}: ended {ended}, kept {found.retention_days} days")
    print(f"{len(due)} meeting(s) past retention {verb}")
    return 0


async def _purge(url: str, dry_run: bool) -> list[Expiry]:
    s = open_store(url)
    await s.start()
    try:
        return await purge(s, dry_run=dry_run)
    finally:
        await s.close()
