// JSON forms of the schedule pages: submit as JSON, show every field error beside its field,
// ask before overriding a 409 that names a confirmation flag.
import { ApiError, call } from "/static/js/api.js";
import { toast } from "/static/js/toast.js";

function errorTarget(form, field) {
  const names = [field, field.split("[")[0], field.split(".").pop(), field.split(".")[0].split("[")[0]];
  for (const name of names) {
    const slot = form.querySelector(`[data-error-for="${CSS.escape(name)}"]`);
    if (slot) return { slot, name };
  }
  return null;
}

export function clearErrors(form) {
  form.querySelectorAll(".field-error").forEach((el) => { el.textContent = ""; });
  form.querySelectorAll(".invalid").forEach((el) => el.classList.remove("invalid"));
  const msg = form.querySelector(".form-message");
  if (msg) { msg.textContent = ""; msg.className = "form-message"; }
}

export function showError(form, err) {
  const msg = form.querySelector(".form-message");
  const problems = err.errors && typeof err.errors === "object" ? Object.entries(err.errors) : [[err.field, err.message]];
  let target = null;
  let focused = false;
  for (const [field, problem] of problems) {
    const found = field ? errorTarget(form, field) : null;
    if (!found) continue;
    target = target || found;
    found.slot.textContent = problem;
    const input = form.querySelector(`[name="${CSS.escape(found.name)}"]`);
    if (input) { input.classList.add("invalid"); if (!focused) { input.focus(); focused = true; } }
  }
  if (msg) {
    msg.textContent = target ? "请修改标红的项目后再提交" : err.message;
    msg.className = "form-message error";
  }
}

export function formJson(form) {
  const data = {};
  for (const el of form.elements) {
    if (!el.name || el.disabled || el.type === "submit" || el.dataset.skip !== undefined) continue;
    const type = el.dataset.type || "";
    if (type === "int-list") {
      if (!(el.name in data)) data[el.name] = [];
      if (el.checked) data[el.name].push(parseInt(el.value, 10));
      continue;
    }
    const value = el.value.trim();
    if (type === "number") data[el.name] = value === "" ? null : Number(value);
    else if (type === "int") data[el.name] = value === "" ? null : (/^-?\d+$/.test(value) ? parseInt(value, 10) : value);
    else if (type === "minutes") data[el.name] = value === "" ? null : Math.round(Number(value) * 60);
    else if (type === "lines") data[el.name] = value.split(/\n+/).map((s) => s.trim()).filter(Boolean);
    else if (type === "tags") data[el.name] = value.split(/[,，、\s]+/).map((s) => s.trim()).filter(Boolean);
    else if (type === "omit-empty") { if (value !== "") data[el.name] = value; }
    else data[el.name] = el.value;
  }
  return data;
}

export function bindForm(form, onDone) {
  form.noValidate = true;  // the server reports every field at once; the browser would stop at the first
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const button = form.querySelector('button[type="submit"]');
    if (button) button.disabled = true;
    try {
      const body = formJson(form);
      let result;
      try {
        result = await call(form.dataset.method || "POST", form.dataset.api, body);
      } catch (err) {
        // the server asks for an explicit confirmation (unknown lot, overlapping session): ask, then send again
        if (!(err instanceof ApiError) || !err.confirm || !confirm(`${err.message}\n\n确认仍要保存吗？`)) throw err;
        result = await call(form.dataset.method || "POST", form.dataset.api, { ...body, [err.confirm]: true });
      }
      const msg = form.querySelector(".form-message");
      if (msg) { msg.textContent = "已保存"; msg.className = "form-message ok"; }
      if (onDone) onDone(result, form);
      else if (form.dataset.next) location.href = form.dataset.next.replace("{id}", result && result.id);
      else location.reload();
    } catch (err) {
      if (err instanceof ApiError) showError(form, err); else showError(form, new ApiError("网络错误，请检查连接后重试"));
    } finally {
      if (button) button.disabled = false;
    }
  });
}

export function bindButtons(root) {
  root.querySelectorAll("[data-delete]").forEach((button) => {
    button.addEventListener("click", async () => {
      if (button.dataset.confirm && !confirm(button.dataset.confirm)) return;
      try { await call("DELETE", button.dataset.delete); location.reload(); } catch (err) { toast(err.message, "error"); }
    });
  });
  root.querySelectorAll("[data-post]").forEach((button) => {
    button.addEventListener("click", async () => {
      if (button.dataset.confirm && !confirm(button.dataset.confirm)) return;
      try {
        await call("POST", button.dataset.post, JSON.parse(button.dataset.body || "{}"));
        location.reload();
      } catch (err) { toast(err.message, "error"); }
    });
  });
}
