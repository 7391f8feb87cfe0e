"""Report strings in the meeting's language: Traditional Chinese (zh-TW) and English.

A small catalog rather than gettext: the reports are the only place these strings live, and a reviewer
can read both languages side by side here. Times are shown in Taiwan time (UTC+8, no daylight saving),
because the reports are written for Taiwan's public sector whatever the server's time zone.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

__all__ = ["TAIPEI", "Catalog", "catalog", "format_date", "format_duration", "format_time", "percent"]

TAIPEI = timezone(timedelta(hours=8), "UTC+8")

_EN: dict[str, str] = {
    "report": "Session summary",
    "topic": "Topic",
    "date": "Date",
    "duration": "Duration",
    "code": "Meeting code",
    "phase": "Phase at export",
    "generated": "Generated",
    "participation": "Participation",
    "participants": "Participants",
    "voters": "Voters",
    "statements": "Statements",
    "statements_total": "Statements written (incl. moderated)",
    "votes": "Votes",
    "by_role": "By stakeholder role",
    "role": "Role",
    "no_role": "(no role given)",
    "analysis": "Analysis",
    "analysis_published": "The last analysis shown to the room (run {run}, covering event {seq}).",
    "analysis_computed": "No analysis was published during the meeting; this one was computed for the report "
                         "from the stored votes.",
    "analysis_none": "No votes were cast, so there is no analysis.",
    "acceptable": "What everyone can accept",
    "acceptable_intro": "Statements that every opinion group and every stakeholder role agreed with or found "
                        "acceptable. Shares are the part of each group that agreed or found it acceptable.",
    "disputed": "What is disputed",
    "disputed_intro": "Statements the groups still disagree on, most divided first, with how each group leans.",
    "rejected": "What everyone rejects",
    "rejected_intro": "Statements that every group disagreed with.",
    "none_yet": "None.",
    "groups": "Opinion groups",
    "group": "Group",
    "group_size": "{n} participants",
    "representative": "Representative statements",
    "majority": "Majority opinions",
    "all_statements": "All statements",
    "statement": "Statement",
    "state": "State",
    "lane": "Lane",
    "overall": "Everyone",
    "agree": "agree",
    "acceptable_vote": "acceptable",
    "disagree": "disagree",
    "pass": "pass",
    "share": "Share",
    "worst": "Least accepting group",
    "spread": "Spread",
    "follow_up": "Follow-up",
    "response": "Response",
    "adopted": "Adopted",
    "under_study": "Under study",
    "not_adopted": "Not adopted",
    "moderation_log": "Moderation log",
    "time": "Time",
    "action": "Action",
    "reason": "Reason",
    "detail": "Detail",
    "map": "Opinion map",
    "map_caption": "Each dot is a participant; nearby dots voted alike. Letters mark the groups.",
    "seed": "seeded",
    "accepted": "accepted",
    "pending": "pending",
    "rejected_state": "rejected",
    "hidden": "hidden",
    "lane_acceptable": "acceptable to all",
    "lane_disputed": "disputed",
    "lane_rejected": "rejected by all",
    "lane_needs_votes": "needs votes",
    "direction_agree": "agree",
    "direction_disagree": "disagree",
    "log_accept": "accepted",
    "log_reject": "rejected",
    "log_hide": "hidden",
    "log_phase": "phase",
    "log_settings": "settings",
    "minutes": "{m} min",
    "hours": "{h} h {m} min",
}

_ZH: dict[str, str] = {
    "report": "會議摘要",
    "topic": "議題",
    "date": "日期",
    "duration": "時長",
    "code": "會議代碼",
    "phase": "匯出時階段",
    "generated": "產生時間",
    "participation": "參與情形",
    "participants": "參與者",
    "voters": "投票人數",
    "statements": "意見",
    "statements_total": "提出的意見（含審核未通過）",
    "votes": "票數",
    "by_role": "依利害關係人身分",
    "role": "身分",
    "no_role": "（未填身分）",
    "analysis": "分析",
    "analysis_published": "會議現場最後顯示的分析（第 {run} 次，涵蓋至事件 {seq}）。",
    "analysis_computed": "會議期間未發布分析；本分析為產生報告時依已儲存的投票計算。",
    "analysis_none": "尚無投票，因此沒有分析。",
    "acceptable": "大家都能接受的",
    "acceptable_intro": "每個意見群組與每種利害關係人身分都同意或可以接受的意見。"
                        "比例為各群組中同意或可接受者所佔的比例。",
    "disputed": "仍有爭議的",
    "disputed_intro": "各群組看法仍有分歧的意見，分歧最大者在前，並列出各群組的傾向。",
    "rejected": "大家都不同意的",
    "rejected_intro": "每個群組都不同意的意見。",
    "none_yet": "無。",
    "groups": "意見群組",
    "group": "群組",
    "group_size": "{n} 位參與者",
    "representative": "代表性意見",
    "majority": "多數意見",
    "all_statements": "所有意見",
    "statement": "意見",
    "state": "狀態",
    "lane": "分類",
    "overall": "全體",
    "agree": "同意",
    "acceptable_vote": "可接受",
    "disagree": "不同意",
    "pass": "略過",
    "share": "比例",
    "worst": "最不接受的群組",
    "spread": "差距",
    "follow_up": "後續回應",
    "response": "機關回應",
    "adopted": "採納",
    "under_study": "研議中",
    "not_adopted": "不採納",
    "moderation_log": "審核紀錄",
    "time": "時間",
    "action": "動作",
    "reason": "理由",
    "detail": "內容",
    "map": "意見地圖",
    "map_caption": "每個點是一位參與者；距離越近，投票越相似。字母標示群組。",
    "seed": "預設",
    "accepted": "已接受",
    "pending": "待審核",
    "rejected_state": "已退回",
    "hidden": "已隱藏",
    "lane_acceptable": "大家都能接受",
    "lane_disputed": "有爭議",
    "lane_rejected": "大家都不同意",
    "lane_needs_votes": "票數不足",
    "direction_agree": "同意",
    "direction_disagree": "不同意",
    "log_accept": "接受",
    "log_reject": "退回",
    "log_hide": "隱藏",
    "log_phase": "階段",
    "log_settings": "設定",
    "minutes": "{m} 分鐘",
    "hours": "{h} 小時 {m} 分鐘",
}

CATALOGS = {"en": _EN, "zh-TW": _ZH}


class Catalog:
    """Strings of one language; ``t(key, **values)`` formats one."""

    def __init__(self, language: str) -> None:
        self.language = language if language in CATALOGS else "en"
        self.strings = CATALOGS[self.language]

    def t(self, key: str, **values: object) -> str:
        text = self.strings.get(key) or _EN[key]
        return text.format(**values) if values else text

    def state(self, state: str) -> str:
        return self.t("rejected_state" if state == "rejected" else state)

    def lane(self, lane: str | None) -> str:
        return "" if lane is None else self.t(f"lane_{lane}")

    def vote(self, value: str) -> str:
        return self.t("acceptable_vote" if value == "acceptable" else value)

    def log_action(self, action: str) -> str:
        key = f"log_{action}"
        return self.t(key) if key in _EN else action


def catalog(language: str) -> Catalog:
    return Catalog(language)


def format_time(at: float) -> str:
    return datetime.fromtimestamp(at, TAIPEI).strftime("%Y-%m-%d %H:%M")


def format_date(at: float) -> str:
    return datetime.fromtimestamp(at, TAIPEI).strftime("%Y-%m-%d") + " (UTC+8)"


def format_duration(seconds: float, cat: Catalog) -> str:
    minutes = round(seconds / 60)
    if minutes < 60:
        return cat.t("minutes", m=minutes)
    return cat.t("hours", h=minutes // 60, m=minutes % 60)


def percent(share: float) -> str:
    return f"{round(share * 100)}%"


def utc_text(at: float) -> str:
    """Pol.is-style ``datetime`` column text (in UTC, which the files do not otherwise say)."""
    return datetime.fromtimestamp(at, UTC).strftime("%a %b %d %H:%M:%S UTC %Y")
