// 合规审核: approve or reject warned answers, save brand rules.
import { call } from "/static/js/api.js";
import { toast } from "/static/js/toast.js";

async function send(method, path, body) {
  try { return await call(method, path, body); } catch (error) { toast(error.message, "bad"); throw error; }
}

for (const form of document.querySelectorAll("form.decide")) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const decision = (event.submitter && event.submitter.dataset.decision) || "approve";
    const reason = form.reason.value.trim();
    if (!reason) return;
    await send("POST", `/api/v1/compliance/approvals/${form.dataset.approval}/${decision}`, { reason });
    location.reload();
  });
}

const brand = document.getElementById("brand-form");
if (brand) {
  brand.addEventListener("submit", async (event) => {
    event.preventDefault();
    const list = (value) => value.split(/[,，;；]/).map((s) => s.trim()).filter(Boolean);
    const body = {
      category: brand.category.value, severity: brand.severity.value, terms: list(brand.terms.value),
      exceptions: list(brand.exceptions.value), explanation: brand.explanation.value.trim(),
      rewording: brand.rewording.value.trim(), active: brand.active.checked,
    };
    const id = brand.rule_id.value.trim();
    const exists = document.querySelector(`tr[data-rule="${CSS.escape(id)}"]`);
    if (exists) await send("PUT", `/api/v1/compliance/brand-rules/${encodeURIComponent(id)}`, body);
    else await send("POST", "/api/v1/compliance/brand-rules", { rule_id: id, ...body });
    location.reload();
  });
}
