// The dashboard's daily sales chart, drawn with the vendored Chart.js.
(function () {
  "use strict";
  function draw() {
    var source = document.getElementById("sales-chart-data");
    var canvas = document.getElementById("sales-chart");
    if (!source || !canvas || typeof window.Chart === "undefined") {
      return;
    }
    var rows = JSON.parse(source.textContent);
    new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: rows.map(function (row) { return row.day.slice(5); }),
        datasets: [
          {
            label: canvas.getAttribute("aria-label"),
            data: rows.map(function (row) { return Number(row.total); }),
            backgroundColor: "#417690",
          },
        ],
      },
      options: {
        maintainAspectRatio: false,
        animation: false,
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              afterLabel: function (item) { return rows[item.dataIndex].count + " ×"; },
            },
          },
        },
        scales: { y: { beginAtZero: true } },
      },
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
