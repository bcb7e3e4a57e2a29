// Chart helpers over uPlot (loaded as window.uPlot), plus the two views uPlot has no type for:
// the location heat map and the per-sensor scatter. Every chart sets data-points on its
// container to the number of values it drew, which the browser test reads.

export const SEVERITY = ['none', 'low', 'medium', 'high', 'critical'];
export const SEVERITY_COLOR = ['#8a99ab', '#93c5fd', '#fbbf24', '#fb923c', '#f43f5e'];
const AXIS = { stroke: '#8a99ab', grid: { stroke: 'rgba(255,255,255,0.06)', width: 1 }, ticks: { stroke: 'rgba(255,255,255,0.1)', width: 1 } };

export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

export function formatCount(n) {
  if (n == null || Number.isNaN(n)) return '–';
  if (n >= 1e9) return (n / 1e9).toFixed(2) + 'G';
  if (n >= 1e6) return (n / 1e6).toFixed(2) + 'M';
  if (n >= 1e4) return (n / 1e3).toFixed(1) + 'k';
  return Math.round(n).toLocaleString('en');
}

export function formatNs(ns, space = ' ') {
  if (ns == null || ns === 0) return '–';
  if (ns >= 1e9) return (ns / 1e9).toFixed(2) + space + 's';
  if (ns >= 1e6) return (ns / 1e6).toFixed(ns >= 1e7 ? 0 : 1) + space + 'ms';
  if (ns >= 1e3) return (ns / 1e3).toFixed(0) + space + 'µs';
  return Math.round(ns) + space + 'ns';
}

/// Axis ticks for durations given in ms: "0", "50ms", "1.2s".
export function formatMsTick(ms) {
  return ms === 0 ? '0' : formatNs(ms * 1e6, '');
}

// Local time, by hand: toLocaleTimeString goes through Intl and costs ~20 us a call, which
// adds up to a dropped frame when a table of alerts is rebuilt.
const pad2 = (n) => (n < 10 ? '0' : '') + n;

