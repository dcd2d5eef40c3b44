"""The node-wide bound on what an api node remembers of its runs' streams.

Each run's feed bounds its own window of recent messages (count and bytes); a node that follows many busy runs
could still hold their sum. After each read the hub checks the node's total against
``stream_node_memory_mb`` and, when over, trims the windows of the largest runs first — down towards the size
of the next largest, so one runaway run pays before quiet ones lose their resume window. Only what comes before
a run's pinned snapshot is ever trimmed: a newcomer needs the snapshot and every message after it, so those stay
even when they alone exceed the bound (the relay's periodic keyframes keep them short). A viewer resuming from
a point a trimmed window no longer holds gets the gap from Redis (``StreamHub._missing``), as when it resumes
on another node.
"""

from __future__ import annotations

from collections.abc import Iterable

from api.stream.feed import RunFeed


def bound_node_memory(feeds: Iterable[RunFeed], max_bytes: int) -> int:
    """Trim the feeds' recent windows, largest first, until together they hold at most ``max_bytes`` (or only
    what must stay is left); returns the bytes they hold afterwards."""
    feeds = list(feeds)
    total = sum(feed.memory_bytes for feed in feeds)
    while total > max_bytes:
        candidates = sorted((feed for feed in feeds if feed.trimmable), key=lambda f: f.memory_bytes, reverse=True)
        if not candidates:
            break
        largest = candidates[0]
        next_largest = candidates[1].memory_bytes if len(candidates) > 1 else 0
        # Down to the next largest, or just enough; always at least one message, so that ties make progress.
        target = min(max(next_largest, largest.memory_bytes - (total - max_bytes)), largest.memory_bytes - 1)
        total -= largest.trim_to(target)
    return total
