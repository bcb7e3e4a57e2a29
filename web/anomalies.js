// Anomalies: one sensor's time series with its anomalous readings marked, the distribution of
// the readings held in memory (anomalous ones in red), and the alert history with filters;
// a row opens the sensor's detail page.

import { makeChart, makeSensorCharts, seriesData, onSegmented, formatValue, formatCount, formatTime, formatDateTime, severityPill, escapeHtml, SEVERITY } from './charts.js';

const MAX_ROWS = 200;
let app = null;
let charts = null;
let selected = '';
let histogramMode = 'temperature';
let drawnSeries = -1;
let drawnTable = '';
const filters = { sensor: '', severity: 0, seconds: 0 };
const table = { filterKey: null, newest: 0 };  // what the alert table's rows were made from

export function init(store, api) {
  app = api;
  const input = document.getElementById('series-sensor');
  input.addEventListener('change', () => {
    const id = input.value.trim();
    if (store.byId.has(id)) { selected = id; api.watchSensor(id); }
  });
  onSegmented(document.getElementById('histogram-mode'), (mode) => {
    histogramMode = mode;
    drawnSeries = -1;
    api.scheduleRender();
  });
  const sensorFilter = document.getElementById('filter-sensor');
  sensorFilter.addEventListener('input', () => { filters.sensor = sensorFilter.value.trim(); api.scheduleRender(); });
  const severity = document.getElementById('filter-severity');
  severity.addEventListener('change', () => { filters.severity = Number(severity.value); api.scheduleRender(); });
  const time = document.getElementById('filter-time');
  time.addEventListener('change', () => { filters.seconds = Number(time.value); api.scheduleRender(); });
  document.getElementById('filter-clear').addEventListener('click', () => {
    sensorFilter.value = ''; severity.value = '0'; time.value = '0';
    Object.assign(filters, { sensor: '', severity: 0, seconds: 0 });
    api.scheduleRender();
  });
  document.getElementById('alerts-table').addEventListener('click', (e) => {
    const tr = e.target.closest('tr[data-sensor]');
    if (tr) api.navigate('/sensor/' + encodeURIComponent(tr.dataset.sensor));
  });
}

export function watch() {
  return selected;
}

export function show(store) {
  drawnSeries = -1;
  drawnTable = '';
  table.filterKey = null;
  if (charts) return;
  charts = {
    ...makeSensorCharts(document.getElementById('series-temperature'), document.getElementById('series-humidity'),
      () => store.dashboard?.bands, 'pick a sensor'),
    histogram: makeChart(document.getElementById('histogram'), {
      // Anomalies are ~1 % of the readings: on their own (right) axis they stay visible.
      time: false, bars: true, zero: true, counts: true, y2: true, xLabel: 'bin',
      xFormat: (v) => String(v), yFormat: (v) => formatCount(v), y2Format: (v) => formatCount(v),
      series: [
        { label: 'all readings (left)', stroke: '#3b82f6', fill: 'rgba(59, 130, 246, 0.5)' },
        { label: 'anomalous (right)', stroke: '#f43f5e', fill: 'rgba(244, 63, 94, 0.85)', scale: 'y2' },
      ],
    }),
  };
}

export function histogramData(h) {
  let first = h.normal.length, last = -1;
  for (let i = 0; i < h.normal.length; i++) {
    if (h.normal[i] + h.anomalous[i] > 0) { first = Math.min(first, i); last = i; }
  }
  const xs = [], total = [], anomalous = [];
  for (let i = Math.max(0, first - 2); i <= Math.min(h.normal.length - 1, last + 2); i++) {
    xs.push(h.low + (i + 0.5) * h.step);
    total.push(h.normal[i] + h.anomalous[i]);
    anomalous.push(h.anomalous[i] || null);
  }
  return [xs, total, anomalous];
}

