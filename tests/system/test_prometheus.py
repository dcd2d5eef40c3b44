"""Prometheus against the multi-process deployment on loopback: every role's target is scraped up with the
shipped rules loaded, and stopping a relay fires the shipped ``HewstonRoleDown`` alert."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from bench.cluster import Cluster
from bench.processes import free_ports, wait_until

pytestmark = [pytest.mark.system, pytest.mark.timeout(240),
              pytest.mark.skipif(shutil.which("prometheus") is None,
                                 reason="prometheus is not installed (Debian: apt-get install prometheus)")]

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "rules" / "hewston.yml"


def prometheus_config(cluster: Cluster) -> dict:
    """The shipped rules, every role as a static loopback target (compose finds them by DNS instead)."""
    def job(name: str, roles) -> dict:
        return {"job_name": name, "static_configs": [{"targets": [role.url.removeprefix("http://")
                                                                  for role in roles]}]}
    return {"global": {"scrape_interval": "1s", "evaluation_interval": "1s", "scrape_timeout": "1s"},
            "rule_files": [str(RULES)],
            "scrape_configs": [job("backend", [cluster.backend]), job("api", cluster.api_nodes),
                               job("relay", cluster.relay_nodes), job("worker", [cluster.worker_node])]}


@pytest.fixture(scope="module")
def monitored(tmp_path_factory) -> Iterator[tuple[Cluster, str]]:
    workdir = tmp_path_factory.mktemp("monitored")
    with Cluster(workdir / "cluster", apis=1, relays=2) as cluster:
        config = workdir / "prometheus.yml"
        config.write_text(yaml.safe_dump(prometheus_config(cluster)))
        [port] = free_ports(1)
        log = (workdir / "prometheus.log").open("wb")
        proc = subprocess.Popen(["prometheus", f"--config.file={config}", f"--storage.tsdb.path={workdir / 'tsdb'}",
                                 f"--web.listen-address=127.0.0.1:{port}"], stdout=log, stderr=subprocess.STDOUT)
        try:
            yield cluster, f"http://127.0.0.1:{port}"
        finally:
            proc.terminate()
            proc.wait(timeout=20)
            log.close()


def query(url: str, path: str) -> dict:
    try:
        return httpx.get(url + path, timeout=5).json()["data"]
    except (httpx.HTTPError, KeyError, ValueError):
        return {}


def test_every_role_is_scraped_up_and_a_stopped_relay_fires_its_alert(monitored):
    cluster, url = monitored

    def health() -> dict[str, str]:
        return {t["labels"]["instance"]: t["health"] for t in query(url, "/api/v1/targets").get("activeTargets", [])}

    expected = {role.url.removeprefix("http://") for role in cluster.roles}
    wait_until(lambda: health() == dict.fromkeys(expected, "up"), 60, "every target scraped up")
    rules = query(url, "/api/v1/rules")["groups"][0]["rules"]
    assert {rule["name"] for rule in rules} >= {"HewstonRoleDown", "HewstonRunWithoutRelay", "HewstonRedisUnreachable"}
    assert all(rule["health"] == "ok" for rule in rules), [r for r in rules if r["health"] != "ok"]

    stopped = cluster.relay_nodes[0]
    stopped.terminate()
    instance = stopped.url.removeprefix("http://")

    def firing() -> list[dict]:
        return [a for a in query(url, "/api/v1/alerts").get("alerts", [])
                if a["labels"]["alertname"] == "HewstonRoleDown" and a["state"] == "firing"]

    wait_until(lambda: bool(firing()), 90, "HewstonRoleDown firing", interval_s=1)
    assert [(a["labels"]["job"], a["labels"]["instance"]) for a in firing()] == [("relay", instance)]
    # The other relay still answers: nothing else is down.
    assert health()[cluster.relay_nodes[1].url.removeprefix("http://")] == "up"
