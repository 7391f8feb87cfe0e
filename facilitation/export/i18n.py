"""Report strings in the meeting's language: Traditional Chinese (zh-TW) and English.

One glossary for the room and the report: every term the live pages also show — the vote values
(贊成 / 可接受 / 略過 / 反對), the lanes ("每組多數可接受", "意見分歧", ...), the phases, the counters, the
group labels — is read by key from the pages' own catalogs (``static/i18n/<lang>.json``, found through
:data:`facilitation.paths.STATIC_DIR`, which is ``facilitation/_static`` in an installed wheel), so a
word fixed for the pages is fixed in every export too. Keys with a dot (``vote.agree``) are the pages'
keys; keys without one are the few strings only a report needs, kept here side by side in both
languages. Times are shown in Taiwan time (UTC+8, no daylight saving), because the reports are written
for Taiwan's public sector whatever the server's time zone.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from facilitation.paths import STATIC_DIR

__all__ = [
    "LANGUAGES",
    "PAGE_CATALOGS",
    "SHARED_KEYS",
    "TAIPEI",
    "Catalog",
    "catalog",
    "format_date",
    "format_duration",
    "format_time",
    "fraction",
    "percent",
    "percent_of",
    "utc_text",
]

TAIPEI = timezone(timedelta(hours=8), "UTC+8")
LANGUAGES = ("zh-TW", "en")


def _load_page_catalog(language: str, folder: Path = STATIC_DIR / "i18n") -> dict[str, str]:
    with (folder / f"{language}.json").open(encoding="utf-8") as f:
        data = json.load(f)
    return {str(k): str(v) for k, v in data.items()}


PAGE_CATALOGS: dict[str, dict[str, str]] = {lang: _load_page_catalog(lang) for lang in LANGUAGES}
"""The live pages' catalogs, read once at import."""

SHARED_KEYS = frozenset({
    "vote.agree", "vote.acceptable", "vote.pass", "vote.disagree",
    "lane.acceptable", "lane.disputed", "lane.needs_votes",
    "phase.lobby", "phase.collecting", "phase.voting", "phase.reviewing", "phase.closed",
    "results.everyone_accepts", "projector.map_heading", "map.group_label", "map.stack",
    "counters.participants", "counters.statements", "counters.votes",
    "mine.accepted", "mine.rejected", "mine.hidden", "mine.pending",
    "host.accept", "host.reject", "host.hide", "host.results_visible", "host.analysis_pause",
    "host.analysis_resume", "new.topic", "new.description",
    "needs.heading", "needs.line", "needs.group", "check.everyone", "host.no_role",
})
"""The pages' keys the exports use (tests/export check that both page catalogs have every one)."""

