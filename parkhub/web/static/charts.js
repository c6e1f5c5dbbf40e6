/* parkhub console: the report page's trend charts (ECharts, served from the package).
   The data comes from <script type="application/json" id="trend-data">: no inline code. */
(function () {
  "use strict";
  var holder = document.getElementById("trend-data");
  if (!holder || typeof echarts === "undefined") { return; }
  var data = JSON.parse(holder.textContent);
  var colours = ["#1565c0", "#2e7d32", "#b26a00", "#6a1b9a"];
  data.charts.forEach(function (chart, n) {
    var el = document.getElementById("chart-" + n);
    if (!el) { return; }
    var plot = echarts.init(el, null, { renderer: "canvas" });
    plot.setOption({
      animation: false,
      color: colours,
      title: { text: chart.title, left: 0, textStyle: { fontSize: 14 } },
      tooltip: { trigger: "axis", renderMode: "richText" },
      legend: { top: 24, left: 0 },
      grid: { top: 64, left: 56, right: 16, bottom: 28 },
      xAxis: { type: "category", data: data.periods },
      yAxis: { type: "value" },
      series: chart.series.map(function (s) {
        return { name: s.name, type: "line", data: s.data, connectNulls: false, symbolSize: 6 };
      })
    });
    el.setAttribute("data-rendered", "1");
    window.addEventListener("resize", function () { plot.resize(); });
  });
})();
