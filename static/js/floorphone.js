// The speaking queue on a phone (issue 23): "我想發言" puts the phone in the queue with its role, "取消" takes it
// out; the phone says where it stands and when it has the floor. participant.js loads this module when the
// phone first touches the queue, or when its snapshot shows it in it.

import { $, setText, show } from "./dom.js";
import { t } from "./i18n.js";
import { FloorModel } from "./floor.js";

export class PhoneFloor {
  constructor(me, send) {
    this.model = new FloorModel();
    this.me = me;
    this.send = send;
  }

  fromSnapshot(msg) {
    this.model.fromSnapshot(msg);
  }

  apply(event) {
    return this.model.apply(event);
  }

  toggle() {
    const queued = this.model.queue.some((q) => q.participant === this.me());
    return this.send(queued ? "floor_withdraw" : "floor_ask").then((ack) => {
      if (queued) this.model.apply({ type: "floor_withdrawn", participant: this.me() });
      else this.model.apply({ type: "floor_asked", participant: this.me(), role: "", at: Date.now() / 1000 });
      return ack;
    });
  }

  render() {
    const me = this.me();
    const queued = this.model.queue.some((q) => q.participant === me);
    const speaking = this.model.speaking && this.model.speaking.participant === me;
    setText("#floor-ask", t(queued ? "floor.withdraw" : "floor.ask"));
    show("#floor-ask", !speaking);
    setText("#floor-state", speaking ? t("floor.you_speak") : queued ? t("floor.queued") : "");
    show("#floor-state", Boolean(speaking || queued));
    $("#floor-ask").setAttribute("aria-pressed", queued ? "true" : "false");
  }
}