_EN: dict[str, str] = {
    "report": "Session summary",
    "date": "Date",
    "duration": "Duration",
    "code": "Meeting code",
    "phase": "Phase when exported",
    "generated": "Generated",
    "participation": "Participation",
    "voters": "Voters",
    "statements_total": "Statements written (incl. moderated)",
    "by_role": "By stakeholder role",
    "role": "Role",
    "no_role": "(no role given)",
    "analysis": "Analysis",
    "analysis_published": "The last analysis shown to the room (analysis no. {run}).",
    "analysis_computed": "No analysis was shown during the meeting; this one was computed for the report "
                         "from the stored votes.",
    "analysis_none": "No votes were cast, so there is no analysis.",
    "acceptable_intro": "Rule: in every opinion group (and every stakeholder role with at least 5 votes on "
                        "it) clearly more than half agree or find it acceptable, with at least 5 votes from each "
                        "group. Not everyone: each cell counts who did not.",
    "accepted_cell": "Each cell: how many in the group voted {accepted} / how many in the group voted on the "
                     "statement ({pass} included), and that share.",
    "disputed_intro": "Statements the groups see differently, most divided first.",
    "rejected": "What most of every group opposes",
    "rejected_intro": "Rule: in every opinion group (and every stakeholder role with at least 5 votes on it) "
                      "clearly more than half disagree.",
    "rejected_cell": "Each cell: how many in the group voted {disagree} / how many in the group voted on the "
                     "statement ({pass} included), and that share.",
    "ranking_note": "Order: statements with more votes behind them come first (ranked with one extra vote "
                    "added each way, as Pol.is does); every figure shown is the real count and its share.",
    "none_yet": "None.",
    "checks_intro": "Each check put a draft conclusion to the phones: consent, can live with it, or object (an "
                    "objection needs a reason, which became a statement). Only a check no one objected to is "
                    "called agreed, and only by those who answered.",
    "check_meta": "Opened {opened}, closed {closed}; statements it bundles: {statements}",
    "check_still_open": "still open",
    "objector": "Objector",
    "handled": "How it was handled",
    "handled_pending": "awaiting the host",
    "handled_accepted": "put to the room as statement #{n}",
    "handled_rejected": "not taken up",
    "handled_hidden": "hidden by the host",
    "handled_taken": "the draft of check {check} includes it",
    "handled_next": "the objector answered check {check}: {answer}",
    "handled_withdrawn": "objection withdrawn (latest answer: {answer})",
    "answered": "Answered",
    "importance": "What matters most to participants",
    "importance_intro": "Statements participants marked \"this matters to me\" with their vote, most marked "
                        "first: marks / votes on the statement.",
    "marks": "Marked important",
    "quality_note": "The voting-quality checks flagged {count} participant(s) (the same answer to nearly "
                    "everything: {same}; faster than the cards can be read: {fast}).",
    "quality_not_compared": "The lanes could not be compared without them.",
    "quality_no_change": "Without them, no statement changes lane.",
    "quality_changes": "Without them, these statements change lane: {changes}.",
    "needs_intro": "Statements whose lane is not settled yet, the closest to settled first. A group's votes "
                   "decide a lane once it has cast {lane_min} of them on the statement (a smaller group: as "
                   "many as it has members), pass included; a stakeholder role's voice counts from {role_min} "
                   "voters. Beside each group or role: the votes it has / the votes it needs. One vote counts "
                   "for its voter's group and role at once, so the fewest more votes can be less than the sum. "
                   "Counted without the participants excluded from the analysis.",
    "needs_short": "{who} {more} ({have} / {floor})",
    "needs_unreachable": "more people must come: {who}",
    "needs_more": "Still needed",
    "needs_only_passes": "every vote so far is a pass: it needs someone to agree, accept or disagree",
    "needs_enough_now": "it has the votes it needs; the analysis above has not placed it yet",
    "excluded_reasons": "Of them, the voting-quality checks flag {same} for the same answer to nearly everything "
                        "and {fast} for voting faster than the cards can be read (one person may have both); "
                        "{unflagged} have no flag.",
    "excluded_no_change": "With their votes put back, no statement changes lane.",
    "excluded_changes": "With their votes put back, these statements change lane: {changes}.",
    "excluded_not_compared": "The lanes could not be compared with their votes put back.",
    "excluded_note": "The host left {count} participant(s) out of the analysis: the groups, the shares "
                     "by role and the lanes above are without their votes (the totals count every vote); "
                     "their votes are still in the exported votes (the "
                     "participants list marks them excluded).",
    "log_check_opened": "Opened a consent check",
    "log_check_closed": "Closed a consent check",
    "log_publish": "Published the record",
    "log_reword": "Reworded",
    "log_split": "Split",
    "log_merge": "Merged",
    "lineage_sep": ", ",
    "groups": "Opinion groups",
    "group_name": "Group {group}",
    "group_heading": "Group {group} ({people})",
    "people_one": "{n} person",
    "people_other": "{n} people",
    "representative_intro": "What sets each group apart. Each line: how many in the group voted {agree} (or "
                            "{disagree}) / how many in the group voted on the statement, and that share.",
    "majority": "Majority opinions",
    "majority_intro": "What most of the room agreed or disagreed with. Each line: how many voted {agree} (or "
                      "{disagree}) / how many voted on the statement, and that share.",
    "all_statements": "All statements",
    "all_statements_intro": "Vote counts in the order {values}.",
    "statement": "Statement",
    "state": "State",
    "lane": "Lane",
    "question_heading": "Question {n}: {text}",
    "question_counts": "{statements} statements, {votes} votes; {lanes}.",
    "overall": "Everyone",
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
    "map_caption": "Each mark is a participant; the closer two marks, the more alike they voted, and \"×3\" "
                   "beside a mark means three people who voted alike share that spot. Colour and shape show "
                   "the group, as on the projector; grey marks are participants not in a group.",
    "seeded": " (seeded by the host)",
    "lane_rejected": "opposed by most of every group",
    "lane_unclear": "unclear",
    "log_phase": "Phase changed",
    "log_settings": "Settings changed",
    "setting_title": "Title",
    "on": "on",
    "off": "off",
    "colon": ": ",
    "minutes": "{m} min",
    "hours": "{h} h {m} min",
}

