"""One client connection: its role, a bounded send queue, batching for big screens, a rate limit; and the
:class:`Outbox` that writes every connection's queue to its socket.

Backpressure policy: each connection queues at most :data:`SEND_QUEUE_LIMIT` messages. Fan-out only ever
appends; when a queue is full the client is too slow (or gone), so it is closed with :data:`CLOSE_TOO_SLOW`
and reconnects with its last sequence number to resync. A slow phone therefore never delays anyone else.

Writing: one :class:`Outbox` per process (the hub's) writes the queues for at most :data:`TURN_SECONDS`
per event-loop iteration, connection after connection in the order they became ready (projector and host
first: they carry every vote to the room; then the phones whose own command was just answered), and lets
the loop read sockets between turns. A message to 1,000 phones (a new statement, an analysis) used to wake
1,000 sender tasks in one loop iteration, 30-50 ms in which no vote was read (measured as event-loop
stalls); now it goes out over a few short turns while votes keep coming in, and no connection needs its own
task. A connection's messages always leave in the order they were queued.

Projector and host connections receive events in batches, one message per :data:`BATCH_INTERVAL` at
most: at 300+ votes per second a message per vote would cost more than the whole fan-out budget.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from facilitation import metrics
from facilitation.core.closes import CloseCode
from facilitation.core.protocol import PROTOCOL_VERSION, dumps

log = logging.getLogger("facilitation.live.connection")

__all__ = [
    "BATCH_INTERVAL",
    "CLOSE_TOO_SLOW",
    "Connection",
    "Outbox",
    "encode",
]

SEND_QUEUE_LIMIT = 256
SEND_QUEUE_CHARS = 2_000_000
"""The queue is bounded in characters too: a projector's batches can each carry hundreds of events, so 256
of them could hold tens of megabytes for one frozen screen. A message into an empty queue is always taken,
so one large snapshot never closes a client by itself."""
BATCH_INTERVAL = 0.05
"""Seconds between batches to a projector or host: 20 updates a second looks live and costs little."""

CLOSE_TOO_SLOW = CloseCode.TOO_SLOW
CLOSE_INTERNAL = CloseCode.INTERNAL


encode = dumps
"""A server message as JSON text (:func:`facilitation.core.protocol.dumps`, orjson with a fallback)."""


TURN_SECONDS = 0.004
"""How long the outbox writes before it lets the event loop run other work (read frames, fire timers):
short enough to be no stall, long enough that a message to 1,000 phones takes a few turns, not dozens."""
MESSAGES_PER_CONNECTION = 32
"""Messages one connection may write in a turn before the next connection's turn."""

CLOSE_FLUSH_SECONDS = 2.0
"""How long a graceful close waits for the queued messages to go out before the socket is dropped."""


@dataclass(frozen=True, slots=True)
class _Timed:
    """A projector batch and when each vote in it arrived: timed when it is written to the socket."""

    text: str
    arrivals: list[float]


@dataclass(frozen=True, slots=True)
class _CloseAfter:
    code: int
    reason: str


Sender = Callable[[str], Coroutine[Any, Any, None]]
Closer = Callable[[int, str], Coroutine[Any, Any, None]]


