// Draws each report chart with ECharts from the JSON beside it. Progressive enhancement: the page and
// every number are already there (the table under each chart); without scripts nothing is lost but the
// picture. Suppressed points are null, drawn as gaps, never as zero.
(function () {
  'use strict';
  function draw(figure) {
    var data = JSON.parse(figure.querySelector('.carelake-chart__data').textContent);
    var canvas = figure.querySelector('.carelake-chart__canvas');
    if (!window.echarts || !canvas) return;
    var xs = [];
    var seriesNames = [];
    data.points.forEach(function (p) {
      var x = String(p.x);
      if (xs.indexOf(x) < 0) xs.push(x);
      if (p.series !== null && seriesNames.indexOf(p.series) < 0) seriesNames.push(p.series);
    });
    var series = [];
    if (seriesNames.length > 0) {
      seriesNames.forEach(function (name) {
        var values = xs.map(function (x) {
          var point = data.points.find(function (p) { return String(p.x) === x && p.series === name; });
          return point ? point.y[0] : null;
        });
        series.push({ name: name, type: data.type, data: values, connectNulls: false });
      });
    } else {
      data.y.forEach(function (label, i) {
        series.push({ name: label, type: data.type, data: data.points.map(function (p) { return p.y[i]; }), connectNulls: false });
      });
    }
    canvas.style.height = '360px';
    var chart = window.echarts.init(canvas, null, { renderer: 'svg' });
    chart.setOption({
      animation: false,
      color: ['#005eb8', '#330072', '#007f3b', '#ffb81c', '#d5281b', '#00a499', '#ae2573', '#768692'],
      tooltip: { trigger: 'axis' },
      legend: { show: series.length > 1, bottom: 0 },
      grid: { left: 56, right: 16, top: 16, bottom: series.length > 1 ? 56 : 32 },
      xAxis: { type: 'category', data: xs },
      yAxis: { type: 'value' },
      series: series,
    });
    window.addEventListener('resize', function () { chart.resize(); });
  }
  // On paper each chart is followed by its numbers: a closed <details> prints nothing, so open them.
  var opened = [];
  window.addEventListener('beforeprint', function () {
    document.querySelectorAll('.carelake-chart details:not([open])').forEach(function (d) { d.open = true; opened.push(d); });
  });
  window.addEventListener('afterprint', function () {
    opened.forEach(function (d) { d.open = false; });
    opened = [];
  });
  document.addEventListener('DOMContentLoaded', function () {
    document.querySelectorAll('.carelake-chart').forEach(draw);
    // For whoever waits on the drawing (the PDF printer).
    document.documentElement.setAttribute('data-charts-drawn', '');
  });
})();
