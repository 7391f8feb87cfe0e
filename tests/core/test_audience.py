"""Each event's declared audience (the rows docs/protocol.md's event table is checked against) is what the
views and the fan-out's choice of phones actually do, for every event type a meeting makes."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

import pytest

from facilitation.core import events as events_module
from facilitation.core.commands import EVENT_TYPES
from facilitation.core.events import ALL, AUTHOR, OWN, AnalysisPublished, Event
from facilitation.core.meeting import (
    Command,
    Join,
    Meeting,
    Moderate,
    ModerationMode,
    Phase,
    PostStatement,
    SetFollowUp,
    SetPhase,
    SetProfile,
    UpdateSettings,
    Vote,
    hash_secret,
)
from facilitation.core.views import view_for
from tests.core.helpers import NOW, new_meeting


def every_event() -> list[tuple[Meeting, Event]]:
    """A meeting under pre-moderation and one under post-moderation, taken through every kind of event."""
    made: list[tuple[Meeting, Event]] = []
    for moderation in (ModerationMode.PRE, ModerationMode.POST):
        meeting = new_meeting(moderation=moderation, phase=Phase.LOBBY)
        events: list[Event] = []

        def apply(command: Command) -> dict[str, Any]:
            applied = meeting.apply(command, NOW)  # noqa: B023 - used within this iteration only
            events.extend(applied.events)  # noqa: B023
            return applied.result

        apply(SetPhase("collecting", "p1"))
        author = int(apply(Join(hash_secret("token-author-000000")))["participant"])
        voter = int(apply(Join(hash_secret("token-voter-0000000")))["participant"])
        apply(SetProfile(author, "小明", "resident", "pr"))
        posted = int(apply(PostStatement(author, "應該增設機車停車區。", "post"))["statement"])
        apply(PostStatement(None, "主持人的陳述", "seed"))
        if moderation is ModerationMode.PRE:
            apply(Moderate(posted, "accept", "", "accept"))
        apply(Vote(voter, posted, "agree", "v"))
        apply(Moderate(0, "hide", "", "hide"))
        apply(UpdateSettings({"results_visible": False, "title": "新標題"}, "s"))
        apply(SetFollowUp(posted, "adopted", "已採納", "f"))
        events.append(AnalysisPublished(meeting.seq + 1, NOW, 1, meeting.seq))
        made += [(meeting, e) for e in events]
    return made


def sampled(meeting: Meeting, cls: type[Event]) -> Event:
    """An event of a type the scenario does not make (a feature's): a plausible value in every field, about
    participant 0 and statement 0 of ``meeting``."""
    samples: dict[Any, Any] = {int: 0, float: NOW, str: "x", bool: False, int | None: 0, dict[str, Any]: {},
                               list[int]: [0]}
    hints = typing.get_type_hints(cls)
    values = {f.name: samples[hints[f.name]] for f in dataclasses.fields(cls)}
    return cls(**{**values, "seq": meeting.seq + 1})


SCENARIO = every_event()
CORE = {cls for cls in vars(events_module).values()
        if isinstance(cls, type) and issubclass(cls, Event) and cls not in (Event, events_module.MeetingCreated)}
EVENTS = SCENARIO + [(SCENARIO[-1][0], sampled(SCENARIO[-1][0], cls)) for cls in EVENT_TYPES.values()
                     if cls not in CORE and cls is not events_module.MeetingCreated]


def test_the_scenario_makes_every_core_event_type_but_creation() -> None:
    """Every event events.py defines comes out of real commands (a feature's events are sampled)."""
    assert {type(e) for _, e in SCENARIO} == CORE


def _subject(meeting: Meeting, event: Event) -> set[int]:
    """The participants an event is about: its participant, its author, its statement's author."""
    found: set[int] = set()
    for name in ("participant", "author"):
        value = getattr(event, name, None)
        if isinstance(value, int):
            found.add(value)
    statement = getattr(event, "statement", None)
    if isinstance(statement, int) and meeting.statements[statement].author is not None:
        found.add(meeting.statements[statement].author)  # type: ignore[arg-type]
    return found


def _admits(mode: str, event: Event, participant: int) -> bool:
    return (mode == ALL or (mode == OWN and getattr(event, "participant", None) == participant)
            or (mode == AUTHOR and getattr(event, "author", None) == participant))


@pytest.mark.parametrize(("meeting", "event"), EVENTS, ids=[f"{e.type}-{e.seq}" for _, e in EVENTS])
def test_views_and_phones_follow_the_declared_audience(meeting: Meeting, event: Event) -> None:
    rows = {row.view: row for row in type(event).audience}
    host = view_for(event, "host", None, meeting)
    assert host is not None and rows[host["type"]].host == ALL
    projector = view_for(event, "projector", None, meeting)
    projected = {view for view, row in rows.items() if row.projector == ALL}
    assert projector is None if not projected else (projector is None or projector["type"] in projected)
    phones: dict[int, dict[str, Any] | None] = {
        p: view_for(event, "participant", p, meeting) for p in meeting.participants}
    for participant, view in phones.items():
        if view is not None:
            assert _admits(rows[view["type"]].phone, event, participant), (participant, view)
    target = event.phones()
    if target == "all":
        assert any(row.phone == ALL for row in rows.values())
    elif target is None:
        assert all(view is None for view in phones.values())
    else:
        assert target in _subject(meeting, event) and phones[target] is not None
        assert all(view is None for p, view in phones.items() if p != target)
