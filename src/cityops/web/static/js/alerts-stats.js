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

  function bars(id, block, color, horizontal, names, labelWidth) {
    const width = labelWidth || 150;
    // Horizontal bars get a fixed label column: measuring labels before the web font has
    // loaded would otherwise cut long Vietnamese labels at the left edge.
    const category = { type: "category", data: block.labels,
      axisLabel: horizontal ? { interval: 0, width: width, overflow: "truncate" } : { rotate: 30, interval: 0 } };
    const value = { type: "value", axisLabel: { formatter: function (v) { return number.format(v); } } };
    draw(id, {
      grid: horizontal ? { left: width + 15, right: 40, top: 10, bottom: 24, containLabel: false }
        : { left: 8, right: 16, top: 30, bottom: 8, containLabel: true },
      tooltip: { trigger: "axis", formatter: function (items) {
        const i = items[0].dataIndex;
        return (names ? names[i] : block.labels[i]) + ": " + number.format(items[0].value);
      } },
      xAxis: horizontal ? value : category,
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
  bars("chart-status", data.status, "#5b6675", false);
  bars("chart-agency", { labels: data.agency.names, values: data.agency.values }, "#e8710a", true,
       data.agency.labels.map(function (code, i) { return code + " — " + data.agency.names[i]; }), 300);
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
