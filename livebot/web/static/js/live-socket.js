// The one websocket client of the browser pages: connects, reconnects with backoff and jitter,
// shows 已连接 / 重新连接中 and lets a page order its frames by sequence number.
//
//   const socket = new LiveSocket({ path: "/ws/console/7", onMessage, statusNode, ... });
//   socket.start();
//
// Every (re)connect is a resync: the servers send their whole state first (snapshot/hello), so a
// page that missed frames while offline never keeps a stale view. SequenceGate below covers gaps
// within one connection (frames published by other instances may arrive late or not at all).
import { backoffDelay } from "./backoff.js";

export class LiveSocket {
  constructor({ path, url, onMessage, onOpen, onClose, onStatus, statusNode, base = 500, cap = 15000,
    silenceMs = 0, stopCodes = [] } = {}) {
    this.url = url || (() => `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${path}`);
    this.onMessage = onMessage || (() => {});
    this.onOpen = onOpen || (() => {});
    this.onClose = onClose || (() => {});
    this.onStatus = onStatus || null;
    this.statusNode = statusNode || null;
    this.backoff = { base, cap };
    this.silenceMs = silenceMs;        // close when nothing was heard this long (the server pings)
    this.stopCodes = new Set(stopCodes);  // close codes after which retrying cannot help
    this.ws = null;
    this.attempt = 0;
    this.retryTimer = null;
    this.silenceTimer = null;
    this.stopped = false;
    this.reconnects = 0;
  }

  get connected() { return Boolean(this.ws && this.ws.readyState === WebSocket.OPEN); }

  start() {
    if (this.stopped || (this.ws && this.ws.readyState <= WebSocket.OPEN)) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const ws = new WebSocket(typeof this.url === "function" ? this.url() : this.url);
    this.ws = ws;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.heard();
      this.status("ok", "已连接");
      this.onOpen(this);
    };
    ws.onmessage = (event) => {
      if (this.ws !== ws) return;
      this.heard();
      let message;
      try { message = JSON.parse(event.data); } catch (_) { return; }
      if (message && typeof message === "object") this.onMessage(message, this);
    };
    ws.onclose = (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      clearTimeout(this.silenceTimer);
      if (this.onClose(event, this) === false || this.stopCodes.has(event.code)) {
        this.stopped = true;
        this.status("stopped", "连接已结束，请刷新页面");
        return;
      }
      this.retry();
    };
    ws.onerror = () => { /* onclose follows */ };
  }

  // A frame arrived: the first good frame after a reconnect resets the backoff.
  settled() { this.attempt = 0; }

  retry() {
    if (this.stopped || this.retryTimer) return;
    this.attempt += 1;
    this.reconnects += 1;
    const delay = backoffDelay(this.attempt, this.backoff);
    this.status("bad", `重新连接中…（${Math.max(1, Math.ceil(delay / 1000))} 秒后重试）`);
    this.retryTimer = setTimeout(() => { this.retryTimer = null; this.start(); }, delay);
  }

  // Reconnect now (the page became visible again, the network came back).
  wake() {
    if (this.stopped || this.ws) return;
    this.attempt = 0;
    this.start();
  }

  // Drop this connection and take a fresh one: the server's first frame is the whole state.
  resync() {
    if (this.ws) this.ws.close(4000, "resync");
  }

  send(message) {
    if (!this.connected) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  close() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.silenceTimer);
    if (this.ws) { const ws = this.ws; this.ws = null; ws.close(1000, "bye"); }
  }

  heard() {
    if (!this.silenceMs) return;
    clearTimeout(this.silenceTimer);
    const ws = this.ws;
    this.silenceTimer = setTimeout(() => { if (ws && this.ws === ws) ws.close(4001, "silence"); }, this.silenceMs);
  }

  status(kind, text) {
    if (this.onStatus) this.onStatus(kind, text);
    if (this.statusNode) {
      this.statusNode.textContent = text;
      this.statusNode.className = `conn conn-${kind}`;
      this.statusNode.dataset.state = kind;
    }
  }
}

// Applies numbered ranges {from, to} in order. A range that starts after a gap waits a little for
// the missing one (instances publish out of order); if it does not come, `onGap` asks for a resync.
export class SequenceGate {
  constructor({ apply, onGap, waitMs = 1500 }) {
    this.apply = apply;
    this.onGap = onGap;
    this.waitMs = waitMs;
    this.seq = 0;
    this.pending = [];
    this.timer = null;
    this.gaps = 0;
  }

  reset(seq) {
    this.seq = seq;
    this.pending = [];
    clearTimeout(this.timer);
    this.timer = null;
  }

  offer(ranges) {
    this.pending = this.pending.concat(ranges).sort((a, b) => a.from - b.from);
    let progress = true;
    while (progress && this.pending.length) {
      progress = false;
      const waiting = [];
      for (const range of this.pending) {
        if (range.to <= this.seq) { progress = true; continue; }        // a repeat: already applied
        if (range.from > this.seq + 1) { waiting.push(range); continue; }  // a gap before it
        this.apply(range);
        this.seq = range.to;
        progress = true;
      }
      this.pending = waiting;
    }
    if (this.pending.length && !this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        if (this.pending.length) { this.gaps += 1; this.onGap(this.seq); }
      }, this.waitMs);
    } else if (!this.pending.length && this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }
}
