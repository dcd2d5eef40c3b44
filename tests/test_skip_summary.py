"""The suite's own report: every skipped test is counted by its reason in the closing lines."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _pytest(directory: Path) -> subprocess.CompletedProcess[str]:
    """pytest over ``directory`` with this suite's hooks, in a process of its own."""
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.conftest",
                           "--rootdir", str(directory), str(directory)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_skips_are_counted_by_reason_above_the_final_line(tmp_path):
    (tmp_path / "test_some_skips.py").write_text(
        "import pytest\n"
        "@pytest.mark.skipif(True, reason='needs promtool')\n"
        "def test_a(): pass\n"
        "@pytest.mark.skipif(True, reason='needs promtool')\n"
        "def test_b(): pass\n"
        "def test_c(): pytest.skip('no real Redis')\n"
        "def test_d(): pass\n")
    done = _pytest(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[-2] == "skipped by reason: 2 × needs promtool; 1 × no real Redis"
    assert "1 passed, 3 skipped" in lines[-1]


def test_a_run_without_skips_prints_no_skip_line(tmp_path):
    (tmp_path / "test_none.py").write_text("def test_a(): pass\n")
    done = _pytest(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "skipped by reason" not in done.stdout
