// The dashboard's state, its one Server-Sent Events stream, and the router. The engine sends
// coalesced deltas (fleet: every few hundred ms; pipeline: once a second); this file folds
// them into `store` and asks the visible page to redraw at most once per animation frame.

import * as fleet from './fleet.js';
import * as anomalies from './anomalies.js';
import * as sensor from './sensor.js';
import * as pipeline from './pipeline.js';

export const store = {
  hello: null,
  dashboard: null,        // the dashboard sink shown (first one), its columns, bands and limits
  sensors: [],            // by index: {id, location, row, col, time, temperature, humidity, level, count, anomalies, lastAnomalyWall, lastLevel}
  byId: new Map(),
  buckets: [],            // [start ms, count, anomalies, t min, t mean, t max, h min, h mean, h max]
  alerts: [],             // [id, wall ms, time ms, sensor index, temperature, humidity, score, level], oldest first
  alertsVersion: 0,
  epoch: 0,               // bumped when a (re)connected stream starts over
  histograms: null,
  totals: null,
  now: 0,                 // engine wall clock of the last fleet frame
  watch: { id: '', points: [] },
  samples: [],            // pipeline samples, oldest first
  finished: false,
  version: 0,             // bumped on every change
};

const pages = { fleet, anomalies, sensor, pipeline };
let current = null;
let params = {};
let source = null;
let streamWatch = null;
const MAX_SAMPLES = 600;

function splitLocation(location) {
  const slash = location.indexOf('/');
  return slash < 0 ? { row: location || 'all', col: '' } : { row: location.slice(0, slash), col: location.slice(slash + 1) };
}

function applyHello(h) {
  store.hello = h;
  store.epoch++;
  store.dashboard = h.dashboards[0] ?? null;
  store.finished = h.finished;
  store.sensors = [];
  store.byId = new Map();
  store.buckets = [];
  store.alerts = [];
  store.alertsVersion++;
  store.histograms = null;
  store.totals = null;
  store.watch = { id: streamWatch ?? '', points: [] };
  store.samples = [];
  document.getElementById('pipeline-name').textContent = `pipeline “${h.pipeline}”`;
  for (const el of document.querySelectorAll('.no-dashboard')) el.hidden = store.dashboard != null;
}

function applyFleet(f) {
  store.now = f.now;
  store.totals = f.totals;
  if (f.new_sensors) {
    const list = document.getElementById('sensor-ids');
    const frag = document.createDocumentFragment();
    for (const [id, location] of f.new_sensors) {
      store.byId.set(id, store.sensors.length);
      store.sensors.push({ id, location, ...splitLocation(location), count: 0, anomalies: 0, lastAnomalyWall: 0, lastLevel: 0 });
      const opt = document.createElement('option');
      opt.value = id;
      frag.appendChild(opt);
    }
    if (store.sensors.length === f.new_sensors.length) list.replaceChildren();  // a new stream starts over
    list.appendChild(frag);
  }
  for (const [index, time, temperature, humidity, level, count, anomalyCount, lastAnomalyWall, lastLevel] of f.sensors) {
    Object.assign(store.sensors[index], { time, temperature, humidity, level, count, anomalies: anomalyCount, lastAnomalyWall, lastLevel });
  }
  const limits = store.dashboard?.limits ?? { fleet_buckets: 600, max_alerts: 2000, history: 300 };
  if (f.buckets.length) {
    store.buckets.push(...f.buckets);
    if (store.buckets.length > limits.fleet_buckets) store.buckets.splice(0, store.buckets.length - limits.fleet_buckets);
  }
  if (f.alerts.length) {
    store.alerts.push(...f.alerts);
    if (store.alerts.length > limits.max_alerts) store.alerts.splice(0, store.alerts.length - limits.max_alerts);
    store.alertsVersion++;
  }
  if (f.histograms) store.histograms = f.histograms;
  if (f.watch) {
    if (f.watch.reset) store.watch.points = [];
    store.watch.points.push(...f.watch.points);
    if (store.watch.points.length > limits.history) store.watch.points.splice(0, store.watch.points.length - limits.history);
    // Late (out-of-order) readings arrive after newer ones; charts want event-time order.
    store.watch.points.sort((a, b) => a[0] - b[0]);
  }
}

function setConnection(state, text) {
  const el = document.getElementById('connection');
  el.className = 'pill ' + ({ live: 'pill-live', done: 'pill-done', wait: 'pill-wait' })[state];
  el.textContent = text;
}

function changed() {
  store.version++;
  scheduleRender();
}

let renderQueued = false;
function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    if (current) pages[current].render(store, params);
  });
}

/// (Re)opens the stream; the watched sensor's readings come with it.
function connect(watch) {
  if (source && streamWatch === watch) return;
  if (source) source.close();
  streamWatch = watch;
  const query = new URLSearchParams({ fleet: '1', pipeline: '1' });
  if (watch) query.set('watch', watch);
  source = new EventSource('/api/stream?' + query);
  source.addEventListener('hello', (e) => { applyHello(JSON.parse(e.data)); setConnection(store.finished ? 'done' : 'live', store.finished ? 'run finished' : 'live'); changed(); });
  source.addEventListener('fleet', (e) => { applyFleet(JSON.parse(e.data)); changed(); });
  source.addEventListener('pipeline', (e) => {
    store.samples.push(...JSON.parse(e.data));
    if (store.samples.length > MAX_SAMPLES) store.samples.splice(0, store.samples.length - MAX_SAMPLES);
    changed();
  });
  source.addEventListener('status', (e) => {
    store.finished = JSON.parse(e.data).finished;
    setConnection('done', 'run finished');
    changed();
  });
  source.onerror = () => setConnection('wait', store.finished ? 'engine gone' : 'reconnecting…');
}

function route() {
  const path = location.pathname;
  let page = 'fleet';
  params = {};
  if (path.startsWith('/anomalies')) page = 'anomalies';
  else if (path.startsWith('/pipeline')) page = 'pipeline';
  else if (path.startsWith('/sensor/')) { page = 'sensor'; params.id = decodeURIComponent(path.slice('/sensor/'.length)); }
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.dataset.page === page || (page === 'sensor' && a.dataset.page === 'anomalies'));
  for (const name of Object.keys(pages)) document.getElementById('page-' + name).hidden = name !== page;
  if (current !== page) {
    current = page;
    pages[page].show(store, params);
  } else {
    pages[page].show(store, params);
  }
  connect(pages[page].watch?.(params) ?? streamWatch ?? '');
  document.title = `Sluice · ${page === 'sensor' ? params.id : page[0].toUpperCase() + page.slice(1)}`;
  scheduleRender();
}

export function navigate(path) {
  if (path !== location.pathname + location.search) history.pushState(null, '', path);
  route();
}

/// Lets a page ask for another sensor's readings (reconnects the stream).
export function watchSensor(id) {
  connect(id);
}

document.addEventListener('click', (e) => {
  const a = e.target.closest('a[data-link]');
  if (a && !e.ctrlKey && !e.metaKey && !e.shiftKey && e.button === 0) {
    e.preventDefault();
    navigate(a.getAttribute('href'));
  }
});
window.addEventListener('popstate', route);
for (const page of Object.values(pages)) page.init(store, { navigate, watchSensor, scheduleRender });
route();
