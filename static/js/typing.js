// Tells the host console that this phone is writing a statement (docs/protocol.md, `typing`): a transient
// signal, so the host sees how many people are still writing before moving on from 蒐集意見. Sent when
// the box starts to hold text, repeated at most every REPEAT_MS while the text changes (the server forgets
// a phone 8 s after its last signal), and `active: false` once the box is empty or the text is sent. Only
// whether someone is writing is sent, never what.

const REPEAT_MS = 3000;

export class TypingSignal {
  /** `send(active)`: deliver the signal (dropped while offline: the count is only a hint). */
  constructor(send) {
    this.send = send;
    this.active = false;
    this.sentAt = 0;
  }

  /** The box now holds `text`; `open`: posting is open (collecting). */
  update(text, open = true) {
    const writing = open && text.trim().length > 0;
    const now = Date.now();
    if (writing && (!this.active || now - this.sentAt >= REPEAT_MS)) {
      this.active = true;
      this.sentAt = now;
      this.send(true);
    } else if (!writing && this.active) {
      this.active = false;
      this.send(false);
    }
  }

  /** The text was sent or the box emptied. */
  stop() {
    this.update("");
  }
}
