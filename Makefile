# The two commands of the README: `make run` and `make test`.
# Both install what is missing on a Debian bookworm machine first.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := run

PG_VERSION ?= 15
# PostgreSQL + PostGIS for the embedded cluster (PostGIS reprojects, through
# PROJ); DejaVu fonts for the map labels (/fonts); for the tests: PROJ's cs2cs
# (proj-bin), GDAL and OWSLib as clients.
APT_PACKAGES := postgresql-$(PG_VERSION) postgresql-$(PG_VERSION)-postgis-3 \
                pkg-config ca-certificates gdal-bin proj-bin python3-owslib \
                fonts-dejavu-core fonts-dejavu-extra
# Browser tests only (make test): Debian's Chromium, driven by playwright-core.
TEST_APT_PACKAGES := chromium chromium-driver
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PG_BIN := /usr/lib/postgresql/$(PG_VERSION)/bin

# One private cluster per test run (see tests/common/mod.rs).
export GEOPORTAL_TEST_CLUSTER ?= /tmp/geoportal-test-$(shell printf %s "$(CURDIR)" | sha256sum | cut -c1-12)
RUN_AS_PG := $(shell [ "$$(id -u)" = 0 ] && echo "runuser -u postgres --")

.PHONY: run test deps test-deps apt-install web build release lint test-only test-cluster-down clean-data \
        fuzz-deps deny test-faults

deps:
	@$(MAKE) --no-print-directory apt-install PACKAGES="$(APT_PACKAGES)"

test-deps:
	@$(MAKE) --no-print-directory apt-install PACKAGES="$(APT_PACKAGES) $(TEST_APT_PACKAGES)"

apt-install:
	@missing=""; \
	for p in $(PACKAGES); do \
	  dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq; \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# The web portal (web/): packages from the npm registry exactly as the
# lockfile says, bundled by Vite into web/dist, which the server serves.
web:
	@cd web && { [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund --loglevel=error; }
	cd web && npm run build --silent

release: deps web
	cargo build --release --locked

run: release
	$(or $(CARGO_TARGET_DIR),target)/release/geoportal serve --demo-if-empty

lint: test-deps web
	cargo fmt --all -- --check
	cargo clippy --all-targets --locked -- -D warnings

# CI builds once from a clean clone: incremental caches would only take disk
# (a CI run failed linking a test binary; the machine's disk is shared).
ifdef CI
export CARGO_INCREMENTAL := 0
endif

test: lint fuzz-deps deny
	@$(MAKE) --no-print-directory test-cluster-down
	@df -h . /tmp | sed 's/^/disk: /'
	@# A test that hangs must fail the run with its output, well inside CI's limit.
	@status=0; timeout --kill-after=30s $${TEST_TIMEOUT:-40m} cargo test --locked -- --test-threads=$${TEST_THREADS:-4} || status=$$?; \
	 $(MAKE) --no-print-directory test-cluster-down; exit $$status

# schemathesis (PyPI) for the HTTP fuzz test (tests/fuzz_http.rs), in a venv
# under target/ that the test finds by itself.
FUZZ_VENV := $(CURDIR)/target/fuzz-venv
SCHEMATHESIS_VERSION := 4.32.5
fuzz-deps:
	@$(MAKE) --no-print-directory apt-install PACKAGES="python3-venv"
	@if ! "$(FUZZ_VENV)/bin/schemathesis" --version 2>/dev/null | grep -q "$(SCHEMATHESIS_VERSION)"; then \
	  echo "installing schemathesis $(SCHEMATHESIS_VERSION) into $(FUZZ_VENV)"; \
	  rm -rf "$(FUZZ_VENV)"; \
	  /usr/bin/python3 -m venv "$(FUZZ_VENV)"; \
	  "$(FUZZ_VENV)/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$(SCHEMATHESIS_VERSION)"; \
	fi

# Licences, bans and sources of every dependency (deny.toml); advisories are
# not checked: their database cannot be fetched here.
CARGO_DENY_VERSION := 0.20.2
deny:
	@cargo deny --version 2>/dev/null | grep -q "$(CARGO_DENY_VERSION)" || \
	  cargo install cargo-deny --locked --version $(CARGO_DENY_VERSION)
	cargo deny check licenses bans sources

# The fault tests alone (each starts its own PostgreSQL cluster); `make test`
# runs them with every other test.
test-faults: deps
	cargo test --locked --test faults

# Stops and removes the test run's private cluster.
test-cluster-down:
	@if [ -f "$(GEOPORTAL_TEST_CLUSTER)/pgdata/postmaster.pid" ]; then \
	  $(RUN_AS_PG) $(PG_BIN)/pg_ctl -D "$(GEOPORTAL_TEST_CLUSTER)/pgdata" stop -m fast -w >/dev/null || true; \
	fi
	@rm -rf "$(GEOPORTAL_TEST_CLUSTER)"

# Stops the embedded cluster of `make run` and deletes its data.
clean-data:
	-./target/release/geoportal db stop
	rm -rf "$$(readlink -f data/postgres)" data/postgres
