// Session editor: forms as JSON, segment editing, and drag-to-reorder of the run of show.
import { call } from "/static/js/api.js";
import { toast } from "/static/js/toast.js";
import { bindButtons, bindForm } from "./json-forms.js";

const segmentForm = document.getElementById("segment-form");
const table = document.getElementById("segments");

document.querySelectorAll("form[data-api]").forEach((form) => {
  if (form !== segmentForm) bindForm(form);
});
bindButtons(document);

if (segmentForm) {
  bindForm(segmentForm);
  const submit = segmentForm.querySelector('button[type="submit"]');
  const cancel = segmentForm.querySelector("[data-cancel-edit]");
  const setField = (name, value) => {
    const el = segmentForm.elements.namedItem(name);
    if (el) el.value = value == null ? "" : value;
  };
  document.querySelectorAll("[data-edit-segment]").forEach((button) => {
    button.addEventListener("click", () => {
      const seg = JSON.parse(button.closest("tr").dataset.segment);
      segmentForm.dataset.api = `${segmentForm.dataset.create}/${seg.id}`;
      segmentForm.dataset.method = "PATCH";
      setField("title", seg.title);
      setField("duration_s", seg.duration_s / 60);
      setField("offset_s", seg.offset_s / 60);
      setField("site_id", seg.site_id);
      setField("pip_site_id", seg.pip_site_id);
      setField("scene", seg.scene);
      setField("lot", seg.lot);
      setField("faq_tags", seg.faq_tags.join("、"));
      setField("talking_points", seg.talking_points);
      submit.textContent = submit.dataset.labelEdit;
      cancel.hidden = false;
      segmentForm.scrollIntoView({ behavior: "smooth", block: "center" });
    });
  });
  cancel.addEventListener("click", () => {
    segmentForm.reset();
    segmentForm.dataset.api = segmentForm.dataset.create;
    segmentForm.dataset.method = "POST";
    submit.textContent = submit.dataset.labelCreate;
    cancel.hidden = true;
  });
}

// Drag and drop: the new order is sent at once; the server re-times the segments back to back.
if (table) {
  const body = table.tBodies[0];
  let dragged = null;
  body.addEventListener("dragstart", (event) => {
    dragged = event.target.closest("tr[draggable]");
    if (!dragged) return;
    dragged.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", dragged.dataset.id);
  });
  body.addEventListener("dragover", (event) => {
    if (!dragged) return;
    event.preventDefault();
    const over = event.target.closest("tr[draggable]");
    body.querySelectorAll(".drop-above").forEach((r) => r.classList.remove("drop-above"));
    if (over && over !== dragged) over.classList.add("drop-above");
  });
  body.addEventListener("dragend", () => {
    if (dragged) dragged.classList.remove("dragging");
    body.querySelectorAll(".drop-above").forEach((r) => r.classList.remove("drop-above"));
    dragged = null;
  });
  body.addEventListener("drop", async (event) => {
    event.preventDefault();
    const over = event.target.closest("tr[draggable]");
    if (!dragged || !over || over === dragged) return;
    body.insertBefore(dragged, over);
    const order = [...body.querySelectorAll("tr[data-id]")].map((r) => parseInt(r.dataset.id, 10));
    try {
      await call("POST", `/api/v1/schedule/sessions/${table.dataset.session}/segments/reorder`, { order });
      location.reload();
    } catch (err) {
      toast(err.message, "error");
      setTimeout(() => location.reload(), 1500);
    }
  });
}
