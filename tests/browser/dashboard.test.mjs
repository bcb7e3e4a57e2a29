// The dashboard end to end in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core): a simulated fleet runs with the dashboard; each page must draw its charts
// from live data, an anomaly the simulator injects must reach the alert table within 2 s,
// filters must filter, a row must open the sensor's page; /metrics must parse as Prometheus
// text and, after a finite run, match the run's printed summary. Screenshots of every page
// are saved under SLUICE_BROWSER_ARTIFACTS (printed).
//
// Run by CTest (label `browser`), which sets SLUICE_BIN, SLUICE_SOURCE_DIR,
// SLUICE_BROWSER_MODULES (where `npm ci` put playwright-core) and SLUICE_BROWSER_ARTIFACTS.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const CHROMIUM = '/usr/bin/chromium';
const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run this test through ctest (label browser)`);
  return value;
};
const SLUICE = env('SLUICE_BIN');
const SOURCE = env('SLUICE_SOURCE_DIR');
const ARTIFACTS = env('SLUICE_BROWSER_ARTIFACTS');
const PIPELINE = path.join(SOURCE, 'tests/browser/dashboard_pipeline.yaml');
const require = createRequire(path.join(env('SLUICE_BROWSER_MODULES'), 'package.json'));

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/// Starts `sluice run` with the dashboard on a free port; resolves once it printed the URL.
function startRun(name, extraArgs) {
  const out = path.join(ARTIFACTS, name);
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out, { recursive: true });
  const child = spawn(SLUICE, ['run', PIPELINE, '--ui', '127.0.0.1:0', ...extraArgs], {
    cwd: out,
    env: { ...process.env, SLUICE_BROWSER_OUT: out },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const run = { child, out, stderr: '', url: null, exit: null };
  run.exited = new Promise((resolve) => child.on('exit', (code, signal) => { run.exit = { code, signal }; resolve(run.exit); }));
  child.stderr.on('data', (chunk) => { run.stderr += chunk; });
  return waitFor(() => {
    const m = run.stderr.match(/dashboard at (http:\/\/127\.0\.0\.1:\d+\/)/);
    if (m) run.url = m[1];
    if (run.exit) throw new Error(`sluice exited early (${JSON.stringify(run.exit)}):\n${run.stderr}`);
    return run.url ? run : null;
  }, 30000, 'the dashboard URL on stderr');
}

/// Polls `check` (which returns a truthy value when done) every 50 ms for at most `ms`.
async function waitFor(check, ms, what) {
  const until = Date.now() + ms;
  for (let i = 0; Date.now() < until && i < 100000; i++) {
    const value = await check();
    if (value) return value;
    await sleep(50);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

async function stopRun(run) {
  if (!run || run.exit) return run?.exit;
  run.child.kill('SIGINT');
  let timer;
  const exit = await Promise.race([run.exited, new Promise((resolve) => { timer = setTimeout(() => resolve(null), 30000); })]);
  clearTimeout(timer);  // a pending timer would keep this process alive for its full 30 s
  if (!exit) {
    run.child.kill('SIGKILL');
    throw new Error('sluice did not stop within 30 s of SIGINT');
  }
  return exit;
}

// ---- Prometheus text exposition format (0.0.4), parsed strictly -----------------------------
const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?[ \t]+(\S+)(?:[ \t]+(-?\d+))?$/;

function parseLabels(text, line) {
  const labels = {};
  const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(?:,|$)/y;
  let at = 0;
  while (at < text.length) {
    re.lastIndex = at;
    const m = re.exec(text);
    if (!m) throw new Error(`bad labels in: ${line}`);
    if (m[1] in labels) throw new Error(`label ${m[1]} twice in: ${line}`);
    labels[m[1]] = m[2].replace(/\\(["\\n])/g, (_, c) => (c === 'n' ? '\n' : c));
    at = re.lastIndex;
  }
  return labels;
}

function parseValue(text, line) {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`bad value in: ${line}`);
  return Number(text);
}

export function parsePrometheus(text) {
  const families = new Map();
  let current = null;
  const family = (name) => {
    if (!families.has(name)) families.set(name, { name, type: 'untyped', help: null, samples: [] });
    return families.get(name);
  };
  if (!text.endsWith('\n')) throw new Error('the exposition must end with a newline');
  for (const line of text.slice(0, -1).split('\n')) {
    if (line === '') continue;
    const meta = line.match(/^# (HELP|TYPE) (\S+)(?: (.*))?$/);
    if (meta) {
      const [, kind, name, rest = ''] = meta;
      if (!NAME.test(name)) throw new Error(`bad metric name: ${line}`);
      const f = family(name);
      if (f.samples.length) throw new Error(`${kind} after samples of ${name}`);
      if (current && current !== name && families.get(name).seen) throw new Error(`${name} appears in two blocks`);
      if (kind === 'TYPE') {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest)) throw new Error(`bad type: ${line}`);
        if (f.typed) throw new Error(`two TYPE lines for ${name}`);
        f.type = rest;
        f.typed = true;
      } else {
        f.help = rest;
      }
      f.seen = true;
      current = name;
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = line.match(SAMPLE);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const [, name, labelText = '', valueText] = m;
    let base = name;
    for (const suffix of ['_bucket', '_count', '_sum']) {
      const stem = name.slice(0, -suffix.length);
      if (name.endsWith(suffix) && families.get(stem)?.type === 'histogram') base = stem;
    }
    if (base !== current) throw new Error(`sample outside its family's block: ${line}`);
    family(base).samples.push({ name, labels: parseLabels(labelText, line), value: parseValue(valueText, line) });
  }
  for (const f of families.values()) {
    if (f.type !== 'histogram') continue;
    const series = new Map();
    for (const s of f.samples) {
      const { le, ...rest } = s.labels;
      const key = JSON.stringify(rest);
      if (!series.has(key)) series.set(key, { buckets: [], count: null });
      if (s.name.endsWith('_bucket')) series.get(key).buckets.push([parseValue(le, s.name), s.value]);
      if (s.name.endsWith('_count')) series.get(key).count = s.value;
    }
    for (const [key, h] of series) {
      for (let i = 1; i < h.buckets.length; i++) {
        if (!(h.buckets[i][0] > h.buckets[i - 1][0])) throw new Error(`${f.name}${key}: le not increasing`);
        if (h.buckets[i][1] < h.buckets[i - 1][1]) throw new Error(`${f.name}${key}: buckets not cumulative`);
      }
      const inf = h.buckets[h.buckets.length - 1];
      if (!inf || inf[0] !== Infinity) throw new Error(`${f.name}${key}: no +Inf bucket`);
      if (inf[1] !== h.count) throw new Error(`${f.name}${key}: +Inf bucket ${inf[1]} != _count ${h.count}`);
    }
  }
  return families;
}

