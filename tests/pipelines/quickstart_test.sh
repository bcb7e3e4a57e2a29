#!/usr/bin/env bash
# Runs pipelines/quickstart.yaml for a short while (QUICKSTART_DURATION) and checks that its
# outputs agree with each other: readings + dead letters = generated records; alerts = the
# readings flagged as alerts; the windows recomputed from the readings = stats.ndjson; the
# rolling statistics recomputed from the readings = the ones written.
#   quickstart_test.sh SLUICE_BINARY SOURCE_DIR
set -euo pipefail
sluice=$1
source_dir=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
ln -s "$source_dir/models" models   # the pipeline names its models relative to the working dir

fail() { echo "FAIL: $*" >&2; exit 1; }

QUICKSTART_DURATION=${QUICKSTART_TEST_DURATION:-3s} "$sluice" run "$source_dir/pipelines/quickstart.yaml" \
    2> run.log || fail "run exited $?: $(tail -5 run.log)"
generated=$(grep -oE "read [0-9]+ records" run.log | grep -oE "[0-9]+" | tail -1)
[ -n "$generated" ] || fail "no summary line: $(tail -5 run.log)"
[ "$generated" -gt 10000 ] || fail "only $generated records generated"

GENERATED=$generated python3 - <<'PY' || fail "outputs inconsistent"
import json, math, os
from collections import defaultdict, deque

def load(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f]

readings = load("out/quickstart/readings.ndjson")
stats = load("out/quickstart/stats.ndjson")
alerts = load("out/quickstart/alerts.ndjson")
dead = load("out/quickstart/dead-letter.ndjson")
generated = int(os.environ["GENERATED"])

# Counts: every generated record is a reading or a dead letter (the simulator's JSON always
# decodes, and its delays stay inside the watermark's 10 s, so no window rejects one as late).
late = [d for d in dead if d["reason"].startswith("late")]
assert not late, late[:3]
assert len(readings) + len(dead) == generated, (len(readings), len(dead), generated)

# Alerts: exactly the readings flagged, in the same order.
assert alerts == [r for r in readings if r["alert"]], (len(alerts), sum(r["alert"] for r in readings))
assert all(r["alert"] == (r["anomaly_label"] == 1) for r in readings)
assert len(alerts) > 0

def close(a, b, tol=1e-6):
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= tol * max(1.0, abs(a), abs(b))

# Rolling statistics: each reading against its sensor's previous 60 temperatures (the file
# holds the readings in source order, the order the operator saw them).
history = defaultdict(deque)
levels = [(0.75, "critical"), (0.5, "high"), (0.25, "medium"), (-1, "low")]
for r in readings:
    h = history[r["sensor_id"]]
    n = len(h)
    mean = sum(h) / n if n else None
    std = math.sqrt(sum((v - mean) ** 2 for v in h) / (n - 1)) if n >= 2 else None
    z = (r["temperature"] - mean) / max(std, 0.1) if n >= 2 else None
    assert close(r["temperature_recent_mean"], mean), (r, mean)
    assert close(r["temperature_recent_stddev"], std), (r, std)
    assert close(r["temperature_zscore"], z), (r, z)
    deviation = min(abs(z) / 6.0, 1.0) if z is not None else 0.0
    severity = 0.7 * r["anomaly_probability"] + 0.3 * deviation
    assert abs(r["severity"] - severity) <= 0.0005 + 1e-9, (r, severity)
    assert r["severity_level"] == next(name for bound, name in levels if r["severity"] >= bound), r
    for key in ("status_class", "anomaly_probability", "humidity_value"):
        assert r[key] is not None, (key, r)
    h.append(r["temperature"])
    if len(h) > 60:
        h.popleft()

# Windows: per sensor, 60 s windows starting every 30 s (aligned to the epoch), from the readings.
windows = defaultdict(list)
for r in readings:
    t = r["timestamp"]
    start = (t // 30000) * 30000
    for s in (start, start - 30000):
        if s <= t < s + 60000:
            windows[(r["sensor_id"], s)].append(r)
got = {w["window_id"]: w for w in stats}
assert len(got) == len(stats), "a window was emitted twice"
assert set(got) == {f"{k}/{s}" for k, s in windows}, (len(got), len(windows))

def p95_ok(estimate, values):
    exact = sorted(values)[math.floor(0.95 * (len(values) - 1))]
    return abs(estimate - exact) <= 0.01 * abs(exact) + 1e-9

for (sensor, start), rows in windows.items():
    w = got[f"{sensor}/{start}"]
    assert w["sensor_id"] == sensor and w["window_start"] == start and w["window_end"] == start + 60000, w
    assert not w["is_update"], w
    assert w["readings"] == len(rows), (w, len(rows))
    assert w["anomalies"] == sum(1 for r in rows if r["alert"]), w
    for col in ("temperature", "humidity"):
        values = [r[col] for r in rows]
        assert close(w[col + "_mean"], sum(values) / len(values), 1e-9), (w, col)
        assert w[col + "_min"] == min(values) and w[col + "_max"] == max(values), (w, col)
        assert p95_ok(w[col + "_p95"], values), (w, col)

print(f"generated {generated}, readings {len(readings)}, dead {len(dead)}, alerts {len(alerts)}, "
      f"windows {len(stats)}")
PY
echo "PASS: quickstart"
