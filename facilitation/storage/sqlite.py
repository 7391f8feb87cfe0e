"""The embedded store: one SQLite file in WAL mode, written by one thread in batches.

Why one writer thread: SQLite allows one writer at a time, and a commit costs an fsync. The event loop
hands writes to a queue; the writer takes everything queued, writes it in one transaction, commits once
(``synchronous=FULL``: durable across a power cut, not only a process kill) and then resolves every
waiting future in the order the writes were submitted. Under load one fsync covers hundreds of votes, so
ingest is bounded by the disk's fsync rate times the batch size, not by one fsync per vote.

Why the writer never dies: it is shared by every meeting of the process. Rows are encoded (and checked
for a UTF-8 form) in the caller's task before they are queued, so an unstorable item is refused alone
(``store_refused``) before it reaches the thread; inside the thread each write runs in its own savepoint
and any error fails that write only (and the later writes of the same meeting in that batch, which
would otherwise leave a gap in its sequence numbers); an error around the batch fails the batch. If the
thread ends anyway, the next write or health check logs it, counts it
(``facilitation_store_writer_restarts_total``), fails what it held and starts a new one.

Reads (loading a meeting, a resume that fell out of memory) are rare and go through a second connection
in a worker thread; WAL lets them run while the writer writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from facilitation import metrics
from facilitation.core.codec import StoreRefused, decode, encode
from facilitation.core.events import Event
from facilitation.storage.store import HEALTH_TIMEOUT, MeetingExists, StoreUnavailable

__all__ = ["SQLiteStore"]

log = logging.getLogger(__name__)

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
CREATE TABLE IF NOT EXISTS documents (
    meeting TEXT NOT NULL,
    name TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (meeting, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS health (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL
);
"""

MAX_BATCH = 5000
"""Writes per transaction at most, so one huge burst does not hold every waiting ack back."""

_INSERT_EVENTS = "INSERT INTO events (meeting, seq, data) VALUES (?, ?, ?)"
_ITEM_ERRORS = (sqlite3.IntegrityError, sqlite3.InterfaceError, sqlite3.DataError, ValueError, TypeError,
                OverflowError)
"""Errors that belong to one write (a taken seq, a value SQLite cannot bind), not to the database."""


class _Gap(Exception):
    """An append that does not continue its meeting's log (an earlier write of it failed, or another
    writer got there first)."""


@dataclass(eq=False)
class _Write:
    """One queued write: what it is (``kind``), its meeting, its rows, and the future its caller awaits."""

    kind: str
    code: str
    rows: Sequence[Any]
    future: asyncio.Future[None] = field(repr=False)


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
    conn.execute("PRAGMA secure_delete=ON")  # a deleted or replaced row's bytes are zeroed, not left in free space
    return conn


def _checked(text: str, what: str) -> str:
    if text.isascii():  # a C scan, ~20x faster than encoding: most payloads are ASCII
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise StoreRefused("store_refused", f"{what} cannot be stored: {exc.reason}") from None
    return text


