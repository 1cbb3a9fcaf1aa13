/* Metrics dashboards: the filter bar and the trend charts (Chart.js, vendored).
 *
 * - The filter bar submits itself when a menu changes; custom dates show only for "Custom".
 * - Charts read their data from <script type="application/json" id="metrics-data"> (no inline
 *   scripts: CSP-friendly) and draw into <canvas data-chart="...">.
 * - Selecting a point opens the drill-down of that figure for that bucket.
 * - The survey settings' scale preview follows the chosen look (numbers, stars, faces).
 * - Colours: the Okabe-Ito palette (safe for colour-blind readers); lines also differ by dash and
 *   point shape, so no series is told apart by colour alone.
 */
(function () {
  "use strict";

  var doc = document;

  /* ---- Filter bar ------------------------------------------------------- */

  var form = doc.querySelector("[data-metrics-filters]");
  if (form) {
    var periodSelect = form.querySelector("[data-period-select]");
    var dates = form.querySelector("[data-custom-dates]");
    var syncDates = function () {
      if (periodSelect && dates) dates.hidden = periodSelect.value !== "custom";
    };
    syncDates();
    var submit = function () {
      if (typeof form.requestSubmit === "function") form.requestSubmit();
      else form.submit();
    };
    form.addEventListener("change", function (event) {
      var target = event.target;
      if (target.name === "from" || target.name === "to") {
        if (periodSelect) periodSelect.value = "custom";
        return; // dates are applied with the button (typing a date fires change early)
      }
      if (target === periodSelect && periodSelect.value === "custom") {
        syncDates();
        var first = dates && dates.querySelector("input");
        if (first) first.focus();
        return;
      }
      if (target.tagName === "SELECT") submit();
    });
    form.addEventListener("submit", function () {
      // Leave empty fields out of the address (shorter, shareable links).
      Array.prototype.forEach.call(form.elements, function (el) {
        if (el.name && !el.value) el.disabled = true;
        if (periodSelect && periodSelect.value !== "custom" && (el.name === "from" || el.name === "to")) {
          el.disabled = true;
        }
      });
      form.classList.add("is-loading");
    });
    window.addEventListener("pageshow", function () {
      Array.prototype.forEach.call(form.elements, function (el) { el.disabled = false; });
      form.classList.remove("is-loading");
    });
  }

  /* ---- Survey settings: the scale preview follows the chosen look -------- */

  var preview = doc.querySelector("[data-scale-preview]");
  if (preview) {
    doc.addEventListener("change", function (event) {
      if (event.target.name === "csat_scale") preview.setAttribute("data-scale-preview", event.target.value);
    });
  }

  /* ---- Charts ------------------------------------------------------------ */

  var dataNode = doc.getElementById("metrics-data");
  if (!dataNode || typeof window.Chart === "undefined") return;
  var payload = JSON.parse(dataNode.textContent);
  var trend = payload.trend;
  var Chart = window.Chart;

  var css = getComputedStyle(doc.documentElement);
  var color = function (name, fallback) {
    var value = css.getPropertyValue(name).trim();
    return value || fallback;
  };
  var TEXT = color("--text-muted", "#475467");
  var GRID = color("--border", "#e3e6eb");

  var PALETTE = {
    blue: "#0072B2",
    orange: "#E69F00",
    sky: "#56B4E9",
    green: "#009E73",
    vermillion: "#D55E00",
    purple: "#CC79A7",
    grey: "#8C8C8C",
  };

  Chart.defaults.color = TEXT;
  Chart.defaults.borderColor = GRID;
  Chart.defaults.font.family = css.getPropertyValue("--font-sans").trim() || "system-ui, sans-serif";
  Chart.defaults.font.size = 12;
  Chart.defaults.animation = false;

  var drillSection = doc.querySelector("[data-drill-base]");
  var drillBase = drillSection ? drillSection.getAttribute("data-drill-base") : "";

  function drillUrl(metric, index) {
    if (!drillBase || !metric) return "";
    var url = new URL(drillBase, window.location.href);
    url.searchParams.set("metric", metric);
    url.searchParams.set("period", "custom");
    url.searchParams.set("from", trend.starts[index]);
    url.searchParams.set("to", trend.ends[index]);
    url.searchParams.delete("bucket");
    return url.pathname + url.search;
  }

  function line(label, values, colour, options) {
    options = options || {};
    return Object.assign(
      {
        type: "line",
        label: label,
        data: values,
        borderColor: colour,
        backgroundColor: colour,
        borderWidth: 2,
        pointRadius: values.length > 40 ? 0 : 3,
        pointHoverRadius: 5,
        pointHitRadius: 8,
        tension: 0.3,
        cubicInterpolationMode: "monotone",
        spanGaps: false,
      },
      options
    );
  }

  function bar(label, values, colour, options) {
    return Object.assign(
      { type: "bar", label: label, data: values, backgroundColor: colour, borderWidth: 0 },
      options || {}
    );
  }

  var hours = function (value) {
    if (value === null || value === undefined) return "no data";
    var minutes = Math.round(value * 60);
    var h = Math.floor(minutes / 60);
    var m = minutes % 60;
    if (h === 0) return m + " min";
    return m === 0 ? h + " h" : h + " h " + m + " min";
  };
  var percent = function (value) {
    return value === null || value === undefined ? "no data" : value.toFixed(1) + "%";
  };
  var points = function (value) {
    return value === null || value === undefined ? "no data" : (value > 0 ? "+" : "") + Math.round(value);
  };
  var count = function (value) {
    return value === null || value === undefined ? "no data" : value.toLocaleString();
  };

  function axis(title, extra) {
    return Object.assign(
      {
        title: { display: true, text: title, color: TEXT },
        grid: { color: GRID },
        ticks: { color: TEXT },
        beginAtZero: true,
      },
      extra || {}
    );
  }

  var xAxis = {
    grid: { display: false },
    ticks: { color: TEXT, maxRotation: 0, autoSkip: true, autoSkipPadding: 12 },
    title: { display: true, text: payload.bucket === "day" ? "Day" : payload.bucket === "week" ? "Week starting" : "Month", color: TEXT },
  };

  var charts = {
    satisfaction: {
      datasets: [
        line("CSAT (%)", trend.csat, PALETTE.blue, { yAxisID: "y", drill: "csat", format: percent, pointStyle: "circle" }),
        line("NPS (points)", trend.nps, PALETTE.orange, { yAxisID: "y2", drill: "nps", format: points, borderDash: [6, 4], pointStyle: "triangle" }),
      ],
      scales: {
        y: axis("CSAT (%)", { min: 0, max: 100 }),
        y2: axis("NPS (points)", { min: -100, max: 100, position: "right", grid: { drawOnChartArea: false } }),
      },
    },
    times: {
      datasets: [
        line("First response, median", trend.frt_median, PALETTE.blue, { drill: "frt", format: hours, pointStyle: "circle" }),
        line("First response, p90", trend.frt_p90, PALETTE.blue, { drill: "frt", format: hours, borderDash: [6, 4], pointStyle: "rectRot" }),
        line("Resolution, median", trend.resolution_median, PALETTE.vermillion, { drill: "resolution", format: hours, pointStyle: "triangle" }),
        line("Resolution, p90", trend.resolution_p90, PALETTE.vermillion, { drill: "resolution", format: hours, borderDash: [2, 3], pointStyle: "rect" }),
      ],
      scales: { y: axis("Business hours") },
    },
    volume: {
      datasets: [
        bar("Tickets created", trend.tickets, PALETTE.sky, { drill: "tickets", format: count, order: 2 }),
        line("Backlog (open at the end)", trend.backlog, PALETTE.purple, { drill: "backlog", format: count, order: 1, pointStyle: "rectRot" }),
      ],
      scales: { y: axis("Tickets") },
    },
    rates: {
      datasets: [
        line("Repeat tickets", trend.repeat_rate, PALETTE.orange, { drill: "repeats", format: percent, pointStyle: "circle" }),
        line("Escalated to tier 2", trend.escalation_rate, PALETTE.vermillion, { drill: "escalated", format: percent, pointStyle: "triangle", borderDash: [6, 4] }),
        line("Reopened", trend.reopen_rate, PALETTE.purple, { drill: "reopened", format: percent, pointStyle: "rect", borderDash: [2, 3] }),
        line("SLA attained", trend.sla, PALETTE.green, { drill: "sla_attained", format: percent, pointStyle: "rectRot" }),
      ],
      scales: { y: axis("% of tickets", { min: 0, max: 100 }) },
    },
    sentiment: {
      datasets: [
        bar("Negative", trend.negative, PALETTE.vermillion, { drill: "negative", format: count, stack: "mix" }),
        bar("Neutral", trend.neutral, PALETTE.grey, { drill: "neutral", format: count, stack: "mix" }),
        bar("Positive", trend.positive, PALETTE.blue, { drill: "positive", format: count, stack: "mix" }),
      ],
      scales: { y: axis("Messages", { stacked: true }), x: Object.assign({}, xAxis, { stacked: true }) },
    },
    retention: {
      datasets: [
        line("Retention (%)", trend.retention, PALETTE.green, { drill: "active_end", format: percent, pointStyle: "circle" }),
      ],
      scales: { y: axis("Retention (%)", { suggestedMax: 100 }) },
    },
  };

  Array.prototype.forEach.call(doc.querySelectorAll("canvas[data-chart]"), function (canvas) {
    var spec = charts[canvas.getAttribute("data-chart")];
    if (!spec) return;
    var scales = Object.assign({ x: xAxis }, spec.scales);
    var chart = new Chart(canvas, {
      type: "line",
      data: { labels: trend.labels, datasets: spec.datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        scales: scales,
        plugins: {
          legend: {
            position: "bottom",
            labels: { usePointStyle: true, boxWidth: 8, boxHeight: 8, pointStyleWidth: 10, color: TEXT },
          },
          tooltip: {
            callbacks: {
              title: function (items) {
                var i = items[0].dataIndex;
                return trend.titles[i] + (trend.partial[i] ? " (part)" : "");
              },
              label: function (item) {
                var format = item.dataset.format || count;
                return item.dataset.label + ": " + format(item.raw);
              },
            },
          },
        },
        onHover: function (event, elements) {
          event.native.target.style.cursor = elements.length ? "pointer" : "default";
        },
        onClick: function (event, elements) {
          if (!elements.length) return;
          var element = elements[0];
          var nearest = chart.getElementsAtEventForMode(event, "nearest", { intersect: false }, true);
          if (nearest.length) element = nearest[0];
          var dataset = chart.data.datasets[element.datasetIndex];
          var url = drillUrl(dataset.drill, element.index);
          if (url) window.location.assign(url);
        },
      },
    });
    canvas.setAttribute("data-chart-ready", "true");
  });
})();