/// "14:03:27.4"
export function formatTime(ms) {
  if (!ms) return '–';
  const d = new Date(ms);
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}.${Math.floor(d.getMilliseconds() / 100)}`;
}

/// "2026-01-01 14:03:27"
export function formatDateTime(ms) {
  if (ms == null) return '–';
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

export function formatValue(v, digits = 1) {
  return v == null || Number.isNaN(v) ? '–' : v.toFixed(digits);
}

export function severityPill(level) {
  return level ? `<span class="sev sev-${level}">${SEVERITY[level]}</span>` : '';
}

/// Colour of a reading against its normal band: blues below, greens inside, ambers to reds above.
export function bandColor(value, [low, high]) {
  if (value == null || Number.isNaN(value)) return '#334155';
  const span = high - low;
  if (value < low) {
    const t = Math.min(1, (low - value) / (span * 0.6));
    return mix('#7dd3fc', '#2563eb', t);
  }
  if (value <= high) {
    const t = (value - low) / span;
    return mix('#6ee7b7', '#a3e635', t);
  }
  const t = Math.min(1, (value - high) / (span * 0.8));
  return mix('#fcd34d', '#ef4444', t);
}

export function rateColor(rate) {
  if (rate == null || Number.isNaN(rate)) return '#334155';
  const t = Math.min(1, rate / 0.05);  // 5 % anomalous and above: full red
  return t < 0.5 ? mix('#6ee7b7', '#fcd34d', t * 2) : mix('#fcd34d', '#ef4444', (t - 0.5) * 2);
}

function mix(a, b, t) {
  const pa = [1, 3, 5].map((i) => parseInt(a.slice(i, i + 2), 16));
  const pb = [1, 3, 5].map((i) => parseInt(b.slice(i, i + 2), 16));
  const c = pa.map((v, i) => Math.round(v + (pb[i] - v) * t));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

function countPoints(data) {
  let n = 0;
  for (let s = 1; s < data.length; s++) for (const v of data[s]) if (v != null) n++;
  return n;
}

/// A time-series (or, with `bars`, histogram) chart that follows its container's size.
/// spec: { series: [{label, stroke, fill, width, points, dash, scale}], band: () => [lo, hi] | null,
///         fillBetween: [[upper, lower, fill]], time: true, bars: false, yLabel, yFormat }
export function makeChart(el, spec) {
  const series = [{ label: spec.xLabel ?? 'time' }];
  for (const s of spec.series) {
    const entry = { label: s.label, stroke: s.stroke, width: s.width ?? 1.6, spanGaps: false, scale: s.scale ?? 'y' };
    if (s.fill) entry.fill = s.fill;
    if (s.dash) entry.dash = s.dash;
    if (s.pointsOnly) {
      entry.paths = () => null;
      entry.points = { show: true, size: s.size ?? 7, stroke: s.stroke, fill: s.stroke, width: 1 };
    } else if (spec.bars) {
      entry.paths = uPlot.paths.bars({ size: [0.92, 40], align: 0 });
      entry.points = { show: false };
      entry.fill = s.fill ?? s.stroke;
    } else {
      entry.points = { show: false };
    }
    if (s.value) entry.value = s.value;
    series.push(entry);
  }
  // Whole-number counts get whole-number ticks (no "0, 0, 1, 1" on an idle axis).
  const countIncrs = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6, 2e6, 5e6, 1e7];
  const yAxis = { ...AXIS, size: spec.ySize ?? 56, values: spec.yFormat ? (u, vals) => vals.map(spec.yFormat) : undefined };
  if (spec.counts) yAxis.incrs = countIncrs;
  const axes = [{ ...AXIS, values: spec.xFormat ? (u, vals) => vals.map(spec.xFormat) : undefined }, yAxis];
  if (spec.y2) axes.push({ ...AXIS, scale: 'y2', side: 1, size: 56, grid: { show: false }, incrs: countIncrs, values: spec.y2Format ? (u, vals) => vals.map(spec.y2Format) : undefined });
  const opts = {
    width: Math.max(200, el.clientWidth),
    height: Math.max(120, el.clientHeight - 34),
    series,
    axes,
    scales: {
      // A live chart shows at least `minSpan` seconds, filling in from the right, rather than
      // stretching its first few seconds over the whole width.
      x: { time: spec.time !== false, range: spec.minSpan ? (u, min, max) => (max - min < spec.minSpan ? [max - spec.minSpan, max] : [min, max]) : undefined },
      y: {
        range: (u, min, max) => {
          const band = spec.band?.();
          if (min == null || max == null) return band ? [band[0] - 2, band[1] + 2] : [0, 1];
          if (band) { min = Math.min(min, band[0]); max = Math.max(max, band[1]); }
          if (spec.zero) min = Math.min(0, min);
          const pad = (max - min) * 0.08 || 1;
          return [spec.zero ? min : min - pad, max + pad];
        },
      },
    },
    bands: (spec.fillBetween ?? []).map(([upper, lower, fill]) => ({ series: [upper, lower], fill })),
    legend: { show: spec.legend !== false, live: true },
    cursor: { drag: { x: false, y: false }, points: { size: 6 } },
    hooks: {
      drawClear: [(u) => {
        const band = spec.band?.();
        if (!band) return;
        const { ctx, bbox } = u;
        const top = Math.max(bbox.top, u.valToPos(band[1], 'y', true));
        const bottom = Math.min(bbox.top + bbox.height, u.valToPos(band[0], 'y', true));
        if (bottom <= top) return;
        ctx.save();
        ctx.fillStyle = 'rgba(52, 211, 153, 0.07)';
        ctx.fillRect(bbox.left, top, bbox.width, bottom - top);
        ctx.strokeStyle = 'rgba(52, 211, 153, 0.35)';
        ctx.setLineDash([4, 4]);
        ctx.lineWidth = 1;
        for (const y of [top, bottom]) { ctx.beginPath(); ctx.moveTo(bbox.left, y); ctx.lineTo(bbox.left + bbox.width, y); ctx.stroke(); }
        ctx.restore();
      }],
    },
  };
  if (spec.y2) opts.scales.y2 = { range: (u, min, max) => [0, Math.max(1, (max ?? 1) * 1.1)] };
  const empty = document.createElement('div');
  empty.className = 'empty';
  empty.textContent = spec.emptyText ?? 'waiting for data…';
  el.appendChild(empty);
  const plot = new uPlot(opts, [[], ...spec.series.map(() => [])], el);
  const resize = new ResizeObserver(() => {
    if (el.clientWidth > 0) plot.setSize({ width: el.clientWidth, height: Math.max(120, el.clientHeight - 34) });
  });
  resize.observe(el);
  return {
    plot,
    update(data) {
      const n = countPoints(data);
      el.dataset.points = String(n);
      empty.hidden = n > 0;
      plot.setData(data);
    },
  };
}

/// The location heat map: rows = first part of the location ("building-2"), columns = the
/// second ("floor-3"); locations without a '/' form one row.
export function renderHeatmap(el, cells, mode, bands) {
  const rows = [...new Set(cells.map((c) => c.row))].sort(naturalCompare);
  const cols = [...new Set(cells.map((c) => c.col))].sort(naturalCompare);
  const byKey = new Map(cells.map((c) => [c.row + '\u0000' + c.col, c]));
  el.style.gridTemplateColumns = `110px repeat(${cols.length}, minmax(0, 1fr))`;
  let html = '<div class="corner"></div>' + cols.map((c) => `<div class="colhead">${escapeHtml(c || '—')}</div>`).join('');
  let drawn = 0;
  for (const r of rows) {
    html += `<div class="rowhead">${escapeHtml(r)}</div>`;
    for (const c of cols) {
      const cell = byKey.get(r + '\u0000' + c);
      if (!cell) { html += '<div></div>'; continue; }
      let value, color, text;
      if (mode === 'anomalies') {
        value = cell.count ? cell.anomalies / cell.count : null;
        color = rateColor(value);
        text = value == null ? '–' : (value * 100).toFixed(2) + ' %';
      } else {
        value = mode === 'humidity' ? cell.humidity : cell.temperature;
        color = bandColor(value, bands[mode]);
        text = value == null ? '–' : value.toFixed(1) + (mode === 'humidity' ? ' %' : ' °C');
      }
      if (value != null) drawn++;
      const title = `${r}/${c}: ${cell.sensors} sensors, ${cell.anomalies} anomalies of ${cell.count} readings`;
      html += `<div class="cell${cell.alerting ? ' alerting' : ''}" style="background:${color}" title="${escapeHtml(title)}" data-location="${escapeHtml(cell.location)}">${text}<small>${cell.sensors} sensors</small></div>`;
    }
  }
  el.innerHTML = html;
  el.dataset.points = String(drawn);
}

const collator = new Intl.Collator('en', { numeric: true });  // made once: localeCompare makes one per call

export function naturalCompare(a, b) {
  return collator.compare(String(a), String(b));
}

/// Temperature (x) against humidity (y) for every sensor, with the normal bands as a shaded
/// rectangle. Hover shows a sensor; click calls onPick(id).
export function makeScatter(el, onPick) {
  const canvas = el.querySelector('canvas');
  const tip = el.querySelector('.tooltip');
  let points = [];
  let view = null;
  const draw = (pts, bands) => {
    points = pts;
    const dpr = window.devicePixelRatio || 1;
    const w = el.clientWidth, h = el.clientHeight;
    if (w === 0) return;
    // Resizing a canvas reallocates it: only when its size changed.
    if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
      canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr);
    }
    const ctx = canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    const pad = { l: 46, r: 12, t: 10, b: 34 };
    const xs = pts.map((p) => p.temperature).filter((v) => v != null);
    const ys = pts.map((p) => p.humidity).filter((v) => v != null);
    const xr = extent(xs.concat(bands.temperature), 2);
    const yr = extent(ys.concat(bands.humidity), 4);
    const X = (v) => pad.l + ((v - xr[0]) / (xr[1] - xr[0])) * (w - pad.l - pad.r);
    const Y = (v) => h - pad.b - ((v - yr[0]) / (yr[1] - yr[0])) * (h - pad.t - pad.b);
    view = { X, Y };
    // grid and axes
    ctx.strokeStyle = 'rgba(255,255,255,0.06)'; ctx.fillStyle = '#8a99ab'; ctx.font = '11px system-ui, sans-serif';
    for (const t of ticks(xr)) { const x = X(t); ctx.beginPath(); ctx.moveTo(x, pad.t); ctx.lineTo(x, h - pad.b); ctx.stroke(); ctx.textAlign = 'center'; ctx.fillText(String(t), x, h - pad.b + 14); }
    for (const t of ticks(yr)) { const y = Y(t); ctx.beginPath(); ctx.moveTo(pad.l, y); ctx.lineTo(w - pad.r, y); ctx.stroke(); ctx.textAlign = 'right'; ctx.fillText(String(t), pad.l - 6, y + 4); }
    ctx.textAlign = 'center'; ctx.fillText('temperature °C', (pad.l + w - pad.r) / 2, h - 4);
    ctx.save(); ctx.translate(11, (pad.t + h - pad.b) / 2); ctx.rotate(-Math.PI / 2); ctx.fillText('humidity %', 0, 0); ctx.restore();
    // the normal band
    const [t0, t1] = bands.temperature, [h0, h1] = bands.humidity;
    ctx.fillStyle = 'rgba(52, 211, 153, 0.08)'; ctx.strokeStyle = 'rgba(52, 211, 153, 0.4)'; ctx.setLineDash([4, 4]);
    ctx.fillRect(X(t0), Y(h1), X(t1) - X(t0), Y(h0) - Y(h1)); ctx.strokeRect(X(t0), Y(h1), X(t1) - X(t0), Y(h0) - Y(h1)); ctx.setLineDash([]);
    // Sensors: one path per colour (a thousand fills one by one cost a frame); normal ones
    // first, alerting ones on top in rising severity.
    let n = 0;
    const groups = [[], [], [], [], []];  // by level; 0 = not alerting
    for (const p of pts) {
      if (p.temperature == null || p.humidity == null) continue;
      n++;
      groups[p.alerting ? p.level : 0].push(p);
    }
    groups.forEach((group, level) => {
      if (!group.length) return;
      const r = level ? 4.5 : 3;
      const dots = new Path2D();
      const rings = new Path2D();
      for (const p of group) {
        const x = X(p.temperature), y = Y(p.humidity);
        dots.moveTo(x + r, y); dots.arc(x, y, r, 0, Math.PI * 2);
        if (level) { rings.moveTo(x + 8, y); rings.arc(x, y, 8, 0, Math.PI * 2); }
      }
      ctx.fillStyle = level ? SEVERITY_COLOR[level] : 'rgba(96, 165, 250, 0.75)';
      ctx.fill(dots);
      if (level) { ctx.strokeStyle = SEVERITY_COLOR[level]; ctx.lineWidth = 1.5; ctx.stroke(rings); ctx.lineWidth = 1; }
    });
    el.dataset.points = String(n);
  };
  const nearest = (ev) => {
    if (!view) return null;
    const r = canvas.getBoundingClientRect();
    const mx = ev.clientX - r.left, my = ev.clientY - r.top;
    let best = null, bestD = 100;
    for (const p of points) {
      if (p.temperature == null || p.humidity == null) continue;
      const d = (view.X(p.temperature) - mx) ** 2 + (view.Y(p.humidity) - my) ** 2;
      if (d < bestD) { bestD = d; best = p; }
    }
    return best ? { p: best, mx, my } : null;
  };
  canvas.addEventListener('mousemove', (ev) => {
    const hit = nearest(ev);
    if (!hit) { tip.hidden = true; return; }
    tip.hidden = false;
    tip.innerHTML = `<b>${escapeHtml(hit.p.id)}</b> ${escapeHtml(hit.p.location || '')}<br>${formatValue(hit.p.temperature, 2)} °C · ${formatValue(hit.p.humidity, 1)} %` +
      (hit.p.alerting ? ` · ${severityPill(hit.p.level)}` : '');
    tip.style.left = Math.min(hit.mx + 12, el.clientWidth - 180) + 'px';
    tip.style.top = (hit.my + 12) + 'px';
  });
  canvas.addEventListener('mouseleave', () => { tip.hidden = true; });
  canvas.addEventListener('click', (ev) => { const hit = nearest(ev); if (hit) onPick(hit.p.id); });
  return { draw };
}

function extent(values, minSpan) {
  let lo = Infinity, hi = -Infinity;
  for (const v of values) { if (v < lo) lo = v; if (v > hi) hi = v; }
  if (!Number.isFinite(lo)) return [0, 1];
  if (hi - lo < minSpan) { const m = (hi + lo) / 2; lo = m - minSpan / 2; hi = m + minSpan / 2; }
  const pad = (hi - lo) * 0.06;
  return [lo - pad, hi + pad];
}

function ticks([lo, hi]) {
  const raw = (hi - lo) / 6;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw);
  const out = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi; t += step) out.push(Number(t.toFixed(6)));
  return out;
}

/// A segmented button group: marks the clicked button and calls onPick(its data-mode).
export function onSegmented(el, onPick) {
  el.addEventListener('click', (e) => {
    const b = e.target.closest('button');
    if (!b) return;
    for (const x of el.querySelectorAll('button')) x.classList.toggle('on', x === b);
    onPick(b.dataset.mode);
  });
}

/// One sensor's temperature and humidity over event time, anomalous readings as red points,
/// the normal bands shaded. Fed with seriesData().
export function makeSensorCharts(temperatureEl, humidityEl, bands, emptyText) {
  const eventTime = (v) => formatDateTime(v * 1000).slice(11);
  const make = (el, key, label, color, unit, digits) => makeChart(el, {
    series: [
      { label, stroke: color, width: 1.5, value: (u, v) => formatValue(v, digits) + unit },
      { label: 'anomalous', stroke: '#f43f5e', pointsOnly: true, value: (u, v) => formatValue(v, digits) + unit },
    ],
    band: () => bands()?.[key], xFormat: eventTime, emptyText,
  });
  return {
    temperature: make(temperatureEl, 'temperature', 'temperature', '#f59e0b', ' °C', 2),
    humidity: make(humidityEl, 'humidity', 'humidity', '#38bdf8', ' %', 1),
  };
}

/// [xs, values, anomalous values] from [time ms, temperature, humidity, level] points;
/// `column` 1 = temperature, 2 = humidity.
export function seriesData(points, column) {
  const xs = [], values = [], marked = [];
  for (const p of points) {
    xs.push(p[0] / 1000);
    values.push(p[column]);
    marked.push(p[3] > 0 ? p[column] : null);
  }
  return [xs, values, marked];
}
