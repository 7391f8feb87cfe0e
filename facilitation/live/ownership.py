"""One owner per meeting across every worker: the single writer of its log, elected through Redis.

The meeting core is a single-writer state machine (it allocates sequence numbers, refuses duplicate
statements, remembers op ids). With several workers serving one meeting, exactly one of them decides:

- **Election.** Every worker that has the meeting open campaigns every ``ttl/3`` with one Lua script: renew
  the lock ``{m:CODE}:owner`` if it holds our token, else take it if it is free (``INCR {m:CODE}:epoch``
  makes the token ``<epoch>:<worker>``, ``SET ... PX ttl``). If the owner dies, its lock expires and the
  next campaigner takes over within ``ttl + ttl/3``. A worker that finds its own lock expired and nobody
  else's takes it back under the same token (below).
- **Fencing.** The owner's writer passes its token with every append (the event-log port's ``fence``); the
  store's append script refuses a batch whose token is not the lock's current value. A worker that
  stalled (GC, swapped out, network partition) past its lock's expiry cannot write when it wakes if
  another worker took the meeting meanwhile, even though it still believes it is the owner. If nobody
  did (the lock simply expired: a lone worker starved for a few seconds), its append or its next campaign,
  whichever comes first, sets the lock again to its token, so a stall slows its acks instead of refusing
  them. That is safe because the append's sequence check is the last word: had anyone appended in between,
  the append is refused and the replica rebuilt from the durable log, as after any failed append.
- **Takeover.** A new owner reads the durable log after taking the lock and replays it unless its replica
  is already exactly at the log's end, so it continues from what is durable, never from a guess.
- **Forwarding.** A non-owner publishes the command on the channel ``{m:CODE}:cmds`` (sharded pub/sub on a
  cluster, so the receiver count is the shard's; the owner subscribes while it owns, see
  :mod:`facilitation.storage.channels`) with a request id and its worker id; the owner applies it,
  waits until it is durable and answers on the channel ``{w:WORKER}:replies``. Pub/sub, not lists: a list
  push is an AOF write, fsynced with ``appendfsync always``, and a forwarded command made four of them
  (measured: forwarded votes ~7x slower than embedded ones under load). A message lost in a blip costs a
  resend: the non-owner then waits until its own replica has the events (the
  bus brings them) and acknowledges, so the phone's next statement is chosen from an up-to-date replica.
  An unanswered command is published again with the same op id: the core answers a repeat as a duplicate.
- **Commands on the owner** take exactly the embedded path: the meeting's writer is the same
  :class:`~facilitation.live.writer.LogWriter`, given an :class:`Ownership` as its authority instead of the
  embedded one; its appends carry the fence, with the same commit and the same failure path (a failed
  append makes the replica stale; it is rebuilt from the durable log before the next command; a fenced
  append also steps down).

The analysis runs a meeting only where its writer ``is_owner()``, and follows ``watch_ownership`` to start
or stop when ownership moves.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections.abc import Coroutine
from typing import Any

from redis.exceptions import RedisError

from facilitation.core.codec import event_from_dict
from facilitation.core.errors import ClientError
from facilitation.core.events import Event
from facilitation.core.meeting import Command, Meeting
from facilitation.core.registry import decode_command, encode_command
from facilitation.live.writer import Committed, LogWriter
from facilitation.storage import StoreUnavailable
from facilitation.storage import redis_keys as keys
from facilitation.storage.channels import Channels
from facilitation.storage.port import EventLog
from facilitation.storage.redis_store import Fenced

__all__ = ["Coordinator", "OwnerUnavailable", "Ownership"]

log = logging.getLogger(__name__)

FORWARD_ATTEMPT = 2.0
"""Seconds a forwarded command waits for the owner's answer before it is published again."""
FORWARD_DEADLINE = 20.0
"""Seconds after which a forwarded command is refused (the phone resends it later with the same op)."""
CAMPAIGN_RETRY = 0.2
"""Seconds before a failed campaign is tried again (a renewal is due every ttl/3 otherwise)."""
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
if ARGV[2] ~= '' then
  -- Expired and nobody took it: its last holder (stalled past the ttl) takes it back under the same token,
  -- so its appends in flight are not fenced. Safe: the append's seq check refuses it if anyone appended
  -- since, and that refusal rebuilds its replica.
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 'own:' .. ARGV[2]
end
local token = redis.call('INCR', KEYS[2]) .. ':' .. ARGV[1]
redis.call('SET', KEYS[1], token, 'PX', ARGV[3])
return 'own:' .. token
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

