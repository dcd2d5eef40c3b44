"""The multi-process stream tests again, on Redis Sentinel: every role its own process with
``REDIS_URL=redis+sentinel://…`` (a primary, a replica, three sentinels), and a failover while viewers watch."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from bench.cluster import Cluster
from tests.system.conftest import SETTINGS
from tests.system.test_faults import (  # noqa: F401 - collected again here, on Sentinel
    closed,
    test_the_relay_holding_a_run_stops_and_playback_continues_without_gap_or_duplicate,
    test_viewers_of_a_killed_api_node_resume_on_the_other_by_offset,
    test_viewers_on_both_api_nodes_see_identical_sequences_from_one_upstream,
    watched_run,
)

pytestmark = [pytest.mark.system, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[Cluster]:
    with Cluster(tmp_path_factory.mktemp("on-sentinel"), settings=SETTINGS, redis_sentinel=True) as deployment:
        yield deployment


async def test_a_sentinel_failover_while_viewers_watch_and_playback_goes_on(cluster):
    group = cluster.sentinel_group
    assert group is not None
    _run_id, a, b = await watched_run(cluster)
    try:
        old = group.primary
        old.stop()  # SIGKILL: the sentinels promote the replica after 1 s down plus an election
        for viewer in (a, b):
            await viewer.until_cursor(viewer.continuity.cursor + 600, timeout_s=60)
        assert group.primary is not old
    finally:
        await closed(a, b)
        await asyncio.sleep(0)
    for viewer in (a, b):
        # Replication is asynchronous: the promoted replica may have missed the last appends (then a reset into a
        # new epoch), or had everything (then nothing at all): never a gap, a repeat or silence.
        assert viewer.continuity.resets[0] == "connect"
        assert set(viewer.continuity.resets[1:]) <= {"history_lost"}