_ZH: dict[str, str] = {
    "report": "會議摘要",
    "date": "日期",
    "duration": "會議時長",
    "code": "會議代碼",
    "phase": "匯出時的會議階段",
    "generated": "產生時間",
    "participation": "參與情形",
    "voters": "表態人數",
    "statements_total": "提出的意見（含未通過審核者）",
    "by_role": "依利害關係人身分",
    "role": "身分",
    "no_role": "（未填身分）",
    "analysis": "分析",
    "analysis_published": "會議現場最後顯示的分析（第 {run} 次分析）。",
    "analysis_computed": "會議期間沒有顯示分析；本分析是產生報告時，依已儲存的表態計算的。",
    "analysis_none": "沒有任何表態，因此沒有分析。",
    "acceptable_intro": "規則：每個意見群組（以及對該意見有 5 人以上表態的每種身分）都明顯超過一半贊成或可接受，"
                        "且每組至少 5 票。不是每個人：每一格都算得出沒有接受的人數。",
    "accepted_cell": "每一格：該群組中表態「{accepted}」的人數 / 該群組對這則意見表態的人數（含「{pass}」），"
                     "以及所佔比例。",
    "disputed_intro": "各群組看法不同的意見，分歧最大的排在前面。",
    "rejected": "每組多數反對的",
    "rejected_intro": "規則：每個意見群組（以及對該意見有 5 人以上表態的每種身分）都明顯超過一半反對。",
    "rejected_cell": "每一格：該群組中表態「{disagree}」的人數 / 該群組對這則意見表態的人數（含「{pass}」），"
                     "以及所佔比例。",
    "ranking_note": "排序時每個比例都先加上一票贊成、一票反對（與 Pol.is 相同），讓表態人數多的意見排在前面；"
                    "表中顯示的都是實際人數與實際比例。",
    "none_yet": "無。",
    "checks_intro": "每次確認把一份結論草案交給大家回覆：同意、可以接受，或提出異議"
                    "（異議需要理由，理由成為一則新意見）。"
                    "只有無人提出異議的確認才稱為達成共識，而且只代表有作答的人。",
    "check_meta": "開始 {opened}，結束 {closed}；包含的意見：{statements}",
    "check_still_open": "尚未結束",
    "objector": "提出者",
    "handled": "處理方式",
    "handled_pending": "待主持人審核",
    "handled_accepted": "已列為第 {n} 則意見供大家表態",
    "handled_rejected": "未採用",
    "handled_hidden": "主持人已隱藏",
    "handled_taken": "第 {check} 次確認的草案已納入",
    "handled_next": "提出者對第 {check} 次確認的回覆：{answer}",
    "handled_withdrawn": "已撤回異議（最後回覆：{answer}）",
    "answered": "作答人數",
    "importance": "參與者最在意的意見",
    "importance_intro": "參與者表態時標記「這對我很重要」的意見，標記最多的在前：標記人數 / 表態人數。",
    "marks": "標記重要",
    "quality_note": "投票品質檢查提示了 {count} 位參與者（幾乎每題同一答案：{same} 位；快過能讀完題目：{fast} 位）。",
    "quality_not_compared": "無法比較不含他們的分類。",
    "quality_no_change": "不含他們的票，沒有任何意見改變分類。",
    "quality_changes": "不含他們的票，這些意見會改變分類：{changes}。",
    "needs_intro": "分類還沒定案的意見，最接近定案的在前。一組在這則意見上有 {lane_min} 票（人數較少的組：每人一票），"
                   "含略過，該組的票才決定分類；一個身分要有 {role_min} 人表態，它的意見才算進分類。"
                   "每組或身分旁是：已有票數 / 需要票數。一票同時算進投票者的組和身分，"
                   "所以最少還需要的票數可能少於各項相加。"
                   "不含排除於分析外的參與者。",
    "needs_short": "{who} {more}（{have} / {floor}）",
    "needs_unreachable": "需要更多人參與：{who}",
    "needs_more": "還需要",
    "needs_only_passes": "目前每一票都是略過：需要有人表態贊成、可接受或反對",
    "needs_enough_now": "票數已足夠，上面的分析還沒為它分類",
    "excluded_reasons": "其中投票品質檢查提示幾乎每題同一答案的 {same} 位、快過能讀完題目的 {fast} 位"
                        "（同一人可能兩者皆是）；沒有提示的 {unflagged} 位。",
    "excluded_no_change": "加回他們的票，沒有任何意見改變分類。",
    "excluded_changes": "加回他們的票，這些意見會改變分類：{changes}。",
    "excluded_not_compared": "無法比較加回他們的票的分類。",
    "excluded_note": "主持人將 {count} 位參與者排除於分析之外：以上的意見群、各身分的比例與分類不含他們的票"
                     "（總票數含所有的票）；"
                     "他們的票仍在匯出的投票紀錄中（參與者清單註明已排除）。",
    "log_check_opened": "開始共識確認",
    "log_check_closed": "結束共識確認",
    "log_publish": "公開會議紀錄",
    "log_reword": "改寫",
    "log_split": "拆分",
    "log_merge": "合併",
    "lineage_sep": "、",
    "groups": "意見群組",
    "group_name": "{group} 組",
    "group_heading": "{group} 組（{people}）",
    "people_one": "{n} 人",
    "people_other": "{n} 人",
    "representative_intro": "讓各群組與眾不同的意見。每一項：該群組中表態「{agree}」（或「{disagree}」）的人數 / "
                            "該群組對這則意見表態的人數，以及所佔比例。",
    "majority": "多數意見",
    "majority_intro": "全場多數人贊成或反對的意見。每一項：表態「{agree}」（或「{disagree}」）的人數 / "
                      "對這則意見表態的人數，以及所佔比例。",
    "all_statements": "所有意見",
    "all_statements_intro": "表態人數依序為：{values}。",
    "statement": "意見",
    "state": "狀態",
    "lane": "分類",
    "question_heading": "問題 {n}：{text}",
    "question_counts": "意見 {statements} 則、表態 {votes} 次；{lanes}。",
    "overall": "全體",
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
    "map_caption": "每個記號代表一位參與者；位置越接近，表態越相似；記號旁的「×3」表示有三位表態相同的參與者"
                   "位在同一點。顏色與形狀代表所屬群組，與投影畫面相同；灰色記號是尚未分組的參與者。",
    "seeded": "（主持人提供）",
    "lane_rejected": "每組多數反對",
    "lane_unclear": "看法不明",
    "log_phase": "變更階段",
    "log_settings": "變更設定",
    "setting_title": "會議名稱",
    "on": "開啟",
    "off": "關閉",
    "colon": "：",
    "minutes": "{m} 分鐘",
    "hours": "{h} 小時 {m} 分鐘",
}

