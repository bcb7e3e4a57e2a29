#!/usr/bin/env python3
"""The sensor-analytics pipeline's per-event work, written the way a Python user would.

The same logic as pipelines/sensor_analytics.yaml (and bench/pipelines/engine.yaml), in plain
Python with numpy, the xgboost package and pandas, so the engine's speed can be compared with
what the usual tools give on the same machine and the same events:

  NDJSON lines (from `sluice generate --output FILE`) read in micro-batches
  -> json.loads of every message
  -> the three shipped XGBoost models on the batch (status, anomaly, humidity)
  -> each reading against its sensor's previous 60 readings (mean, sample stddev, z-score)
  -> severity, severity_level, alert (the map expressions of the pipeline)
  -> alerts (alert == true)
  -> per-sensor 1-minute hopping windows (slide 30 s) closed by a watermark of
     max event time - 10 s: pandas group-by with mean/min/max/p95 of temperature and
     humidity, readings and anomalies.

Nothing is written out (the engine side runs with `blackhole` sinks); the counts and a checksum
are printed so that a run can be compared with the engine's on the same events.
Usage: sensor_analytics.py --input FILE [--models DIR] [--batch N] [--json FILE]
"""

import argparse
import collections
import json
import math
import os
import sys
import time

import numpy as np
import pandas as pd
import xgboost as xgb

HISTORY = 60  # rolling: size
MIN_STDDEV = 0.1  # rolling: min_stddev
KEY_TTL_MS = 10 * 60 * 1000  # rolling: key_ttl
OUT_OF_ORDERNESS_MS = 10_000  # watermark: max_out_of_orderness
WINDOW_MS = 60_000  # window: size
SLIDE_MS = 30_000  # window: slide


class SensorHistory:
    """A sensor's last HISTORY temperatures with running sums of (value - shift)."""

    __slots__ = ("values", "shift", "total", "squares", "last_seen")

    def __init__(self, first_value):
        self.values = collections.deque()
        self.shift = first_value  # keeps the sums small: no cancellation for large offsets
        self.total = 0.0
        self.squares = 0.0
        self.last_seen = 0

    def describe_then_add(self, value):
        """Mean, sample stddev and z-score of `value` against the history, then adds it."""
        n = len(self.values)
        mean = stddev = zscore = math.nan
        if n:
            mean = self.shift + self.total / n
        if n >= 2:
            variance = (self.squares - self.total * self.total / n) / (n - 1)
            stddev = math.sqrt(max(variance, 0.0))
            zscore = (value - mean) / max(stddev, MIN_STDDEV)
        if n == HISTORY:
            old = self.values.popleft() - self.shift
            self.total -= old
            self.squares -= old * old
        self.values.append(value)
        d = value - self.shift
        self.total += d
        self.squares += d * d
        return mean, stddev, zscore


