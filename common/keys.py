"""Every Redis key name Hewston uses, built in one place so that no other module spells a key.

All keys live under a prefix (``hw`` by default) so that several deployments, or test runs, can share one
Redis without seeing each other's data. Units are in the names of the values that bound them (``ttl_s``).
Parts that come from users (symbols, run ids) are percent-encoded so that they can never forge a separator.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

DEFAULT_PREFIX = "hw"


def _part(value: object) -> str:
    return quote(str(value), safe="")


@dataclass(frozen=True)
class KeySpace:
    prefix: str = DEFAULT_PREFIX

    def _key(self, *parts: object) -> str:
        return ":".join((self.prefix, *(_part(p) for p in parts)))

    # Response cache (api) ---------------------------------------------------------------------------------

    def chart_data(self, symbol: str, timeframe: str, data_version: int, from_s: int | None, to_s: int | None,
                   target_points: int | None) -> str:
        """Encoded chart-data bytes; the data version makes a re-ingest miss instead of serving stale bytes."""
        return self._key("chart", symbol, timeframe, f"v{data_version}", from_s if from_s is not None else "-",
                         to_s if to_s is not None else "-", target_points if target_points is not None else "-")

    def run_complete(self, run_id: str, target_points: int, include_orders: bool) -> str:
        """Encoded immutable parts of a completed run (metrics, decimated equity, orders)."""
        return self._key("run", run_id, "complete", target_points, int(include_orders))

    def single_flight_lock(self, cache_key: str) -> str:
        """Held (SET NX PX) by the one node computing ``cache_key``; others wait for the value."""
        return f"{self.prefix}:lock:{cache_key}"

    # Short-lived access decisions (api): never longer than a few seconds ---------------------------------

    def symbol_access(self, token_hash: str, symbol: str) -> str:
        return self._key("access", "symbol", token_hash, symbol)

    def run_access(self, token_hash: str, run_id: str) -> str:
        return self._key("access", "run", token_hash, run_id)

    # Rate limiting (api) -----------------------------------------------------------------------------------

    def rate_limit(self, subject: str, window_index: int) -> str:
        """Request counter of one subject (token hash or client address) in one fixed window."""
        return self._key("ratelimit", subject, window_index)

    def pattern(self) -> str:
        """Glob matching every key of this key space (for maintenance and tests)."""
        return f"{self.prefix}:*"
