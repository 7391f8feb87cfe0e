"""The agency's saved default privacy notice: a JSON file the deployment names
(``FACILITATION_PRIVACY_NOTICE``), offered by the create form so a PO does not retype the §8 notice for each
meeting (docs/agencies.md). The file holds the creation fields ``privacy``, ``require_consent`` and
``retention_days`` (any may be left out) and is checked at start like a creation body: a bad file stops the
server with the reason, rather than showing phones a broken notice."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from facilitation.core.errors import ClientError
from facilitation.core.registry import parse_new_meeting
from facilitation.web.state import parts

__all__ = ["DEFAULT_FIELDS", "load_default", "privacy_default"]

DEFAULT_FIELDS = ("privacy", "require_consent", "retention_days")


def load_default(path: str | None) -> dict[str, Any] | None:
    """The saved default as the create form sends it, or None without a file; ValueError naming the file
    and the problem when it cannot be used."""
    if not path:
        return None
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"FACILITATION_PRIVACY_NOTICE={path}: cannot read it as JSON: {exc}") from exc
    if not isinstance(data, dict) or not set(data) <= set(DEFAULT_FIELDS):
        raise ValueError(f"FACILITATION_PRIVACY_NOTICE={path}: an object with {', '.join(DEFAULT_FIELDS)}")
    try:
        settings, _ = parse_new_meeting({"title": "default", **data})
    except ClientError as exc:
        raise ValueError(f"FACILITATION_PRIVACY_NOTICE={path}: {exc.message}") from exc
    return {"privacy": dict(settings.privacy), "require_consent": settings.require_consent,
            "retention_days": settings.retention_days}


async def privacy_default(request: Request) -> JSONResponse:
    """``GET /api/privacy-default``: the saved default, or 404 ``no_default``."""
    saved = parts(request).privacy_default
    if saved is None:
        raise ClientError("no_default", "this server has no saved privacy notice", status=404)
    return JSONResponse(saved)
