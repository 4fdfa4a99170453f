/* The producer's overlay controls (/overlays/<id>): every control sends one overlay command through the JSON API. */
import { call } from "/static/js/api.js";
import { toast } from "/static/js/toast.js";

const root = document.getElementById("overlay-producer");
if (root) {
  const sessionId = root.dataset.session;
  const titles = JSON.parse(document.getElementById("scene-titles").textContent);
  const result = document.getElementById("last-result");

  const post = (path, body) => call("POST", path, body);

  const send = async (command) => {
    result.textContent = "发送中…";
    try {
      let data;
      try {
        data = await post(`/api/v1/sessions/${sessionId}/overlay`, command);
      } catch (err) {
        // e.g. a lot without trace data: warn before it goes on air, send only when confirmed
        if (!err.confirm || !window.confirm(`${err.message}\n\n仍要上屏吗？`)) throw err;
        data = await post(`/api/v1/sessions/${sessionId}/overlay`, { ...command, [err.confirm]: true });
      }
      result.textContent = data.applied ? "已生效" : "已发送";
      if (data.state) showScene(data.state.control.scene);
    } catch (err) {
      result.textContent = `失败：${err.message}`;
      toast(err.message, "bad");
    }
  };

  const showScene = (scene) => {
    document.getElementById("current-scene").textContent = titles[scene] || "仅字幕条";
    root.querySelectorAll("[data-command=scene]").forEach((button) => {
      const active = button.dataset.scene === scene;
      button.classList.toggle("active", active);
      button.classList.toggle("secondary", !active);
    });
  };

  root.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-command]");
    if (!button) return;
    const type = button.dataset.command;
    if (type === "scene") send({ type, scene: button.dataset.scene });
    else if (type === "featured_clear") send({ type });
    else if (type === "ticker" && button.dataset.clear) send({ type, clear: true });
    else if (type === "ticker") send({ type, enabled: button.dataset.enabled === "true" });
  });

  const onSubmit = (id, build) => {
    document.getElementById(id).addEventListener("submit", (event) => {
      event.preventDefault();
      send(build(new FormData(event.target)));
    });
  };
  onSubmit("batch-form", (form) => ({ type: "batch", lot: form.get("lot").trim() || null }));
  onSubmit("site-form", (form) => ({ type: "site", site_id: Number(form.get("site_id")) }));
  onSubmit("featured-form", (form) => ({ type: "featured", question: form.get("question"), answer: form.get("answer") }));
  onSubmit("countdown-form", (form) => ({
    type: "countdown",
    title: form.get("title"),
    ends_at: new Date(Date.now() + Number(form.get("minutes")) * 60000).toISOString(),
  }));

  document.getElementById("rotate-token").addEventListener("click", async () => {
    if (!window.confirm("生成新链接后，OBS 里正在使用的旧链接会立即失效。继续吗？")) return;
    try {
      const data = await post(`/api/v1/sessions/${sessionId}/overlay-token`);
      const table = document.getElementById("link-table");
      const tbody = table.querySelector("tbody");
      tbody.replaceChildren(...Object.entries(data.urls).map(([scene, url]) => {
        const tr = document.createElement("tr");
        const name = document.createElement("td");
        name.textContent = scene === "program" ? "节目画面" : titles[scene] || scene;
        const link = document.createElement("td");
        link.textContent = url;
        const copy = document.createElement("td");
        const button = document.createElement("button");
        button.type = "button";
        button.className = "secondary";
        button.textContent = "复制";
        button.addEventListener("click", () => {
          navigator.clipboard.writeText(url).then(() => { button.textContent = "已复制"; }, () => { button.textContent = "请手动复制"; });
        });
        copy.append(button);
        tr.append(name, link, copy);
        return tr;
      }));
      table.hidden = false;
    } catch (err) {
      result.textContent = `失败：${err.message}`;
      toast(err.message, "bad");
    }
  });
}
