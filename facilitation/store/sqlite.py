"""The embedded store: one SQLite file in WAL mode, written by one thread in batches.

Why one writer thread: SQLite allows one writer at a time, and a commit costs an fsync. The event loop
hands writes to a queue; the writer takes everything queued, writes it in one transaction, commits once
(``synchronous=FULL``: durable across a power cut, not only a process kill) and then resolves every
waiting future in the order the writes were submitted. Under load one fsync covers hundreds of votes, so
ingest is bounded by the disk's fsync rate times the batch size, not by one fsync per vote.

Reads (loading a meeting, a resume that fell out of memory) are rare and go through a second connection
in a worker thread; WAL lets them run while the writer writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import queue
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from facilitation.events import Event, event_from_dict
from facilitation.store.base import MeetingExists, StoreUnavailable

__all__ = ["SQLiteStore"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS meetings (
    code TEXT PRIMARY KEY,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    meeting TEXT NOT NULL,
    seq INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (meeting, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS analyses (
    meeting TEXT NOT NULL,
    run INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    at REAL NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (meeting, run)
) WITHOUT ROWID;
"""

MAX_BATCH = 5000
"""Writes per transaction at most, so one huge burst does not hold every waiting ack back."""

_Write = tuple[str, Sequence[Any], "asyncio.Future[None]"]


def _path_from_url(url: str) -> str:
    if not url.startswith("sqlite:///"):
        raise ValueError(f"SQLite URL must look like sqlite:///path/to/file.db, got {url!r}")
    path = url.removeprefix("sqlite:///")
    return path or ":memory:"


def _connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=5000")
    return conn


