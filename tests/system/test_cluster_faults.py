"""The multi-process stream tests again, on a Redis Cluster of three primaries: every role its own process with
``REDIS_URL=redis+cluster://…`` and the job queue on a Redis of its own. Two api nodes, two relays and a
worker, as in ``test_faults``, whose tests run here against this deployment (the ``cluster`` fixture below)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.cluster import Cluster
from tests.system.conftest import SETTINGS
from tests.system.test_faults import (  # noqa: F401 - collected again here, on the cluster
    test_the_relay_holding_a_run_stops_and_playback_continues_without_gap_or_duplicate,
    test_viewers_of_a_killed_api_node_resume_on_the_other_by_offset,
    test_viewers_on_both_api_nodes_see_identical_sequences_from_one_upstream,
)

pytestmark = [pytest.mark.system, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[Cluster]:
    with Cluster(tmp_path_factory.mktemp("on-redis-cluster"), settings=SETTINGS, redis_cluster=True) as deployment:
        yield deployment


def test_the_worker_runs_its_queue_on_a_redis_of_its_own(cluster):
    assert cluster.worker_node is not None and cluster.worker_node.running()
    assert "error" not in cluster.worker_node.log().lower()
    assert cluster.env["HEWSTON_QUEUE_REDIS_URL"] == cluster.redis.url
