"""A bad setting, from an option or the environment, stops every role's command before anything starts: exit code
2 and one line naming the variable (and the option, if one sets it) and the reason, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bench.processes import role_environment
from hewston.cli import main

ROLES = ["api", "relay", "worker", "backend", "up"]

# (environment, roles that read it, what the line must name, words of the reason)
BAD_ENVIRONMENT = [
    ({"REDIS_URL": "foo://bar"}, ROLES, "REDIS_URL", "scheme foo:// is not one of redis://"),
    ({"REDIS_URL": "redis://127.0.0.1:notaport/0"}, ROLES, "REDIS_URL", "port 'notaport' is not a number"),
    ({"REDIS_URL": "redis://127.0.0.1:99999/0"}, ROLES, "REDIS_URL", "port 99999 is not between 1 and 65535"),
    ({"REDIS_URL": "redis://127.0.0.1:6379/zero"}, ROLES, "REDIS_URL", "database 'zero' is not a number"),
    ({"REDIS_URL": "redis+sentinel://s1:26379,s2:x/mymaster/0"}, ROLES, "REDIS_URL", "port 'x' is not a number"),
    ({"HEWSTON_LOG_LEVEL": "LOUD"}, ROLES, "HEWSTON_LOG_LEVEL", "'DEBUG', 'INFO', 'WARNING', 'ERROR' or 'CRITICAL'"),
    ({"HEWSTON_ENVIRONMENT": "prod"}, ROLES, "HEWSTON_ENVIRONMENT", "'local' or 'production'"),
    ({"HEWSTON_LOG_JSON": "maybe"}, ROLES, "HEWSTON_LOG_JSON", "valid boolean"),
    ({"HEWSTON_PORT": "70000"}, ROLES, "HEWSTON_PORT", "less than or equal to 65535"),
    ({"HEWSTON_BACKEND_URL": "ftp://backend"}, ["api", "relay", "worker", "up"], "HEWSTON_BACKEND_URL",
     "scheme ftp:// is not http:// or https://"),
    ({"HEWSTON_BACKEND_URL": "http://backend:port"}, ["api", "relay", "worker", "up"], "HEWSTON_BACKEND_URL",
     "port 'port' is not a number"),
    ({"HEWSTON_BACKEND_CA_FILE": "/nonexistent/ca.pem"}, ["api", "relay", "worker", "up"],
     "HEWSTON_BACKEND_CA_FILE", "no such file (got '/nonexistent/ca.pem')"),
    ({"HEWSTON_API_BACKEND_CA_FILE": "missing.pem"}, ["api", "worker", "up"], "HEWSTON_API_BACKEND_CA_FILE",
     "no such file"),
    ({"HEWSTON_RELAY_BACKEND_CA_FILE": "missing.pem"}, ["relay"], "HEWSTON_RELAY_BACKEND_CA_FILE", "no such file"),
    ({"HEWSTON_WORKER_BACKEND_CA_FILE": "."}, ["worker"], "HEWSTON_WORKER_BACKEND_CA_FILE",
     "is a directory, not a PEM file"),
    ({"HEWSTON_API_PORT": "abc"}, ["api", "up"], "HEWSTON_API_PORT", "valid integer"),
    ({"HEWSTON_API_PUBLIC_BACKEND_URL": "backend:8000"}, ["api", "worker", "up"], "HEWSTON_API_PUBLIC_BACKEND_URL",
     "is not http:// or https://"),
    ({"HEWSTON_API_TRUSTED_PROXIES": '["proxy"]'}, ["api", "worker", "up"], "HEWSTON_API_TRUSTED_PROXIES",
     "'proxy' is not an IP address or network"),
    ({"HEWSTON_API_CORS_ORIGINS": "https://example.com"}, ["api", "worker", "up"], "HEWSTON_API_CORS_ORIGINS",
     "not valid JSON"),
    ({"HEWSTON_RELAY_METRICS_PORT": "65536"}, ["relay"], "HEWSTON_RELAY_METRICS_PORT", "65535"),
    ({"HEWSTON_WORKER_METRICS_PORT": "-1"}, ["worker"], "HEWSTON_WORKER_METRICS_PORT", "greater than or equal to 0"),
    ({"HEWSTON_WORKER_DISCOVER_EVERY_S": "7"}, ["worker"], "HEWSTON_WORKER_DISCOVER_EVERY_S", "must divide a minute"),
    ({"HEWSTON_API_RATE_LIMIT_REQUESTS": "0"}, ["api", "worker", "up"], "HEWSTON_API_RATE_LIMIT_REQUESTS",
     "greater than 0"),
    ({"HEWSTON_BAR_CACHE_MB": "-1"}, ["backend", "up"], "HEWSTON_BAR_CACHE_MB", "greater than or equal to 0"),
    ({"HEWSTON_DATA_DIR": "/proc/hewston-data"}, ["backend", "up"], "HEWSTON_DATA_DIR", "cannot be created"),
]

BAD_OPTIONS = [
    (["api", "--port", "99999"], "HEWSTON_API_PORT (or --port)", "less than or equal to 65535"),
    (["backend", "--port", "-5"], "HEWSTON_PORT (or --port)", "greater than or equal to 0"),
    (["up", "--port", "70000"], "HEWSTON_PORT (or --port)", "less than or equal to 65535"),
    (["up", "--api-port", "70000"], "HEWSTON_API_PORT (or --api-port)", "less than or equal to 65535"),
    (["relay", "--metrics-port", "70000"], "HEWSTON_RELAY_METRICS_PORT (or --metrics-port)", "65535"),
    (["worker", "--metrics-port", "70000"], "HEWSTON_WORKER_METRICS_PORT (or --metrics-port)",
     "less than or equal to 65535 (got 70000)"),
]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    """Only the test's own settings: none from the caller's environment or a .env file."""
    for name in list(os.environ):
        if name.startswith("HEWSTON_") or name == "REDIS_URL":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


@pytest.mark.timeout(30)
@pytest.mark.parametrize(("role", "env", "setting", "reason"), [
    pytest.param(role, env, setting, reason, id=f"{role}-{next(iter(env))}={next(iter(env.values()))}")
    for env, roles, setting, reason in BAD_ENVIRONMENT for role in roles])
def test_a_bad_environment_value_stops_the_role_with_one_line(role, env, setting, reason, monkeypatch, capsys):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main([role]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert setting in line and reason in line, line


@pytest.mark.timeout(30)
@pytest.mark.parametrize(("argv", "setting", "reason"), BAD_OPTIONS, ids=[" ".join(case[0]) for case in BAD_OPTIONS])
def test_a_bad_option_names_its_variable_and_the_option(argv, setting, reason, capsys):
    assert main(argv) == 2
    line = one_error_line(capsys.readouterr().err)
    assert line.startswith(f"error: {setting}: ") and reason in line, line


@pytest.mark.parametrize("role", ["api", "relay", "worker", "up"])
def test_a_ca_file_without_a_pem_certificate_stops_the_role(role, tmp_path, monkeypatch, capsys):
    not_pem = tmp_path / "ca.pem"
    not_pem.write_text("a certificate was meant to be here\n")
    monkeypatch.setenv("HEWSTON_BACKEND_CA_FILE", str(not_pem))
    assert main([role]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert line.startswith("error: ") and "HEWSTON_BACKEND_CA_FILE: holds no PEM certificate" in line, line


def test_a_password_in_a_bad_redis_url_is_not_repeated(monkeypatch, capsys):
    monkeypatch.setenv("REDIS_URL", "redis://hewston:s3cret-pass@redis:99999/0")
    assert main(["api"]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "s3cret-pass" not in line and "redis://hewston:***@redis:99999/0" in line


@pytest.mark.timeout(60)
@pytest.mark.parametrize("role", ROLES)
def test_the_installed_command_prints_only_that_line(role, tmp_path):
    """The process an operator starts: nothing but the line on its output, and exit code 2."""
    done = subprocess.run([sys.executable, "-m", "hewston.cli", role], cwd=tmp_path, capture_output=True, text=True,
                          env=role_environment({"REDIS_URL": "redis://127.0.0.1:notaport/0"}), timeout=50)
    assert done.returncode == 2 and done.stdout == "", done
    assert one_error_line(done.stderr) == ("error: REDIS_URL or HEWSTON_REDIS_URL: port 'notaport' is not a number "
                                           "(got 'redis://127.0.0.1:notaport/0')")
