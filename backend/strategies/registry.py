"""The registry of built-in strategies: every module of this package that defines ``STRATEGY``.

Adding a strategy is adding one module; nothing else has to change.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

import backend.strategies as package
from backend.strategies.base import Strategy
from common.errors import InvalidInput


@cache
def strategies() -> dict[str, Strategy]:
    found: dict[str, Strategy] = {}
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        strategy = getattr(module, "STRATEGY", None)
        if isinstance(strategy, Strategy):
            if strategy.name in found:
                raise RuntimeError(f"two strategies are named {strategy.name!r}")
            found[strategy.name] = strategy
    return found


def get_strategy(name: str) -> Strategy:
    strategy = strategies().get(name)
    if strategy is None:
        known = ", ".join(sorted(strategies()))
        raise InvalidInput("strategy", f"unknown strategy {name!r}; choose one of {known}", location="body")
    return strategy
