"""The system test's deployment: redis-server, the backend, two api nodes, two relays and a worker, each its own
process on 127.0.0.1 started from the Procfile's commands (``bench.cluster``), shared by the module's tests in
order. Settings make faults visible quickly: a 3 s lease, small viewer queues, a 10 s rate-limit window.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.cluster import Cluster

LEASE_TTL_S = 3.0
RATE_LIMIT_WINDOW_S = 10
SETTINGS = {
    "HEWSTON_RELAY_LEASE_TTL_S": str(LEASE_TTL_S),
    "HEWSTON_RELAY_SCAN_INTERVAL_S": "0.2",
    # A run whose demand lapsed is let go 1 s later (not 5), so that each test starts with the last one's released.
    "HEWSTON_RELAY_DEMAND_GRACE_S": "1",
    "HEWSTON_RELAY_UPSTREAM_BACKOFF_S": "0.1",
    "HEWSTON_RELAY_UPSTREAM_BACKOFF_MAX_S": "1",
    "HEWSTON_API_STREAM_VIEWER_QUEUE_MESSAGES": "200",
    "HEWSTON_API_STREAM_VIEWER_QUEUE_MB": "1",
    "HEWSTON_API_RATE_LIMIT_REQUESTS": "150",
    "HEWSTON_API_RATE_LIMIT_ADDRESS_REQUESTS": "1000",
    "HEWSTON_API_RATE_LIMIT_WINDOW_S": str(RATE_LIMIT_WINDOW_S),
    "HEWSTON_WORKER_DISCOVER_EVERY_S": "10",
}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[Cluster]:
    with Cluster(tmp_path_factory.mktemp("cluster"), settings=SETTINGS) as deployment:
        yield deployment


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.failed_call = report.failed
    return report


@pytest.fixture(autouse=True)
def logs_of_a_failure(request) -> Iterator[None]:
    """When a test fails, the end of every role's log is printed with it."""
    yield
    deployment = request.node.funcargs.get("cluster")
    if getattr(request.node, "failed_call", False) and deployment is not None:
        for role in deployment.roles:
            print(f"--- {role.name} (running: {role.running()}) ---\n{role.log()[-3000:]}")
