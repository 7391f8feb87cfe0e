// The consent check on a draft conclusion (issue 24), on all three pages: the console drafts it from the
// acceptable lane and opens, closes and revises checks; a phone answers consent / can live with it /
// object (with a reason); the projector shows the latest check's answers in all, by opinion group and by
// stakeholder role, and the reasons. The meeting keeps every check (`meeting.decision`); who answered what
// reaches only the console and the projector (`screens.decision.answers`, `check_answer` events).
//
// Wording is held to the rule of the server: a check is "agreed" only as "no one of the N who answered
// objects" (outcome `no_objection`), never "everyone agrees". Statements and reasons are untrusted text:
// they go through el()/textContent only.

import { el, formatNumber } from "./dom.js";
import { t } from "./i18n.js";
import { stateKey, statementLabel, statementNumber } from "./vocabulary.js";

export const ANSWERS = ["consent", "live_with", "object"];
/** Each answer's words (key maps, so tests/e2e/test_i18n.py sees every key used). */
const ANSWER_KEYS = { consent: "check.consent", live_with: "check.live_with", object: "check.object" };
const OUTCOME_KEYS = {
  no_answers: "check.outcome_no_answers",
  objected: "check.outcome_objected",
  no_objection: "check.outcome_no_objection",
};

const zero = () => ({ consent: 0, live_with: 0, object: 0 });

function outcomeOf(counts) {
  const answered = counts.consent + counts.live_with + counts.object;
  if (!answered) return "no_answers";
  return counts.object ? "objected" : "no_objection";
}

/** The outcome sentence, exactly as strong as its rule. */
export function outcomeText(counts) {
  const n = counts.consent + counts.live_with + counts.object;
  return t(OUTCOME_KEYS[outcomeOf(counts)], { n: formatNumber(n), object: formatNumber(counts.object) });
}

/** The checks of one meeting as a page holds them: folded from a snapshot and the events after it. */
export class CheckBook {
  /** `counts`: recount a check from the answers seen (the console, which sees every answer); a phone,
   *  which sees only its own, keeps the counts the server sent. */
  constructor({ counts = true } = {}) {
    this.recount = counts;
    this.checks = [];
    this.answers = new Map();  // check id -> Map(participant -> answer): console and projector only
    this.mine = {};  // a phone's own answers: check id -> answer
  }

  fromSnapshot(msg) {
    const meeting = msg.meeting || {};
    const decision = meeting.decision || {};
    this.checks = (decision.checks || []).map((c) => ({ ...c, objections: [...(c.objections || [])] }));
    const screens = (msg.screens && msg.screens.decision) || msg.decision || {};
    this.answers = new Map();
    for (const [check, byPerson] of Object.entries(screens.answers || {})) {
      this.answers.set(Number(check), new Map(Object.entries(byPerson).map(([p, a]) => [Number(p), a])));
    }
    this.mine = { ...((msg.you && msg.you.decision) || {}) };
  }

  get(id) {
    return this.checks.find((c) => c.id === Number(id)) || null;
  }

  latest() {
    return this.checks.length ? this.checks[this.checks.length - 1] : null;
  }

  open() {
    const last = this.latest();
    return last && last.open ? last : null;
  }

  /** A reason's statement was rejected or hidden: screens stop showing its text. */
  withhold(statement) {
    for (const check of this.checks) {
      for (const o of check.objections) if (o.statement === statement) o.reason = null;
    }
  }

  /** Fold one event; true when it concerned a check. */
  apply(event) {
    switch (event.type) {
      case "check_opened": {
        const previous = this.get(event.closes);
        if (previous) previous.open = false;
        if (!this.get(event.check)) {
          this.checks.push({ id: event.check, text: event.text, statements: event.statements || [], open: true,
            counts: zero(), outcome: "no_answers", by_role: {}, objections: [] });
        }
        return true;
      }
      case "check_answer": {
        const check = this.get(event.check);
        if (!check) return true;
        if (!this.answers.has(check.id)) this.answers.set(check.id, new Map());
        this.answers.get(check.id).set(Number(event.participant), event.answer);
        if (event.state) {
          Object.assign(check, event.state);  // the projector's view: the check as the server counts it
        } else if (this.recount) {
          check.counts = zero();
          for (const answer of this.answers.get(check.id).values()) check.counts[answer] += 1;
          check.outcome = outcomeOf(check.counts);
          if (event.statement !== null && event.statement !== undefined && event.answer === "object") {
            check.objections.push({ statement: event.statement, reason: event.reason ?? null });
          }
        }
        if (event.participant !== undefined) this.mine[String(event.check)] = event.answer;
        return true;
      }
      case "check_closed": {
        const check = this.get(event.check);
        if (check) check.open = false;
        return true;
      }
      default:
        return false;
    }
  }

