// Charts of the console, drawn from the data table beside them (so both show the same
// numbers): <canvas data-chart-table="TABLE_ID" data-chart-columns="clicks conversions">.
// Column headers carry data-series="NAME"; cells carry data-value; alert rows carry
// data-alert so their points are marked.
(function () {
  var COLOURS = ["#1d4ed8", "#b45309", "#047857", "#7c3aed", "#be123c"];

  function readTable(table, names) {
    var headers = Array.prototype.slice.call(table.querySelectorAll("thead th"));
    var columns = names.map(function (name) {
      for (var i = 0; i < headers.length; i++) {
        if (headers[i].getAttribute("data-series") === name) {
          return { index: i, label: headers[i].textContent.trim() };
        }
      }
      return null;
    }).filter(Boolean);
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
    if (!table || typeof window.Chart === "undefined") {
      return;
    }
    var names = (canvas.getAttribute("data-chart-columns") || "").split(/\s+/).filter(Boolean);
    var read = readTable(table, names);
    var marked = read.alerts.some(Boolean);
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
        yAxisID: canvas.getAttribute("data-chart-second-axis") === column.label ? "y2" : "y"
      };
    });
    var scales = { y: { beginAtZero: true } };
    if (canvas.hasAttribute("data-chart-second-axis")) {
      scales.y2 = { beginAtZero: true, position: "right", grid: { drawOnChartArea: false } };
    }
    new window.Chart(canvas, {
      type: "line",
      data: { labels: read.labels, datasets: datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        scales: scales,
        plugins: { legend: { position: "bottom" }, subtitle: { display: marked, text: "Triangles mark alert days" } }
      }
    });
  }

  function drawAll(root) {
    (root || document).querySelectorAll("canvas[data-chart-table]").forEach(draw);
  }

  document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
})();
