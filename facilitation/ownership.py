"""One owner per meeting across every worker: the single writer of its log, elected through Redis.

The meeting core is a single-writer state machine (it allocates sequence numbers, refuses duplicate
statements, remembers op ids). With several workers serving one meeting, exactly one of them decides:

- **Election.** Every worker that has the meeting open campaigns every ``ttl/3`` with one Lua script: renew
  the lock ``{m:CODE}:owner`` if it holds our token, else take it if it is free (``INCR {m:CODE}:epoch``
  makes the token ``<epoch>:<worker>``, ``SET ... PX ttl``). If the owner dies, its lock expires and the
  next campaigner takes over within ``ttl + ttl/3``.
- **Fencing.** The token is registered with the store; the store's append script refuses a batch whose
  token is not the lock's current value. A worker that stalled (GC, swapped out, network partition) past
  its lock's expiry cannot write when it wakes, even though it still believes it is the owner.
- **Takeover.** A new owner reads the durable log after taking the lock and replays it unless its replica
  is already exactly at the log's end, so it continues from what is durable, never from a guess.
- **Forwarding.** A non-owner publishes the command on the channel ``{m:CODE}:cmds`` (pub/sub, which the
  owner's one pub/sub connection listens to) with a request id and its worker id; the owner applies it,
  waits until it is durable and answers on the channel ``{w:WORKER}:replies``. Pub/sub, not lists: a list
  push is an AOF write, fsynced with ``appendfsync always``, and a forwarded command made four of them
  (measured: forwarded votes ~7x slower than embedded ones under load). A message lost in a blip costs a
  resend: the non-owner then waits until its own replica has the events (the
  bus brings them) and acknowledges, so the phone's next statement is chosen from an up-to-date replica.
  An unanswered command is published again with the same op id: the core answers a repeat as a duplicate.
- **Local commands on the owner** take the embedded path's shape: apply, await the store's group commit,
  deliver locally at once (the bus skips these when its stream read brings them back).

The analysis scheduler should run a meeting's analysis only where :meth:`Coordinator.is_owner` is true and
follow :attr:`Coordinator.on_change` to start or stop it when ownership moves.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from facilitation import redis_keys as keys
from facilitation.bus import Bus
from facilitation.errors import ClientError
from facilitation.events import Event, event_from_dict
from facilitation.meeting import (
    Applied,
    Command,
    Join,
    Meeting,
    Moderate,
    PostStatement,
    SetPhase,
    SetProfile,
    UpdateSettings,
    Vote,
)
from facilitation.store import Store, StoreUnavailable
from facilitation.store.redis import Fenced

if TYPE_CHECKING:
    from facilitation.hub import Room

__all__ = ["Coordinator", "OwnerUnavailable"]

log = logging.getLogger(__name__)

LOCK_TTL = 3.0
"""Seconds an owner lock lives without renewal: how long a meeting is without a writer after its owner
dies (plus one campaign period). Shorter means faster takeover but more renewals and more risk that a
briefly stalled owner is replaced."""
FORWARD_ATTEMPT = 2.0
"""Seconds a forwarded command waits for the owner's answer before it is published again."""
FORWARD_DEADLINE = 20.0
"""Seconds after which a forwarded command is refused (the phone resends it later with the same op)."""
DELIVERY_WAIT = 5.0
"""Seconds a non-owner waits for its replica to receive a forwarded command's events before acking."""

_CAMPAIGN = """
-- KEYS: owner lock, epoch. ARGV: worker id, token we may hold ('' if none), ttl ms
local current = redis.call('GET', KEYS[1])
if current and current == ARGV[2] then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return 'own:' .. current
end
if current then return 'held:' .. current end
local token = redis.call('INCR', KEYS[2]) .. ':' .. ARGV[1]
redis.call('SET', KEYS[1], token, 'PX', ARGV[3])
return 'own:' .. token
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

_COMMANDS: dict[str, type[Any]] = {
    cls.__name__: cls for cls in (Join, SetProfile, PostStatement, Vote, Moderate, SetPhase, UpdateSettings)
}


class OwnerUnavailable(StoreUnavailable):
    """No worker answered for the meeting in time (failover in progress or Redis unreachable)."""


def encode_command(command: Command) -> dict[str, Any]:
    return {"kind": type(command).__name__, **asdict(command)}


def decode_command(data: dict[str, Any]) -> Command:
    fields = dict(data)
    cls = _COMMANDS[fields.pop("kind")]
    command: Command = cls(**fields)
    return command


class _Seat:
    """This process's part in one meeting: its room, whether it owns it, and who waits for what."""

    def __init__(self, room: Room) -> None:
        self.room = room
        self.token: str | None = None
        """The fencing token while this process owns the meeting, else None."""
        self.last_token = ""
        self.renewed = 0.0
        self.ready = asyncio.Event()
        self.dirty = False
        """The replica may hold events that never became durable: reload before trusting it."""
        self.inflight: asyncio.Future[None] | None = None
        self.campaign: asyncio.Task[None] | None = None
        self.waiters: list[tuple[int, asyncio.Future[None]]] = []

    def delivered(self, events: object) -> None:
        """Room listener: wake forwarded commands whose events this replica now has."""
        if not self.waiters:
            return
        upto = self.room.delivered_seq
        keep = []
        for seq, future in self.waiters:
            if seq <= upto:
                if not future.done():
                    future.set_result(None)
            else:
                keep.append((seq, future))
        self.waiters = keep


