// Report page: "标错了" on a comment lets the user pick the right sentiment; the correction is posted with the
// session's CSRF token. Chat text is never touched here (the server rendered and escaped it); only labels change.
(function () {
  "use strict";
  var section = document.getElementById("sentiment-messages");
  if (!section) { return; }
  var url = section.getAttribute("data-url");
  var status = document.getElementById("correction-status");
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.content : "";
  var NAMES = { positive: "正面", neutral: "中性", negative: "负面" };

  function say(text) { if (status) { status.textContent = text; } }

  function save(row, label) {
    var id = parseInt(row.getAttribute("data-message-id"), 10);
    fetch(url, {
      method: "POST", credentials: "same-origin", cache: "no-store",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ message_id: id, label: label })
    }).then(function (resp) {
      if (resp.status === 401) { window.location.reload(); throw new Error("logged out"); }
      return resp.json().then(function (data) {
        if (!resp.ok) { throw new Error((data && data.error) || ("HTTP " + resp.status)); }
        return data;
      });
    }).then(function (data) {
      var badge = row.querySelector(".label");
      badge.className = "label " + data.label;
      badge.setAttribute("data-label", data.label);
      badge.textContent = NAMES[data.label] || data.label;
      if (!row.querySelector(".corrected")) {
        var mark = document.createElement("span");
        mark.className = "muted corrected";
        mark.textContent = "已纠正";
        badge.parentNode.appendChild(document.createTextNode(" "));
        badge.parentNode.appendChild(mark);
      }
      row.querySelector(".choices").hidden = true;
      say("已纠正为“" + (NAMES[data.label] || data.label) + "”");
    }).catch(function (err) {
      say("纠正失败：" + err.message);
    });
  }

  section.addEventListener("click", function (event) {
    var target = event.target;
    if (!(target instanceof HTMLElement)) { return; }
    var row = target.closest("tr[data-message-id]");
    if (!row) { return; }
    if (target.classList.contains("wrong")) {
      var choices = row.querySelector(".choices");
      choices.hidden = !choices.hidden;
      var current = row.querySelector(".label").getAttribute("data-label");
      choices.querySelectorAll("[data-choose]").forEach(function (b) { b.disabled = b.getAttribute("data-choose") === current; });
    } else if (target.hasAttribute("data-choose")) {
      save(row, target.getAttribute("data-choose"));
    }
  });
})();
