"""Every log line written while a block runs, as the services write them (after scrubbing)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from common.logging import add_log_tap, remove_log_tap


@contextmanager
def captured_logs() -> Iterator[list[str]]:
    lines: list[str] = []
    add_log_tap(lines.append)
    try:
        yield lines
    finally:
        remove_log_tap(lines.append)
