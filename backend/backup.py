"""Backups of the backend's data directory, the only state of a deployment that matters (Redis holds caches and
replayable streams; api nodes, relays and workers hold nothing).

A backup is a directory:

- ``catalog.sqlite3`` — a consistent copy of the catalog taken with SQLite's online backup API, so the backend
  may keep serving and ingesting meanwhile;
- ``bars/`` and ``runs/`` — exactly the Parquet and JSON files that copy of the catalog refers to (each dataset's
  current version, each completed run's artifacts), copied byte for byte: they are immutable once written;
- ``manifest.json`` — what the backup holds: every dataset with its data version and rows, every completed run,
  and every file with its size and SHA-256, so a restore can prove the copy whole before using it.

An ingest that replaces a symbol's data while a backup copies it deletes the old version's files; the backup
then starts over from a new copy of the catalog (a few times at most). A restore goes into an empty data
directory only, and checks every file first: it never mixes a backup with what was there.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from backend.runs.artifacts import FILLS, METRICS, TIMELINE

MANIFEST = "manifest.json"
CATALOG = "catalog.sqlite3"
FORMAT = 1
_ATTEMPTS = 3


class BackupError(Exception):
    """The backup or restore cannot be done; the message is the one line to show."""


@dataclass(frozen=True)
class Summary:
    datasets: int
    runs: int
    files: int
    bytes: int

    def line(self, verb: str, where: Path) -> str:
        return (f"{verb} {where}: {self.datasets} datasets, {self.runs} completed runs, {self.files} files "
                f"({self.bytes / 1e6:.1f} MB)")


def backup(data_dir: Path, target: Path) -> Summary:
    """Write a backup of ``data_dir`` into ``target`` (absent or empty)."""
    catalog = data_dir / CATALOG
    if not catalog.is_file():
        raise BackupError(f"{data_dir} holds no catalog ({CATALOG}); is it the backend's data directory?")
    _require_empty(target, "the backup's target")
    for attempt in range(1, _ATTEMPTS + 1):
        target.mkdir(parents=True, exist_ok=True)
        _sqlite_copy(catalog, target / CATALOG)
        datasets, runs = _contents(target / CATALOG)
        try:
            files = [_copy(data_dir, target, relative) for relative in _referenced_files(datasets, runs)]
        except FileNotFoundError:
            # An ingest replaced a version while it was copied: take a new copy of the catalog.
            if attempt == _ATTEMPTS:
                raise BackupError(f"the data changed under {_ATTEMPTS} backups in a row; try again when no "
                                  f"ingest runs") from None
            for child in target.iterdir():
                shutil.rmtree(child) if child.is_dir() else child.unlink()
            continue
        manifest = {"format": FORMAT, "created_at": time.time(), "catalog": _file_entry(target, Path(CATALOG)),
                    "datasets": datasets, "runs": runs, "files": files}
        (target / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
        return _summary(manifest)
    raise AssertionError("unreachable")


def restore(source: Path, data_dir: Path) -> Summary:
    """Restore the backup in ``source`` into ``data_dir`` (absent or empty), after checking every file."""
    manifest = read_manifest(source)
    _require_empty(data_dir, "the data directory to restore into")
    for entry in [manifest["catalog"], *manifest["files"]]:
        _verify(source, entry)
    data_dir.mkdir(parents=True, exist_ok=True)
    _sqlite_copy(source / CATALOG, data_dir / CATALOG)
    for entry in manifest["files"]:
        destination = data_dir / entry["path"]
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / entry["path"], destination)
    (data_dir / "bars").mkdir(exist_ok=True)
    (data_dir / "runs").mkdir(exist_ok=True)
    return _summary(manifest)


def read_manifest(source: Path) -> dict:
    try:
        manifest = json.loads((source / MANIFEST).read_text())
    except FileNotFoundError:
        raise BackupError(f"{source} is not a Hewston backup (no {MANIFEST})") from None
    except (ValueError, OSError) as exc:
        raise BackupError(f"{source / MANIFEST} cannot be read ({exc})") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{source} is a backup of format {manifest.get('format')!r}; this Hewston reads "
                          f"format {FORMAT}")
    return manifest


def _require_empty(path: Path, what: str) -> None:
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise BackupError(f"{what}, {path}, is not empty; choose an empty or new directory")


def _sqlite_copy(source: Path, destination: Path) -> None:
    """A consistent copy of a live SQLite database (WAL included), page by page through SQLite's backup API."""
    src = sqlite3.connect(source, timeout=10.0)
    dst = sqlite3.connect(destination)
    try:
        with dst:
            src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
    finally:
        dst.close()
        src.close()


def _contents(catalog: Path) -> tuple[list[dict], list[dict]]:
    """The datasets (with their data versions) and the completed runs of a catalog."""
    conn = sqlite3.connect(f"file:{catalog}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        datasets = [dict(row) for row in conn.execute(
            "SELECT symbol, timeframe, data_version, rows, path FROM datasets ORDER BY symbol, timeframe")]
        runs = [dict(row) for row in conn.execute(
            "SELECT id, symbol, timeframe, strategy FROM runs WHERE status = 'completed' ORDER BY id")]
    finally:
        conn.close()
    return datasets, runs


def _referenced_files(datasets: list[dict], runs: list[dict]) -> list[Path]:
    files = [Path("bars") / dataset["path"] for dataset in datasets]
    for run in runs:
        files += [Path("runs") / run["id"] / name for name in (TIMELINE, FILLS, METRICS)]
    return files


def _copy(data_dir: Path, target: Path, relative: Path) -> dict:
    destination = target / relative
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(data_dir / relative, destination)
    return _file_entry(target, relative)


def _file_entry(root: Path, relative: Path) -> dict:
    path = root / relative
    return {"path": relative.as_posix(), "bytes": path.stat().st_size, "sha256": _sha256(path)}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _verify(source: Path, entry: dict) -> None:
    path = source / entry["path"]
    if ".." in Path(entry["path"]).parts or Path(entry["path"]).is_absolute():
        raise BackupError(f"the manifest names a file outside the backup: {entry['path']}")
    if not path.is_file():
        raise BackupError(f"the backup is incomplete: {entry['path']} is missing; nothing was restored")
    if path.stat().st_size != entry["bytes"] or _sha256(path) != entry["sha256"]:
        raise BackupError(f"the backup is damaged: {entry['path']} differs from its manifest; nothing was restored")


def _summary(manifest: dict) -> Summary:
    files = [manifest["catalog"], *manifest["files"]]
    return Summary(datasets=len(manifest["datasets"]), runs=len(manifest["runs"]), files=len(files),
                   bytes=sum(entry["bytes"] for entry in files))
