"""The shared Pol.is conversations (../shared/data/polis beside the repository)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

__all__ = ["DATA_DIR", "polis_data_dir"]

DATA_DIR = (Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "polis").resolve()


def polis_data_dir() -> Path:
    """The data folder; a missing folder fails loudly under CI and skips locally."""
    if not DATA_DIR.is_dir():
        message = f"Pol.is data missing at {DATA_DIR} (expected ../shared/data/polis beside the repo)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    return DATA_DIR
