# `make ingest` and `make test` work on a machine with only Python 3.11+: they install uv into
# .tools/ when it is missing, then create .venv from uv.lock.
PYTHON ?= python3
UV ?= $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
export UV_PYTHON_DOWNLOADS := never
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_CLOUD_ENABLE_ORCHESTRATION_TELEMETRY := false

.PHONY: setup ingest demo serve deploy test lint bench clean

setup: .venv/.synced

.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/python -m pip install --quiet --disable-pip-version-check uv

# Bytecode is compiled at install: it halves the start-up of every Prefect process.
.venv/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --compile-bytecode --python $(PYTHON)
	@touch $@

ingest: setup
	.venv/bin/newsdesk ingest

demo: setup
	.venv/bin/newsdesk demo

serve: setup
	.venv/bin/newsdesk serve

# Register the deployments in prefect.yaml to the `newsdesk` process work pool (see README).
deploy: setup
	NEWSDESK_HOME=$(CURDIR) .venv/bin/prefect --no-prompt deploy --all

test: setup
	.venv/bin/pytest

# The throughput benchmark (needs ../shared/corpus; about 3 minutes): docs/benchmarks.md.
bench: setup
	.venv/bin/python -m bench

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy

clean:
	rm -rf .venv .tools
