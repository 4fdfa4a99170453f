// 知识库 editor conveniences: insert a placeholder at the cursor, confirm deletes.
const answer = document.getElementById("faq-answer");
document.querySelectorAll(".faq-insert").forEach((button) => {
  button.addEventListener("click", () => {
    if (!answer) return;
    const text = button.getAttribute("data-insert") || "";
    const start = answer.selectionStart || 0;
    const end = answer.selectionEnd || 0;
    answer.value = answer.value.slice(0, start) + text + answer.value.slice(end);
    answer.focus();
    answer.selectionStart = answer.selectionEnd = start + text.length;
  });
});
document.querySelectorAll("form[data-confirm]").forEach((form) => {
  form.addEventListener("submit", (event) => {
    if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
  });
});