  /** Rows of counts for a check: everyone, each opinion group of `analysis`, each role (`roleOf(pid)`,
   *  or the server's `by_role` when no roles are known here). */
  rows(check, analysis, roleOf) {
    const answers = this.answers.get(check.id) || new Map();
    const rows = [{ key: "all", label: t("check.everyone"), counts: { ...zero(), ...check.counts } }];
    const groups = analysis ? analysis.groups : [];
    for (const group of groups) {
      const counts = zero();
      for (const [pid, answer] of answers) if (analysis.memberGroup[String(pid)] === group.id) counts[answer] += 1;
      rows.push({ key: `group-${group.id}`, label: t("map.group_label", { group: group.id, size: group.size }), counts });
    }
    let byRole = check.by_role || {};
    if (roleOf && answers.size) {
      byRole = {};
      for (const [pid, answer] of answers) {
        const role = roleOf(pid) || "";
        (byRole[role] = byRole[role] || zero())[answer] += 1;
      }
    }
    for (const [role, counts] of Object.entries(byRole)) {
      rows.push({ key: `role-${role}`, label: role || t("host.no_role"), counts: { ...zero(), ...counts } });
    }
    return rows;
  }
}

/** A table of counts (rows from CheckBook.rows), as the console and the projector show it. */
export function countsTable(rows, className) {
  const head = el("tr", {}, el("th", { scope: "col", text: "" }),
    ...ANSWERS.map((a) => el("th", { scope: "col", text: t(ANSWER_KEYS[a]) })));
  return el("table", { class: className },
    el("thead", {}, head),
    el("tbody", {}, ...rows.map((row) => el("tr", { dataset: { row: row.key } },
      el("th", { scope: "row", text: row.label }),
      ...ANSWERS.map((a) => el("td", { dataset: { answer: a }, text: formatNumber(row.counts[a] || 0) }))))));
}

/** The reasons of a check: a reason phones may not read yet shows as awaiting the host; `textOf(id)`
 *  supplies one the host has since accepted. */
export function reasonItems(check, textOf) {
  return check.objections.map((o) => {
    const text = o.reason ?? (textOf ? textOf(o.statement) : null);
    return el("li", { dataset: { statement: o.statement } },
      el("span", { class: "check-reason-id", text: statementLabel(o.statement) }),
      el("span", { class: "check-reason-text", text: text ?? t("check.reason_withheld") }));
  });
}

// ------------------------------------------------------------------ the console

/**
 * The console's 結論草案 panel: a draft (prefilled from the acceptable lane when asked), the statements it
 * bundles, open / revise / close, and the latest check's counts and reasons. `ctx`: {book, phase,
 * analysis, statements (Map id -> statement), roleOf, send(type, fields) -> Promise, errorText}.
 */
export class CheckPanel {
  constructor(root, ctx) {
    this.root = root;
    this.ctx = ctx;
    this.text = el("textarea", { id: "check-text", rows: 4, maxlength: 2000 });
    this.ids = el("input", { id: "check-statements", type: "text", inputmode: "numeric", autocomplete: "off" });
    this.status = el("p", { id: "check-status", class: "status", role: "status" });
    this.fill = el("button", { type: "button", id: "check-fill", onclick: () => this.fillFromAcceptable() });
    this.openButton = el("button", { type: "button", id: "check-open", class: "primary", onclick: () => this.openCheck() });
    this.closeButton = el("button", { type: "button", id: "check-close", onclick: () => this.closeCheck() });
    this.current = el("div", { id: "check-current" });
    this.textLabel = el("label", { for: "check-text" });
    this.idsLabel = el("label", { for: "check-statements" });
    root.replaceChildren(this.textLabel, this.text, this.idsLabel, this.ids,
      el("div", { class: "row" }, this.fill, this.openButton, this.closeButton), this.status, this.current);
  }

  fillFromAcceptable() {
    const { analysis, statements } = this.ctx;
    const ids = ((analysis && analysis.lanes.acceptable) || []).map(Number)
      .filter((id) => statements.has(id) && statements.get(id).state === "accepted");
    this.ids.value = ids.map(statementNumber).join(", ");
    this.text.value = ids.map((id) => statements.get(id).text).join("\n");
  }

