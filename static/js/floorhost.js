// The console's speaking queue (issue 23): who asked for the floor, least heard roles and groups first
// (floor.js), each with a button to give them the floor (the host may pick anyone: the order only suggests),
// who is speaking and for how long, and the turns so far by role, so the host sees which side is unheard.

import { groupOf } from "./analysis.js";
import { $, el, setStatus, setText, show } from "./dom.js";
import { has, t } from "./i18n.js";
import { FloorModel } from "./floor.js";
import { formatClock } from "./spotlight.js";

export class HostFloor {
  /** `read()` gives {people, analysis}; `send(type, fields)` returns the ack's promise. */
  constructor(read, send) {
    this.model = new FloorModel();
    this.read = read;
    this.send = send;
    this.timer = null;
    $("#floor-end").addEventListener("click", () => this.command("floor_end", {}));
  }

  fromSnapshot(msg) {
    this.model.fromSnapshot(msg);
  }

  apply(event) {
    this.model.apply(event);
  }

  command(type, fields) {
    setStatus("#floor-status", "");
    this.send(type, fields).catch((error) => setStatus("#floor-status", errorText(error), "error"));
  }

  name(pid) {
    const person = this.read().people.get(pid);
    const group = groupOf(this.read().analysis, pid);
    const who = [person && person.nickname ? person.nickname : `#${pid}`,
      person && person.role ? person.role : t("spotlight.no_role")];
    if (group) who.push(t("spotlight.group", { group }));
    return who.join(" · ");
  }

  render() {
    const model = this.model;
    const { analysis } = this.read();
    const ordered = model.ordered((pid) => groupOf(analysis, pid));
    const list = $("#floor-queue");
    list.replaceChildren(...ordered.map((q) => el("li", { dataset: { participant: String(q.participant) } },
      el("span", { text: this.name(q.participant) }), " ",
      el("button", { type: "button", class: "floor-give", text: t("floor.give"),
        onclick: () => this.command("floor_give", { participant: q.participant }) }))));
    setText("#floor-empty", ordered.length ? "" : t("floor.empty"));
    show("#floor-now", Boolean(model.speaking));
    $("#floor-end").disabled = !model.speaking;
    clearInterval(this.timer);
    this.timer = null;
    if (model.speaking) {
      const tick = () => setText("#floor-now", t("floor.speaking", { who: this.name(model.speaking.participant),
        time: formatClock(Date.now() / 1000 - model.speaking.since) }));
      tick();
      this.timer = setInterval(tick, 1000);
    }
    const heard = new Map();
    for (const turn of model.turns) heard.set(turn.role, (heard.get(turn.role) || 0) + 1);
    setText("#floor-heard", heard.size ? t("floor.heard", { list: Array.from(heard.entries())
      .map(([role, n]) => `${role || t("spotlight.no_role")} ${n}`).join("、") }) : "");
  }
}

function errorText(error) {
  if (!error) return t("error.generic");
  return has(`error.${error.code}`) ? t(`error.${error.code}`) : error.message || t("error.generic");
}
