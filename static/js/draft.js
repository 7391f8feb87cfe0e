// A statement being written survives everything short of its writer deleting it. It is kept in
// localStorage as it is typed, so a reload, a dead battery or the host moving on from 蒐集意見 loses
// nothing: while posting is closed the phone shows the kept text, and when posting opens again it is
// back in the box. A post the server refuses (the phase moved on while it was on its way) goes back into
// the box as well. Nothing is sent on the writer's behalf: a statement is published only when they press
// 送出 (docs/protocol.md, "What a phone keeps").

import { keys, safeGet, safeSet } from "./store.js";

export class Draft {
  constructor(code) {
    this.key = keys.draft(code);
  }

  /** The kept text, exactly as typed ("" when there is none). */
  get text() {
    return safeGet(this.key) || "";
  }

  /** Keep `text` (blank text removes the draft). */
  save(text) {
    safeSet(this.key, text && text.trim() ? text : null);
  }

  clear() {
    safeSet(this.key, null);
  }

  /** Whether there is something kept worth showing. */
  get present() {
    return this.text.trim().length > 0;
  }
}