CATALOGS = {"en": _EN, "zh-TW": _ZH}
"""Strings only the reports use."""

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


class Catalog:
    """Strings of one language; ``t(key, **values)`` fills ``{name}`` placeholders as the pages do."""

    def __init__(self, language: str) -> None:
        self.language = language if language in CATALOGS else "en"
        self.strings = CATALOGS[self.language]
        self.page = PAGE_CATALOGS[self.language]

    def t(self, key: str, **values: object) -> str:
        if "." in key:
            text = self.page.get(key) or PAGE_CATALOGS["en"].get(key) or key
        else:
            text = self.strings.get(key) or _EN[key]
        if not values:
            return text
        return _PLACEHOLDER.sub(lambda m: str(values[m[1]]) if m[1] in values else m[0], text)

    def join(self, *sentences: str) -> str:
        """Sentences in a row: with a space in English, without one in Chinese."""
        return ("" if self.language == "zh-TW" else " ").join(x for x in sentences if x)

    def people(self, n: int) -> str:
        """``1 person`` / ``2 people`` (``1 人`` / ``2 人``)."""
        return self.t("people_one" if n == 1 else "people_other", n=n)

    def vote(self, value: str) -> str:
        return self.t(f"vote.{value}")

    def phase(self, phase: str) -> str:
        return self.t(f"phase.{phase}") if f"phase.{phase}" in self.page else phase

    def state(self, state: str) -> str:
        """A statement's moderation state in the pages' words (已採用 / 未採用 / 已隱藏 / 審核中)."""
        return self.t(f"mine.{state}") if f"mine.{state}" in self.page else state

    def plural(self, key: str, n: int, **values: object) -> str:
        """The pages' plural convention: ``key_one`` when n is 1 and the catalog has it, else ``key``."""
        one = f"{key}_one"
        return self.t(one if n == 1 and one in self.page else key, **values)

    def lane(self, lane: str | None) -> str:
        if lane is None:
            return ""
        return self.t(f"lane.{lane}") if f"lane.{lane}" in self.page else self.t(f"lane_{lane}")

    def group(self, group: str) -> str:
        return self.t("group_name", group=group)

    def accepted_words(self, scale: str) -> str:
        """贊成, or 贊成或可接受 on the consent scale (the pages' words for an accepting vote)."""
        if scale == "consent":
            return f"{self.vote('agree')}或{self.vote('acceptable')}" if self.language == "zh-TW" \
                else f"{self.vote('agree')} or {self.vote('acceptable')}"
        return self.vote("agree")

    def log_action(self, action: str) -> str:
        if action in ("accept", "reject", "hide"):
            return self.t(f"host.{action}")
        if action in ("phase", "settings", "check_opened", "check_closed", "publish", "reword", "split", "merge"):
            return self.t(f"log_{action}")
        return action

    def setting(self, key: str, value: object) -> str:
        """One settings change as a sentence a person reads (never ``results_visible=False``): the pages'
        log sentence when their catalog has one (``log.results_shown``, ``log.title_changed``, ...), else
        the setting's label and its new value."""
        logged = {"results_visible": "log.results_shown" if value else "log.results_hidden",
                  "analysis_paused": "log.analysis_paused" if value else "log.analysis_resumed",
                  "title": "log.title_changed", "topic": "log.topic_changed",
                  "description": "log.description_changed"}.get(key, "log.other_setting")
        shown = f"{self.t('colon')}{value}" if key in ("title", "topic") else ""
        if logged in self.page:
            return self.t(logged) + shown
        if key == "results_visible":
            return f"{self.t('host.results_visible')}{self.t('colon')}{self.t('on' if value else 'off')}"
        if key == "analysis_paused":
            return self.t("host.analysis_pause" if value else "host.analysis_resume")
        label = {"title": self.t("setting_title"), "topic": self.t("new.topic"),
                 "description": self.t("new.description")}.get(key)
        return f"{label}{self.t('colon')}{value}" if label and key != "description" else (label or "")


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
    """A share as a whole percentage, halves rounded up (as a person checking by hand would)."""
    return f"{math.floor(share * 100 + 0.5)}%"


def percent_of(count: int, of: int) -> str:
    """``count / of`` as a whole percentage, exact integer arithmetic with halves rounded up."""
    return f"{(200 * count + of) // (2 * of)}%" if of else "-"


def fraction(count: int, of: int) -> str:
    """``5 / 6 · 83%``: the counts and their share, so every figure can be checked by hand."""
    return f"{count} / {of} · {percent_of(count, of)}" if of else "-"


def utc_text(at: float) -> str:
    """Pol.is-style ``datetime`` column text (in UTC, which the files do not otherwise say)."""
    return datetime.fromtimestamp(at, UTC).strftime("%a %b %d %H:%M:%S UTC %Y")
