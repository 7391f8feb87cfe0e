"""Pol.is-style opinion clustering for live meetings: a pure library (numpy, scikit-learn, scipy).

    from clustering import analyze, AGREE, DISAGREE, PASS, ACCEPTABLE
    result = analyze([("p1", "s1", AGREE), ...], moderated_out=frozenset(), roles=None, previous=None)
    result.to_dict()   # the `facilitation analyze --json` shape plus extras

The method, its formulas and constants are in docs/method.md.
"""

from clustering.pipeline import analyze
from clustering.result import (
    AcceptanceScore,
    AnalysisResult,
    ConsensusScore,
    Divisive,
    Group,
    Opinion,
    Representative,
    RoleSummary,
    Tally,
)
from clustering.votes import ACCEPTABLE, AGREE, DISAGREE, PASS, InvalidVoteError, VoteTable

__all__ = [
    "ACCEPTABLE",
    "AGREE",
    "DISAGREE",
    "PASS",
    "AcceptanceScore",
    "AnalysisResult",
    "ConsensusScore",
    "Divisive",
    "Group",
    "InvalidVoteError",
    "Opinion",
    "Representative",
    "RoleSummary",
    "Tally",
    "VoteTable",
    "analyze",
]
