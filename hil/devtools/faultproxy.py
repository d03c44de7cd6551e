"""A TCP proxy that damages the byte stream between host and device at set,
seeded rates: drops, corrupts, duplicates and delays bytes. It stands between
hil and an emulator's UART socket to prove the protocol never accepts a
damaged or misattributed frame (tests/e2e/test_link_faults.py)."""

from __future__ import annotations

import contextlib
import random
import socket
import threading
import time
from dataclasses import dataclass, field

UPSTREAM_TIMEOUT = 10.0


@dataclass(frozen=True)
class FaultRates:
    """Per-byte probabilities for one direction."""

    drop: float = 0.0
    corrupt: float = 0.0
    duplicate: float = 0.0
    delay: float = 0.0
    max_delay_s: float = 0.005

    def __post_init__(self) -> None:
        for name in ("drop", "corrupt", "duplicate", "delay"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} rate must be within [0, 1], got {value}")


@dataclass
class DirectionStats:
    bytes_in: int = 0
    dropped: int = 0
    corrupted: int = 0
    duplicated: int = 0
    delayed: int = 0
    clean: bytearray = field(default_factory=bytearray)  # what was sent, before damage

    @property
    def faults(self) -> int:
        return self.dropped + self.corrupted + self.duplicated


class _Damager:
    """Applies one direction's faults byte by byte; decisions come from a
    seeded generator, so a run is reproducible byte for byte."""

    def __init__(self, rates: FaultRates, seed: int, stats: DirectionStats) -> None:
        self.rates = rates
        self.rng = random.Random(seed)
        self.stats = stats
        self.enabled = True

    def apply(self, data: bytes) -> tuple[bytes, float]:
        self.stats.bytes_in += len(data)
        self.stats.clean += data
        if not self.enabled:
            return data, 0.0
        r, rng = self.rates, self.rng
        out = bytearray()
        delay = 0.0
        for byte in data:
            if rng.random() < r.drop:
                self.stats.dropped += 1
                continue
            if rng.random() < r.corrupt:
                byte ^= 1 << rng.randrange(8)
                self.stats.corrupted += 1
            out.append(byte)
            if rng.random() < r.duplicate:
                out.append(byte)
                self.stats.duplicated += 1
            if rng.random() < r.delay:
                delay += rng.uniform(0.0, r.max_delay_s)
                self.stats.delayed += 1
        return bytes(out), delay


class FaultProxy:
    """Listens on a loopback port; on the first connection, connects to the
    upstream port and pumps both ways through the damagers."""

    def __init__(
        self,
        upstream_port: int,
        *,
        to_device: FaultRates,
        to_host: FaultRates,
        seed: int = 0,
        upstream_host: str = "127.0.0.1",
    ) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.to_device_stats = DirectionStats()
        self.to_host_stats = DirectionStats()
        self._to_device = _Damager(to_device, seed, self.to_device_stats)
        self._to_host = _Damager(to_host, seed + 1, self.to_host_stats)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._sockets: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="fault-proxy", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"socket://127.0.0.1:{self.port}"

    def set_enabled(self, enabled: bool) -> None:
        """Pass bytes through untouched while disabled (e.g. during set-up)."""
        self._to_device.enabled = enabled
        self._to_host.enabled = enabled

    def _connect_upstream(self) -> socket.socket:
        deadline = time.monotonic() + UPSTREAM_TIMEOUT
        while True:
            try:
                return socket.create_connection(self.upstream, timeout=1.0)
            except OSError:
                if time.monotonic() > deadline or self._stop.is_set():
                    raise
                time.sleep(0.05)

    def _serve(self) -> None:
        try:
            client, _ = self._listener.accept()
            upstream = self._connect_upstream()
        except OSError:
            return
        for s in (client, upstream):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.settimeout(None)
        self._sockets += [client, upstream]
        pumps = [
            threading.Thread(
                target=self._pump, args=(client, upstream, self._to_device), daemon=True
            ),
            threading.Thread(
                target=self._pump, args=(upstream, client, self._to_host), daemon=True
            ),
        ]
        for p in pumps:
            p.start()

    def _pump(self, src: socket.socket, dst: socket.socket, damager: _Damager) -> None:
        try:
            while not self._stop.is_set():
                data = src.recv(4096)
                if not data:
                    break
                out, delay = damager.apply(data)
                if delay:
                    time.sleep(delay)
                if out:
                    dst.sendall(out)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._stop.set()
        for s in [self._listener, *self._sockets]:
            with contextlib.suppress(OSError):
                s.close()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
