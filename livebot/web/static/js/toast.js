// The one toast of the browser pages: a short message in the page's #toasts box (made on first use).
// kind: "ok", "bad" (alias "error") or nothing; text always goes in through textContent.

const KINDS = { ok: "ok", bad: "bad", error: "bad" };

function box() {
  let node = document.getElementById("toasts");
  if (!node) {
    node = document.createElement("div");
    node.id = "toasts";
    node.className = "toasts";
    node.setAttribute("aria-live", "polite");
    document.body.appendChild(node);
  }
  return node;
}

export function toast(text, kind) {
  const node = document.createElement("div");
  const cls = KINDS[kind] || "";
  node.className = cls ? `toast ${cls}` : "toast";
  node.setAttribute("role", cls === "bad" ? "alert" : "status");
  node.textContent = String(text);
  box().appendChild(node);
  setTimeout(() => node.remove(), cls === "bad" ? 6000 : 4000);
  return node;
}
