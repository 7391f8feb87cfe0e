// The projector's spotlight screen (issue 23): the statement the host put before the room at statement
// size, its countdown, and its votes counted by opinion group and by stakeholder role, each row with its
// total so the room can check that the rows add up. projector.js shows this screen instead of its phase's
// while a statement is in the spotlight (body[data-screen="spotlight"]); sizes and colours follow
// projector.css (statements >= 36 px, other text >= 28 px, 7:1 in both themes).

import { groupOf } from "./analysis.js";
import { $, el, setText } from "./dom.js";
import { t } from "./i18n.js";
import { formatClock, SpotlightModel } from "./spotlight.js";
import { statementLabel, voteKey } from "./vocabulary.js";

export class ProjectorSpotlight {
  /** `read()` gives {statements, analysis, votes}: the projector's statements, last map and vote values. */
  constructor(read) {
    this.model = new SpotlightModel();
    this.read = read;
    this.timer = null;
    this.pending = null;
  }

  /** Whether the spotlight screen replaces the phase's (only while phones can vote on it). */
  shown(phase) {
    return this.model.active && (phase === "collecting" || phase === "voting");
  }

  fromSnapshot(msg) {
    this.model.fromSnapshot(msg);
    this.render();
  }

  /** Fold an event; true when the screen changes (projector.js then redraws its head). */
  apply(event) {
    const changed = this.model.apply(event);
    if (changed) this.schedule();
    return changed && (event.type === "spotlight_started" || event.type === "spotlight_ended");
  }

  /** One redraw for a whole batch of votes (a burst brings hundreds in one batch). */
  schedule() {
    if (this.pending) return;
    this.pending = setTimeout(() => {
      this.pending = null;
      this.render();
    }, 0);
  }

  render() {
    clearInterval(this.timer);
    this.timer = null;
    const model = this.model;
    if (!model.active) return;
    const { statements, analysis, votes } = this.read();
    const statement = statements.get(model.statement);
    setText("#spot-no", statementLabel(model.statement));
    setText("#spot-text", statement ? statement.text : "");
    this.renderClock();
    if (model.deadline) this.timer = setInterval(() => this.renderClock(), 1000);
    const values = votes && votes.length ? votes : ["agree", "acceptable", "pass", "disagree"];
    const tally = model.tally((pid) => groupOf(analysis, pid));
    setText("#spot-total", t("spotlight.total", { n: tally.all.total,
      counts: values.map((v) => `${t(voteKey(v))} ${tally.all.counts[v] || 0}`).join(" · ") }));
    fillTable($("#spot-groups"), t("spotlight.by_group"), values, tally.groups, (key) => (key === null
      ? t("spotlight.no_group") : t("spotlight.group", { group: key })));
    fillTable($("#spot-roles"), t("spotlight.by_role"), values, tally.roles,
      (key) => (key === "" ? t("spotlight.no_role") : key));
  }

  renderClock() {
    const left = this.model.remaining();
    const node = $("#spot-clock");
    node.hidden = left === null;
    if (left === null) return;
    node.textContent = left > 0 ? t("spotlight.left", { time: formatClock(left) }) : t("spotlight.time_up");
    node.dataset.over = left > 0 ? "false" : "true";
  }
}

/** A tally table: one row per group (or role), a column per vote value and the row's total. */
export function fillTable(table, heading, values, rows, label) {
  const head = table.tHead.rows[0];
  head.replaceChildren(el("th", { scope: "col", text: heading }),
    ...values.map((v) => el("th", { scope: "col", text: t(voteKey(v)) })),
    el("th", { scope: "col", text: t("spotlight.row_total") }));
  const body = table.tBodies[0];
  body.replaceChildren(...rows.map((row) => el("tr", {},
    el("th", { scope: "row", text: label(row.key) }),
    ...values.map((v) => el("td", { text: String(row.counts[v] || 0) })),
    el("td", { class: "spot-row-total", text: String(row.total) }))));
  table.hidden = rows.length === 0;
}