function sampleOf(families, name, operator) {
  const s = families.get(name)?.samples.find((x) => x.labels.operator === operator);
  assert.ok(s, `/metrics has no ${name} for operator ${operator}`);
  return s.value;
}

/// The summary `sluice run` prints: totals and one row per operator.
function parseSummary(stderr) {
  const head = stderr.match(/pipeline '([^']+)' (finished|stopped) in [\d.]+s: read (\d+) records \([^)]*\), written (\d+), rejected (\d+)/);
  assert.ok(head, `no summary in:\n${stderr}`);
  const lines = stderr.slice(head.index).split('\n');
  const header = lines.findIndex((l) => /^\s+operator\s+type\s+records in\s+records out\s+rejected/.test(l));
  assert.ok(header > 0, `no operator table in the summary:\n${stderr}`);
  const operators = {};
  for (const line of lines.slice(header + 1)) {
    const cells = line.trim().split(/\s+/);
    if (!line.startsWith('  ') || cells.length < 5) break;
    operators[cells[0]] = { type: cells[1], in: cells[2] === '-' ? null : Number(cells[2]), out: Number(cells[3]), rejected: Number(cells[4]) };
  }
  return { read: Number(head[3]), written: Number(head[4]), rejected: Number(head[5]), operators };
}

// ---- the live run and the browser --------------------------------------------------------------
let live = null;
let browser = null;
let page = null;
const pageErrors = [];

async function shoot(name) {
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`screenshot: ${file}`);
}

async function pointsOf(selector) {
  return Number((await page.getAttribute(selector, 'data-points')) ?? 0);
}

async function waitForPoints(selector, atLeast = 1, ms = 15000) {
  await waitFor(async () => (await pointsOf(selector)) >= atLeast, ms, `${selector} to draw ${atLeast}+ values`);
  return pointsOf(selector);
}

async function tableRows(selector) {
  return page.$$eval(`${selector} tbody tr[data-sensor]`, (rows) => rows.map((r) => ({ ...r.dataset })));
}

before(async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  console.log(`artefacts (screenshots, run outputs): ${ARTIFACTS}`);
  // Fail, do not skip: without Chromium the dashboard is untested.
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: install Debian's chromium (scripts/install-deps)`);
  live = await startRun('live', ['--set', 'sources.fleet.duration=120s']);
  const { chromium } = require('playwright-core');
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
  page.on('pageerror', (e) => pageErrors.push(e.message));
});

