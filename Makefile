# The one task runner of rathaus; README.md and .ci/run call these targets.
#   make demo   – run the whole product locally (portal + authority nodes, SQLite, demo data)
#   make test   – format check, lints and every test (SQLite always, PostgreSQL on this machine),
#                 then the real-browser tests (make browser)

SHELL := /bin/bash
DEMO_ARGS ?=
DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postgres
export CARGO_TERM_COLOR ?= never

.PHONY: demo test assets postgres lint unit build browser

## Front-end assets (KERN UX), pinned by web/package-lock.json.
assets: web/node_modules/.package-lock.json
web/node_modules/.package-lock.json: web/package.json web/package-lock.json
	npm ci --prefix web --no-audit --no-fund --loglevel=error

build:
	cargo build --locked -p rathaus

demo: assets build
	$(or $(CARGO_TARGET_DIR),target)/debug/rathaus demo $(DEMO_ARGS)

## PostgreSQL runs on this machine kind; start it when it is not running.
postgres:
	@if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then \
	  echo "starting PostgreSQL"; \
	  pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start; \
	  for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; \
	fi

lint:
	cargo fmt --all -- --check
	cargo clippy --locked --workspace --all-targets -- -D warnings

unit: postgres
	DATABASE_URL=$(DATABASE_URL) cargo test --locked --workspace
	# The fuzz targets' bodies over their seeds and proptest inputs, on stable (fuzz/README.md).
	cargo test --locked --manifest-path fuzz/Cargo.toml

## Real-browser tests (tests/browser): Debian's Chromium driven by playwright-core, axe-core, both
## pinned by tests/browser/package-lock.json; they start their own `rathaus demo` on free ports.
browser: assets tests/browser/node_modules/.package-lock.json
	command -v chromium >/dev/null || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium)
	cargo build --locked -p rathaus
	npm test --prefix tests/browser
tests/browser/node_modules/.package-lock.json: tests/browser/package.json tests/browser/package-lock.json
	npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error

test: assets lint unit browser
