// Pipeline: per-operator records/s and batch latency, end-to-end latency percentiles, Kafka
// lag, dead letters and what operators publish (Elasticsearch bulk results, ...). Samples
// come once a second from the engine; counters are cumulative, latencies per interval.

import { makeChart, formatCount, formatNs, formatMsTick, escapeHtml } from './charts.js';

const PALETTE = ['#2dd4bf', '#60a5fa', '#f59e0b', '#a78bfa', '#f472b6', '#34d399', '#fb923c', '#94a3b8', '#facc15', '#22d3ee', '#e879f9', '#4ade80'];
let charts = null;
let chartsFor = '';
let drawn = -1;

export function init() {}

export function show(store) {
  drawn = -1;
  build(store);
}

function build(store) {
  const ops = store.hello?.operators ?? [];
  const key = ops.map((o) => o.id).join(',');
  if (charts && chartsFor === key) return;
  for (const id of ['pipeline-rates', 'pipeline-latency', 'pipeline-batch', 'pipeline-lag']) document.getElementById(id).innerHTML = '';
  chartsFor = key;
  const ms = (u, v) => (v == null ? '–' : formatNs(v * 1e6));
  const perOp = (value) => ops.map((o, i) => ({ label: o.id, stroke: PALETTE[i % PALETTE.length], width: 1.6, value }));
  charts = {
    rates: makeChart(document.getElementById('pipeline-rates'), {
      series: perOp((u, v) => (v == null ? '–' : formatCount(v) + '/s')), zero: true, counts: true, minSpan: 60, yFormat: (v) => formatCount(v),
    }),
    latency: makeChart(document.getElementById('pipeline-latency'), {
      series: [
        { label: 'p50', stroke: '#34d399', width: 1.8, value: ms },
        { label: 'p99', stroke: '#f59e0b', width: 1.8, value: ms },
        { label: 'p99.9', stroke: '#f43f5e', width: 1.8, value: ms },
      ],
      zero: true, minSpan: 60, yFormat: formatMsTick, emptyText: 'no sink has reported a record with a creation time yet',
    }),
    batch: makeChart(document.getElementById('pipeline-batch'), { series: perOp(ms), zero: true, minSpan: 60, yFormat: formatMsTick }),
    lag: makeChart(document.getElementById('pipeline-lag'), {
      series: [
        { label: 'Kafka consumer lag', stroke: '#a78bfa', width: 1.8, value: (u, v) => (v == null ? '–' : formatCount(v)) },
        { label: 'dead-lettered/s', stroke: '#f43f5e', width: 1.8, scale: 'y2', value: (u, v) => (v == null ? '–' : formatCount(v) + '/s') },
      ],
      zero: true, counts: true, minSpan: 60, y2: true, yFormat: (v) => formatCount(v), y2Format: (v) => formatCount(v),
    }),
  };
}

function kpi(label, value, sub = '', cls = '') {
  return `<div class="kpi ${cls}"><div class="label">${label}</div><div class="value">${value}</div><div class="sub">${sub}</div></div>`;
}

/// Sum of every operator's published numbers whose name says "lag" (Kafka consumer_lag).
function lagOf(sample) {
  let lag = null;
  for (const op of sample.ops) for (const [name, v] of Object.entries(op[6])) if (name.includes('lag')) lag = (lag ?? 0) + v;
  return lag;
}

