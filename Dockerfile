# The project image for Docker and Kubernetes work pools: the locked dependencies, the code, and
# the `newsdesk` and `prefect` commands on PATH. Build from the repository root:
#
#   docker build -t registry.example.com/newsdesk:$(git rev-parse --short HEAD) .
#
# Flow runs start in /opt/newsdesk, where prefect.yaml's entrypoints (flows/ingest.py:ingest)
# and the default feeds file are; every NEWSDESK_* setting comes from the job variables.
FROM python:3.11-slim

COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /usr/local/bin/uv

ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/newsdesk/.venv \
    PATH=/opt/newsdesk/.venv/bin:$PATH \
    PREFECT_SERVER_ANALYTICS_ENABLED=false

WORKDIR /opt/newsdesk

# Dependencies first, from the lock alone: a code change rebuilds only the layers below.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project

COPY newsdesk/ newsdesk/
COPY flows/ flows/
COPY tasks/ tasks/
COPY storage/ storage/
COPY deployments/ deployments/
COPY feeds.toml prefect.yaml ./
RUN uv sync --frozen --no-dev --no-editable

# Runs write the warehouse and the spool under data/ unless NEWSDESK_DB points elsewhere
# (a mounted volume: the container's own disk is gone when the flow run ends).
RUN useradd --create-home --uid 10001 newsdesk && mkdir data && chown newsdesk data
USER newsdesk
CMD ["newsdesk", "--help"]
