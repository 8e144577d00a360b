"""The project's Prefect deployments, built from settings so schedules change without code.

`newsdesk serve` serves these; `prefect.yaml` at the repository root declares the same two for
`prefect deploy` onto a process work pool.
"""

from __future__ import annotations

from datetime import timedelta

from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.deployments.runner import EntrypointType, RunnerDeployment
from prefect.schedules import Cron, Interval

from flows.ingest import ingest
from flows.maintenance import maintenance
from newsdesk.settings import Settings

INGEST_DESCRIPTION = """\
Poll the feeds, download and extract new articles, and append them to the DuckDB warehouse.

Scheduled over all feeds, each polled when it is due (its own interval, from how often it
publishes). To run a subset by hand, use Run → Custom run: pick feed names or tags, untick
due_only to poll every feed now, cap the new articles per feed, or tick dry run to fetch and
extract without writing. Runs that
overlap wait their turn (one at a time), so they never fight over the warehouse file.
Each run publishes a per-feed table (`ingest-feeds`) and a summary (`ingest-summary`).
"""

MAINTENANCE_DESCRIPTION = """\
Daily: checkpoint the warehouse, export yesterday's new articles to Parquet partitioned by date
under data/export/, and report feeds that have failed for 24 hours or more
(artifact `maintenance-report`).
"""

ONE_AT_A_TIME = ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.ENQUEUE)


def ingest_name(shard: int, shards: int) -> str:
    """`ingest`, or `ingest-shard-2-of-4` when the feeds are split into shards."""
    return "ingest" if shards == 1 else f"ingest-shard-{shard}-of-{shards}"


def ingest_parameters(shard: int, shards: int) -> dict[str, object]:
    """What a scheduled ingest run is given: only due feeds, and its shard if there are any."""
    sharding = {"shard": shard, "shards": shards} if shards > 1 else {}
    return {"due_only": True, **sharding}


def build_deployments(settings: Settings | None = None) -> list[RunnerDeployment]:
    """The `ingest` and `maintenance` deployments, scheduled from `settings`.

    With `NEWSDESK_SHARDS` above 1, ingest is one deployment per shard, each with its shard's
    parameters and the same schedule, rather than one deployment whose schedules cover the
    shards: a deployment's concurrency limit then keeps each shard to one run at a time (a
    shard's feed state is written by its own runs only) while different shards run at once
    on different workers, and a shard can be paused, triggered or inspected on its own.
    """
    settings = settings or Settings()
    ingest_schedule = (
        Cron(settings.ingest_cron, timezone="UTC")
        if settings.ingest_cron
        else Interval(timedelta(minutes=settings.ingest_interval_minutes))
    )
    deployments = [
        ingest.to_deployment(
            name=ingest_name(shard, settings.shards),
            description=INGEST_DESCRIPTION,
            schedule=ingest_schedule,
            parameters=ingest_parameters(shard, settings.shards),
            concurrency_limit=ONE_AT_A_TIME,
            tags=["newsdesk"],
            entrypoint_type=EntrypointType.MODULE_PATH,
        )
        for shard in range(1, settings.shards + 1)
    ]
    deployments += [
        maintenance.to_deployment(
            name="maintenance",
            description=MAINTENANCE_DESCRIPTION,
            schedule=Cron(settings.maintenance_cron, timezone="UTC"),
            concurrency_limit=ONE_AT_A_TIME,
            tags=["newsdesk"],
            entrypoint_type=EntrypointType.MODULE_PATH,
        ),
    ]
    # `to_deployment` returns a coroutine only when called from async code; this is sync.
    return [d for d in deployments if isinstance(d, RunnerDeployment)]
