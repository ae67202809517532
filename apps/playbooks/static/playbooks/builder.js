// The playbook builder: placeholder pickers, moving steps earlier or later, opening and
// closing every step. No inline script (the Content Security Policy refuses them); htmx
// does the requests (a kind's fields, template previews).
(function () {
  "use strict";

  function steps() {
    return Array.from(document.querySelectorAll("#steps-group .inline-related.step"))
      .filter(function (step) { return !step.classList.contains("empty-form"); });
  }

  // Positions follow the order on the page, 1, 2, 3…
  function renumber() {
    steps().forEach(function (step, index) {
      var position = step.querySelector("input.step-position");
      if (position) { position.value = index + 1; }
    });
  }

  function move(step, earlier) {
    var others = steps();
    var at = others.indexOf(step);
    var other = others[earlier ? at - 1 : at + 1];
    if (!other) { return; }
    if (earlier) { other.before(step); } else { other.after(step); }
    renumber();
    var button = step.querySelector(earlier ? ".step-up" : ".step-down");
    if (button) { button.focus(); }
  }

  function insertPlaceholder(picker) {
    var row = picker.closest(".form-row");
    var field = row && row.querySelector("[data-template]");
    if (!field || !picker.value) { return; }
    var start = field.selectionStart || field.value.length;
    var end = field.selectionEnd || start;
    field.value = field.value.slice(0, start) + picker.value + field.value.slice(end);
    field.focus();
    field.setSelectionRange(start + picker.value.length, start + picker.value.length);
    field.dispatchEvent(new Event("change", { bubbles: true }));
    picker.value = "";
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button");
    if (!button) { return; }
    if (button.classList.contains("step-up") || button.classList.contains("step-down")) {
      move(button.closest(".inline-related.step"), button.classList.contains("step-up"));
    } else if (button.classList.contains("steps-open-all") || button.classList.contains("steps-close-all")) {
      var open = button.classList.contains("steps-open-all");
      steps().forEach(function (step) { step.querySelector("details.step-card").open = open; });
    }
  });

  document.addEventListener("change", function (event) {
    if (event.target.classList && event.target.classList.contains("template-picker")) {
      insertPlaceholder(event.target);
    } else if (event.target.id === "preview-deal" && window.htmx) {
      // Previews already shown follow the deal chosen.
      document.querySelectorAll(".template-preview:not(:empty)").forEach(function (preview) {
        var field = preview.closest(".form-row").querySelector("[data-template]");
        if (field) { window.htmx.trigger(field, "change"); }
      });
    }
  });

  // A step added with "Add another step": htmx learns its attributes, and it goes last.
  document.addEventListener("formset:added", function (event) {
    if (window.htmx) { window.htmx.process(event.target); }
    renumber();
  });
})();