after(async () => {
  await browser?.close();
  const exit = await stopRun(live);
  if (live) fs.writeFileSync(path.join(ARTIFACTS, 'live', 'stderr.txt'), live.stderr);
  assert.deepEqual(exit, { code: 0, signal: null }, `the live run did not stop cleanly:\n${live?.stderr}`);
  assert.deepEqual(pageErrors, [], 'the pages threw errors');
});

test('the fleet page draws live temperature, humidity, the heat map and every sensor', async () => {
  await page.goto(live.url + 'fleet');
  await waitForPoints('#fleet-temperature', 2);
  await waitForPoints('#fleet-humidity', 2);
  const cells = await waitForPoints('#heatmap', 1);
  const sensors = await waitForPoints('#fleet-scatter', 100);
  assert.equal(sensors, 100, 'the scatter shows each of the 100 simulated sensors');
  assert.ok(cells >= 10, `the heat map has a cell per building/floor (got ${cells})`);
  const kpi = await page.textContent('#fleet-kpis .kpi:first-child .value');
  assert.equal(kpi.trim(), '100');
  await page.click('#heatmap-mode button[data-mode="anomalies"]');
  await waitFor(async () => (await page.textContent('#heatmap')).includes('%'), 5000, 'the heat map in anomaly-rate mode');
  await page.click('#heatmap-mode button[data-mode="temperature"]');
  await shoot('fleet');
});

test('an anomaly the simulator injects appears in the alert table within 2 s', async () => {
  await page.goto(live.url + 'anomalies');
  await waitFor(async () => (await tableRows('#alerts-table')).length > 0, 15000, 'the first alert row');
  // The pipeline also writes every injected anomaly to a file: take the next one it writes.
  const file = path.join(live.out, 'anomalies.ndjson');
  const start = fs.existsSync(file) ? fs.statSync(file).size : 0;
  const injected = await waitFor(() => {
    const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').slice(start) : '';
    const line = text.split('\n').find((l) => l.endsWith('}'));
    return line ? JSON.parse(line) : null;
  }, 15000, 'the simulator to inject an anomaly');
  const seen = Date.now();
  assert.equal(injected.is_anomaly, true);
  const row = `#alerts-table tr[data-sensor="${injected.sensor_id}"][data-time="${injected.timestamp}"]`;
  await page.waitForSelector(row, { timeout: 2000 });
  console.log(`anomaly ${injected.sensor_id} @ ${injected.timestamp} in the table ${Date.now() - seen} ms after the file had it`);
  assert.ok(Date.now() - seen <= 2000);
});

test('the anomalies page draws the sensor series and the distribution of readings', async () => {
  await page.goto(live.url + 'anomalies');
  await waitForPoints('#series-temperature', 10);
  await waitForPoints('#series-humidity', 10);
  await waitForPoints('#histogram', 5);
  await page.click('#histogram-mode button[data-mode="humidity"]');
  await waitForPoints('#histogram', 5);
  await page.click('#histogram-mode button[data-mode="temperature"]');
  await shoot('anomalies');
});

test('filtering the alert table by sensor, severity and time keeps only matching rows', async () => {
  await page.goto(live.url + 'anomalies');
  await waitFor(async () => (await tableRows('#alerts-table')).length >= 5, 20000, 'five alert rows');
  const all = await tableRows('#alerts-table');
  const sensor = all[0].sensor;

  await page.fill('#filter-sensor', sensor);
  const bySensor = await waitFor(async () => {
    const rows = await tableRows('#alerts-table');
    return rows.length > 0 && rows.every((r) => r.sensor === sensor) ? rows : null;
  }, 3000, `rows of ${sensor} only`);
  assert.ok(bySensor.length >= 1);

  await page.fill('#filter-sensor', 'no-such-sensor');
  await waitFor(async () => (await page.textContent('#alerts-table tbody')).includes('no alert matches the filters'), 3000, 'an empty, explained table');
  await page.click('#filter-clear');

  await page.selectOption('#filter-severity', '3');
  const severe = await waitFor(async () => {
    const rows = await tableRows('#alerts-table');
    return rows.length > 0 && rows.every((r) => r.severity === 'high' || r.severity === 'critical') ? rows : null;
  }, 3000, 'high and critical rows only');
  assert.ok(severe.length >= 1);
  await page.click('#filter-clear');

  await page.selectOption('#filter-time', '10');
  const recent = await waitFor(async () => {
    const rows = await tableRows('#alerts-table');
    const since = Date.now() - 11000;
    return rows.length > 0 && rows.every((r) => Number(r.wall) >= since) ? rows : null;
  }, 3000, 'rows of the last 10 s only');
  assert.ok(recent.length >= 1);
  const count = await page.textContent('#alerts-count');
  assert.match(count, /^\d+ of \d+ kept alerts/);
  await page.click('#filter-clear');
});

