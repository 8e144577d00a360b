"""The project's deployments load, with their schedules, descriptions and parameter forms."""

from __future__ import annotations

from pathlib import Path

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


ROOT = Path(__file__).parents[2]


def prefect_yaml() -> dict:
    import yaml

    return yaml.safe_load((ROOT / "prefect.yaml").read_text())


def test_workers_get_the_code_from_git_not_from_a_path_of_the_deploying_machine():
    (step,) = prefect_yaml()["pull"]
    (name, spec) = step.popitem()
    assert name == "prefect.deployments.steps.git_clone"
    assert spec["repository"] == "{{ $NEWSDESK_GIT_REPOSITORY }}"
    assert "NEWSDESK_HOME" not in (ROOT / "prefect.yaml").read_text()


def test_every_newsdesk_setting_is_passed_to_flow_runs_as_a_job_variable():
    for spec in prefect_yaml()["deployments"]:
        env = spec["work_pool"]["job_variables"]["env"]
        expected = {f"NEWSDESK_{name.upper()}" for name in Settings.model_fields}
        assert set(env) == expected, spec["name"]
        assert all(value == f"{{{{ ${key} }}}}" for key, value in env.items())


def test_scheduled_runs_of_the_pool_poll_only_due_feeds(deployments):
    declared = {d["name"]: d for d in prefect_yaml()["deployments"]}
    assert declared["ingest"]["parameters"] == {"due_only": True}
    assert deployments["ingest"].parameters == {"due_only": True}


def test_the_image_holds_what_pyproject_builds_from_the_lock_with_bytecode():
    import tomllib

    dockerfile = (ROOT / "Dockerfile").read_text()
    copied = {
        path.rstrip("/")
        for line in dockerfile.splitlines()
        if line.startswith("COPY ") and "--from" not in line
        for path in line.split()[1:-1]
    }
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    needed = {"pyproject.toml", "uv.lock", project["project"]["readme"]}
    needed |= set(project["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"])
    assert needed <= copied
    for entrypoint in (d["entrypoint"] for d in prefect_yaml()["deployments"]):
        assert entrypoint.split("/")[0] in copied
    assert all((ROOT / path).exists() for path in copied)
    syncs = [line for line in dockerfile.splitlines() if "uv sync" in line]
    assert syncs and all("--frozen" in line and "--no-dev" in line for line in syncs)
    assert "UV_COMPILE_BYTECODE=1" in dockerfile
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert not needed & set(ignored)
    assert {".venv", "data"} <= set(ignored)
