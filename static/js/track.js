/* Helpdesk journey tracking for a tenant's own site. No dependencies, no cookies.
 *
 *   <script src="https://helpdesk.example/static/js/track.js"
 *           data-endpoint="https://helpdesk.example/api/v1/t/acme/events/"
 *           data-key="hdk_…" defer></script>
 *
 *   helpdesk.identify({ id: "u-42", email: "ada@example.com" });  // once you know who it is
 *   track("Checkout started", { plan: "pro" });                    // or helpdesk.track(...)
 *   helpdesk.reset();                                              // on sign-out
 *
 * Calls made before the script has loaded can be queued: window.helpdesk = window.helpdesk || [];
 * helpdesk.push(["track", "Checkout started"]).
 *
 * Each event gets a unique id and its own timestamp, so the server ignores repeats and accepts
 * late arrivals. Events are batched (up to 50, every 2 s), kept in localStorage until the server
 * has them (they survive a navigation), retried with back-off on network errors and 5xx answers,
 * and sent with `keepalive` when the page is hidden. Events tracked before `identify` wait in
 * memory (up to 100) and are sent once the customer is known. The key must have only the scope
 * `ingest:events`: it can add events and read nothing.
 */
(function (window, document) {
  "use strict";

  if (window.helpdesk && window.helpdesk._loaded) return;

  var STORE = "helpdesk.track.";
  var MAX_BATCH = 50;
  var FLUSH_MS = 2000;
  var MAX_QUEUE = 1000;
  var MAX_WAITING = 100;
  var MAX_BACKOFF = 60000;

  function currentScript() {
    if (document.currentScript) return document.currentScript;
    var scripts = document.querySelectorAll("script[data-endpoint]");
    return scripts[scripts.length - 1] || null;
  }

  var script = currentScript();
  var endpoint = script ? script.getAttribute("data-endpoint") : "";
  var key = script ? script.getAttribute("data-key") : "";

  function warn(message) {
    if (window.console && window.console.warn) window.console.warn("helpdesk: " + message);
  }

  function load(name) {
    try {
      return JSON.parse(window.localStorage.getItem(STORE + name));
    } catch (error) {
      return null;
    }
  }

  function save(name, value) {
    try {
      if (value === null) window.localStorage.removeItem(STORE + name);
      else window.localStorage.setItem(STORE + name, JSON.stringify(value));
    } catch (error) {
      /* private mode or full storage: keep going in memory */
    }
  }

  function uuid() {
    var crypto = window.crypto;
    if (crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
    var bytes = new Uint8Array(16);
    if (crypto && crypto.getRandomValues) crypto.getRandomValues(bytes);
    else for (var i = 0; i < 16; i++) bytes[i] = Math.floor(Math.random() * 256);
    var hex = "";
    for (var j = 0; j < 16; j++) hex += (bytes[j] + 0x100).toString(16).slice(1);
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" +
      hex.slice(16, 20) + "-" + hex.slice(20);
  }

  var identity = load("identity");
  var queue = load("queue") || [];
  var waiting = [];
  var timer = null;
  var sending = false;
  var backoff = 0;

  function stamp(event) {
    if (identity.id) event.customer_id = identity.id;
    if (identity.email) event.email = identity.email;
    return event;
  }

  function schedule(delay) {
    if (timer) return;
    timer = window.setTimeout(function () {
      timer = null;
      flush(false);
    }, delay + backoff);
  }

  function enqueue(event) {
    queue.push(event);
    if (queue.length > MAX_QUEUE) queue.splice(0, queue.length - MAX_QUEUE);
    save("queue", queue);
    schedule(queue.length >= MAX_BATCH ? 0 : FLUSH_MS);
  }

  function forget(batch) {
    var sent = {};
    for (var i = 0; i < batch.length; i++) sent[batch[i].id] = true;
    queue = queue.filter(function (event) {
      return !sent[event.id];
    });
    save("queue", queue.length ? queue : null);
  }

  function flush(keepalive) {
    if (!endpoint || !key || sending || !queue.length || typeof window.fetch !== "function") return;
    var batch = queue.slice(0, MAX_BATCH);
    sending = true;
    window
      .fetch(endpoint, {
        method: "POST",
        mode: "cors",
        credentials: "omit",
        keepalive: !!keepalive,
        headers: { Authorization: "Api-Key " + key, "Content-Type": "application/json" },
        body: JSON.stringify({ events: batch }),
      })
      .then(function (response) {
        if (response.status >= 500 || response.status === 429) throw new Error("retry later");
        // Stored, repeats, or refused (a refused event would be refused again): done with them.
        if (response.status === 401 || response.status === 403) warn("the API key was refused.");
        else if (!response.ok) warn("events were refused (" + response.status + ").");
        forget(batch);
        backoff = 0;
      })
      .catch(function () {
        backoff = Math.min(MAX_BACKOFF, backoff ? backoff * 2 : 1000);
      })
      .then(function () {
        sending = false;
        if (queue.length) schedule(queue.length >= MAX_BATCH ? 0 : FLUSH_MS);
      });
  }

  function track(name, properties) {
    if (typeof name !== "string" || !name.trim()) {
      warn("track() needs an event name.");
      return;
    }
    var event = {
      id: uuid(),
      name: name.trim().slice(0, 100),
      timestamp: new Date().toISOString(),
      properties: properties && typeof properties === "object" ? properties : {},
    };
    if (!identity) {
      if (waiting.length < MAX_WAITING) waiting.push(event);
      return;
    }
    enqueue(stamp(event));
  }

  function identify(who) {
    who = who || {};
    var id = who.id === undefined || who.id === null ? "" : String(who.id).slice(0, 100);
    var email = who.email ? String(who.email).slice(0, 254) : "";
    if (!id && !email) {
      warn("identify() needs an id or an email.");
      return;
    }
    identity = { id: id, email: email };
    save("identity", identity);
    var held = waiting.splice(0, waiting.length);
    for (var i = 0; i < held.length; i++) enqueue(stamp(held[i]));
  }

  function reset() {
    identity = null;
    waiting = [];
    save("identity", null);
  }

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") flush(true);
  });
  window.addEventListener("pagehide", function () {
    flush(true);
  });

  var api = {
    track: track,
    identify: identify,
    reset: reset,
    flush: function () {
      flush(false);
    },
    _loaded: true,
  };
  var early = Array.isArray(window.helpdesk) ? window.helpdesk : [];
  window.helpdesk = api;
  if (typeof window.track !== "function") window.track = track;
  for (var i = 0; i < early.length; i++) {
    var call = early[i];
    if (call && typeof api[call[0]] === "function") api[call[0]].apply(null, call.slice(1));
  }
  if (!endpoint || !key) warn("set data-endpoint and data-key on the script tag.");
  if (queue.length) schedule(0);
})(window, document);
