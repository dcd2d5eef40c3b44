"""What happens to a job after each kind of outcome, the worker's settings, and stale-entry removal."""

from __future__ import annotations

import asyncio
import uuid
from types import SimpleNamespace

import fakeredis
import pytest
from arq.worker import Retry
from pydantic import ValidationError
from structlog.testing import capture_logs

from api.metrics import ApiMetrics
from api.settings import ApiSettings
from api.views.redis_guard import RedisGuard, RedisUnavailable
from api.views.run_results import RunNotCompleted
from api.views.upstream import BackendFailure, BackendRefused
from common.errors import ServiceUnavailable, UpstreamError
from common.keys import KeySpace
from workers import jobs
from workers.config import WorkerConfig, discovery_schedule
from workers.invalidation import drop_stale_chart_entries
from workers.metrics import WorkerMetrics
from workers.prewarm import Prewarmer
from workers.worker import worker_options


def _ctx(job_try: int = 1, **config) -> dict:
    settings = WorkerConfig(service_token="t", retry_delay_s=0.5, retry_delay_max_s=3, max_tries=4,
                            job_timeout_s=0.2, _env_file=None, **config)
    return {"prewarmer": SimpleNamespace(config=settings, metrics=WorkerMetrics()), "job_try": job_try,
            "job_id": "j"}


async def _outcome(ctx: dict, error: BaseException | None = None, delay_s: float = 0.0):
    async def work(_prewarmer) -> str:
        await asyncio.sleep(delay_s)
        if error is not None:
            raise error
        return "miss"

    with capture_logs() as logs:
        try:
            result = await jobs._run(ctx, "warm_chart", work)
        except (Retry, jobs.JobFailed) as exc:
            result = exc
    return result, logs, ctx["prewarmer"].metrics.totals


@pytest.mark.parametrize("error", [ServiceUnavailable("the backend cannot be reached"),
                                   BackendFailure("the backend failed with status 500"),
                                   RedisUnavailable("down"), ConnectionResetError()])
async def test_an_unavailable_dependency_is_retried_with_doubling_delays(error):
    result, logs, totals = await _outcome(_ctx(job_try=3), error)
    assert isinstance(result, Retry) and result.defer_score == 2000  # 0.5 s doubled twice
    assert logs[0]["event"] == "prewarm_job_retry" and logs[0]["retry_in_s"] == 2.0
    assert totals == {"retried": 1}


async def test_the_last_try_gives_up_and_a_slow_job_ends_at_its_deadline():
    result, logs, totals = await _outcome(_ctx(job_try=4), delay_s=5)
    assert isinstance(result, jobs.JobFailed) and "gave up after 4 tries" in str(result)
    assert logs[0]["event"] == "prewarm_job_gave_up"
    assert logs[0]["reason"] == "no answer before the job's deadline" and totals == {"failed": 1}


@pytest.mark.parametrize(("error", "reason"), [
    (BackendRefused(404, "not_found", "unknown symbol NOPE"), "BackendRefused: unknown symbol NOPE"),
    (UpstreamError("the backend sent bars in an unexpected shape"),
     "UpstreamError: the backend sent bars in an unexpected shape"),
    (RunNotCompleted(), "the backend has no results for this run"),
    (KeyError("time"), "KeyError: 'time'")])
async def test_bad_data_fails_at_once_and_says_why(error, reason):
    result, logs, totals = await _outcome(_ctx(job_try=1), error)
    assert isinstance(result, jobs.JobFailed) and str(result) == reason
    assert [(e["event"], e["reason"]) for e in logs] == [("prewarm_job_failed", reason)]
    assert totals == {"failed": 1}


async def test_a_job_that_succeeds_is_counted_and_logged():
    ctx = _ctx()
    result, logs, totals = await _outcome(ctx)
    assert result == "miss" and logs[0]["event"] == "prewarm_job_done" and totals == {"done": 1}
    assert 'hewston_worker_jobs_total{job="warm_chart",outcome="done"} 1.0' in \
        ctx["prewarmer"].metrics.render().decode()


def test_retry_delays_double_up_to_their_ceiling():
    config = WorkerConfig(retry_delay_s=1, retry_delay_max_s=10, _env_file=None)
    assert [config.retry_delay(n) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]


def test_discovery_runs_on_the_clock():
    assert discovery_schedule(15) == {"second": {0, 15, 30, 45}}
    assert discovery_schedule(300) == {"minute": set(range(0, 60, 5)), "second": 0}
    assert discovery_schedule(7) is None and discovery_schedule(90) is None
    with pytest.raises(ValidationError, match="discover_every_s"):
        WorkerConfig(discover_every_s=7, _env_file=None)


def test_the_service_token_is_the_backends_variable(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HEWSTON_SERVICE_TOKEN", "hw_from_env")
    config = WorkerConfig()
    assert config.service_token == "hw_from_env" and "hw_from_env" not in repr(config)


def test_options_keep_results_for_half_the_cache_lifetime():
    api = ApiSettings(chart_cache_ttl_s=600, run_cache_ttl_s=86400, redis_key_prefix="hwx", _env_file=None)
    options = worker_options(WorkerConfig(service_token="t", redis_url="redis://h:1/0", job_timeout_s=10,
                                          _env_file=None), api)
    assert options["keep_result"] == 300 and {f.keep_result_s for f in options["functions"]} == {300}
    assert {f.timeout_s for f in options["functions"]} == {15}  # arq's own deadline comes after the job's
    assert options["cron_jobs"][0].run_at_startup and options["cron_jobs"][0].max_tries == 1
    with pytest.raises(SystemExit, match="REDIS_URL"):
        worker_options(WorkerConfig(service_token="t", redis_url=None, _env_file=None), api)
    with pytest.raises(SystemExit, match="HEWSTON_SERVICE_TOKEN"):
        worker_options(WorkerConfig(service_token=None, redis_url="redis://h:1/0", _env_file=None), api)
    with pytest.raises(ValueError, match="service token"):
        Prewarmer(WorkerConfig(service_token=None, _env_file=None), api, fakeredis.FakeAsyncRedis(), WorkerMetrics())


async def test_only_entries_older_than_the_current_versions_are_removed():
    keys = KeySpace(f"hwtest-{uuid.uuid4().hex[:8]}")
    redis = fakeredis.FakeAsyncRedis()
    guard = RedisGuard(redis, op_timeout_s=1, retry_after_s=1, retry_after_max_s=1, metrics=ApiMetrics())
    entries = {keys.chart_data("ACME", "1D", 1, None, None, None): "old daily",
               keys.chart_data("ACME", "1M_DECIMATED", 1, 5, 6, 10): "old minutes",
               keys.chart_data("ACME", "1M", 2, 5, 6, None): "current minutes",
               keys.chart_data("ACME", "1D", 3, None, None, None): "newer than what was read: kept",
               keys.chart_data("GONE", "1D", 1, None, None, None): "unknown symbol: expires by itself",
               keys.run_complete("r", 2000, False): "not a chart"}
    for index in range(1500):  # more than one scan step
        entries[keys.chart_data("BULK", "1H", 1, index, None, None)] = "old"
    await redis.mset(entries)
    removed = await drop_stale_chart_entries(guard, keys, {("ACME", "day"): 2, ("ACME", "minute"): 2,
                                                           ("BULK", "hour"): 2})
    assert removed == 1502
    left = sorted((await redis.mget(*entries)), key=lambda v: v or b"")
    assert [v for v in left if v] == [b"current minutes", b"newer than what was read: kept", b"not a chart",
                                      b"unknown symbol: expires by itself"]