  bundled() {
    return this.ids.value.split(/[\s,，、]+/).filter(Boolean).map((n) => Number(n) - 1)
      .filter((id) => Number.isInteger(id) && id >= 0);
  }

  openCheck() {
    this.status.textContent = "";
    this.ctx.send("check_open", { text: this.text.value, statements: this.bundled() })
      .catch((error) => { this.status.textContent = this.ctx.errorText(error); });
  }

  closeCheck() {
    const open = this.ctx.book.open();
    if (!open) return;
    this.ctx.send("check_close", { check: open.id })
      .catch((error) => { this.status.textContent = this.ctx.errorText(error); });
  }

  render() {
    const { book, phase, analysis, statements, roleOf } = this.ctx;
    const latest = book.latest();
    this.textLabel.textContent = t("check.draft");
    this.idsLabel.textContent = t("check.statements");
    this.fill.textContent = t("check.fill");
    this.openButton.textContent = t(latest ? "check.revise" : "check.open");
    this.closeButton.textContent = t("check.close");
    const reviewing = phase === "reviewing";
    // The panel takes console space (and keyboard stops) only when it can be used or has something to show.
    const panel = document.getElementById("check-panel");
    if (panel) panel.hidden = !reviewing && !latest;
    this.openButton.disabled = !reviewing;
    this.closeButton.hidden = !book.open();
    if (!latest) {
      this.current.replaceChildren(el("p", { class: "hint", text: t(reviewing ? "check.ready_to_check" : "check.waiting") }));
      return;
    }
    const textOf = (id) => (statements.get(Number(id)) || {}).text ?? null;
    const heading = `${t("check.number", { n: latest.id })} · ${latest.open ? t("check.answered_count",
      { n: formatNumber(latest.counts.consent + latest.counts.live_with + latest.counts.object) }) : t("check.closed")}`;
    this.current.replaceChildren(...[
      el("h3", { id: "check-heading", text: heading }),
      el("p", { id: "check-outcome", class: "check-outcome", dataset: { outcome: latest.outcome }, text: outcomeText(latest.counts) }),
      countsTable(book.rows(latest, analysis, roleOf), "check-table"),
      latest.objections.length ? el("h4", { text: t("check.reasons") }) : null,
      latest.objections.length ? el("ul", { id: "check-reasons", class: "check-reasons" },
        ...latest.objections.map((o) => el("li", { dataset: { statement: o.statement } },
          el("span", { class: "check-reason-id", text: statementLabel(o.statement) }),
          el("span", { text: textOf(o.statement) ?? o.reason ?? "" }),
          el("span", { class: "badge", text: t(stateKey((statements.get(Number(o.statement)) || {}).state || "pending")) })))) : null,
    ].filter(Boolean));
  }
}

// ------------------------------------------------------------------ the phone

/**
 * A phone's check card: the draft and three answers; "object" opens a reason box (required). `ctx`:
 * {book, send(type, fields) -> Promise, errorText}. Shown only while a check is open.
 */
export class CheckCard {
  constructor(root, ctx) {
    if (!document.querySelector('link[href="/static/css/check.css"]')) {
      // a phone loads this module (and its styles) only once a check exists: the page stays small
      document.head.append(el("link", { rel: "stylesheet", href: "/static/css/check.css" }));
    }
    this.root = root;
    this.ctx = ctx;
    this.heading = el("h2", { id: "check-card-heading" });
    this.draft = el("p", { id: "check-card-draft", class: "check-draft" });
    this.help = el("p", { class: "hint", id: "check-card-help" });
    this.buttons = ANSWERS.map((answer) => el("button", { type: "button", class: "check-answer", dataset: { answer },
      onclick: () => this.choose(answer) }));
    this.reasonLabel = el("label", { for: "check-reason" });
    this.reason = el("textarea", { id: "check-reason", rows: 3 });
    this.sendButton = el("button", { type: "button", id: "check-send", class: "primary", onclick: () => this.sendObjection() });
    this.reasonBox = el("div", { id: "check-reason-box", hidden: true }, this.reasonLabel, this.reason, this.sendButton);
    this.answered = el("p", { id: "check-card-answered", role: "status" });
    this.error = el("p", { id: "check-card-error", class: "status", role: "alert" });
    root.replaceChildren(this.heading, this.draft, this.help, el("div", { class: "check-answers" }, ...this.buttons),
      this.reasonBox, this.answered, this.error);
  }

