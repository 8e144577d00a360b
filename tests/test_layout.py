"""The floor plan stays true: imports run one way, and no folder grows into a drawer.

    deployments/ → flows/ → tasks/ and storage/;  newsdesk/ (the CLI) is an edge like flows/
    tasks/{fetch,feeds,page,run}/ import the leaves of tasks/ (models, text, urls, …), never
    each other; only flows/ wires them together.
    storage/ imports only the models; neither tasks/ nor storage/ imports Prefect.
    harness/ (what tests and benchmarks share) is reached as a package, never through sys.path,
    and no code of the product imports it; no module takes another's underscore names.

Read with `ast` from the source, like the docs test reads the README.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
STAGES = ("fetch", "feeds", "page", "run")
MAX_MODULES = 12


def modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def imported(path: Path) -> set[str]:
    """Every module `path` imports, at the top or inside a function."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def top(name: str) -> str:
    return name.split(".")[0]


def where(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", modules("tasks"), ids=where)
def test_tasks_import_neither_the_edges_nor_prefect(path: Path) -> None:
    forbidden = {"newsdesk", "flows", "deployments", "prefect", "storage"}
    assert {top(n) for n in imported(path)} & forbidden == set()


@pytest.mark.parametrize("path", modules("storage"), ids=where)
def test_storage_imports_only_the_models(path: Path) -> None:
    forbidden = {"newsdesk", "flows", "deployments", "prefect"}
    assert {top(n) for n in imported(path)} & forbidden == set()
    reached = {n for n in imported(path) if top(n) == "tasks"}
    assert {n for n in reached if not n.startswith("tasks.models")} == set()


@pytest.mark.parametrize("stage", STAGES)
def test_a_stage_imports_the_leaves_never_another_stage(stage: str) -> None:
    others = {f"tasks.{s}" for s in STAGES if s != stage}
    for path in modules(f"tasks/{stage}"):
        crossing = {n for n in imported(path) if ".".join(n.split(".")[:2]) in others}
        assert crossing == set(), where(path)


@pytest.mark.parametrize(
    "path", [p for p in modules("tasks") if p.parent.name == "tasks"], ids=where
)
def test_the_leaves_import_no_stage(path: Path) -> None:
    stages = {f"tasks.{s}" for s in STAGES}
    assert {n for n in imported(path) if ".".join(n.split(".")[:2]) in stages} == set()


@pytest.mark.parametrize("path", modules("flows"), ids=where)
def test_flows_never_reach_back_into_the_cli_or_deployments(path: Path) -> None:
    assert {top(n) for n in imported(path)} & {"deployments"} == set()
    assert {n for n in imported(path) if top(n) == "newsdesk"} <= {
        "newsdesk.settings",
        "newsdesk.settings.Settings",
    }


@pytest.mark.parametrize(
    "folder", ["tasks", *(f"tasks/{s}" for s in STAGES), "storage", "flows", "newsdesk"]
)
def test_no_folder_holds_more_than_twelve_modules(folder: str) -> None:
    here = [p for p in (ROOT / folder).glob("*.py") if p.name != "__init__.py"]
    assert len(here) <= MAX_MODULES, sorted(p.name for p in here)


def test_the_ingest_flow_reads_as_its_steps() -> None:
    tree = ast.parse((ROOT / "flows" / "ingest.py").read_text(encoding="utf-8"))
    (flow,) = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "ingest"]
    assert flow.end_lineno is not None and flow.end_lineno - flow.lineno + 1 <= 90
    built = {
        node.func.id
        for node in ast.walk(flow)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    assert built & {"Sighting", "RunRecord", "FeedReport"} == set()


PRODUCT = ("newsdesk", "flows", "tasks", "storage", "deployments")
TOOLING = [*modules("harness"), *modules("bench"), *modules("tests")]


@pytest.mark.parametrize("folder", PRODUCT)
def test_the_product_never_imports_the_harness_or_the_benchmarks(folder: str) -> None:
    for path in modules(folder):
        assert {top(n) for n in imported(path)} & {"harness", "bench", "tests"} == set(), where(
            path
        )


@pytest.mark.parametrize("path", TOOLING, ids=where)
def test_tests_and_benchmarks_edit_no_import_path(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    assert not [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr == "path"
        and isinstance(node.value, ast.Name)
        and node.value.id == "sys"
    ]


@pytest.mark.parametrize("path", TOOLING, ids=where)
def test_no_module_takes_another_modules_underscore_names(path: Path) -> None:
    """`from m import _x`, or `m._x` on a module imported from the harness or the benchmarks
    (tests of storage may reach into the module they test)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    ours: set[str] = set()
    taken = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module != "__future__":
            taken += [a.name for a in node.names if a.name.startswith("_") and a.name[1] != "_"]
            if top(node.module) in ("harness", "bench"):
                ours.update(a.asname or a.name for a in node.names)
        elif isinstance(node, ast.Import):
            ours.update(
                a.asname or a.name for a in node.names if top(a.name) in ("harness", "bench")
            )
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in ours
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ):
            taken.append(f"{node.value.id}.{node.attr}")
    assert taken == [], taken
