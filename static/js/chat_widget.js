/* Helpdesk live chat widget. No dependencies; embed with one tag on any page:
 *
 *   <script src="https://help.example.com/static/js/chat_widget.js"
 *           data-tenant="acme" data-host="https://help.example.com" defer></script>
 *
 * Optional: data-title="Chat with us", data-color="#4f46e5", data-open="true".
 * Page API: window.HelpdeskChat.open() / .close().
 *
 * Protocol (WebSocket /ws/chat/<tenant>/, JSON frames):
 *   -> hello {token, cursor}            <- ready {state, cursor, agent, wait_seconds, offer_email_in, ...}
 *   -> message {id, body, token, name?, email?}
 *                                       <- session {token, state, ...} (first message), ack {client_id, message}
 *   <- message {message: {cursor, author, name, body, at, client_id}}   (in order, once per socket)
 *   -> typing {typing}                  <- typing {name, typing}
 *   -> leave_email {email, name}        <- state {state: "converted", ...}
 *   -> end                              <- state {state: "ended"}
 *
 * Nothing is lost or doubled across network loss: every message gets a random id here and waits in
 * an outbox (kept in localStorage) until the server acknowledges it; after a reconnect the widget
 * says hello with the last cursor it saw (the server replays what it missed) and resends the
 * outbox (the server stores a resend once). The resume token is random, made here, and only its
 * hash is stored on the server.
 */
