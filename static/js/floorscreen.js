// The projector's line about the speaking queue (issue 23): who has the floor and who is next, by role and
// opinion group (the projector shows no nicknames), in the suggested order of floor.js. In the head, at the
// head's size (>= 28 px).

import { groupOf } from "./analysis.js";
import { $, setText } from "./dom.js";
import { t } from "./i18n.js";
import { FloorModel } from "./floor.js";

export class ProjectorFloor {
  constructor(read) {
    this.model = new FloorModel();
    this.read = read;
  }

  fromSnapshot(msg) {
    this.model.fromSnapshot(msg);
    this.render();
  }

  apply(event) {
    if (this.model.apply(event)) this.render();
  }

  render() {
    const { analysis } = this.read();
    const who = (q) => {
      const group = groupOf(analysis, q.participant);
      return [q.role || t("spotlight.no_role"), group ? t("spotlight.group", { group }) : ""].filter(Boolean).join(" · ");
    };
    const parts = [];
    if (this.model.speaking) parts.push(t("floor.now", { who: who(this.model.speaking) }));
    const next = this.model.ordered((pid) => groupOf(analysis, pid))[0];
    if (next) parts.push(t("floor.next", { who: who(next), n: this.model.queue.length }));
    const node = $("#floor-next");
    setText("#floor-next", parts.join("　"));
    node.hidden = parts.length === 0;
  }
}
