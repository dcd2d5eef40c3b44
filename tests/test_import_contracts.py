"""The walls between roles and rooms ([tool.importlinter] in pyproject.toml): every contract is kept, and an
import that crosses a wall breaks the contract that names that wall."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import grimp
import pytest
from importlinter import configuration
from importlinter.contracts.acyclic_siblings import AcyclicSiblingsContract
from importlinter.contracts.forbidden import ForbiddenContract
from importlinter.contracts.layers import LayersContract
from importlinter.contracts.protected import ProtectedContract

CONFIG = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())["tool"]["importlinter"]
configuration.configure()  # what lint-imports sets up before it checks (timers, output)
KINDS = {"forbidden": ForbiddenContract, "protected": ProtectedContract, "layers": LayersContract,
         "acyclic_siblings": AcyclicSiblingsContract}


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(*CONFIG["root_packages"], cache_dir=None)


def broken(graph: grimp.ImportGraph) -> list[str]:
    """The names of the contracts that ``graph`` breaks."""
    names = []
    for options in CONFIG["contracts"]:
        contract_options: dict[str, Any] = {k: v for k, v in options.items() if k not in ("name", "type")}
        contract = KINDS[options["type"]](name=options["name"], session_options=CONFIG,
                                          contract_options=contract_options)
        if not contract.check(copy.deepcopy(graph), verbose=False).kept:
            names.append(options["name"])
    return names


def test_every_contract_is_kept(graph):
    assert broken(graph) == []


@pytest.mark.parametrize(("importer", "imported", "wall"), [
    ("common.keys", "api.views", "common is the ground: it imports no role"),
    ("backend.main", "common.keys", None),
    ("backend.catalog", "api.settings", "the backend imports no other role"),
    ("api.views.upstream", "backend.catalog", "the api imports no other role"),
    ("relay.service", "backend.catalog", "the relay imports no other role"),
    ("workers.prewarm", "backend.catalog", "the worker imports no role but the api's public doors"),
    ("workers.prewarm", "api.main",
     "outside the api, only hewston and the worker (through api.views and api.settings) import it"),
    ("workers.prewarm", "api.views.cache", "the cached views are entered through api.views only"),
    ("api.stream.hub", "api.views.cache", "the cached views are entered through api.views only"),
    ("hewston.cli", "backend.main", None),
    ("api.views.charts", "api.routers.chart_data", "inside the api: the edge above the stream above the cached views"),
    ("api.views.cached_views", "api.stream.hub", "inside the api: the edge above the stream above the cached views"),
    ("workers.config", "workers.worker", "no import cycles inside a role"),
    ("backend.engine.spec", "backend.runs.repository", "no import cycles inside a role"),
])
def test_an_import_across_a_wall_breaks_the_contract_named_for_it(graph, importer, imported, wall):
    changed = copy.deepcopy(graph)
    changed.add_import(importer=importer, imported=imported, line_number=1, line_contents=f"import {imported}")
    # Forbidden imports count through any chain, so one import may break the walls behind it too.
    if wall is None:
        assert broken(changed) == []
    else:
        assert wall in broken(changed)
