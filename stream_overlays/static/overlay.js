/* The one overlay client: websocket state, heartbeat answers and text-only rendering; the shared
 * LiveSocket reconnects. Everything that reaches the screen goes through textContent: chat text is hostile. */
import { LiveSocket } from "/static/js/live-socket.js";

{
  const body = document.body;
  const sessionId = body.dataset.session;
  const pageScene = body.dataset.scene;
  const program = pageScene === "program";
  const heartbeat = Number(body.dataset.heartbeat) || 20;
  const token = new URLSearchParams(location.search).get("token");
  const PLATFORMS = JSON.parse(document.getElementById("platforms").textContent);  // livebot/platforms' labels
  const parts = {};
  document.querySelectorAll("[data-part]").forEach((node) => { parts[node.dataset.part] = node; });

  let state = {};
  let skew = 0;
  let offlineTimer = null;

  // ---- text helpers -------------------------------------------------------------------------
  const el = (tag, cls, text) => {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  };
  const setField = (root, name, value) => {
    root.querySelectorAll(`[data-field="${name}"]`).forEach((node) => {
      node.textContent = value === undefined || value === null ? "" : String(value);
    });
  };
  const list = (root, name) => root.querySelector(`[data-list="${name}"]`);
  const serverNow = () => Date.now() + skew;
  const pulse = (node) => { node.classList.remove("changed"); void node.offsetWidth; node.classList.add("changed"); };

  // ---- visibility: a part shows when it has data and (on the program page) is the chosen scene --
  const hasData = {};
  const refreshVisibility = () => {
    const chosen = (state.scene && state.scene.scene) || "batch";
    // the program output composes a featured Q&A over whatever scene is on air
    const composing = program && chosen !== "featured" && Boolean(hasData.featured);
    body.classList.toggle("composed", composing);
    body.dataset.chosen = chosen;
    Object.entries(parts).forEach(([name, node]) => {
      const wanted = !program || node.dataset.always === "1" || node.dataset.sceneOf === chosen || name === "featured";
      node.classList.toggle("on", Boolean(hasData[name]) && wanted);
    });
  };
  const mark = (name, ok) => { hasData[name] = ok; };

  // ---- renderers, one per part --------------------------------------------------------------
  const renderers = {
    batch(batch) {
      const node = parts.batch;
      if (!node) return;
      mark("batch", Boolean(batch && batch.lot));
      if (!batch || !batch.lot) return;
      const card = batch.card || {};
      node.classList.toggle("missing", !batch.found);
      setField(node, "missing", batch.found ? "" : `批次 ${batch.lot} 暂无溯源数据`);
      setField(node, "product", batch.found ? card.product : "批次溯源");
      ["lot", "farm", "milking_date", "plant", "production_date", "expiry_date", "inspections"].forEach((key) => {
        setField(node, key, card[key]);
      });
      pulse(node);
    },
    chain(batch) {
      const node = parts.chain;
      if (!node) return;
      const chain = batch && batch.found ? batch.chain : null;
      mark("chain", Boolean(chain));
      if (!chain) return;
      setField(node, "headline", chain.headline);
      node.classList.toggle("broken", chain.met === false);
      const ol = list(node, "steps");
      ol.replaceChildren(...chain.steps.map((step, index) => {
        const li = el("li", `step${step.done ? " done" : ""}`);
        li.append(el("span", "dot", index + 1), el("span", "label", step.label), el("span", "time", step.time || "—"),
          el("span", "detail", step.detail));
        return li;
      }));
      pulse(node);
    },
    inspections(batch) {
      const node = parts.inspections;
      if (!node) return;
      const checks = batch && batch.found ? batch.inspections : null;
      mark("inspections", Boolean(checks && checks.total));
      if (!checks || !checks.total) return;
      setField(node, "summary", `${checks.passed}/${checks.total} 项检验合格`);
      node.classList.toggle("many", checks.items.length > 6);  // two columns keep 12 rows on screen
      list(node, "items").replaceChildren(...checks.items.map((row) => {
        const li = el("li", `row${row.passed ? "" : " fail"}`);
        const value = el("span", "value", row.value);
        if (row.limit) value.append(el("span", "limit", `标准 ${row.limit}`));
        li.append(el("span", "mark", row.passed ? "✓" : "✗"), el("span", "item", row.item), value);
        return li;
      }));
      pulse(node);
    },
    ingredients(batch) {
      const node = parts.ingredients;
      if (!node) return;
      const found = batch && batch.found ? batch.ingredients : null;
      mark("ingredients", Boolean(found && found.total));
      if (!found || !found.total) return;
      setField(node, "summary", `${found.total} 种配料批次`);
      list(node, "items").replaceChildren(...found.items.map((row) => {
        const li = el("li", `row${row.passed ? "" : " unknown"}`);
        const value = el("span", "value", row.source);
        value.append(el("span", "limit", `批次 ${row.lot} · ${row.checks}`));
        li.append(el("span", "mark", row.passed ? "✓" : "·"), el("span", "item", row.name), value);
        return li;
      }));
      pulse(node);
    },
    shipping(batch) {
      const node = parts.shipping;
      if (!node) return;
      const path = batch && batch.found ? batch.shipping : null;
      mark("shipping", Boolean(path));
      if (!path) return;
      setField(node, "headline", path.shipped ? "已出厂发货" : "发货数据 暂无");
      list(node, "steps").replaceChildren(...path.steps.map((step, index) => {
        const li = el("li", `step${step.done ? " done" : ""}`);
        li.append(el("span", "dot", index + 1), el("span", "label", step.label), el("span", "time", step.time || "—"),
          el("span", "detail", step.detail));
        return li;
      }));
      pulse(node);
    },
    telemetry(telemetry) {
      const node = parts.telemetry;
      if (!node) return;
      mark("telemetry", Boolean(telemetry));
      if (!telemetry) return;
      setField(node, "plant", telemetry.plant || "生产车间");
      setField(node, "empty", telemetry.readings.length ? "" : "暂无实时数据");
      list(node, "readings").replaceChildren(...telemetry.readings.map((reading) => {
        const li = el("li", `tile${reading.stale ? " stale" : ""}`);
        const label = el("span", "label", reading.label);
        label.append(el("span", "stale-badge", "数据延迟"));
        const value = el("span", "value", reading.value);
        value.append(el("span", "unit", reading.unit));
        li.append(label, value, el("span", "at", reading.stale ? `最后更新 ${reading.at}` : `${reading.at} 更新`));
        return li;
      }));
    },
    site(site) {
      const node = parts.site;
      if (!node) return;
      mark("site", Boolean(site));
      if (!site) return;
      setField(node, "name", site.name);
      setField(node, "lower_third", site.lower_third);
      setField(node, "coords", site.coords);
      setField(node, "zone_label", site.timezone === "Asia/Shanghai" ? "北京时间" : "当地时间");
      tickClock();
      pulse(node);
    },
    featured(featured) {
      const node = parts.featured;
      if (!node) return;
      mark("featured", Boolean(featured));
      if (!featured) return;
      setField(node, "question", featured.question);
      setField(node, "answer", featured.answer);
      setField(node, "asker", featured.asker ? `${featured.asker} 提问` : "观众提问");
      setField(node, "platform", PLATFORMS[featured.platform] || "");
      pulse(node);
    },
    ticker(ticker) {
      const node = parts.ticker;
      if (!node) return;
      const items = ticker && ticker.enabled ? ticker.items : [];
      mark("ticker", items.length > 0);
      const track = list(node, "items");
      const make = (item) => {
        const span = el("span", "ticker-item");
        span.append(el("span", "who", [item.user, PLATFORMS[item.platform]].filter(Boolean).join(" · ")), item.text);
        return span;
      };
      // Two copies make the scroll seamless; the speed follows the amount of text.
      track.replaceChildren(...items.map(make), ...items.map(make));
      const chars = items.reduce((sum, item) => sum + item.text.length + 8, 0);
      track.style.setProperty("--ticker-seconds", `${Math.max(12, Math.round(chars * 0.32))}s`);
    },
    stats(stats) {
      const node = parts.stats;
      if (!node) return;
      mark("stats", Boolean(stats));
      if (!stats) return;
      setField(node, "viewers", stats.viewers === null || stats.viewers === undefined ? "—" : bigNumber(stats.viewers));
      setField(node, "comments_per_min", bigNumber(stats.comments_per_min || 0));
      ["positive", "neutral", "negative"].forEach((label) => {
        const share = Math.max(0, Math.min(1, Number(stats[label]) || 0));
        node.querySelector(`[data-bar="${label}"]`).style.width = `${(share * 100).toFixed(1)}%`;
        setField(node, label, `${Math.round(share * 100)}%`);
      });
    },
    countdown(countdown) {
      const node = parts.countdown;
      if (!node) return;
      mark("countdown", Boolean(countdown && countdown.ends_at));
      if (!countdown) return;
      setField(node, "title", countdown.title || "下一环节");
      tickCountdown();
      pulse(node);
    },
    scene() { /* visibility only */ },
    session() {},
  };
  const bigNumber = (n) => (n >= 10000 ? `${(n / 10000).toFixed(1)}万` : String(n));
  // Server parts and the renderers each feeds (the batch part carries card, chain and checklist).
  const PART_RENDERERS = { batch: ["batch", "chain", "inspections", "ingredients", "shipping"] };
  const SERVER_PARTS = ["scene", "session", "batch", "telemetry", "site", "featured", "ticker", "stats", "countdown"];

  const render = (names) => {
    names.forEach((name) => {
      (PART_RENDERERS[name] || [name]).forEach((renderer) => {
        if (renderers[renderer]) renderers[renderer](state[name]);
      });
    });
    refreshVisibility();
  };

  // ---- clocks (re-rendered every second; throttled tabs just tick less often) ----------------
  const formatters = {};
  const tickClock = () => {
    const site = state.site;
    if (!site || !parts.site) return;
    let format = formatters[site.timezone];
    if (!format) {
      try {
        format = new Intl.DateTimeFormat("zh-CN", { timeZone: site.timezone, hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
      } catch (err) {
        format = new Intl.DateTimeFormat("zh-CN", { timeZone: "Asia/Shanghai", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
      }
      formatters[site.timezone] = format;
    }
    setField(parts.site, "clock", format.format(new Date(serverNow())));
  };
  const tickCountdown = () => {
    const countdown = state.countdown;
    if (!countdown || !countdown.ends_at || !parts.countdown) return;
    const left = Math.round((Date.parse(countdown.ends_at) - serverNow()) / 1000);
    if (left <= 0) { setField(parts.countdown, "remaining", "即将开始"); return; }
    const h = Math.floor(left / 3600);
    const m = Math.floor((left % 3600) / 60);
    const s = left % 60;
    const two = (n) => String(n).padStart(2, "0");
    setField(parts.countdown, "remaining", h ? `${h}:${two(m)}:${two(s)}` : `${two(m)}:${two(s)}`);
  };
  setInterval(() => { tickClock(); tickCountdown(); }, 1000);

  // ---- the websocket ------------------------------------------------------------------------
  const socketUrl = () => {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const query = token === null ? "" : `?token=${encodeURIComponent(token)}`;
    return `${scheme}//${location.host}/ws/overlay/${sessionId}${query}`;
  };

  const onMessage = (msg, socket) => {
    if (msg.t === "ping") {
      // Answer at once, from the message handler: OBS throttles timers, not socket events.
      socket.send({ t: "pong", n: msg.n });
      if (msg.now) skew = msg.now - Date.now();
      return;
    }
    if (msg.t === "snapshot") {
      socket.settled();
      if (msg.now) skew = msg.now - Date.now();
      state = msg.parts || {};
      setOnline(true);
      render(SERVER_PARTS);
      return;
    }
    if (msg.t === "patch") {
      Object.assign(state, msg.parts);
      render(Object.keys(msg.parts));
    }
  };

  const setOnline = (online) => {
    clearTimeout(offlineTimer);
    if (online) { body.classList.remove("offline"); body.dataset.connected = "1"; return; }
    body.dataset.connected = "0";
    // A short blip is not worth greying the screen; a real outage is.
    offlineTimer = setTimeout(() => body.classList.add("offline"), 15000);
  };

  // The server pings every heartbeat; two missed pings plus slack means the link is dead.
  const socket = new LiveSocket({
    url: socketUrl,
    onMessage,
    base: 500,
    cap: 30000,
    silenceMs: (heartbeat * 2 + 5) * 1000,
    onClose(event) {
      setOnline(false);
      if (event.code === 4403) {  // token rotated: a new URL is needed, and the old frame must not stay on air
        Object.values(parts).forEach((node) => node.classList.remove("on"));
        return false;
      }
      return true;
    },
  });

  // When OBS shows the source again (or the tab becomes visible), reconnect now instead of waiting.
  const wakeUp = (visible) => { if (visible) socket.wake(); };
  window.addEventListener("obsSourceVisibleChanged", (event) => wakeUp(Boolean(event.detail && event.detail.visible)));
  window.addEventListener("obsSourceActiveChanged", (event) => wakeUp(Boolean(event.detail && event.detail.active)));
  document.addEventListener("visibilitychange", () => wakeUp(document.visibilityState === "visible"));
  window.addEventListener("online", () => wakeUp(true));

  window.livebotOverlay = { state: () => state, connected: () => socket.connected, socket };
  socket.start();
}
