/* Helpdesk front end: small, dependency-free behaviours.
 * Loaded with `defer` on every page; no inline scripts anywhere (CSP-friendly).
 *  - mobile navigation drawer
 *  - <details data-dropdown> menus close on outside click / Escape
 *  - confirm() for buttons or forms with data-confirm
 *  - dismissable flash messages
 *  - copy-to-clipboard buttons (data-copy-target)
 *  - form errors linked to their inputs (aria-describedby)
 *  - live value next to colour inputs
 */
(function () {
  "use strict";

  var doc = document;
  var root = doc.documentElement;

  function $all(selector, scope) {
    return Array.prototype.slice.call((scope || doc).querySelectorAll(selector));
  }

  /* ---- Mobile navigation ------------------------------------------------ */

  var lastFocus = null;

  function navIsOpen() {
    return doc.body.classList.contains("nav-open");
  }

  function setNav(open) {
    var sidebar = doc.getElementById("sidebar");
    if (!sidebar) return;
    doc.body.classList.toggle("nav-open", open);
    $all("[data-nav-toggle]").forEach(function (btn) {
      btn.setAttribute("aria-expanded", open ? "true" : "false");
    });
    $all(".backdrop").forEach(function (el) {
      el.hidden = !open;
    });
    if (open) {
      lastFocus = doc.activeElement;
      var first = sidebar.querySelector("a, button, summary");
      if (first) first.focus();
    } else if (lastFocus && typeof lastFocus.focus === "function") {
      lastFocus.focus();
      lastFocus = null;
    }
  }

  doc.addEventListener("click", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) return;
    if (target.closest("[data-nav-toggle]")) {
      setNav(!navIsOpen());
      return;
    }
    if (target.closest("[data-nav-close]")) {
      setNav(false);
    }
  });

  // Leaving the narrow layout with the drawer open: tidy up.
  if (window.matchMedia) {
    var wide = window.matchMedia("(min-width: 961px)");
    var onChange = function (mq) {
      if (mq.matches && navIsOpen()) setNav(false);
    };
    if (wide.addEventListener) wide.addEventListener("change", onChange);
    else if (wide.addListener) wide.addListener(onChange);
  }

  /* ---- Dropdowns built on <details> ------------------------------------- */

  doc.addEventListener("click", function (event) {
    $all("details[data-dropdown][open]").forEach(function (details) {
      if (!details.contains(event.target)) details.removeAttribute("open");
    });
  });

  doc.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var openMenus = $all("details[data-dropdown][open]");
    if (openMenus.length) {
      openMenus.forEach(function (details) {
        details.removeAttribute("open");
        var summary = details.querySelector("summary");
        if (summary) summary.focus();
      });
      return;
    }
    if (navIsOpen()) setNav(false);
  });

  /* ---- Confirmations ---------------------------------------------------- */

  doc.addEventListener(
    "submit",
    function (event) {
      var form = event.target;
      if (!(form instanceof HTMLFormElement)) return;
      var submitter = event.submitter;
      var message =
        (submitter && submitter.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
      if (message && !window.confirm(message)) {
        event.preventDefault();
        event.stopImmediatePropagation();
      }
    },
    true
  );

  // Links (or buttons outside forms) that ask first.
  doc.addEventListener("click", function (event) {
    var el = event.target instanceof Element ? event.target.closest("a[data-confirm]") : null;
    if (el && !window.confirm(el.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });

  // htmx requests can ask too: hx-confirm is built in, data-confirm is honoured here.
  doc.addEventListener("htmx:confirm", function (event) {
    var elt = event.detail && event.detail.elt;
    if (!elt || !elt.hasAttribute("data-confirm") || elt.tagName === "FORM") return;
    event.preventDefault();
    if (window.confirm(elt.getAttribute("data-confirm"))) event.detail.issueRequest(true);
  });

  /* ---- Flash messages --------------------------------------------------- */

  function enhanceFlashes(scope) {
    $all("[data-flash]", scope).forEach(function (flash) {
      var btn = flash.querySelector("[data-dismiss]");
      if (btn) btn.hidden = false;
    });
  }

  doc.addEventListener("click", function (event) {
    var btn = event.target instanceof Element ? event.target.closest("[data-dismiss]") : null;
    if (!btn) return;
    var flash = btn.closest("[data-flash]");
    if (!flash) return;
    flash.classList.add("is-leaving");
    window.setTimeout(function () {
      var stack = flash.parentElement;
      flash.remove();
      if (stack && !stack.children.length) stack.remove();
    }, 200);
  });

  /* ---- Copy to clipboard ------------------------------------------------ */

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    return new Promise(function (resolve, reject) {
      var area = doc.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.style.position = "fixed";
      area.style.opacity = "0";
      doc.body.appendChild(area);
      area.select();
      try {
        doc.execCommand("copy") ? resolve() : reject(new Error("copy failed"));
      } catch (err) {
        reject(err);
      } finally {
        area.remove();
      }
    });
  }

  function enhanceCopyButtons(scope) {
    $all("[data-copy-target]", scope).forEach(function (btn) {
      btn.hidden = false;
    });
  }

  doc.addEventListener("click", function (event) {
    var btn = event.target instanceof Element ? event.target.closest("[data-copy-target]") : null;
    if (!btn) return;
    var source = doc.getElementById(btn.getAttribute("data-copy-target"));
    if (!source) return;
    var text = "value" in source && source.value !== undefined ? source.value : source.textContent;
    var label = btn.querySelector("[data-copy-label]");
    var original = label ? label.textContent : "";
    copyText(String(text).trim()).then(
      function () {
        btn.classList.add("is-copied");
        if (label) label.textContent = "Copied";
        var status = doc.getElementById(btn.getAttribute("data-copy-status") || "");
        if (status) status.textContent = "Copied to the clipboard.";
        window.setTimeout(function () {
          btn.classList.remove("is-copied");
          if (label) label.textContent = original;
        }, 2000);
      },
      function () {
        // Fall back to selecting the text so the person can copy it by hand.
        var range = doc.createRange();
        range.selectNodeContents(source);
        var sel = window.getSelection();
        sel.removeAllRanges();
        sel.addRange(range);
      }
    );
  });

  /* ---- Accessible form errors ------------------------------------------- */

  function linkErrors(scope) {
    $all("[data-error-for]", scope).forEach(function (error) {
      var input = doc.getElementById(error.getAttribute("data-error-for"));
      if (!input || !error.id) return;
      var ids = (input.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
      if (ids.indexOf(error.id) === -1) {
        ids.push(error.id);
        input.setAttribute("aria-describedby", ids.join(" "));
      }
      input.setAttribute("aria-invalid", "true");
    });
    // Bring the first invalid field into view on a re-rendered form.
    var firstInvalid = (scope || doc).querySelector('[aria-invalid="true"]');
    if (firstInvalid && scope === doc && !doc.activeElement.closest("form")) {
      firstInvalid.focus({ preventScroll: false });
    }
  }

  /* ---- Colour inputs ---------------------------------------------------- */

  doc.addEventListener("input", function (event) {
    var input = event.target;
    if (!(input instanceof HTMLInputElement) || input.type !== "color") return;
    var out = doc.querySelector('[data-color-value="' + input.id + '"]');
    if (out) out.textContent = input.value;
    var preview = doc.querySelector("[data-brand-preview]");
    if (preview) preview.style.setProperty("--brand", input.value);
  });

  /* ---- Compact relative times ------------------------------------------
   * <time data-relative datetime="ISO">j M, H:i</time> becomes "5m ago", "3h ago", "2d ago"
   * for the last week; older dates keep the server's text. The full date stays in title. */

  function relative(iso) {
    var then = Date.parse(iso);
    if (isNaN(then)) return null;
    var secs = Math.round((Date.now() - then) / 1000);
    if (secs < 0) return null;
    if (secs < 60) return "just now";
    var mins = Math.floor(secs / 60);
    if (mins < 60) return mins + "m ago";
    var hours = Math.floor(mins / 60);
    if (hours < 24) return hours + "h ago";
    var days = Math.floor(hours / 24);
    if (days < 7) return days + "d ago";
    return null;
  }

  function updateTimes(scope) {
    $all("time[data-relative]", scope).forEach(function (el) {
      var text = relative(el.getAttribute("datetime"));
      if (!el.hasAttribute("data-absolute")) el.setAttribute("data-absolute", el.textContent);
      el.textContent = text || el.getAttribute("data-absolute");
    });
  }

  window.setInterval(function () {
    updateTimes(doc);
  }, 60 * 1000);

  /* ---- Styles from data attributes (the CSP allows no style="" attributes) ---- */

  // data-brand="#rrggbb" sets the --brand colour; data-flex-grow="<n>" sets flex-grow. Each
  // value becomes a rule in a constructed stylesheet (CSSOM, which the CSP allows) rather than
  // an inline style: an inline style would be written into the markup that htmx snapshots for
  // history, and re-parsing that markup is what the CSP blocks.
  var dataSheet = null;
  var dataRules = {};

  function dataRule(selector, declaration, el, apply) {
    if (dataRules[selector]) return;
    if (dataSheet === null) {
      try {
        dataSheet = new CSSStyleSheet();
        doc.adoptedStyleSheets = doc.adoptedStyleSheets.concat([dataSheet]);
      } catch (e) {
        dataSheet = false; // no constructable stylesheets: inline styles (CSSOM) instead
      }
    }
    if (!dataSheet) {
      apply(el);
      return;
    }
    dataSheet.insertRule(selector + " { " + declaration + " }", dataSheet.cssRules.length);
    dataRules[selector] = true;
  }

  function applyStyleData(scope) {
    var els = $all("[data-brand], [data-flex-grow]", scope);
    if (scope && scope.nodeType === 1 && scope.matches("[data-brand], [data-flex-grow]")) {
      els.push(scope);
    }
    els.forEach(function (el) {
      var brand = el.getAttribute("data-brand");
      if (brand && /^#[0-9a-fA-F]{6}$/.test(brand)) {
        dataRule('[data-brand="' + brand + '"]', "--brand: " + brand, el, function (target) {
          target.style.setProperty("--brand", brand);
        });
      }
      var grow = el.getAttribute("data-flex-grow");
      if (grow && /^\d+(\.\d+)?$/.test(grow)) {
        dataRule('[data-flex-grow="' + grow + '"]', "flex-grow: " + grow, el, function (target) {
          target.style.flexGrow = grow;
        });
      }
    });
  }

  /* ---- Boot ------------------------------------------------------------- */

  function enhance(scope) {
    applyStyleData(scope);
    enhanceFlashes(scope);
    enhanceCopyButtons(scope);
    updateTimes(scope);
  }

  function boot() {
    root.classList.add("js");
    enhance(doc);
    linkErrors(doc);
  }

  if (doc.readyState === "loading") doc.addEventListener("DOMContentLoaded", boot);
  else boot();

  // Content swapped in by htmx gets the same treatment.
  doc.addEventListener("htmx:load", function (event) {
    if (event.target && event.target !== doc.body) {
      enhance(event.target);
      linkErrors(event.target);
    }
  });
})();
