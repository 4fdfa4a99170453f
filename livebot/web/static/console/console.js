/* 问答工作台: the live question queue over one websocket.
 *
 * Protocol: the server sends {"type":"snapshot","seq",...} on (re)connect, then
 * {"type":"batch","ranges":[{"from","to","cards","asks"}],"chat":[...]} at most ~10 times a second.
 * A range applies only if it starts right after the last sequence number we hold; a gap waits
 * briefly for the missing range (instances may publish out of order) and then asks for a resync.
 * Chat text is untrusted: it is only ever put into the page with textContent.
 */
import { call } from "/static/js/api.js";
import { LiveSocket, SequenceGate } from "/static/js/live-socket.js";
import { toast } from "/static/js/toast.js";

{
  const root = document.getElementById("console");
  const config = JSON.parse(root.dataset.config);
  const ACTIVE = new Set(["open", "claimed", "escalated"]);
  const MAX_CHAT_LINES = 200;
  const MAX_RENDERED = 300;

  const state = {
    cards: new Map(), synced: false,
    selected: null, chosen: null, draftFor: null, elements: new Map(), order: [], lastTouch: 0,
    /* A queue that holds still: while the advisor points at the queue or works on a shown card,
       cards keep their places and arrivals that would land above wait in `held` ("N 条新问题"). */
    shown: [], held: new Set(), pointerIn: false, reveal: false, detailVersion: null,
  };

  const $ = (id) => document.getElementById(id);
  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function platformLabel(p) { return config.platforms[p] || p || "其他"; }
  function timeOf(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    return isNaN(d) ? "" : d.toLocaleTimeString("zh-CN", { hour12: false });
  }
  function pct(score) { return Math.round(Math.max(0, Math.min(1, Number(score) || 0)) * 100) + "%"; }
  function mine(card) { return card.status === "claimed" && card.claimed_by === config.me.name; }

  /* ───────── the alert beep ───────── */

  let audio = null;
  function unlockAudio() {
    if (!audio && (window.AudioContext || window.webkitAudioContext)) {
      audio = new (window.AudioContext || window.webkitAudioContext)();
    }
  }
  document.addEventListener("keydown", unlockAudio, { once: true });
  document.addEventListener("pointerdown", unlockAudio, { once: true });
  function beep() {
    if (!audio) return;
    const now = audio.currentTime;
    [0, 0.22].forEach((offset) => {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.type = "sine";
      osc.frequency.value = 880;
      gain.gain.setValueAtTime(0.0001, now + offset);
      gain.gain.exponentialRampToValueAtTime(0.25, now + offset + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + offset + 0.18);
      osc.connect(gain).connect(audio.destination);
      osc.start(now + offset);
      osc.stop(now + offset + 0.2);
    });
  }
  function urgent(card) { return ACTIVE.has(card.status) && (card.escalated || card.complaint || card.needs_human); }

  /* ───────── applying server state ───────── */

  /* ranges of card updates apply in sequence order; a gap that does not fill asks for a resync */
  const gate = new SequenceGate({
    apply: (range) => applyCards(range.cards, true),
    onGap: () => send({ type: "resync" }),
  });

  function applySnapshot(msg) {
    state.cards = new Map(msg.cards.map((c) => [c.id, c]));
    gate.reset(msg.seq);
    state.synced = true;
    state.elements.forEach((node) => node.remove());
    state.elements.clear();
    state.order = [];
    const chat = $("chat");
    chat.textContent = "";
    addChat(msg.chat || [], 0);
    scheduleRender();
  }

  function applyCards(cards, alert) {
    let ring = false;
    for (const card of cards) {
      const known = state.cards.get(card.id);
      if (known && known.version > card.version) continue;
      if (alert && urgent(card) && (!known || !urgent(known))) { ring = true; card._flash = Date.now(); }
      state.cards.set(card.id, card);
    }
    if (ring) beep();
  }

  function applyBatch(msg) {
    gate.offer(msg.ranges || []);
    addChat(msg.chat || [], msg.chat_skipped || 0);
    scheduleRender();
  }

  function addChat(lines, skipped) {
    const list = $("chat");
    const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 30;
    for (const line of lines) {
      const item = el("li", line.q ? "q" : "");
      item.appendChild(el("span", "badge pf-" + line.platform, platformLabel(line.platform)));
      item.appendChild(el("span", "who", line.user));
      item.appendChild(el("span", "", line.text));
      list.appendChild(item);
    }
    while (list.children.length > MAX_CHAT_LINES) list.firstChild.remove();
    $("chat-skipped").textContent = skipped ? `（消息较多，已略过 ${skipped} 条）` : "";
    if (atBottom) list.scrollTop = list.scrollHeight;
  }

  /* ───────── the websocket ───────── */

  const socket = new LiveSocket({
    path: `/ws/console/${config.session_id}`,
    statusNode: $("conn"),
    base: 400,
    onMessage(msg, ws) {
      if (msg.type === "snapshot") { ws.settled(); applySnapshot(msg); }
      else if (msg.type === "batch" && state.synced) applyBatch(msg);
    },
    onClose() { state.synced = false; },
  });
  const send = (msg) => socket.send(msg);

  /* ───────── filtering and rendering ───────── */

  function filters() {
    return {
      platform: $("f-platform").value, site: $("f-site").value, status: $("f-status").value,
      unanswered: $("f-unanswered").checked, human: $("f-human").checked,
      search: $("f-search").value.trim().toLowerCase(), order: $("f-order").value,
    };
  }

  function visible(card, f) {
    if (f.unanswered && !ACTIVE.has(card.status)) return false;
    if (f.status === "mine") { if (!mine(card)) return false; }
    else if (f.status && card.status !== f.status) return false;
    if (f.platform && !card.platforms.includes(f.platform)) return false;
    if (f.site && !card.site_ids.map(String).includes(f.site)) return false;
    if (f.human && !(card.needs_human || card.complaint || card.escalated)) return false;
    if (f.search) {
      const hay = (card.text + " " + card.askers.map((a) => a.user + " " + a.text).join(" ")).toLowerCase();
      if (!hay.includes(f.search)) return false;
    }
    return true;
  }

  function visibleCards() {
    const f = filters();
    const list = [...state.cards.values()].filter((c) => visible(c, f));
    list.sort((a, b) => (a.last_asked_at < b.last_asked_at ? -1 : a.last_asked_at > b.last_asked_at ? 1 : a.id - b.id));
    if (f.order === "new") list.reverse();
    return list.slice(0, MAX_RENDERED);
  }

  function flagsOf(card) {
    const flags = [];
    if (card.escalated && card.status !== "answered" && card.status !== "dismissed") flags.push(["flag flag-esc", "已升级" + (card.escalate_note ? "：" + card.escalate_note : "")]);
    if (card.needs_human) flags.push(["flag flag-human", "需人工"]);
    if (card.status === "claimed") flags.push(mine(card) ? ["flag flag-mine", "我已认领"] : ["flag flag-claim", `${card.claimed_by_name || card.claimed_by} 认领中`]);
    if (card.status === "answered") flags.push(["flag flag-done", `已由 ${card.answered_by_name || card.answered_by} 回答`]);
    if (card.status === "dismissed") flags.push(["flag flag-done", "已忽略"]);
    if (card.reply_status === "sent") flags.push(["flag flag-done", "已回复到群"]);
    if (card.reply_status === "on_air") flags.push(["flag flag-done", "已口播回答"]);
    if (card.reply_status === "pending" || card.reply_status === "retrying") flags.push(["flag flag-claim", card.reply_status === "retrying" ? "发送重试中" : "发送中"]);
    if (card.reply_status === "failed") flags.push(["flag flag-fail", "发送失败：" + card.reply_error]);
    if (card.featured) flags.push(["flag flag-feat", "★ 上屏中"]);
    return flags;
  }

  function buildCard(card) {
    const node = el("article", "");
    node.setAttribute("role", "option");
    node.dataset.id = card.id;
    node.addEventListener("click", () => select(card.id));
    fillCard(node, card);
    return node;
  }

  function fillCard(node, card) {
    node.className = `qcard st-${card.status}` + (mine(card) ? " mine" : "") + (card.id === state.selected ? " selected" : "") +
      (card._flash && Date.now() - card._flash < 3000 ? " flash" : "");
    node.dataset.version = card.version;
    node.textContent = "";
    const meta = el("div", "qmeta");
    for (const p of card.platforms) meta.appendChild(el("span", "badge pf-" + p, platformLabel(p)));
    if (card.sites.length) meta.appendChild(el("span", "site", card.sites.join("、")));
    if (card.segment) meta.appendChild(el("span", "segment", "环节：" + card.segment));
    const first = card.askers[0] || {};
    meta.appendChild(el("span", "user", first.user || ""));
    meta.appendChild(el("time", "", timeOf(card.last_asked_at)));
    if (card.ask_count > 1) meta.appendChild(el("span", "count", `×${card.ask_count}`));
    node.appendChild(meta);
    node.appendChild(el("div", "qtext", card.text));
    const flags = flagsOf(card);
    if (flags.length) {
      const box = el("div", "qflags");
      for (const [cls, text] of flags) box.appendChild(el("span", cls, text));
      node.appendChild(box);
    }
    if (card.suggestions.length && ACTIVE.has(card.status)) {
      const list = el("ol", "qsugs");
      card.suggestions.forEach((s, i) => {
        const item = el("li", "");
        item.appendChild(el("span", "key", i + 1));
        item.appendChild(el("span", "", s.question || s.id));
        item.appendChild(el("span", "score", " " + pct(s.score)));
        list.appendChild(item);
      });
      node.appendChild(list);
    }
  }

  let renderQueued = false;
  function scheduleRender() {
    if (renderQueued) return;
    renderQueued = true;
    requestAnimationFrame(() => { renderQueued = false; render(); });
  }

  function holding() {
    return state.shown.length > 0 && !state.reveal &&
      (state.pointerIn || (state.selected !== null && state.shown.includes(state.selected)));
  }

  /* The ids to show, in order: the live order when nobody is looking, else the shown order kept,
     with arrivals below the last shown card appended and those above held back. */
  function arrange(list) {
    const live = list.map((c) => c.id);
    if (!holding()) { state.reveal = false; state.held.clear(); return live; }
    const where = new Map(live.map((id, i) => [id, i]));
    const kept = state.shown.filter((id) => where.has(id));
    const known = new Set(kept);
    const last = kept.length ? Math.max(...kept.map((id) => where.get(id))) : -1;
    state.held.clear();
    for (const id of live) {
      if (known.has(id)) continue;
      if (where.get(id) > last) kept.push(id); else state.held.add(id);
    }
    return kept;
  }

  function revealNew() {
    if (!state.held.size) return;
    state.reveal = true;
    scheduleRender();
    $("queue").scrollTop = 0;
  }

  function render() {
    const byId = new Map(visibleCards().map((c) => [c.id, c]));
    const ids = arrange([...byId.values()]);
    state.shown = ids;
    const list = ids.map((id) => byId.get(id));
    const bar = $("new-bar");
    bar.classList.toggle("idle", state.held.size === 0);  /* its space is kept: showing it moves nothing */
    bar.disabled = state.held.size === 0;
    bar.textContent = `${state.held.size} 条新问题（n 查看）`;
    const container = $("queue");
    const keep = new Set(list.map((c) => c.id));
    for (const [id, node] of state.elements) {
      if (!keep.has(id)) { node.remove(); state.elements.delete(id); }
    }
    list.forEach((card, index) => {
      let node = state.elements.get(card.id);
      if (!node) { node = buildCard(card); state.elements.set(card.id, node); }
      else if (node.dataset.version !== String(card.version) || node.classList.contains("selected") !== (card.id === state.selected)) fillCard(node, card);
      if (container.children[index] !== node) container.insertBefore(node, container.children[index] || null);
    });
    state.order = list.map((c) => c.id);
    $("queue-empty").hidden = list.length > 0;
    let open = 0, mineCount = 0, esc = 0;
    for (const card of state.cards.values()) {
      if (card.status === "open") open += 1;
      if (mine(card)) mineCount += 1;
      if (card.status === "escalated") esc += 1;
    }
    $("count-open").textContent = open;
    $("count-mine").textContent = mineCount;
    $("count-esc").textContent = esc;
    renderFeatured();
    renderDetail();
  }

  function renderFeatured() {
    const featured = [...state.cards.values()].find((c) => c.featured);
    $("featured").hidden = !featured;
    $("featured-text").textContent = featured ? featured.text : "";
  }

  function selectedCard() { return state.selected === null ? null : state.cards.get(state.selected) || null; }

  function renderDetail() {
    const card = selectedCard();
    $("detail").hidden = !card;
    if (!card) return;
    if (state.draftFor !== card.id) {
      state.draftFor = card.id;
      state.chosen = null;
      $("d-answer").value = card.answer_text || "";
    }
    const meta = $("d-meta");
    meta.textContent = "";
    for (const p of card.platforms) meta.appendChild(el("span", "badge pf-" + p, platformLabel(p)));
    if (card.sites.length) meta.appendChild(el("span", "", card.sites.join("、")));
    if (card.segment) meta.appendChild(el("span", "", "环节：" + card.segment));
    meta.appendChild(el("span", "", `${card.ask_count} 人提问 · 首次 ${timeOf(card.first_asked_at)}`));
    state.detailVersion = card.version;
    $("d-text").textContent = card.text;
    $("d-reason").textContent = card.ask_count > 1 ? "合并依据：" + card.group_reason : "";
    const stateBox = $("d-state");
    stateBox.textContent = "";
    for (const [cls, text] of flagsOf(card)) stateBox.appendChild(el("span", cls, text));
    const sugs = $("d-sugs");
    sugs.textContent = "";
    card.suggestions.forEach((s, i) => {
      const item = el("li", state.chosen === i ? "chosen" : "");
      const head = el("div", "");
      head.appendChild(el("span", "key", i + 1));
      head.appendChild(el("span", "sq", s.question || s.id));
      head.appendChild(el("span", "score", " 置信度 " + pct(s.score) + (s.needs_human ? " · 需人工" : "")));
      item.appendChild(head);
      item.appendChild(el("div", "sa", s.answer));
      if (s.compliance === "warn") {
        const rules = (s.compliance_findings || []).map((f) => f.rule).join("、");
        item.appendChild(el("div", "finding sev-warn", `合规提醒（${rules}）：发送需资深顾问批准，或按建议修改`));
      }
      item.addEventListener("click", () => pick(i));
      sugs.appendChild(item);
    });
    const active = ACTIVE.has(card.status);
    const takenByOther = card.status === "claimed" && !mine(card);
    $("a-claim").disabled = !active || mine(card) || takenByOther;
    $("a-send").disabled = !active || takenByOther;
    $("a-dismiss").disabled = !active || takenByOther;
    $("a-escalate").disabled = !(card.status === "open" || mine(card));
    $("a-release").disabled = !(mine(card) || (card.status === "claimed" && config.me.admin));
    $("a-feature").disabled = card.status === "dismissed";
    $("a-retry").hidden = card.reply_status !== "failed";
    $("d-answer").disabled = !active && card.status !== "answered";
    $("d-askers-title").textContent = `提问的观众（${card.ask_count}）`;
    const askers = $("d-askers");
    askers.textContent = "";
    for (const a of card.askers) {
      const item = el("li", "");
      item.appendChild(el("span", "badge pf-" + a.platform, platformLabel(a.platform)));
      item.appendChild(el("span", "who", ` ${a.user}${a.site ? " · " + a.site : ""} ${timeOf(a.ts)}：`));
      item.appendChild(el("span", "", a.text));
      askers.appendChild(item);
    }
    if (card.ask_count > card.askers.length) askers.appendChild(el("li", "muted", `另有 ${card.ask_count - card.askers.length} 位观众`));
  }

  function select(id) {
    state.selected = id;
    scheduleRender();
    const node = state.elements.get(id);
    if (node) node.scrollIntoView({ block: "nearest" });
  }

  function move(step) {
    if (!state.order.length) return;
    let index = state.order.indexOf(state.selected);
    index = index < 0 ? 0 : Math.max(0, Math.min(state.order.length - 1, index + step));
    select(state.order[index]);
  }

  function pick(index) {
    const card = selectedCard();
    if (!card || !card.suggestions[index]) return;
    state.chosen = index;
    $("d-answer").value = card.suggestions[index].answer;
    renderDetail();
  }

  /* ───────── actions ───────── */

  async function post(path, body) {
    try {
      const data = await call("POST", path, body || {});
      if (data && data.card) { applyCards([data.card], false); scheduleRender(); }
      return data;
    } catch (error) {
      toast(error.message, "bad");
      throw error;
    }
  }

  const cardPath = (card, action) => `/api/v1/console/cards/${card.id}/${action}`;

  async function claim() {
    const card = selectedCard();
    if (!card) return;
    /* the version the advisor is looking at: the server refuses the claim if the card changed since */
    const version = state.detailVersion === null ? card.version : state.detailVersion;
    try { await post(cardPath(card, "claim"), { version }); toast("已认领", "ok"); } catch (e) { /* shown */ }
  }

  async function copyText(text) {
    try { await navigator.clipboard.writeText(text); return true; } catch (e) {
      const area = el("textarea", "");
      area.value = text;
      document.body.appendChild(area);
      area.select();
      const ok = document.execCommand && document.execCommand("copy");
      area.remove();
      return Boolean(ok);
    }
  }

  function showCompliance(data) {
    const box = $("d-compliance");
    if (!data || !data.compliance) { box.hidden = true; return; }
    const verdict = data.compliance.verdict;
    box.hidden = false;
    box.className = `compliance-box verdict-${verdict}`;
    $("d-compliance-title").textContent = verdict === "block"
      ? "合规拦截：此回答不能发送，请按建议修改"
      : (data.senior ? "合规提醒：您是资深顾问，可填写理由后批准发送" : `合规提醒：已提交资深顾问审核（编号 ${data.approval ? data.approval.id : "-"}），批准后可再次发送，或修改回答`);
    const list = $("d-compliance-findings");
    list.textContent = "";
    for (const f of data.compliance.findings) {
      const item = el("li", `finding sev-${f.severity}`);
      item.appendChild(el("b", "finding-rule", f.rule));
      item.appendChild(el("span", "finding-excerpt", ` “${f.excerpt}” `));
      item.appendChild(el("span", "finding-explanation", f.explanation));
      item.appendChild(el("div", "finding-rewording", `建议改为：${f.rewording}`));
      list.appendChild(item);
    }
    $("d-compliance-override").hidden = !(verdict === "warn" && data.senior);
  }

  async function sendAnswer(overrideReason) {
    const card = selectedCard();
    if (!card) return;
    const text = $("d-answer").value.trim();
    if (!text) { toast("请先选择推荐答案或填写回答", "bad"); return; }
    const body = { text };
    if (overrideReason) body.override_reason = overrideReason;
    if (state.chosen !== null && card.suggestions[state.chosen]) body.suggestion = state.chosen + 1;
    try {
      const data = await post(cardPath(card, "answer"), body);
      if (data.copy) {
        const copied = await copyText(text);
        toast(copied ? "该平台不支持机器人回复：答案已复制，请在直播中口播回答" : "请在直播中口播回答", "ok");
      } else {
        toast("已发送回复", "ok");
      }
      showCompliance(null);
      move(1);
    } catch (e) { showCompliance(e.data); }
  }

  async function feature() {
    const card = selectedCard();
    if (!card) return;
    const answer = $("d-answer").value.trim();
    try { await post(cardPath(card, "feature"), answer ? { answer } : {}); toast("已上屏：主画面（program）叠加显示，“精选问答”画面（featured）同步显示", "ok"); showCompliance(null); } catch (e) { showCompliance(e.data); }
  }

  async function simple(action, done, body) {
    const card = selectedCard();
    if (!card) return;
    try { await post(cardPath(card, action), body); if (done) toast(done, "ok"); } catch (e) { /* shown */ }
  }

  async function openCase() {
    const card = selectedCard();
    if (!card) return;
    try {
      const data = await post("/api/v1/cases", { card_id: card.id });
      toast(`已开跟进单 #${data.case.id}（${data.case.category_label}），可在「跟进单」页处理`, "ok");
    } catch (e) { /* shown */ }
  }

  async function clearFeatured() {
    try { await post(`/api/v1/sessions/${config.session_id}/featured/clear`); toast("已下屏", "ok"); } catch (e) { /* shown */ }
  }

  /* ───────── keyboard ───────── */

  function typing(target) {
    return target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT" || target.isContentEditable);
  }

  document.addEventListener("keydown", (event) => {
    if (event.isComposing) return;
    if (typing(event.target)) {
      if (event.key === "Escape") event.target.blur();
      if (event.target.id === "d-answer" && event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); sendAnswer(); }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const actions = {
      j: () => move(1), k: () => move(-1), c: claim, n: revealNew, Enter: sendAnswer, f: feature,
      d: () => simple("dismiss", "已忽略"), e: () => simple("escalate", "已升级给资深顾问"), r: () => simple("release", "已释放"), o: openCase,
      "1": () => pick(0), "2": () => pick(1), "3": () => pick(2),
      "/": () => $("f-search").focus(), "?": () => { $("help").hidden = !$("help").hidden; },
    };
    const action = actions[event.key];
    if (action) { event.preventDefault(); action(); }
  });

  /* ───────── wiring ───────── */

  for (const [value, label] of Object.entries(config.platforms)) $("f-platform").appendChild(Object.assign(el("option", "", label), { value }));
  for (const site of config.sites) $("f-site").appendChild(Object.assign(el("option", "", site.name), { value: String(site.id) }));
  $("filters").addEventListener("submit", (event) => event.preventDefault());
  /* a filter or order the advisor chose re-sorts the whole queue, held arrivals included */
  const refilter = () => { state.reveal = true; scheduleRender(); };
  for (const id of ["f-platform", "f-site", "f-status", "f-unanswered", "f-human", "f-order"]) $(id).addEventListener("change", refilter);
  $("f-search").addEventListener("input", refilter);
  $("new-bar").addEventListener("click", revealNew);
  const queueBox = document.querySelector(".queue");
  queueBox.addEventListener("pointerenter", () => { state.pointerIn = true; });
  queueBox.addEventListener("pointerleave", () => { state.pointerIn = false; scheduleRender(); });
  $("a-claim").addEventListener("click", claim);
  $("a-send").addEventListener("click", () => sendAnswer());
  $("a-override").addEventListener("click", () => {
    const reason = $("d-override-reason").value.trim();
    if (!reason) { toast("请填写批准理由", "bad"); return; }
    sendAnswer(reason);
  });
  $("a-feature").addEventListener("click", feature);
  $("a-dismiss").addEventListener("click", () => simple("dismiss", "已忽略"));
  $("a-escalate").addEventListener("click", () => simple("escalate", "已升级给资深顾问"));
  $("a-release").addEventListener("click", () => simple("release", "已释放"));
  $("a-case").addEventListener("click", openCase);
  $("a-retry").addEventListener("click", () => simple("retry", "已重新排队发送"));
  $("featured-clear").addEventListener("click", clearFeatured);
  $("help-toggle").addEventListener("click", () => { $("help").hidden = !$("help").hidden; });
  $("d-answer").addEventListener("input", () => {
    const card = selectedCard();
    if (card && mine(card) && Date.now() - state.lastTouch > 5000) { state.lastTouch = Date.now(); send({ type: "touch", card: card.id }); }
  });
  /* for tests and the curious: read-only use please */
  window.liveConsole = Object.assign(state, { gate, socket });
  socket.start();
}
