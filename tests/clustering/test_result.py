"""The result object: frozen, picklable, and a superset of the CLI JSON contract."""

from __future__ import annotations

import dataclasses
import json
import pickle

import pytest

from clustering import AnalysisResult, analyze
from clustering.result import RESULT_FORMAT, RESULT_VERSION
from tests.clustering.synthetic import planted

CONTRACT_KEYS = {"participants", "statements", "votes", "clustered", "groups", "consensus", "positions",
                 "elapsed_ms"}


@pytest.fixture(scope="module")
def result() -> AnalysisResult:
    table, _ = planted(200, 30, 3, 20, seed=3)
    return analyze(table, roles={p: "staff" if int(p) % 4 == 0 else "public" for p in range(200)})


def test_to_dict_is_a_superset_of_the_contract(result: AnalysisResult) -> None:
    """to_dict() has every contract key with the contract's types, ids as strings."""
    data = result.to_dict()
    assert set(data) >= CONTRACT_KEYS
    group = data["groups"][0]
    assert {"id", "size", "members", "representative"} <= set(group)
    assert all(isinstance(m, str) for m in group["members"])
    assert {"statement", "direction", "share", "z"} <= set(group["representative"][0])
    assert {"statement", "score"} <= set(data["consensus"][0])
    assert all(isinstance(k, str) and len(v) == 2 for k, v in data["positions"].items())
    assert {"acceptable_to_all", "lanes", "divisive", "majority", "priority", "roles", "timings", "k",
            "group_votes"} <= set(data)


def test_result_is_frozen(result: AnalysisResult) -> None:
    """Fields cannot be reassigned."""
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.k = 9  # type: ignore[misc]


def test_result_pickles(result: AnalysisResult) -> None:
    """A result survives a pickle round trip (it crosses a process pool) and still warm-starts."""
    copy = pickle.loads(pickle.dumps(result))
    assert copy.to_dict()["groups"] == result.to_dict()["groups"]
    table, _ = planted(200, 30, 3, 20, seed=3)
    assert analyze(table, previous=copy).k == result.k


def test_planted_groups_are_found(result: AnalysisResult) -> None:
    """Three planted groups come back as three groups."""
    assert result.k == 3


def test_roles_are_reported(result: AnalysisResult) -> None:
    """Each role's participants and tallies appear, and acceptance shares include roles."""
    assert set(result.roles) == {"public", "staff"}
    assert result.roles["staff"].participants == 50
    assert any(a.role_shares for a in result.acceptance)


def test_group_votes_tally_each_group(result: AnalysisResult) -> None:
    """Per-group tallies add up to the group's votes on each statement."""
    group = result.groups[0]
    tallies = result.group_votes[group.id]
    assert sum(t.seen for t in tallies.values()) > 0
    assert all(t.seen <= group.size for t in tallies.values())


def _without_times(data: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in data.items() if k not in ("elapsed_ms", "timings")}


def test_stored_form_round_trips_exactly(result: AnalysisResult) -> None:
    """to_dict(digits=None, warm=True) through JSON and from_dict gives back an equal result (ids as
    ints again) whose warm state continues exactly like the original's."""
    data = json.loads(json.dumps(result.to_dict(digits=None, warm=True)))
    assert data["format"] == RESULT_FORMAT and data["version"] == RESULT_VERSION and data["ids"] == "int"
    again = AnalysisResult.from_dict(data)
    assert again == result
    assert again.to_dict(digits=None, warm=True) == data
    assert all(isinstance(m, int) for g in again.groups for m in g.members)
    table, _ = planted(200, 30, 3, 20, seed=3)
    roles = {p: "staff" if p % 4 == 0 else "public" for p in range(200)}
    assert _without_times(analyze(table, roles=roles, previous=again).to_dict()) == \
        _without_times(analyze(table, roles=roles, previous=result).to_dict())


def test_string_ids_round_trip() -> None:
    """Ids that are not all ints come back as strings."""
    votes = [(f"p{i}", f"s{j}", 1.0 if (i + j) % 3 else -1.0) for i in range(30) for j in range(8)]
    original = analyze(votes)
    again = AnalysisResult.from_dict(original.to_dict(digits=None, warm=True))
    assert again == original and original.to_dict()["ids"] == "str"


def test_other_versions_are_refused(result: AnalysisResult) -> None:
    """A stored result of another version or format is an error, not a silent misreading."""
    data = result.to_dict()
    with pytest.raises(ValueError, match="version"):
        AnalysisResult.from_dict({**data, "version": RESULT_VERSION + 1})
    with pytest.raises(ValueError, match="format"):
        AnalysisResult.from_dict({**data, "format": "something else"})


def _smoothed(successes: int, seen: int) -> float:
    return (successes + 1) / (seen + 2)


def test_every_share_comes_with_its_counts(result: AnalysisResult) -> None:
    """Each reported share can be recomputed from the raw counts beside it, and those counts are the
    group's (role's, room's) real tallies."""
    for group in result.groups:
        for r in group.representative:
            assert r.counts == result.group_votes[group.id][r.statement]
            hits = r.counts.agree if r.direction == "agree" else r.counts.disagree
            assert r.share == pytest.approx(_smoothed(hits, r.counts.seen))
    for a in result.acceptance:
        assert set(a.group_counts) == set(a.group_shares)
        for g, share in a.group_shares.items():
            t = a.group_counts[g]
            assert t == result.group_votes[g][a.statement]
            assert share == pytest.approx(_smoothed(t.accepted, t.seen))
        for role, share in a.role_shares.items():
            t = a.role_counts[role]
            assert t == result.roles[role].votes[a.statement]
            assert share == pytest.approx(_smoothed(t.accepted, t.seen))
    for c in result.consensus:
        product = 1.0
        for t in c.groups.values():
            product *= _smoothed(t.accepted, t.seen)
        assert c.score == pytest.approx(product)
    for o in result.majority:
        hits = o.counts.agree if o.direction == "agree" else o.counts.disagree
        assert o.share == pytest.approx(_smoothed(hits, o.counts.seen))
    for d in result.divisive:
        assert set(d.counts) == {d.most, d.least}
    assert set(result.lane_votes) == set(result.lanes)
    for statement, units in result.lane_votes.items():
        assert set(units) == {g.id for g in result.groups}
        assert all(units[g] == result.group_votes[g][statement] for g in units)
    data = result.to_dict()
    assert set(data["groups"][0]["representative"][0]["counts"]) == {"agree", "acceptable", "disagree", "pass",
                                                                      "seen"}
    assert set(data["acceptance"][0]["group_counts"]) == {g.id for g in result.groups}


@pytest.mark.parametrize("votes", [[], [("a", "s", 1.0)], [("a", 1, 1.0), ("b", 1, -1.0)]])
def test_tiny_results_round_trip(votes: list[tuple[object, object, float]]) -> None:
    """Empty and tiny meetings (no groups, no statements) store and warm-start too."""
    original = analyze(votes)
    again = AnalysisResult.from_dict(json.loads(json.dumps(original.to_dict(digits=None, warm=True))))
    assert again == original
    assert analyze(votes, previous=again).to_dict()["groups"] == original.to_dict()["groups"]
