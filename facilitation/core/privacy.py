"""The privacy notice a phone shows before joining: the items the Personal Data Protection Act (個人資料保護法)
§8 says an agency must tell a person it collects data from, declared once.

§8 ¶1 lists: (1) the agency's name, (2) the purpose of collection, (3) the categories of personal data,
(4) the period, area, recipients and way of use, (5) the rights of §3 and how to exercise them (§3: to ask
about and read one's data, get a copy, have it supplemented or corrected, have its collection, processing or
use stopped, have it deleted), (6) when providing data is optional, what declining means. The fields below
are those items (item 4 split in its four parts), plus how to reach the agency. The host fills them, or
starts from the deployment's saved default (``FACILITATION_PRIVACY_NOTICE``, docs/agencies.md).

A notice is part of the meeting's settings, fixed at creation: every participant saw the same one, and it
is part of the record. :func:`notice_version` names it; each ``participant_joined`` records the version the
phone was shown and whether its holder ticked the consent box. With ``require_consent`` a phone cannot join
without that box (§15, §19: collection with the person's consent), and a phone that declines sends nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from facilitation.core import text
from facilitation.core.errors import ProtocolError

__all__ = [
    "CONSENT_NEEDS",
    "MAX_RETENTION_DAYS",
    "PRIVACY_FIELDS",
    "PrivacyField",
    "notice_problem",
    "notice_version",
    "privacy_field",
]


@dataclass(frozen=True, slots=True)
class PrivacyField:
    name: str
    item: str
    """Which item of PDPA §8 ¶1 it answers."""
    max_chars: int


PRIVACY_FIELDS: tuple[PrivacyField, ...] = (
    PrivacyField("agency", "1", 200),
    PrivacyField("purpose", "2", 1000),
    PrivacyField("data", "3", 1000),
    PrivacyField("period", "4", 500),
    PrivacyField("area", "4", 300),
    PrivacyField("recipients", "4", 500),
    PrivacyField("use", "4", 1000),
    PrivacyField("rights", "5", 1500),
    PrivacyField("contact", "5", 500),
    PrivacyField("decline", "6", 1000),
)
"""The notice's fields, in the order a phone shows them (the pages' ``privacy.<name>`` labels)."""

CONSENT_NEEDS = ("agency", "purpose", "data")
"""Fields a notice must fill before the host may ask for consent: nobody can agree to an unnamed agency
collecting unnamed data for no stated purpose."""
MAX_RETENTION_DAYS = 3650
"""Ten years: the longest retention a meeting may set (``0``: no automatic deletion)."""


def privacy_field(value: Any, name: str) -> dict[str, str]:
    """The wire check of a notice: an object of known keys, each free text (multi-line) within its limit."""
    if not isinstance(value, dict):
        raise ProtocolError("invalid_field", f"{name!r} must be an object")
    known = {f.name: f for f in PRIVACY_FIELDS}
    unknown = sorted((key for key in value if key not in known), key=ascii)
    if unknown:
        raise ProtocolError("invalid_field", f"{name}: unknown field {ascii(unknown[0])[:40]} "
                                             f"(one of {', '.join(known)})")
    clean = {key: text.clean(raw, f"{name}.{key}", max_chars=known[key].max_chars, multiline=True, visible=False)
             for key, raw in value.items()}
    return {key: clean[key] for key in known if clean.get(key)}


def notice_problem(privacy: Mapping[str, str], require_consent: bool, retention_days: int) -> str:
    """Why these notice settings cannot be, or "" when they can (the meeting's own invariant)."""
    known = {f.name: f for f in PRIVACY_FIELDS}
    for key, value in privacy.items():
        if key not in known or not isinstance(value, str):
            return f"unknown privacy notice field {key!r}"
        if len(value) > known[key].max_chars or text.has_forbidden(value.replace("\n", " ")):
            return f"the privacy notice's {key} is too long or holds a control character"
    if require_consent and not all(privacy.get(key, "").strip() for key in CONSENT_NEEDS):
        return f"asking for consent needs a notice naming at least: {', '.join(CONSENT_NEEDS)}"
    if not 0 <= retention_days <= MAX_RETENTION_DAYS:
        return f"retention_days must be between 0 and {MAX_RETENTION_DAYS}"
    return ""


def notice_version(privacy: Mapping[str, str], require_consent: bool) -> str:
    """A short name of the notice's exact text (and whether consent was asked): what a join records, so the
    record says which notice each participant was shown. "" when there is no notice."""
    if not privacy and not require_consent:
        return ""
    canonical = json.dumps({"notice": dict(sorted(privacy.items())), "consent": require_consent},
                           ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]
