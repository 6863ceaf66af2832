// Draws the ledger dashboard's charts from the figures the page embeds (#dashboard-data).
(function () {
  "use strict";
  function draw() {
    var data = JSON.parse(document.getElementById("dashboard-data").textContent);
    var money = function (rows, key) { return rows.map(function (r) { return Number(r[key]); }); };
    var calls = function (rows) { return rows.map(function (r) { return r.calls; }); };
    new Chart(document.getElementById("chart-daily"), {
      data: {
        labels: data.days,
        datasets: [
          { type: "bar", label: "calls", data: calls(data.daily), yAxisID: "calls" },
          { type: "line", label: "revenue", data: money(data.daily, "revenue"), yAxisID: "money" },
          { type: "line", label: "cost", data: money(data.daily, "cost"), yAxisID: "money" },
          { type: "line", label: "margin", data: money(data.daily, "margin"), yAxisID: "money" }
        ]
      },
      options: {
        animation: false,
        scales: {
          calls: { type: "linear", position: "left", beginAtZero: true },
          money: { type: "linear", position: "right", beginAtZero: true, grid: { drawOnChartArea: false } }
        }
      }
    });
    new Chart(document.getElementById("chart-share"), {
      type: "doughnut",
      data: { labels: data.providers, datasets: [{ label: "calls", data: calls(data.by_provider) }] },
      options: { animation: false, plugins: { title: { display: true, text: "Share of calls" } } }
    });
    new Chart(document.getElementById("chart-providers"), {
      type: "bar",
      data: {
        labels: data.providers,
        datasets: [
          { label: "revenue", data: money(data.by_provider, "revenue") },
          { label: "cost", data: money(data.by_provider, "cost") },
          { label: "margin", data: money(data.by_provider, "margin") }
        ]
      },
      options: { animation: false }
    });
    document.body.setAttribute("data-charts-drawn", "3");
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
