/* The customer's live status page (templates/tickets/status/_status.html).
 *
 *  - A receive-only WebSocket (/ws/status/<viewer token>/?cursor=N) replays what the page missed
 *    and then streams new public events; every event carries a cursor (its id), so nothing is
 *    shown twice.
 *  - When the socket drops it reconnects with exponential backoff (and jitter); before each
 *    attempt it catches up over HTTP from the last cursor it saw, which also renews the viewer
 *    token. While sockets fail (blocked by a proxy, for example) it polls every few seconds.
 *  - The summary (progress, what it means, what happens next) is replaced by the newest one.
 *  - Changes are announced in an ARIA live region; with the tab in the background, a browser
 *    notification tells the customer (permission is asked only when they click the button).
 *  - Replies and the CSAT answer are sent without leaving the page; the CSAT form appears when
 *    the request is resolved (once per resolution).
 *  - The socket speaks the site's language (config.liveLanguage). A page shown in another one
 *    (the customer's Accept-Language) takes the socket's messages as a signal only and fetches
 *    the same events and summary, in its own language, over HTTP.
 * No inline scripts: the configuration and the localised strings come from json_script blocks.
 */
(function () {
  "use strict";

  var doc = document;
  var root = doc.querySelector("[data-status-page]");
  var configEl = doc.getElementById("status-config");
  var stringsEl = doc.getElementById("status-strings");
  if (!root || !configEl || !stringsEl) return;

  var config = JSON.parse(configEl.textContent);
  var t = JSON.parse(stringsEl.textContent);
  var pageLanguage = root.getAttribute("lang") || "";
  var wordsOverHttp = Boolean(config.liveLanguage && pageLanguage && pageLanguage !== config.liveLanguage);

  var POLL_MS = 8000;
  var SUMMARY_REFRESH_MS = 120000;
  var MAX_BACKOFF_MS = 30000;

  var summaryEl = root.querySelector("[data-summary]");
  var timeline = root.querySelector("[data-timeline]");
  var announcer = root.querySelector("[data-announce]");
  var liveDot = root.querySelector("[data-live-dot]");
  var liveLabel = root.querySelector("[data-live-label]");
  var replyBox = root.querySelector("[data-reply]");
  var feedback = root.querySelector("[data-feedback]");

  var state = {
    cursor: Number(config.cursor) || 0,
    summaryCursor: Number(summaryEl.getAttribute("data-summary-cursor")) || 0,
    stage: summaryEl.getAttribute("data-stage"),
    wsPath: config.wsPath,
    socket: null,
    failures: 0,
    reconnectTimer: null,
    pollTimer: null,
    polling: false,
    inflight: null,
    revoked: false,
    ready: false,
    wordsAgain: false,
  };

  function format(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (_, key) {
      return values[key] == null ? "" : String(values[key]);
    });
  }

  /* ---- Connection state shown to the customer ------------------------------ */

  function setLive(mode) {
    if (!liveDot || !liveLabel) return;
    var labels = {
      live: t.live,
      connecting: t.connecting,
      polling: t.polling,
      offline: t.offline,
      revoked: t.revoked,
    };
    liveLabel.textContent = labels[mode] || "";
    liveDot.className = "status-dot" + (mode === "live" ? "" : mode === "polling" ? " status-dot--away" : " status-dot--off");
    root.setAttribute("data-live-mode", mode);
  }

  function announce(text) {
    if (!announcer || !text) return;
    announcer.textContent = "";
    window.setTimeout(function () {
      announcer.textContent = text;
    }, 50);
  }

  /* ---- Times in the visitor's own time zone -------------------------------- */

  var visitorZone = "";
  try {
    visitorZone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch (err) {
    visitorZone = "";
  }

  // Dates and times in the page's language (a German page: "26. Nov., 15:37"), not the
  // browser's: the language the page was rendered in (the customer's Accept-Language).
  var dateLanguage = pageLanguage || doc.documentElement.lang || undefined;

  function localTime(iso, withDate) {
    var date = new Date(iso);
    if (isNaN(date.getTime())) return "";
    var options = { hour: "numeric", minute: "2-digit" };
    if (withDate) {
      options.day = "numeric";
      options.month = "short";
    }
    try {
      return date.toLocaleString(dateLanguage, options);
    } catch (err) {  // a language tag the browser does not know
      return date.toLocaleString(undefined, options);
    }
  }

  function localiseTimes(scope) {
    Array.prototype.forEach.call((scope || root).querySelectorAll("time[data-local-time]"), function (el) {
      var text = localTime(el.getAttribute("datetime"), true);
      if (text) el.textContent = text;
    });
  }

  function showLocalEta() {
    var el = root.querySelector("[data-local-eta]");
    if (!el) return;
    var eta = el.getAttribute("data-eta");
    if (!eta || !visitorZone || visitorZone === config.tenantTimeZone) {
      el.hidden = true;
      return;
    }
    el.textContent = format(t.yourTime, { time: localTime(eta, false) });
    el.hidden = false;
  }

  /* ---- Rendering events and the summary ------------------------------------- */

  function el(tag, className, text) {
    var node = doc.createElement(tag);
    if (className) node.className = className;
    if (text != null) node.textContent = text;
    return node;
  }

  function timeEl(iso) {
    var node = el("time", "status-time", localTime(iso, true));
    node.setAttribute("datetime", iso);
    node.setAttribute("data-local-time", "");
    return node;
  }

  function renderEntry(entry) {
    var item = el("li", "status-entry");
    item.setAttribute("data-cursor", String(entry.cursor));
    if (entry.kind === "message") {
      item.classList.add("status-entry--message", entry.mine ? "status-entry--mine" : "status-entry--staff");
      var article = el("article", "status-msg");
      article.setAttribute("aria-label", entry.author);
      var head = el("header", "status-msg-head");
      head.appendChild(el("span", "status-msg-author", entry.author));
      head.appendChild(doc.createTextNode(" "));
      head.appendChild(timeEl(entry.at));
      var body = el("div", "status-msg-body prose");
      body.innerHTML = entry.html; // sanitised on the server (nh3) when the message was stored
      article.appendChild(head);
      article.appendChild(body);
      item.appendChild(article);
    } else {
      item.classList.add("status-entry--update");
      var dot = el("span", "status-entry-dot");
      dot.setAttribute("aria-hidden", "true");
      var text = el("p", "status-entry-text", entry.text + " ");
      text.appendChild(timeEl(entry.at));
      item.appendChild(dot);
      item.appendChild(text);
    }
    item.classList.add("is-new");
    return item;
  }

  function notify(entry) {
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    if (!doc.hidden) return;
    var title = entry.kind === "message" ? format(t.newReply, { name: entry.author }) : t.update;
    try {
      var note = new Notification(title, { body: entry.text, tag: "status-" + entry.cursor });
      note.onclick = function () {
        window.focus();
        note.close();
      };
    } catch (err) {
      /* some browsers only allow notifications from a service worker: the page still updates */
    }
  }

  /* Entries are kept in cursor order and shown once. Usually they come in order; a catch-up
     over HTTP (after resync_required) can answer after newer live entries, and its older ones
     are slotted in where they belong. */
  function placeEntry(node, cursor) {
    if (cursor > state.cursor) {
      timeline.appendChild(node);
      state.cursor = cursor;
      return;
    }
    var later = Array.prototype.find.call(timeline.querySelectorAll("[data-cursor]"), function (item) {
      return Number(item.getAttribute("data-cursor")) > cursor;
    });
    timeline.insertBefore(node, later || null);
  }

  function applyEvents(events) {
    if (!events || !events.length) return;
    var empty = root.querySelector("[data-timeline-empty]");
    events
      .slice()
      .sort(function (a, b) {
        return a.cursor - b.cursor;
      })
      .forEach(function (entry) {
        if (timeline.querySelector('[data-cursor="' + entry.cursor + '"]')) return;
        placeEntry(renderEntry(entry), entry.cursor);
        if (empty) empty.remove();
        if (!entry.mine) {
          announce(entry.kind === "message" ? format(t.newReply, { name: entry.author }) + ": " + entry.text : entry.text);
          notify(entry);
        }
      });
  }

  function renderSteps(steps) {
    var list = el("ol", "status-steps");
    list.setAttribute("data-steps", "");
    list.setAttribute("aria-label", t.progress);
    steps.forEach(function (step) {
      var item = el("li", "status-step status-step--" + step.state);
      if (step.state === "current") item.setAttribute("aria-current", "step");
      var dot = el("span", "status-step-dot");
      dot.setAttribute("aria-hidden", "true");
      item.appendChild(dot);
      item.appendChild(el("span", "status-step-label", step.label));
      list.appendChild(item);
    });
    return list;
  }

  function applySummary(summary) {
    if (!summary || summary.cursor < state.summaryCursor) return;
    state.summaryCursor = summary.cursor;
    var previousStage = state.stage;
    state.stage = summary.stage;
    summaryEl.setAttribute("data-stage", summary.stage);
    summaryEl.setAttribute("data-summary-cursor", String(summary.cursor));
    var oldSteps = summaryEl.querySelector("[data-steps]");
    if (summary.steps && summary.steps.length) {
      var steps = renderSteps(summary.steps);
      if (oldSteps) oldSteps.replaceWith(steps);
      else summaryEl.querySelector(".card-body").prepend(steps);
    } else if (oldSteps) {
      oldSteps.remove();
    }
    var headline = summaryEl.querySelector("[data-headline]");
    var next = summaryEl.querySelector("[data-next]");
    var changed = headline.textContent !== summary.headline;
    headline.textContent = summary.headline;
    next.textContent = summary.next;
    var eta = summaryEl.querySelector("[data-local-eta]");
    if (eta) {
      if (summary.eta) eta.setAttribute("data-eta", summary.eta);
      else eta.removeAttribute("data-eta");
      showLocalEta();
    }
    if (replyBox) replyBox.hidden = !summary.can_reply;
    if (changed && previousStage !== summary.stage) announce(summary.headline);
    showFeedback(summary);
  }

  /* ---- CSAT: asked once per resolution, answered in place ------------------------ */

  function showFeedback(summary) {
    var csat = feedback && feedback.querySelector("[data-csat]");
    if (!csat) return;
    if (!summary.resolved) {
      csat.hidden = true;
      return;
    }
    var shown = csat.getAttribute("data-csat-state");
    var sameRound = Number(csat.getAttribute("data-csat-resolution")) === summary.resolution;
    if (sameRound && (shown === "ask" || shown === "thanks")) {
      csat.hidden = false;
      return;
    }
    var template = feedback.querySelector("template[data-csat-template]");
    if (!template) return;
    csat.textContent = "";
    csat.appendChild(template.content.cloneNode(true));
    csat.setAttribute("data-csat-state", "ask");
    csat.setAttribute("data-csat-resolution", String(summary.resolution));
    csat.hidden = false;
  }

  /* ---- HTTP: catch-up and the polling fallback ------------------------------ */

  function revoke() {
    state.revoked = true;
    stopPolling();
    if (state.socket) state.socket.close();
    window.clearTimeout(state.reconnectTimer);
    setLive("revoked");
    announce(t.revoked);
    if (replyBox) replyBox.hidden = true;
  }

  function catchUp() {
    if (state.inflight) return state.inflight;
    var url = config.pollUrl + "?cursor=" + encodeURIComponent(String(state.cursor));
    state.inflight = fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (response.status === 404) {
          revoke();
          return null;
        }
        if (!response.ok) throw new Error("poll failed: " + response.status);
        return response.json();
      })
      .then(function (data) {
        state.inflight = null;
        if (!data) return false;
        applyEvents(data.events);
        applySummary(data.summary);
        if (data.wsPath) state.wsPath = data.wsPath;
        if (data.more) return catchUp();
        return true;
      })
      .catch(function () {
        state.inflight = null;
        return false;
      });
    return state.inflight;
  }

  // A socket message on a page in another language: fetch its words. A fetch already under
  // way may have left before this change committed, so one more follows it.
  function fetchWords() {
    if (state.wordsAgain) return; // one more is queued already
    if (!state.inflight) {
      catchUp();
      return;
    }
    state.wordsAgain = true;
    state.inflight.then(function () {
      state.wordsAgain = false;
      fetchWords();
    });
  }

  function startPolling() {
    if (state.polling || state.revoked) return;
    state.polling = true;
    setLive(navigator.onLine === false ? "offline" : "polling");
    var tick = function () {
      if (!state.polling) return;
      catchUp().then(function () {
        if (state.polling) state.pollTimer = window.setTimeout(tick, POLL_MS);
      });
    };
    state.pollTimer = window.setTimeout(tick, 0);
  }

  function stopPolling() {
    state.polling = false;
    window.clearTimeout(state.pollTimer);
  }

  /* ---- The socket -------------------------------------------------------- */

  function socketUrl() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    return scheme + window.location.host + state.wsPath + "?cursor=" + encodeURIComponent(String(state.cursor));
  }

  function connect() {
    if (state.revoked || state.socket || !("WebSocket" in window)) {
      if (!("WebSocket" in window)) startPolling();
      return;
    }
    if (!state.polling) setLive("connecting");
    var socket;
    try {
      socket = new WebSocket(socketUrl());
    } catch (err) {
      onSocketGone(null);
      return;
    }
    state.socket = socket;
    state.ready = false;
    socket.onmessage = function (event) {
      var message;
      try {
        message = JSON.parse(event.data);
      } catch (err) {
        return;
      }
      if (message.type === "update") {
        if (wordsOverHttp) {
          fetchWords();
        } else {
          applyEvents(message.events);
          applySummary(message.summary);
        }
      } else if (message.type === "ready") {
        state.ready = true;
        state.failures = 0;
        stopPolling();
        if (wordsOverHttp) fetchWords();
        else applySummary(message.summary);
        setLive("live");
      } else if (message.type === "resync_required") {
        catchUp();
      } else if (message.type === "revoked") {
        revoke();
      }
    };
    socket.onclose = function (event) {
      if (state.socket === socket) onSocketGone(event);
    };
  }

  function onSocketGone(event) {
    state.socket = null;
    state.ready = false;
    if (state.revoked) return;
    if (event && event.code === 4410) {
      revoke();
      return;
    }
    state.failures += 1;
    startPolling();
    var delay = Math.min(MAX_BACKOFF_MS, 1000 * Math.pow(2, state.failures - 1));
    delay = Math.round(delay * (0.5 + Math.random() * 0.5));
    window.clearTimeout(state.reconnectTimer);
    state.reconnectTimer = window.setTimeout(function () {
      // Catch up first: it shows what was missed and renews the (short-lived) viewer token.
      catchUp().then(function () {
        connect();
      });
    }, delay);
  }

  /* ---- Browser notifications (asked on click only) ------------------------------ */

  var notifyBox = root.querySelector("[data-notify]");
  function showNotifyState() {
    if (!notifyBox || !("Notification" in window)) return;
    notifyBox.hidden = false;
    var button = notifyBox.querySelector("[data-notify-button]");
    var stateEl = notifyBox.querySelector("[data-notify-state]");
    if (Notification.permission === "granted") {
      button.hidden = true;
      stateEl.textContent = t.notifyOn;
    } else if (Notification.permission === "denied") {
      button.hidden = true;
      stateEl.textContent = t.notifyBlocked;
    }
  }
  if (notifyBox) {
    notifyBox.addEventListener("click", function (event) {
      if (!(event.target instanceof Element) || !event.target.closest("[data-notify-button]")) return;
      var asked = Notification.requestPermission(showNotifyState);
      if (asked && typeof asked.then === "function") asked.then(showNotifyState);
    });
    showNotifyState();
  }

  /* ---- Replies without leaving the page ----------------------------------- */

  var replyForm = root.querySelector("[data-reply-form]");
  if (replyForm) {
    replyForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var status = replyForm.querySelector("[data-reply-status]");
      var button = replyForm.querySelector("button[type=submit]");
      var text = replyForm.querySelector("textarea");
      button.disabled = true;
      fetch(replyForm.action, {
        method: "POST",
        body: new FormData(replyForm),
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      })
        .then(function (response) {
          return response.json().then(function (data) {
            return { ok: response.ok, data: data };
          });
        })
        .then(function (result) {
          if (result.ok) {
            text.value = "";
            status.textContent = t.sent;
            if (!state.ready) catchUp();
          } else {
            status.textContent = (result.data && result.data.message) || t.sendFailed;
          }
        })
        .catch(function () {
          status.textContent = t.sendFailed;
        })
        .then(function () {
          button.disabled = false;
        });
    });
  }

  if (feedback) {
    // One click on a score is the answer (the comment can follow). Keyboard users move through
    // the scale with the arrow keys, which also "click": for them (detail 0) the button sends.
    feedback.addEventListener("click", function (event) {
      if (event.detail === 0 || !event.target.closest) return;
      var option = event.target.closest(".csat-option");
      var form = option && option.closest("form[data-csat-form]");
      if (!form) return;
      var comment = form.querySelector("textarea[name=comment]");
      if (comment && comment.value.trim()) return; // they are writing: Send when ready
      window.setTimeout(function () {
        if (!form.querySelector("input[name=score]:checked")) return;
        if (form.requestSubmit) form.requestSubmit();
      }, 0);
    });
    feedback.addEventListener("submit", function (event) {
      var form = event.target;
      if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-csat-form")) return;
      event.preventDefault();
      var button = form.querySelector("button[type=submit]");
      if (button) button.disabled = true;
      fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { "X-Fragment": "1" },
        credentials: "same-origin",
      })
        .then(function (response) {
          return response.text();
        })
        .then(function (html) {
          feedback.innerHTML = html;
          var focusable = feedback.querySelector("[role=status], [role=alert], input, textarea");
          if (focusable && focusable.getAttribute("role") === "status") announce(focusable.textContent.trim());
        })
        .catch(function () {
          if (button) button.disabled = false;
        });
    });
  }

  /* ---- Start ------------------------------------------------------------- */

  localiseTimes(root);
  showLocalEta();
  connect();
  doc.addEventListener("visibilitychange", function () {
    if (!doc.hidden && !state.ready && !state.revoked) catchUp();
  });
  window.addEventListener("online", function () {
    if (!state.socket && !state.revoked) {
      window.clearTimeout(state.reconnectTimer);
      catchUp().then(connect);
    }
  });
  window.setInterval(function () {
    // The line ahead of a new request moves when other requests are answered; and should an
    // update never arrive over the socket (with nothing after it to reveal the gap), this
    // brings it within a couple of minutes.
    if (!state.revoked) catchUp();
  }, SUMMARY_REFRESH_MS);
})();