export function render(store) {
  if (!store.hello) return;
  build(store);
  if (drawn === store.version) return;
  drawn = store.version;
  const ops = store.hello.operators;
  const samples = store.samples;
  const xs = [], rates = ops.map(() => []), batch = ops.map(() => []), p50 = [], p99 = [], p999 = [], lag = [], dead = [];
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1], b = samples[i];
    const dt = (b.t - a.t) / 1000;
    if (dt <= 0) continue;
    xs.push(b.t / 1000);
    let rejected = 0;
    ops.forEach((o, k) => {
      rates[k].push((b.ops[k][1] - a.ops[k][1]) / dt);
      batch[k].push(b.ops[k][4][3] ? b.ops[k][4][1] / 1e6 : null);
      rejected += b.ops[k][2] - a.ops[k][2];
    });
    const e = b.e2e;
    p50.push(e[3] ? e[0] / 1e6 : null); p99.push(e[3] ? e[1] / 1e6 : null); p999.push(e[3] ? e[2] / 1e6 : null);
    lag.push(lagOf(b));
    dead.push(rejected / dt);
  }
  charts.rates.update([xs, ...rates]);
  charts.batch.update([xs, ...batch]);
  charts.latency.update([xs, p50, p99, p999]);
  charts.lag.update([xs, lag, dead]);
  document.getElementById('lag-hint').textContent = lag.some((v) => v != null)
    ? 'consumer lag (records, left); dead-lettered per second (right)'
    : 'no operator publishes a lag (no Kafka source); dead-lettered per second';

  const last = samples[samples.length - 1];
  const prev = samples[samples.length - 2];
  if (!last) return;
  const dt = prev ? (last.t - prev.t) / 1000 : 0;
  let read = 0, written = 0, rejected = 0, readRate = 0;
  ops.forEach((o, k) => {
    rejected += last.ops[k][2];
    if (o.role === 'source') { read += last.ops[k][1]; if (dt > 0) readRate += (last.ops[k][1] - prev.ops[k][1]) / dt; }
    if (o.role === 'sink') written += last.ops[k][1];
  });
  const e2e = last.e2e[3] ? last.e2e : last.e2e_total;
  const e2eSub = last.e2e[3] ? 'last second' : 'whole run';
  document.getElementById('pipeline-kpis').innerHTML =
    kpi('Status', store.finished ? 'finished' : 'running', `pipeline “${escapeHtml(store.hello.pipeline)}”`) +
    kpi('Read', formatCount(read), 'records from sources') +
    kpi('Read / s', store.finished ? '–' : formatCount(readRate), 'last second') +
    kpi('Written', formatCount(written), 'records accepted by sinks') +
    kpi('Dead-lettered', formatCount(rejected), 'records rejected', rejected ? 'warn' : '') +
    kpi('E2E p50', formatNs(e2e[0]), e2eSub) +
    kpi('E2E p99', formatNs(e2e[1]), e2eSub) +
    kpi('E2E p99.9', formatNs(e2e[2]), e2eSub);

  document.querySelector('#operators-table tbody').innerHTML = ops.map((o, k) => {
    const [rin, rout, rej, , bq, eq, extra] = last.ops[k];
    const rate = dt > 0 ? (rout - prev.ops[k][1]) / dt : 0;
    const chips = Object.entries(extra).map(([n, v]) => `<span class="chip">${escapeHtml(n)} ${formatCount(v)}</span>`).join('');
    const isSink = o.role === 'sink';
    return `<tr data-operator="${escapeHtml(o.id)}"><td><span style="color:${PALETTE[k % PALETTE.length]}">■</span> ${escapeHtml(o.id)}</td><td>${escapeHtml(o.type)}</td><td class="muted">${o.role}</td>` +
      `<td class="num">${o.role === 'source' ? '–' : formatCount(rin)}</td><td class="num" data-records-out="${rout}">${formatCount(rout)}</td><td class="num">${formatCount(rate)}</td>` +
      `<td class="num">${formatCount(rej)}</td><td class="num">${formatNs(bq[0])}</td><td class="num">${formatNs(bq[1])}</td>` +
      `<td class="num">${isSink ? formatNs(eq[0]) : ''}</td><td class="num">${isSink ? formatNs(eq[1]) : ''}</td><td class="num">${isSink ? formatNs(eq[2]) : ''}</td><td>${chips}</td></tr>`;
  }).join('');
}
