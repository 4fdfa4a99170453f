// 知识库 editor conveniences: insert a placeholder at the cursor, confirm deletes.
(function () {
  "use strict";
  var answer = document.getElementById("faq-answer");
  document.querySelectorAll(".faq-insert").forEach(function (button) {
    button.addEventListener("click", function () {
      if (!answer) { return; }
      var text = button.getAttribute("data-insert") || "";
      var start = answer.selectionStart || 0;
      var end = answer.selectionEnd || 0;
      answer.value = answer.value.slice(0, start) + text + answer.value.slice(end);
      answer.focus();
      answer.selectionStart = answer.selectionEnd = start + text.length;
    });
  });
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });
})();
