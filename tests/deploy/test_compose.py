"""docker-compose.yml as Compose reads it (``docker-compose config``): it refuses to start without its secrets, and
what it starts is safe by default. Its Redis command runs here against the installed redis-server, and a role
reaches that Redis with the password from its secret file, as the containers do."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import redis
import yaml

from bench.processes import ROOT, free_ports, role_environment, wait_until
from common.settings import HewstonSettings

pytestmark = pytest.mark.skipif(shutil.which("docker-compose") is None,
                                reason="needs docker-compose (make test installs it with the test packages)")

PASSWORD = "redis-password_0123456789"


def compose_config(tmp_path: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    env = role_environment(variables)
    for name in ("HEWSTON_SERVICE_TOKEN_FILE", "HEWSTON_REDIS_PASSWORD_FILE", "HEWSTON_GRAFANA_ADMIN_PASSWORD_FILE",
                 "HEWSTON_PROXY_ADDRESS"):
        if name not in variables:
            env.pop(name, None)
    return subprocess.run(["docker-compose", "--project-directory", str(ROOT), "-f", str(ROOT / "docker-compose.yml"),
                           "config"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)


@pytest.fixture
def secret_files(tmp_path) -> dict[str, str]:
    (tmp_path / "service_token").write_text("hw_compose_service_token_0123456789\n")
    (tmp_path / "redis_password").write_text(PASSWORD + "\n")
    (tmp_path / "grafana_admin_password").write_text("grafana-admin-password\n")
    return {"HEWSTON_SERVICE_TOKEN_FILE": str(tmp_path / "service_token"),
            "HEWSTON_REDIS_PASSWORD_FILE": str(tmp_path / "redis_password"),
            "HEWSTON_GRAFANA_ADMIN_PASSWORD_FILE": str(tmp_path / "grafana_admin_password")}


@pytest.fixture
def config(tmp_path, secret_files) -> dict:
    done = compose_config(tmp_path, **secret_files)
    assert done.returncode == 0, done.stderr
    return yaml.safe_load(done.stdout)


@pytest.mark.parametrize("missing", ["HEWSTON_SERVICE_TOKEN_FILE", "HEWSTON_REDIS_PASSWORD_FILE",
                                     "HEWSTON_GRAFANA_ADMIN_PASSWORD_FILE"])
def test_compose_refuses_to_start_without_each_secret(tmp_path, secret_files, missing):
    given = {name: value for name, value in secret_files.items() if name != missing}
    done = compose_config(tmp_path, **given)
    assert done.returncode != 0 and f"set {missing} to a file" in done.stderr, done.stderr


def test_every_image_is_pinned_to_an_exact_version(config):
    images = {name: service["image"] for name, service in config["services"].items()}
    for name, image in images.items():
        assert re.search(r":v?\d+\.\d+\.\d+(-[a-z0-9.-]+)?$", image), f"{name}: {image}"
    dockerfile = (ROOT / "Dockerfile").read_text()
    for base in re.findall(r"^FROM (\S+)", dockerfile, re.M):
        assert re.search(r":\d+\.\d+\.\d+-", base), base


def test_every_service_has_a_healthcheck_and_waits_for_what_it_needs(config):
    services = config["services"]
    assert all("healthcheck" in service for service in services.values()), sorted(services)
    assert "8002/metrics" in " ".join(services["relay"]["healthcheck"]["test"])
    assert "9101/metrics" in " ".join(services["worker"]["healthcheck"]["test"])
    for role in ("api", "relay", "worker"):
        assert services[role]["depends_on"]["redis"]["condition"] == "service_healthy"


def published_at(port: str | dict) -> tuple[str, int]:
    """(address, port) of a published port, in the short form (Compose v1) or the long one (v2)."""
    if isinstance(port, dict):
        return port.get("host_ip", "0.0.0.0"), int(port["published"])
    address, _, rest = port.rpartition(":")[0].rpartition(":")
    return (address or "0.0.0.0"), int(rest)


def test_only_the_proxy_is_published_and_on_loopback_unless_told(config, tmp_path, secret_files):
    published = {name: service.get("ports") for name, service in config["services"].items() if service.get("ports")}
    # The operator's monitoring (Prometheus, Grafana) is published too, on loopback only, always.
    assert sorted(published) == ["grafana", "prometheus", "proxy"]
    assert [published_at(port) for port in published["proxy"]] == [("127.0.0.1", 8001)]
    assert [published_at(port)[0] for name in ("grafana", "prometheus") for port in published[name]] == \
        ["127.0.0.1", "127.0.0.1"]
    everywhere = compose_config(tmp_path, **secret_files, HEWSTON_PROXY_ADDRESS="0.0.0.0")
    assert published_at(yaml.safe_load(everywhere.stdout)["services"]["proxy"]["ports"][0]) == ("0.0.0.0", 8001)


def test_no_fixed_addresses_and_no_secret_in_the_environment(config):
    assert "ipam" not in str(config.get("networks")), config.get("networks")
    for name, service in config["services"].items():
        assert "ipv4_address" not in str(service.get("networks")), name
        environment = service.get("environment") or {}
        # A variable naming a secret's file (Grafana's `…__FILE`) is not a secret in the environment.
        secrets_in_environment = [key for key, value in environment.items() if re.search(r"TOKEN|PASSWORD", key)
                                  and not (key.endswith("__FILE") and str(value).startswith("/run/secrets/"))]
        assert not secrets_in_environment, (name, environment)
        assert ":" not in environment.get("REDIS_URL", "redis://u@h")[len("redis://"):].split("@")[0], name
    for role in ("backend", "api", "relay", "worker"):
        sources = {secret["source"] for secret in config["services"][role]["secrets"]}
        assert sources == {"hewston_service_token", "hewston_redis_password"}, role
    api = config["services"]["api"]["environment"]
    assert api["HEWSTON_API_PUBLIC_BACKEND_URL"] == "/direct"  # on the proxy, never the backend's internal URL


def test_the_stop_grace_period_outlasts_the_roles_shutdown_deadline(config):
    from common.serving import EXIT_DEADLINE_S

    for role in ("backend", "api", "relay", "worker"):
        period = config["services"][role]["stop_grace_period"]
        assert int(period.rstrip("s")) > EXIT_DEADLINE_S, (role, period)


def redis_script(config: dict, secrets_dir: Path, workdir: Path, port: int) -> str:
    """The redis service's start-up script with this machine's paths: its secret, its ACL file and data under
    ``workdir``, the installed redis-server in place of the image's entry point, on 127.0.0.1:``port``."""
    service = config["services"]["redis"]
    script = service["command"][0].replace("$$", "$")
    script = script.replace("/run/secrets/", f"{secrets_dir}/").replace("/tmp/users.acl", f"{workdir}/users.acl")
    script = re.sub(r"^chown .*$", "", script, flags=re.M)
    script = script.replace("exec docker-entrypoint.sh redis-server",
                            f"exec redis-server --port {port} --bind 127.0.0.1 --dir {workdir}")
    return script


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
def test_the_redis_service_needs_the_password_persists_and_never_evicts(config, tmp_path, monkeypatch):
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir()
    (secrets_dir / "hewston_redis_password").write_text(PASSWORD + "\n")
    workdir = tmp_path / "redis"
    workdir.mkdir()
    port = free_ports(1)[0]
    env = {"HEWSTON_REDIS_MAXMEMORY": config["services"]["redis"]["environment"]["HEWSTON_REDIS_MAXMEMORY"]}
    server = subprocess.Popen(["/bin/sh", "-c", redis_script(config, secrets_dir, workdir, port)],
                              env=role_environment(env), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        client = redis.Redis(host="127.0.0.1", port=port, username="hewston", password=PASSWORD, socket_timeout=2)
        wait_until(lambda: _pings(client), 15, "the redis service did not answer")
        assert client.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
        assert client.config_get("appendonly") == {"appendonly": "yes"}
        assert int(client.config_get("maxmemory")["maxmemory"]) == 1024 ** 3
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(host="127.0.0.1", port=port, socket_timeout=2).ping()  # the default user is off
        # A role: REDIS_URL names the user, the password comes from its secret file.
        monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(secrets_dir))
        monkeypatch.setenv("REDIS_URL", f"redis://hewston@127.0.0.1:{port}/0")
        settings = HewstonSettings(_env_file=None)
        assert PASSWORD not in repr(settings)
        with redis.Redis.from_url(settings.redis_url, socket_timeout=2) as role_client:
            assert role_client.ping()
    finally:
        server.terminate()
        server.wait(10)


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