class SQLiteStore:
    """:class:`~facilitation.storage.store.Store` on one SQLite file."""

    def __init__(self, url: str) -> None:
        self.path = _path_from_url(url)
        self._queue: queue.SimpleQueue[_Write | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._reader: sqlite3.Connection | None = None
        self._read_lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing = False
        self._holding: list[_Write] = []
        """The batch the writer thread is working on (to fail it if the thread ends mid-batch)."""
        self._tops: dict[str, int] = {}
        """Writer thread only: each meeting's last committed seq, so an append that would leave a gap is
        refused without a query."""

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r})"

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._loop = asyncio.get_running_loop()
        self._reader = _connect(self.path)
        self._reader.executescript(SCHEMA)
        self._start_writer()

    def _start_writer(self) -> None:
        writer = _connect(self.path)
        self._thread = threading.Thread(target=self._write_loop, args=(writer,), name="sqlite-writer", daemon=True)
        self._thread.start()

    async def close(self) -> None:
        self._closing = True
        if self._thread is not None:
            self._queue.put(None)
            await asyncio.to_thread(self._thread.join)
            self._thread = None
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def _ensure_writer(self) -> None:
        """The writer thread ended although nobody closed the store: say so, fail what it held, restart."""
        if self._closing or self._thread is None or self._thread.is_alive():
            return
        log.error("the SQLite writer thread ended unexpectedly; failing its pending writes and restarting it")
        metrics.STORE_WRITER_RESTARTS.inc()
        lost, self._holding = self._holding, []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                lost.append(item)
        error = StoreUnavailable("store_unavailable", "the store's writer restarted; resend")
        for write in lost:
            if not write.future.done():
                write.future.set_exception(error)
        self._start_writer()

    # ------------------------------------------------------------ writes

    def _submit(self, kind: str, code: str, rows: Sequence[Any]) -> asyncio.Future[None]:
        if self._loop is None or self._thread is None or self._closing:
            raise StoreUnavailable("store_unavailable", "the store is not started")
        self._ensure_writer()
        future: asyncio.Future[None] = self._loop.create_future()
        self._queue.put(_Write(kind, code, rows, future))
        return future

    async def create_meeting(self, code: str, events: Sequence[Event]) -> None:
        rows = [(code, e.seq, encode(e)) for e in events]
        await self._submit("create", _checked(code, "the meeting code"), [(code, events[0].at), *rows])

    async def append(self, code: str, events: Sequence[Event], fence: str = "") -> None:
        """``fence`` is ignored: one process owns an embedded store, so there is no other writer to fence."""
        if not events:
            return
        await self._submit("events", code, [(code, e.seq, encode(e)) for e in events])

    async def save_analysis(self, code: str, run: int, seq: int, at: float, payload: dict[str, Any] | str,
                            fence: str = "") -> None:
        data = _checked(payload if isinstance(payload, str) else _json(payload), "the analysis")
        await self._submit("analysis", code, [(code, run, seq, at, data)])

    def _write_loop(self, conn: sqlite3.Connection) -> None:
        """Never raises out of a batch: a failure resolves the batch's futures with an error and the loop
        goes on to the next batch."""
        try:
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
                self._holding = batch
                began = time.perf_counter()
                try:
                    outcomes = self._write_batch(conn, batch)
                except Exception as exc:  # a bug or a broken connection: fail this batch, keep the thread
                    log.exception("SQLite writer: a batch of %d writes failed", len(batch))
                    outcomes = [exc] * len(batch)
                self._holding = []
                metrics.STORE_COMMIT_SECONDS.observe(time.perf_counter() - began)
                assert self._loop is not None
                self._loop.call_soon_threadsafe(_resolve, batch, outcomes)
                if stop:
                    break
        finally:
            with contextlib.suppress(sqlite3.Error):
                conn.close()

    def _write_batch(self, conn: sqlite3.Connection, batch: list[_Write]) -> list[BaseException | None]:
        """One transaction for the whole batch. Fast path: every event row of the batch in one
        ``executemany`` (a vote costs one row, not three statements). Only if that fails is the batch
        redone write by write in savepoints, so a write that fails alone is refused alone.

        Like the Redis append script, a meeting's appends must continue its log exactly (first seq = last
        seq + 1): after a failed batch, a later write of that meeting cannot leave a hole in its numbers."""
        compacts = [w for w in batch if w.kind == "compact"]
        if compacts:  # VACUUM cannot run inside a transaction: the rest of the batch first, then it
            rest = [w for w in batch if w.kind != "compact"]
            done = dict(zip(map(id, rest), self._write_batch(conn, rest) if rest else [], strict=True))
            outcome = _compact(conn)
            return [done[id(w)] if w.kind != "compact" else outcome for w in batch]
        tops: dict[str, int] = {}
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                rows: list[Any] = []
                for write in batch:
                    if write.kind == "events":
                        self._continue(conn, tops, write)
                        rows.extend(write.rows)
                    else:
                        _execute(conn, write)
                        if write.kind == "create":
                            tops[write.code] = write.rows[-1][1]
                conn.executemany(_INSERT_EVENTS, rows)
                outcomes: list[BaseException | None] = [None] * len(batch)
            except (*_ITEM_ERRORS, _Gap):
                conn.execute("ROLLBACK")
                conn.execute("BEGIN IMMEDIATE")
                tops = {}
                outcomes = self._write_one_by_one(conn, batch, tops)
            conn.execute("COMMIT")
            self._tops.update(tops)
            for write, outcome in zip(batch, outcomes, strict=True):
                if write.kind == "delete" and outcome is None:
                    self._tops.pop(write.code, None)  # a new meeting may take the code again
        except sqlite3.Error as exc:
            # The disk is full, the file is read-only or gone: nothing in this batch is durable.
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            log.warning("SQLite writer: a batch of %d writes was not stored: %s", len(batch), exc)
            outcomes = [exc] * len(batch)
        return outcomes

    def _continue(self, conn: sqlite3.Connection, tops: dict[str, int], write: _Write) -> None:
        """Raise :class:`_Gap` unless ``write`` starts right after its meeting's last seq."""
        top = tops.get(write.code)
        if top is None:
            top = self._tops.get(write.code)
        if top is None:
            row = conn.execute("SELECT MAX(seq) FROM events WHERE meeting = ?", (write.code,)).fetchone()
            top = int(row[0] or 0)
        first = write.rows[0][1]
        if first != top + 1:
            raise _Gap(f"the log of {write.code} is at seq {top}, not {first - 1}")
        tops[write.code] = write.rows[-1][1]

    def _write_one_by_one(self, conn: sqlite3.Connection, batch: list[_Write],
                          tops: dict[str, int]) -> list[BaseException | None]:
        outcomes: list[BaseException | None] = []
        for write in batch:
            conn.execute("SAVEPOINT w")
            try:
                if write.kind == "events":
                    self._continue(conn, dict(tops), write)
                _execute(conn, write)
                conn.execute("RELEASE w")
                if write.kind in ("events", "create"):
                    tops[write.code] = write.rows[-1][1]
                outcomes.append(None)
            except (*_ITEM_ERRORS, _Gap) as exc:
                conn.execute("ROLLBACK TO w")
                conn.execute("RELEASE w")
                outcomes.append(exc)
        return outcomes

    async def redact(self, code: str, events: Sequence[Event], fence: str = "") -> None:
        """``fence`` is ignored, as for :meth:`append`."""
        if events:
            await self._submit("redact", code, [(encode(e), code, e.seq) for e in events])

    async def drop_analyses(self, code: str, fence: str = "") -> None:
        await self._submit("drop_analyses", code, [(code,)])

    async def delete_meeting(self, code: str) -> bool:
        existed = bool(await self._read("SELECT 1 FROM meetings WHERE code = ? UNION ALL "
                                        "SELECT 1 FROM documents WHERE meeting = ? LIMIT 1", (code, code)))
        await self._submit("delete", code, [(code,)])
        return existed

    async def save_document(self, code: str, name: str, text: str) -> None:
        await self._submit("document", code, [(code, name, _checked(text, "the document"))])

    async def load_document(self, code: str, name: str) -> str | None:
        rows = await self._read("SELECT data FROM documents WHERE meeting = ? AND name = ?", (code, name))
        return str(rows[0][0]) if rows else None

    async def compact(self) -> None:
        await self._submit("compact", "", [()])

    async def _probe(self) -> None:
        """A real durable write through the writer: proves the thread runs and the file takes commits."""
        await self._submit("probe", "", [(time.time(),)])

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
        return [decode(r[0]) for r in rows]

    async def events_since(self, code: str, seq: int, limit: int) -> list[Event]:
        rows = await self._read(
            "SELECT data FROM events WHERE meeting = ? AND seq > ? ORDER BY seq LIMIT ?", (code, seq, limit)
        )
        return [decode(r[0]) for r in rows]

    async def last_seq(self, code: str) -> int:
        rows = await self._read("SELECT MAX(seq) FROM events WHERE meeting = ?", (code,))
        return int(rows[0][0] or 0)

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
        if self._closing or self._thread is None:
            return False
        self._ensure_writer()
        try:
            await asyncio.wait_for(asyncio.shield(self._probe()), HEALTH_TIMEOUT)
        except (StoreUnavailable, TimeoutError):
            return False
        return True


