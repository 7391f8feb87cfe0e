// The shared countdown (docs/protocol.md, "Timers"), counted against the SERVER's clock: every snapshot carries
// `now`, the page keeps `offset = now - its time at receipt` (events replayed after a reconnect carry the time
// they happened, so only snapshots set it). Usage: `new Countdown(node, { onChange })`, then
// `countdown.receive(msg)` for every live message; the node shows "4:59" or "時間到", data-state is
// running | ending (last 10 s) | ended, hidden with no timer. Text only, through textContent.

import { t } from "./i18n.js";

const TICK_MS = 250;
const ENDING_SECONDS = 10;
const ENDED_SHOWN_MS = 5 * 60 * 1000;
const TIMER_EVENTS = new Set(["timer_started", "timer_stopped", "timer_ended"]);

/** The server's clock as this page best knows it (seconds since the epoch). */
export class ServerClock {
  constructor() {
    this.offset = 0;
  }

  /** A message made at `serverTime` (seconds) has just arrived. */
  observe(serverTime) {
    if (typeof serverTime === "number" && Number.isFinite(serverTime)) this.offset = serverTime - Date.now() / 1000;
  }

  now() {
    return Date.now() / 1000 + this.offset;
  }
}

/** "m:ss" (or "h:mm:ss") for a number of whole seconds left. */
export function formatClock(seconds) {
  const s = Math.max(0, Math.ceil(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
}

/** Fold a timer event into the timer (as the server's Timer state does); returns the new timer. */
export function foldTimer(timer, event) {
  switch (event.type) {
    case "timer_started":
      return { id: event.timer, seconds: event.seconds, started_at: event.at, ends_at: event.ends_at,
        auto_advance: event.auto_advance, phase: event.phase, advance: event.advance || {}, state: "running",
        finished_at: 0, advanced: false };
    case "timer_stopped":
      return timer && timer.id === event.timer ? { ...timer, state: "stopped", finished_at: event.at } : timer;
    case "timer_ended":
      return timer && timer.id === event.timer
        ? { ...timer, state: "ended", finished_at: event.at, advanced: Boolean(event.advanced) } : timer;
    default:
      return timer;
  }
}

export class Countdown {
  /**
   * node: where the time is shown; onChange(timer, event): a timer event arrived (event null for a
   * snapshot); clock: a ServerClock (one per page, shared with other countdowns).
   */
  constructor(node, { onChange = () => {}, clock = new ServerClock() } = {}) {
    this.node = node;
    this.onChange = onChange;
    this.clock = clock;
    this.timer = null;
    this.ticker = null;
    if (node) node.setAttribute("role", "timer");
  }

  /** Seconds left on the running timer (0 when ended or none). */
  left() {
    if (!this.timer || this.timer.state !== "running") return 0;
    // capped at the timer's length (a slow snapshot's delay would show "10:01")
    const left = Math.max(0, this.timer.ends_at - this.clock.now());
    return this.timer.seconds > 0 ? Math.min(this.timer.seconds, left) : left;
  }

  receive(msg) {
    if (msg.type === "snapshot") {
      this.clock.observe(msg.now);
      this.timer = (msg.meeting && msg.meeting.timer) || null;
      this.onChange(this.timer, null);
      this.render();
      return;
    }
    const events = msg.type === "batch" ? msg.events || [] : msg.type === "event" ? [msg.event || {}] : [];
    for (const event of events) {
      if (!TIMER_EVENTS.has(event.type)) continue;
      this.timer = foldTimer(this.timer, event);
      this.onChange(this.timer, event);
      this.render();
    }
  }

  render() {
    clearTimeout(this.ticker);
    this.ticker = null;
    const node = this.node;
    if (!node) return;
    const timer = this.timer;
    const endedRecently = timer && timer.state === "ended"
      && (this.clock.now() - timer.finished_at) * 1000 < ENDED_SHOWN_MS;
    if (!timer || !(timer.state === "running" || endedRecently)) {
      node.hidden = true;
      node.textContent = "";
      delete node.dataset.state;
      return;
    }
    node.hidden = false;
    const left = this.left();
    if (timer.state === "running" && left > 0) {
      node.dataset.state = left <= ENDING_SECONDS ? "ending" : "running";
      node.textContent = t("timer.left", { time: formatClock(left) });
      this.ticker = setTimeout(() => this.render(), TICK_MS);
    } else {
      // Time is up on this device; the server's timer_ended (the prompt, any auto-advance) follows.
      node.dataset.state = "ended";
      node.textContent = t("timer.ended");
      if (timer.state === "ended") this.ticker = setTimeout(() => this.render(), ENDED_SHOWN_MS);
    }
  }
}
