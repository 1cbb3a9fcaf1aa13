/* Journeys pages: small, dependency-free behaviours (loaded with `defer`, no inline scripts).
 *  - funnel page: stage tabs of the voice-of-the-customer panel switch without a reload;
 *    selecting a stage in the chart or the table opens its panel
 *  - editor: add, remove and reorder stage rows (a Django formset), insert event names
 * Every behaviour has a no-JavaScript fallback (links with ?stage=, empty rows in the form).
 */
(function () {
  "use strict";

  var doc = document;

  function $all(selector, scope) {
    return Array.prototype.slice.call((scope || doc).querySelectorAll(selector));
  }

  /* ---- Funnel page: stage selection ------------------------------------- */

  var tabs = $all("[data-stage-tab]");

  function selectStage(position, focus) {
    var found = false;
    tabs.forEach(function (tab) {
      var on = tab.getAttribute("data-stage-tab") === String(position);
      found = found || on;
      tab.setAttribute("aria-selected", on ? "true" : "false");
      tab.tabIndex = on ? 0 : -1;
      if (on && focus) tab.focus();
    });
    if (!found) return false;
    $all("[data-stage-panel]").forEach(function (panel) {
      panel.hidden = panel.getAttribute("data-stage-panel") !== String(position);
    });
    $all("[data-stage-row], [data-stage-select]").forEach(function (row) {
      var value = row.getAttribute("data-stage-row") || row.getAttribute("data-stage-select");
      row.classList.toggle("is-selected", value === String(position));
    });
    if (window.history && window.history.replaceState) {
      var url = new URL(window.location.href);
      url.searchParams.set("stage", position);
      url.hash = "voice";
      window.history.replaceState(null, "", url.toString());
    }
    return true;
  }

  if (tabs.length) {
    doc.addEventListener("click", function (event) {
      var target = event.target instanceof Element ? event.target : null;
      if (!target) return;
      var link = target.closest("[data-stage-tab], [data-stage-link], [data-stage-select]");
      if (!link) return;
      var position =
        link.getAttribute("data-stage-tab") ||
        link.getAttribute("data-stage-link") ||
        link.getAttribute("data-stage-select");
      if (selectStage(position, link.hasAttribute("data-stage-tab"))) {
        event.preventDefault();
        if (!link.hasAttribute("data-stage-tab")) {
          var voice = doc.getElementById("voice");
          if (voice) voice.scrollIntoView({ behavior: "smooth", block: "start" });
        }
      }
    });

    doc.addEventListener("keydown", function (event) {
      var tab = event.target instanceof Element ? event.target.closest("[data-stage-tab]") : null;
      if (!tab) return;
      var index = tabs.indexOf(tab);
      var next = null;
      if (event.key === "ArrowRight") next = tabs[(index + 1) % tabs.length];
      else if (event.key === "ArrowLeft") next = tabs[(index - 1 + tabs.length) % tabs.length];
      else if (event.key === "Home") next = tabs[0];
      else if (event.key === "End") next = tabs[tabs.length - 1];
      if (next) {
        event.preventDefault();
        selectStage(next.getAttribute("data-stage-tab"), true);
      }
    });

    // Chart rows are SVG groups: make them reachable by keyboard too.
    $all("[data-stage-select]").forEach(function (group) {
      group.setAttribute("tabindex", "0");
      group.setAttribute("role", "button");
      group.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          group.dispatchEvent(new MouseEvent("click", { bubbles: true }));
        }
      });
    });
  }

  /* ---- Editor: stage rows ------------------------------------------------ */

  var editor = doc.querySelector("[data-journey-editor]");
  if (!editor) return;

  var list = editor.querySelector("[data-stage-rows]");
  var template = editor.querySelector("template[data-stage-template]");
  var total = editor.querySelector('input[name="stages-TOTAL_FORMS"]');
  var maxForms = editor.querySelector('input[name="stages-MAX_NUM_FORMS"]');
  var addButton = editor.querySelector("[data-stage-add]");
  var lastEvents = null;

  function rows() {
    return $all("[data-stage-form]", list);
  }

  // Field names carry the row index (stages-2-name): renumber after every change.
  function renumber() {
    rows().forEach(function (row, index) {
      $all("input, label", row).forEach(function (el) {
        ["name", "id", "for"].forEach(function (attr) {
          var value = el.getAttribute(attr);
          if (value) el.setAttribute(attr, value.replace(/stages-(\d+|__prefix__)-/, "stages-" + index + "-"));
        });
      });
      var up = row.querySelector("[data-stage-up]");
      var down = row.querySelector("[data-stage-down]");
      if (up) up.disabled = index === 0;
      if (down) down.disabled = index === rows().length - 1;
    });
    total.value = rows().length;
    if (addButton && maxForms) addButton.disabled = rows().length >= Number(maxForms.value || 12);
  }

  function addRow() {
    var fragment = template.content.cloneNode(true);
    list.appendChild(fragment);
    var row = rows()[rows().length - 1];
    row.querySelector("[data-stage-actions]").hidden = false;
    renumber();
    var name = row.querySelector("input");
    if (name) name.focus();
  }

  rows().forEach(function (row) {
    var actions = row.querySelector("[data-stage-actions]");
    if (actions) actions.hidden = false;
  });
  if (addButton) {
    addButton.hidden = false;
    addButton.addEventListener("click", addRow);
  }
  renumber();

  list.addEventListener("click", function (event) {
    var button = event.target instanceof Element ? event.target.closest("button") : null;
    if (!button) return;
    var row = button.closest("[data-stage-form]");
    if (button.hasAttribute("data-stage-remove")) {
      row.remove();
      if (!rows().length) addRow();
    } else if (button.hasAttribute("data-stage-up") && row.previousElementSibling) {
      list.insertBefore(row, row.previousElementSibling);
    } else if (button.hasAttribute("data-stage-down") && row.nextElementSibling) {
      list.insertBefore(row.nextElementSibling, row);
    } else {
      return;
    }
    renumber();
    button.focus();
  });

  // Event-name chips add the name to the events field edited last (or the first empty one).
  editor.addEventListener("focusin", function (event) {
    if (event.target instanceof Element && event.target.matches("[data-event-input]")) {
      lastEvents = event.target;
    }
  });
  editor.addEventListener("click", function (event) {
    var chip = event.target instanceof Element ? event.target.closest("[data-event-name]") : null;
    if (!chip) return;
    var input = lastEvents;
    if (!input || !list.contains(input)) {
      input = $all("[data-event-input]", list).filter(function (el) {
        return !el.value.trim();
      })[0];
    }
    if (!input) return;
    var name = chip.getAttribute("data-event-name");
    var names = input.value
      .split(",")
      .map(function (part) {
        return part.trim();
      })
      .filter(Boolean);
    if (names.indexOf(name) === -1) names.push(name);
    input.value = names.join(", ");
    input.focus();
  });
})();