def _json(payload: dict[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False)


def _execute(conn: sqlite3.Connection, write: _Write) -> None:
    if write.kind == "create":
        code, created_at = write.rows[0]
        conn.execute("INSERT INTO meetings (code, created_at) VALUES (?, ?)", (code, created_at))
        conn.executemany(_INSERT_EVENTS, write.rows[1:])
    elif write.kind == "events":
        conn.executemany(_INSERT_EVENTS, write.rows)
    elif write.kind == "analysis":
        # A run stored again slim (analysis/scheduler.py) frees its result's pages without zeroing them
        # (FAST): zeroing ~200 KB a run doubled the bytes written. The freed pages held a map of the same
        # meeting; an erasure or a deletion drops the analyses and then VACUUMs (compact), which rewrites
        # the whole file, so nothing erased is left in free space.
        conn.execute("PRAGMA secure_delete=FAST")
        try:
            conn.executemany("INSERT OR REPLACE INTO analyses (meeting, run, seq, at, data) VALUES (?, ?, ?, ?, ?)",
                             write.rows)
        finally:
            conn.execute("PRAGMA secure_delete=ON")
    elif write.kind == "redact":
        for row in write.rows:
            if conn.execute("UPDATE events SET data = ? WHERE meeting = ? AND seq = ?", row).rowcount != 1:
                raise ValueError(f"no event {row[2]} of {row[1]} to redact")
    elif write.kind == "drop_analyses":
        conn.executemany("DELETE FROM analyses WHERE meeting = ?", write.rows)
    elif write.kind == "delete":
        for table, column in (("events", "meeting"), ("analyses", "meeting"), ("documents", "meeting"),
                              ("meetings", "code")):
            conn.executemany(f"DELETE FROM {table} WHERE {column} = ?", write.rows)
    elif write.kind == "document":
        conn.executemany("INSERT OR REPLACE INTO documents (meeting, name, data) VALUES (?, ?, ?)", write.rows)
    elif write.kind == "probe":
        conn.execute("INSERT OR REPLACE INTO health (id, at) VALUES (1, ?)", write.rows[0])
    else:
        raise ValueError(f"unknown write kind {write.kind!r}")


def _compact(conn: sqlite3.Connection) -> BaseException | None:
    """Leave no old page on disk: fold the write-ahead log into the file and truncate it (old page images
    live in the WAL until then), rebuild the file (VACUUM: no free page keeps a deleted row), and truncate
    the WAL that VACUUM itself wrote."""
    try:
        for sql in ("PRAGMA wal_checkpoint(TRUNCATE)", "VACUUM", "PRAGMA wal_checkpoint(TRUNCATE)"):
            row = conn.execute(sql).fetchone()
            if sql.startswith("PRAGMA") and row is not None and row[0] != 0:
                raise sqlite3.OperationalError("a reader kept the write-ahead log from being truncated")
    except sqlite3.Error as exc:
        log.warning("SQLite compaction failed: %s", exc)
        return exc
    return None


def _resolve(batch: list[_Write], outcomes: list[BaseException | None]) -> None:
    for write, outcome in zip(batch, outcomes, strict=True):
        future = write.future
        if future.done():
            continue
        if outcome is None:
            future.set_result(None)
        elif isinstance(outcome, StoreUnavailable):
            future.set_exception(outcome)
        elif write.kind == "create" and isinstance(outcome, sqlite3.IntegrityError):
            future.set_exception(MeetingExists("meeting_exists", "a meeting with that code already exists"))
        elif isinstance(outcome, (sqlite3.IntegrityError, _Gap)):
            future.set_exception(StoreUnavailable("store_unavailable", f"the log did not take this write "
                                                  f"({outcome}); resend"))
        elif isinstance(outcome, _ITEM_ERRORS):
            metrics.STORE_REFUSED.inc()
            future.set_exception(StoreRefused("store_refused", f"the store refused this write: {outcome}"))
        else:
            future.set_exception(StoreUnavailable("store_unavailable", f"the write was not stored: {outcome}"))
