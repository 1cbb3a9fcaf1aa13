/* Helpdesk workspace: the queue, ticket and customer pages.
 * Loaded with `defer` after htmx and app.js; no inline scripts (CSP-friendly). Every page works
 * without it; this adds:
 *  - live sockets with reconnect and backoff (queue: "new activity" button; ticket: events by
 *    cursor, de-duplicated, refreshing the thread and side panel without touching the reply box)
 *  - presence and typing ("Dana is also viewing", "Dana is typing a reply…")
 *  - the reply box: internal note toggle, macro picker, Ctrl+Enter, kept drafts
 *  - queue filters counters, bulk selection toolbar, j/k/Enter/x navigation
 *  - SLA countdowns
 *  - keyboard shortcuts and their help dialog ("?")
 */
(function () {
  "use strict";

  var doc = document;

  function $(selector, scope) {
    return (scope || doc).querySelector(selector);
  }

  function $all(selector, scope) {
    return Array.prototype.slice.call((scope || doc).querySelectorAll(selector));
  }

  function wsUrl(path, query) {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    return scheme + window.location.host + path + (query || "");
  }

  var NOT_TYPING_INPUTS = ["checkbox", "radio", "button", "submit", "reset", "range", "color", "file", "image"];

  // Is the person typing into this element? (Shortcuts must not fire there.)
  function isEditable(el) {
    if (!(el instanceof Element)) return false;
    if (el.isContentEditable) return true;
    if (el.tagName === "TEXTAREA" || el.tagName === "SELECT") return true;
    if (el.tagName === "INPUT") return NOT_TYPING_INPUTS.indexOf((el.type || "text").toLowerCase()) === -1;
    return false;
  }

  function isDirty(el) {
    if (el.type === "hidden" || el.disabled) return false;
    if (el.tagName === "SELECT") {
      var options = Array.prototype.slice.call(el.options);
      if (el.multiple) {
        return options.some(function (o) {
          return o.selected !== o.defaultSelected;
        });
      }
      // A single select shows its last default-selected option, or the first one.
      var initial = 0;
      options.forEach(function (o, index) {
        if (o.defaultSelected) initial = index;
      });
      return options.length > 0 && el.selectedIndex !== initial;
    }
    if (el.type === "checkbox" || el.type === "radio") return el.checked !== el.defaultChecked;
    return el.value !== el.defaultValue;
  }

  function listNames(names) {
    if (names.length <= 1) return names.join("");
    if (names.length === 2) return names[0] + " and " + names[1];
    if (names.length === 3) return names[0] + ", " + names[1] + " and " + names[2];
    return names[0] + ", " + names[1] + " and " + (names.length - 2) + " others";
  }

  function initials(name) {
    var parts = String(name || "?").trim().split(/\s+/);
    var first = parts[0] ? parts[0].charAt(0) : "?";
    var last = parts.length > 1 ? parts[parts.length - 1].charAt(0) : "";
    return (first + last).toUpperCase();
  }

  /* ---- A WebSocket that comes back --------------------------------------
   * Reconnects with exponential backoff (1 s, 2 s, 4 s … 30 s, with jitter). Close codes 4403
   * and 4404 mean "not allowed / no such ticket": no retry. */

  function LiveSocket(options) {
    this.options = options;
    this.attempt = 0;
    this.socket = null;
    this.timer = null;
    this.stopped = false;
  }

  LiveSocket.prototype.connect = function () {
    var self = this;
    if (self.stopped || !("WebSocket" in window)) return;
    window.clearTimeout(self.timer);
    var socket;
    try {
      socket = new WebSocket(self.options.url());
    } catch (err) {
      self.retry();
      return;
    }
    self.socket = socket;
    self.status(self.attempt ? "reconnecting" : "connecting");
    socket.onopen = function () {
      self.attempt = 0;
      self.status("open");
    };
    socket.onmessage = function (event) {
      var data;
      try {
        data = JSON.parse(event.data);
      } catch (err) {
        return;
      }
      if (data && typeof data === "object") self.options.onMessage(data);
    };
    socket.onclose = function (event) {
      if (self.socket === socket) self.socket = null;
      if (self.stopped) return;
      if (event.code === 4403 || event.code === 4404) {
        self.status("closed");
        return;
      }
      self.status("reconnecting");
      self.retry();
    };
  };

  LiveSocket.prototype.retry = function () {
    var self = this;
    var base = Math.min(30000, 1000 * Math.pow(2, self.attempt));
    var delay = Math.round(base * (0.75 + Math.random() * 0.5));
    self.attempt += 1;
    window.clearTimeout(self.timer);
    self.timer = window.setTimeout(function () {
      self.connect();
    }, delay);
  };

  LiveSocket.prototype.status = function (state) {
    if (this.options.onStatus) this.options.onStatus(state);
  };

  LiveSocket.prototype.send = function (message) {
    if (this.socket && this.socket.readyState === 1) {
      this.socket.send(JSON.stringify(message));
      return true;
    }
    return false;
  };

  LiveSocket.prototype.stop = function () {
    this.stopped = true;
    window.clearTimeout(this.timer);
    if (this.socket) this.socket.close(1000);
  };

  LiveSocket.prototype.wake = function () {
    // Back online: try now instead of waiting for the backoff.
    if (!this.stopped && !this.socket) {
      this.attempt = 0;
      this.connect();
    }
  };

  // The small "● Live" indicator: [data-live-status] with [data-live-dot] and [data-live-label].
  function showLiveState(state) {
    var box = $("[data-live-status]");
    if (!box) return;
    var dot = $("[data-live-dot]", box);
    var label = $("[data-live-label]", box);
    box.hidden = false;
    if (state === "open") {
      dot.className = "status-dot";
      label.textContent = "Live";
      box.title = "Changes by others show up here as they happen.";
    } else if (state === "closed") {
      dot.className = "status-dot status-dot--off";
      label.textContent = "Not live: reload to see changes";
      box.title = "";
    } else {
      dot.className = "status-dot status-dot--away";
      label.textContent = state === "connecting" ? "Connecting…" : "Reconnecting…";
      box.title = "";
    }
  }

  function keepAlive(live) {
    window.addEventListener("pagehide", function () {
      live.stop();
    });
    window.addEventListener("online", function () {
      live.wake();
    });
  }

  /* ---- Keyboard shortcuts ----------------------------------------------- */

  var keyHandlers = {};

  function initShortcuts() {
    var pendingG = 0;

    // Looked up on use: htmx may swap the page body (history restore).
    function dialog() {
      return $("[data-shortcuts]");
    }

    function openHelp() {
      var box = dialog();
      if (!box || box.open) return;
      if (typeof box.showModal === "function") box.showModal();
      else box.setAttribute("open", "");
    }

    function revealHints() {
      if (!dialog()) return;
      $all("[data-shortcuts-open]").forEach(function (btn) {
        btn.hidden = false;
      });
    }

    revealHints();
    doc.addEventListener("htmx:historyRestore", revealHints);

    doc.addEventListener("click", function (event) {
      var target = event.target;
      if (!(target instanceof Element)) return;
      if (target.closest("[data-shortcuts-open]")) {
        openHelp();
        return;
      }
      var box = target.closest("dialog[data-shortcuts]");
      // The close button, or a click on the backdrop (the dialog box itself, outside its content).
      if (box && (target === box || target.closest("[data-dialog-close]"))) box.close();
    });

    doc.addEventListener("keydown", function (event) {
      if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
      var target = event.target;
      var box = dialog();
      var open = !!(box && box.open);
      if (event.key === "Escape") {
        // Leave a text field, so that shortcuts work again (the dialog closes itself).
        if (isEditable(target) && !open) target.blur();
        return;
      }
      if (isEditable(target) || open) return;
      var key = event.key;
      if (pendingG) {
        var recent = Date.now() - pendingG < 1500;
        pendingG = 0;
        var queueUrl = box && box.getAttribute("data-queue-url");
        if (recent && key === "q" && queueUrl) {
          event.preventDefault();
          window.location.href = queueUrl;
          return;
        }
      }
      if (key === "?") {
        if (!box) return;
        event.preventDefault();
        openHelp();
        return;
      }
      if (key === "g") {
        pendingG = Date.now();
        return;
      }
      var handler = keyHandlers[key];
      if (handler && handler(event) !== false) event.preventDefault();
    });
  }

  /* ---- SLA countdowns ---------------------------------------------------- */

  function span(ms) {
    var mins = Math.floor(Math.abs(ms) / 60000);
    if (mins < 1) return "under a minute";
    var days = Math.floor(mins / 1440);
    var hours = Math.floor((mins % 1440) / 60);
    var rest = mins % 60;
    if (days) return days + "d" + (hours ? " " + hours + "h" : "");
    if (hours) return hours + "h" + (rest ? " " + rest + "m" : "");
    return rest + "m";
  }

  function updateCountdowns(scope) {
    $all("[data-countdown]", scope).forEach(function (el) {
      var due = Date.parse(el.getAttribute("data-countdown"));
      if (isNaN(due)) return;
      var diff = due - Date.now();
      el.textContent = diff >= 0 ? "due in " + span(diff) : "overdue by " + span(diff);
      el.classList.toggle("is-overdue", diff < 0);
      el.classList.toggle("is-soon", diff >= 0 && diff < 60 * 60 * 1000);
    });
  }

  /* ---- Queue --------------------------------------------------------------- */

  function initQueue(root) {
    var current = -1;
    var wsPath = root.getAttribute("data-ws-path");

    if (typeof htmx !== "undefined") {
      // Back/forward after filtering: a page missing from htmx's history cache is reloaded
      // whole (an htmx request would get the rows partial only).
      htmx.config.refreshOnHistoryMiss = true;
      htmx.config.historyRestoreAsHxRequest = false;
    }

    // Elements are looked up when needed: htmx swaps the rows, and the whole body on a history
    // restore, so references kept from page load would go stale.
    function bulkForm() {
      return $("[data-bulk]");
    }

    function rowBoxes() {
      return $all('#queue-rows input[name="tickets"]');
    }

    function selectedNumbers() {
      return rowBoxes()
        .filter(function (box) {
          return box.checked;
        })
        .map(function (box) {
          return box.value;
        });
    }

    function updateBulk() {
      var boxes = rowBoxes();
      var count = selectedNumbers().length;
      var all = $("[data-select-all]");
      if (all) {
        all.hidden = false;
        all.checked = count > 0 && count === boxes.length;
        all.indeterminate = count > 0 && count < boxes.length;
      }
      var bulk = bulkForm();
      if (!bulk) return;
      bulk.classList.toggle("is-active", count > 0);
      $("[data-bulk-count]", bulk).textContent =
        count + " ticket" + (count === 1 ? "" : "s") + " selected";
      var clear = $("[data-bulk-clear]", bulk);
      if (clear) clear.hidden = count === 0;
    }

    function syncBulkValue() {
      var bulk = bulkForm();
      if (!bulk) return;
      var action = $("[data-bulk-action]", bulk).value;
      $all("[data-bulk-value]", bulk).forEach(function (box) {
        var on = box.getAttribute("data-bulk-value") === action;
        box.hidden = !on;
        $all("select, input", box).forEach(function (control) {
          control.disabled = !on;
        });
      });
      if (action === "close") {
        bulk.setAttribute("data-confirm", "Close the selected tickets? Closed tickets cannot be reopened.");
      } else {
        bulk.removeAttribute("data-confirm");
      }
    }

    // The search box asks for rows as you type; its "change" on blur would only ask again (and
    // replace rows whose checkboxes were just ticked). Stopped before it reaches the form.
    doc.addEventListener(
      "change",
      function (event) {
        if (event.target instanceof Element && event.target.id === "queue-q") event.stopPropagation();
      },
      true
    );

    doc.addEventListener("change", function (event) {
      var target = event.target;
      if (!(target instanceof Element)) return;
      if (target.matches("[data-select-all]")) {
        rowBoxes().forEach(function (box) {
          box.checked = target.checked;
        });
        updateBulk();
      } else if (target.matches('#queue-rows input[name="tickets"]')) {
        updateBulk();
      } else if (target.matches("[data-bulk-action]")) {
        syncBulkValue();
      } else if (target.closest("#queue-filters")) {
        var menu = target.closest(".filter-menu");
        if (menu) {
          var n = $all("input:checked", menu).length;
          var counter = $("[data-filter-count]", menu);
          if (counter) {
            counter.textContent = n;
            counter.hidden = n === 0;
          }
        }
      }
    });

    doc.addEventListener("click", function (event) {
      var target = event.target;
      if (!(target instanceof Element)) return;
      if (target.closest("[data-bulk-clear]")) {
        rowBoxes().forEach(function (box) {
          box.checked = false;
        });
        updateBulk();
      } else if (target.closest("[data-queue-refresh]")) {
        refreshRows();
      }
    });

    // Ticked tickets stay ticked when the rows are swapped (filters, refresh) and still shown.
    var keepSelected = [];
    doc.addEventListener("htmx:beforeSwap", function () {
      keepSelected = selectedNumbers();
    });

    // Keep the address bar short: leave empty filters out of the query.
    doc.addEventListener("htmx:configRequest", function (event) {
      var elt = event.detail.elt;
      if (!(elt instanceof Element) || elt.id !== "queue-filters") return;
      var data = event.detail.formData;
      if (!data || typeof data.forEach !== "function") return;
      var empty = [];
      data.forEach(function (value, key) {
        if (value === "" && empty.indexOf(key) === -1) empty.push(key);
      });
      empty.forEach(function (key) {
        data.delete(key);
      });
    });

    // Rows were swapped (filters, "Load more", refresh): recount, forget the keyboard row.
    doc.addEventListener("htmx:afterSettle", function () {
      current = -1;
      rowBoxes().forEach(function (box) {
        if (keepSelected.indexOf(box.value) !== -1) box.checked = true;
      });
      keepSelected = [];
      updateBulk();
    });

    doc.addEventListener("htmx:historyRestore", function () {
      current = -1;
      syncBulkValue();
      updateBulk();
    });

    // Actions whose value control only switches in with JS are enabled now.
    function enableBulkActions() {
      $all("[data-bulk-action] option[data-needs-js]").forEach(function (option) {
        option.disabled = false;
      });
    }

    doc.addEventListener("htmx:historyRestore", enableBulkActions);
    enableBulkActions();
    syncBulkValue();
    updateBulk();

    // Live: say that something changed; reload the rows only when the agent asks.
    function refreshRows() {
      var button = $("[data-queue-refresh]");
      if (button) button.hidden = true;
      if (typeof htmx === "undefined") {
        window.location.reload();
        return;
      }
      htmx.ajax("GET", window.location.pathname + window.location.search, {
        target: "#queue-rows",
        swap: "outerHTML",
      });
    }

    var live = new LiveSocket({
      url: function () {
        return wsUrl(wsPath);
      },
      onStatus: showLiveState,
      onMessage: function (message) {
        var button = $("[data-queue-refresh]");
        if (message.type === "queue.changed" && button) button.hidden = false;
      },
    });
    live.connect();
    keepAlive(live);

    // j / k / Enter / x / "/"
    function rows() {
      return $all("#queue-tbody > tr[data-queue-row]");
    }

    function setCurrent(index) {
      var list = rows();
      if (!list.length) return;
      index = Math.max(0, Math.min(list.length - 1, index));
      list.forEach(function (row) {
        row.classList.remove("is-current");
      });
      current = index;
      var row = list[index];
      row.classList.add("is-current");
      var link = $("a.stretched", row);
      if (link) link.focus({ preventScroll: true });
      row.scrollIntoView({ block: "nearest" });
    }

    function currentRow() {
      var list = rows();
      return current >= 0 && current < list.length ? list[current] : null;
    }

    keyHandlers.j = function () {
      setCurrent(current + 1);
    };
    keyHandlers.k = function () {
      setCurrent(current < 0 ? 0 : current - 1);
    };
    keyHandlers.Enter = function (event) {
      var row = currentRow();
      var target = event.target;
      // Only for the highlighted row; a focused link or button opens by itself.
      if (!row || (target !== doc.body && !row.contains(target))) return false;
      if (target instanceof Element && target.closest("a, button")) return false;
      var link = $("a.stretched", row);
      if (link) window.location.href = link.href;
    };
    keyHandlers.x = function () {
      var row = currentRow();
      var box = row && $('input[name="tickets"]', row);
      if (!box) return false;
      box.checked = !box.checked;
      updateBulk();
    };
    keyHandlers["/"] = function () {
      var search = $("#queue-q");
      if (!search) return false;
      search.focus();
      search.select();
    };
  }

  /* ---- Ticket -------------------------------------------------------------- */

  var EVENT_TEXT = {
    "ticket.reopened": "reopened the ticket",
    "ticket.escalated": "escalated the ticket",
    "ticket.deescalated": "handed the ticket back",
    "ticket.tags_changed": "changed the tags",
    "ticket.fields_changed": "updated the fields",
    "ticket.merged": "merged this ticket",
    "ticket.merged_in": "merged a ticket into this one",
  };

  function describe(event, viewers) {
    var actor = event.actor || "";
    if (event.actor_id && viewers[String(event.actor_id)]) actor = viewers[String(event.actor_id)].name;
    var kind = event.kind || "";
    if (kind === "sla.breached") return "The SLA was breached";
    if (kind === "sla.at_risk") return "The SLA is at risk";
    if (kind === "message.created") {
      if (!event.actor_id) return "The customer wrote";
      return actor + (event.public ? " replied" : " added an internal note");
    }
    var what;
    if (kind === "ticket.status_changed") what = "set the status to " + String(event.to || "").replace("_", " ");
    else if (kind === "ticket.priority_changed") what = "set the priority to " + event.to;
    else if (kind === "ticket.assigned") {
      if (!event.to) what = "removed the assignee";
      else if (String(event.to) === String(event.actor_id)) what = "took the ticket";
      else what = "changed the assignee";
    } else what = EVENT_TEXT[kind] || "updated the ticket";
    return (actor || "Someone") + " " + what;
  }

  function initTicket(root) {
    var me = parseInt(root.getAttribute("data-user-id"), 10);
    var lastCursor = parseInt(root.getAttribute("data-cursor"), 10) || 0;
    var viewers = {}; // user id -> {name, state, at}
    var navigating = false;
    var asidePending = false;
    var refreshTimer = null;
    var noticeTimer = null;

    var presenceText = $("[data-presence-text]");
    var presenceAvatars = $("[data-presence-avatars]");
    var liveNotice = $("[data-live-notice]");

    // Leaving the page (a form was sent, a link followed): no more refreshes, which would also
    // swallow the flash message waiting for the next page.
    doc.addEventListener("submit", function (event) {
      if (!event.defaultPrevented) navigating = true;
    });
    window.addEventListener("beforeunload", function () {
      navigating = true;
    });
    window.addEventListener("pageshow", function (event) {
      if (event.persisted) navigating = false;
    });

    /* Connection state */

    function setLive(state) {
      if (state === "open") {
        viewers = {}; // the others announce themselves again
        renderPresence();
      }
      showLiveState(state);
    }

    /* Presence: who else is here, who is typing */

    function renderPresence() {
      if (!presenceText) return;
      var typing = [];
      var watching = [];
      var everyone = [];
      Object.keys(viewers).forEach(function (id) {
        var viewer = viewers[id];
        everyone.push(viewer.name);
        (viewer.state === "typing" ? typing : watching).push(viewer.name);
      });
      presenceText.textContent = "";
      presenceText.classList.toggle("is-typing", typing.length > 0);
      if (typing.length) {
        presenceText.appendChild(
          doc.createTextNode(
            listNames(typing) + (typing.length === 1 ? " is typing a reply…" : " are typing replies…")
          )
        );
        var dots = doc.createElement("span");
        dots.className = "typing-dots";
        dots.setAttribute("aria-hidden", "true");
        dots.innerHTML = "<i></i><i></i><i></i>";
        presenceText.appendChild(dots);
      }
      if (watching.length) {
        presenceText.appendChild(
          doc.createTextNode(
            (typing.length ? " · " : "") +
              listNames(watching) +
              (watching.length === 1 ? " is also viewing" : " are also viewing")
          )
        );
      }
      if (presenceAvatars) {
        presenceAvatars.textContent = "";
        everyone.slice(0, 4).forEach(function (name) {
          var avatar = doc.createElement("span");
          avatar.className = "avatar avatar--sm";
          avatar.setAttribute("data-tone", String(name.length).slice(-1));
          avatar.title = name;
          avatar.textContent = initials(name);
          presenceAvatars.appendChild(avatar);
        });
      }
    }

    function onPresence(state, viewer) {
      if (!viewer || viewer.user_id === me) return;
      var id = String(viewer.user_id);
      if (state === "left") delete viewers[id];
      else viewers[id] = { name: viewer.name || "Someone", state: state, at: Date.now() };
      renderPresence();
    }

    // A typing signal comes at least every 3 s while someone types; expire stale ones.
    window.setInterval(function () {
      var changed = false;
      Object.keys(viewers).forEach(function (id) {
        if (viewers[id].state === "typing" && Date.now() - viewers[id].at > 8000) {
          viewers[id].state = "viewing";
          changed = true;
        }
      });
      if (changed) renderPresence();
    }, 2000);

    /* Events: de-duplicated by cursor; someone else's change refreshes the page's live parts */

    function notice(text) {
      if (!liveNotice) return;
      liveNotice.textContent = text + " just now.";
      window.clearTimeout(noticeTimer);
      noticeTimer = window.setTimeout(function () {
        liveNotice.textContent = "";
      }, 10000);
    }

    function onEvent(event) {
      if (!event || typeof event.cursor !== "number") return;
      if (event.cursor <= lastCursor) return;
      lastCursor = event.cursor;
      if (event.actor_id === me) return; // our own change: this page reloads after the POST
      notice(describe(event, viewers));
      scheduleRefresh();
    }

    // A message's analysis was stored (a notice, not a timeline event): swap its marker in.
    function onAnalysed(ids) {
      var shown = (ids || []).some(function (id) {
        return !!$('[data-analysis-for="' + String(id).replace(/[^\w-]/g, "") + '"]');
      });
      if (shown) scheduleRefresh();
    }

    // Notices are not replayed: after a reconnect, markers still "analysing…" are read again.
    var readyBefore = false;
    function onReady() {
      if (readyBefore && $(".analysis-marker--pending")) scheduleRefresh();
      readyBefore = true;
    }

    function scheduleRefresh() {
      window.clearTimeout(refreshTimer);
      refreshTimer = window.setTimeout(refresh, 350);
    }

    function asideBusy() {
      var aside = doc.getElementById("ticket-aside");
      if (!aside) return false;
      var active = doc.activeElement;
      if (active && aside.contains(active) && isEditable(active)) return true;
      return $all("input, textarea, select", aside).some(isDirty);
    }

    function openDisclosures() {
      return $all("#ticket-aside details[open][data-disclosure]").map(function (d) {
        return d.getAttribute("data-disclosure");
      });
    }

    function reopen(keys) {
      keys.forEach(function (key) {
        var details = $('#ticket-aside details[data-disclosure="' + key + '"]');
        if (details) details.open = true;
      });
    }

    function swap(target, outOfBand) {
      var keys = openDisclosures();
      return htmx
        .ajax("GET", window.location.pathname, {
          target: target,
          select: target,
          swap: "outerHTML",
          selectOOB: outOfBand.join(","),
        })
        .then(function () {
          reopen(keys);
          updateCountdowns(doc);
        });
    }

    function refresh() {
      if (navigating) return;
      if (typeof htmx === "undefined") return;
      var outOfBand = ["#ticket-meta"];
      if (asideBusy()) {
        asidePending = true; // the agent is editing a side-panel form: later
      } else {
        asidePending = false;
        outOfBand.push("#ticket-aside");
      }
      swap("#ticket-thread", outOfBand);
    }

    doc.addEventListener("focusout", function (event) {
      var aside = doc.getElementById("ticket-aside");
      if (!asidePending || !aside || !aside.contains(event.target)) return;
      window.setTimeout(function () {
        if (asidePending && !navigating && !asideBusy()) {
          asidePending = false;
          swap("#ticket-aside", ["#ticket-meta"]);
        }
      }, 0);
    });

    /* The socket */

    var live = new LiveSocket({
      url: function () {
        return wsUrl(root.getAttribute("data-ws-path"), "?cursor=" + lastCursor);
      },
      onStatus: setLive,
      onMessage: function (message) {
        if (message.type === "event") onEvent(message.event);
        else if (message.type === "analysed") onAnalysed(message.messages);
        else if (message.type === "presence") onPresence(message.state, message.viewer);
        else if (message.type === "resync_required") scheduleRefresh();
        else if (message.type === "ready") onReady();
      },
    });
    live.connect();
    keepAlive(live);

    initReplyBox(root, live);

    keyHandlers.t = function () {
      var form = $('form[data-shortcut="take"]');
      if (!form) return false;
      form.requestSubmit();
    };
    keyHandlers.s = function () {
      var form = $('form[data-shortcut="solve"]');
      if (!form) return false;
      form.requestSubmit();
    };
  }

  /* ---- Reply box ------------------------------------------------------------ */

  function initReplyBox(root, live) {
    var reply = $("[data-reply]");
    if (!reply) return;
    var form = $("[data-reply-form]", reply);
    var body = $("[data-reply-body]", reply);
    var macroInput = $("[data-macro-input]", reply);
    var effects = $("[data-macro-effects]", reply);
    var effectsName = $("[data-macro-name]", reply);
    var effectsText = $("[data-macro-effects-text]", reply);
    var submitLabel = $("[data-reply-submit-label]", reply);
    var picker = $("[data-macro-picker]", reply);
    var select = $("[data-macro-select]", reply);
    var hint = $("[data-reply-hint]", reply);
    var draftKey = "helpdesk:draft:" + root.getAttribute("data-draft-key");

    function isNote() {
      var note = $('input[data-mode="note"]', reply);
      return !!(note && note.checked);
    }

    function setMode(note) {
      var radio = $('input[data-mode="' + (note ? "note" : "reply") + '"]', reply);
      if (radio) radio.checked = true;
      reply.classList.toggle("is-note", note);
      body.placeholder = body.getAttribute(note ? "data-placeholder-note" : "data-placeholder-reply");
      if (submitLabel) submitLabel.textContent = note ? "Add note" : "Send reply";
    }

    /* Drafts survive page reloads (another action on the page, a refused send). */

    function storage() {
      try {
        return window.sessionStorage;
      } catch (err) {
        return null;
      }
    }

    function saveDraft() {
      var store = storage();
      if (!store) return;
      try {
        if (!body.value.trim()) {
          store.removeItem(draftKey);
          return;
        }
        store.setItem(
          draftKey,
          JSON.stringify({
            body: body.value,
            note: isNote(),
            macro: macroInput.value,
            macroName: effectsName ? effectsName.textContent : "",
            effects: effectsText ? effectsText.textContent : "",
          })
        );
      } catch (err) {
        /* storage full or blocked: nothing to do */
      }
    }

    function restore(draft) {
      if (!draft || body.value.trim()) return;
      body.value = draft.body || "";
      setMode(!!draft.note);
      if (draft.macro) showMacro(draft.macro, draft.macroName, draft.effects);
    }

    function loadDraft() {
      var store = storage();
      if (!store) return;
      try {
        var sent = store.getItem(draftKey + ":sent");
        store.removeItem(draftKey + ":sent");
        var refused = $(".flash-stack .alert--error");
        if (sent && refused) restore(JSON.parse(sent));
        else restore(JSON.parse(store.getItem(draftKey) || "null"));
      } catch (err) {
        /* a broken draft is not worth an error */
      }
    }

    /* Macros: preview, fill the text, remember which one so its actions apply on send. */

    function showMacro(id, name, text) {
      macroInput.value = id;
      if (effectsName) effectsName.textContent = name || "";
      if (effectsText) effectsText.textContent = text || "";
      if (effects) effects.hidden = !id;
    }

    function labelFor(selector, value) {
      var option = $(selector + ' option[value="' + value + '"]');
      return option ? option.textContent.trim().toLowerCase() : String(value).replace("_", " ");
    }

    function describeMacro(data) {
      var parts = [];
      if (data.set_status) parts.push("sets the status to " + labelFor("#act-status", data.set_status));
      if (data.set_priority) parts.push("sets the priority to " + labelFor("#act-priority", data.set_priority));
      if (data.add_tags && data.add_tags.length) {
        parts.push("adds the tag" + (data.add_tags.length === 1 ? " " : "s ") + data.add_tags.join(", "));
      }
      var text = parts.length ? "Also " + parts.join(", ") + " when you send." : "Inserts its text only.";
      if (!String(data.body || "").trim()) text += " It has no text of its own: write your message.";
      return text;
    }

    function applyMacro(option) {
      var url = option.getAttribute("data-url");
      var name = option.textContent.trim();
      if (effects) effects.setAttribute("aria-busy", "true");
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.json();
        })
        .then(function (data) {
          var draft = body.value.trim();
          var text = String(data.body || "");
          if (
            draft &&
            text.trim() &&
            draft !== text.trim() &&
            !window.confirm("Replace your draft with the macro “" + name + "”?")
          ) {
            return;
          }
          if (text.trim()) body.value = text;
          showMacro(option.value, name, describeMacro(data));
          body.focus();
          body.setSelectionRange(body.value.length, body.value.length);
          saveDraft();
        })
        .catch(function () {
          showMacro("", "", "");
          if (effects) {
            effects.hidden = false;
            effectsName.textContent = "";
            effectsText.textContent = "Could not load that macro. Try again.";
          }
        })
        .then(function () {
          if (effects) effects.removeAttribute("aria-busy");
          select.value = "";
        });
    }

    if (picker && select) {
      picker.hidden = false;
      select.addEventListener("change", function () {
        var option = select.options[select.selectedIndex];
        if (option && option.value) applyMacro(option);
      });
    }

    var clear = $("[data-macro-clear]", reply);
    if (clear) {
      clear.addEventListener("click", function () {
        showMacro("", "", "");
        saveDraft();
        body.focus();
      });
    }

    /* Note / reply toggle */

    reply.addEventListener("change", function (event) {
      if (event.target instanceof HTMLInputElement && event.target.name === "internal") {
        setMode(event.target.value === "true");
        saveDraft();
      }
    });

    /* Typing signal: true at most every 3 s while typing, false after 5 s idle or on send. */

    var typingActive = false;
    var typingSentAt = 0;
    var idleTimer = null;

    function stopTyping() {
      window.clearTimeout(idleTimer);
      if (typingActive) {
        live.send({ action: "typing", typing: false });
        typingActive = false;
      }
    }

    body.addEventListener("input", function () {
      var now = Date.now();
      if (!typingActive || now - typingSentAt >= 3000) {
        if (live.send({ action: "typing", typing: true })) {
          typingActive = true;
          typingSentAt = now;
        }
      }
      window.clearTimeout(idleTimer);
      idleTimer = window.setTimeout(stopTyping, 5000);
      saveDraft();
    });
    body.addEventListener("blur", stopTyping);

    body.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    if (hint) hint.hidden = false;

    form.addEventListener("submit", function (event) {
      if (event.defaultPrevented) return;
      stopTyping();
      var store = storage();
      if (!store) return;
      try {
        var draft = store.getItem(draftKey);
        if (draft) store.setItem(draftKey + ":sent", draft);
        store.removeItem(draftKey);
      } catch (err) {
        /* ignore */
      }
    });

    loadDraft();
    setMode(isNote());

    keyHandlers.r = function () {
      reply.scrollIntoView({ block: "nearest", behavior: "smooth" });
      body.focus({ preventScroll: true });
    };
    keyHandlers.n = function () {
      setMode(!isNote());
      saveDraft();
    };
  }

  /* ---- Customer page ---------------------------------------------------------- */

  function initCustomer() {
    $all("[data-open-details]").forEach(function (link) {
      link.addEventListener("click", function (event) {
        var details = doc.getElementById(link.getAttribute("data-open-details"));
        if (!details) return;
        event.preventDefault();
        details.open = true;
        details.scrollIntoView({ block: "start", behavior: "smooth" });
        var first = $("input, textarea, select", details);
        if (first) first.focus({ preventScroll: true });
      });
    });
    if (window.location.hash === "#edit-profile") {
      var details = doc.getElementById("edit-profile");
      if (details) details.open = true;
    }
  }

  /* ---- Boot --------------------------------------------------------------------- */

  function boot() {
    var queue = $("[data-queue-page]");
    var ticket = $("[data-ticket-page]");
    if (queue) initQueue(queue);
    if (ticket) initTicket(ticket);
    initCustomer();
    initShortcuts();
    updateCountdowns(doc);
    window.setInterval(function () {
      updateCountdowns(doc);
    }, 30 * 1000);
  }

  doc.addEventListener("htmx:load", function (event) {
    if (event.target instanceof Element) updateCountdowns(event.target);
  });

  if (doc.readyState === "loading") doc.addEventListener("DOMContentLoaded", boot);
  else boot();
})();
