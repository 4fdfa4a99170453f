// War room: re-fetch the server-rendered panel every few seconds (no chart library, no external requests).
(function () {
  "use strict";
  var panel = document.getElementById("panel");
  var updated = document.getElementById("updated");
  if (!panel) { return; }
  var url = panel.getAttribute("data-panel-url");
  var interval = parseInt(panel.getAttribute("data-interval"), 10) || 5000;
  var failures = 0;
  var timer = null;

  function schedule(delay) {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(refresh, delay);
  }

  function refresh() {
    if (document.hidden) { schedule(interval); return; }
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" }, cache: "no-store" })
      .then(function (resp) {
        if (resp.status === 401 || resp.redirected) { window.location.reload(); throw new Error("logged out"); }
        if (!resp.ok) { throw new Error("HTTP " + resp.status); }
        return resp.text();
      })
      .then(function (html) {
        panel.innerHTML = html;  // rendered and escaped by the server
        var kpis = panel.querySelector("[data-updated]");
        if (updated && kpis) { updated.textContent = "更新于 " + kpis.getAttribute("data-updated"); }
        failures = 0;
        schedule(interval);
      })
      .catch(function () {
        failures += 1;
        if (updated) { updated.textContent = "连接中断，正在重试…"; }
        schedule(Math.min(interval * Math.pow(2, failures), 60000) * (0.8 + Math.random() * 0.4));
      });
  }

  document.addEventListener("visibilitychange", function () { if (!document.hidden) { schedule(0); } });
  schedule(interval);
}());
