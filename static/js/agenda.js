// The agenda (docs/meetings.md): the meeting's questions, the current one, and which question each
// statement belongs to, folded from snapshots (`meeting.agenda`) and the `question_added` /
// `question_changed` events. Shared by the projector, the phones and the console; the console's panel is
// mountAgendaPanel below. Texts only through textContent.

import { $, el, setStatus, show } from "./dom.js";
import { has, onLangChange, t } from "./i18n.js";

/** The ORID prompts (focused conversation) the /new page offers after the topic, in the page's language. */
export function oridPrompts() {
  return ["agenda.orid_o", "agenda.orid_r", "agenda.orid_i", "agenda.orid_d"].map((key) => t(key));
}

export class AgendaView {
  constructor({ onChange = () => {} } = {}) {
    this.questions = [""];
    this.current = 0;
    this.starts = [[0, 0]];
    this.onChange = onChange;
  }

  /** More than the topic: the pages show the current question and filter statements by it. */
  get active() {
    return this.questions.length > 1 || this.current !== 0;
  }

  /** The question's text as the room reads it (question 0: the topic, else the title). */
  text(question, settings) {
    const own = this.questions[question] || "";
    return own || (settings && (settings.topic || settings.title)) || "";
  }

  /** "問題 2／3：…" for the current question, or the topic alone without an agenda. */
  heading(settings) {
    const text = this.text(this.current, settings);
    if (!this.active) return (settings && settings.topic) || "";
    return t("agenda.current", { n: this.current + 1, total: this.questions.length, text });
  }

  questionOf(statementId) {
    const id = Number(statementId);
    let question = 0;
    for (const [first, q] of this.starts) {
      if (first <= id) question = q;
      else break;
    }
    return question;
  }

  /** The entries of a Map of statements (id -> statement) that belong to the current question. */
  filter(statements) {
    if (!this.active) return statements;
    return new Map(Array.from(statements).filter(([id]) => this.questionOf(id) === this.current));
  }

  receive(msg) {
    if (msg.type === "snapshot") {
      const agenda = (msg.meeting && msg.meeting.agenda) || null;
      if (agenda) {
        this.questions = (agenda.questions || []).map((q) => q.text || "");
        if (!this.questions.length) this.questions = [""];
        this.current = agenda.current || 0;
        this.starts = agenda.starts || [[0, 0]];
      }
      this.onChange(null);
      return;
    }
    const events = msg.type === "batch" ? msg.events || [] : msg.type === "event" ? [msg.event || {}] : [];
    for (const event of events) {
      if (event.type === "question_added") {
        this.questions[event.question] = event.text;
      } else if (event.type === "question_changed") {
        this.current = event.to_question;
        const last = this.starts[this.starts.length - 1];
        if (last && last[0] === event.first_statement) last[1] = event.to_question;
        else this.starts.push([event.first_statement, event.to_question]);
      } else {
        continue;
      }
      this.onChange(event);
    }
  }
}

/**
 * The console's 議程 panel: every question, the current one marked, a button to move the room to any other,
 * and a form to add one. send(type, fields) -> Promise of the ack; settings() -> the meeting's settings.
 */
export function mountAgendaPanel({ send, settings }) {
  const view = new AgendaView({ onChange: render });

  function errorText(error) {
    if (!error) return t("error.generic");
    return has(`error.${error.code}`) ? t(`error.${error.code}`) : error.message || t("error.generic");
  }

  function render() {
    const list = $("#agenda-list");
    list.replaceChildren(...view.questions.map((_, index) => {
      const current = index === view.current;
      const label = `${index + 1}. ${view.text(index, settings())}`;
      return el("li", { class: current ? "agenda-item current" : "agenda-item", "aria-current": current ? "step" : null },
        el("span", { class: "agenda-text", text: label }),
        current ? el("strong", { class: "agenda-now", text: t("agenda.now") })
          : el("button", { type: "button", class: "agenda-go", dataset: { question: index },
            onclick: () => go(index) }, t("agenda.go")));
    }));
  }

  function go(question) {
    setStatus("#agenda-status", "");
    send("question_go", { question }).then(
      () => setStatus("#agenda-status", t("agenda.moved", { n: question + 1 }), "ok"),
      (error) => setStatus("#agenda-status", errorText(error), "error"));
  }

  $("#agenda-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $("#agenda-new");
    const text = input.value.trim();
    if (!text) return;
    setStatus("#agenda-status", "");
    send("question_add", { text }).then(() => {
      input.value = "";
      setStatus("#agenda-status", t("agenda.added"), "ok");
    }, (error) => setStatus("#agenda-status", errorText(error), "error"));
  });
  onLangChange(render);
  show("#agenda-panel", true);
  return { receive: (msg) => view.receive(msg), view };
}
