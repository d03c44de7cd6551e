#!/usr/bin/env python3
"""Speed-up of a rack of 2 emulated instances over 1 on the same suite, in one
run: `pytest SUITE --hil-rack R -n N` with 1 instance and 1 worker, then with 2
instances and 2 workers (every case runs once per instance), rounds taken in
turn so a busy machine slows both alike. Reports the median wall time, the
case-runs per second (rows the results store got) and the ratio of the two.

    python benchmarks/rack.py [--suite examples] [--board corstone300] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from hil.results.store import ResultStore  # noqa: E402


def rack_file(directory: Path, board: str, instances: int) -> Path:
    path = directory / f"rack-{instances}.toml"
    path.write_text(
        "".join(
            f'[[instance]]\nname = "bench-{n}"\nboard = "{board}"\n\n' for n in range(instances)
        )
    )
    return path


def timed_run(suite: str, rack: Path, workers: int, work: Path) -> tuple[float, int]:
    """Wall seconds of one pytest run, and the case-runs it stored."""
    db = work / f"run-{time.monotonic_ns()}.db"
    args = [
        sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", suite,
        f"--hil-rack={rack}", "-n", str(workers), f"--hil-store={db}",
        f"--hil-lock-dir={work / 'locks'}",
    ]  # fmt: skip
    env = {**os.environ, "HIL_CACHE": os.environ.get("HIL_CACHE", str(REPO / ".hil-cache"))}
    started = time.perf_counter()
    proc = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"pytest failed ({proc.returncode}):\n{proc.stdout[-3000:]}{proc.stderr[-2000:]}")
    with ResultStore(db) as store:
        rows = len(store.rows())
    return seconds, rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", default="examples", help="the test suite (default: examples)")
    parser.add_argument("--board", default="corstone300", help="board type of the instances")
    parser.add_argument("--rounds", type=int, default=3, help="timed runs of each (median)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hil-bench-rack-") as tmp:
        work = Path(tmp)
        setups = {n: rack_file(work, args.board, n) for n in (1, 2)}
        timed_run(args.suite, setups[1], 1, work)  # untimed: builds the firmware once
        walls: dict[int, list[float]] = {1: [], 2: []}
        runs: dict[int, int] = {}
        for _ in range(args.rounds):
            for n, rack in setups.items():
                seconds, runs[n] = timed_run(args.suite, rack, n, work)
                walls[n].append(seconds)
    print(f"suite {args.suite}, {args.board} instances on QEMU, {os.cpu_count()} CPUs, "
          f"median of {args.rounds} rounds")  # fmt: skip
    throughput = {}
    for n in (1, 2):
        wall = statistics.median(walls[n])
        throughput[n] = runs[n] / wall
        print(
            f"  {n} instance{'s' if n > 1 else ' '} -n {n}: {runs[n]} case-runs in {wall:6.2f} s "
            f"wall -> {throughput[n]:.3f} case-runs/s (walls: "
            f"{', '.join(f'{w:.2f}' for w in walls[n])})"
        )
    speedup = throughput[2] / throughput[1]
    print(f"speed-up of 2 instances over 1 (case-runs per second): {speedup:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