class OwnerUnavailable(StoreUnavailable):
    """No worker answered for the meeting in time (failover in progress or Redis unreachable)."""


class Ownership:
    """The :class:`~facilitation.live.writer.Authority` of one meeting in Redis mode: this process decides
    (and fences its appends with the lock's token) while it holds the meeting's lock, and forwards to the
    owner while it does not. The writer's commit path is the embedded one; this only answers who decides."""

    def __init__(self, coordinator: Coordinator, code: str) -> None:
        self.coordinator = coordinator
        self.code = code
        self.writer: LogWriter | None = None
        self.token: str | None = None
        """The fencing token while this process owns the meeting, else None."""
        self.last_token = ""
        self.taking: str | None = None
        """The token of a takeover in progress (the log is being replayed); renewed meanwhile."""
        self.renewed = 0.0
        self.ready = asyncio.Event()
        """Set after the first campaign: before it, nobody knows whether to apply or forward."""
        self.campaign: asyncio.Task[None] | None = None
        self.waiters: list[tuple[int, asyncio.Future[None]]] = []

    # ------------------------------------------------------------ the Authority protocol

    @property
    def fence(self) -> str:
        return self.token or ""

    def is_owner(self) -> bool:
        return self.token is not None

    def bind(self, writer: LogWriter) -> None:
        self.writer = writer

    def decides_here(self) -> bool:
        """The owner, past its first campaign: :meth:`decide` would return None at once."""
        return self.token is not None and self.ready.is_set()

    async def decide(self, command: Command) -> Committed | None:
        if not self.ready.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.ready.wait(), FORWARD_ATTEMPT)
        if self.token is not None:
            return None
        return await self.coordinator.forward(self, command)

    def failed(self, error: ClientError) -> None:
        if isinstance(error, Fenced):
            self.step_down()

    def observed(self, durable_seq: int) -> None:
        if not self.waiters:
            return
        keep = []
        for seq, future in self.waiters:
            if seq <= durable_seq:
                if not future.done():
                    future.set_result(None)
            else:
                keep.append((seq, future))
        self.waiters = keep

    async def close(self) -> None:
        await self.coordinator.detach(self)

    # ------------------------------------------------------------ campaigns and forwarding

    @property
    def bound(self) -> LogWriter:
        assert self.writer is not None, "an Ownership serves the writer it was given to"
        return self.writer

    async def delivered(self, seq: int) -> None:
        """Wait (bounded) until this replica has heard durable event ``seq`` from the log."""
        if self.bound.durable_seq >= seq:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiters.append((seq, future))
        try:
            await asyncio.wait_for(future, DELIVERY_WAIT)
        except TimeoutError:
            log.warning("meeting %s: seq %d durable but not yet on this worker's feed", self.code, seq)

    async def take(self, token: str) -> None:
        """Become the owner: continue from the durable log, never from a guess. Runs beside the campaign,
        which keeps renewing ``taking`` meanwhile: a replay that outlasts the lock's ttl (a starved machine,
        a long log) must not let the lock expire under the new owner's first appends."""
        try:
            await self.bound.rebuild()
        finally:
            taken, self.taking = self.taking == token, None
        if not taken or self.coordinator.meetings.get(self.code) is not self:
            return  # the lock went elsewhere while the log was replayed, or the room closed
        self.token = self.last_token = token
        log.info("meeting %s: this worker (%s) owns it now, token %s, seq %d", self.code,
                 self.coordinator.worker, token, self.bound.meeting.seq)
        self.coordinator.listen(self.code, True)
        self.bound.ownership_changed(True)

    def step_down(self) -> None:
        if self.token is None:
            return
        self.token = None
        self.coordinator.listen(self.code, False)
        self.bound.ownership_changed(False)


