"""``hewston worker`` and ``arq workers.settings.WorkerSettings``: what they need, and a burst run of each."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import redis

import workers.settings
from common.keys import KeySpace
from hewston.cli import build_parser, main
from tests.conftest import SERVICE_TOKEN

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def environment(monkeypatch, tmp_path):
    """A clean environment (no .env file, no Redis, no token) for the settings the entry points read."""
    monkeypatch.chdir(tmp_path)
    for name in ("REDIS_URL", "HEWSTON_REDIS_URL", "HEWSTON_SERVICE_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_without_redis_url_the_worker_refuses_to_start(environment):
    environment.setenv("HEWSTON_SERVICE_TOKEN", SERVICE_TOKEN)
    with pytest.raises(SystemExit) as refused:
        main(["worker"])
    assert "needs REDIS_URL" in str(refused.value.code) and "hewston up" in str(refused.value.code)
    with pytest.raises(SystemExit) as refused_by_arq:
        _ = workers.settings.WorkerSettings
    assert refused_by_arq.value.code == refused.value.code


def test_without_a_service_token_the_worker_refuses_to_start(environment):
    environment.setenv("REDIS_URL", "redis://127.0.0.1:6399/0")
    with pytest.raises(SystemExit) as refused:
        main(["worker", "--burst"])
    assert "HEWSTON_SERVICE_TOKEN" in str(refused.value.code)


def test_arq_reads_its_settings_when_it_asks_for_them(environment):
    environment.setenv("REDIS_URL", "redis://127.0.0.1:6399/2")
    environment.setenv("HEWSTON_SERVICE_TOKEN", SERVICE_TOKEN)
    environment.setenv("HEWSTON_API_REDIS_KEY_PREFIX", "hwx")
    environment.setenv("HEWSTON_WORKER_MAX_JOBS", "3")
    options = workers.settings.WorkerSettings
    assert (options["redis_settings"].port, options["redis_settings"].database) == (6399, 2)
    assert options["queue_name"] == "hwx:prewarm:queue" and options["max_jobs"] == 3
    # On SIGTERM running jobs may finish this long; the rest go back to the queue.
    assert options["job_completion_wait"] == 10
    assert [f.name for f in options["functions"]] == ["warm_chart", "warm_run", "drop_stale_charts"]
    assert [c.name for c in options["cron_jobs"]] == ["hwx:prewarm:discover"]
    assert options["ctx"]["config"].service_token == SERVICE_TOKEN
    with pytest.raises(AttributeError):
        _ = workers.settings.Nothing


def test_hewston_up_can_leave_the_worker_out():
    assert build_parser().parse_args(["up"]).worker is True
    assert build_parser().parse_args(["up", "--no-worker"]).worker is False


@pytest.mark.redis
@pytest.mark.parametrize("command", [[sys.executable, "-m", "arq", "workers.settings.WorkerSettings", "--burst"],
                                     [sys.executable, "-m", "hewston.cli", "worker", "--burst"]],
                         ids=["arq", "hewston"])
def test_a_burst_run_warms_the_default_views(shared_backend, completed_run, real_redis_url, prefixes, command):
    prefix = f"hwtest-{uuid.uuid4().hex[:8]}"
    prefixes.append(prefix)
    env = {"PATH": "/usr/bin:/bin", "REDIS_URL": real_redis_url, "HEWSTON_SERVICE_TOKEN": SERVICE_TOKEN,
           "HEWSTON_WORKER_BACKEND_URL": shared_backend.http_url, "HEWSTON_API_REDIS_KEY_PREFIX": prefix,
           "HEWSTON_WORKER_METRICS_PORT": "0", "HEWSTON_LOG_LEVEL": "WARNING"}
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    client = redis.Redis.from_url(real_redis_url)
    try:
        # Three default views and the run's chart.
        assert len(list(client.scan_iter(KeySpace(prefix).chart_data_pattern()))) == 4
    finally:
        client.close()
