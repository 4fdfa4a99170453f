// Report page: "标错了" on a comment lets the user pick the right sentiment; the correction is posted through
// the shared JSON fetch (CSRF, Chinese errors). Chat text is never touched here (the server rendered and
// escaped it); only labels change.
import { post } from "/static/js/api.js";

const NAMES = { positive: "正面", neutral: "中性", negative: "负面" };
const section = document.getElementById("sentiment-messages");
const status = document.getElementById("correction-status");

function say(text) { if (status) status.textContent = text; }

function show(row, label) {
  const badge = row.querySelector(".label");
  badge.className = `label ${label}`;
  badge.setAttribute("data-label", label);
  badge.textContent = NAMES[label] || label;
  if (!row.querySelector(".corrected")) {
    const mark = document.createElement("span");
    mark.className = "muted corrected";
    mark.textContent = "已纠正";
    badge.parentNode.append(" ", mark);
  }
  row.querySelector(".choices").hidden = true;
}

async function save(row, label) {
  const id = Number.parseInt(row.getAttribute("data-message-id"), 10);
  try {
    const data = await post(section.getAttribute("data-url"), { message_id: id, label });
    show(row, data.label);
    say(`已纠正为“${NAMES[data.label] || data.label}”`);
  } catch (err) {
    if (err.status === 401) { window.location.reload(); return; }
    say(`纠正失败：${err.message}`);
  }
}

if (section) {
  section.addEventListener("click", (event) => {
    const target = event.target;
    if (!(target instanceof HTMLElement)) return;
    const row = target.closest("tr[data-message-id]");
    if (!row) return;
    if (target.classList.contains("wrong")) {
      const choices = row.querySelector(".choices");
      choices.hidden = !choices.hidden;
      const current = row.querySelector(".label").getAttribute("data-label");
      choices.querySelectorAll("[data-choose]").forEach((b) => { b.disabled = b.getAttribute("data-choose") === current; });
    } else if (target.hasAttribute("data-choose")) {
      save(row, target.getAttribute("data-choose"));
    }
  });
}
