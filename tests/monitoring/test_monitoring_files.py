"""The monitoring that ships in the repository: Prometheus's configuration and alert rules (checked and unit
tested with promtool), the compose file's monitoring services, and Grafana's dashboards (a JSON schema, a
description on every panel, and only metrics that the roles really export)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import jsonschema_rs
import pytest
import yaml
from fastapi.testclient import TestClient
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from api.main import create_app as create_api
from api.settings import ApiSettings
from backend.main import create_app as create_backend
from backend.settings import BackendSettings
from relay.metrics import RelayMetrics
from workers.metrics import WorkerMetrics

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
DASHBOARDS = sorted((ROOT / "deploy" / "grafana" / "dashboards").glob("*.json"))
# Series Prometheus makes itself, not the roles.
PROMETHEUS_OWN = {"up"}

needs_promtool = pytest.mark.skipif(shutil.which("promtool") is None,
                                    reason="promtool is not installed (Debian: apt-get install prometheus)")


def promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["promtool", *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


@needs_promtool
def test_prometheus_configuration_and_rules_are_valid():
    checked = promtool("check", "config", str(PROMETHEUS / "prometheus.yml"))
    assert checked.returncode == 0, checked.stdout + checked.stderr


@needs_promtool
def test_alert_rules_pass_their_unit_tests():
    tested = promtool("test", "rules", str(PROMETHEUS / "tests" / "hewston_test.yml"))
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_every_alert_has_a_unit_test_and_a_runbook():
    rules = yaml.safe_load((PROMETHEUS / "rules" / "hewston.yml").read_text())
    alerts = [rule for group in rules["groups"] for rule in group["rules"]]
    tested = (PROMETHEUS / "tests" / "hewston_test.yml").read_text()
    runbooks = (ROOT / "docs" / "operations.md").read_text()
    for alert in alerts:
        assert f"alertname: {alert['alert']}" in tested, alert["alert"]
        anchor = alert["annotations"]["runbook"].split("#", 1)[1]
        assert re.search(rf"^#+ .*{anchor}", runbooks.lower(), re.M), f"no runbook heading for {anchor}"


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose is not installed")
def test_compose_file_validates_with_pinned_monitoring_services(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("compose-check-only\n")
    # Every variable the file insists on, whether a deployment passes its secrets as values or as files.
    env = {**os.environ, "HEWSTON_SERVICE_TOKEN_FILE": str(secret), "HEWSTON_REDIS_PASSWORD_FILE": str(secret),
           "HEWSTON_GRAFANA_ADMIN_PASSWORD_FILE": str(secret)}
    done = subprocess.run(["docker-compose", "-f", "docker-compose.yml", "config"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    services = yaml.safe_load(done.stdout)["services"]
    for name in ("prometheus", "grafana"):
        image = services[name]["image"]
        assert re.search(r":v?\d+\.\d+\.\d+$", image), f"{name} image is not pinned: {image}"
    mounts = " ".join(str(v) for v in services["prometheus"]["volumes"] + services["grafana"]["volumes"])
    assert "deploy/prometheus" in mounts and "deploy/grafana/provisioning" in mounts


# What Grafana needs of a provisioned dashboard, and what Hewston asks of every panel (a one-line description,
# the provisioned datasource, and queries).
DASHBOARD_SCHEMA = {
    "type": "object",
    "required": ["uid", "title", "schemaVersion", "panels", "time"],
    "properties": {
        "uid": {"type": "string", "pattern": "^[a-z0-9-]{1,40}$"},
        "title": {"type": "string", "minLength": 1},
        "schemaVersion": {"type": "integer", "minimum": 30},
        "time": {"type": "object", "required": ["from", "to"]},
        "panels": {"type": "array", "minItems": 1, "items": {
            "type": "object",
            "required": ["id", "type", "title", "description", "datasource", "gridPos", "targets"],
            "properties": {
                "id": {"type": "integer"},
                "type": {"enum": ["timeseries", "stat", "gauge", "table", "bargauge"]},
                "title": {"type": "string", "minLength": 1},
                "description": {"type": "string", "minLength": 10, "pattern": "^[^\\n]+$"},
                "datasource": {"type": "object", "required": ["type", "uid"],
                               "properties": {"type": {"const": "prometheus"}, "uid": {"const": "prometheus"}}},
                "gridPos": {"type": "object", "required": ["h", "w", "x", "y"]},
                "targets": {"type": "array", "minItems": 1, "items": {
                    "type": "object", "required": ["expr", "refId"],
                    "properties": {"expr": {"type": "string", "minLength": 1}}}},
            }}},
    },
}


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_dashboard_passes_the_schema(path):
    jsonschema_rs.validate(DASHBOARD_SCHEMA, json.loads(path.read_text()))


def test_one_dashboard_per_concern_and_the_datasource_they_use_is_provisioned():
    assert {p.stem for p in DASHBOARDS} == {"api-vs-direct", "cache", "streams", "processes"}
    datasources = yaml.safe_load((ROOT / "deploy/grafana/provisioning/datasources/prometheus.yml").read_text())
    assert [d["uid"] for d in datasources["datasources"]] == ["prometheus"]


_PROMQL_WORDS = {"sum", "by", "rate", "increase", "histogram_quantile", "label_replace", "on", "min", "max", "le",
                 "or", "and", "vector", "absent", "without", "ignoring", "count", "avg"}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (label matchers, strings and functions left out)."""
    bare = re.sub(r'"[^"]*"', '""', expr)
    bare = re.sub(r"\{[^}]*\}", "", bare)
    bare = re.sub(r"\[[^\]]*\]", "", bare)
    bare = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", bare)
    return {word for word in re.findall(r"\b[a-zA-Z_:][a-zA-Z0-9_:]*\b", bare)
            if word not in _PROMQL_WORDS and not re.fullmatch(r"\d.*", word)}


