"""``hewston`` command line. Each subcommand builds its role's settings and passes them in."""

from __future__ import annotations

import argparse
import sqlite3
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import ValidationError
from pydantic_settings import SettingsError

if TYPE_CHECKING:
    from common.settings import HewstonSettings


def _serve(build, host: str, port: int, setting: str) -> int:
    """Bind ``host:port``, then serve the app that ``build()`` returns (with the goodbye it asks for before the
    server stops) until SIGINT or SIGTERM. A port in use is one line naming ``setting``, before anything starts."""
    from common import serving

    try:
        sock = serving.bind(host, port, setting=setting)
    except serving.PortInUse as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    app, before_shutdown = build()
    serving.server(app, before_shutdown=before_shutdown).run(sockets=[sock])
    return 0


def _cmd_backend(args: argparse.Namespace) -> int:
    from backend.main import create_app
    from backend.settings import BackendSettings

    settings = _settings(BackendSettings, host=args.host, port=args.port)
    problem = settings.data_dir_problem()
    if problem is not None:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    return _serve(lambda: (create_app(settings), None), settings.host, settings.port, "HEWSTON_PORT or --port")


def _cmd_api(args: argparse.Namespace) -> int:
    from api.settings import ApiSettings

    settings = _settings(ApiSettings, host=args.host, port=args.port, workers=args.workers)
    if _refused("api", settings):
        return 2
    if settings.workers > 1:
        from hewston.api_processes import run_processes

        return run_processes(settings.workers, settings.host, settings.port, _api_process)
    return _serve(lambda: _api_app(settings), settings.host, settings.port, "HEWSTON_API_PORT or --port")


def _api_app(settings):  # noqa: ANN001, ANN202 - ApiSettings -> (app, goodbye), imported lazily
    from api.main import create_app
    from common.redis_client import warn_if_private

    app = create_app(settings)
    warn_if_private("api", settings.redis_url)
    # Playback streams are closed with 1001 before the server stops, so their clients move to another node.
    return app, app.state.stream_hub.going_away


def _api_process(host: str, port: int) -> None:
    """One of ``hewston api --workers N``'s processes: a whole api node on the shared port (SO_REUSEPORT)."""
    from api.settings import ApiSettings
    from common import serving
    from hewston.api_processes import reuse_port_socket

    sock = reuse_port_socket(host, port, listen=True)
    app, before_shutdown = _api_app(ApiSettings())
    serving.server(app, before_shutdown=before_shutdown).run(sockets=[sock])


def _refused(role: str, settings: HewstonSettings) -> bool:
    """Whether ``role`` must not start on its Redis (an eviction policy that could drop the streams' keys);
    says why in one line."""
    from common.redis_eviction import eviction_refusal

    problem = eviction_refusal(role, settings.redis_url, accepted=settings.redis_eviction_accepted)
    if problem is not None:
        print(f"error: {problem}", file=sys.stderr)
    return problem is not None


def _cmd_backend_openapi(_args: argparse.Namespace) -> int:
    import tempfile

    from api.backend_schema import render
    from backend.main import create_app
    from backend.settings import BackendSettings

    # The document depends on the code only; a scratch data directory keeps the real catalog untouched.
    with tempfile.TemporaryDirectory() as data_dir:
        app = create_app(BackendSettings(data_dir=data_dir, _env_file=None))
        sys.stdout.buffer.write(render(app.openapi()))
    return 0


def _settings(settings_class, **options):
    """A role's settings from the environment, with the command line's options (those given) read and validated
    like the environment's (``--metrics-port 0`` is the same as ``HEWSTON_RELAY_METRICS_PORT=0``)."""
    return settings_class(**{name: value for name, value in options.items() if value is not None})


def _cmd_relay(args: argparse.Namespace) -> int:
    from relay.main import main
    from relay.settings import RelaySettings

    return main(_settings(RelaySettings, metrics_port=args.metrics_port))


def _cmd_up(args: argparse.Namespace) -> int:
    from hewston.up import run_all

    return run_all(host=args.host, worker=args.worker, port=args.port, api_port=args.api_port)


def _cmd_worker(args: argparse.Namespace) -> int:
    from api.settings import ApiSettings
    from workers.config import WorkerConfig
    from workers.worker import run_standalone

    config = _settings(WorkerConfig, metrics_port=args.metrics_port)
    if _refused("worker", config):
        return 2
    # The api's settings too: the worker fills the api's cache with the api's key prefix, gzip and lifetimes.
    return run_standalone(config, ApiSettings(), burst=args.burst)


def _backend_settings(data_dir: str | None):
    from backend.settings import BackendSettings

    return BackendSettings(data_dir=data_dir) if data_dir else BackendSettings()


