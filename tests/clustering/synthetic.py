"""Planted-group vote tables for tests: each group has its own agree probability per statement."""

from __future__ import annotations

import numpy as np

from clustering import VoteTable


def planted(n_participants: int, n_statements: int, n_groups: int, votes_each: int, seed: int = 0,
            ) -> tuple[VoteTable, np.ndarray]:
    """Votes where participant i belongs to group i % n_groups; returns the table and true groups."""
    rng = np.random.default_rng(seed)
    lean = rng.choice([-0.8, 0.8], size=(n_groups, n_statements))
    truth = np.arange(n_participants) % n_groups
    votes_each = min(votes_each, n_statements)
    rows = np.repeat(np.arange(n_participants), votes_each)
    cols = np.concatenate([rng.choice(n_statements, votes_each, replace=False) for _ in range(n_participants)])
    p_agree = (1 + lean[truth[rows], cols]) / 2
    draw = rng.random(rows.size)
    values = np.where(draw < p_agree * 0.9, 1.0, np.where(draw < 0.9, -1.0, 0.0))
    return VoteTable.from_arrays(rows, cols, values), truth
