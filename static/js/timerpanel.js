// The console's time box (計時): start a countdown for the current phase, end it early or cancel it, and
// the prompt when time is up. Nothing moves by itself unless the host ticked auto-advance when starting:
// the prompt then says where the meeting went; otherwise it offers the next phase as one click (through
// the console's own phase change, which asks for confirmation where it always does).

import { Countdown } from "./countdown.js";
import { $, setStatus, setText, show } from "./dom.js";
import { has, onLangChange, t } from "./i18n.js";
import { PHASES, phaseKey } from "./vocabulary.js";

const MAX_SECONDS = 4 * 3600;
const MIN_SECONDS = 10;

/**
 * send(type, fields) -> Promise of the ack (the console's live client); phase() -> the current phase;
 * goTo(phase): the console's own phase change.
 */
export function mountTimerPanel({ send, phase, goTo }) {
  const countdown = new Countdown($("#host-timer"), { onChange: changed });
  let prompt = null;

  function errorText(error) {
    if (!error) return t("error.generic");
    return has(`error.${error.code}`) ? t(`error.${error.code}`) : error.message || t("error.generic");
  }

  function run(type, fields, done) {
    setStatus("#timer-status", "");
    send(type, fields).then(() => done && setStatus("#timer-status", t(done), "ok"),
      (error) => setStatus("#timer-status", errorText(error), "error"));
  }

  function nextPhase() {
    const here = PHASES.indexOf(phase());
    const next = PHASES[here + 1];
    return next && next !== "closed" ? next : null;
  }

  function changed(timer, event) {
    const running = Boolean(timer && timer.state === "running");
    show("#timer-end", running);
    show("#timer-stop", running);
    $("#timer-start").textContent = t(running ? "timer.restart" : "timer.start");
    if (event && event.type === "timer_ended") {
      const advance = (timer && timer.advance) || {};
      prompt = { advanced: Boolean(event.advanced), to: advance.phase || null,
        question: advance.question ?? null };
    } else if (event && event.type === "timer_started") {
      prompt = null;
    }
    renderPrompt();
  }

  function renderPrompt() {
    if (!prompt) {
      show("#timer-prompt", false);
      return;
    }
    const next = nextPhase();
    if (prompt.advanced && prompt.to) {
      setText("#timer-prompt-text", t("timer.ended_advanced", { phase: t(phaseKey(prompt.to)) }));
    } else if (prompt.advanced && prompt.question !== null) {
      setText("#timer-prompt-text", t("timer.ended_question", { n: prompt.question + 1 }));
    } else {
      setText("#timer-prompt-text", t("timer.ended_prompt"));
    }
    const button = $("#timer-next");
    button.hidden = prompt.advanced || !next;
    if (next) button.textContent = t("timer.go_next", { phase: t(phaseKey(next)) });
    show("#timer-prompt", true);
  }

  $("#timer-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const minutes = Number($("#timer-minutes").value) || 0;
    const seconds = Number($("#timer-seconds").value) || 0;
    const total = Math.round(minutes * 60 + seconds);
    if (total < MIN_SECONDS || total > MAX_SECONDS) {
      setStatus("#timer-status", t("timer.bad_length"), "error");
      return;
    }
    run("timer_start", { seconds: total, auto_advance: $("#timer-auto").checked,
      advance_to: $("#timer-advance-to").value }, "timer.started");
  });
  $("#timer-end").addEventListener("click", () => {
    if (countdown.timer) run("timer_end", { timer: countdown.timer.id });
  });
  $("#timer-stop").addEventListener("click", () => run("timer_stop", {}, "timer.stopped"));
  $("#timer-dismiss").addEventListener("click", () => {
    prompt = null;
    renderPrompt();
  });
  $("#timer-next").addEventListener("click", () => {
    const next = nextPhase();
    prompt = null;
    renderPrompt();
    if (next) goTo(next);
  });
  onLangChange(() => {
    countdown.render();
    changed(countdown.timer, null);
  });

  return {
    receive(msg) {
      countdown.receive(msg);
      if (prompt) renderPrompt();
    },
    countdown,
  };
}
