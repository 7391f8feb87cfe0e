"""Unsettled statements go first to whoever can settle them (issue 24): a phone whose opinion group or
stakeholder role the last analysis named short of votes on a statement (the map message's ``needs``) is
routed that statement before any statement drawn by priority; everyone else is routed as before.

The map message here has the shape ``analysis/messages.map_message`` sends (groups, points, needs); the
analysis side of it is tested in tests/analysis/test_needs_votes.py."""

from __future__ import annotations

from typing import Any

from facilitation.core.commands.participants import Join
from facilitation.core.meeting import Meeting, Vote, hash_secret
from facilitation.core.next_statement import NEW_STATEMENT_VOTES, Router
from facilitation.core.wanted import wanted_from_map
from tests.core.helpers import NOW, new_meeting


def _meeting(people: int) -> tuple[Meeting, list[int]]:
    """A meeting with 10 accepted statements, each already past "new", and ``people`` participants (even:
    resident, odd: vendor)."""
    meeting = new_meeting(seeds=tuple(f"Seed {i}." for i in range(10)))
    ids = []
    for i in range(people):
        result = meeting.apply(Join(hash_secret(f"settle-token-{i:08d}"), role="vendor" if i % 2 else "resident"),
                               NOW)
        ids.append(int(result.result["participant"]))
    voters = [int(meeting.apply(Join(hash_secret(f"settle-voter-{i:08d}")), NOW).result["participant"])
              for i in range(NEW_STATEMENT_VOTES)]
    for n, voter in enumerate(voters):
        for statement in meeting.accepted_statements():
            meeting.apply(Vote(voter, statement.id, "agree", op=f"v{n}-{statement.id}"), NOW)
    return meeting, ids


def _map(group_a: list[int], group_b: list[int], needs: list[dict[str, Any]]) -> dict[str, Any]:
    members = sorted(group_a + group_b)
    return {"type": "analysis", "groups": [{"id": "0"}, {"id": "1"}],
            "points": {"participants": members, "group": [0 if p in group_a else 1 for p in members]},
            "needs": needs}


def _first(meeting: Meeting, participant: int, msg: dict[str, Any] | None, seed: int) -> int | None:
    statement = Router().next_for(meeting, participant, {}, seed, wanted_from_map(msg))
    return None if statement is None else statement.id


def test_the_short_group_is_routed_the_statement_first() -> None:
    meeting, people = _meeting(8)
    target = meeting.accepted_statements()[7].id
    group_a, group_b = people[:4], people[4:]
    msg = _map(group_a, group_b, [{"statement": str(target), "lane": "needs_votes", "groups": {"1": 2},
                                  "roles": {}, "votes": 2, "reachable": True}])
    for participant in group_b:  # every member of the short group, whatever the random draw
        for seed in range(20):
            assert _first(meeting, participant, msg, seed) == target
    # the others are drawn by priority, as without the needs: not always the statement
    drawn = {_first(meeting, participant, msg, seed) for participant in group_a for seed in range(20)}
    assert drawn != {target} and len(drawn) > 1
    assert drawn == {_first(meeting, participant, None, seed) for participant in group_a for seed in range(20)}


def test_the_short_role_is_routed_the_statement_first_and_voting_moves_on() -> None:
    meeting, people = _meeting(6)
    statements = [s.id for s in meeting.accepted_statements()]
    first, second = statements[3], statements[5]
    msg = _map(people, [], [
        {"statement": str(first), "lane": "acceptable", "groups": {}, "roles": {"vendor": 1}, "votes": 1},
        {"statement": str(second), "lane": "acceptable", "groups": {}, "roles": {"vendor": 2}, "votes": 2}])
    vendor = next(p for p in people if meeting.participants[p].role == "vendor")
    resident = next(p for p in people if meeting.participants[p].role == "resident")
    assert _first(meeting, vendor, msg, 1) == first  # the closest to settled first
    meeting.apply(Vote(vendor, first, "disagree", op="vendor-first"), NOW)
    assert _first(meeting, vendor, msg, 1) == second  # then the next one its role is short on
    meeting.apply(Vote(vendor, second, "agree", op="vendor-second"), NOW)
    assert _first(meeting, vendor, msg, 1) not in (first, second)  # voted on both: routed as usual
    assert {_first(meeting, resident, msg, seed) for seed in range(30)} != {first}


def test_a_map_without_needs_changes_nothing() -> None:
    meeting, people = _meeting(4)
    assert wanted_from_map(None) is None
    assert wanted_from_map(_map(people, [], [])) is None
    base = [_first(meeting, p, None, seed) for p in people for seed in range(10)]
    assert [_first(meeting, p, _map(people, [], []), seed) for p in people for seed in range(10)] == base
