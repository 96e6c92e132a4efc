// The dashboard's only script (served by the CA, run under a CSP without inline script): draws
// the charts from the JSON data elements the pages carry, submits filter forms when a choice
// changes, and reloads live pages.
/* global uPlot, document, window, location */
'use strict';

const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#6b7280'];

function drawChart(el) {
  const source = document.getElementById(el.dataset.chart);
  if (!source || typeof uPlot === 'undefined') return;
  const data = JSON.parse(source.textContent);
  // Buckets with no events are absent from the data: fill them with zeros.
  const xs = [];
  for (let t = data.from; t < data.to; t += data.step) xs.push(t);
  const index = new Map(xs.map((t, i) => [t, i]));
  const columns = data.series.map((s) => {
    const ys = new Array(xs.length).fill(0);
    for (const [t, n] of s.points) {
      const i = index.get(t);
      if (i !== undefined) ys[i] += n;
    }
    return ys;
  });
  const opts = {
    width: Math.max(el.clientWidth, 300),
    height: 200,
    series: [{}, ...data.series.map((s, i) => ({ label: s.label, stroke: COLORS[i % COLORS.length], width: 1.5 }))],
    axes: [{}, { size: 50 }],
    scales: { x: { time: true } },
    cursor: { drag: { x: false, y: false } },
  };
  el.textContent = '';
  new uPlot(opts, [xs, ...columns], el);
}

function start() {
  for (const el of document.querySelectorAll('[data-chart]')) drawChart(el);
  for (const form of document.querySelectorAll('form[data-autosubmit]')) {
    for (const select of form.querySelectorAll('select')) select.addEventListener('change', () => form.submit());
  }
  const refresh = Number(document.body.dataset.refresh);
  if (refresh > 0) window.setTimeout(() => location.reload(), refresh * 1000);
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
