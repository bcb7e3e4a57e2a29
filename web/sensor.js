// One sensor's detail: its latest reading and counts, its temperature and humidity over event
// time with the anomalous readings marked, and its alerts.

import { makeSensorCharts, seriesData, formatValue, formatCount, severityPill } from './charts.js';
import { alertRows } from './anomalies.js';

let charts = null;
let id = '';
let drawn = -1;

export function init() {}

export function watch(params) {
  return params.id;
}

export function show(store, params) {
  id = params.id;
  drawn = -1;
  document.getElementById('sensor-title').textContent = id;
  if (charts) return;
  charts = makeSensorCharts(document.getElementById('sensor-temperature'), document.getElementById('sensor-humidity'),
    () => store.dashboard?.bands);
}

function kpi(label, value, sub = '') {
  return `<div class="kpi"><div class="label">${label}</div><div class="value">${value}</div><div class="sub">${sub}</div></div>`;
}

export function render(store) {
  if (!charts || drawn === store.version) return;
  drawn = store.version;
  const index = store.byId.get(id);
  const s = index == null ? null : store.sensors[index];
  document.getElementById('sensor-location').textContent = s ? s.location : 'no reading from this sensor yet';
  const points = store.watch.id === id ? store.watch.points : [];
  charts.temperature.update(seriesData(points, 1));
  charts.humidity.update(seriesData(points, 2));
  if (!s) return;
  document.getElementById('sensor-kpis').innerHTML =
    kpi('Temperature', formatValue(s.temperature, 2) + ' °C', 'latest reading') +
    kpi('Humidity', formatValue(s.humidity, 1) + ' %', 'latest reading') +
    kpi('Readings', formatCount(s.count), 'since the start') +
    kpi('Anomalies', formatCount(s.anomalies), s.count ? `${((s.anomalies / s.count) * 100).toFixed(2)} % of readings` : '') +
    kpi('Last severity', s.lastLevel ? severityPill(s.lastLevel) : '–', s.lastAnomalyWall ? 'at ' + new Date(s.lastAnomalyWall).toLocaleTimeString('en-GB') : 'never anomalous');
  const alerts = store.alerts.filter((a) => a[3] === index).reverse().slice(0, 100);
  document.querySelector('#sensor-alerts tbody').innerHTML = alerts.length
    ? alertRows(store, alerts, false)
    : '<tr class="empty-row"><td colspan="6">no alert kept for this sensor</td></tr>';
}
