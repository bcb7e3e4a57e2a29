# Thin wrapper over CMake presets and scripts/. Every target installs what it needs first.
SHELL := /bin/bash
JOBS ?= $(shell nproc)
SLUICE := build/release/sluice

.PHONY: all deps build dev quickstart test unit-test integration-test sanitize asan tsan \
        install package-test bench lint format services-start services-stop clean demo

all: build

deps:
	@scripts/install-deps

build: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS)

dev: deps
	@cmake --preset dev >/dev/null
	@cmake --build --preset dev -j $(JOBS)

# Runs the bundled no-server pipeline: simulator -> decode -> three models side by side -> zip
# -> recent history and severity -> windows and alerts -> local files (10 s by default).
# The dashboard is served on QUICKSTART_UI while it runs (QUICKSTART_UI=127.0.0.1:0 picks a
# free port; the URL is printed).
QUICKSTART_UI ?= 127.0.0.1:8080
quickstart: build
	@$(SLUICE) run pipelines/quickstart.yaml --ui $(QUICKSTART_UI)
	@echo
	@echo "Outputs are in out/quickstart/:"
	@echo "  readings.ndjson     every reading with the three models' predictions, its sensor's recent"
	@echo "                      mean and z-score, severity and alert flag"
	@echo "  stats.ndjson        per-sensor 1-minute hopping windows (mean/min/max/p95, readings, anomalies)"
	@echo "  alerts.ndjson       the readings the anomaly model flagged"
	@echo "  dead-letter.ndjson  rejected records with the reason (empty if none)"
	@echo "Longer, with time to look at the dashboard: QUICKSTART_DURATION=120s make quickstart."
	@echo "The full stack (Kafka, Elasticsearch, pipelines/sensor_analytics.yaml): make demo"

# Every test: unit, pipeline and CLI tests, the installed-package test, and the
# integration tests against the real Kafka broker and search node (started here, stopped
# at the end; a failure to start them fails the run). The sanitizer runs (make sanitize)
# are not part of it yet: see HACKING.md.
test: build
	@scripts/services start all
	@status=0; ctest --preset release -j $(JOBS) || status=$$?; \
	  scripts/services stop all; exit $$status

unit-test: build
	@ctest --preset release -L unit -j $(JOBS)

sanitize: asan tsan

asan: deps
	@cmake --preset asan >/dev/null
	@cmake --build --preset asan -j $(JOBS) --target sluice_unit_tests
	@ctest --preset asan -j $(JOBS)

tsan: deps
	@cmake --preset tsan >/dev/null
	@cmake --build --preset tsan -j $(JOBS) --target sluice_unit_tests
	@ctest --preset tsan -j $(JOBS)

install: build
	@cmake --install build/release --prefix $(or $(PREFIX),/usr/local)

# The whole platform: Kafka + Elasticsearch, a simulated fleet producing to Kafka, the
# sensor_analytics pipeline and its dashboard. Ctrl-C stops it all (scripts/demo).
demo: build
	@scripts/demo

bench: build
	@scripts/run-benchmarks && scripts/bench-platform

lint: deps
	@cmake --preset dev >/dev/null
	@git ls-files '*.cpp' '*.hpp' | xargs clang-format --dry-run -Werror
	@git ls-files 'src/*.cpp' 'operators/*.cpp' | xargs clang-tidy -p build/dev --quiet

format:
	@git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

clean:
	@rm -rf build out dead-letter