class Windows:
    """Per-sensor hopping windows on event time, emitted with pandas when the watermark passes."""

    def __init__(self):
        self.pending = []  # DataFrames of rows whose newest window is still open
        self.emitted_until = -(2**62)  # windows ending at or before this were emitted
        self.watermark = -(2**62)
        self.rows = 0  # emitted windows
        self.readings = 0  # sum of their `readings`
        self.checksum = 0.0  # sum of their temperature_p95

    def add(self, frame):
        self.pending.append(frame)
        newest = int(frame["timestamp"].max())
        self.watermark = max(self.watermark, newest - OUT_OF_ORDERNESS_MS)
        # A window [s, s + 60 s) closes when the watermark reaches its end; ends are multiples
        # of the slide, so only a crossed slide boundary closes anything.
        if (self.watermark // SLIDE_MS) * SLIDE_MS > self.emitted_until:
            self._emit(self.watermark)

    def finish(self):
        if self.pending:
            self._emit(2**62)

    def _emit(self, watermark):
        rows = pd.concat(self.pending, ignore_index=True)
        newest_start = (rows["timestamp"] // SLIDE_MS) * SLIDE_MS
        # Each reading is in two windows: the one starting at its slide and the one before.
        exploded = pd.concat(
            [rows.assign(window_start=newest_start - SLIDE_MS), rows.assign(window_start=newest_start)],
            ignore_index=True,
        )
        end = exploded["window_start"] + WINDOW_MS
        closing = exploded[(end <= watermark) & (end > self.emitted_until)]
        if len(closing):
            groups = closing.groupby(["sensor_id", "window_start"], sort=False)
            stats = groups.agg(
                temperature_mean=("temperature", "mean"),
                temperature_min=("temperature", "min"),
                temperature_max=("temperature", "max"),
                humidity_mean=("humidity", "mean"),
                humidity_min=("humidity", "min"),
                humidity_max=("humidity", "max"),
                readings=("temperature", "size"),
                anomalies=("alert", "sum"),
            )
            # Quantiles through groupby.quantile (vectorised), not a per-group lambda.
            p95 = groups[["temperature", "humidity"]].quantile(0.95)
            stats = stats.join(p95.add_suffix("_p95"))
            self.rows += len(stats)
            self.readings += int(stats["readings"].sum())
            self.checksum += float(stats["temperature_p95"].sum())
        self.emitted_until = max(self.emitted_until, (watermark // SLIDE_MS) * SLIDE_MS)
        # Keep the rows that are still in an open window.
        self.pending = [rows[newest_start + WINDOW_MS > watermark]]


def load_models(directory):
    boosters = {}
    for name in ("status_predictor", "anomaly_detector", "humidity_regressor"):
        booster = xgb.Booster(model_file=os.path.join(directory, name + ".json"))
        boosters[name] = booster
    return boosters


def process(lines, models, histories, windows, totals, stages):
    clock = time.perf_counter
    t0 = clock()
    # The messages, as a consumer gets them: one JSON text each.
    records = [json.loads(line) for line in lines]
    n = len(records)
    sensor = [r["sensor_id"] for r in records]
    temperature = np.fromiter((r["temperature"] for r in records), dtype=np.float64, count=n)
    humidity = np.fromiter((r["humidity"] for r in records), dtype=np.float64, count=n)
    timestamp = np.fromiter((r["timestamp"] for r in records), dtype=np.int64, count=n)
    hour = np.fromiter((r["hour_of_day"] for r in records), dtype=np.int64, count=n)
    day = np.fromiter((r["day_of_week"] for r in records), dtype=np.int64, count=n)

    t1 = clock()
    # The three models on the same batch (XGBoost reads float32).
    status_x = np.column_stack([temperature, humidity, hour, day]).astype(np.float32)
    status_p = models["status_predictor"].inplace_predict(status_x)
    status_class = status_p.argmax(axis=1)
    # gblinear has no in-place prediction: a DMatrix it is.
    anomaly_x = np.column_stack([temperature, humidity, hour]).astype(np.float32)
    anomaly_p = models["anomaly_detector"].predict(
        xgb.DMatrix(anomaly_x, feature_names=["temperature", "humidity", "hour_of_day"])
    )
    anomaly_label = (anomaly_p >= 0.5).astype(np.int64)
    humidity_x = np.column_stack([temperature, hour, day]).astype(np.float32)
    humidity_value = models["humidity_regressor"].inplace_predict(humidity_x)

    t2 = clock()
    # Each reading against its sensor's recent history, in arrival order.
    recent_mean = np.empty(n)
    recent_stddev = np.empty(n)
    zscore = np.empty(n)
    for i in range(n):
        history = histories.get(sensor[i])
        if history is None:
            history = histories[sensor[i]] = SensorHistory(temperature[i])
        history.last_seen = max(history.last_seen, timestamp[i])
        recent_mean[i], recent_stddev[i], zscore[i] = history.describe_then_add(temperature[i])
    newest = int(timestamp.max())
    totals["newest"] = max(totals["newest"], newest)
    for key in [k for k, h in histories.items() if h.last_seen < totals["newest"] - KEY_TTL_MS]:
        del histories[key]

    t3 = clock()
    # Severity (the pipeline's `map`).
    deviation = np.nan_to_num(np.minimum(np.abs(zscore) / 6.0, 1.0), nan=0.0)
    severity = np.floor(1000 * (0.7 * anomaly_p + 0.3 * deviation) + 0.5) / 1000
    severity_level = np.select(
        [severity >= 0.75, severity >= 0.5, severity >= 0.25], ["critical", "high", "medium"], "low"
    )
    alert = anomaly_label == 1

    totals["events"] += n
    totals["alerts"] += int(alert.sum())
    totals["critical"] += int((severity_level == "critical").sum())
    totals["checksum"] += float(status_p.sum() + anomaly_p.sum() + humidity_value.sum())
    totals["status_class_sum"] += int(status_class.sum())

    t4 = clock()
    windows.add(
        pd.DataFrame(
            {
                "sensor_id": sensor,
                "timestamp": timestamp,
                "temperature": temperature,
                "humidity": humidity,
                "alert": alert,
            }
        )
    )
    t5 = clock()
    for name, seconds in (("json_decode", t1 - t0), ("models", t2 - t1), ("rolling", t3 - t2),
                          ("severity", t4 - t3), ("windows", t5 - t4)):
        stages[name] += seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--input", required=True, help="NDJSON readings (sluice generate --output)")
    parser.add_argument("--models", default="models", help="directory of the three model files")
    parser.add_argument("--batch", type=int, default=8192, help="messages per micro-batch")
    parser.add_argument("--json", help="write the result as JSON to this file")
    args = parser.parse_args()

    models = load_models(args.models)
    histories = {}
    windows = Windows()
    totals = collections.Counter(newest=-(2**62))
    totals["checksum"] = 0.0
    stages = collections.Counter()

    started = time.perf_counter()
    cpu_started = time.process_time()
    with open(args.input, encoding="utf-8") as f:
        batch = []
        for line in f:
            batch.append(line)
            if len(batch) == args.batch:
                process(batch, models, histories, windows, totals, stages)
                batch = []
        if batch:
            process(batch, models, histories, windows, totals, stages)
    finishing = time.perf_counter()
    windows.finish()
    stages["windows"] += time.perf_counter() - finishing
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started

    result = {
        "events": totals["events"],
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu_seconds, 3),
        "events_per_second": round(totals["events"] / seconds),
        "alerts": totals["alerts"],
        "critical": totals["critical"],
        "windows": windows.rows,
        "window_readings": windows.readings,
        "prediction_checksum": round(totals["checksum"], 3),
        "versions": {"python": sys.version.split()[0], "numpy": np.__version__,
                     "pandas": pd.__version__, "xgboost": xgb.__version__},
        "batch": args.batch,
        # Wall seconds per stage (reading the file is the rest of "seconds").
        "stage_seconds": {name: round(v, 3) for name, v in stages.items()},
    }
    print(
        f"python baseline: {result['events']:,} events in {seconds:.2f} s = "
        f"{result['events_per_second']:,} events/s (cpu {cpu_seconds:.2f} s); "
        f"alerts {result['alerts']:,}, windows {result['windows']:,}"
    )
    if args.json:
        with open(args.json, "w") as out:
            json.dump(result, out, indent=2)
            out.write("\n")


if __name__ == "__main__":
    main()
