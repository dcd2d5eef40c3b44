"""Every Redis key name Hewston uses, built in one place so that no other module spells a key.

All keys live under a prefix (``hw`` by default) so that several deployments, or test runs, can share one
Redis without seeing each other's data. Units are in the names of the values that bound them (``ttl_s``).
Parts that come from users (symbols, run ids) are percent-encoded so that they can never forge a separator.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote, unquote

DEFAULT_PREFIX = "hw"


def _part(value: object) -> str:
    return _quoted(str(value))


@lru_cache(maxsize=16384)
def _quoted(text: str) -> str:
    # Every request builds several keys from the same few parts (its token hash, its address, a symbol):
    # percent-encoding them once each is a measurable share of a cache hit.
    return quote(text, safe="")


# Every request builds a few keys from the same parts (its token hash, a symbol, a run): each key is joined once.
# ``typed``: parts of different types that compare equal (1 and True) never share an entry.
@lru_cache(maxsize=16384, typed=True)
def _joined(prefix: str, *parts: object) -> str:
    return ":".join([prefix, *[_part(p) for p in parts]])


@dataclass(frozen=True)
class KeySpace:
    prefix: str = DEFAULT_PREFIX

    def _key(self, *parts: object) -> str:
        return _joined(self.prefix, *parts)

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
        """Held (SET NX PX) by the one node computing ``cache_key``; others wait for the value. The cache key is
        its hash tag, so the lock lives in the value's Redis Cluster slot: one script reads the value and takes
        the lock."""
        return f"{self.prefix}:lock:{{{cache_key}}}"

    def chart_data_pattern(self) -> str:
        """Glob matching every chart-data entry (the worker scans it to remove entries of old data versions)."""
        return f"{self.prefix}:chart:*"

    def chart_data_version(self, key: str) -> tuple[str, str, int] | None:
        """(symbol, timeframe, data version) of a :meth:`chart_data` key; None for any other key."""
        head = f"{self.prefix}:chart:"
        parts = key[len(head):].split(":") if key.startswith(head) else []
        if len(parts) != 6 or not parts[2].startswith("v") or not parts[2][1:].isdigit():
            return None
        return unquote(parts[0]), unquote(parts[1]), int(parts[2][1:])

    # Short-lived access decisions (api): never longer than a few seconds ---------------------------------

    def symbol_access(self, token_hash: str, symbol: str) -> str:
        return self._key("access", "symbol", token_hash, symbol)

    def run_access(self, token_hash: str, run_id: str) -> str:
        return self._key("access", "run", token_hash, run_id)

    # Rate limiting (api) -----------------------------------------------------------------------------------

    def rate_limit(self, subject: str, window_index: int) -> str:
        """Request counter of one subject (token hash or client address) in one window. The subject is the
        key's hash tag, so that one subject's adjacent windows, read together by one script, share a Redis
        Cluster slot."""
        return f"{self.prefix}:ratelimit:{{{_part(subject)}}}:{window_index}"

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

    def reader_wake_tagged(self, reader_id: str, tag: str) -> str:
        """The wake-up stream of one reader's share of a Redis Cluster: ``tag`` is the hash tag of the streams it
        reads (one blocking read may only name keys of one slot), taken verbatim from a key built here."""
        return f"{self.reader_wake(reader_id)}:{{{tag}}}"

    # Prewarm worker (arq) ---------------------------------------------------------------------------------
    # arq keeps each job under its own fixed prefixes (arq:job:<id>, arq:result:<id>, arq:in-progress:<id>,
    # arq:retry:<id>); the ids and the queue carry this prefix, so deployments sharing a Redis stay apart.

    def prewarm_queue(self) -> str:
        """The worker's arq queue (a sorted set of job ids); its health-check key is this name + ``:health-check``."""
        return f"{self.prefix}:prewarm:queue"

    def prewarm_job(self, cache_key: str) -> str:
        """Id of the job that warms the cache entry ``cache_key``: asking twice for one entry queues one job."""
        return f"{self.prefix}:prewarm:{cache_key}"

    def drop_stale_charts_job(self, versions_digest: str) -> str:
        """Id of the job that removes chart entries older than the data versions with this digest."""
        return self._key("prewarm", "drop-stale", versions_digest)

    def discovery_cron(self) -> str:
        """Name of the worker's discovery cron job; arq makes each run's job id from it and the run's time."""
        return self._key("prewarm", "discover")

    def job_pattern(self) -> str:
        """Glob matching arq's keys of this key space's jobs (for maintenance and tests)."""
        return f"arq:*:{self.prefix}:*"

    def pattern(self) -> str:
        """Glob matching every key of this key space (for maintenance and tests)."""
        return f"{self.prefix}:*"

    # Operations (api) -------------------------------------------------------------------------------------

    def ops_nodes(self) -> str:
        """Hash: api node id -> that node's latest operations window and short history (JSON)."""
        return self._key("ops", "nodes")

    def audit_stream(self) -> str:
        """Capped stream of audit events (state-changing calls through the api), newest last."""
        return self._key("audit")


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
