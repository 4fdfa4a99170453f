// War room: re-fetch the server-rendered panel every few seconds (no chart library, no external requests).
import { backoffDelay } from "/static/js/backoff.js";

const panel = document.getElementById("panel");
const updated = document.getElementById("updated");
if (panel) {
  const url = panel.getAttribute("data-panel-url");
  const interval = parseInt(panel.getAttribute("data-interval"), 10) || 5000;
  let failures = 0;
  let timer = null;

  const schedule = (delay) => {
    clearTimeout(timer);
    timer = setTimeout(refresh, delay);
  };

  async function refresh() {
    if (document.hidden) { schedule(interval); return; }
    try {
      const resp = await fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" }, cache: "no-store" });
      if (resp.status === 401 || resp.redirected) { window.location.reload(); return; }
      if (!resp.ok) throw new Error(`HTTP ${resp.status}`);
      panel.innerHTML = await resp.text();  // rendered and escaped by the server
      const kpis = panel.querySelector("[data-updated]");
      if (updated && kpis) updated.textContent = `更新于 ${kpis.getAttribute("data-updated")}`;
      failures = 0;
      schedule(interval);
    } catch (_) {
      failures += 1;
      if (updated) updated.textContent = "重新连接中…";
      schedule(backoffDelay(failures + 1, { base: interval, cap: 60000, jitter: 0.4 }));
    }
  }

  document.addEventListener("visibilitychange", () => { if (!document.hidden) schedule(0); });
  schedule(interval);
}
