"""The op memory in a long meeting: bounded per actor, and small per op, so a meeting's memory is set by what it
holds, not by how many votes were ever cast (issue 21's soak)."""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Iterator

import orjson
import pytest

from facilitation.core.commands.participants import Join
from facilitation.core.commands.phases import SetPhase
from facilitation.core.commands.statements import Vote
from facilitation.core.events import VoteCast
from facilitation.core.meeting import CommandRefused, Meeting, MeetingSettings, hash_secret
from facilitation.core.state import OPS_REMEMBERED, OPS_SLACK

STATEMENTS = 20
PHONES = 20
VALUES = ("agree", "acceptable", "pass", "disagree")
BYTES_PER_OP = 160
"""What one remembered vote op may cost: its op string (~55 bytes as a phone names ops) and a dict entry.
Keeping the VoteCast alive instead, as the op memory did, cost ~334 bytes."""


def _meeting() -> tuple[Meeting, list[int]]:
    m, _ = Meeting.create("ABCDEF", MeetingSettings(title="T"), hash_secret("key"), 0.0,
                          [f"Statement {i}." for i in range(STATEMENTS)])
    m.apply(SetPhase("collecting", "to-collecting"), 0.0)
    phones = [int(m.apply(Join(hash_secret(f"token-{i:012d}")), 0.0).result["participant"]) for i in range(PHONES)]
    return m, phones


def _vote_round(m: Meeting, phones: list[int], first: int, per_phone: int) -> None:
    """Each phone casts ``per_phone`` votes, every one a change, with op and value strings made as a parsed
    frame makes them (fresh objects, not interned literals)."""
    for k in range(first, first + per_phone):
        for p in phones:
            frame = orjson.loads(b'{"op":"3f9a1c2e-%d-%d","value":"%s"}' % (p, k, VALUES[(k + p) % 4].encode()))
            m.apply(Vote(p, (k + p) % STATEMENTS, frame["value"], frame["op"]), float(k))


def _traced() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


@pytest.fixture
def tracing() -> Iterator[None]:
    """Trace from before the meeting exists: memory freed later must have been counted when it was made."""
    tracemalloc.start()
    yield
    tracemalloc.stop()


def test_memory_stops_growing_once_the_op_memory_is_full(tracing: None) -> None:
    """Once every phone has OPS_REMEMBERED ops, four more rounds of as many votes add at most the slack a phone."""
    m, phones = _meeting()
    _vote_round(m, phones, 0, OPS_REMEMBERED)
    full = _traced()
    sizes = []
    for r in range(1, 5):
        _vote_round(m, phones, r * 10_000, OPS_REMEMBERED)
        sizes.append(_traced() - full)
    assert all(OPS_REMEMBERED <= len(m.ops[str(p)]) <= OPS_REMEMBERED + OPS_SLACK for p in phones)
    # The band: up to OPS_SLACK more ops (~70 bytes each) and longer op strings (~1 KB a phone). Growth with
    # the votes would be 4 x 1,024 votes a phone x the bytes each kept (32 bytes a vote: 32 KB a phone); a dict
    # that deletes its oldest entry at every insert doubles its table once full (~9 KB a phone).
    slack = OPS_SLACK * 80 + 1_024
    assert max(sizes) < PHONES * slack, f"traced bytes over the full op memory after each round: {sizes}"


def test_a_remembered_vote_costs_its_op_and_an_entry(tracing: None) -> None:
    """Filling the op memory costs under BYTES_PER_OP bytes a vote: no event is kept alive for it."""
    m, phones = _meeting()
    _vote_round(m, phones, 0, STATEMENTS)  # every pair voted: the votes table is full
    before = _traced()
    _vote_round(m, phones, 10_000, OPS_REMEMBERED - STATEMENTS)
    per_op = (_traced() - before) / (PHONES * (OPS_REMEMBERED - STATEMENTS))
    assert per_op < BYTES_PER_OP, f"{per_op:.0f} bytes per remembered vote"
    assert not any(isinstance(kept, VoteCast) for ops in m.ops.values() for kept in ops.values())


def test_a_resent_vote_is_acked_with_its_first_result_from_the_memo() -> None:
    """A vote resent after many others acks as a duplicate with its own result; its op with another vote conflicts."""
    m, phones = _meeting()
    p = phones[0]
    m.apply(Vote(p, 3, "pass", "first"), 0.0)
    _vote_round(m, [p], 0, OPS_REMEMBERED - 1)
    again = m.apply(Vote(p, 3, "pass", "first"), 1.0)
    assert again.duplicate and again.events == [] and again.result == {"statement": 3, "value": "pass"}
    with pytest.raises(CommandRefused) as refused:
        m.apply(Vote(p, 3, "agree", "first"), 1.0)
    assert refused.value.code == "op_conflict"


def test_the_newest_ops_are_kept_and_the_oldest_go_first() -> None:
    """The last OPS_REMEMBERED ops are always remembered; past OPS_SLACK more the oldest go and apply anew."""
    m, phones = _meeting()
    p = phones[0]
    for k in range(OPS_REMEMBERED + OPS_SLACK):
        m.apply(Vote(p, k % STATEMENTS, VALUES[k % 4], f"op-{k}"), 0.0)
    assert len(m.ops[str(p)]) == OPS_REMEMBERED + OPS_SLACK and "op-0" in m.ops[str(p)]
    m.apply(Vote(p, 0, "pass", "one-more"), 0.0)
    kept = m.ops[str(p)]
    assert len(kept) == OPS_REMEMBERED and "op-0" not in kept and f"op-{OPS_SLACK + 1}" in kept
    assert list(kept)[-1] == "one-more"
    assert not m.apply(Vote(p, 0, "agree", "op-0"), 1.0).duplicate


def test_the_votes_table_shares_one_string_per_value() -> None:
    """Votes parsed from frames leave one string per value in the votes table, not one per vote."""
    m, phones = _meeting()
    _vote_round(m, phones, 0, STATEMENTS)
    kept = {id(value) for mine in m.votes.values() for value in mine.values()}
    assert len(kept) <= len(VALUES)
