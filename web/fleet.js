// Fleet overview: totals and rates, fleet temperature and humidity per second with their
// normal bands, the heat map by location, every sensor's latest reading, latest anomalies.

import { makeChart, makeScatter, renderHeatmap, onSegmented, bandColor, rateColor, formatCount, formatValue, formatTime, severityPill, escapeHtml } from './charts.js';

const ALERTING_MS = 30000;
let charts = null;
let scatter = null;
let heatmapMode = 'temperature';
let app = null;
let drawn = -1;

export function init(store, api) {
  app = api;
  onSegmented(document.getElementById('heatmap-mode'), (mode) => {
    heatmapMode = mode;
    drawn = -1;
    api.scheduleRender();
  });
  document.getElementById('fleet-recent').addEventListener('click', openRow);
  document.getElementById('fleet-attention').addEventListener('click', openRow);
}

function openRow(e) {
  const tr = e.target.closest('tr[data-sensor]');
  if (tr) app.navigate('/sensor/' + encodeURIComponent(tr.dataset.sensor));
}

function bands(store) {
  const b = store.dashboard?.bands ?? { temperature: [17.5, 25.5], humidity: [30, 62] };
  return b;
}

export function show(store) {
  if (charts) return;
  const band = (key) => () => bands(store)[key];
  const fleetSeries = (unit, color) => [
    { label: 'min', stroke: 'rgba(0,0,0,0)', width: 0, value: (u, v) => formatValue(v, 1) + unit },
    { label: 'mean', stroke: color, width: 2, value: (u, v) => formatValue(v, 2) + unit },
    { label: 'max', stroke: 'rgba(0,0,0,0)', width: 0, value: (u, v) => formatValue(v, 1) + unit },
  ];
  charts = {
    temperature: makeChart(document.getElementById('fleet-temperature'), {
      series: fleetSeries(' °C', '#f59e0b'), band: band('temperature'), minSpan: 60, fillBetween: [[3, 1, 'rgba(245, 158, 11, 0.16)']],
    }),
    humidity: makeChart(document.getElementById('fleet-humidity'), {
      series: fleetSeries(' %', '#38bdf8'), band: band('humidity'), minSpan: 60, fillBetween: [[3, 1, 'rgba(56, 189, 248, 0.16)']],
    }),
  };
  scatter = makeScatter(document.getElementById('fleet-scatter'), (id) => app.navigate('/sensor/' + encodeURIComponent(id)));
}

function kpi(label, value, sub = '', cls = '') {
  return `<div class="kpi ${cls}"><div class="label">${label}</div><div class="value">${value}</div><div class="sub">${sub}</div></div>`;
}

