"""``hewston`` command line. Each subcommand builds its role's settings and passes them in."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _cmd_backend(args: argparse.Namespace) -> int:
    import uvicorn

    from backend.main import create_app
    from backend.settings import BackendSettings

    settings = BackendSettings()
    uvicorn.run(create_app(settings), host=args.host or settings.host, port=args.port or settings.port,
                ws_per_message_deflate=False, log_level="warning")
    return 0


def _cmd_up(args: argparse.Namespace) -> int:
    from hewston.up import run_all

    return run_all(host=args.host)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hewston", description="Hewston backtesting platform")
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="run every role in one process (embedded broker unless REDIS_URL is set)")
    up.add_argument("--host", default=None)
    up.set_defaults(func=_cmd_up)

    backend = sub.add_parser("backend", help="run the backend service")
    backend.add_argument("--host", default=None)
    backend.add_argument("--port", type=int, default=None)
    backend.set_defaults(func=_cmd_backend)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
