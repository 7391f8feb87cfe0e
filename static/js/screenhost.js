// The console's projector control (issue 23): buttons for what the room sees (automatic, join slide, map and
// lanes, the map, the lanes, the results, one opinion group's page) and a live preview of the projector itself:
// the projector page in a frame, scaled down, so the host sees exactly what the room sees.

import { $, el, setStatus } from "./dom.js";
import { has, t } from "./i18n.js";

/** Each view the host may choose, with its label's key. */
const VIEWS = { auto: "screen.auto", join: "screen.join", live: "screen.live", map: "screen.map", lanes: "screen.lanes",
  results: "screen.results" };

export class HostScreen {
  /** `read()` gives {analysis}; `send(type, fields)` returns the ack's promise; `code` the meeting's. */
  constructor(read, send, code) {
    this.read = read;
    this.send = send;
    this.chosen = { view: "auto", group: "" };
    const frame = el("iframe", { title: t("screen.preview"), src: `/projector/${encodeURIComponent(code)}`,
      tabindex: "-1" });
    $("#screen-preview").append(frame);
    const fit = () => {
      frame.style.transform = `scale(${$("#screen-preview").clientWidth / 1920})`;
    };
    new ResizeObserver(fit).observe($("#screen-preview"));
    fit();
  }

  fromSnapshot(msg) {
    this.chosen = (msg.meeting && msg.meeting.screen) || this.chosen;
  }

  apply(event) {
    if (event.type === "screen_chosen") this.chosen = { view: event.shown, group: event.group || "" };
  }

  choose(view, group = "") {
    setStatus("#screen-status", "");
    this.send("screen", group ? { view, group } : { view }).catch((error) =>
      setStatus("#screen-status", has(`error.${error.code}`) ? t(`error.${error.code}`) : error.message || "", "error"));
  }

  render() {
    const { analysis } = this.read();
    const groups = analysis ? analysis.groups.map((g) => g.id) : [];
    const pressed = (view, group = "") => String(this.chosen.view === view && (this.chosen.group || "") === group);
    const choices = [...Object.entries(VIEWS).map(([view, label]) => ({ view, group: "", text: t(label) })),
      ...groups.map((group) => ({ view: "group", group, text: t("spotlight.group", { group }) }))];
    const box = $("#screen-choices");
    const keyOf = (view, group) => `${view}:${group}`;
    const buttons = Array.from(box.querySelectorAll("button"));
    const same = buttons.length === choices.length
      && buttons.every((button, i) => button.dataset.key === keyOf(choices[i].view, choices[i].group));
    if (!same) {  // built again only when the choices change: on every other event the buttons (and a
      // keyboard user's focus on one) stay, only their state and labels are refreshed
      box.replaceChildren(...choices.map(({ view, group }) => el("button", { type: "button",
        dataset: { view, group, key: keyOf(view, group) }, onclick: () => this.choose(view, group) })));
    }
    for (const [i, button] of Array.from(box.querySelectorAll("button")).entries()) {
      button.textContent = choices[i].text;
      button.setAttribute("aria-pressed", pressed(choices[i].view, choices[i].group));
    }
  }
}
