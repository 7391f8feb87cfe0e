// A round on a phone (issue 23): the host asked the room to vote again on a few statements. A banner says so
// and how many are left; the server's next card is the round's next statement even though the phone voted
// on it before (docs/protocol.md, Rounds), shown as a vote to change with the earlier vote pressed: keeping
// it counts as voting again. participant.js loads this module at the first round, like spotphone.js.

import { $, el, setText, show } from "./dom.js";
import { t } from "./i18n.js";
import { statementLabel } from "./vocabulary.js";

const SHEET = "/static/css/spotlight.css";
if (!document.querySelector(`link[href="${SHEET}"]`)) document.head.append(el("link", { rel: "stylesheet", href: SHEET }));

export class PhoneRound {
  constructor() {
    this.number = null;
    this.statements = [];
    this.done = new Set();
  }

  fromSnapshot(msg, next) {
    const rounds = (msg.meeting && msg.meeting.rounds) || {};
    const current = (rounds.rounds || []).find((r) => r.round === rounds.current);
    this.open(current || null);
    // The server offers the round's statements in order: those before its `next` were voted on again.
    if (current && next && current.statements.includes(next.id)) {
      for (const id of current.statements.slice(0, current.statements.indexOf(next.id))) this.done.add(id);
    } else if (current) {
      for (const id of current.statements) this.done.add(id);
    }
  }

  open(round) {
    this.number = round ? round.round : null;
    this.statements = round ? round.statements.slice() : [];
    this.done = new Set();
  }

  apply(event) {
    if (event.type === "round_opened") this.open(event);
    if (event.type === "round_closed") this.open(null);
  }

  /** Whether statement `id`, voted on before, is to be voted on again now. */
  due(id) {
    return this.number !== null && this.statements.includes(id) && !this.done.has(id);
  }

  voted(id) {
    if (this.statements.includes(id)) this.done.add(id);
  }

  render(open) {
    const shown = open && this.number !== null;
    show("#round-banner", shown);
    if (!shown) return;
    const left = this.statements.filter((id) => !this.done.has(id));
    setText("#round-banner-h", t("round.phone_heading", { round: this.number }));
    setText("#round-banner-left", left.length ? t("round.phone_left", { list: left.map(statementLabel).join("、"),
      n: left.length }) : t("round.phone_done"));
  }
}

/** The banner's place, above the card (made here: the page has none until a round opens). */
export function roundBanner() {
  if ($("#round-banner")) return;
  $("#progress").after(el("div", { id: "round-banner", class: "spot-banner", role: "status", hidden: true },
    el("p", { id: "round-banner-h", class: "spot-banner-h" }), el("p", { id: "round-banner-left" })));
}
