#!/usr/bin/env bash
# One CLI test case per invocation: cli_test.sh CASE SLUICE_BINARY SOURCE_DIR
set -euo pipefail
case_name=$1
sluice=$2
source_dir=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
ln -s "$source_dir/models" models   # the bundled pipelines name their models relative to the working dir

fail() { echo "FAIL: $*" >&2; exit 1; }

small_pipeline() {  # $1 = record count
cat > pipeline.yaml <<YAML
name: cli-small
dead_letter: {type: file, path: out/dead.ndjson}
sources:
  fleet: {type: generator, count: $1, sensors: 50, rate: 0, seed: 7, emit: json,
          out_of_order: 0.05, max_delay: 2s}
transforms:
  parsed:
    type: json_decode
    inputs: [fleet]
    schema: {sensor_id: string, temperature: float64, humidity: float64, timestamp: timestamp_ms}
  hot: {type: filter, inputs: [parsed], condition: "temperature > 30 and humidity < 40"}
sinks:
  all: {type: file, inputs: [parsed], path: out/all.ndjson, format: ndjson}
  hot_out: {type: file, inputs: [hot], path: out/hot.ndjson, format: ndjson}
YAML
}

case $case_name in
version_and_help)
    "$sluice" --version | grep -qE '^sluice [0-9]+\.[0-9]+' || fail "--version"
    "$sluice" --help | grep -q 'sluice run FILE' || fail "--help lists run"
    "$sluice" --help | grep -q 'sluice validate FILE' || fail "--help lists validate"
    set +e; "$sluice" 2>/dev/null; code=$?; set -e
    [ $code -eq 2 ] || fail "no arguments should exit 2, got $code"
    # Each command's own --help: its usage line, exit 0.
    for command in run validate graph generate train explain; do
        "$sluice" $command --help | grep -q "^Usage: sluice $command" || fail "$command --help"
    done
    "$sluice" run -h | grep -q -- '--set KEY=VALUE' || fail "run -h"
    ;;
validate_ok)
    out=$("$sluice" validate "$source_dir/pipelines/quickstart.yaml")
    echo "$out" | grep -q "quickstart.yaml: ok: pipeline 'quickstart' with 1 source, 11 transforms, 4 sinks" \
        || fail "unexpected summary: $out"
    ;;
validate_invalid)
    cp "$source_dir/tests/pipelines/invalid/unknown_type.yaml" bad.yaml
    set +e; "$sluice" validate bad.yaml 2>err.txt >out.txt; code=$?; set -e
    [ $code -eq 2 ] || fail "invalid pipeline should exit 2, got $code"
    grep -q "^bad.yaml:6:11: error\[unknown-type\]: transform 'parsed' has unknown type 'json_decod'; did you mean 'json_decode'?" err.txt \
        || fail "diagnostic: $(cat err.txt)"
    [ ! -s out.txt ] || fail "nothing on stdout when invalid"
    set +e; "$sluice" validate bad.yaml --diagnostics=json 2>err.json; set -e
    python3 -c 'import json,sys; d=[json.loads(l) for l in open("err.json")]; assert d[0]["line"]==6 and d[0]["code"]=="unknown-type", d' \
        || fail "json diagnostics: $(cat err.json)"
    ;;
run_outputs_consistent)
    small_pipeline 50000
    "$sluice" run pipeline.yaml --quiet || fail "run exited $?"
    python3 - <<'PY' || fail "outputs inconsistent"
import json
all_rows = [json.loads(l) for l in open("out/all.ndjson")]
hot_rows = [json.loads(l) for l in open("out/hot.ndjson")]
dead = sum(1 for _ in open("out/dead.ndjson")) if __import__("os").path.exists("out/dead.ndjson") else 0
assert len(all_rows) + dead == 50000, (len(all_rows), dead)
expected_hot = [r for r in all_rows if r["temperature"] > 30 and r["humidity"] < 40]
assert hot_rows == expected_hot, (len(hot_rows), len(expected_hot))
print("all", len(all_rows), "hot", len(hot_rows), "dead", dead)
PY
    # --set overrides one value: a different count.
    "$sluice" run pipeline.yaml --quiet --set sources.fleet.count=1000
    [ "$(wc -l < out/all.ndjson)" -eq 1000 ] || fail "--set count"
    ;;
sigint_drains_everything)
    cat > endless.yaml <<'YAML'
name: endless
sources:
  fleet: {type: generator, sensors: 20, rate: 20000, seed: 3, emit: json}
transforms:
  parsed: {type: json_decode, inputs: [fleet], schema: {sensor_id: string, temperature: float64}}
sinks:
  all: {type: file, inputs: [parsed], path: out/all.ndjson, format: ndjson}
