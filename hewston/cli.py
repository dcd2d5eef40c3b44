"""``hewston`` command line. Each subcommand builds its role's settings and passes them in."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pydantic import ValidationError


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

    settings = BackendSettings()
    return _serve(lambda: (create_app(settings), None), args.host or settings.host, _port(args.port, settings.port),
                  "HEWSTON_PORT or --port")


def _cmd_api(args: argparse.Namespace) -> int:
    from api.main import create_app
    from api.settings import ApiSettings
    from common.redis_client import warn_if_private

    settings = ApiSettings()

    def build():
        app = create_app(settings)
        warn_if_private("api", settings.redis_url)
        # Playback streams are closed with 1001 before the server stops, so their clients move to another node.
        return app, app.state.stream_hub.going_away

    return _serve(build, args.host or settings.host, _port(args.port, settings.port), "HEWSTON_API_PORT or --port")


def _port(given: int | None, configured: int) -> int:
    return configured if given is None else given


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
    return parser


def _settings_errors(exc: ValidationError) -> list[str]:
    """One line per bad setting (from the environment, .env or an option), naming it and the reason."""
    return [f"error: setting {'.'.join(str(part) for part in error['loc'])} of {exc.title}: {error['msg']} "
            f"(got {error.get('input')!r})" for error in exc.errors()]


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ValidationError as exc:
        # Settings are read when a command starts; a bad value stops it with a clear line, not a traceback.
        print("\n".join(_settings_errors(exc)), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
