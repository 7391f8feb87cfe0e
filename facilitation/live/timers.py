"""The deadline of a meeting's running timer, kept by the one process that owns the meeting.

A timer is events (:mod:`facilitation.core.commands.timers`): its deadline is in the log, so nothing here
needs to survive anything. Whenever the room learns something that may change the running timer (it opens,
a timer event is delivered, this process gains or loses the meeting), :meth:`TimerClock.arm` looks at the
meeting and keeps at most one task sleeping until the deadline; the task submits ``timer_end`` through the
meeting's writer. Only the owner arms (with Redis the others forward commands and would only race it),
and the core refuses an end for a timer that is no longer running, so a deadline met by two workers across
a takeover, or a resend after a lost reply, still ends the timer once.

After a restart, an eviction or a takeover the new owner finds the timer in its replica when the room opens
or when ownership arrives; a deadline already past ends at once. A room whose timer is armed is not idle
(:meth:`pending`), so eviction does not put a running timer to sleep in a process nobody asks about.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

from facilitation.core.commands.timers import EndTimer, Timer, TimerEnded, TimerStarted, TimerStopped
from facilitation.core.errors import ClientError
from facilitation.core.events import Event
from facilitation.live.writer import Writer

__all__ = ["TimerClock"]

log = logging.getLogger(__name__)

RETRY_SECONDS = 1.0
"""After a failed end (the store is down, ownership is moving), try again this much later while the timer
still runs here."""

_TIMER_EVENTS = (TimerStarted, TimerStopped, TimerEnded)


def end_op(timer: int) -> str:
    """The op of the server's own ``timer_end``: the same on every worker, so a resend is a duplicate."""
    return f"timer-end-{timer}"


class TimerClock:
    """Ends one meeting's running timer at its deadline, while this process owns the meeting."""

    def __init__(self, writer: Writer) -> None:
        self._writer = writer
        self._task: asyncio.Task[None] | None = None
        self._armed_for = 0
        self._closed = False

    def open(self) -> None:
        self._writer.watch_ownership(lambda owner: self.arm())
        self.arm()

    @property
    def pending(self) -> bool:
        """A deadline is being waited for here."""
        return self._task is not None and not self._task.done()

    def on_events(self, events: Sequence[Event]) -> None:
        """Durable events: re-arm when one of them is about a timer."""
        if any(isinstance(event, _TIMER_EVENTS) for event in events):
            self.arm()

    def arm(self) -> None:
        """Wait for the running timer's deadline if this process owns the meeting; else wait for nothing."""
        timer = self._writer.meeting.part(Timer)
        if self._closed or not timer.running or not self._writer.is_owner():
            self._cancel()
            return
        if self.pending and self._armed_for == timer.id:
            return
        self._cancel()
        self._armed_for = timer.id
        self._task = asyncio.get_running_loop().create_task(self._fire(timer.id, timer.ends_at),
                                                            name=f"timer-{timer.id}")

    def close(self) -> None:
        self._closed = True
        self._cancel()

    def _cancel(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._task = None
        self._armed_for = 0

    async def _fire(self, timer: int, ends_at: float) -> None:
        delay = ends_at - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        while True:
            current = self._writer.meeting.part(Timer)
            if current.id != timer or not current.running or not self._writer.is_owner():
                return
            try:
                # shielded: the end's own event re-arms the clock (and cancels this task) while it commits
                await asyncio.shield(self._writer.submit(EndTimer(timer, op=end_op(timer))))
                return
            except ClientError as exc:
                if exc.code == "no_timer":  # ended meanwhile (the host, or another worker before a takeover)
                    return
                log.warning("timer %d: could not end it (%s); retrying", timer, exc)
            except Exception:
                log.exception("timer %d: could not end it; retrying", timer)
            await asyncio.sleep(RETRY_SECONDS)