YAML
    "$sluice" run endless.yaml 2>log.txt &
    pid=$!
    # Wait (bounded) until records are flowing, then interrupt.
    for _ in $(seq 1 100); do
        [ -s out/all.ndjson ] && break
        sleep 0.1
    done
    sleep 1
    kill -INT $pid
    set +e; wait $pid; code=$?; set -e
    [ $code -eq 0 ] || fail "SIGINT should drain and exit 0, got $code: $(tail -5 log.txt)"
    grep -q "stopping: draining" log.txt || fail "no drain message"
    read_count=$(grep -oE "stopped in [0-9.]+s: read [0-9]+ records" log.txt | grep -oE "read [0-9]+" | grep -oE "[0-9]+")
    written=$(wc -l < out/all.ndjson)
    [ -n "$read_count" ] || fail "no summary: $(tail -5 log.txt)"
    [ "$read_count" -gt 0 ] || fail "nothing read"
    [ "$read_count" -eq "$written" ] || fail "read $read_count but wrote $written"
    ;;
dead_letters_kept_across_runs)
    # Two of four lines are not JSON: each run dead-letters them. A dead-letter file appends by
    # default (it is the only copy of what a committed Kafka offset skipped); append: false
    # replaces it as an output file would.
    printf '%s\n' '{"sensor_id":"a","temperature":20.5}' 'not json' \
        '{"sensor_id":"b","temperature":21.5}' '{"sensor_id":' > input.ndjson
    cat > dl.yaml <<'YAML'
name: cli-dl
sources:
  lines: {type: file, path: input.ndjson}
transforms:
  parsed: {type: json_decode, inputs: [lines], schema: {sensor_id: string, temperature: float64}}
sinks:
  out: {type: file, inputs: [parsed], path: out/parsed.ndjson}
YAML
    "$sluice" run dl.yaml --quiet || fail "first run exited $?"
    "$sluice" run dl.yaml --quiet || fail "second run exited $?"
    [ "$(wc -l < out/parsed.ndjson)" -eq 2 ] || fail "the output file is replaced: $(cat out/parsed.ndjson)"
    [ "$(wc -l < dead-letter/cli-dl.ndjson)" -eq 4 ] \
        || fail "two runs should leave 4 dead letters: $(cat dead-letter/cli-dl.ndjson)"
    [ "$(grep -c '"payload":"not json"' dead-letter/cli-dl.ndjson)" -eq 2 ] \
        || fail "payload: $(cat dead-letter/cli-dl.ndjson)"
    grep -q '"operator_id":"parsed"' dead-letter/cli-dl.ndjson || fail "operator id"
    "$sluice" run dl.yaml --quiet --set 'dead_letter={type: file, path: out/dead.ndjson, append: false}'
    "$sluice" run dl.yaml --quiet --set 'dead_letter={type: file, path: out/dead.ndjson, append: false}'
    [ "$(wc -l < out/dead.ndjson)" -eq 2 ] || fail "append: false replaces: $(cat out/dead.ndjson)"
    ;;
graph_dot)
    "$sluice" graph "$source_dir/pipelines/quickstart.yaml" > g.dot
    grep -q '^digraph "quickstart"' g.dot || fail "not DOT"
    grep -q '"anomaly" -> "scored";' g.dot || fail "edge missing"
    ;;
explain_and_operators)
    "$sluice" operators | grep -qE '^transform +json_decode' || fail "operators lists json_decode"
    "$sluice" explain json_decode | grep -q 'schema' || fail "explain shows schema"
    set +e; "$sluice" explain nosuch 2>err.txt; code=$?; set -e
    [ $code -eq 2 ] || fail "explain of unknown type exits 2"
    set +e; "$sluice" explain xgbost 2>err.txt; set -e
    grep -q "no operator type 'xgbost'; did you mean 'xgboost'?" err.txt || fail "explain guess: $(cat err.txt)"
    [ "$(grep -o ' kafka,' err.txt | wc -l)" -eq 1 ] || fail "types listed once: $(cat err.txt)"
    ;;
unknown_command)
    set +e; "$sluice" frobnicate 2>err.txt; code=$?; set -e
    [ $code -eq 2 ] || fail "unknown command exits 2"
    grep -q "unknown command 'frobnicate'" err.txt || fail "message"
    set +e; "$sluice" valdate x.yaml 2>err.txt; code=$?; set -e
    [ $code -eq 2 ] || fail "misspelled command exits 2"
    grep -q "unknown command 'valdate'; did you mean 'validate'?" err.txt || fail "guess: $(cat err.txt)"
    set +e; "$sluice" train spec.yaml --model 2>err.txt; code=$?; set -e
    [ $code -eq 2 ] || fail "train --model without a path exits 2"
    grep -q "'--model' needs a value" err.txt || fail "train --model: $(cat err.txt)"
    ;;
*)
    fail "no such case $case_name"
    ;;
esac
echo "PASS: $case_name"