class SQLiteStore:
    """:class:`~facilitation.store.base.Store` on one SQLite file."""

    def __init__(self, url: str) -> None:
        self.path = _path_from_url(url)
        self._queue: queue.SimpleQueue[_Write | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._reader: sqlite3.Connection | None = None
        self._read_lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._failed: BaseException | None = None

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r})"

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._loop = asyncio.get_running_loop()
        writer = _connect(self.path)
        writer.executescript(SCHEMA)
        self._reader = _connect(self.path)
        self._thread = threading.Thread(target=self._write_loop, args=(writer,), name="sqlite-writer", daemon=True)
        self._thread.start()

    async def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            await asyncio.to_thread(self._thread.join)
            self._thread = None
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    # ------------------------------------------------------------ writes

    def _submit(self, sql: str, rows: Sequence[Any]) -> asyncio.Future[None]:
        if self._failed is not None:
            raise StoreUnavailable("store_unavailable", f"the database cannot be written: {self._failed}")
        if self._loop is None or self._thread is None:
            raise StoreUnavailable("store_unavailable", "the store is not started")
        future: asyncio.Future[None] = self._loop.create_future()
        self._queue.put((sql, rows, future))
        return future

    async def create_meeting(self, code: str, events: Sequence[Event]) -> None:
        rows = [("meeting", code, events[0].at)] + [("event", code, e.seq, json.dumps(e.to_dict())) for e in events]
        await self._submit("create", rows)

    async def append(self, code: str, events: Sequence[Event]) -> None:
        if not events:
            return
        await self._submit(
            "INSERT INTO events (meeting, seq, data) VALUES (?, ?, ?)",
            [(code, e.seq, json.dumps(e.to_dict(), ensure_ascii=False)) for e in events],
        )

    async def save_analysis(self, code: str, run: int, seq: int, at: float, payload: dict[str, Any]) -> None:
        await self._submit(
            "INSERT OR REPLACE INTO analyses (meeting, run, seq, at, data) VALUES (?, ?, ?, ?, ?)",
            [(code, run, seq, at, json.dumps(payload, ensure_ascii=False))],
        )

    def _write_loop(self, conn: sqlite3.Connection) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                break
            batch = [first]
            stop = False
            while len(batch) < MAX_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            self._write_batch(conn, batch)
            if stop:
                break
        conn.close()

    def _write_batch(self, conn: sqlite3.Connection, batch: list[_Write]) -> None:
        """One transaction for the whole batch; a write that fails alone is refused alone."""
        outcomes: list[BaseException | None] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for sql, rows, _ in batch:
                conn.execute("SAVEPOINT w")
                try:
                    self._execute(conn, sql, rows)
                    conn.execute("RELEASE w")
                    outcomes.append(None)
                except sqlite3.IntegrityError as exc:
                    conn.execute("ROLLBACK TO w")
                    conn.execute("RELEASE w")
                    outcomes.append(exc)
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            # The disk is full or the file is gone: nothing in this batch is durable.
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            self._failed = exc
            outcomes = [exc] * len(batch)
        assert self._loop is not None
        self._loop.call_soon_threadsafe(_resolve, [(w[0], w[2]) for w in batch], outcomes)

    @staticmethod
    def _execute(conn: sqlite3.Connection, sql: str, rows: Sequence[Any]) -> None:
        if sql == "create":
            _, code, created_at = rows[0]
            conn.execute("INSERT INTO meetings (code, created_at) VALUES (?, ?)", (code, created_at))
            conn.executemany(
                "INSERT INTO events (meeting, seq, data) VALUES (?, ?, ?)", [r[1:] for r in rows[1:]]
            )
        else:
            conn.executemany(sql, rows)

    # ------------------------------------------------------------ reads

    async def _read(self, sql: str, params: Sequence[Any]) -> list[Any]:
        def run() -> list[Any]:
            assert self._reader is not None, "store not started"
            with self._read_lock:
                return self._reader.execute(sql, params).fetchall()

        return await asyncio.to_thread(run)

    async def load(self, code: str) -> list[Event] | None:
        rows = await self._read("SELECT data FROM events WHERE meeting = ? ORDER BY seq", (code,))
        if not rows:
            return None
        return [event_from_dict(json.loads(r[0])) for r in rows]

    async def events_since(self, code: str, seq: int, limit: int) -> list[Event]:
        rows = await self._read(
            "SELECT data FROM events WHERE meeting = ? AND seq > ? ORDER BY seq LIMIT ?", (code, seq, limit)
        )
        return [event_from_dict(json.loads(r[0])) for r in rows]

    async def meeting_codes(self) -> list[str]:
        rows = await self._read("SELECT code FROM meetings ORDER BY created_at, code", ())
        return [r[0] for r in rows]

    async def load_analysis(self, code: str, run: int | None = None) -> dict[str, Any] | None:
        if run is None:
            rows = await self._read(
                "SELECT run, seq, at, data FROM analyses WHERE meeting = ? ORDER BY run DESC LIMIT 1", (code,)
            )
        else:
            rows = await self._read(
                "SELECT run, seq, at, data FROM analyses WHERE meeting = ? AND run = ?", (code, run)
            )
        if not rows:
            return None
        run_, seq, at, data = rows[0]
        return {"run": run_, "seq": seq, "at": at, "result": json.loads(data)}

    async def analysis_runs(self, code: str) -> list[dict[str, Any]]:
        rows = await self._read("SELECT run, seq, at FROM analyses WHERE meeting = ? ORDER BY run", (code,))
        return [{"run": r, "seq": s, "at": a} for r, s, a in rows]

    async def healthy(self) -> bool:
        if self._failed is not None or self._thread is None or not self._thread.is_alive():
            return False
        try:
            await self._read("SELECT 1", ())
        except sqlite3.Error:
            return False
        return True


def _resolve(writes: list[tuple[str, asyncio.Future[None]]], outcomes: list[BaseException | None]) -> None:
    for (sql, future), outcome in zip(writes, outcomes, strict=True):
        if future.done():
            continue
        if outcome is None:
            future.set_result(None)
        elif sql == "create" and isinstance(outcome, sqlite3.IntegrityError):
            future.set_exception(MeetingExists("meeting_exists", "a meeting with that code already exists"))
        else:
            future.set_exception(StoreUnavailable("store_unavailable", f"the write was not stored: {outcome}"))
