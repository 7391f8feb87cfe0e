"""What still needs votes, in the map message (issue 24): the analysis names the unsettled statements with
the groups and roles short of votes and the fewest more votes that settle each, exactly as
clustering.readiness computes them, closest to settled first."""

from __future__ import annotations

from clustering import VoteTable, analyze
from clustering.readiness import shortfalls
from facilitation.analysis.worker import NEEDS_SHOWN, needs_votes


def test_the_map_names_what_each_unsettled_statement_needs() -> None:
    """Statements few people voted on come with their shortfall by group and role; settled ones do not."""
    roles = {p: "攤商" if p < 6 else "住戶" for p in range(12)}
    triples = [(p, s, 1.0 if s < 3 or p < 6 else -1.0) for p in range(12) for s in range(6)
               if not (s == 4 and p > 2) and not (s == 5 and p % 2)]
    table = VoteTable.from_triples(triples)
    result = analyze(table, roles=roles, random_state=0, statements=list(range(6)))
    needs = needs_votes(table, result, roles)
    group_of = {m: str(g.id) for g in result.groups for m in g.members}
    expected = shortfalls(table, result.lanes, group_of, roles)
    assert {n["statement"] for n in needs} == {str(s) for s in expected}
    assert "4" in {n["statement"] for n in needs}
    for n in needs:
        short = expected[int(n["statement"])]
        assert n["votes"] == short.votes > 0 and n["roles"] == short.roles and n["groups"] == short.groups
    assert [n["votes"] for n in needs] == sorted(n["votes"] for n in needs)
    assert len(needs) <= NEEDS_SHOWN
