#!/usr/bin/env python3
"""Host CPU an idle emulated board takes: QEMU's user+system time over a
window while the agent waits for its next command (after HELLO).

    python benchmarks/idle.py [--board corstone300] [--seconds 5]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from hil.boards import load_board, resolve  # noqa: E402
from hil.device.dut import Dut  # noqa: E402


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc (fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--board", action="append")
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    for board in args.board or ["corstone300", "mps2-an386"]:
        with Dut(resolve(load_board(board), "qemu"), timeout=60.0) as dut:
            assert dut.hello.protocol_version >= 0
            child = getattr(dut.target, "child", None)
            assert child is not None
            pid = child.proc.pid
            before = cpu_seconds(pid)
            time.sleep(args.seconds)
            used = cpu_seconds(pid) - before
        print(f"{board}: idle QEMU used {used:.2f} s CPU in {args.seconds:.0f} s "
              f"({used / args.seconds:.0%} of a core)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
