// The speaking queue (issue 23), what the console and the projector share: the queue as the server keeps it
// (meeting.floor, then floor_* events) and its order, the same rule as facilitation/core/commands/floor.py
// `order`: the roles heard least so far first, then the opinion groups heard least (the map's), then who
// asked first. The host may give the floor to anyone queued; this order is only the suggestion.

export class FloorModel {
  constructor() {
    this.queue = [];
    this.speaking = null;
    this.turns = [];
  }

  fromSnapshot(msg) {
    const floor = (msg.meeting && msg.meeting.floor) || {};
    this.queue = (floor.queue || []).slice();
    this.speaking = floor.speaking || null;
    // The snapshot counts past turns by role only; later turns are added as they end.
    this.turns = [];
    for (const [role, n] of Object.entries(floor.heard || {})) {
      for (let i = 0; i < n; i += 1) this.turns.push({ participant: null, role, started_at: 0, ended_at: 0 });
    }
  }

  /** Fold an event; true when the queue or the speaker changed. */
  apply(event) {
    switch (event.type) {
      case "floor_asked":
        this.queue.push({ participant: event.participant, role: event.role || "", asked_at: event.at });
        return true;
      case "floor_withdrawn":
        this.queue = this.queue.filter((q) => q.participant !== event.participant);
        return true;
      case "floor_given":
        this.finish(event.at);
        this.queue = this.queue.filter((q) => q.participant !== event.participant);
        this.speaking = { participant: event.participant, role: event.role || "", since: event.at };
        return true;
      case "floor_ended":
        this.finish(event.at);
        return true;
      default:
        return false;
    }
  }

  finish(at) {
    if (!this.speaking) return;
    this.turns.push({ participant: this.speaking.participant, role: this.speaking.role,
      started_at: this.speaking.since, ended_at: at });
    this.speaking = null;
  }

  /** The queue in suggested order; `groupOf(pid)` is the person's opinion group or null. */
  ordered(groupOf) {
    const count = (key) => {
      const counts = new Map();
      for (const turn of this.turns) {
        const k = key(turn);
        counts.set(k, (counts.get(k) || 0) + 1);
      }
      return counts;
    };
    const byRole = count((turn) => turn.role);
    const byGroup = count((turn) => (turn.participant === null ? "?" : groupOf(turn.participant) ?? ""));
    const rank = (q) => [byRole.get(q.role) || 0, byGroup.get(groupOf(q.participant) ?? "") || 0, q.asked_at];
    return this.queue.slice().sort((a, b) => {
      const [x, y] = [rank(a), rank(b)];
      return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
    });
  }
}
