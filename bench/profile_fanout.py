"""A profile of the api node's fan-out under load, as text: where one api process spends its time while N viewers
of one run receive 30 frames a second (or, with ``--join``, while they all connect at once).

    python -m bench.profile_fanout [--viewers 2000] [--seconds 8] [--join]

The fan-out benchmark's deployment (every role its own process on 127.0.0.1); the api process is sampled with
py-spy (installed by ``make install``; it reads the process from outside, so the api runs unchanged) while the viewers
of ``bench/ws_load.py`` watch. Prints the functions that hold the most samples, by their own time and by time
including what they call — the summary docs/benchmarks.md keeps, before and after a change of the hot path.
"""

from __future__ import annotations

import argparse
import collections
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench.bench_playback import TOKEN, prepare
from bench.bench_stream import BARS, Controller
from bench.deployment import Deployment, stream_deployment
from bench.ws_load import run_clients
from common.logging import configure_logging

TOP = 12
# Frames of Hewston's own modules (py-spy names a frame "function (path/to/module.py)").
OWN_CODE = re.compile(r"\((api|common)/")


def summarise(collapsed: str, top: int = TOP) -> str:
    """The top functions of py-spy's collapsed stacks (``frame;frame;... count`` per line), by own samples and (of
    Hewston's own code) by samples including callees, each as a share of all samples."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            if OWN_CODE.search(frame):
                inclusive[frame] += count
    if not total:
        return "no samples"

    def table(counter: collections.Counter[str], title: str) -> list[str]:
        rows = [f"{title} (share of {total:,} samples):"]
        rows += [f"  {100 * n / total:5.1f} %  {frame}" for frame, n in counter.most_common(top)]
        return rows

    return "\n".join([*table(own, "own time"), "", *table(inclusive, "Hewston's own functions, including callees")])


def py_spy() -> str | None:
    """py-spy's executable: on the PATH, or beside this interpreter (installed in its virtual environment)."""
    beside = Path(sys.executable).parent / "py-spy"
    return shutil.which("py-spy") or (str(beside) if beside.exists() else None)


def measure(deployment: Deployment, spy_path: str, viewers: int, seconds: float, rate: int, join: bool) -> str:
    run_id = prepare(deployment.data_dir, bars=BARS)
    roles = deployment.start_roles()
    controller = Controller(roles.api_port, run_id).start()
    out = deployment.work_dir / "profile.txt"
    try:
        start = time.time() + (2.0 if join else 3.0 + viewers / 200)
        window = seconds + 4.0

        def sample() -> None:
            # Joining: from the first connection on; watching: once every viewer is in.
            time.sleep(max(0.0, start + (0.0 if join else 2.0) - time.time()))
            spy = subprocess.Popen([spy_path, "record", "--pid", str(roles.api.pid), "--duration", str(int(seconds)),
                                    "--rate", str(rate), "--format", "raw", "--nolineno", "--output", str(out)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            spy.wait(timeout=seconds + 30)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        run_clients(roles.stream_url(run_id), viewers, start=start, seconds=window, token=TOKEN,
                    out_dir=deployment.work_dir, join=join)
        sampler.join(timeout=60)
    finally:
        controller.stop()
    return summarise(out.read_text() if out.exists() else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--viewers", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rate", type=int, default=200, help="samples per second")
    parser.add_argument("--join", action="store_true", help="profile the viewers joining at once instead")
    args = parser.parse_args()
    spy_path = py_spy()
    if spy_path is None:
        raise SystemExit("py-spy is not installed: run make install")
    configure_logging(json_logs=True, level="WARNING")
    with stream_deployment("profile") as deployment:
        if deployment is None:
            raise SystemExit("this profile needs redis-server (every role is a process)")
        summary = measure(deployment, spy_path, args.viewers, args.seconds, args.rate, args.join)
    print(f"{args.viewers:,} viewers {'joining' if args.join else 'watching'}, {args.seconds:g} s at {args.rate} "
          "samples/s\n")
    print(summary)


if __name__ == "__main__":
    main()
