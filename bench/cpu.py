"""The CPU time a server process spends during a benchmark's measuring window (user + system, from /proc).

Divided by the messages the clients received in the same window it gives a server's cost per viewer-message:
what fan-out bookkeeping costs beyond the write itself, comparable across servers even on a machine that others
load at the same time (CPU time is the process's own, not wall-clock).
"""

from __future__ import annotations

import os
import threading
import time

_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def process_cpu_s(pid: int) -> float:
    """User plus system CPU seconds the process ``pid`` has used so far."""
    with open(f"/proc/{pid}/stat", "rb") as stat:
        fields = stat.read().rsplit(b")", 1)[1].split()
    # Fields after the command name: state is the first, utime the 12th, stime the 13th (proc(5)).
    return (int(fields[11]) + int(fields[12])) / _TICKS_PER_S


class CpuDuring:
    """Samples ``pid``'s CPU time at ``start`` and at ``stop`` (epoch seconds) from a thread of its own, so the
    caller may block meanwhile (waiting for its clients)."""

    def __init__(self, pid: int | None, start: float, stop: float) -> None:
        self._samples: list[float] = []
        self._thread = None
        if pid is not None:
            self._thread = threading.Thread(target=self._sample, args=(pid, start, stop), daemon=True)
            self._thread.start()

    def _sample(self, pid: int, start: float, stop: float) -> None:
        for at in (start, stop):
            time.sleep(max(0.0, at - time.time()))
            try:
                self._samples.append(process_cpu_s(pid))
            except OSError:
                return  # the process ended: no measurement

    def seconds(self) -> float:
        """CPU seconds used between ``start`` and ``stop`` (NaN when not measured)."""
        if self._thread is None:
            return float("nan")
        self._thread.join(timeout=60)
        return self._samples[1] - self._samples[0] if len(self._samples) == 2 else float("nan")