test('a row of the alert table opens the sensor\'s detail view', async () => {
  await page.goto(live.url + 'anomalies');
  await waitFor(async () => (await tableRows('#alerts-table')).length > 0, 15000, 'an alert row');
  const [first] = await tableRows('#alerts-table');
  await page.click(`#alerts-table tr[data-alert="${first.alert}"]`);
  await page.waitForURL(`**/sensor/${first.sensor}`, { timeout: 5000 });
  assert.equal((await page.textContent('#sensor-title')).trim(), first.sensor);
  await waitForPoints('#sensor-temperature', 10);
  await waitFor(async () => (await tableRows('#sensor-alerts')).length > 0, 5000, "the sensor's alerts");
  const rows = await tableRows('#sensor-alerts');
  assert.ok(rows.every((r) => r.sensor === first.sensor));
  await shoot('sensor');
});

test('the pipeline page shows rates, latencies and every operator', async () => {
  const hello = await (await fetch(live.url + 'api/hello')).json();
  await page.goto(live.url + 'pipeline');
  await waitForPoints('#pipeline-rates', 3);
  await waitForPoints('#pipeline-latency', 3);
  await waitForPoints('#pipeline-batch', 3);
  const rows = await page.$$eval('#operators-table tbody tr', (trs) => trs.map((tr) => tr.dataset.operator));
  assert.deepEqual(rows, hello.operators.map((o) => o.id));
  await shoot('pipeline');
});

test('/metrics of the live run parses as Prometheus text', async () => {
  const response = await fetch(live.url + 'metrics');
  assert.match(response.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  const families = parsePrometheus(await response.text());
  for (const name of ['sluice_records_in_total', 'sluice_records_out_total', 'sluice_records_rejected_total', 'sluice_batch_latency_seconds', 'sluice_event_latency_seconds']) {
    assert.ok(families.has(name), `/metrics lacks ${name}`);
  }
  assert.equal(families.get('sluice_event_latency_seconds').type, 'histogram');
  assert.ok(sampleOf(families, 'sluice_records_out_total', 'fleet') > 0);
  assert.equal((await (await fetch(live.url + 'healthz')).text()), 'ok\n');
});

test('/metrics after a finished run matches the summary it printed', async () => {
  const finite = await startRun('finite', ['--set', 'sources.fleet.rate=0', '--set', 'sources.fleet.duration=0',
    '--set', 'sources.fleet.count=50000', '--ui-linger', '60s']);
  try {
    await waitFor(() => finite.stderr.includes('the dashboard stays up'), 60000, 'the finite run to end');
    const summary = parseSummary(finite.stderr);
    const families = parsePrometheus(await (await fetch(finite.url + 'metrics')).text());
    assert.equal(summary.read, 50000);
    let read = 0, written = 0, rejected = 0;
    for (const [id, row] of Object.entries(summary.operators)) {
      assert.equal(sampleOf(families, 'sluice_records_out_total', id), row.out, `records out of ${id}`);
      assert.equal(sampleOf(families, 'sluice_records_rejected_total', id), row.rejected, `rejected of ${id}`);
      if (row.in !== null) assert.equal(sampleOf(families, 'sluice_records_in_total', id), row.in, `records in of ${id}`);
      const role = families.get('sluice_records_out_total').samples.find((s) => s.labels.operator === id).labels.role;
      if (role === 'source') read += row.out;
      if (role === 'sink') written += row.out;
      rejected += row.rejected;
    }
    assert.equal(Object.keys(summary.operators).length, families.get('sluice_records_out_total').samples.length);
    assert.deepEqual({ read, written, rejected }, { read: summary.read, written: summary.written, rejected: summary.rejected });
    // Every record a sink accepted carried its creation time: one latency value per record.
    for (const s of families.get('sluice_event_latency_seconds').samples.filter((x) => x.name.endsWith('_count'))) {
      assert.equal(s.value, summary.operators[s.labels.operator].out, `event latency count of ${s.labels.operator}`);
    }
  } finally {
    const exit = await stopRun(finite);
    fs.writeFileSync(path.join(ARTIFACTS, 'finite', 'stderr.txt'), finite.stderr);
    assert.deepEqual(exit, { code: 0, signal: null });
  }
});
