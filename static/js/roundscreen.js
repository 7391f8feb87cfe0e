// The projector's round screen (issue 23): while the host has a round open, what moved on each of its
// statements, by stakeholder role and by opinion group ("住戶：反對 → 可接受 2 人 · 維持 1 人"), one statement
// at a time (turning every PAGE_MS, "1/3"), at projector.css's sizes. The spotlight, when up, comes first.

import { groupOf } from "./analysis.js";
import { $, el, setText } from "./dom.js";
import { t } from "./i18n.js";
import { RoundModel } from "./rounds.js";
import { statementLabel, voteKey } from "./vocabulary.js";

const PAGE_MS = 12000;

export class ProjectorRound {
  /** `read()` gives {statements, analysis}: the projector's statements and last map. */
  constructor(read) {
    this.model = new RoundModel();
    this.read = read;
    this.page = 0;
    this.timer = null;
    this.pending = null;
  }

  shown(phase) {
    return this.model.open && (phase === "collecting" || phase === "voting");
  }

  fromSnapshot(msg) {
    this.model.fromScreen(msg.screens && msg.screens.rounds);
    this.render();
  }

  /** Fold an event; true when the screen to show changes (projector.js then redraws its head). */
  apply(event) {
    const changed = this.model.apply(event);
    if (changed) this.schedule();
    if (event.type === "round_opened") this.page = 0;
    return changed && (event.type === "round_opened" || event.type === "round_closed");
  }

  schedule() {
    if (this.pending) return;
    this.pending = setTimeout(() => {
      this.pending = null;
      this.render();
    }, 0);
  }

  render() {
    const model = this.model;
    if (!model.open) {
      clearInterval(this.timer);
      this.timer = null;
      return;
    }
    if (!this.timer) {
      this.timer = setInterval(() => {
        this.page += 1;
        this.render();
      }, PAGE_MS);
    }
    const { statements, analysis } = this.read();
    const count = model.statements.length;
    const sid = model.statements[this.page % count];
    const statement = statements.get(sid);
    setText("#round-h", t("round.heading", { round: model.number }));
    setText("#round-page", count > 1 ? t("round.page", { i: (this.page % count) + 1, n: count }) : "");
    setText("#round-no", statementLabel(sid));
    setText("#round-text", statement ? statement.text : "");
    const before = model.before.get(sid) || new Map();
    const after = model.after.get(sid) || new Map();
    setText("#round-count", t("round.count", { round: model.number, n: after.size, before: before.size }));
    fill($("#round-roles"), model.shift(sid, (pid) => model.roleOf(pid)),
      (key) => (key === "" ? t("spotlight.no_role") : key));
    fill($("#round-groups"), model.shift(sid, (pid) => groupOf(analysis, pid) ?? null),
      (key) => (key === null ? t("spotlight.no_group") : t("spotlight.group", { group: key })));
    fitLarge($("#round"));
  }
}

/** The shift lines are the screen's message: print them at the statement's size when they fit, and at the
 * label size (still the back-row floor) when a round has many roles or groups. */
function fitLarge(screen) {
  if (!screen) return;
  screen.dataset.size = "large";
  if (screen.scrollHeight > screen.clientHeight + 1) screen.dataset.size = "normal";
}

/** One line per role or group: "住戶：反對 → 可接受 2 · 維持 1 · 新表態 1". */
function fill(list, rows, label) {
  list.replaceChildren(...rows.map((row) => {
    const parts = row.moved.map(([from, to, n]) => t("round.moved", { from: t(voteKey(from)), to: t(voteKey(to)), n }));
    if (row.kept) parts.push(t("round.kept", { n: row.kept }));
    if (row.fresh) parts.push(t("round.fresh", { n: row.fresh }));
    // Each part keeps its words together ("維持 1 人" never breaks before 人); lines break between parts.
    const spans = parts.flatMap((part, i) => [...(i ? [" · "] : []), el("span", { class: "round-part", text: part })]);
    return el("li", {}, el("span", { class: "round-key", text: `${label(row.key)}：` }), ...spans);
  }));
  // A column with no row hides with its heading: 0 voters read as the count line alone, not as two empty
  // headings (身分, 意見群組) under it.
  list.parentElement.hidden = rows.length === 0;
}