class Outbox:
    """Writes queued messages to sockets for every connection of the process, a bounded turn at a time.

    A turn is a plain callback (``loop.call_soon``), not a task: the loop polls sockets between two turns.
    A socket write normally completes at once (uvicorn's send only waits while the transport is paused by a
    client that stopped reading), so the outbox runs each send coroutine one step itself; a send that does
    suspend is finished by a task of its own (:func:`_finish`), and that connection waits for it while the
    others go on: one frozen phone never holds up the outbox.
    """

    def __init__(self) -> None:
        self._screens: deque[Connection] = deque()
        self._replies: deque[Connection] = deque()
        self._phones: deque[Connection] = deque()
        self._turn_due: asyncio.Handle | None = None

    def ready(self, conn: Connection) -> None:
        """``conn`` has something to write (called once until it is served)."""
        (self._screens if conn.batched else self._phones).append(conn)
        self._wake()

    def reply_ready(self, conn: Connection) -> None:
        """``conn`` has queued the answer to its own command: its queue goes before the other phones'
        (everything queued before the answer still goes first: order within a connection is kept)."""
        self._replies.append(conn)
        self._wake()

    def _wake(self) -> None:
        if self._turn_due is None:
            self._turn_due = asyncio.get_running_loop().call_soon(self._turn)

    def _turn(self) -> None:
        self._turn_due = None
        screens, replies, phones = self._screens, self._replies, self._phones
        deadline = time.perf_counter() + TURN_SECONDS
        while screens:
            _serve(screens.popleft())
        while replies:  # answers first, within the turn's time (a burst of them was 30 ms at 10,000 phones)
            _serve(replies.popleft())
            if time.perf_counter() > deadline:
                break
        while phones:  # at least one phone a turn, so a stream of answers never starves the rest
            _serve(phones.popleft())
            if time.perf_counter() > deadline:
                break
        if screens or replies or phones:
            self._wake()  # the next turn after the loop has read its sockets

    async def close(self) -> None:
        if self._turn_due is not None:
            self._turn_due.cancel()
            self._turn_due = None


def _serve(conn: Connection) -> None:
    """One connection's turn. The outbox is shared by every client of the process: whatever goes wrong with
    one connection ends that connection, never the outbox."""
    try:
        conn.write_some(MESSAGES_PER_CONNECTION)
    except Exception:
        log.exception("writing to a %s connection failed; dropping it", conn.role)
        conn.drop(CLOSE_INTERNAL, "internal error")


async def _finish(send: Coroutine[Any, Any, None], waiting: Any) -> None:
    """Drive a send coroutine that suspended on ``waiting`` (a future) to its end, as a task would have.

    This is what Python 3.12's eager task start does: the outbox ran the coroutine's first step itself,
    and only a send that really waits costs a task."""
    while True:
        try:
            if waiting is None:
                await asyncio.sleep(0)
            else:
                await asyncio.wait([waiting])  # its outcome is re-raised inside ``send`` when resumed
        except asyncio.CancelledError:
            send.close()
            raise
        try:
            waiting = send.send(None)
        except StopIteration:
            return


