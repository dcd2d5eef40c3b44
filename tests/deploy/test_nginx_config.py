"""The shipped proxy configuration (deploy/nginx.conf), exactly as docker-compose.yml mounts it, passes nginx's own
check with the nginx installed here (Debian 12's is 1.22, the oldest the file is written for)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from bench.processes import ROOT

pytestmark = pytest.mark.skipif(shutil.which("nginx") is None,
                                reason="needs nginx (make test installs nginx-light with the test packages)")

CONFIG = ROOT / "deploy" / "nginx.conf"


def nginx_check(config, workdir) -> subprocess.CompletedProcess[str]:
    # -p: nginx's prefix for relative paths (temporary files); -e: its start-up error log (nginx 1.19.5+).
    return subprocess.run(["nginx", "-t", "-q", "-c", str(config), "-p", str(workdir), "-e", str(workdir / "error.log"),
                           "-g", f"pid {workdir / 'nginx.pid'};"], capture_output=True, text=True, timeout=30)


def test_the_shipped_config_passes_nginx_t(tmp_path):
    checked = nginx_check(CONFIG, tmp_path)
    assert checked.returncode == 0, checked.stderr


def test_the_check_fails_on_what_older_nginx_cannot_read(tmp_path):
    """What the shipped file avoids: on nginx before 1.27.3, `resolve` on an upstream server is refused, so the
    check above is a real one."""
    version = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr
    major, minor, patch = (int(part) for part in re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", version).groups())
    if (major, minor, patch) >= (1, 27, 3):
        pytest.skip(f"this nginx ({version.strip()}) reads `resolve` in an upstream block")
    upstream = "    upstream api { zone api 64k; server api:8001 resolve; }\n"
    text = CONFIG.read_text().replace("    limit_conn_zone", upstream + "    limit_conn_zone", 1)
    config = tmp_path / "nginx.conf"
    config.write_text(text)
    checked = nginx_check(config, tmp_path)
    assert checked.returncode != 0 and "resolve" in checked.stderr, checked.stderr
