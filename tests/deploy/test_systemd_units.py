"""The systemd units of deploy/systemd: systemd's own checker accepts them (when systemd-analyze is installed), and
what they promise matches the roles: SIGTERM as the graceful stop, a stop timeout above the roles' own shutdown
deadline, restarts except after a bad setting (exit 2), readiness through the roles' health endpoints, secrets as
credentials only."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from bench.processes import ROOT
from common.serving import EXIT_DEADLINE_S
from workers.settings import WorkerConfig

UNITS = ROOT / "deploy" / "systemd"
INSTALLED_COMMAND = "/opt/hewston/venv/bin/hewston"
ROLES = {"hewston-backend.service": "/health", "hewston-api@.service": "/health",
         "hewston-relay@.service": "/metrics", "hewston-worker@.service": "/metrics"}


def directives(path: Path) -> dict[str, dict[str, list[str]]]:
    """section -> key -> every value given (a key such as LoadCredential= may repeat)."""
    sections: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    section = ""
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        sections[section][key].append(value)
    return sections


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze (systemd)")
def test_systemd_accepts_every_unit(tmp_path):
    """Checked as installed, with this checkout's command in place of the installed one (which must exist)."""
    names = []
    for unit in UNITS.iterdir():
        if unit.suffix not in (".service", ".target"):
            continue
        text = unit.read_text().replace(INSTALLED_COMMAND, str(Path(sys.executable).parent / "hewston"))
        name = unit.name.replace("@.", "@8001.")  # an instance of each template
        (tmp_path / name).write_text(text)
        names.append(str(tmp_path / name))
    assert len(names) == 5
    checked = subprocess.run(["systemd-analyze", "verify", "--man=no", *names], capture_output=True, text=True,
                             timeout=60)
    assert checked.returncode == 0 and checked.stdout + checked.stderr == "", checked.stdout + checked.stderr


@pytest.mark.parametrize(("unit", "health"), ROLES.items())
def test_each_role_stops_gracefully_restarts_and_is_ready_by_its_health_endpoint(unit, health):
    service = directives(UNITS / unit)["Service"]
    assert service["KillSignal"] == ["SIGTERM"] and service["KillMode"] == ["mixed"]
    stop_s = int(service["TimeoutStopSec"][0])
    assert stop_s > EXIT_DEADLINE_S
    assert stop_s > WorkerConfig(_env_file=None).exit_deadline_s
    assert service["Restart"] == ["always"] and service["RestartPreventExitStatus"] == ["2"]
    assert service["ExecStart"][0].startswith(f"{INSTALLED_COMMAND} ")
    (probe,) = service["ExecStartPost"]
    assert f"{INSTALLED_COMMAND} probe " in probe and health in probe and "--wait-s" in probe
    # Secrets arrive as credentials ($CREDENTIALS_DIRECTORY), read by the roles' settings; never in a variable.
    assert all(value.startswith(("hewston_service_token:", "hewston_redis_password:"))
               for value in service.get("LoadCredential", []))
    assert not any("TOKEN" in value or "PASSWORD" in value for value in service.get("Environment", []))
    assert directives(UNITS / unit)["Unit"]["PartOf"] == ["hewston.target"]


def test_the_role_command_in_each_unit_is_one_the_command_line_knows():
    from hewston.cli import build_parser

    commands = set(build_parser()._subparsers._group_actions[0].choices)  # noqa: SLF001 - argparse's own table
    for unit in ROLES:
        command = directives(UNITS / unit)["Service"]["ExecStart"][0].split()[1]
        assert command in commands, (unit, command)
