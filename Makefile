# Zava MCP: `make run` to try it, `make test` to check it.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The outside clients the tests judge the server with, each installed from a lock of its own.
SDK2_VENV := .venv-sdk2
CONFORMANCE := tests/clients/conformance
PORT ?= 8000
HOST ?= 127.0.0.1

.PHONY: install lock lock-sdk2 outside-clients run serve test test-deps lint typecheck format bench bench-scale-data bench-load bench-search bench-smoke bench-scale bench-scale-smoke clean

## install: .venv with exactly the versions (and hashes) of requirements.lock
$(VENV)/.installed: requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --require-hashes -r requirements.lock
	touch $@

install: $(VENV)/.installed

## lock: resolve requirements.txt (the ranges) into requirements.lock for Linux x86_64,
## CPython 3.11, keeping current pins; `make lock LOCK_ARGS=--upgrade` moves them on
lock: install
	$(VENV)/bin/uv pip compile requirements.txt --generate-hashes --quiet \
		--python-version 3.11 --python-platform x86_64-unknown-linux-gnu \
		--custom-compile-command "make lock" --output-file requirements.lock $(LOCK_ARGS)

## outside-clients: the official MCP Python SDK 2.x client in .venv-sdk2 (never beside the
## server: django-mcp-server needs mcp<2) and the MCP conformance suite with the Node 22 it
## needs, from requirements-sdk2.lock and tests/clients/conformance/package-lock.json
$(SDK2_VENV)/.installed: requirements-sdk2.lock
	$(PYTHON) -m venv $(SDK2_VENV)
	$(SDK2_VENV)/bin/pip install --quiet --require-hashes -r requirements-sdk2.lock
	touch $@

$(CONFORMANCE)/node_modules/.installed: $(CONFORMANCE)/package-lock.json
	npm ci --prefix $(CONFORMANCE) --no-audit --no-fund --loglevel=error
	touch $@

outside-clients: $(SDK2_VENV)/.installed $(CONFORMANCE)/node_modules/.installed

## lock-sdk2: resolve requirements-sdk2.txt into requirements-sdk2.lock, as `make lock` does
lock-sdk2: install
	$(VENV)/bin/uv pip compile requirements-sdk2.txt --generate-hashes --quiet \
		--python-version 3.11 --python-platform x86_64-unknown-linux-gnu \
		--custom-compile-command "make lock-sdk2" --output-file requirements-sdk2.lock

## run: install, start the embedded database, migrate, seed if empty, embed, print the admin login, serve
run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_retail --if-empty
	$(PY) manage.py embed_products
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py local_admin --url http://$(HOST):$(PORT)/admin/
	$(MAKE) --no-print-directory serve

serve: install
	@echo "Serving Zava MCP on http://$(HOST):$(PORT)/mcp (admin: http://$(HOST):$(PORT)/admin/)"
	$(VENV)/bin/gunicorn zava.wsgi:application --config zava/gunicorn_conf.py --bind $(HOST):$(PORT)

## test: install, the outside clients, make sure Chromium and Redis are there
## (scripts/test-deps), then the whole suite
test: install outside-clients test-deps
	$(PY) -m pytest $(PYTEST_ARGS)

## test-deps: the system packages the suite needs (Debian's chromium and redis-server)
test-deps:
	scripts/test-deps

## lint: ruff (style, bugs, security smells), the layers contract (lint-imports, in
## pyproject.toml), then mypy with django-stubs (typecheck)
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache
	$(MAKE) --no-print-directory typecheck

## typecheck: mypy with django-stubs over the project's packages (pyproject.toml).
## The stubs' plugin imports the settings; a DATABASE_URL (never connected to) keeps
## it from starting the embedded PostgreSQL.
typecheck: install
	DATABASE_URL=postgres://typecheck@127.0.0.1:1/typecheck $(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

## bench: the compared workloads over HTTP, ours against a reference-shaped baseline (bench/baseline_server.py)
## measured in the same run, and against the same SQL run directly (about 16 minutes)
bench: install
	$(PY) bench/mcp_vs_sql.py $(BENCH_ARGS)

## bench-scale-data: how a call's cost grows with the data: b, two analytics tools and semantic
## search at 1x, 4x and 16x the orders (3.2 M at 16x), ours against the SQL floor (about 25 minutes)
bench-scale-data: install
	$(PY) bench/data_growth.py $(BENCH_ARGS)

## bench-load: 16 concurrent MCP clients for 60 s over a mix of tools
bench-load: install
	$(PY) bench/load.py $(BENCH_ARGS)

## bench-search: semantic search quality, latency and HNSW at 100k products (about 3 minutes)
bench-search: install
	$(PY) bench/search_quality.py
	$(PY) bench/search_latency.py
	$(PY) bench/hnsw_scale.py

## bench-smoke: a short load run on a scratch database; fails on any error (CI runs it)
bench-smoke: install
	$(PY) bench/load.py --smoke

## bench-scale: Citus by store, simulated: 1, 2 and 4 hash shards by store_id on as many
## embedded PostgreSQL servers; per-store latency, calls/s and head office's fan-out
## (about 2 minutes; see docs/scaling.md)
bench-scale: install
	$(PY) bench/shard_simulation.py $(BENCH_ARGS)

## bench-scale-smoke: the shard simulation for a few seconds, 2 shards, on a scratch
## database; fails on a misrouted row, a wrong answer or an error (CI runs it)
bench-scale-smoke: install
	$(PY) bench/shard_simulation.py --smoke

clean:
	rm -rf $(VENV) $(SDK2_VENV) $(CONFORMANCE)/node_modules var .pytest_cache .ruff_cache .mypy_cache
