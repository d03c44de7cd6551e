"""labgrid's own coordinator with its reservation clock sped up, so a test
can watch a reservation expire in seconds instead of labgrid's fixed 75:
`python -m tests.labgrid_fast_coordinator RATE -l HOST:PORT`.

What governs expiry in labgrid (read from labgrid.remote): a reservation's
`timeout` is `time.time() + 60` when made and on each poll
(common.Reservation.refresh), and `Coordinator.poll` runs the scheduling
pass that expires it every `asyncio.sleep(15.0)`. Here `time` as the
reservation bookkeeping in labgrid.remote.common sees it runs RATE times
faster, and the coordinator's sleeps are RATE times shorter; everything else
(gRPC, places, the scheduler itself) is labgrid's code unchanged. A FAKE
clock on a real coordinator: only for tests."""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any


class FastClock:
    """`time` for labgrid.remote.common: time() runs `rate` times faster."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.start = time.time()

    def time(self) -> float:
        return self.start + (time.time() - self.start) * self.rate

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


class FastAsyncio:
    """`asyncio` for labgrid.remote.coordinator: sleeps `rate` times shorter."""

    def __init__(self, rate: float) -> None:
        self.rate = rate

    async def sleep(self, delay: float, result: Any = None) -> Any:
        return await asyncio.sleep(delay / self.rate, result)

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)


def main() -> None:
    rate = float(sys.argv.pop(1))
    from labgrid.remote import common, coordinator

    common.time = FastClock(rate)  # type: ignore[assignment]
    coordinator.asyncio = FastAsyncio(rate)  # type: ignore[assignment]
    coordinator.main()


if __name__ == "__main__":
    main()