def exported(text: str) -> set[str]:
    """Every sample name a /metrics text can carry, families without samples yet included."""
    names = set()
    for family in text_string_to_metric_families(text):
        suffixes = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_count", "_sum", "_created"),
                    "info": ("_info",)}.get(family.type, ("",))
        names |= {family.name + suffix for suffix in suffixes}
    return names


@pytest.fixture(scope="module")
def roles_metrics(tmp_path_factory) -> set[str]:
    """The metric names of every role's /metrics: backend and api apps served in-process, a relay's and a
    worker's registry."""
    data = tmp_path_factory.mktemp("backend") / "data"
    names: set[str] = set()
    with TestClient(create_backend(BackendSettings(data_dir=data, redis_url=None, _env_file=None))) as backend:
        names |= exported(backend.get("/metrics").text)
    api = create_api(ApiSettings(backend_url="http://127.0.0.1:9", redis_url=None, _env_file=None))
    with TestClient(api) as client:
        names |= exported(client.get("/metrics").text)
    names |= exported(generate_latest(RelayMetrics().registry).decode())
    names |= exported(generate_latest(WorkerMetrics().registry).decode())
    return names


def dashboard_metrics() -> dict[str, set[str]]:
    used: dict[str, set[str]] = {}
    for path in DASHBOARDS:
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel["targets"]:
                for name in metric_names(target["expr"]):
                    used.setdefault(name, set()).add(f"{path.stem}: {panel['title']}")
    return used


def test_dashboards_and_alerts_read_only_metrics_the_roles_export(roles_metrics):
    used = dashboard_metrics()
    rules = yaml.safe_load((PROMETHEUS / "rules" / "hewston.yml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            for name in metric_names(rule["expr"]):
                used.setdefault(name, set()).add(f"alert {rule['alert']}")
    assert len(used) > 30
    missing = {name: sorted(where) for name, where in used.items()
               if name not in roles_metrics and name not in PROMETHEUS_OWN}
    assert not missing, missing


def test_metric_names_are_read_from_promql():
    expr = ('sum by (route) (rate(hewston_api_errors_total{route=~"/api/v1/.+"}[5m])) / on (route) '
            'histogram_quantile(0.99, sum by (le) (rate(process_cpu_seconds_total[1m]))) or vector(0)')
    assert metric_names(expr) == {"hewston_api_errors_total", "process_cpu_seconds_total"}
