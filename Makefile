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

# The unit and CLI tests (label unit, without the installed-package test) under the sanitizers,
# each in its own build dir: build/asan (AddressSanitizer + UBSan, any finding fails the test)
# and build/tsan (ThreadSanitizer, linked to a oneTBB built with -fsanitize=thread by
# scripts/build-tsan-tbb, because Debian's libtbb is not instrumented). Only what those tests
# run is built: the library, the operators, the test binaries and the CLI (no benchmarks).
# Suppressions, for uninstrumented third-party code only: tests/sanitizers/*.supp. The steps
# are variables, not sub-makes, so that `make -n test` only prints them.
SANITIZER_TARGETS := sluice_unit_tests sluice_cli
ASAN_STEPS = cmake --preset asan >/dev/null && \
  cmake --build --preset asan -j $(JOBS) --target $(SANITIZER_TARGETS) && \
  ctest --preset asan -j $(JOBS)
TSAN_STEPS = scripts/build-tsan-tbb build/tsan/tbb && cmake --preset tsan >/dev/null && \
  cmake --build --preset tsan -j $(JOBS) --target $(SANITIZER_TARGETS) && \
  ctest --preset tsan -j $(JOBS)

# Every test: unit, pipeline and CLI tests, the installed-package test, and the
# integration tests against the real Kafka broker and search node (started here if they are
# not running, and then stopped after them; a failure to start them fails the run); then the unit and CLI tests again under
# AddressSanitizer + UBSan and under ThreadSanitizer (as make asan and make tsan; no servers).
# The sanitizer runs come last so that their output never buries the main results; each runs
# even if an earlier part failed, any failure fails the run, and the last line says which
# parts failed. From nothing, the two sanitizer builds and runs take about 12 minutes on a
# 2-core machine (HACKING.md).
test: build
	@started=$$(scripts/services status all 2>/dev/null | sed -n 's/^\([a-z]*\): stopped.*/\1/p'); \
	  stop_started() { for s in $$started; do scripts/services stop $$s; done; }; \
	  scripts/services start all || { stop_started; exit 1; }; \
	  release=0; ctest --preset release -j $(JOBS) || release=$$?; \
	  stop_started; \
	  asan=0; ( $(ASAN_STEPS) ) || asan=$$?; \
	  tsan=0; ( $(TSAN_STEPS) ) || tsan=$$?; \
	  verdict() { [ "$$1" -eq 0 ] && echo passed || echo FAILED; }; \
	  echo "make test: release tests $$(verdict $$release), asan unit tests $$(verdict $$asan)," \
	    "tsan unit tests $$(verdict $$tsan)"; \
	  [ $$release -eq 0 ] && [ $$asan -eq 0 ] && [ $$tsan -eq 0 ]

unit-test: build
	@ctest --preset release -L unit -j $(JOBS)

# The tests that need the real broker and node; the servers are started if they are not
# running and left running for the next try (make services-stop stops them).
integration-test: build
	@scripts/services start all
	@ctest --preset release -L 'kafka|elasticsearch|platform' -j $(JOBS)

# The installed package: examples built against `cmake --install` output.
package-test: build
	@ctest --preset release -L package -j $(JOBS)

services-start:
	@scripts/services start all

services-stop:
	@scripts/services stop all

sanitize: asan tsan

asan: deps
	@$(ASAN_STEPS)

tsan: deps
	@$(TSAN_STEPS)

install: build
	@cmake --install build/release --prefix $(or $(PREFIX),/usr/local)

# The whole platform: Kafka + Elasticsearch, a simulated fleet producing to Kafka, the
# sensor_analytics pipeline and its dashboard. Ctrl-C stops it all (scripts/demo).
demo: build
	@scripts/demo

bench: build
	@scripts/run-benchmarks && scripts/bench-platform

# Formatting of every tracked .cpp/.hpp (src, include, operators, tests, bench, examples), then
# clang-tidy (.clang-tidy: every finding is an error) over the compiled sources of src/ and
# operators/, which also checks the headers they include. clang-tidy needs the compile commands
# of the dev preset, so that is configured first (no build needed). It takes 20 s or more of CPU
# per file: LINT_JOBS files at a time, LINT_BUILD to use another build dir
# (make lint LINT_BUILD=build/<you> LINT_JOBS=1). Both parts run; either failing fails lint.
LINT_BUILD ?= build/dev
LINT_JOBS ?= $(JOBS)
lint: deps
	@cmake --preset dev -B $(LINT_BUILD) >/dev/null
	@format=0; git ls-files '*.cpp' '*.hpp' | xargs clang-format --dry-run -Werror || format=$$?; \
	  tidy=0; git ls-files 'src/*.cpp' 'operators/*.cpp' | \
	    xargs -n 1 -P $(LINT_JOBS) clang-tidy -p $(LINT_BUILD) --quiet || tidy=$$?; \
	  verdict() { [ "$$1" -eq 0 ] && echo passed || echo FAILED; }; \
	  echo "make lint: clang-format $$(verdict $$format), clang-tidy $$(verdict $$tidy)"; \
	  [ $$format -eq 0 ] && [ $$tidy -eq 0 ]

format:
	@git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

clean:
	@rm -rf build out dead-letter