  choose(answer) {
    this.error.textContent = "";
    if (answer === "object") {
      this.reasonBox.hidden = false;
      this.reason.focus();
      return;
    }
    this.reasonBox.hidden = true;
    this.submit({ answer });
  }

  sendObjection() {
    const reason = this.reason.value.trim();
    if (!reason) {
      this.error.textContent = t("check.reason_required");
      return;
    }
    this.submit({ answer: "object", reason }).then(() => { this.reason.value = ""; this.reasonBox.hidden = true; }, () => {});
  }

  submit(fields) {
    const open = this.ctx.book.open();
    if (!open) return Promise.reject(new Error("closed"));
    return this.ctx.send("check_answer", { check: open.id, ...fields }).then((result) => {
      this.error.textContent = "";
      this.ctx.book.mine[String(open.id)] = fields.answer;
      this.render();
      return result;
    }, (error) => {
      this.error.textContent = this.ctx.errorText(error);
      throw error;
    });
  }

  /** True when a check is open (the caller shows the card then). */
  render() {
    const open = this.ctx.book.open();
    this.root.hidden = !open;
    if (!open) return false;
    this.heading.textContent = `${t("check.heading")} · ${t("check.number", { n: open.id })}`;
    this.draft.textContent = open.text;
    this.help.textContent = t("check.live_with_help");
    const mine = this.ctx.book.mine[String(open.id)];
    this.buttons.forEach((button) => {
      button.textContent = t(ANSWER_KEYS[button.dataset.answer]);
      button.setAttribute("aria-pressed", String(mine === button.dataset.answer));
    });
    this.reasonLabel.textContent = t("check.reason_label");
    this.sendButton.textContent = t("check.send");
    this.answered.textContent = mine ? t("check.answered", { answer: t(ANSWER_KEYS[mine]) }) : "";
    return true;
  }
}

// ------------------------------------------------------------------ the projector

const MAX_REASONS_SHOWN = 3;

/** The projector's check screen: the latest check, its outcome, counts by group and role, the reasons. */
export function renderProjectorCheck(root, book, analysis, textOf) {
  const check = book.latest();
  if (!check) {
    root.replaceChildren();
    return false;
  }
  const n = check.counts.consent + check.counts.live_with + check.counts.object;
  const status = check.open ? t("check.answered_count", { n: formatNumber(n) }) : t("check.closed");
  const reasons = reasonItems(check, textOf).slice(-MAX_REASONS_SHOWN);
  const more = check.objections.length - reasons.length;
  root.replaceChildren(
    el("div", { class: "check-main" },
      el("h2", { class: "check-title", text: `${t("check.heading")} · ${t("check.number", { n: check.id })}` }),
      el("p", { class: "check-draft", text: check.text }),
      el("p", { class: "check-outcome", dataset: { outcome: check.outcome }, text: `${outcomeText(check.counts)} · ${status}` }),
      reasons.length ? el("h3", { class: "check-reasons-h", text: t("check.reasons") }) : null,
      reasons.length ? el("ul", { class: "check-reasons" }, ...reasons) : null,
      more > 0 ? el("p", { class: "check-more", text: t("lane.more", { n: more }) }) : null),
    el("div", { class: "check-side" }, countsTable(book.rows(check, analysis, null), "check-table")),
  );
  return true;
}

// ------------------------------------------------------------------ what still needs votes (the console)

/** The unsettled statements of the last analysis (its map message's `needs`, clustering.readiness), each
 *  with the fewest more votes that settle it and who they must come from: "#4 還需要 3 票：攤商 2、A 組 1". */
export function renderNeeds(root, needs, statements) {
  const items = (needs || []).filter((n) => statements.has(Number(n.statement)));
  root.replaceChildren(...items.map((n) => {
    const who = [...Object.entries(n.roles || {}).map(([role, k]) => `${role || t("host.no_role")} ${formatNumber(k)}`),
      ...Object.entries(n.groups || {}).map(([group, k]) =>
        `${group === "all" ? t("check.everyone") : t("needs.group", { group })} ${formatNumber(k)}`)].join("、");
    return el("li", { dataset: { statement: n.statement } },
      el("span", { class: "stmt-id", text: statementLabel(Number(n.statement)) }),
      el("span", { text: t("needs.line", { n: formatNumber(n.votes), who }) }),
      el("span", { class: "muted", text: ` ${statements.get(Number(n.statement)).text}` }));
  }));
  return items.length;
}