/// The alerts that pass `f`, newest first (all of them; the caller shows the first rows).
export function filterAlerts(store, f) {
  const needle = f.sensor.toLowerCase();
  const since = f.seconds ? (store.now || Date.now()) - f.seconds * 1000 : -Infinity;
  const out = [];
  for (let i = store.alerts.length - 1; i >= 0; i--) {
    const a = store.alerts[i];
    if (a[1] < since || a[7] < f.severity) continue;
    if (needle && !store.sensors[a[3]].id.toLowerCase().includes(needle)) continue;
    out.push(a);
  }
  return out;
}

export function alertRows(store, alerts, withSensor = true) {
  return alerts.map(([id, wall, time, index, temp, hum, score, level]) => {
    const s = store.sensors[index];
    return `<tr data-sensor="${escapeHtml(s.id)}" data-time="${time}" data-wall="${wall}" data-severity="${SEVERITY[level]}" data-alert="${id}">` +
      `<td>${formatTime(wall)}</td><td class="muted">${formatDateTime(time)}</td>` +
      (withSensor ? `<td>${escapeHtml(s.id)}</td><td class="muted">${escapeHtml(s.location)}</td>` : '') +
      `<td class="num">${formatValue(temp, 2)}</td><td class="num">${formatValue(hum, 1)}</td><td class="num">${score == null ? '–' : score.toFixed(2)}</td><td>${severityPill(level)}</td></tr>`;
  }).join('');
}

export function render(store) {
  if (!charts || !store.dashboard) return;
  if (!selected && store.sensors.length) {
    // Start with the sensor of the newest alert: the one most worth looking at.
    const newest = store.alerts[store.alerts.length - 1];
    selected = newest ? store.sensors[newest[3]].id : store.sensors[0].id;
    document.getElementById('series-sensor').value = selected;
    app.watchSensor(selected);
    return;
  }
  if (drawnSeries !== store.version) {
    drawnSeries = store.version;
    const points = store.watch.id === selected ? store.watch.points : [];
    charts.temperature.update(seriesData(points, 1));
    charts.humidity.update(seriesData(points, 2));
    if (store.histograms) charts.histogram.update(histogramData(store.histograms[histogramMode]));
  }
  renderTable(store);
}

/// The alert table, newest first. With the same filters, new alerts are inserted at the top
/// and the oldest rows dropped at the bottom: rebuilding 200 rows per frame costs more than
/// a frame at 100 alerts/s.
function renderTable(store) {
  const newest = store.alerts.length ? store.alerts[store.alerts.length - 1][0] : 0;
  const filterKey = `${store.epoch}|${filters.sensor}|${filters.severity}|${filters.seconds}`;
  const second = Math.floor((store.now || 0) / 1000);
  const key = `${filterKey}|${newest}|${filters.seconds ? second : 0}`;
  if (key === drawnTable) return;
  drawnTable = key;
  const tbody = document.querySelector('#alerts-table tbody');
  const alerts = filterAlerts(store, filters);
  if (filterKey !== table.filterKey || !tbody.querySelector('tr[data-alert]')) {
    table.filterKey = filterKey;
    const shown = alerts.slice(0, MAX_ROWS);
    tbody.innerHTML = shown.length
      ? alertRows(store, shown)
      : `<tr class="empty-row"><td colspan="8">${store.alerts.length ? 'no alert matches the filters' : 'no alert yet'}</td></tr>`;
  } else {
    const fresh = [];
    for (const a of alerts) {
      if (a[0] <= table.newest || fresh.length === MAX_ROWS) break;
      fresh.push(a);
    }
    if (fresh.length) tbody.insertAdjacentHTML('afterbegin', alertRows(store, fresh));
    const since = filters.seconds ? (store.now || Date.now()) - filters.seconds * 1000 : -Infinity;
    for (let row = tbody.lastElementChild; row && (tbody.rows.length > MAX_ROWS || Number(row.dataset.wall) < since); row = tbody.lastElementChild) {
      row.remove();
    }
    if (!tbody.rows.length) tbody.innerHTML = '<tr class="empty-row"><td colspan="8">no alert matches the filters</td></tr>';
  }
  table.newest = newest;
  document.getElementById('alerts-count').textContent =
    `${alerts.length} of ${store.alerts.length} kept alerts` + (alerts.length > MAX_ROWS ? `, newest ${MAX_ROWS} shown` : '');
}