class Coordinator:
    """Ownership, forwarding and the owner's command intake for every meeting this process serves."""

    def __init__(self, url: str, store: Store, bus: Bus, *, lock_ttl: float = LOCK_TTL) -> None:
        self.url = url
        self.store = store
        self.bus = bus
        self.lock_ttl = lock_ttl
        self.worker = secrets.token_hex(6)
        self.seats: dict[str, _Seat] = {}
        self.on_change: list[Callable[[str, bool], None]] = []
        """Called with (code, owner?) whenever this process gains or loses a meeting's ownership."""
        self._fences: dict[str, str] | None = getattr(store, "fences", None)
        self._store_streams = self._fences is not None
        if self._store_streams:
            store.require_fence = True  # type: ignore[attr-defined]
        """A Redis store writes the stream itself (one script, log + stream); otherwise publish on the bus."""
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._outbox: dict[str, list[str]] = {}
        self._flusher: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._redis: Redis | None = None
        self._replies_task: asyncio.Task[None] | None = None
        self._replies_ok = False
        self._pubsub: Any = None

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        self._redis = keys.connect(self.url)
        self._campaign = self._redis.register_script(_CAMPAIGN)
        self._release = self._redis.register_script(_RELEASE)
        self._replies_task = asyncio.get_running_loop().create_task(self._listen(), name="owner-channel")

    async def close(self) -> None:
        """Hand every owned meeting over at once (release the locks) instead of waiting for expiry."""
        for code in list(self.seats):
            await self.detach(code)
        if self._replies_task is not None:
            self._replies_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._replies_task
        if self._flusher is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._flusher, 2.0)
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()
        if self._redis is not None:
            await self._redis.aclose()

    def attach(self, room: Room) -> None:
        """Serve ``room`` through ownership: campaign now and keep campaigning while it is open."""
        seat = _Seat(room)
        self.seats[room.code] = seat
        room.strategy = self
        room.listeners.append(seat.delivered)
        seat.campaign = asyncio.get_running_loop().create_task(self._campaign_loop(seat), name=f"own-{room.code}")

    async def detach(self, code: str) -> None:
        seat = self.seats.pop(code, None)
        if seat is None:
            return
        if seat.campaign is not None:
            seat.campaign.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await seat.campaign
        token = seat.token
        await self._step_down(seat)
        if token is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._release(keys=[keys.owner(code)], args=[token])

    def is_owner(self, code: str) -> bool:
        seat = self.seats.get(code)
        return seat is not None and seat.token is not None

    async def healthy(self) -> bool:
        return self._replies_ok and self._replies_task is not None and not self._replies_task.done()

    # ------------------------------------------------------------ election

    async def _campaign_loop(self, seat: _Seat) -> None:
        code = seat.room.code
        while True:
            try:
                status = await self._campaign(
                    keys=[keys.owner(code), keys.epoch(code)],
                    args=[self.worker, seat.token or seat.last_token, int(self.lock_ttl * 1000)],
                )
                if status.startswith("own:"):
                    token = status[4:]
                    seat.renewed = time.monotonic()
                    if seat.token != token:
                        await self._become_owner(seat, token)
                elif seat.token is not None:
                    log.warning("meeting %s: lost ownership to %s", code, status[5:])
                    await self._step_down(seat)
                if seat.token is None and seat.dirty:
                    await self._resync(seat)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError, StoreUnavailable) as exc:
                if seat.token is not None and time.monotonic() - seat.renewed > self.lock_ttl * 0.8:
                    log.warning("meeting %s: cannot renew ownership (%s); stepping down", code, exc)
                    await self._step_down(seat)
            except Exception:
                log.exception("meeting %s: campaign failed", code)
            seat.ready.set()
            await asyncio.sleep(self.lock_ttl / 3)

    async def _become_owner(self, seat: _Seat, token: str) -> None:
        room = seat.room
        last_seq = getattr(self.store, "last_seq", None)
        durable = await last_seq(room.code) if last_seq is not None else -1
        if seat.dirty or room.meeting.seq != durable:
            events = await self.store.load(room.code)
            if not events:
                raise StoreUnavailable("store_unavailable", f"meeting {room.code} has no log")
            room.meeting = Meeting.replay(events)
        seat.dirty = False
        seat.token = seat.last_token = token
        if self._fences is not None:
            self._fences[room.code] = token
        await self._channel(room.code, True)
        log.info("meeting %s: this worker (%s) owns it now, token %s, seq %d", room.code, self.worker, token,
                 room.meeting.seq)
        self._notify(room.code, True)

    async def _step_down(self, seat: _Seat) -> None:
        if seat.token is None:
            return
        seat.token = None
        if self._fences is not None:
            self._fences.pop(seat.room.code, None)
        await self._channel(seat.room.code, False)
        self._notify(seat.room.code, False)

    async def _resync(self, seat: _Seat) -> None:
        """Replace a replica that may be ahead of the log (a failed write) with the durable log's replay."""
        events = await self.store.load(seat.room.code)
        if events:
            seat.room.meeting = Meeting.replay(events)
            seat.dirty = False

    def _notify(self, code: str, owner: bool) -> None:
        for hook in list(self.on_change):
            try:
                hook(code, owner)
            except Exception:
                log.exception("ownership hook failed")

    # ------------------------------------------------------------ submitting

    async def submit(self, room: Room, command: Command) -> Applied:
        """Room strategy: apply here when this process owns the meeting, else forward to the owner."""
        seat = self.seats[room.code]
        if not seat.ready.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(seat.ready.wait(), FORWARD_ATTEMPT)
        if seat.token is not None:
            return await self._apply(seat, command)
        return await self._forward(seat, command)

    async def _apply(self, seat: _Seat, command: Command) -> Applied:
        applied = seat.room.meeting.apply(command, time.time())
        if not applied.events:
            if seat.inflight is not None:  # ack a repeat only once the original is durable
                with contextlib.suppress(Exception):
                    await asyncio.shield(seat.inflight)
            return applied
        await self._commit(seat, applied.events)
        return applied

    async def append_server_event(self, room: Room, make: Callable[[int, float], Event]) -> Event:
        """Room strategy for server-made events (``analysis_published``): only the owner may append."""
        seat = self.seats[room.code]
        if seat.token is None:
            raise OwnerUnavailable("store_unavailable", f"this worker does not own meeting {room.code}")
        event = make(room.meeting.seq + 1, time.time())
        room.meeting.evolve(event)
        await self._commit(seat, [event])
        return event

    async def _commit(self, seat: _Seat, events: list[Event]) -> None:
        """Make events the replica already holds durable (group commit in the store), then deliver."""
        code = seat.room.code
        write = asyncio.ensure_future(self.store.append(code, events))
        seat.inflight = write
        try:
            await write
            if not self._store_streams:
                await self.bus.publish(code, events)
        except StoreUnavailable as exc:
            seat.dirty = True
            if isinstance(exc, Fenced):
                await self._step_down(seat)
            with contextlib.suppress(Exception):
                await self._resync(seat)
            raise
        deliver_local = getattr(self.bus, "deliver_local", None)
        if deliver_local is not None:
            deliver_local(code, events)

    async def _forward(self, seat: _Seat, command: Command) -> Applied:
        assert self._redis is not None
        code = seat.room.code
        loop = asyncio.get_running_loop()
        request = secrets.token_hex(8)
        payload = json.dumps({"id": request, "reply": self.worker, "cmd": encode_command(command)})
        future: asyncio.Future[dict[str, Any]] = loop.create_future()
        self._pending[request] = future
        deadline = loop.time() + FORWARD_DEADLINE
        try:
            while True:
                if seat.token is not None:  # we became the owner meanwhile: the op id makes this safe
                    return await self._apply(seat, command)
                try:
                    heard = await self._redis.publish(keys.commands(code), payload)
                    if heard:
                        answer = await asyncio.wait_for(asyncio.shield(future), FORWARD_ATTEMPT)
                        break
                    await asyncio.sleep(0.2)  # no owner listening (failover in progress): ask again soon
                    if loop.time() > deadline:
                        raise TimeoutError
                except (TimeoutError, RedisError, OSError):
                    if loop.time() > deadline:
                        raise OwnerUnavailable(
                            "store_unavailable", "the meeting's server did not answer in time; resend") from None
                    await asyncio.sleep(0.05)
        finally:
            self._pending.pop(request, None)
        error = answer.get("error")
        if error is not None:
            raise ClientError(error["code"], error["message"], status=int(answer.get("status", 400)))
        await self._delivered(seat, int(answer["seq"]))
        events: list[Event] = [event_from_dict(e) for e in answer.get("events", ())]
        return Applied(events, answer["result"], bool(answer.get("duplicate")))

    async def _delivered(self, seat: _Seat, seq: int) -> None:
        if seat.room.delivered_seq >= seq:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        seat.waiters.append((seq, future))
        try:
            await asyncio.wait_for(future, DELIVERY_WAIT)
        except TimeoutError:
            log.warning("meeting %s: seq %d durable but not yet on this worker's stream", seat.room.code, seq)

    # ------------------------------------------------------------ the owner's intake

    async def _serve(self, seat: _Seat, raw: str) -> None:
        request = json.loads(raw)
        answer: dict[str, Any] = {"id": request["id"]}
        try:
            command = decode_command(request["cmd"])
            seq = seat.room.meeting.seq
            applied = await self._apply(seat, command)
            answer.update(result=applied.result, duplicate=applied.duplicate,
                          seq=applied.events[-1].seq if applied.events else seq,
                          events=[e.to_dict() for e in applied.events])
        except ClientError as exc:
            answer.update(error=exc.to_dict(), status=exc.status)
        except Exception:
            log.exception("meeting %s: forwarded command failed", seat.room.code)
            answer.update(error={"code": "internal", "message": "the server failed on this command; "
                                 "it was not applied"}, status=500)
        self._outbox.setdefault(request["reply"], []).append(json.dumps(answer))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush_replies())

    async def _flush_replies(self) -> None:
        """All queued answers in one pipeline: one round trip per batch, not per command."""
        assert self._redis is not None
        while self._outbox:
            outbox, self._outbox = self._outbox, {}
            pipe = self._redis.pipeline(transaction=False)
            for worker, answers in outbox.items():
                for answer in answers:
                    pipe.publish(keys.replies(worker), answer)
            try:
                await pipe.execute()
            except (RedisError, OSError) as exc:
                log.warning("could not send %d answers (%s); the senders will resend",
                            sum(map(len, outbox.values())), exc)

    async def _listen(self) -> None:
        """One pub/sub connection per process: answers to our forwarded commands, and commands for the
        meetings we own. Pub/sub is not written to the AOF, so a forwarded command costs no fsync on its
        way in or out; a message lost in a blip is covered by the sender's resend with the same op id."""
        backoff = 0.05
        while True:
            try:
                if self._pubsub is None:
                    self._pubsub = keys.connect(self.url, blocking=True).pubsub(ignore_subscribe_messages=True)
                    await self._pubsub.subscribe(keys.replies(self.worker),
                                                 *(keys.commands(c) for c, seat in self.seats.items() if seat.token))
                message: Any = await self._pubsub.get_message(timeout=1.0)
                self._replies_ok = True
                backoff = 0.05
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                if self._replies_ok:
                    log.warning("command channel lost Redis (%s); reconnecting", exc)
                self._replies_ok = False
                if self._pubsub is not None:
                    with contextlib.suppress(Exception):
                        await self._pubsub.aclose()
                    self._pubsub = None
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
                continue
            if message is None or message.get("type") != "message":
                continue
            channel, data = message["channel"], message["data"]
            if channel == keys.replies(self.worker):
                answer = json.loads(data)
                future = self._pending.get(answer["id"])
                if future is not None and not future.done():
                    future.set_result(answer)
                continue
            seat = self.seats.get(channel.partition("}")[0].removeprefix("{m:"))
            if seat is not None and seat.token is not None:
                task = asyncio.get_running_loop().create_task(self._serve(seat, data))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _channel(self, code: str, listen: bool) -> None:
        if self._pubsub is None:
            return  # (re)connecting: the listener subscribes to every owned meeting when it is back
        with contextlib.suppress(RedisError, OSError):
            if listen:
                await self._pubsub.subscribe(keys.commands(code))
            else:
                await self._pubsub.unsubscribe(keys.commands(code))
