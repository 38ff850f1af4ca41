// Alert statistics charts (Apache ECharts). The figures come from the page itself (a JSON
// script element written by the server), so the charts always match the tables.
(function () {
  "use strict";
  const source = document.getElementById("stats-data");
  if (!source || !window.echarts) return;
  const data = JSON.parse(source.textContent);
  const lang = document.documentElement.lang || "vi";
  const number = new Intl.NumberFormat(lang === "en" ? "en-GB" : "vi-VN");
  const font = { fontFamily: "Be Vietnam Pro, system-ui, sans-serif" };
  const charts = [];

  function draw(id, option) {
    const el = document.getElementById(id);
    if (!el) return;
    const chart = echarts.init(el, null, { renderer: "svg" });
    chart.setOption(Object.assign({ textStyle: font, animation: false,
      tooltip: { trigger: "axis", valueFormatter: function (v) { return number.format(v); } },
      grid: { left: 8, right: 16, top: 30, bottom: 8, containLabel: true } }, option));
    charts.push(chart);
  }

  function bars(id, block, color, horizontal) {
    const category = { type: "category", data: block.labels, axisLabel: { interval: 0, width: 150, overflow: "truncate" } };
    const value = { type: "value", axisLabel: { formatter: function (v) { return number.format(v); } } };
    draw(id, {
      xAxis: horizontal ? value : Object.assign(category, { axisLabel: { rotate: 30, interval: 0 } }),
      yAxis: horizontal ? Object.assign(category, { inverse: true }) : value,
      series: [{ type: "bar", data: block.values.map(function (v, i) {
        return { value: v, itemStyle: { color: (block.colors && block.colors[i]) || color } };
      }), label: { show: true, position: horizontal ? "right" : "top",
                   formatter: function (p) { return number.format(p.value); } } }],
    });
  }

  const month = data.month;
  draw("chart-month", {
    legend: { top: 0 },
    xAxis: { type: "category", data: month.labels },
    yAxis: { type: "value" },
    series: [
      { name: data.series.alerts, type: "bar", data: month.alerts, itemStyle: { color: "#9cc3e6" } },
      { name: data.series.tickets, type: "line", data: month.tickets, smooth: true, itemStyle: { color: "#1f4e79" } },
      { name: data.series.late, type: "line", data: month.late, smooth: true, itemStyle: { color: "#b3261e" } },
    ],
  });
  bars("chart-severity", data.severity, "#1f4e79", false);
  bars("chart-service", data.service, "#1f4e79", true);
  bars("chart-category", data.category, "#3a7bd5", true);
  bars("chart-agency", { labels: data.agency.labels, values: data.agency.values }, "#e8710a", true);
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
