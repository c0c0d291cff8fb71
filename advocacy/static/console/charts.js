// The console's charts, drawn from the data table beside them (the table is the source of
// truth, so the chart and the table always show the same numbers). No inline script: the
// CSP forbids it.
//
//   <canvas data-chart-table="TABLE_ID" [data-chart-columns="clicks conversions"]
//           [data-chart-type="bar"] [data-chart-second-axis="Column label"]>
//
// Column headers carry data-series="NAME" (without data-chart-columns every such column is
// drawn, in table order); cells carry data-value; rows with data-alert are marked.
(function () {
  "use strict";
  var COLOURS = ["#1d4ed8", "#b45309", "#047857", "#7c3aed", "#be123c", "#0e7490"];

  function seriesColumns(table, names) {
    var headers = Array.prototype.slice.call(table.querySelectorAll("thead th"));
    var wanted = names.length ? names : headers
      .map(function (th) { return th.getAttribute("data-series"); })
      .filter(Boolean);
    return wanted.map(function (name) {
      for (var i = 0; i < headers.length; i++) {
        if (headers[i].getAttribute("data-series") === name) {
          return { index: i, label: headers[i].textContent.trim() };
        }
      }
      return null;
    }).filter(Boolean);
  }

  function readTable(table, names) {
    var columns = seriesColumns(table, names);
    var labels = [];
    var alerts = [];
    var data = columns.map(function () { return []; });
    table.querySelectorAll("tbody tr").forEach(function (row) {
      var cells = row.children;
      labels.push(cells[0].textContent.trim());
      alerts.push(row.hasAttribute("data-alert"));
      columns.forEach(function (column, c) {
        var value = cells[column.index] && cells[column.index].getAttribute("data-value");
        data[c].push(value === null || value === "" ? null : Number(value));
      });
    });
    return { labels: labels, alerts: alerts, columns: columns, data: data };
  }

  function draw(canvas) {
    var table = document.getElementById(canvas.getAttribute("data-chart-table"));
    if (!table || typeof window.Chart === "undefined" || window.Chart.getChart(canvas)) {
      return;
    }
    var names = (canvas.getAttribute("data-chart-columns") || "").split(/\s+/).filter(Boolean);
    var read = readTable(table, names);
    var marked = read.alerts.some(Boolean);
    var secondAxis = canvas.getAttribute("data-chart-second-axis");
    var datasets = read.columns.map(function (column, c) {
      var colour = COLOURS[c % COLOURS.length];
      return {
        label: column.label,
        data: read.data[c],
        borderColor: colour,
        backgroundColor: colour,
        tension: 0.2,
        pointRadius: read.alerts.map(function (alert) { return alert ? 6 : 2; }),
        pointStyle: read.alerts.map(function (alert) { return alert ? "triangle" : "circle"; }),
        yAxisID: secondAxis === column.label ? "y2" : "y"
      };
    });
    var scales = { y: { beginAtZero: true } };
    if (secondAxis) {
      scales.y2 = { beginAtZero: true, position: "right", grid: { drawOnChartArea: false } };
    }
    new window.Chart(canvas, {
      type: canvas.getAttribute("data-chart-type") || "line",
      data: { labels: read.labels, datasets: datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        scales: scales,
        plugins: {
          legend: { position: "bottom" },
          subtitle: { display: marked, text: "Triangles mark alert days" }
        }
      }
    });
  }

  function drawAll(root) {
    (root || document).querySelectorAll("canvas[data-chart-table]").forEach(draw);
  }

  document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
  document.addEventListener("htmx:afterSettle", function (event) { drawAll(event.target); });
})();
