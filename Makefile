# `make ingest` and `make test` work on a machine with only Python 3.11+: they install uv into
# .tools/ when it is missing, then create .venv from uv.lock.
PYTHON ?= python3
UV ?= $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
export UV_PYTHON_DOWNLOADS := never
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_CLOUD_ENABLE_ORCHESTRATION_TELEMETRY := false

.PHONY: setup ingest demo serve pool deploy test lint bench clean

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

# The `newsdesk` process work pool, running at most POOL_LIMIT flow runs at once over all its
# workers (see README, "Running flows on other machines").
POOL_LIMIT ?= 4
pool: setup
	.venv/bin/prefect work-pool inspect newsdesk >/dev/null 2>&1 || \
		.venv/bin/prefect work-pool create newsdesk --type process
	.venv/bin/prefect work-pool set-concurrency-limit newsdesk $(POOL_LIMIT)

# Register the deployments in prefect.yaml to the pool, and the automation that sends feed
# status changes through the notification block NEWSDESK_ALERT_BLOCK (`ALERT_WEBHOOK=URL` makes
# the default block post to URL; without a block the automation waits, and make goes on).
# Workers clone the code from git: the repository and branch default to this checkout's
# `origin` and current branch.
NEWSDESK_GIT_REPOSITORY ?= $(shell git remote get-url origin 2>/dev/null)
NEWSDESK_GIT_BRANCH ?= $(shell git rev-parse --abbrev-ref HEAD 2>/dev/null)
deploy: setup
	@test -n "$(NEWSDESK_GIT_REPOSITORY)" || \
		{ echo "set NEWSDESK_GIT_REPOSITORY (no git remote 'origin' here)" >&2; exit 2; }
	NEWSDESK_GIT_REPOSITORY=$(NEWSDESK_GIT_REPOSITORY) NEWSDESK_GIT_BRANCH=$(NEWSDESK_GIT_BRANCH) \
		.venv/bin/prefect --no-prompt deploy --all
	-.venv/bin/newsdesk alerts $(if $(ALERT_WEBHOOK),--webhook "$(ALERT_WEBHOOK)")

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
