"""The api, the relay and the worker refuse to start on a Redis that may evict the playback streams' keys."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from bench.processes import RedisServer
from common.logging import configure_logging
from common.redis_eviction import _least_safe, eviction_refusal
from hewston.cli import main
from tests.support.logs import captured_logs


@pytest.fixture(scope="module")
def evicting_redis(tmp_path_factory) -> Iterator[str]:
    if not RedisServer.installed():
        pytest.skip("needs redis-server")
    with RedisServer(tmp_path_factory.mktemp("lru"), args=("--maxmemory", "64mb",
                                                           "--maxmemory-policy", "allkeys-lru")) as server:
        yield server.url


@pytest.mark.parametrize("command", [["api"], ["relay", "--metrics-port", "0"], ["worker", "--metrics-port", "0"],
                                     ["up", "--port", "0", "--api-port", "0"]])
def test_a_redis_with_allkeys_lru_is_refused_at_start_up_in_one_line(command, evicting_redis, monkeypatch, capsys):
    monkeypatch.setenv("REDIS_URL", evicting_redis)
    monkeypatch.setenv("HEWSTON_SERVICE_TOKEN", "hw_test_service_token_0123456789")
    assert main(command) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: Redis's maxmemory-policy is allkeys-lru")
    assert "noeviction" in err and "HEWSTON_REDIS_EVICTION_ACCEPTED" in err and command[0] in err


def test_an_accepted_or_safe_policy_starts(evicting_redis, real_redis_url):
    assert eviction_refusal("relay", evicting_redis, accepted=True) is None
    assert eviction_refusal("relay", real_redis_url, accepted=False) is None  # a default Redis: noeviction
    assert eviction_refusal("relay", None, accepted=False) is None  # the embedded broker never evicts


def test_a_redis_that_does_not_allow_config_is_warned_about_once(evicting_redis):
    admin = redis.Redis.from_url(evicting_redis)
    admin.acl_setuser("limited", enabled=True, passwords=["+secret-pw"], keys=["~*"], channels=["&*"],
                      commands=["+@all", "-config"])
    limited = evicting_redis.replace("redis://", "redis://limited:secret-pw@", 1)
    configure_logging(json_logs=True, level="INFO")
    try:
        with captured_logs() as lines:
            assert eviction_refusal("api", limited, accepted=False) is None
        warnings = [line for line in lines if "redis_eviction_policy_unknown" in line]
        assert len(warnings) == 1 and "secret-pw" not in "".join(lines)
    finally:
        admin.acl_deluser("limited")
        admin.close()


def test_a_cluster_with_one_evicting_primary_is_named_by_that_policy():
    answers = {"10.0.0.1:6379": {"maxmemory-policy": "noeviction"},
               "10.0.0.2:6379": {"maxmemory-policy": "allkeys-lfu"}}
    assert _least_safe(answers) == "allkeys-lfu"
    assert _least_safe({"10.0.0.1:6379": {"maxmemory-policy": "noeviction"}}) == "noeviction"
