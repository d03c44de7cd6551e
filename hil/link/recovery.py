"""How a session rides out a noisy link: bounded exponential backoff between
resends, when to resynchronise, and transfer chunks that shrink while frames
keep failing and grow back once the link is clean (docs/robustness.md)."""

from __future__ import annotations

from dataclasses import dataclass

# Backoff before resend n (1-based) is BASE * 2**(n-1), at most CAP: the first
# resends cost about a round trip, a long burst of junk is waited out instead of
# burning the retry budget in a fraction of a second.
BACKOFF_BASE_S = 0.001
BACKOFF_CAP_S = 0.032
# After this many damaged answers or NAKs in a row, drain and flush both ends
# before the next resend: whatever is queued is junk or an older replay.
RESYNC_AFTER = 6
# Chunks never shrink below this: below it the frame overhead (about 24 bytes)
# dominates and smaller frames hardly survive more often.
MIN_CHUNK = 16
# A chunk that needed more attempts than this halves the size; this many clean
# chunks in a row double it again.
SHRINK_AFTER_ATTEMPTS = 2
GROW_AFTER_CLEAN = 4
# A transfer chunk damaged this many times is given up and resent halved.
SHRINK_AFTER_DAMAGE = 4


def backoff_delay(failures: int, cap: float = BACKOFF_CAP_S) -> float:
    """Seconds to wait (listening) before resend number `failures` (>= 1)."""
    if failures <= 0:
        return 0.0
    return min(cap, BACKOFF_BASE_S * (1 << min(failures - 1, 30)))


def needs_resync(consecutive_failures: int) -> bool:
    return consecutive_failures > 0 and consecutive_failures % RESYNC_AFTER == 0


@dataclass
class ChunkSizer:
    """Transfer chunk size, adapted to how many attempts recent chunks needed."""

    largest: int
    size: int = 0
    clean_run: int = 0
    shrinks: int = 0
    grows: int = 0

    def __post_init__(self) -> None:
        if self.largest < 1:
            raise ValueError(f"largest chunk must be >= 1, got {self.largest}")
        self.size = self.largest if self.size <= 0 else min(self.size, self.largest)

    def resize(self, largest: int) -> None:
        """The device's frame size is known (again)."""
        self.largest = max(1, largest)
        self.size = min(self.size, self.largest) if self.size else self.largest

    @property
    def can_shrink(self) -> bool:
        return self.size > min(MIN_CHUNK, self.largest)

    def record(self, attempts: int) -> None:
        """One chunk went through after `attempts` sends."""
        floor = min(MIN_CHUNK, self.largest)
        if attempts > SHRINK_AFTER_ATTEMPTS:
            self.clean_run = 0
            if self.size > floor:
                self.size = max(floor, self.size // 2)
                self.shrinks += 1
            return
        if attempts > 1:
            self.clean_run = 0
            return
        self.clean_run += 1
        if self.clean_run >= GROW_AFTER_CLEAN and self.size < self.largest:
            self.size = min(self.largest, self.size * 2)
            self.clean_run = 0
            self.grows += 1