def _cmd_ingest(args: argparse.Namespace) -> int:
    from pathlib import Path

    from backend.catalog import Catalog
    from backend.market.ingest import IngestProgress, read_ingest_file, store_ingested
    from backend.market.store import BarStore
    from backend.market.validate import BarValidationError, normalize_symbol
    from common.models.bars import AssetClass

    settings = _backend_settings(args.data_dir)

    def progress(p: IngestProgress) -> None:
        share = f" ({p.fraction:.0%})" if p.fraction is not None else ""
        print(f"ingest: {p.rows:,} rows read{share}", file=sys.stderr, flush=True)

    try:
        symbol = normalize_symbol(args.symbol)
        timeframe, bars = read_ingest_file(Path(args.file), tz=args.tz, progress=progress)
        # Only a file that passed every check opens (and, the first time, creates) the data directory.
        catalog = Catalog(settings.catalog_path)
        result = store_ingested(BarStore(settings.bars_dir, catalog), symbol, timeframe, bars, name=args.name,
                                asset_class=AssetClass(args.asset_class) if args.asset_class else None)
    except Exception as exc:
        # A failed ingest never replaces stored data, whatever was at fault: the file, the disk or a file no
        # check foresaw. Every failure is one line, never a traceback.
        if isinstance(exc, BarValidationError):
            message = exc.message
        elif isinstance(exc, OSError):
            message = str(exc)
        else:
            first_line = next(iter(str(exc).splitlines()), "")
            message = f"could not read the file ({type(exc).__name__}: {first_line})"
        print(f"error: {args.file}: {message}; nothing was changed", file=sys.stderr)
        return 1
    print(result.summary())
    return 0


def _cmd_demo_data(args: argparse.Namespace) -> int:
    from backend.demo.data import create_demo_data

    summary = create_demo_data(_backend_settings(args.data_dir), if_missing=args.if_missing)
    print("\n".join(summary.lines()))
    return 0


def _cmd_backup(args: argparse.Namespace) -> int:
    from pathlib import Path

    from backend.backup import BackupError, backup

    data_dir = _backend_settings(args.data_dir).data_dir
    try:
        summary = backup(data_dir, Path(args.target))
    except (BackupError, OSError, sqlite3.Error) as exc:
        print(f"error: backup of {data_dir}: {exc}", file=sys.stderr)
        return 1
    print(summary.line("backed up into", Path(args.target)))
    return 0


def _cmd_restore(args: argparse.Namespace) -> int:
    from pathlib import Path

    from backend.backup import BackupError, restore

    data_dir = _backend_settings(args.data_dir).data_dir
    try:
        summary = restore(Path(args.source), data_dir)
    except (BackupError, OSError, sqlite3.Error) as exc:
        print(f"error: restore from {args.source}: {exc}", file=sys.stderr)
        return 1
    print(summary.line("restored into", data_dir))
    return 0


