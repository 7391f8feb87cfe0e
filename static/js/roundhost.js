// The console's rounds panel (issue 23): tick the statements to vote on again (a button ticks the disputed
// lane of the last map), open round 2, 3, ..., see how many voted again, end it. What moved shows on the
// projector (roundscreen.js) and in every report.

import { $, el, setStatus, setText, show } from "./dom.js";
import { has, t } from "./i18n.js";
import { statementLabel } from "./vocabulary.js";

export class HostRound {
  /** `read()` gives {statements, analysis, phase, agenda (an AgendaView or null)}; `send(type, fields)` returns the ack's promise. */
  constructor(read, send) {
    this.read = read;
    this.send = send;
    this.current = null;
    this.voters = new Map();
    $("#round-disputed").addEventListener("click", () => this.tickDisputed());
    $("#round-open").addEventListener("click", () => this.open());
    $("#round-close").addEventListener("click", () => this.close());
  }

  fromSnapshot(msg) {
    const rounds = (msg.meeting && msg.meeting.rounds) || {};
    this.current = (rounds.rounds || []).find((r) => r.round === rounds.current) || null;
    const screen = msg.screens && msg.screens.rounds;
    this.voters = new Map(Object.entries((screen && screen.after) || {}).map(([sid, v]) => [Number(sid),
      new Set(Object.keys(v))]));
  }

  apply(event) {
    if (event.type === "round_opened") {
      this.current = event;
      this.voters = new Map();
    } else if (event.type === "round_closed") {
      this.current = null;
    } else if (event.type === "vote" && this.current && this.current.statements.includes(event.statement)) {
      if (!this.voters.has(event.statement)) this.voters.set(event.statement, new Set());
      this.voters.get(event.statement).add(String(event.participant));
    }
  }

  /** Ticks the disputed lane's statements of the current question only: the map's lanes span the whole
   * meeting, and a round on question 2 refuses a statement of question 1. */
  tickDisputed() {
    const { analysis, agenda } = this.read();
    const disputed = new Set(((analysis && analysis.lanes && analysis.lanes.disputed) || [])
      .filter((id) => onCurrentQuestion(agenda, id)).map(String));
    for (const box of document.querySelectorAll("#round-pick input")) box.checked = disputed.has(box.value);
    document.querySelector(".round-pick-box").open = true; // show what was ticked
  }

  open() {
    const ids = Array.from(document.querySelectorAll("#round-pick input:checked")).map((box) => Number(box.value));
    if (!ids.length) {
      setStatus("#round-status", t("round.host_none"), "error");
      return;
    }
    setStatus("#round-status", "");
    this.send("round_open", { statements: ids }).catch((error) => setStatus("#round-status", errorText(error), "error"));
  }

  close() {
    setStatus("#round-status", "");
    this.send("round_close", {}).catch((error) => setStatus("#round-status", errorText(error), "error"));
  }

  render() {
    const { statements, phase, agenda } = this.read();
    const open = phase === "collecting" || phase === "voting";
    const list = $("#round-pick");
    const ticked = new Set(Array.from(list.querySelectorAll("input:checked")).map((box) => box.value));
    const focused = list.contains(document.activeElement) ? document.activeElement.value : null;
    // the current question's statements only: a round on another question's statement is refused
    const accepted = Array.from(statements.values()).filter((s) => s.state === "accepted" && onCurrentQuestion(agenda, s.id))
      .sort((a, b) => a.id - b.id);
    list.replaceChildren(...accepted.map((s) => el("li", {}, el("label", {},
      el("input", { type: "checkbox", value: String(s.id), checked: ticked.has(String(s.id)) }),
      el("span", { text: `${statementLabel(s.id)} ${s.text}` })))));
    if (focused !== null) {  // rebuilt on every event: the keyboard's place is kept
      const again = list.querySelector(`input[value="${CSS.escape(focused)}"]`);
      if (again) again.focus();
    }
    $("#round-open").disabled = !open;
    const current = this.current;
    show("#round-now", Boolean(current));
    $("#round-close").disabled = !current;
    if (current) {
      const voted = new Set();
      for (const set of this.voters.values()) for (const pid of set) voted.add(pid);
      setText("#round-now", t("round.host_now", { round: current.round,
        list: current.statements.map(statementLabel).join("、"), n: voted.size }));
    }
  }
}

function errorText(error) {
  if (!error) return t("error.generic");
  return has(`error.${error.code}`) ? t(`error.${error.code}`) : error.message || t("error.generic");
}

/** True when statement `id` belongs to the agenda's current question (always, without an agenda). */
function onCurrentQuestion(agenda, id) {
  return !agenda || !agenda.active || agenda.questionOf(id) === agenda.current;
}
