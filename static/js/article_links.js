/* "Insert article link": a picker of published help-centre articles for a reply box.
 *
 *   <div data-article-links data-url="{% url 'tickets:article-links' tenant_slug=... %}"
 *        data-target="#reply-body"></div>
 *   <script src="{% static 'js/article_links.js' %}" defer></script>
 *
 * The JSON endpoint answers {"articles": [{"id", "title", "category", "url"}]} (?q= searches).
 * Choosing an article inserts "Title: https://…" at the cursor of the target textarea and fires
 * an "input" event on it (so drafts and typing indicators notice).
 */
(function () {
  "use strict";

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      node.setAttribute(key, attrs[key]);
    });
    if (text) node.textContent = text;
    return node;
  }

  function insertAt(textarea, text) {
    var start = textarea.selectionStart != null ? textarea.selectionStart : textarea.value.length;
    var end = textarea.selectionEnd != null ? textarea.selectionEnd : start;
    var before = textarea.value.slice(0, start);
    var after = textarea.value.slice(end);
    var lead = before && !/\s$/.test(before) ? " " : "";
    var value = before + lead + text + (after && !/^\s/.test(after) ? " " : "") + after;
    textarea.value = value;
    var caret = (before + lead + text).length;
    textarea.focus();
    textarea.setSelectionRange(caret, caret);
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function setup(box) {
    if (box.getAttribute("data-ready")) return;
    box.setAttribute("data-ready", "1");
    var url = box.getAttribute("data-url");
    var target = document.querySelector(box.getAttribute("data-target") || "");
    if (!url || !target) return;

    var details = el("details", { class: "popover article-links-popover", "data-dropdown": "" });
    var summary = el("summary", { class: "btn btn--ghost btn--sm", "data-article-links-toggle": "" }, "Insert article link");
    var panel = el("div", { class: "popover-panel article-links-panel" });
    var label = el("label", { class: "sr-only", for: "" }, "Search articles");
    var search = el("input", { type: "search", class: "input input--sm", placeholder: "Search articles…", autocomplete: "off" });
    var listId = "article-links-" + Math.random().toString(36).slice(2);
    search.id = listId + "-q";
    label.setAttribute("for", search.id);
    var list = el("ul", { class: "plain-list article-links-list", id: listId, role: "listbox" });
    var status = el("p", { class: "xsmall subtle article-links-status", role: "status" });
    panel.appendChild(label);
    panel.appendChild(search);
    panel.appendChild(list);
    panel.appendChild(status);
    details.appendChild(summary);
    details.appendChild(panel);
    box.appendChild(details);

    var timer = null;
    var seq = 0;

    function render(articles) {
      list.textContent = "";
      status.textContent = articles.length ? "" : "No published article matches.";
      articles.forEach(function (article) {
        var item = el("li");
        var button = el("button", { type: "button", class: "article-links-item", role: "option", "data-url": article.url });
        button.appendChild(el("span", { class: "article-links-title" }, article.title));
        if (article.category) button.appendChild(el("span", { class: "xsmall subtle" }, article.category));
        button.addEventListener("click", function () {
          insertAt(target, article.title + ": " + article.url);
          details.removeAttribute("open");
        });
        item.appendChild(button);
        list.appendChild(item);
      });
    }

    function load() {
      var mine = ++seq;
      status.textContent = "Loading…";
      fetch(url + "?q=" + encodeURIComponent(search.value.trim()), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      })
        .then(function (response) {
          if (!response.ok) throw new Error(String(response.status));
          return response.json();
        })
        .then(function (data) {
          if (mine === seq) render(data.articles || []);
        })
        .catch(function () {
          if (mine === seq) status.textContent = "Could not load articles. Try again.";
        });
    }

    details.addEventListener("toggle", function () {
      if (details.open) {
        load();
        setTimeout(function () {
          search.focus();
        }, 0);
      }
    });
    search.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(load, 200);
    });
    search.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        event.preventDefault();
        var first = list.querySelector("button");
        if (first) first.click();
      }
    });
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-article-links]"), setup);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
  document.addEventListener("htmx:afterSettle", init);
})();
