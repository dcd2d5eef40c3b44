"""Every benchmark module imports: `make bench` is not part of `make test`, so a renamed helper would otherwise
break a benchmark unnoticed until someone runs it."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import bench

MODULES = sorted(module.name for module in pkgutil.iter_modules(bench.__path__))


@pytest.mark.parametrize("name", MODULES)
def test_the_benchmark_module_imports(name: str) -> None:
    module = importlib.import_module(f"bench.{name}")
    if name.startswith("bench_"):
        # `python -m bench` runs each benchmark module's main().
        assert callable(module.main)
