"""The session summary as JSON: the complete summary model (fields documented in docs/export.md)."""

from __future__ import annotations

import json

from facilitation.export.summary import Summary, summary_to_dict

__all__ = ["render_json"]


def render_json(summary: Summary) -> str:
    """UTF-8 kept as is (Chinese stays readable), stable key order, indented for people and diffs."""
    return json.dumps(summary_to_dict(summary), ensure_ascii=False, indent=1) + "\n"