export function render(store) {
  if (!charts || !store.dashboard || drawn === store.version) return;
  drawn = store.version;
  const b = bands(store);
  const now = store.now || Date.now();
  const t = store.totals ?? { events: 0, anomalies: 0, sensors: 0 };
  const bucketSeconds = (store.dashboard.limits.bucket_ms ?? 1000) / 1000;
  const last = store.buckets[store.buckets.length - 1];
  const recent = store.buckets.filter((x) => x[0] >= now - 60000);
  const recentCount = recent.reduce((s, x) => s + x[1], 0);
  const recentAnomalies = recent.reduce((s, x) => s + x[2], 0);
  const alerting = store.sensors.filter((s) => s.lastAnomalyWall && now - s.lastAnomalyWall < ALERTING_MS);
  const outside = store.sensors.filter((s) => s.temperature != null && (s.temperature < b.temperature[0] || s.temperature > b.temperature[1]));
  document.getElementById('fleet-kpis').innerHTML =
    kpi('Sensors', formatCount(t.sensors), t.untracked_events ? `${formatCount(t.untracked_events)} readings untracked` : 'reporting') +
    kpi('Readings', formatCount(t.events), 'since the start') +
    kpi('Readings / s', last ? formatCount(last[1] / bucketSeconds) : '–', 'last second') +
    kpi('Anomalies', formatCount(t.anomalies), t.events ? `${((t.anomalies / t.events) * 100).toFixed(2)} % of readings` : '') +
    kpi('Anomaly rate', recentCount ? ((recentAnomalies / recentCount) * 100).toFixed(2) + ' %' : '–', 'last minute', recentCount && recentAnomalies / recentCount > 0.05 ? 'warn' : '') +
    kpi('Alerting now', String(alerting.length), `sensors, anomaly in the last 30 s`, alerting.length ? 'bad' : '') +
    kpi('Outside band', String(outside.length), `temperature outside ${b.temperature[0]}–${b.temperature[1]} °C`, outside.length ? 'warn' : '');

  // Fleet charts: one point per closed one-second bucket, a gap where no reading arrived.
  const xs = [], tmin = [], tmean = [], tmax = [], hmin = [], hmean = [], hmax = [];
  let prev = null;
  for (const x of store.buckets) {
    if (prev != null && x[0] - prev > 1.5 * store.dashboard.limits.bucket_ms) {
      xs.push((prev + store.dashboard.limits.bucket_ms) / 1000);
      for (const a of [tmin, tmean, tmax, hmin, hmean, hmax]) a.push(null);
    }
    prev = x[0];
    xs.push(x[0] / 1000);
    tmin.push(x[3]); tmean.push(x[4]); tmax.push(x[5]);
    hmin.push(x[6]); hmean.push(x[7]); hmax.push(x[8]);
  }
  charts.temperature.update([xs, tmin, tmean, tmax]);
  charts.humidity.update([xs, hmin, hmean, hmax]);

  // Heat map cells by location.
  const cells = new Map();
  for (const s of store.sensors) {
    let c = cells.get(s.location);
    if (!c) { c = { location: s.location, row: s.row, col: s.col, sensors: 0, tSum: 0, tN: 0, hSum: 0, hN: 0, count: 0, anomalies: 0, alerting: false }; cells.set(s.location, c); }
    c.sensors++;
    if (s.temperature != null) { c.tSum += s.temperature; c.tN++; }
    if (s.humidity != null) { c.hSum += s.humidity; c.hN++; }
    c.count += s.count; c.anomalies += s.anomalies;
    if (s.lastAnomalyWall && now - s.lastAnomalyWall < ALERTING_MS) c.alerting = true;
  }
  const list = [...cells.values()].map((c) => ({ ...c, temperature: c.tN ? c.tSum / c.tN : null, humidity: c.hN ? c.hSum / c.hN : null }));
  renderHeatmap(document.getElementById('heatmap'), list, heatmapMode, b);
  const legend = document.getElementById('heatmap-legend');
  if (heatmapMode === 'anomalies') {
    legend.innerHTML = `<span>0 %</span><span class="ramp" style="background:linear-gradient(90deg, ${rateColor(0)}, ${rateColor(0.025)}, ${rateColor(0.05)})"></span><span>5 %+ anomalous (since the start)</span><span style="margin-left:auto"><i class="dot"></i> anomaly in the last 30 s</span>`;
  } else {
    const [lo, hi] = b[heatmapMode];
    const unit = heatmapMode === 'humidity' ? '%' : '°C';
    const ramp = [lo - (hi - lo) * 0.6, lo, (lo + hi) / 2, hi, hi + (hi - lo) * 0.8].map((v) => bandColor(v, [lo, hi]));
    legend.innerHTML = `<span>below ${lo} ${unit}</span><span class="ramp" style="background:linear-gradient(90deg, ${ramp.join(',')})"></span><span>above ${hi} ${unit}</span><span style="margin-left:auto">mean of each location's latest readings · <i class="dot"></i> anomaly in the last 30 s</span>`;
  }

  scatter.draw(store.sensors.map((s) => ({ ...s, alerting: s.lastAnomalyWall && now - s.lastAnomalyWall < ALERTING_MS, level: s.lastLevel })), b);

  const latest = store.alerts.slice(-8).reverse();
  document.querySelector('#fleet-recent tbody').innerHTML = latest.length
    ? latest.map(([, wall, , index, temp, hum, , level]) => {
      const s = store.sensors[index];
      return `<tr data-sensor="${escapeHtml(s.id)}"><td>${formatTime(wall)}</td><td>${escapeHtml(s.id)}</td><td class="muted">${escapeHtml(s.location)}</td><td class="num">${formatValue(temp, 2)}</td><td class="num">${formatValue(hum, 1)}</td><td>${severityPill(level)}</td></tr>`;
    }).join('')
    : '<tr class="empty-row"><td colspan="6">no anomaly yet</td></tr>';

  const attention = store.sensors
    .filter((s) => (s.lastAnomalyWall && now - s.lastAnomalyWall < ALERTING_MS) || (s.temperature != null && (s.temperature < b.temperature[0] || s.temperature > b.temperature[1])))
    .map((s) => ({ s, rank: (s.lastAnomalyWall && now - s.lastAnomalyWall < ALERTING_MS ? s.lastLevel * 1e9 : 0) + s.anomalies }))
    .sort((x, y) => y.rank - x.rank)
    .slice(0, 8)
    .map((x) => x.s);
  document.querySelector('#fleet-attention tbody').innerHTML = attention.length
    ? attention.map((s) => `<tr data-sensor="${escapeHtml(s.id)}"><td>${escapeHtml(s.id)}</td><td class="muted">${escapeHtml(s.location)}</td><td class="num">${formatValue(s.temperature, 2)}</td><td class="num">${formatValue(s.humidity, 1)}</td><td class="num">${s.anomalies}</td><td>${severityPill(s.lastLevel)}</td></tr>`).join('')
    : '<tr class="empty-row"><td colspan="6">every sensor is inside its band</td></tr>';
}
