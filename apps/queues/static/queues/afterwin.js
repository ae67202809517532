// Keyboard shortcuts for task lists and small helpers for the bulk-action bar.
// Everything here is an enhancement: the pages work with plain links and form posts.
(function () {
  "use strict";

  const live = () => document.getElementById("live-status");

  function announce(text) {
    const region = live();
    if (!region) return;
    region.textContent = "";
    // A fresh text node after a tick makes screen readers announce repeats too.
    window.setTimeout(() => { region.textContent = text; }, 30);
  }

  function rows() {
    return Array.from(document.querySelectorAll("[data-task-row]"));
  }

  function currentIndex() {
    return rows().findIndex((row) => row.classList.contains("is-current"));
  }

  function setCurrent(index) {
    const all = rows();
    if (!all.length) return;
    const next = Math.max(0, Math.min(index, all.length - 1));
    all.forEach((row) => {
      row.classList.remove("is-current");
      row.removeAttribute("aria-current");
    });
    const row = all[next];
    row.classList.add("is-current");
    row.setAttribute("aria-current", "true");
    const link = row.querySelector(".task-link");
    if (link) link.focus({ preventScroll: true });
    row.scrollIntoView({ block: "nearest" });
  }

  function currentRow() {
    const index = currentIndex();
    return index >= 0 ? rows()[index] : null;
  }

  function checkbox(row) {
    return row ? row.querySelector('input[type="checkbox"][name="task"]') : null;
  }

  function selected() {
    return rows().map(checkbox).filter((box) => box && box.checked);
  }

  function updateSelectedCount() {
    const count = selected().length;
    document.querySelectorAll("[data-selected-count]").forEach((el) => {
      el.textContent = count ? `(${count} selected)` : "";
    });
  }

  function syncBulkParams(form) {
    const select = form.querySelector('select[name="action"]');
    if (!select) return;
    form.querySelectorAll("[data-bulk-param]").forEach((el) => {
      const actions = el.getAttribute("data-bulk-param").split(" ");
      el.hidden = !actions.includes(select.value);
    });
  }

  function bulkAction(action) {
    const form = document.getElementById("work-region");
    if (!form) return;
    if (!selected().length) {
      const box = checkbox(currentRow());
      if (!box) {
        announce("Move to a task with j or k first.");
        return;
      }
      box.checked = true;
      updateSelectedCount();
    }
    const select = form.querySelector('select[name="action"]');
    select.value = action;
    syncBulkParams(form);
    const count = selected().length;
    const plural = count === 1 ? "task" : "tasks";
    if (action === "snooze") {
      form.querySelector('input[name="until"]').focus();
      announce(`Snooze ${count} ${plural}: choose when they come back, then press Enter.`);
    } else if (selected().some((box) => box.closest("[data-needs-outcome]"))) {
      form.querySelector('select[name="outcome"]').focus();
      announce(`Complete ${count} ${plural}: choose the outcome, then Apply.`);
    } else {
      form.querySelector("[data-bulk-submit]").focus();
      announce(`Complete ${count} ${plural}: press Enter to apply.`);
    }
  }

  function typingIn(target) {
    if (!(target instanceof HTMLElement)) return false;
    if (target.isContentEditable) return true;
    if (target.matches("textarea, select")) return true;
    return target.matches("input") && !["checkbox", "radio", "button", "submit"].includes(target.type);
  }

  function openHelp() {
    const dialog = document.getElementById("shortcuts-help");
    if (dialog && !dialog.open) dialog.showModal();
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (typingIn(event.target)) return;
    if (document.querySelector("dialog[open]")) return;
    if (!document.querySelector("[data-task-list]")) return;
    const index = currentIndex();
    switch (event.key) {
      case "j":
        setCurrent(index + 1);
        break;
      case "k":
        setCurrent(index < 0 ? 0 : index - 1);
        break;
      case "x": {
        const box = checkbox(currentRow());
        if (!box) return;
        box.checked = !box.checked;
        updateSelectedCount();
        break;
      }
      case "o": {
        const link = currentRow() && currentRow().querySelector(".task-link");
        if (link) link.click();
        break;
      }
      case "e":
        bulkAction("complete");
        break;
      case "s":
        bulkAction("snooze");
        break;
      case "?":
        openHelp();
        break;
      default:
        return;
    }
    event.preventDefault();
  });

  document.addEventListener("change", (event) => {
    const target = event.target;
    if (target.matches('input[name="task"]')) updateSelectedCount();
    if (target.matches('select[name="action"]')) syncBulkParams(target.form);
  });

  // Clicking a row's link or checkbox makes it the current row for the shortcuts.
  document.addEventListener("focusin", (event) => {
    const row = event.target.closest && event.target.closest("[data-task-row]");
    if (!row || row.classList.contains("is-current")) return;
    rows().forEach((r) => {
      r.classList.remove("is-current");
      r.removeAttribute("aria-current");
    });
    row.classList.add("is-current");
    row.setAttribute("aria-current", "true");
  });

  function init(root) {
    if (!root || !root.querySelectorAll) return;
    // The document itself has no matches(); elements htmx loads do.
    const forms = root.matches && root.matches("form[data-task-list]")
      ? [root]
      : Array.from(root.querySelectorAll("form[data-task-list]"));
    forms.forEach(syncBulkParams);
    updateSelectedCount();
  }

  document.addEventListener("DOMContentLoaded", () => init(document));
  document.addEventListener("htmx:load", (event) => init(event.detail.elt));

  // After an action swaps part of the page, move focus to its message so keyboard and
  // screen-reader users hear what happened and continue from there.
  document.addEventListener("htmx:afterSettle", (event) => {
    let target = event.detail.target;
    if (!target || !target.querySelector) return;
    // An outerHTML swap replaced the target element: work on its successor.
    if (!target.isConnected && target.id) target = document.getElementById(target.id);
    if (!target) return;
    const message = target.querySelector(".messages, .errorlist, .form-errors, [role='status']");
    if (message) {
      message.setAttribute("tabindex", "-1");
      message.focus();
    } else if (!document.activeElement || document.activeElement === document.body) {
      // The focused button was swapped away: keep the place instead of restarting at the top.
      target.setAttribute("tabindex", "-1");
      target.focus();
    }
  });

  // The reason a 403 page gives ("… is owned by Rita: only its owner …"), if any. The
  // parsed document is inert: nothing in it runs or loads.
  function refusalReason(xhr) {
    try {
      const doc = new DOMParser().parseFromString(xhr.responseText || "", "text/html");
      const reason = doc.querySelector("[data-refusal]");
      return reason ? reason.textContent.trim() : "";
    } catch (error) {
      return "";
    }
  }

  // A refused request (403, 404, 500) is not swapped in; say so next to the content.
  document.addEventListener("htmx:responseError", (event) => {
    const status = event.detail.xhr.status;
    const text =
      status === 403 ? refusalReason(event.detail.xhr) || "You are not allowed to do that." :
      status === 404 ? "That is no longer there. Reload the page." :
      "Something went wrong. Reload the page and try again.";
    const main = document.getElementById("main");
    let box = document.getElementById("flash-error");
    if (!box) {
      box = document.createElement("p");
      box.id = "flash-error";
      box.className = "flash-error";
      box.setAttribute("role", "alert");
      main.prepend(box);
    }
    box.textContent = text;
  });
})();
