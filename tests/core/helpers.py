"""Helpers for the pure-core tests: a meeting built without any server."""

from __future__ import annotations

from typing import Any

from facilitation.core.meeting import (
    Join,
    Meeting,
    MeetingSettings,
    ModerationMode,
    Phase,
    SetPhase,
    hash_secret,
)

NOW = 1_800_000_000.0


def new_meeting(*, seeds: tuple[str, ...] = ("Seed one.", "Seed two."), phase: Phase = Phase.COLLECTING,
                **settings: Any) -> Meeting:
    """A meeting with seeds, moved forward to ``phase``."""
    defaults: dict[str, Any] = {"title": "Test meeting", "roles": ("resident", "vendor")}
    meeting, _ = Meeting.create("ABCDEF", MeetingSettings(**{**defaults, **settings}), hash_secret("key"), NOW,
                                seeds)
    order = list(Phase)
    for target in order[1 : order.index(phase) + 1]:
        meeting.apply(SetPhase(target.value, op=f"to-{target.value}"), NOW)
    return meeting


def join(meeting: Meeting, token: str = "token-0000000000", **kw: Any) -> int:
    """Join a participant and return their id."""
    return int(meeting.apply(Join(hash_secret(token), **kw), NOW).result["participant"])


__all__ = ["NOW", "ModerationMode", "join", "new_meeting"]