def _cmd_probe(args: argparse.Namespace) -> int:
    """Readiness for supervisors and health checks: exit 0 once ``url`` answers 200, 1 if it does not in time."""
    import time

    import httpx

    deadline = time.monotonic() + args.wait_s
    while True:
        try:
            if httpx.get(args.url, timeout=2.0).status_code == 200:
                return 0
        except httpx.HTTPError:
            pass
        if time.monotonic() >= deadline:
            print(f"error: {args.url} did not answer 200 within {args.wait_s:g} s", file=sys.stderr)
            return 1
        time.sleep(0.25)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hewston", description="Hewston backtesting platform")
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="run every role in one process (embedded broker unless REDIS_URL is set)")
    up.add_argument("--host", default=None)
    up.add_argument("--port", type=int, default=None, help="the backend's port (default: HEWSTON_PORT, 8000)")
    up.add_argument("--api-port", type=int, default=None, help="the api's port (default: HEWSTON_API_PORT, 8001)")
    up.add_argument("--no-worker", dest="worker", action="store_false",
                    help="leave out the prewarm worker (every first view of a chart or run is then a cache miss)")
    up.set_defaults(func=_cmd_up)

    backend = sub.add_parser("backend", help="run the backend service")
    backend.add_argument("--host", default=None)
    backend.add_argument("--port", type=int, default=None)
    backend.set_defaults(func=_cmd_backend)

    api = sub.add_parser("api", help="run the api (BFF) in front of the backend (HEWSTON_BACKEND_URL)")
    api.add_argument("--host", default=None)
    api.add_argument("--port", type=int, default=None)
    api.add_argument("--workers", type=int, default=None,
                     help="api processes sharing the port (SO_REUSEPORT), each a whole node (default: "
                          "HEWSTON_API_WORKERS, 1)")
    api.set_defaults(func=_cmd_api)

    relay = sub.add_parser("relay", help="run a relay: one upstream playback per watched run, published to Redis "
                                         "(needs REDIS_URL and HEWSTON_SERVICE_TOKEN)")
    relay.add_argument("--metrics-port", type=int, default=None,
                       help="port of its Prometheus metrics (default: HEWSTON_RELAY_METRICS_PORT, 8002; 0: none)")
    relay.set_defaults(func=_cmd_relay)

    openapi = sub.add_parser("backend-openapi", help="print the backend's OpenAPI document (the api's copy: "
                                                     "hewston backend-openapi > api/backend_openapi.json)")
    openapi.set_defaults(func=_cmd_backend_openapi)

    worker = sub.add_parser("worker", help="run the prewarm worker against Redis (REDIS_URL, HEWSTON_SERVICE_TOKEN)")
    worker.add_argument("--burst", action="store_true", help="stop once the queue is empty (exit 1 if a job failed)")
    worker.add_argument("--metrics-port", type=int, default=None,
                        help="port of its Prometheus metrics (default: HEWSTON_WORKER_METRICS_PORT, 9101; 0: none)")
    worker.set_defaults(func=_cmd_worker)

    ingest = sub.add_parser("ingest", help="load minute, hourly or daily bars of one symbol from a CSV or Parquet file")
    ingest.add_argument("file", help="CSV (optionally gzipped) or Parquet with a time column (time, timestamp, "
                                     "datetime, date or pandas' unnamed index) and open, high, low, close, volume")
    ingest.add_argument("--symbol", required=True, help="e.g. ACME (upper-cased; A-Z 0-9 . _ -)")
    ingest.add_argument("--name", default=None, help="display name (default: the current one, or the symbol)")
    ingest.add_argument("--asset-class", choices=["equity", "fx", "crypto", "other"], default=None)
    ingest.add_argument("--tz", default=None, help="time zone of times written without an offset, e.g. "
                                                   "America/New_York (default: UTC)")
    ingest.add_argument("--data-dir", default=None, help="backend data directory (default: HEWSTON_DATA_DIR)")
    ingest.set_defaults(func=_cmd_ingest)

    demo = sub.add_parser("demo-data", help="create the synthetic demo bars (2025) and the demo users")
    demo.add_argument("--if-missing", action="store_true", help="do nothing when the demo data is present")
    demo.add_argument("--data-dir", default=None, help="backend data directory (default: HEWSTON_DATA_DIR)")
    demo.set_defaults(func=_cmd_demo_data)

    backup = sub.add_parser("backup", help="copy the backend's data (catalog, bars, run artifacts) into a new "
                                           "directory with a manifest; safe while the backend runs")
    backup.add_argument("target", help="an empty or new directory")
    backup.add_argument("--data-dir", default=None, help="backend data directory (default: HEWSTON_DATA_DIR)")
    backup.set_defaults(func=_cmd_backup)

    restore = sub.add_parser("restore", help="restore a backup into an empty data directory, after checking "
                                             "every file against its manifest (the backend stopped)")
    restore.add_argument("source", help="a directory written by hewston backup")
    restore.add_argument("--data-dir", default=None, help="backend data directory (default: HEWSTON_DATA_DIR)")
    restore.set_defaults(func=_cmd_restore)

    probe = sub.add_parser("probe", help="exit 0 once a URL answers 200 (readiness for supervisors and health checks)")
    probe.add_argument("url", help="e.g. http://127.0.0.1:8001/health or a relay's http://127.0.0.1:8002/metrics")
    probe.add_argument("--wait-s", type=float, default=0.0, help="keep asking this long (default: ask once)")
    probe.set_defaults(func=_cmd_probe)
    return parser


def _settings_errors(exc: ValidationError, command: str) -> list[str]:
    """One line per bad setting (from the environment, .env or an option), naming it and the reason."""
    from common.setting_errors import describe_setting_errors

    return [f"error: {line}" for line in describe_setting_errors(exc, options=_OPTIONS.get(command, {}))]


# The options that set a setting, per command (each also has its variable).
_OPTIONS = {
    "up": {("BackendSettings", "host"): "--host", ("BackendSettings", "port"): "--port",
           ("ApiSettings", "port"): "--api-port"},
    "backend": {("BackendSettings", "host"): "--host", ("BackendSettings", "port"): "--port"},
    "api": {("ApiSettings", "host"): "--host", ("ApiSettings", "port"): "--port"},
    "relay": {("RelaySettings", "metrics_port"): "--metrics-port"},
    "worker": {("WorkerConfig", "metrics_port"): "--metrics-port"},
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ValidationError as exc:
        # Settings are read when a command starts; a bad value stops it with a clear line, not a traceback.
        print("\n".join(_settings_errors(exc, args.command)), file=sys.stderr)
        return 2
    except SettingsError as exc:
        from common.setting_errors import describe_unparsed_setting

        print(f"error: {describe_unparsed_setting(exc)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
