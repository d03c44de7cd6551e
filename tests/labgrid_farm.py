"""A throwaway labgrid farm for tests: a real labgrid-coordinator and
labgrid-exporter on loopback (free ports, temp dir), and places made with
labgrid-client, each matching the NetworkSerialPorts of one exporter group.
With clock_rate > 1 the coordinator is labgrid's own with its reservation
clock sped up (tests/labgrid_fast_coordinator.py), so expiry takes seconds."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

BIN = Path(sys.executable).parent
FAST_COORDINATOR = Path(__file__).with_name("labgrid_fast_coordinator.py")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LabgridFarm:
    def __init__(self, workdir: Path, clock_rate: float = 1.0) -> None:
        self.workdir = Path(workdir)
        self.clock_rate = clock_rate
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.procs: list[subprocess.Popen[bytes]] = []

    def client(self, *args: str, user: str = "") -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, LG_COORDINATOR=self.address)
        if user:
            env["LG_USERNAME"] = user
        return subprocess.run(
            [str(BIN / "labgrid-client"), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )

    def _spawn(self, name: str, *args: str) -> None:
        log = open(self.workdir / f"{name}.log", "wb")  # noqa: SIM115 - closed with the farm
        self.procs.append(
            subprocess.Popen(
                [str(BIN / name), *args], cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT
            )
        )

    def start(self, groups: Mapping[str, int | Mapping[str, int]]) -> None:
        """One exporter group per name, exporting a NetworkSerialPort at
        127.0.0.1:port, or several ({resource name: port}; a name other than
        NetworkSerialPort is a named NetworkSerialPort, e.g. power_meter)."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self.clock_rate == 1.0:
            self._spawn("labgrid-coordinator", "-l", self.address)
        else:
            self._spawn("python", str(FAST_COORDINATOR), f"{self.clock_rate:g}",
                        "-l", self.address)
        config = ""
        for group, ports in groups.items():
            config += f"{group}:\n"
            named = {"NetworkSerialPort": ports} if isinstance(ports, int) else ports
            for resource, port in named.items():
                cls = "" if resource == "NetworkSerialPort" else "    cls: NetworkSerialPort\n"
                config += f"  {resource}:\n{cls}    host: 127.0.0.1\n    port: {port}\n"
        (self.workdir / "exporter.yaml").write_text(config)
        deadline = time.monotonic() + 20
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"labgrid-coordinator did not listen: see {self.workdir}")
            time.sleep(0.1)
        self._spawn("labgrid-exporter", "-c", self.address, "-n", "exp", "--hostname",
                    "127.0.0.1", str(self.workdir / "exporter.yaml"))
        while "NetworkSerialPort" not in self.client("resources").stdout:
            if time.monotonic() > deadline:
                raise RuntimeError(f"labgrid-exporter did not register: see {self.workdir}")
            time.sleep(0.2)

    def add_place(self, name: str, group: str, **tags: str) -> None:
        for args in (
            ("-p", name, "create"),
            ("-p", name, "add-match", f"exp/{group}/NetworkSerialPort"),
            ("-p", name, "set-tags", *(f"{k}={v}" for k, v in tags.items())),
        ):
            done = self.client(*args)
            if done.returncode:
                raise RuntimeError(f"labgrid-client {' '.join(args)}: {done.stderr}")

    def reservations(self) -> str:
        return self.client("reservations").stdout

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
