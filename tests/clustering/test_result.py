"""The result object: frozen, picklable, and a superset of the CLI JSON contract."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from clustering import AnalysisResult, analyze
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
