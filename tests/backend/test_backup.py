"""``hewston backup`` and ``hewston restore``: a backup taken while the backend serves, restored into an empty
directory, gives a backend whose every run and chart answers exactly as before; a damaged or incomplete backup,
or a directory that is not empty, is refused in one line and nothing is written."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import pytest

from backend.backup import MANIFEST
from backend.main import create_app as create_backend
from backend.settings import BackendSettings
from hewston.cli import main
from tests.api.conftest import INSTRUMENT, MINUTES, START, SYMBOL, build_backend, create_run, make_minutes
from tests.conftest import ALICE_TOKEN, BOB_TOKEN, SERVICE_TOKEN
from tests.support.servers import live_server

pytestmark = pytest.mark.timeout(120)


def answers(url: str, run_ids: list[str]) -> dict[str, object]:
    """Every chart and run answer a user sees, by path."""
    paths = ["/symbols", f"/symbols/{SYMBOL}", "/backtests"]
    span = f"symbol={SYMBOL}&from={START}&to={START + 60 * MINUTES}"
    paths += [f"/bars/{timeframe}?{span}" for timeframe in ("minute", "hour", "daily")]
    for run_id in run_ids:
        paths += [f"/backtests/{run_id}{part}" for part in ("", "/metrics", "/equity", "/orders")]
    seen = {}
    for token in (ALICE_TOKEN, BOB_TOKEN):
        for path in paths:
            response = httpx.get(f"{url}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=30)
            body = response.json()
            if isinstance(body, dict) and isinstance(body.get("error"), dict):
                body["error"].pop("correlation_id", None)  # one per request, not part of the answer
            seen[f"{token[:12]} {path}"] = (response.status_code, body)
    return seen


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A backend with two data versions of its symbol and three completed runs, one shared with bob."""
    data_dir = tmp_path_factory.mktemp("live") / "data"
    app = build_backend(data_dir)
    app.state.bar_store.write_minutes(INSTRUMENT, make_minutes(seed=11))  # data version 2
    with live_server(app) as server:
        runs = [create_run(server.http_url, strategy=strategy)["id"]
                for strategy in ("ma_crossover", "buy_and_hold", "rsi_mean_reversion")]
        shared = httpx.post(f"{server.http_url}/backtests/{runs[0]}/shares", json={"user": "bob"},
                            headers={"Authorization": f"Bearer {ALICE_TOKEN}"}, timeout=10)
        assert shared.status_code < 300, shared.text
        yield server, data_dir, runs


@pytest.fixture(scope="module")
def backup_dir(served, tmp_path_factory) -> Path:
    server, data_dir, _runs = served
    target = tmp_path_factory.mktemp("backups") / "nightly"
    assert main(["backup", str(target), "--data-dir", str(data_dir)]) == 0  # while the backend serves
    return target


def test_a_restored_backup_answers_every_run_and_chart_as_before(served, backup_dir, tmp_path, capsys):
    server, _data_dir, runs = served
    before = answers(server.http_url, runs)
    restored = tmp_path / "restored"
    assert main(["restore", str(backup_dir), "--data-dir", str(restored)]) == 0
    assert "3 completed runs" in capsys.readouterr().out
    app = create_backend(BackendSettings(data_dir=restored, service_token=SERVICE_TOKEN, redis_url=None,
                                         _env_file=None))
    with live_server(app) as again:
        after = answers(again.http_url, runs)
    assert after == before
    assert all(status == 200 for key, (status, _body) in before.items() if key.startswith(ALICE_TOKEN[:12]))


def test_the_manifest_names_the_data_versions_runs_and_every_file(backup_dir, served):
    _server, data_dir, runs = served
    manifest = json.loads((backup_dir / MANIFEST).read_text())
    assert {(d["symbol"], d["data_version"]) for d in manifest["datasets"]} == {(SYMBOL, 2)}
    assert len(manifest["datasets"]) == 3  # minute bars and their hourly and daily aggregates
    assert sorted(run["id"] for run in manifest["runs"]) == sorted(runs)
    for entry in manifest["files"]:
        copied, original = backup_dir / entry["path"], data_dir / entry["path"]
        assert copied.read_bytes() == original.read_bytes() and entry["bytes"] == copied.stat().st_size
    # Only the current version of the bars: the replaced one is not part of the data any more.
    assert not any("/v1/" in entry["path"] for entry in manifest["files"])


def test_a_damaged_backup_is_refused_and_nothing_is_restored(backup_dir, tmp_path, capsys):
    damaged = tmp_path / "damaged"
    shutil.copytree(backup_dir, damaged)
    timeline = next(damaged.glob("runs/*/timeline.parquet"))
    data = bytearray(timeline.read_bytes())
    data[len(data) // 2] ^= 0xFF
    timeline.write_bytes(bytes(data))
    target = tmp_path / "data"
    assert main(["restore", str(damaged), "--data-dir", str(target)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "is damaged" in err and "timeline.parquet" in err
    assert not target.exists()


def test_restore_and_backup_refuse_a_directory_that_is_not_empty(backup_dir, served, tmp_path, capsys):
    _server, data_dir, _runs = served
    assert main(["restore", str(backup_dir), "--data-dir", str(data_dir)]) == 1
    assert "is not empty" in capsys.readouterr().err
    assert main(["backup", str(backup_dir), "--data-dir", str(data_dir)]) == 1
    assert "is not empty" in capsys.readouterr().err
    assert main(["restore", str(tmp_path), "--data-dir", str(tmp_path / "x")]) == 1
    assert "is not a Hewston backup" in capsys.readouterr().err
