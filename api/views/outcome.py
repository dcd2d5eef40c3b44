"""How a cached view was obtained: the cache's, single flight's and the routes' one vocabulary."""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    """How a cached view was obtained; the value is what ``X-Cache``, the metrics and the logs say."""

    HIT = "hit"  # found in the cache
    MISS = "miss"  # computed here and stored
    WAIT_HIT = "wait_hit"  # computed by another caller or node while this one waited
    BYPASS = "bypass"  # Redis unavailable: computed here, not stored
    NOT_CACHED = "not_cached"  # nothing immutable to cache yet (a run that has not completed)

    @property
    def from_cache(self) -> bool:
        """Served from bytes someone else computed (this node's cache, or another caller's computation)."""
        return self in (Outcome.HIT, Outcome.WAIT_HIT)
