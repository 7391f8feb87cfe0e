"""What a warm update reuses from the previous one beyond `WarmState`'s basics: kept in memory and
handed between processes (pickled), never in the stored JSON form, so a result read back from storage
warm-starts as before and just recomputes these (docs/method.md, "Warm updates")."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
from numpy.typing import NDArray

from clustering.anchor import SilhouetteAnchor
from clustering.groups import Candidates
from clustering.measures import StatsMemo
from clustering.votes import Id
from clustering.warmgram import GramCache


@dataclass(frozen=True, eq=False)
class WarmCache:
    """`gram`: CᵀC and its column fingerprints (`warmgram`). `anchor`: the last exact silhouettes
    (`anchor`). `stats`: the per-statement objects and the counts they were built from (`measures`).
    `members`, `labels`, `letters`: the clustered participants in row order with their group index
    into `letters`, for matching group ids without going through member sets. `participant_ids` and
    `rows`: every participant of that update and the rows of the clustered ones (`WarmState.clustered`
    as row indices, valid while the participants are the same)."""

    gram: GramCache | None
    anchor: SilhouetteAnchor | None
    stats: StatsMemo | None
    members: tuple[Id, ...]
    labels: NDArray[np.int32]
    letters: tuple[str, ...]
    participant_ids: tuple[Id, ...] = ()
    rows: NDArray[np.int32] = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    kmeans: Candidates | None = None
    """The Pol.is-start k-means solutions, reused when the points are unchanged (`groups.Candidates`)."""
    frame: NDArray[np.float64] | None = None
    """The rotation from the cold-start orientation to this update's map (`stability.alignment`), None
    for a cold start."""

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without `stats`: thousands of small objects cost more to pickle and unpickle than to
        rebuild (measured at 20,000 x 2,000: ~1 MB, and unpickling slower than the statistics stage), so
        the statistics memo helps updates in one process, not across the server's worker processes."""
        state = {f.name: getattr(self, f.name) for f in fields(self)}
        state["stats"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, value)
