"""Fixtures for the clustering tests: the shared Pol.is conversations, our analysis of each and
red-dwarf's (the reference implementation), computed once per session with single-threaded BLAS."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from clustering import AnalysisResult, analyze
from clustering.polis_io import PolisConversation, read_polis_export
from tests.support.data import polis_data_dir

"""The six public Pol.is exports, kept beside the repository (../shared)."""

CONVERSATIONS = ("15-per-hour-seattle", "brexit-consensus", "canadian-electoral-reform",
                 "london.youth.policing", "scoop-hivemind.biodiversity", "vtaiwan.uberx")


@pytest.fixture(autouse=True, scope="session")
def _single_threaded_blas() -> Iterator[None]:
    """BLAS pinned to one thread for every clustering test (the library does it too, red-dwarf not)."""
    with threadpool_limits(limits=1):
        yield


def data_dir() -> Path:
    """The data folder; a missing folder fails loudly under CI and skips locally."""
    return polis_data_dir()


@dataclass
class Reference:
    """One conversation: the export, our result and red-dwarf's."""

    name: str
    conversation: PolisConversation
    ours: AnalysisResult
    reddwarf: Any


_cache: dict[str, Reference] = {}


def reddwarf_votes(conversation: PolisConversation) -> list[dict[str, Any]]:
    """The latest votes in red-dwarf's input format."""
    t = conversation.votes
    return [{"participant_id": t.participant_ids[r], "statement_id": t.statement_ids[c], "vote": v}
            for r, c, v in zip(t.rows.tolist(), t.cols.tolist(), t.values.tolist(), strict=True)]


def run_reddwarf(conversation: PolisConversation) -> Any:
    """red-dwarf 0.4.0's Pol.is pipeline with the same moderation and a fixed random state."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from reddwarf.implementations.polis import run_pipeline

        return run_pipeline(votes=reddwarf_votes(conversation),
                            mod_out_statement_ids=sorted(conversation.moderated_out, key=str), random_state=0)


def reference(name: str) -> Reference:
    """Load, analyse and run red-dwarf once per conversation per session."""
    if name not in _cache:
        conversation = read_polis_export(data_dir() / name)
        ours = analyze(conversation.votes, moderated_out=conversation.moderated_out)
        _cache[name] = Reference(name, conversation, ours, run_reddwarf(conversation))
    return _cache[name]


def reddwarf_labels(ref: Reference) -> dict[Any, int]:
    """red-dwarf's group per clustered participant."""
    series = ref.reddwarf.participants_df["cluster_id"].dropna()
    return {pid: int(g) for pid, g in series.items()}


def our_labels(result: AnalysisResult) -> dict[Any, str]:
    """Our group letter per clustered participant."""
    return {m: g.id for g in result.groups for m in g.members}


def inertia(points: np.ndarray, labels: list[Any]) -> float:
    """Within-group sum of squares, the k-means objective."""
    arr = np.asarray(labels)
    return float(sum(((points[arr == g] - points[arr == g].mean(axis=0)) ** 2).sum() for g in set(labels)))
