// The playbook builder: placeholder pickers, moving steps earlier or later, opening and
// closing every step, conditions that can read the steps as they are edited. No inline
// script (the Content Security Policy refuses them); htmx does the requests (a kind's
// fields, template previews).
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

  // What a condition can read follows the steps on the page: a wait step's key, name,
  // kind or event typed or chosen, a step added or marked for deletion, and the lists of
  // every condition row and the step keys offered for "after" change with it, before any
  // save. The server draws the saved steps' options; data-wait-step-fields says what a
  // wait step offers for each event (its outcome and the event's facts).
  function stepField(step, name) {
    return step.querySelector('[name="' + step.id + "-" + name + '"]');
  }

  function stepsAsEdited() {
    return steps().map(function (step) {
      var value = function (name) {
        var input = stepField(step, name);
        return input ? input.value.trim() : "";
      };
      var deleted = stepField(step, "DELETE");
      return {
        key: value("key"),
        name: value("name"),
        kind: value("kind"),
        event: value("config-until_event"),
        deleted: Boolean(deleted && deleted.checked)
      };
    }).filter(function (step) { return step.key && !step.deleted; });
  }

  function waitStepOptions(edited, fields) {
    var options = [];
    edited.forEach(function (step) {
      if (step.kind !== "wait") { return; }
      (fields[step.event] || fields[""] || []).forEach(function (fact) {
        options.push(["steps." + step.key + "." + fact[0], (step.name || step.key) + ": " + fact[1]]);
      });
    });
    return options;
  }

  // The placeholder pickers offer the wait steps' facts as templates read them: a
  // finished step's result is in the enrollment's context, {{ context.steps.<key>.<fact> }}
  // (conditions read the same fact as steps.<key>.<fact>). The preview is told the wait
  // steps too, so it knows these names.
  function followPlaceholders(edited, options) {
    var previewSteps = document.getElementById("preview-steps");
    if (previewSteps) {
      previewSteps.value = JSON.stringify(edited.filter(function (step) {
        return step.kind === "wait";
      }).map(function (step) {
        return { key: step.key, name: step.name, event: step.event };
      }));
    }
    document.querySelectorAll("#steps-group select.template-picker").forEach(function (picker) {
      var group = picker.querySelector("optgroup.wait-step-placeholders");
      if (group) { group.remove(); }
      if (!options.length) { return; }
      group = document.createElement("optgroup");
      group.className = "wait-step-placeholders";
      group.label = "Wait steps";
      options.forEach(function (option) {
        var value = "{{ context." + option[0] + " }}";
        group.append(new Option(option[1] + " — " + value, value));
      });
      picker.append(group);
    });
  }

  var shownSteps = null;

  function followSteps(always) {
    var group = document.getElementById("steps-group");
    if (!group || !group.dataset.waitStepFields) { return; }
    var edited = stepsAsEdited();
    var options = waitStepOptions(edited, JSON.parse(group.dataset.waitStepFields));
    var shown = JSON.stringify([edited, options]);
    if (shown === shownSteps && !always) { return; }
    shownSteps = shown;
    followPlaceholders(edited, options);
    group.querySelectorAll('.condition-rows select[name$="-field"]').forEach(function (select) {
      var chosen = select.value;
      Array.from(select.options).forEach(function (option) {
        if (option.value.indexOf("steps.") === 0) { option.remove(); }
      });
      options.forEach(function (option) { select.add(new Option(option[1], option[0])); });
      if (chosen && !options.some(function (option) { return option[0] === chosen; }) &&
          chosen.indexOf("steps.") === 0) {
        // A rule on a step no longer on the page stays as it was; saving says what is wrong.
        select.add(new Option(chosen, chosen));
      }
      select.value = chosen;
    });
    var keys = document.getElementById("playbook-step-keys");
    if (keys) {
      keys.replaceChildren.apply(keys, edited.map(function (step) {
        return new Option(step.name, step.key);
      }));
    }
  }

  var STEP_FIELD = /^steps-\d+-(key|name|kind|config-until_event|DELETE)$/;

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

  document.addEventListener("input", function (event) {
    if (STEP_FIELD.test(event.target.name || "")) { followSteps(false); }
  });

  document.addEventListener("change", function (event) {
    if (STEP_FIELD.test(event.target.name || "")) { followSteps(false); }
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
    followSteps(true);
  });
  document.addEventListener("formset:removed", function () { followSteps(true); });
  // A kind's fields swapped in by htmx: a wait step's event is now on the page, or gone.
  // Its pickers are new: they are given the wait steps' facts again.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.target.classList && event.target.classList.contains("step-config")) {
      followSteps(true);
    }
  });

  // A page drawn again with its problems shows the steps as they were sent.
  followSteps(true);
})();
