// Live producer console: shared clock, on-air/next segment with countdown, cues with per-site
// acknowledgements, mode switch and notes. One websocket per console; the server sends the whole
// state on open and then every change of the session from any site.
import { call } from "/static/js/api.js";
import { LiveSocket } from "/static/js/live-socket.js";
import { toast } from "/static/js/toast.js";

const root = document.getElementById("live");
const sessionId = parseInt(root.dataset.session, 10);
const hereId = root.dataset.site ? parseInt(root.dataset.site, 10) : null;
const names = JSON.parse(document.getElementById("names").textContent);
const $ = (id) => document.getElementById(id);

const state = { session: null, sites: [], cues: [], notes: [] };
let offset = 0; // server time - local time, ms
const samples = [];

const timeFormat = new Intl.DateTimeFormat("zh-CN", { timeZone: "Asia/Shanghai", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
const shortFormat = new Intl.DateTimeFormat("zh-CN", { timeZone: "Asia/Shanghai", hour: "2-digit", minute: "2-digit", hour12: false });

function serverNow() { return Date.now() + offset; }

function mmss(ms) {
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
  const pad = (n) => String(n).padStart(2, "0");
  return h ? `${h}:${pad(m)}:${pad(s)}` : `${pad(m)}:${pad(s)}`;
}

function siteName(id) {
  const site = state.sites.find((s) => s.id === id);
  return site ? site.name : "—";
}

function shortName(name) {
  for (const suffix of ["演播厅", "工厂", "牧场", "实验室", "检测中心"]) {
    if (name.endsWith(suffix) && name.length > suffix.length) return name.slice(0, -suffix.length);
  }
  return name;
}

function segments() { return state.session ? state.session.segments : []; }
function currentSegment() { return segments().find((s) => s.id === state.session.current_segment_id) || null; }
function nextSegment() {
  const list = segments();
  const current = currentSegment();
  if (!current) return list[0] || null;
  const index = list.findIndex((s) => s.id === current.id);
  return list[index + 1] || null;
}

// ---- clock sync: NTP-style, keep the sample with the shortest round trip --------------------

function ping() { socket.send({ type: "ping", t: Date.now() }); }

function onPong(message) {
  if (typeof message.t !== "number") return;
  const now = Date.now();
  const rtt = now - message.t;
  samples.push({ rtt, offset: message.server_time + rtt / 2 - now });
  if (samples.length > 8) samples.shift();
  const best = samples.reduce((a, b) => (b.rtt < a.rtt ? b : a));
  offset = best.offset;
  const sign = offset >= 0 ? "+" : "−";
  $("drift").textContent = `本机时钟偏差 ${sign}${Math.abs(Math.round(offset))} 毫秒 · 往返 ${Math.round(best.rtt)} 毫秒`;
}

// ---- rendering -----------------------------------------------------------------------------

function renderTick() {
  const now = serverNow();
  $("clock").textContent = timeFormat.format(new Date(now));
  if (!state.session) return;
  const current = currentSegment();
  const countdown = $("countdown");
  const progress = $("progress");
  if (current && state.session.segment_started_at) {
    const started = Date.parse(state.session.segment_started_at);
    const left = started + current.duration_s * 1000 - now;
    countdown.textContent = left >= 0 ? `剩余 ${mmss(left)}` : `超时 +${mmss(-left)}`;
    countdown.classList.toggle("over", left < 0);
    progress.classList.toggle("over", left < 0);
    progress.firstElementChild.style.width = `${Math.min(100, (100 * (now - started)) / (current.duration_s * 1000))}%`;
    const next = nextSegment();
    if (next) {
      const at = started + (next.offset_s - current.offset_s) * 1000;
      $("next-when").textContent = state.session.mode === "auto"
        ? `计划 ${shortFormat.format(new Date(at))} 自动切换（还有 ${mmss(at - now)}）`
        : `手动模式：到点请按“立即切到下一段”（计划 ${shortFormat.format(new Date(at))}）`;
    }
  } else if (state.session.status === "scheduled") {
    const start = Date.parse(state.session.planned_start);
    countdown.textContent = start > now ? `距开播 ${mmss(start - now)}` : "等待开播";
    countdown.classList.remove("over");
  } else {
    countdown.textContent = state.session.status === "ended" ? "已结束" : "--:--";
  }
}

function renderSession() {
  const s = state.session;
  $("session-status").textContent = names.statuses[s.status] || s.status;
  $("session-status").className = `badge ${s.status}`;
  const current = currentSegment();
  $("onair-site").textContent = s.on_air_site_id ? siteName(s.on_air_site_id) : "—";
  $("current-title").textContent = current ? current.title : (s.status === "live" ? "（段间）" : "未开播");
  $("current-scene").textContent = current ? `画面：${names.scenes[current.scene] || current.scene}` : "";
  $("current-lot").textContent = current && current.lot ? ` · 批次 ${current.lot}` : "";
  $("current-points").textContent = current ? current.talking_points : "";
  const next = nextSegment();
  $("next-title").textContent = next ? `${next.title}（${siteName(next.site_id)}）` : "没有下一段";
  if (!next) $("next-when").textContent = "";
  $("mode-auto").classList.toggle("on", s.mode === "auto");
  $("mode-manual").classList.toggle("on", s.mode === "manual");
  const list = $("rundown");
  list.replaceChildren();
  let passed = Boolean(current);
  const currentIndex = current ? segments().findIndex((g) => g.id === current.id) : -1;
  segments().forEach((seg, index) => {
    const li = document.createElement("li");
    if (current && seg.id === current.id) li.className = "current";
    else if (passed && index < currentIndex) li.className = "done";
    const t = document.createElement("span");
    t.className = "t";
    t.textContent = mmss(seg.offset_s * 1000);
    const title = document.createElement("span");
    title.textContent = `${seg.title} · ${siteName(seg.site_id)}`;
    li.append(t, title);
    list.appendChild(li);
  });
  renderTick();
}

function renderCues() {
  const box = $("cues");
  box.replaceChildren();
  if (!state.cues.length) {
    const p = document.createElement("p");
    p.className = "muted";
    p.textContent = "暂无提示。";
    box.appendChild(p);
    return;
  }
  [...state.cues].reverse().slice(0, 5).forEach((cue) => {
    const acked = new Set(cue.acks.map((a) => a.site_id));
    const complete = (cue.expects || []).every((id) => acked.has(id));
    const card = document.createElement("div");
    card.className = `cue ${complete ? "complete" : "pending"}`;
    card.dataset.cue = cue.cue_id;
    const label = document.createElement("div");
    label.className = "cue-label";
    label.textContent = cue.label;
    const meta = document.createElement("div");
    meta.className = "muted-small";
    meta.textContent = `${cue.by} · ${shortFormat.format(new Date(Date.parse(cue.at)))}${cue.from_site_id ? " · 来自" + siteName(cue.from_site_id) : ""}`;
    const chips = document.createElement("div");
    chips.className = "acks";
    (cue.expects || []).forEach((id) => {
      const chip = document.createElement("span");
      const ack = cue.acks.find((a) => a.site_id === id);
      chip.className = `ack${ack ? " done" : ""}`;
      chip.dataset.site = id;
      chip.textContent = ack ? `✓ ${ack.text || shortName(siteName(id)) + "已就位"}` : `等待 ${shortName(siteName(id))}`;
      chips.appendChild(chip);
    });
    const actions = document.createElement("div");
    actions.className = "row";
    if (hereId && !acked.has(hereId) && (cue.expects || []).includes(hereId)) {
      const ok = document.createElement("button");
      ok.className = "small";
      ok.textContent = `${shortName(siteName(hereId))}已就位`;
      ok.dataset.ack = cue.cue_id;
      ok.addEventListener("click", () => send({ type: "ack", cue_id: cue.cue_id, site_id: hereId }));
      actions.appendChild(ok);
    }
    if (cue.cue === "next_segment" || cue.cue === "switch_site") {
      const go = document.createElement("button");
      go.className = "small secondary";
      go.textContent = "执行切换";
      go.dataset.execute = cue.cue_id;
      go.addEventListener("click", () => send({ type: "execute", cue_id: cue.cue_id }));
      actions.appendChild(go);
    }
    card.append(label, meta, chips, actions);
    box.appendChild(card);
  });
}

// A cue leaves the console once the show has moved past it (mirrors live.cue_open on the server).
function cueOpen(cue) {
  const ids = segments().map((g) => g.id);
  const current = ids.indexOf(state.session.current_segment_id);
  if (cue.cue === "next_segment") return ids.indexOf(cue.segment_id) > current;
  return !("at_segment_id" in cue) || cue.at_segment_id === state.session.current_segment_id;
}

function dropPassedCues() { state.cues = state.cues.filter(cueOpen); }

function renderNotes() {
  const box = $("notes");
  box.replaceChildren();
  state.notes.slice(-50).forEach((note) => {
    const row = document.createElement("div");
    row.className = "note";
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = note.site_name || note.by;
    const text = document.createElement("span");
    text.textContent = note.text;
    const when = document.createElement("span");
    when.className = "when";
    when.textContent = shortFormat.format(new Date(Date.parse(note.at)));
    row.append(who, text, when);
    box.appendChild(row);
  });
  box.scrollTop = box.scrollHeight;
}

function renderAll() { renderSession(); renderCues(); renderNotes(); }

// ---- messages ------------------------------------------------------------------------------

async function refresh() {
  try { Object.assign(state, await call("GET", `/api/v1/schedule/sessions/${sessionId}/live`)); renderAll(); } catch (_) { /* the next hello resyncs */ }
}

const handlers = {
  hello(m) { Object.assign(state, m.state); renderAll(); },
  pong: onPong,
  segment(m) {
    const seg = m.segment;
    const list = state.session.segments;
    const index = list.findIndex((s) => s.id === seg.id);
    if (index >= 0) list[index] = seg;
    state.session.current_segment_id = seg.id;
    state.session.segment_started_at = m.started_at;
    state.session.on_air_site_id = m.on_air_site_id;
    dropPassedCues();
    renderSession();
    renderCues();
  },
  site(m) { state.session.on_air_site_id = m.site_id; renderSession(); },
  mode(m) { state.session.mode = m.mode; renderSession(); },
  status() { refresh(); },
  cue(m) { state.cues.push({ ...m, acks: [] }); renderCues(); },
  ack(m) {
    const cue = state.cues.find((c) => c.cue_id === m.cue_id);
    if (cue && !cue.acks.some((a) => a.site_id === m.site_id)) cue.acks.push(m);
    renderCues();
  },
  note(m) { state.notes.push(m); renderNotes(); },
  reminder(m) { toast(`开播提醒：${m.title} 还有 ${m.lead.replace("h", " 小时").replace("min", " 分钟")}`); },
  job(m) {
    if (m.outcome === "missed" || m.outcome === "failed") toast(`定时任务${m.outcome === "missed" ? "错过" : "失败"}：${m.detail}`, "bad");
    if (m.kind === "segment" && m.outcome === "missed") refresh();
  },
  error(m) {
    toast(m.error, "bad");
    // the server refused a switch the show has moved past: going back takes an explicit confirmation
    if (m.go_back && m.request === "execute" && window.confirm(`${m.error}\n\n确认回到该处吗？`)) {
      send({ type: "execute", cue_id: m.cue_id, go_back: true });
    }
  },
};

const socket = new LiveSocket({
  path: `/ws/producer/${sessionId}`,
  statusNode: $("conn"),
  onOpen() { ping(); setTimeout(ping, 300); setTimeout(ping, 900); },
  onMessage(message, ws) {
    if (message.type === "hello") ws.settled();
    const handler = handlers[message.type];
    if (handler) handler(message);
  },
});

function send(message) {
  if (!socket.send(message)) toast("连接已断开，正在重新连接…", "bad");
}

// ---- controls ------------------------------------------------------------------------------

$("cue-next").addEventListener("click", () => send({ type: "cue", cue: "next_segment", from_site_id: hereId }));
$("go-next").addEventListener("click", () => send({ type: "advance" }));
$("cue-site").addEventListener("click", () => send({ type: "cue", cue: "switch_site", site_id: parseInt($("site-target").value, 10), from_site_id: hereId }));
$("go-site").addEventListener("click", () => send({ type: "site", site_id: parseInt($("site-target").value, 10) }));
document.querySelectorAll("[data-mode]").forEach((b) => b.addEventListener("click", () => send({ type: "mode", mode: b.dataset.mode })));
$("site-picker").addEventListener("change", (e) => { location.search = `?site=${encodeURIComponent(e.target.value)}`; });
$("note-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = $("note-text");
  if (!input.value.trim()) return;
  send({ type: "note", text: input.value, site_id: hereId });
  input.value = "";
});

socket.start();
setInterval(renderTick, 250);
setInterval(ping, 10000);
