"""The privacy notice in force, as the reports print it: each field under the label the phones showed
(the pages' ``privacy.*`` words), and a line naming its version, whether consent was asked, how many
participants ticked the box, and how long the meeting is kept. The notice is part of the record."""

from __future__ import annotations

from facilitation.core.privacy import PRIVACY_FIELDS
from facilitation.export.i18n import Catalog
from facilitation.export.summary import Summary

__all__ = ["notice_caption", "notice_rows"]

_CAPTION = {
    "zh-TW": "手機加入前顯示的個人資料告知（版本 {version}）。{consent}{retention}",
    "en": "The privacy notice phones showed before joining (version {version}). {consent}{retention}",
}
_CONSENT = {
    "zh-TW": ("加入前須勾選同意：{n} 位參與者同意。", "未要求勾選同意。"),
    "en": ("Joining required ticking a consent box: {n} participants agreed. ", "Consent was not asked. "),
}
_RETENTION = {
    "zh-TW": ("會議結束後保存 {days} 天。", "未設定自動刪除。"),
    "en": ("Kept {days} days after the meeting ends.", "No automatic deletion set."),
}


def notice_rows(summary: Summary, cat: Catalog) -> list[tuple[str, str]]:
    """(label, text) for each field of the notice that was filled in, in the phones' order."""
    return [(cat.t(f"privacy.{f.name}"), summary.privacy[f.name]) for f in PRIVACY_FIELDS
            if summary.privacy.get(f.name)]


def notice_caption(summary: Summary, cat: Catalog) -> str:
    lang = "zh-TW" if cat.language == "zh-TW" else "en"
    consent = _CONSENT[lang][0].format(n=summary.consented) if summary.require_consent else _CONSENT[lang][1]
    retention = (_RETENTION[lang][0].format(days=summary.retention_days) if summary.retention_days
                 else _RETENTION[lang][1])
    return _CAPTION[lang].format(version=summary.notice_version or "-", consent=consent, retention=retention)
