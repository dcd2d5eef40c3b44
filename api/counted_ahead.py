"""Requests counted ahead: a node's lease on a few of a client's next requests, so that most of them are not
counted one by one in the rate limit's round trip to Redis.

A request that needs nothing else from Redis before it is served (a passthrough call: no cache entry to read
ahead) would wait for Redis only to be counted, a second network hop before the backend's; a cache hit would
run the counting scripts beside the reads it needs anyway. So when a count finds a subject (an address or a
credential) far from its limit, the same Lua call counts ``reserve`` more requests for it at once, and this
node keeps them as a lease for the current window. The subject's next requests on this node spend the lease:
a passthrough call makes no round trip at all, and a cache hit's round trip carries only its reads.

Every request is still counted in Redis before it is served, so no client gets more than its limit, on one node
or on many, and a refused client never reaches the backend. What it costs: requests counted ahead and never made
still count (at most ``reserve`` per subject, node and window). A lease is only taken while the subject has used
at most half its budget, counting the lease, so a client that keeps within half its limit is never refused
because of it, and small limits (under ``2 × (reserve + 1)``) never get one.
"""

from __future__ import annotations


class CountedAhead:
    """The leases of one node, by subject; bounded to ``max_subjects`` (the oldest lease goes first)."""

    def __init__(self, reserve: int, max_subjects: int = 8192) -> None:
        self.reserve = reserve
        self.max_subjects = max_subjects
        self._leases: dict[str, tuple[int, int]] = {}  # subject -> (window, requests left)

    def take(self, subjects: list[str], window: int) -> bool:
        """Spend one request of each subject's lease if every one has a lease in this window; otherwise spend
        nothing and say False (the request is counted in Redis as usual)."""
        leases = self._leases
        for subject in subjects:
            lease = leases.get(subject)
            if lease is None or lease[0] != window:
                return False
        for subject in subjects:
            lease_window, left = leases[subject]
            if left > 1:
                leases[subject] = (lease_window, left - 1)
            else:
                del leases[subject]
        return True

    def grant(self, subject: str, window: int, requests: int) -> None:
        """Requests counted ahead for ``subject`` in ``window`` (replacing an older lease)."""
        if requests <= 0:
            return
        self._leases.pop(subject, None)
        self._leases[subject] = (window, requests)
        while len(self._leases) > self.max_subjects:
            del self._leases[next(iter(self._leases))]

    def __len__(self) -> int:
        return len(self._leases)
