// The live connection: hello, resume with `since`, heartbeat, reconnect with backoff, and a queue of
// unacknowledged commands that are resent with their ORIGINAL op after a reconnect (the server dedupes by
// op, so nothing is lost or applied twice). A phone's queue is kept in localStorage, so votes made offline
// survive a reload too.

import { randomId, safeGetJSON, safeSetJSON } from "./store.js";

const PING_EVERY = 20000;
const PONG_WITHIN = 10000;
const BACKOFF_MIN = 500;
const BACKOFF_MAX = 15000;
const RATE_LIMIT_RETRY = 1500;
const FATAL_CLOSES = new Set([4003, 4004, 4400]);
const RELOAD_CLOSE = 4010;

export class LiveClient {
  /**
   * code: meeting code; role: participant | host | projector;
   * hello(): extra hello fields (token, nickname, host_key...); queueKey: localStorage key for the
   * persistent command queue (participants), or null; onMessage(msg), onState(state), onFatal(error, code),
   * onCommandError(entry, error) for a queued command the server refused (e.g. after a reload).
   */
  constructor({ code, role, hello, queueKey = null, onMessage, onState, onFatal, onCommandError }) {
    this.code = code;
    this.role = role;
    this.hello = hello || (() => ({}));
    this.queueKey = queueKey;
    this.onMessage = onMessage || (() => {});
    this.onState = onState || (() => {});
    this.onFatal = onFatal || (() => {});
    this.onCommandError = onCommandError || (() => {});
    this.seq = null;
    this.ws = null;
    this.ready = false;
    this.state = "connecting";
    this.attempt = 0;
    this.stopped = false;
    this.lastError = null;
    this.prefix = `${role[0]}${randomId(5)}`;
    this.counter = 0;
    this.pending = new Map();
    for (const entry of safeGetJSON(queueKey, [])) {
      if (entry && entry.op && entry.type) this.pending.set(entry.op, { ...entry, persist: true });
    }
    this.pingTimer = null;
    this.pongTimer = null;
    this.retryTimer = null;
    window.addEventListener("online", () => this.reconnectNow());
    window.addEventListener("offline", () => this.dropSocket());
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this.reconnectNow();
    });
  }

  start() {
    this.connect();
    return this;
  }

  /** Commands not yet acknowledged (persisted ones included), in the order they were made. */
  queued() {
    return Array.from(this.pending.values());
  }

  /** Send a command; resolves with the ack, rejects with the error. Queued while offline. */
  send(type, fields = {}, { persist = false } = {}) {
    this.counter += 1;
    const op = `${this.prefix}-${this.counter}`;
    return new Promise((resolve, reject) => {
      const entry = { op, type, fields, persist, resolve, reject };
      this.pending.set(op, entry);
      if (persist) this.save();
      if (this.ready) this.transmit(entry);
    });
  }

  /** A message without an op (next, ping, typing): sent only when connected. */
  request(type, fields = {}) {
    if (this.ready) this.raw({ type, ...fields });
  }

  // ---------------------------------------------------------------- internals

  setState(state) {
    if (state === this.state) return;
    this.state = state;
    this.onState(state);
  }

  url() {
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    return `${scheme}//${window.location.host}/ws/${encodeURIComponent(this.code)}`;
  }

  connect() {
    if (this.stopped) return;
    clearTimeout(this.retryTimer);
    this.ready = false;
    this.setState(this.attempt === 0 ? "connecting" : "reconnecting");
    let ws;
    try {
      ws = new WebSocket(this.url());
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      const hello = { v: 1, type: "hello", role: this.role, ...this.hello() };
      if (this.seq !== null) hello.since = this.seq;
      ws.send(JSON.stringify(hello));
    };
    ws.onmessage = (event) => {
      if (ws !== this.ws) return;
      let msg;
      try {
        msg = JSON.parse(event.data);
      } catch {
        return;
      }
      this.receive(msg);
    };
    ws.onclose = (event) => {
      if (ws !== this.ws) return;
      this.ws = null;
      this.ready = false;
      this.stopHeartbeat();
      // 4010: the meeting's record changed under us (someone's data was erased): start from a fresh snapshot
      if (event.code === RELOAD_CLOSE) {
        this.seq = null;
        this.attempt = 0;
      }
      if (FATAL_CLOSES.has(event.code)) {
        this.stopped = true;
        this.setState("failed");
        this.onFatal(this.lastError, event.code);
        return;
      }
      this.scheduleReconnect();
    };
  }

  receive(msg) {
    if (typeof msg.seq === "number" && ["event", "batch", "snapshot", "resumed"].includes(msg.type)) {
      this.seq = Math.max(this.seq ?? 0, msg.seq);
    }
    if (msg.type === "pong") {
      clearTimeout(this.pongTimer);
      return;
    }
    if (msg.type === "ack" && msg.op) {
      const entry = this.pending.get(msg.op);
      this.forget(msg.op);
      this.onMessage(msg);
      if (entry && entry.resolve) entry.resolve(msg);
      return;
    }
    if (msg.type === "error" && msg.op) {
      const entry = this.pending.get(msg.op);
      if (entry && msg.error && msg.error.code === "rate_limited") {
        setTimeout(() => this.ready && this.pending.has(entry.op) && this.transmit(entry), RATE_LIMIT_RETRY);
        return;
      }
      this.forget(msg.op);
      if (entry && entry.reject) entry.reject(msg.error);
      else if (entry) this.onCommandError(entry, msg.error);
      return;
    }
    if (msg.type === "error") this.lastError = msg.error;
    this.onMessage(msg);
    if (msg.type === "snapshot" || msg.type === "resumed") {
      this.ready = true;
      this.attempt = 0;
      this.setState("online");
      this.startHeartbeat();
      for (const entry of this.pending.values()) this.transmit(entry);
    }
  }

  transmit(entry) {
    this.raw({ type: entry.type, op: entry.op, ...entry.fields });
  }

  raw(message) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ v: 1, ...message }));
  }

  forget(op) {
    const entry = this.pending.get(op);
    if (!entry) return;
    this.pending.delete(op);
    if (entry.persist) this.save();
  }

  save() {
    if (!this.queueKey) return;
    const persisted = [];
    for (const { op, type, fields, persist } of this.pending.values()) {
      if (persist) persisted.push({ op, type, fields });
    }
    safeSetJSON(this.queueKey, persisted);
  }

  startHeartbeat() {
    this.stopHeartbeat();
    this.pingTimer = setInterval(() => {
      this.raw({ type: "ping" });
      clearTimeout(this.pongTimer);
      this.pongTimer = setTimeout(() => this.dropSocket(), PONG_WITHIN);
    }, PING_EVERY);
  }

  stopHeartbeat() {
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
  }

  /** The socket is dead or the network went away: close it and reconnect with backoff. */
  dropSocket() {
    const ws = this.ws;
    if (!ws) return;
    this.ws = null;
    this.ready = false;
    this.stopHeartbeat();
    try {
      ws.close();
    } catch {
      // already closing
    }
    this.scheduleReconnect();
  }

  /** Stop for good (the phone erased its data, the host deleted the meeting): no reconnect. */
  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.stopHeartbeat();
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      try {
        ws.close();
      } catch {
        // already closing
      }
    }
  }

  reconnectNow() {
    if (this.stopped || this.ws) return;
    this.attempt = 0;
    this.connect();
  }

  scheduleReconnect() {
    if (this.stopped) return;
    this.setState(navigator.onLine === false ? "offline" : "reconnecting");
    const base = Math.min(BACKOFF_MAX, BACKOFF_MIN * 2 ** this.attempt);
    this.attempt += 1;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), base * (0.5 + Math.random() / 2));
  }
}
