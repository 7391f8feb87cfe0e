"""``analysis_exclude`` in the core (issue 24): the host leaves a participant out of the analysis and brings
them back; who is excluded is in the host's snapshot only (everyone else sees the count); the votes stay;
a closed meeting, an unknown participant and a repeat are refused with a reason."""

from __future__ import annotations

import pytest

from facilitation.core.commands.exclusion import AnalysisExcluded, ExcludeFromAnalysis, excluded
from facilitation.core.meeting import Phase, Vote
from facilitation.core.state import CommandRefused
from facilitation.core.views import host_snapshot, participant_snapshot, projector_snapshot
from tests.core.helpers import NOW, join, new_meeting


def test_exclude_and_bring_back() -> None:
    meeting = new_meeting(phase=Phase.VOTING)
    a, b = join(meeting, "exclusion-token-a0000"), join(meeting, "exclusion-token-b0000")
    statement = meeting.accepted_statements()[0].id
    meeting.apply(Vote(a, statement, "agree", op="v1"), NOW)
    applied = meeting.apply(ExcludeFromAnalysis(a, True, op="x1"), NOW)
    assert applied.result == {"participant": a, "excluded": True}
    assert isinstance(applied.events[0], AnalysisExcluded)
    assert excluded(meeting) == {a}
    assert host_snapshot(meeting)["excluded"] == [a]
    assert projector_snapshot(meeting)["meeting"]["exclusion"] == {"count": 1}
    phone = participant_snapshot(meeting, b)
    assert phone["meeting"]["exclusion"] == {"count": 1} and "excluded" not in phone
    assert meeting.votes[a] == {statement: "agree"}  # the meeting keeps the votes: only the analysis drops them
    meeting.apply(Vote(a, statement, "disagree", op="v2"), NOW)  # and the phone votes on
    meeting.apply(ExcludeFromAnalysis(a, False, op="x2"), NOW)
    assert excluded(meeting) == frozenset() and host_snapshot(meeting)["excluded"] == []


def test_refusals_say_why() -> None:
    meeting = new_meeting(phase=Phase.VOTING)
    a = join(meeting, "exclusion-token-c0000")
    with pytest.raises(CommandRefused) as unknown:
        meeting.apply(ExcludeFromAnalysis(a + 99, True, op="x1"), NOW)
    assert unknown.value.code == "unknown_participant"
    with pytest.raises(CommandRefused) as same:
        meeting.apply(ExcludeFromAnalysis(a, False, op="x2"), NOW)
    assert same.value.code == "no_change"
    meeting.apply(ExcludeFromAnalysis(a, True, op="x3"), NOW)
    with pytest.raises(CommandRefused) as again:
        meeting.apply(ExcludeFromAnalysis(a, True, op="x4"), NOW)
    assert again.value.code == "no_change"
    closed = new_meeting(phase=Phase.CLOSED)
    with pytest.raises(CommandRefused) as final:
        closed.apply(ExcludeFromAnalysis(join(closed, "exclusion-token-d0000"), True, op="x5"), NOW)
    assert final.value.code == "phase_forbids" and "closed" in str(final.value)