(function () {
  "use strict";

  if (window.HelpdeskChat && window.HelpdeskChat.loaded) return;

  var script =
    document.currentScript ||
    document.querySelector('script[data-tenant][src*="chat_widget"]');
  if (!script) return;
  var tenant = script.getAttribute("data-tenant");
  if (!tenant) return;
  var host = (script.getAttribute("data-host") || new URL(script.src, location.href).origin).replace(/\/+$/, "");
  var title = script.getAttribute("data-title") || "Chat with us";
  var color = /^#[0-9a-fA-F]{6}$/.test(script.getAttribute("data-color") || "")
    ? script.getAttribute("data-color")
    : "#4f46e5";
  var wsUrl = host.replace(/^http/, "ws") + "/ws/chat/" + encodeURIComponent(tenant) + "/";
  var storageKey = "helpdesk-chat:" + host + ":" + tenant;

  /* ---- Storage (localStorage when allowed, memory otherwise) --------------------------------- */

  var memory = {};
  function load() {
    try {
      var raw = window.localStorage.getItem(storageKey);
      if (raw) return JSON.parse(raw) || {};
    } catch (e) {
      /* blocked storage: memory only */
    }
    return memory;
  }
  function save() {
    memory = store;
    try {
      window.localStorage.setItem(storageKey, JSON.stringify(store));
    } catch (e) {
      /* memory only */
    }
  }
  var store = load();
  store.outbox = Array.isArray(store.outbox) ? store.outbox : [];

  function randomId(bytes) {
    var data = new Uint8Array(bytes);
    (window.crypto || window.msCrypto).getRandomValues(data);
    var out = "";
    for (var i = 0; i < data.length; i++) out += ("0" + data[i].toString(16)).slice(-2);
    return out;
  }

  /* ---- DOM ---------------------------------------------------------------------------------- */

  var CSS =
    ":host{all:initial}" +
    "*{box-sizing:border-box;font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}" +
    ".launcher{position:fixed;right:20px;bottom:20px;z-index:2147483000;display:flex;align-items:center;gap:8px;" +
    "height:52px;padding:0 20px;border:0;border-radius:26px;background:var(--c);color:#fff;font-size:15px;font-weight:600;" +
    "box-shadow:0 6px 24px rgba(16,24,40,.25);cursor:pointer}" +
    ".launcher:focus-visible,button:focus-visible,textarea:focus-visible,input:focus-visible{outline:3px solid #93c5fd;outline-offset:2px}" +
    ".launcher svg{width:20px;height:20px}" +
    ".badge{min-width:20px;height:20px;padding:0 6px;border-radius:10px;background:#fff;color:var(--c);font-size:12px;line-height:20px}" +
    ".panel{position:fixed;right:20px;bottom:84px;z-index:2147483000;display:flex;flex-direction:column;width:370px;" +
    "max-width:calc(100vw - 24px);height:560px;max-height:calc(100vh - 110px);background:#fff;color:#1d2939;border-radius:16px;" +
    "box-shadow:0 16px 48px rgba(16,24,40,.28);overflow:hidden;font-size:14px;line-height:1.45}" +
    ".panel[hidden],[hidden]{display:none!important}" +
    "header{display:flex;align-items:center;gap:8px;padding:14px 14px 12px 16px;background:var(--c);color:#fff}" +
    "header .t{flex:1;min-width:0}header h2{margin:0;font-size:16px;font-weight:650}" +
    "header p{margin:2px 0 0;font-size:12.5px;opacity:.9}" +
    ".icon-btn{border:0;background:transparent;color:#fff;border-radius:8px;padding:6px 8px;cursor:pointer;font-size:13px}" +
    ".icon-btn:hover{background:rgba(255,255,255,.15)}" +
    ".log{flex:1;overflow-y:auto;padding:14px;display:flex;flex-direction:column;gap:8px;background:#f8f9fb}" +
    ".hint{margin:auto 8px;text-align:center;color:#667085;font-size:13px}" +
    ".msg{max-width:82%;padding:8px 12px;border-radius:14px;white-space:pre-wrap;overflow-wrap:anywhere}" +
    ".msg .who{display:block;font-size:11.5px;font-weight:600;color:#475467;margin-bottom:2px}" +
    ".msg.me{align-self:flex-end;background:var(--c);color:#fff;border-bottom-right-radius:4px}" +
    ".msg.them{align-self:flex-start;background:#fff;border:1px solid #e4e7ec;border-bottom-left-radius:4px}" +
    ".msg.pending{opacity:.65}.msg.failed{background:#fef3f2;color:#b42318;border:1px solid #fecdca}" +
    ".msg .meta{display:block;margin-top:2px;font-size:11px;opacity:.8}" +
    ".note{align-self:center;font-size:12px;color:#475467;background:#eef2f6;border-radius:10px;padding:4px 10px;text-align:center}" +
    ".typing{min-height:18px;margin:0;padding:0 16px;font-size:12px;color:#475467;background:#f8f9fb}" +
    ".box{padding:12px 14px;border-top:1px solid #eaecf0;background:#fff;display:grid;gap:8px}" +
    ".box p{margin:0;font-size:13px;color:#344054}" +
    ".row{display:flex;gap:8px}" +
    "input,textarea{width:100%;border:1px solid #d0d5dd;border-radius:10px;padding:8px 10px;font-size:14px;color:#1d2939;background:#fff}" +
    "textarea{resize:none;min-height:42px;max-height:120px}" +
    ".send,.primary{border:0;border-radius:10px;padding:0 14px;min-height:40px;background:var(--c);color:#fff;font-weight:600;cursor:pointer;font-size:14px}" +
    ".secondary{border:1px solid #d0d5dd;border-radius:10px;padding:0 12px;min-height:36px;background:#fff;color:#344054;cursor:pointer;font-size:13px}" +
    ".err{color:#b42318;font-size:12.5px;margin:0}" +
    ".conn{margin:0;padding:6px 14px;font-size:12px;background:#fffaeb;color:#93370d;border-top:1px solid #fedf89}" +
    "@media (max-width:480px){.panel{right:0;bottom:0;width:100vw;max-width:100vw;height:100vh;max-height:100vh;border-radius:0}}";

  var ICON =
    '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><path d="M21 15a2 2 0 0 1-2 2H7l-4 4V5a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2z"/></svg>';

  var rootHost = document.createElement("div");
  rootHost.id = "helpdesk-chat";
  rootHost.setAttribute("data-helpdesk-chat", tenant);
  var root = rootHost.attachShadow ? rootHost.attachShadow({ mode: "open" }) : rootHost;
  if (root !== rootHost && "adoptedStyleSheets" in root && window.CSSStyleSheet) {
    // A constructed stylesheet also works under a strict style-src Content-Security-Policy.
    var sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    root.adoptedStyleSheets = [sheet];
  } else {
    var style = document.createElement("style");
    style.textContent = CSS;
    root.appendChild(style);
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (key) {
        node.setAttribute(key, attrs[key]);
      });
    }
    if (text) node.textContent = text;
    return node;
  }

  var wrap = el("div");
  wrap.style.setProperty("--c", color);
  var launcher = el("button", { type: "button", class: "launcher", "aria-expanded": "false", "data-chat-launcher": "" });
  launcher.innerHTML = ICON;
  launcher.appendChild(el("span", null, title));
  var unreadBadge = el("span", { class: "badge", "aria-label": "new messages" });
  unreadBadge.hidden = true;
  launcher.appendChild(unreadBadge);

  var panel = el("section", { class: "panel", role: "dialog", "aria-label": title, "data-chat-panel": "" });
  panel.hidden = true;
  var header = el("header");
  var headText = el("div", { class: "t" });
  var heading = el("h2", null, title);
  var statusLine = el("p", { "data-chat-status": "" }, "We usually answer within minutes.");
  headText.appendChild(heading);
  headText.appendChild(statusLine);
  var endButton = el("button", { type: "button", class: "icon-btn", "data-chat-end": "" }, "End chat");
  endButton.hidden = true;
  var closeButton = el("button", { type: "button", class: "icon-btn", "aria-label": "Close chat" }, "\u2715");
  header.appendChild(headText);
  header.appendChild(endButton);
  header.appendChild(closeButton);

  var log = el("div", { class: "log", role: "log", "aria-live": "polite", "data-chat-log": "" });
  var hint = el("p", { class: "hint" }, "Ask us anything. We reply right here.");
  log.appendChild(hint);
  var typingLine = el("p", { class: "typing", "aria-live": "polite", "data-chat-typing": "" });
  var connLine = el("p", { class: "conn", role: "status", "data-chat-conn": "" }, "Reconnecting\u2026");
  connLine.hidden = true;

  var offer = el("div", { class: "box", "data-chat-offer": "" });
  offer.hidden = true;
  offer.appendChild(el("p", null, "Nobody is free to answer right now. Leave your email and we will answer you there."));
  var offerForm = el("form", { class: "row", novalidate: "" });
  var offerEmail = el("input", { type: "email", placeholder: "you@example.com", "aria-label": "Your email", autocomplete: "email", "data-chat-offer-email": "" });
  var offerSend = el("button", { type: "submit", class: "primary" }, "Send");
  offerForm.appendChild(offerEmail);
  offerForm.appendChild(offerSend);
  offer.appendChild(offerForm);
  var offerError = el("p", { class: "err", role: "alert" });
  offer.appendChild(offerError);

  var notice = el("div", { class: "box", "data-chat-notice": "" });
  notice.hidden = true;
  var noticeText = el("p");
  var restart = el("button", { type: "button", class: "secondary", "data-chat-restart": "" }, "Start a new chat");
  notice.appendChild(noticeText);
  notice.appendChild(restart);

  var intro = el("div", { class: "box", "data-chat-intro": "" });
  var introRow = el("div", { class: "row" });
  var nameInput = el("input", { type: "text", placeholder: "Your name (optional)", "aria-label": "Your name", autocomplete: "name", maxlength: "200" });
  var emailInput = el("input", { type: "email", placeholder: "Email (optional)", "aria-label": "Your email", autocomplete: "email", maxlength: "254" });
  introRow.appendChild(nameInput);
  introRow.appendChild(emailInput);
  intro.appendChild(introRow);

  var composer = el("form", { class: "box", novalidate: "", "data-chat-composer": "" });
  var composerRow = el("div", { class: "row" });
  var input = el("textarea", { rows: "1", maxlength: "5000", placeholder: "Write a message\u2026", "aria-label": "Message", "data-chat-input": "" });
  var sendButton = el("button", { type: "submit", class: "send" }, "Send");
  composerRow.appendChild(input);
  composerRow.appendChild(sendButton);
  composer.appendChild(composerRow);
  var composerError = el("p", { class: "err", role: "alert" });
  composerError.hidden = true;
  composer.appendChild(composerError);

  [header, log, typingLine, connLine, offer, notice, intro, composer].forEach(function (node) {
    panel.appendChild(node);
  });
  wrap.appendChild(panel);
  wrap.appendChild(launcher);
  root.appendChild(wrap);

  function mount() {
    document.body.appendChild(rootHost);
  }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);

  /* ---- State -------------------------------------------------------------------------------- */

  var ws = null;
  var connected = false;
  var backoff = 500;
  var reconnectTimer = null;
  var wanted = false; // keep a connection (panel opened once, or a chat in progress)
  var state = "new";
  var agentName = "";
  var lastCursor = 0; // last message received in order on this page
  var rendered = {}; // cursor -> true
  var pendingNodes = {}; // client id -> bubble
  var offerTimer = null;
  var typingHideTimer = null;
  var typingSentAt = 0;
  var typingStopTimer = null;
  var unread = 0;

  /* ---- Rendering ---------------------------------------------------------------------------- */

  function scrollDown() {
    log.scrollTop = log.scrollHeight;
  }

  function timeText(iso) {
    try {
      return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    } catch (e) {
      return "";
    }
  }

  function bubble(message, mine) {
    var node = el("div", { class: "msg " + (mine ? "me" : "them") });
    if (!mine) node.appendChild(el("span", { class: "who" }, message.name || "Support"));
    node.appendChild(document.createTextNode(message.body));
    var meta = el("span", { class: "meta" }, message.at ? timeText(message.at) : "Sending\u2026");
    node.appendChild(meta);
    return node;
  }

  function showMessage(message) {
    if (rendered[message.cursor]) return;
    rendered[message.cursor] = true;
    hint.hidden = true;
    var mine = message.author === "customer";
    var pending = mine && message.client_id ? pendingNodes[message.client_id] : null;
    var node = bubble(message, mine);
    node.setAttribute("data-cursor", String(message.cursor));
    if (pending) {
      log.replaceChild(node, pending);
      delete pendingNodes[message.client_id];
    } else {
      insertInOrder(node, message.cursor);
    }
    if (!mine) {
      typingLine.textContent = "";
      if (panel.hidden) {
        unread += 1;
        unreadBadge.textContent = String(unread);
        unreadBadge.hidden = false;
      }
    }
    scrollDown();
  }

  function insertInOrder(node, cursor) {
    // Messages arrive in order; acks can overtake. Keep the thread sorted by cursor; pending
    // bubbles (no cursor yet) stay at the end.
    var children = log.querySelectorAll("[data-cursor]");
    for (var i = 0; i < children.length; i++) {
      if (Number(children[i].getAttribute("data-cursor")) > cursor) {
        log.insertBefore(node, children[i]);
        return;
      }
    }
    var firstPending = log.querySelector("[data-pending]");
    if (firstPending) log.insertBefore(node, firstPending);
    else log.appendChild(node);
  }

  function showPending(item) {
    hint.hidden = true;
    var node = bubble({ body: item.body }, true);
    node.className += " pending";
    node.setAttribute("data-pending", item.id);
    pendingNodes[item.id] = node;
    log.appendChild(node);
    scrollDown();
  }

  function note(text) {
    log.appendChild(el("p", { class: "note" }, text));
    scrollDown();
  }

  function setStatus() {
    var text = "We usually answer within minutes.";
    if (state === "active") text = (agentName || "An agent") + " is here to help.";
    else if (state === "waiting") text = "Waiting for an agent\u2026";
    else if (state === "converted") text = "We will answer by email.";
    else if (state === "ended") text = "Chat ended. Write again to continue.";
    statusLine.textContent = text;
    var hasChat = !!store.started;
    endButton.hidden = !(hasChat && (state === "waiting" || state === "active"));
    intro.hidden = hasChat || state !== "new";
    var over = state === "converted";
    composer.hidden = over;
    notice.hidden = !over;
    if (over) {
      noticeText.textContent =
        "Thanks! We will answer by email" + (store.email ? " at " + store.email : "") + ".";
    }
    if (state !== "waiting") hideOffer();
  }

  function hideOffer() {
    clearTimeout(offerTimer);
    offerTimer = null;
    offer.hidden = true;
  }

  function scheduleOffer(seconds) {
    clearTimeout(offerTimer);
    if (state !== "waiting" || seconds === null || seconds === undefined) return;
    offerTimer = setTimeout(function () {
      if (state === "waiting") {
        offer.hidden = false;
        if (store.email && !offerEmail.value) offerEmail.value = store.email;
      }
    }, Math.max(0, seconds) * 1000);
  }

  /* ---- Connection --------------------------------------------------------------------------- */

  function send(frame) {
    if (!connected || !ws) return false;
    try {
      ws.send(JSON.stringify(frame));
      return true;
    } catch (e) {
      return false;
    }
  }

  function connect() {
    wanted = true;
    if (ws && (ws.readyState === 0 || ws.readyState === 1)) return;
    clearTimeout(reconnectTimer);
    var socket;
    try {
      socket = new WebSocket(wsUrl);
    } catch (e) {
      scheduleReconnect();
      return;
    }
    ws = socket;
    socket.onopen = function () {
      if (ws !== socket) return;
      connected = true;
      backoff = 500;
      connLine.hidden = true;
      send({ type: "hello", token: store.token || "", cursor: lastCursor });
    };
    socket.onmessage = function (event) {
      if (ws !== socket) return;
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
      ws = null;
      if (wanted) {
        connLine.hidden = false;
        scheduleReconnect();
      }
    };
    socket.onerror = function () {
      /* onclose follows */
    };
  }

  function scheduleReconnect() {
    clearTimeout(reconnectTimer);
    var delay = backoff + Math.floor(Math.random() * 250);
    backoff = Math.min(backoff * 2, 10000);
    reconnectTimer = setTimeout(connect, delay);
  }

  window.addEventListener("online", function () {
    if (wanted && !connected) {
      backoff = 500;
      connect();
    }
  });

  function flushOutbox() {
    store.outbox.forEach(function (item) {
      sendMessageFrame(item);
    });
  }

  function sendMessageFrame(item) {
    var frame = { type: "message", id: item.id, body: item.body, token: store.token };
    if (!store.started) {
      frame.name = store.name || "";
      frame.email = store.email || "";
    }
    send(frame);
  }

  function dropFromOutbox(id) {
    var before = store.outbox.length;
    store.outbox = store.outbox.filter(function (item) {
      return item.id !== id;
    });
    if (store.outbox.length !== before) save();
  }

  function handle(frame) {
    switch (frame.type) {
      case "ready":
        state = frame.state || "new";
        agentName = frame.agent || "";
        if (state !== "new") store.started = true;
        if (frame.email) store.email = frame.email;
        save();
        setStatus();
        scheduleOffer(frame.offer_email_in);
        flushOutbox();
        break;
      case "session":
        store.token = frame.token || store.token;
        store.started = true;
        state = frame.state || "waiting";
        agentName = frame.agent || "";
        save();
        setStatus();
        scheduleOffer(frame.offer_email_in);
        break;
      case "ack":
        dropFromOutbox(frame.client_id);
        if (frame.message) showMessage(frame.message);
        break;
      case "message":
        if (frame.message.cursor > lastCursor) lastCursor = frame.message.cursor;
        if (frame.message.author === "customer" && frame.message.client_id) {
          dropFromOutbox(frame.message.client_id);
        }
        showMessage(frame.message);
        break;
      case "typing":
        clearTimeout(typingHideTimer);
        typingLine.textContent = frame.typing ? (frame.name || "Support") + " is typing\u2026" : "";
        if (frame.typing) {
          typingHideTimer = setTimeout(function () {
            typingLine.textContent = "";
          }, 8000);
        }
        break;
      case "state": {
        var previous = state;
        state = frame.state;
        if (frame.agent !== undefined) agentName = frame.agent || agentName;
        if (frame.email) store.email = frame.email;
        save();
        setStatus();
        if (state === "active" && previous !== "active") note((agentName || "An agent") + " joined the chat.");
        if (state === "ended" && previous !== "ended") note("The chat has ended.");
        if (state === "converted" && previous !== "converted") note("This conversation continues by email.");
        if (state === "waiting") {
          scheduleOffer(frame.offer_email_in !== undefined ? frame.offer_email_in : frame.wait_seconds);
        }
        break;
      }
      case "error":
        if (frame.code === "email") {
          offerError.textContent = frame.message;
        } else if (frame.code === "slow_down") {
          composerError.textContent = frame.message;
          composerError.hidden = false;
        } else if (frame.client_id) {
          // The server refused this message for good (empty, too long, rate limit): stop resending.
          dropFromOutbox(frame.client_id);
          var node = pendingNodes[frame.client_id];
          if (node) {
            node.className = "msg me failed";
            node.lastChild.textContent = frame.message;
            delete pendingNodes[frame.client_id];
          }
        } else {
          composerError.textContent = frame.message;
          composerError.hidden = false;
        }
        break;
      default:
        break;
    }
  }

  /* ---- Actions ------------------------------------------------------------------------------ */

  function submitMessage() {
    var body = input.value.trim();
    if (!body) return;
    if (body.length > 5000) {
      composerError.textContent = "Keep messages under 5000 characters.";
      composerError.hidden = false;
      return;
    }
    composerError.hidden = true;
    if (!store.token) store.token = randomId(32);
    if (!store.started) {
      store.name = nameInput.value.trim();
      store.email = emailInput.value.trim();
    }
    var item = { id: randomId(12), body: body };
    store.outbox.push(item);
    save();
    input.value = "";
    stopTyping();
    showPending(item);
    if (connected) sendMessageFrame(item);
    else connect();
  }

  function stopTyping() {
    clearTimeout(typingStopTimer);
    if (typingSentAt) {
      typingSentAt = 0;
      send({ type: "typing", typing: false });
    }
  }

  input.addEventListener("input", function () {
    if (!store.started || !connected) return;
    var now = Date.now();
    if (now - typingSentAt > 2500) {
      typingSentAt = now;
      send({ type: "typing", typing: true });
    }
    clearTimeout(typingStopTimer);
    typingStopTimer = setTimeout(stopTyping, 3000);
  });

  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submitMessage();
    }
  });

  composer.addEventListener("submit", function (event) {
    event.preventDefault();
    submitMessage();
  });

  offerForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var email = offerEmail.value.trim();
    if (!email || email.indexOf("@") < 1) {
      offerError.textContent = "Enter your email address.";
      return;
    }
    offerError.textContent = "";
    store.email = email;
    save();
    if (!send({ type: "leave_email", email: email, name: store.name || nameInput.value.trim() })) {
      offerError.textContent = "Not connected. Try again in a moment.";
    }
  });

  endButton.addEventListener("click", function () {
    send({ type: "end" });
  });

  restart.addEventListener("click", function () {
    store = { outbox: [] };
    save();
    state = "new";
    agentName = "";
    lastCursor = 0;
    rendered = {};
    pendingNodes = {};
    while (log.firstChild) log.removeChild(log.firstChild);
    hint.hidden = false;
    log.appendChild(hint);
    setStatus();
    if (ws) ws.close();
  });

  function open() {
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    unread = 0;
    unreadBadge.hidden = true;
    store.open = true;
    save();
    connect();
    setTimeout(function () {
      input.focus();
    }, 0);
  }

  function close() {
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    store.open = false;
    save();
    launcher.focus();
  }

  launcher.addEventListener("click", function () {
    if (panel.hidden) open();
    else close();
  });
  closeButton.addEventListener("click", close);
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") close();
  });

  window.HelpdeskChat = { loaded: true, open: open, close: close };

  setStatus();
  store.outbox.forEach(showPending);
  if (store.open || script.getAttribute("data-open") === "true") open();
  else if (store.token) connect(); // a chat in progress: receive answers with the panel closed
})();
