// Charts drawn from the data table beside them (the table is the source of truth, so the
// chart and the table always show the same numbers). No inline script: the CSP forbids it.
(function () {
  "use strict";
  var palette = ["#1d4ed8", "#b45309", "#047857", "#b42318", "#6d28d9", "#0e7490"];

  function readTable(table) {
    var heads = Array.prototype.slice.call(table.querySelectorAll("thead th[data-series]"));
    var labels = [];
    var series = heads.map(function (th) { return { label: th.textContent.trim(), data: [] }; });
    table.querySelectorAll("tbody tr").forEach(function (tr) {
      labels.push(tr.querySelector("th").textContent.trim());
      tr.querySelectorAll("td[data-value]").forEach(function (td, i) {
        if (series[i]) { series[i].data.push(Number(td.getAttribute("data-value"))); }
      });
    });
    return { labels: labels, series: series };
  }

  function draw(canvas) {
    var table = document.getElementById(canvas.getAttribute("data-chart-table"));
    if (!table || typeof Chart === "undefined") { return; }
    var data = readTable(table);
    new Chart(canvas, {
      type: canvas.getAttribute("data-chart-type") || "line",
      data: {
        labels: data.labels,
        datasets: data.series.map(function (s, i) {
          return { label: s.label, data: s.data, borderColor: palette[i % palette.length],
                   backgroundColor: palette[i % palette.length], tension: 0.2, pointRadius: 2 };
        })
      },
      options: { responsive: true, maintainAspectRatio: false, animation: false,
                 interaction: { mode: "index", intersect: false },
                 scales: { y: { beginAtZero: true } } }
    });
  }

  function init(root) {
    root.querySelectorAll("canvas[data-chart-table]").forEach(draw);
  }
  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:afterSettle", function (event) { init(event.target); });
})();