class Connection:
    """A live client on one socket, seen by the room only through :meth:`send` and :meth:`push_event`."""

    def __init__(self, send_text: Sender, close: Closer, role: str, participant: int | None = None,
                 outbox: Outbox | None = None, interrupt: Callable[[], Any] | None = None) -> None:
        self.role = role
        self.participant = participant
        self._send_text = send_text
        self._close = close
        self._outbox = outbox or Outbox()
        self._pending: deque[str | _Timed | _CloseAfter] = deque()
        self._scheduled = False
        self._writing: asyncio.Task[None] | None = None
        """A send that suspended (the client stopped reading), or the close, finishing in its own task."""
        self._ended = False
        """Nothing more will be written: the socket failed, was closed, or the close was sent."""
        self._flushed: asyncio.Future[None] | None = None
        self._closing = False
        self._queued_chars = 0
        self._batch: list[dict[str, Any]] = []
        self._batch_seq = 0
        self._batch_timer: asyncio.TimerHandle | None = None
        self._batch_extra: Callable[[], dict[str, Any]] | None = None
        self._batch_arrivals: list[float] = []
        self.closed = False
        self._last_seq = 0
        self._held: list[Any] | None = None
        self._interrupt = interrupt
        """The socket reader's: stops its wait for the next frame when the client is dropped."""

    @property
    def batched(self) -> bool:
        return self.role in ("projector", "host")

    # ------------------------------------------------------------ which events it still needs

    @property
    def last_seq(self) -> int:
        """The highest sequence number queued to this client: events at or below it are not sent again."""
        return self._last_seq

    @property
    def holding(self) -> bool:
        """Whether live events are held back while a resume reads the log (see :meth:`hold`)."""
        return self._held is not None

    def resume_from(self, seq: int) -> None:
        """The client has every event up to ``seq`` (its ``since``, or the snapshot it is sent)."""
        self._last_seq = seq

    def take(self, event: Any) -> bool:
        """Whether to send ``event`` now: False when the client is gone, already has it, or is holding it
        (then it is kept for :meth:`release`). True marks it as sent, view or not."""
        seq: int = event.seq
        if self.closed or seq <= self._last_seq:
            return False
        if self._held is not None:
            self._held.append(event)
            return False
        self._last_seq = seq
        return True

    def hold(self) -> None:
        """Keep live events back (a resume is reading older ones from the log, which must go first)."""
        self._held = []

    def release(self) -> list[Any]:
        """Stop holding; the events held meanwhile, in order, for the caller to pass through :meth:`take`."""
        held, self._held = self._held or [], None
        return held

    # ------------------------------------------------------------ queueing

    def send(self, message: dict[str, Any] | str) -> bool:
        """Queue a message without waiting; close the client if it cannot keep up."""
        if self.closed:
            return False
        return self._queue(message if isinstance(message, str) else encode(message))

    def _queue(self, text: str, arrivals: list[float] | None = None, *, schedule: bool = True) -> bool:
        if self._queued_chars and (self._queued_chars + len(text) > SEND_QUEUE_CHARS
                                   or len(self._pending) >= SEND_QUEUE_LIMIT):
            self.drop(CLOSE_TOO_SLOW, "too slow: reconnect with since to resync")
            return False
        self._pending.append(text if arrivals is None else _Timed(text, arrivals))
        self._queued_chars += len(text)
        if schedule:
            self._schedule()
        return True

    def reply(self, message: dict[str, Any] | str) -> bool:
        """Queue the answer to this client's own command (an ack, an error, a pong): it is written ahead
        of other phones' broadcasts, so an ack does not wait behind a message to the whole room.

        The connection goes on the outbox's reply queue only, not also on the phones' queue (it was on
        both, and the second turn found nothing left to write: an ack cost two outbox visits)."""
        if self.closed:
            return False
        if self._writing is not None or self._ended:
            return self.send(message)  # written when the send in progress ends (see _written)
        if not self._queue(message if isinstance(message, str) else encode(message), schedule=False):
            return False
        self._scheduled = True  # a later send() need not queue it among the phones: the reply turn writes all
        self._outbox.reply_ready(self)
        return True

    def _schedule(self) -> None:
        if not self._scheduled and self._writing is None and not self._ended:
            self._scheduled = True
            self._outbox.ready(self)

    def push_event(self, seq: int, view: dict[str, Any], extra: Callable[[], dict[str, Any]] | None,
                   arrived: float | None = None) -> None:
        """Add one event to the next batch; the batch goes out at most :data:`BATCH_INTERVAL` from now.
        ``arrived``: when the vote behind the event reached this process (timed for the projector)."""
        self._batch.append(view)
        if arrived is not None and self.role == "projector":
            self._batch_arrivals.append(arrived)
        self._batch_seq = seq
        self._batch_extra = extra
        if self._batch_timer is None:
            self._batch_timer = asyncio.get_running_loop().call_later(BATCH_INTERVAL, self.flush)

    def flush(self) -> None:
        self._batch_timer = None
        if not self._batch:
            return
        message: dict[str, Any] = {
            "v": PROTOCOL_VERSION,
            "type": "batch",
            "seq": self._batch_seq,
            "events": self._batch,
        }
        if self._batch_extra is not None:
            message.update(self._batch_extra())
        self._batch = []
        arrivals, self._batch_arrivals = self._batch_arrivals, []
        if not self.closed:
            self._queue(encode(message), arrivals or None)

    @property
    def backlog(self) -> int:
        """Messages waiting to be written (the reader yields when they pile up, so the outbox catches up)."""
        return len(self._pending)

    # ------------------------------------------------------------ writing (the outbox calls this)

    def write_some(self, budget: int) -> int:
        """Write up to ``budget`` queued messages; returns how many were taken. Called by the outbox only."""
        self._scheduled = False
        taken = 0
        pending = self._pending
        while pending and taken < budget and self._writing is None and not self._ended:
            item = pending.popleft()
            taken += 1
            if isinstance(item, _CloseAfter):
                self._end_with_close(item)
                break
            if isinstance(item, _Timed):
                self._queued_chars -= len(item.text)
                self._write(item.text)
                written = time.perf_counter()
                for arrived in item.arrivals:
                    metrics.VOTE_TO_PROJECTOR_SECONDS.observe(written - arrived)
                continue
            self._queued_chars -= len(item)
            self._write(item)
        if pending and not self._ended:
            self._schedule()  # the rest in a later turn, after the others had theirs
        elif not pending:
            self._settle()
        return taken

    def _write(self, text: str) -> None:
        send = self._send_text(text)
        try:
            waiting = send.send(None)
        except StopIteration:
            return
        except Exception:  # the socket is gone: the receive side notices and cleans up
            self._fail()
            return
        task = asyncio.get_running_loop().create_task(_finish(send, waiting), name=f"send-{self.role}")
        self._writing = task
        task.add_done_callback(self._written)

    def _written(self, task: asyncio.Task[None]) -> None:
        self._writing = None
        if task.cancelled() or task.exception() is not None:
            self._fail()
            return
        if self._pending:
            self._schedule()
        else:
            self._settle()

    def _end_with_close(self, item: _CloseAfter) -> None:
        self._ended = True
        self._pending.clear()
        task = asyncio.get_running_loop().create_task(self._close(item.code, item.reason), name="close")
        self._writing = task
        task.add_done_callback(self._closed)

    def _closed(self, task: asyncio.Task[None]) -> None:
        self._writing = None
        self._settle()

    def _fail(self) -> None:
        self.closed = True
        self._ended = True
        self._pending.clear()
        self._settle()

    def _settle(self) -> None:
        """Wake :meth:`stop` when nothing is left to write."""
        if self._flushed is not None and not self._flushed.done() and not self._pending and self._writing is None:
            self._flushed.set_result(None)

    # ------------------------------------------------------------ closing

    def close_after_sent(self, code: int, reason: str) -> None:
        """Close the client after everything already queued has gone out (e.g. the refusal that explains
        the close); nothing queued after this call is sent."""
        if self.closed:
            return
        if len(self._pending) >= SEND_QUEUE_LIMIT:
            self.drop(code, reason)
            return
        self._pending.append(_CloseAfter(code, reason))
        self._schedule()
        self.closed = True
        self._closing = True
        if self._batch_timer is not None:
            self._batch_timer.cancel()
        if self._interrupt is not None:
            self._interrupt()

    def drop(self, code: int, reason: str) -> None:
        """Close the client from the fan-out side without awaiting anything."""
        if self.closed:
            return
        self.closed = True
        self._ended = True
        self._pending.clear()
        if self._batch_timer is not None:
            self._batch_timer.cancel()
        if self._interrupt is not None:
            self._interrupt()
        with contextlib.suppress(RuntimeError):
            asyncio.get_running_loop().create_task(self._close(code, reason))

    async def stop(self) -> None:
        """Stop writing after what is queued has gone out (the close included), in a bounded time."""
        if self._batch_timer is not None:
            self._batch_timer.cancel()
            self._batch_timer = None
        self.closed = True
        if self._closing and (self._pending or self._writing is not None or not self._ended):
            self._flushed = asyncio.get_running_loop().create_future()
            self._settle()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._flushed), CLOSE_FLUSH_SECONDS)
        self._ended = True
        self._pending.clear()
        if self._writing is not None:
            self._writing.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._writing
