// The console's spotlight panel (issue 23): pick a statement and an optional countdown, put it before the
// room, follow its votes and the time left, end it. host.js feeds it the snapshot and the events and calls
// render(). The figures are the statement's tally as the console keeps it (every vote event moves it); the
// breakdown by opinion group and role is the projector's (the console receives events as stored, without
// the projector's table of who voted what).

import { $, el, setStatus, setText, show } from "./dom.js";
import { has, t } from "./i18n.js";
import { formatClock, SpotlightModel } from "./spotlight.js";
import { statementLabel, voteKey } from "./vocabulary.js";

/** Countdowns offered, in seconds (0: none). */
const LENGTHS = [0, 30, 60, 120, 180, 300, 600];

export class HostSpotlight {
  /** `read()` gives {statements, analysis, votes, phase}; `send(type, fields)` returns the ack's promise. */
  constructor(read, send) {
    this.model = new SpotlightModel();
    this.read = read;
    this.send = send;
    this.timer = null;
    const seconds = $("#spot-seconds");
    seconds.replaceChildren(...LENGTHS.map((s) => el("option", { value: String(s),
      text: s ? formatClock(s) : t("spotlight.no_countdown") })));
    $("#spot-start").addEventListener("click", () => this.start());
    $("#spot-end").addEventListener("click", () => this.end());
  }

  fromSnapshot(msg) {
    this.model.fromSnapshot(msg);
  }

  apply(event) {
    this.model.apply(event);
  }

  start() {
    const id = Number($("#spot-statement").value);
    if (!Number.isInteger(id) || $("#spot-statement").value === "") return;
    const seconds = Number($("#spot-seconds").value);
    const fields = seconds ? { statement: id, seconds } : { statement: id };
    setStatus("#spot-status", "");
    this.send("spotlight", fields).catch((error) => setStatus("#spot-status", errorText(error), "error"));
  }

  end() {
    setStatus("#spot-status", "");
    this.send("spotlight_end", {}).catch((error) => setStatus("#spot-status", errorText(error), "error"));
  }

  render() {
    const { statements, votes, phase } = this.read();
    const open = phase === "collecting" || phase === "voting";
    const select = $("#spot-statement");
    const chosen = select.value;
    const accepted = Array.from(statements.values()).filter((s) => s.state === "accepted").sort((a, b) => a.id - b.id);
    select.replaceChildren(...accepted.map((s) => el("option", { value: String(s.id),
      text: `${statementLabel(s.id)} ${s.text}` })));
    if (accepted.some((s) => String(s.id) === chosen)) select.value = chosen;
    $("#spot-start").disabled = !open || accepted.length === 0;
    setText("#spot-closed", open ? "" : t("spotlight.host_closed"));
    const model = this.model;
    show("#spot-now", model.active);
    $("#spot-end").disabled = !model.active;
    clearInterval(this.timer);
    this.timer = null;
    if (!model.active) return;
    const statement = statements.get(model.statement);
    setText("#spot-now-text", t("spotlight.host_now", { number: statementLabel(model.statement),
      text: statement ? statement.text : "" }));
    this.renderClock();
    if (model.deadline) this.timer = setInterval(() => this.renderClock(), 1000);
    const values = votes && votes.length ? votes : ["agree", "acceptable", "pass", "disagree"];
    const tally = (statement && statement.tally) || {};
    const total = values.reduce((sum, v) => sum + (tally[v] || 0), 0);
    setText("#spot-host-total", t("spotlight.total", { n: total,
      counts: values.map((v) => `${t(voteKey(v))} ${tally[v] || 0}`).join(" · ") }));
  }

  renderClock() {
    const left = this.model.remaining();
    show("#spot-host-clock", left !== null);
    if (left !== null) {
      setText("#spot-host-clock", left > 0 ? t("spotlight.left", { time: formatClock(left) }) : t("spotlight.time_up"));
    }
  }
}

function errorText(error) {
  if (!error) return t("error.generic");
  return has(`error.${error.code}`) ? t(`error.${error.code}`) : error.message || t("error.generic");
}
