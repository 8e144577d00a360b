"""The project's deployments load, with their schedules, descriptions and parameter forms."""

from __future__ import annotations

import pytest

from deployments.definitions import build_deployments
from newsdesk.settings import Settings


@pytest.fixture(scope="module")
def deployments():
    return {d.name: d for d in build_deployments(Settings())}


def test_ingest_and_maintenance_are_deployed(deployments):
    assert set(deployments) == {"ingest", "maintenance"}


@pytest.mark.parametrize("name", ["ingest", "maintenance"])
def test_every_deployment_has_a_description_a_schedule_and_runs_one_at_a_time(deployments, name):
    deployment = deployments[name]
    assert deployment.description and len(deployment.description) > 40
    assert len(deployment.schedules) == 1
    assert deployment.concurrency_limit == 1
    assert deployment.concurrency_options.collision_strategy == "ENQUEUE"
    assert deployment.entrypoint == f"flows.{name}.{name}"


@pytest.mark.parametrize("name", ["ingest", "maintenance"])
def test_every_parameter_has_a_description_and_a_default(deployments, name):
    schema = deployments[name]._parameter_openapi_schema
    assert schema.required == []
    for parameter, spec in schema.properties.items():
        assert spec.get("description"), f"{name}.{parameter} has no description"
        assert "default" in spec, f"{name}.{parameter} has no default"


def test_the_ingest_form_offers_feeds_tags_cap_and_dry_run(deployments):
    properties = deployments["ingest"]._parameter_openapi_schema.properties
    assert properties["feeds"]["type"] == "array" and properties["feeds"]["default"] == []
    assert properties["tags"]["type"] == "array"
    assert properties["dry_run"] == {**properties["dry_run"], "type": "boolean", "default": False}
    assert "max_articles_per_feed" in properties


def test_schedules_come_from_settings_without_code_changes():
    every_5 = {d.name: d for d in build_deployments(Settings(ingest_interval_minutes=5))}
    assert every_5["ingest"].schedules[0].schedule.interval.total_seconds() == 300
    cron = {d.name: d for d in build_deployments(Settings(ingest_cron="*/10 * * * *"))}
    assert cron["ingest"].schedules[0].schedule.cron == "*/10 * * * *"
    default = {d.name: d for d in build_deployments(Settings())}
    assert default["ingest"].schedules[0].schedule.interval.total_seconds() == 15 * 60
    assert default["maintenance"].schedules[0].schedule.cron == "30 3 * * *"


def test_prefect_yaml_declares_the_same_deployments_for_a_work_pool(deployments):
    import importlib
    from pathlib import Path

    import yaml

    config = yaml.safe_load((Path(__file__).parents[2] / "prefect.yaml").read_text())
    declared = {d["name"]: d for d in config["deployments"]}
    assert set(declared) == set(deployments)
    for name, spec in declared.items():
        path, function = spec["entrypoint"].split(":")
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        assert getattr(module, function).name == deployments[name].flow_name
        assert spec["description"] and spec["schedules"]
        assert spec["concurrency_limit"] == {"limit": 1, "collision_strategy": "ENQUEUE"}
        assert spec["work_pool"]["name"] == "newsdesk"


def test_sharded_ingest_is_one_deployment_per_shard_with_its_parameters():
    sharded = {d.name: d for d in build_deployments(Settings(shards=3))}
    names = ["ingest-shard-1-of-3", "ingest-shard-2-of-3", "ingest-shard-3-of-3"]
    assert set(sharded) == {*names, "maintenance"}
    for shard, name in enumerate(names, start=1):
        deployment = sharded[name]
        assert deployment.parameters == {"due_only": True, "shard": shard, "shards": 3}
        # Each shard runs one at a time; different shards run at once on different workers.
        assert deployment.concurrency_limit == 1
        assert deployment.schedules[0].schedule.interval.total_seconds() == 15 * 60


def test_the_ingest_form_explains_shards(deployments):
    properties = deployments["ingest"]._parameter_openapi_schema.properties
    assert properties["shard"]["default"] == 1 and properties["shards"]["default"] == 1
    assert "hash" in properties["shard"]["description"]
