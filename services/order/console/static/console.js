// The console's few lines of script: charts from the data the page carries, alerts from the server, row flashes.
// Nothing here polls: pages change only when the server's event stream says something moved.
(function () {
  "use strict";
  function json(id) { var el = document.getElementById(id); return el ? JSON.parse(el.textContent) : null; }
  var charts = [];
  function chart(id, config) {
    var canvas = document.getElementById(id);
    if (!canvas || !window.Chart) return;
    var old = window.Chart.getChart(canvas); if (old) old.destroy();
    config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false }, config.options || {});
    charts.push(new window.Chart(canvas, config));
  }
  var DAY = 86400000;
  function day(iso) { return iso ? Date.parse(iso + "T00:00:00Z") / DAY : null; }
  function dateLabel(v) { return new Date(v * DAY).toLocaleDateString(document.documentElement.lang); }

  function planChart() {
    var rows = json("plan-data"), labels = json("plan-labels");
    if (!rows) return;
    var names = labels.milestones || {};
    var cats = rows.map(function (r) { return r.work_order_id + " · " + (names["milestone." + r.milestone] || r.milestone); });
    function points(key) { return rows.map(function (r, i) { return r[key] ? { x: day(r[key]), y: cats[i] } : null; }).filter(Boolean); }
    chart("plan-chart", {
      type: "scatter",
      data: { datasets: [
        { label: labels.planned, data: points("planned"), pointStyle: "rect", pointRadius: 6, backgroundColor: "#6b7785" },
        { label: labels.projected, data: points("projected"), pointStyle: "triangle", pointRadius: 7, backgroundColor: "#b26b00" },
        { label: labels.actual, data: points("actual"), pointStyle: "circle", pointRadius: 6, backgroundColor: "#176636" } ] },
      options: { scales: { y: { type: "category", labels: cats, reverse: false }, x: { ticks: { callback: dateLabel } } },
                 plugins: { tooltip: { callbacks: { label: function (c) { return c.dataset.label + ": " + dateLabel(c.parsed.x); } } } } }
    });
  }

  function kpiCharts() {
    var data = json("kpi-data"), labels = json("kpi-labels");
    if (!data) return;
    function name(group, key) { return labels[group + "." + key] || key; }
    chart("chart-lead", { type: "bar", data: {
      labels: data.lead_times.map(function (x) { return name("status", x.stage); }),
      datasets: [{ label: labels["chart.actual"], data: data.lead_times.map(function (x) { return x.actual_mean_days; }), backgroundColor: "#0b5cad" },
                 { label: labels["chart.planned"], data: data.lead_times.map(function (x) { return x.planned_mean_days; }), backgroundColor: "#8a939e" }] } });
    var stages = Array.from(new Set(data.delay_causes.map(function (x) { return x.stage; })));
    var causes = Array.from(new Set(data.delay_causes.map(function (x) { return x.cause; })));
    var palette = ["#9f1c1c", "#b26b00", "#0b5cad", "#176636", "#6a3d9a", "#4a5360", "#c2185b"];
    chart("chart-causes", { type: "bar", data: { labels: stages.map(function (s) { return name("stage", s); }),
      datasets: causes.map(function (c, i) { return { label: name("cause", c), backgroundColor: palette[i % palette.length],
        data: stages.map(function (s) { var f = data.delay_causes.find(function (x) { return x.stage === s && x.cause === c; }); return f ? f.exceptions : 0; }) }; }) },
      options: { scales: { x: { stacked: true }, y: { stacked: true, ticks: { precision: 0 } } } } });
    chart("chart-stages", { type: "bar", data: { labels: data.per_stage.map(function (x) { return name("status", x.stage); }),
      datasets: [{ label: labels["chart.orders"], data: data.per_stage.map(function (x) { return x.orders; }), backgroundColor: "#0b5cad" },
                 { label: labels["chart.exceptions"], data: data.per_stage.map(function (x) { return x.exceptions; }), backgroundColor: "#9f1c1c" }] },
      options: { scales: { y: { ticks: { precision: 0 } } } } });
    if (data.aging && data.aging.totals) {
      var keys = ["current", "days_1_30", "days_31_60", "days_61_90", "days_90_plus"];
      chart("chart-aging", { type: "bar", data: { labels: keys.map(function (k) { return labels["chart." + k] || k; }),
        datasets: data.aging.totals.map(function (t, i) { return { label: t.currency, backgroundColor: palette[i % palette.length],
          data: keys.map(function (k) { return Number(t[k] || 0); }) }; }) } });
    }
  }

  function draw() { planChart(); kpiCharts(); }
  document.addEventListener("DOMContentLoaded", draw);
  document.addEventListener("htmx:afterSettle", function (e) { if (e.target && e.target.querySelector && e.target.querySelector("canvas")) draw(); });
  document.addEventListener("console-alert", function (e) {
    var box = document.getElementById("alerts"); if (box) box.textContent = e.detail.value;
  });
  document.addEventListener("htmx:responseError", function (e) {
    if (e.detail.xhr.getResponseHeader("HX-Trigger")) return;  // the server said it in words already
    var box = document.getElementById("alerts"); if (box) box.textContent = e.detail.xhr.status + " " + (e.detail.xhr.responseText || "").slice(0, 300);
  });
})();
