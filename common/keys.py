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

    # Shared playback stream (relay and api) ------------------------------------------------------------------

    def run_stream(self, run_id: str) -> RunStreamKeys:
        """Every key of one run's stream. They share the hash tag ``{run:<id>}`` and so one Redis Cluster slot,
        which the atomic scripts (fenced append, claim, join) need: a script may only touch keys of one slot."""
        tag = "{run:" + _part(run_id) + "}"
        base = f"{self.prefix}:{tag}"
        return RunStreamKeys(stream=f"{base}:stream", snapshot=f"{base}:snapshot", state=f"{base}:state",
                             lease=f"{base}:lease", controls=f"{base}:controls", replies=f"{base}:replies",
                             viewers=f"{base}:viewers")

    def stream_demand(self) -> str:
        """Sorted set of watched runs, scored by the time (ms) until which some api node wants them relayed."""
        return self._key("stream", "demand")

    def reader_wake(self, reader_id: str) -> str:
        """A tiny stream one blocking reader also reads, so that adding a run wakes it without waiting out a
        block."""
        return self._key("reader", reader_id, "wake")

    def pattern(self) -> str:
        """Glob matching every key of this key space (for maintenance and tests)."""
        return f"{self.prefix}:*"


@dataclass(frozen=True)
class RunStreamKeys:
    """The keys of one run's shared playback (meanings in docs/stream.md, "Redis layout")."""

    stream: str      # the run's messages, entry id ``<offset>-0``
    snapshot: str    # the latest snapshot, pinned apart from the trimmed stream
    state: str       # hash: epoch, offset, pinned snapshot offset, bytes, and the relay's cursor/state/speed
    lease: str       # the relay holding the run (a fencing token), with a TTL
    controls: str    # controls from viewers, read by the holding relay
    replies: str     # answers to one viewer's control (errors), read by the api nodes
    viewers: str     # hash: api node -> "viewers:deadline_ms"

    def all(self) -> tuple[str, ...]:
        return (self.stream, self.snapshot, self.state, self.lease, self.controls, self.replies, self.viewers)