class Coordinator:
    """Ownership campaigns, forwarding and the owner's command intake for every meeting of this process."""

    def __init__(self, url: str, event_log: EventLog, *, lock_ttl: float = keys.LOCK_TTL) -> None:
        self.url = url
        self.log = event_log
        self.lock_ttl = lock_ttl
        self.worker = secrets.token_hex(6)
        self.meetings: dict[str, Ownership] = {}
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._outbox: dict[str, list[str]] = {}
        self._flusher: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._redis: keys.Client | None = None
        self._channels = Channels(url)

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        self._redis = await keys.connect(self.url)
        self._campaign = self._redis.register_script(_CAMPAIGN)
        self._release = self._redis.register_script(_RELEASE)
        await self._channels.start(self._redis)
        await self._channels.subscribe(keys.replies(self.worker), self._on_replies)

    async def close(self) -> None:
        """Hand every owned meeting over at once (release the locks) instead of waiting for expiry."""
        for ownership in list(self.meetings.values()):
            await self.detach(ownership)
        if self._flusher is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._flusher, 2.0)
        await self._channels.close()
        if self._redis is not None:
            await self._redis.aclose()

    def writer(self, meeting: Meeting) -> LogWriter:
        """The :data:`~facilitation.live.writer.WriterFactory` in Redis mode: the meeting's writer with its
        :class:`Ownership` as authority, campaigning now and while it is open."""
        ownership = Ownership(self, meeting.code)
        writer = LogWriter(meeting, self.log, ownership)
        self.meetings[meeting.code] = ownership
        ownership.campaign = asyncio.get_running_loop().create_task(self._campaign_loop(ownership),
                                                                 name=f"own-{meeting.code}")
        return writer

    async def detach(self, writer: Ownership) -> None:
        if self.meetings.get(writer.code) is writer:
            del self.meetings[writer.code]
        if writer.campaign is not None:
            writer.campaign.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer.campaign
            writer.campaign = None
        token = writer.token
        writer.step_down()
        if token is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._release(keys=[keys.owner(writer.code)], args=[token])

    def is_owner(self, code: str) -> bool:
        ownership = self.meetings.get(code)
        return ownership is not None and ownership.is_owner()

    async def healthy(self) -> bool:
        """The command channel is connected and every owned meeting's lock was renewed recently."""
        if not self._channels.healthy():
            return False
        now = time.monotonic()
        return all(now - w.renewed <= self.lock_ttl for w in self.meetings.values() if w.token is not None)

    # ------------------------------------------------------------ election

    async def _campaign_loop(self, writer: Ownership) -> None:
        code = writer.code
        while True:
            pause = self.lock_ttl / 3
            try:
                status = await self._campaign(
                    keys=[keys.owner(code), keys.epoch(code)],
                    args=[self.worker, writer.token or writer.taking or writer.last_token,
                          int(self.lock_ttl * 1000)],
                )
                if status.startswith("own:"):
                    token = status[4:]
                    writer.renewed = time.monotonic()
                    if writer.token != token and writer.taking != token:
                        writer.taking = token
                        if writer.ready.is_set():  # a takeover: keep renewing while the log is replayed
                            self._spawn(writer.take(token), f"take-{code}")
                        else:  # the room just opened: its replica is the log's end, and commands wait for it
                            await writer.take(token)
                else:
                    writer.taking = None
                    if writer.token is not None:
                        log.warning("meeting %s: lost ownership to %s", code, status[5:])
                        writer.step_down()
                if writer.token is None and writer.taking is None:
                    await writer.bound.resync()
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError, StoreUnavailable) as exc:
                pause = CAMPAIGN_RETRY  # Redis (or the meeting's shard) is back within a failover: be there
                if self._redis is not None:
                    await keys.refresh_slots(self._redis)
                if writer.token is not None and time.monotonic() - writer.renewed > self.lock_ttl * 0.8:
                    log.warning("meeting %s: cannot renew ownership (%s); stepping down", code, exc)
                    writer.step_down()
            except Exception:
                log.exception("meeting %s: campaign failed", code)
            writer.ready.set()
            await asyncio.sleep(pause)

    # ------------------------------------------------------------ forwarding

    async def forward(self, writer: Ownership, command: Command) -> Committed:
        """Send the command to the meeting's owner and wait for its answer (resending with the same op)."""
        assert self._redis is not None
        code = writer.code
        loop = asyncio.get_running_loop()
        request = secrets.token_hex(8)
        payload = json.dumps({"id": request, "reply": self.worker, "cmd": encode_command(command)})
        future: asyncio.Future[dict[str, Any]] = loop.create_future()
        self._pending[request] = future
        deadline = loop.time() + FORWARD_DEADLINE
        try:
            while True:
                if writer.token is not None:  # we became the owner meanwhile: the op id makes this safe
                    return await writer.bound.apply_here(command)
                try:
                    heard = await self._channels.publish(keys.commands(code), payload)
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
        seq = int(answer["seq"])
        await writer.delivered(seq)
        events: list[Event] = [event_from_dict(e) for e in answer.get("events", ())]
        return Committed(events, answer["result"], bool(answer.get("duplicate")), seq)

    async def _serve(self, writer: Ownership, raw: str) -> None:
        request = json.loads(raw)
        answer: dict[str, Any] = {"id": request["id"]}
        try:
            try:
                command = decode_command(request["cmd"])
            except (ValueError, TypeError) as exc:
                raise ClientError("bad_command", f"the forwarded command could not be read: {exc}") from None
            committed = await writer.bound.apply_here(command)
            answer.update(result=committed.result, duplicate=committed.duplicate, seq=committed.seq,
                          events=[e.to_dict() for e in committed.events])
        except ClientError as exc:
            answer.update(error=exc.to_dict(), status=exc.status)
        except Exception:
            log.exception("meeting %s: forwarded command failed", writer.code)
            answer.update(error={"code": "internal", "message": "the server failed on this command; "
                                 "it was not applied"}, status=500)
        self._outbox.setdefault(request["reply"], []).append(json.dumps(answer))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush_replies())

    async def _flush_replies(self) -> None:
        """The answers queued for each worker in one message: one publish per worker per batch."""
        while self._outbox:
            outbox, self._outbox = self._outbox, {}
            sent = await asyncio.gather(*(self._channels.publish(keys.replies(worker), "[" + ",".join(answers) + "]")
                                          for worker, answers in outbox.items()), return_exceptions=True)
            failed = sum(len(answers) for answers, result in zip(outbox.values(), sent, strict=True)
                         if isinstance(result, BaseException))
            if failed:
                log.warning("could not send %d answers; the senders will resend", failed)

    def _on_replies(self, data: str) -> None:
        """Answers to our forwarded commands (pub/sub: no AOF write, so no fsync on the way in or out; a
        message lost in a blip is covered by the sender's resend with the same op id)."""
        for answer in json.loads(data):
            future = self._pending.get(answer["id"])
            if future is not None and not future.done():
                future.set_result(answer)

    def _on_command(self, code: str, data: str) -> None:
        writer = self.meetings.get(code)
        if writer is not None and writer.token is not None:
            task = asyncio.get_running_loop().create_task(self._serve(writer, data))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("%s failed: %s", task.get_name(), task.exception())

    def listen(self, code: str, on: bool) -> None:
        """Start or stop taking the meeting's forwarded commands (in the background: never blocks a step down)."""
        task = asyncio.get_running_loop().create_task(self._channel(code, on))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _channel(self, code: str, listen: bool) -> None:
        with contextlib.suppress(RedisError, OSError):
            if listen:
                await self._channels.subscribe(keys.commands(code), lambda data: self._on_command(code, data))
            else:
                await self._channels.unsubscribe(keys.commands(code))
