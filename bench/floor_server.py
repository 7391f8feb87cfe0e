"""The floor for bench_ingest.py: the least a durable vote can cost on this stack.

    python bench/floor_server.py --port 8100 --db /tmp/floor.db

Starlette + uvicorn (the same WebSocket implementation and options as `facilitation serve`) and one SQLite
file in WAL mode with ``synchronous=FULL``, written by one thread in batches (one transaction and one fsync
per batch), exactly like facilitation/storage/sqlite.py. It speaks just enough of docs/protocol.md for the
load generator: ``hello`` -> ``welcome``, ``vote`` -> the event row made durable -> ``ack`` with the op. No
meeting state, validation, fan-out, idempotency or metrics: what is left is the cost of the socket, the
JSON and the durable write.

It refuses votes beyond the same per-phone limit as facilitation (20 a second, bursts of 60:
``facilitation.core.admission.PARTICIPANT_RATE``/``_BURST``) with an error frame and no write, as
docs/protocol.md says of ``rate_limited``: a phone acked faster than every 50 ms (the bursty pattern on a
fast core) then costs both servers the same refused frames, instead of only facilitation.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import queue
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

_Write = tuple[tuple[str, int, str], "asyncio.Future[None]"]


class BatchedWriter:
    """One thread, one transaction per batch of everything queued."""

    def __init__(self, path: str) -> None:
        self._queue: queue.SimpleQueue[_Write] = queue.SimpleQueue()
        self._loop = asyncio.get_running_loop()
        conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("CREATE TABLE IF NOT EXISTS events (meeting TEXT NOT NULL, seq INTEGER NOT NULL, "
                     "data TEXT NOT NULL, PRIMARY KEY (meeting, seq)) WITHOUT ROWID")
        threading.Thread(target=self._run, args=(conn,), daemon=True).start()

    def write(self, row: tuple[str, int, str]) -> asyncio.Future[None]:
        future: asyncio.Future[None] = self._loop.create_future()
        self._queue.put((row, future))
        return future

    def _run(self, conn: sqlite3.Connection) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < 5000:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            conn.execute("BEGIN")
            conn.executemany("INSERT INTO events (meeting, seq, data) VALUES (?, ?, ?)", [row for row, _ in batch])
            conn.execute("COMMIT")
            self._loop.call_soon_threadsafe(_resolve, [future for _, future in batch])


def _resolve(futures: list[asyncio.Future[None]]) -> None:
    for future in futures:
        if not future.done():
            future.set_result(None)


STATE: dict[str, Any] = {"seq": 0, "participants": 0}
RATE, BURST = 20.0, 60.0
"""facilitation's per-participant command limit (facilitation/core/admission.py), written out: the floor
imports nothing of facilitation."""


async def vote_socket(websocket: WebSocket) -> None:
    writer: BatchedWriter = websocket.app.state.writer
    await websocket.accept()
    code = websocket.path_params["code"]
    try:
        json.loads(await websocket.receive_text())
        participant = STATE["participants"]
        STATE["participants"] += 1
        await websocket.send_text(json.dumps({"v": 1, "type": "welcome", "role": "participant", "code": code,
                                              "participant": participant, "token": f"t{participant:020d}"}))
        tokens, stamp = BURST, time.monotonic()
        while True:
            message = json.loads(await websocket.receive_text())
            if message.get("type") != "vote":
                continue
            now = time.monotonic()
            tokens, stamp = min(BURST, tokens + (now - stamp) * RATE), now
            if tokens < 1:
                await websocket.send_text(json.dumps({"v": 1, "type": "error", "op": message["op"], "error": {
                    "code": "rate_limited", "message": "too many commands: slow down and resend"}}))
                continue
            tokens -= 1
            STATE["seq"] += 1
            seq = STATE["seq"]
            event = {"type": "vote", "seq": seq, "at": time.time(), "participant": participant,
                     "statement": message["statement"], "value": message["value"], "op": message["op"]}
            await writer.write((code, seq, json.dumps(event)))
            await websocket.send_text(json.dumps({"v": 1, "type": "ack", "op": message["op"], "seq": seq,
                                                  "result": {"statement": message["statement"],
                                                             "value": message["value"]}}))
    except WebSocketDisconnect:
        return


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", required=True)
    args = parser.parse_args()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.writer = BatchedWriter(args.db)
        yield

    app = Starlette(routes=[WebSocketRoute("/ws/{code}", vote_socket)], lifespan=lifespan)
    uvicorn.run(app, host="127.0.0.1", port=args.port, ws_per_message_deflate=False, log_level="warning",
                access_log=False)


if __name__ == "__main__":
    main()
