/* The agents' live chat page (templates/tickets/chat/console.html).
 *
 * One WebSocket (/ws/t/<slug>/chat/) per page: told when the list of chats changes (the list is
 * re-fetched as server-rendered HTML), and streaming the open chat's messages in order. Answers
 * get a random id and stay in an outbox until acknowledged; after a reconnect the page re-opens
 * the chat from its last cursor and resends the outbox (stored once by the server).
 */
(function () {
  "use strict";

  var root = document.querySelector("[data-chat-console]");
  if (!root || !window.WebSocket) return;

  function $(selector) {
    return root.querySelector(selector);
  }

  var wsPath = root.getAttribute("data-ws-path");
  var listUrl = root.getAttribute("data-list-url");
  var canWork = root.getAttribute("data-can-work") === "true";
  var listBox = $("[data-chat-list]");
  var empty = $("[data-chat-empty]");
  var convo = $("[data-chat-convo]");
  var thread = $("[data-chat-thread]");
  var typingLine = $("[data-chat-typing]");
  var composer = $("[data-chat-composer]");
  var input = $("[data-chat-input]");
  var outboxLine = $("[data-chat-outbox]");
  var customerEl = $("[data-chat-customer]");
  var emailEl = $("[data-chat-email]");
  var ticketEl = $("[data-chat-ticket]");
  var stateEl = $("[data-chat-state]");
  var endButton = $("[data-chat-end]");
  var statusWrap = document.querySelector("[data-chat-status]");
  var statusText = document.querySelector("[data-chat-status-text]");
  var statusDot = statusWrap ? statusWrap.querySelector(".status-dot") : null;

  var STATES = { waiting: "Waiting", active: "Active", ended: "Ended", converted: "Now an email ticket" };

  var ws = null;
  var connected = false;
  var backoff = 500;
  var current = "";
  var cursor = 0;
  var rendered = {};
  var pending = {};
  var outbox = [];
  var listTimer = null;
  var typingSentAt = 0;
  var typingStop = null;
  var typingHide = null;

  function randomId() {
    var data = new Uint8Array(12);
    window.crypto.getRandomValues(data);
    return Array.prototype.map
      .call(data, function (b) {
        return ("0" + b.toString(16)).slice(-2);
      })
      .join("");
  }

  function setLive(online) {
    if (!statusWrap) return;
    statusWrap.hidden = false;
    statusText.textContent = online ? "Live" : "Reconnecting…";
    if (statusDot) statusDot.className = "status-dot" + (online ? "" : " status-dot--off");
  }

  function send(frame) {
    if (!connected) return false;
    ws.send(JSON.stringify(frame));
    return true;
  }

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + location.host + wsPath);
    ws = socket;
    socket.onopen = function () {
      connected = true;
      backoff = 500;
      setLive(true);
      if (current) send({ action: "open", chat: current, cursor: cursor });
      refreshList();
    };
    socket.onmessage = function (event) {
      var frame;
      try {
        frame = JSON.parse(event.data);
      } catch (e) {
        return;
      }
      handle(frame);
    };
    socket.onclose = function () {
      if (ws !== socket) return;
      connected = false;
      setLive(false);
      setTimeout(connect, backoff + Math.floor(Math.random() * 250));
      backoff = Math.min(backoff * 2, 10000);
    };
  }

  /* ---- The list ------------------------------------------------------------------------------ */

  function markSelected() {
    Array.prototype.forEach.call(listBox.querySelectorAll("[data-chat-open]"), function (button) {
      var on = button.getAttribute("data-chat-open") === current;
      button.setAttribute("aria-pressed", on ? "true" : "false");
      button.classList.toggle("is-current", on);
    });
  }

  function refreshList() {
    clearTimeout(listTimer);
    listTimer = setTimeout(function () {
      fetch(listUrl, { credentials: "same-origin", headers: { "HX-Request": "true" } })
        .then(function (response) {
          return response.ok ? response.text() : null;
        })
        .then(function (html) {
          if (html === null) return;
          listBox.innerHTML = html; // our own server-rendered, escaped partial
          markSelected();
        })
        .catch(function () {});
    }, 250);
  }

  listBox.addEventListener("click", function (event) {
    var button = event.target.closest("[data-chat-open]");
    if (button) openChat(button.getAttribute("data-chat-open"));
  });

  /* ---- The conversation ---------------------------------------------------------------------- */

  function timeText(iso) {
    try {
      return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    } catch (e) {
      return "";
    }
  }

  function bubble(message) {
    var kind = message.author === "customer" ? "customer" : message.internal ? "internal" : "agent";
    var item = document.createElement("li");
    item.className = "chat-msg chat-msg--" + kind;
    var head = document.createElement("span");
    head.className = "chat-msg-head";
    head.textContent =
      (message.name || (kind === "customer" ? "Customer" : "Agent")) +
      (kind === "internal" ? " · internal note" : "") +
      (message.at ? " · " + timeText(message.at) : " · sending…");
    var body = document.createElement("span");
    body.className = "chat-msg-body";
    body.textContent = message.body;
    item.appendChild(head);
    item.appendChild(body);
    return item;
  }

  function show(message) {
    if (rendered[message.cursor]) return;
    rendered[message.cursor] = true;
    var node = bubble(message);
    node.setAttribute("data-cursor", String(message.cursor));
    var waiting = message.client_id && pending[message.client_id];
    if (waiting) {
      thread.replaceChild(node, waiting);
      delete pending[message.client_id];
    } else {
      var later = null;
      Array.prototype.some.call(thread.querySelectorAll("[data-cursor]"), function (other) {
        if (Number(other.getAttribute("data-cursor")) > message.cursor) {
          later = other;
          return true;
        }
        return false;
      });
      thread.insertBefore(node, later || thread.querySelector("[data-pending]"));
    }
    if (message.author === "customer") typingLine.textContent = "";
    thread.scrollTop = thread.scrollHeight;
  }

  function updateOutboxLine() {
    var mine = outbox.filter(function (item) {
      return item.chat === current;
    }).length;
    if (outboxLine) outboxLine.textContent = mine ? mine + " waiting to send…" : "";
  }

  function openChat(id) {
    if (!id || id === current) return;
    current = id;
    cursor = 0;
    rendered = {};
    pending = {};
    thread.textContent = "";
    typingLine.textContent = "";
    empty.hidden = true;
    convo.hidden = false;
    customerEl.textContent = "Loading…";
    markSelected();
    if (window.history && history.replaceState) {
      history.replaceState(null, "", location.pathname + "?chat=" + encodeURIComponent(id));
    }
    outbox
      .filter(function (item) {
        return item.chat === current;
      })
      .forEach(showPending);
    updateOutboxLine();
    send({ action: "open", chat: id, cursor: 0 });
  }

  function showPending(item) {
    var node = bubble({ author: "agent", body: item.body, name: "You" });
    node.classList.add("is-pending");
    node.setAttribute("data-pending", item.id);
    pending[item.id] = node;
    thread.appendChild(node);
    thread.scrollTop = thread.scrollHeight;
  }

  function setState(state) {
    stateEl.textContent = STATES[state] || state;
    var over = state === "ended" || state === "converted";
    if (composer) composer.hidden = over;
    if (endButton) endButton.hidden = over;
  }

  function handle(frame) {
    switch (frame.type) {
      case "hello":
        canWork = frame.can_work;
        break;
      case "chats.changed":
        refreshList();
        break;
      case "opened":
        if (frame.chat !== current) return;
        customerEl.textContent = frame.customer;
        emailEl.textContent = frame.email || "no email given";
        ticketEl.textContent = frame.reference;
        ticketEl.href = frame.ticket_url;
        setState(frame.state);
        outbox
          .filter(function (item) {
            return item.chat === current;
          })
          .forEach(function (item) {
            send({ action: "message", chat: item.chat, id: item.id, body: item.body });
          });
        if (input && canWork && frame.state !== "ended" && frame.state !== "converted") input.focus();
        break;
      case "message":
        if (frame.message.cursor > cursor) cursor = frame.message.cursor;
        show(frame.message);
        break;
      case "ack":
        outbox = outbox.filter(function (item) {
          return item.id !== frame.client_id;
        });
        updateOutboxLine();
        if (frame.message) show(frame.message);
        break;
      case "typing":
        clearTimeout(typingHide);
        typingLine.textContent = frame.typing
          ? (frame.name || (frame.who === "customer" ? "The customer" : "Another agent")) + " is typing…"
          : "";
        if (frame.typing) {
          typingHide = setTimeout(function () {
            typingLine.textContent = "";
          }, 8000);
        }
        break;
      case "state":
        if (frame.chat === current) setState(frame.state);
        refreshList();
        break;
      case "error":
        if (frame.client_id) {
          outbox = outbox.filter(function (item) {
            return item.id !== frame.client_id;
          });
          updateOutboxLine();
          var node = pending[frame.client_id];
          if (node) {
            node.classList.add("is-failed");
            node.lastChild.textContent = frame.message;
            delete pending[frame.client_id];
          }
        } else if (outboxLine) {
          outboxLine.textContent = frame.message;
        }
        break;
      default:
        break;
    }
  }

  function submit() {
    var body = input.value.trim();
    if (!body || !current) return;
    var item = { chat: current, id: randomId(), body: body };
    outbox.push(item);
    input.value = "";
    stopTyping();
    showPending(item);
    updateOutboxLine();
    send({ action: "message", chat: item.chat, id: item.id, body: item.body });
  }

  function stopTyping() {
    clearTimeout(typingStop);
    if (typingSentAt) {
      typingSentAt = 0;
      send({ action: "typing", chat: current, typing: false });
    }
  }

  if (composer && input) {
    composer.addEventListener("submit", function (event) {
      event.preventDefault();
      submit();
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        submit();
      }
    });
    input.addEventListener("input", function () {
      if (!current) return;
      var now = Date.now();
      if (now - typingSentAt > 2500) {
        typingSentAt = now;
        send({ action: "typing", chat: current, typing: true });
      }
      clearTimeout(typingStop);
      typingStop = setTimeout(stopTyping, 3000);
    });
  }

  if (endButton) {
    endButton.addEventListener("click", function () {
      if (current && window.confirm("End this chat? The customer can still write again later.")) {
        send({ action: "end", chat: current });
      }
    });
  }

  connect();
  var selected = root.getAttribute("data-selected");
  if (selected) openChat(selected);
})();
