"""Rack instances from a real labgrid farm (tests/labgrid_farm.py: a
labgrid-coordinator and a labgrid-exporter on loopback). The place's
NetworkSerialPort points at an RFC 2217 server in front of QEMU's UART, so
the example suite runs through the reservation; everything is checked from
the coordinator."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hil.rack.labgrid_places import Farm, FarmError, PlaceWatch
from tests.e2e.helpers import REPO, child_env, processes_tagged, pytest_args, run_child
from tests.labgrid_farm import LabgridFarm, free_port
from tests.rfc2217_server import Rfc2217Server

TAGS = {"board": "corstone300"}


class Setup:
    def __init__(self, farm: LabgridFarm, uart: int, server: Rfc2217Server) -> None:
        self.farm = farm
        self.uart = uart
        self.server = server

    def rack(self, path: Path, extra: str = "") -> Path:
        path.write_text(
            f'[labgrid]\ncoordinator = "{self.farm.address}"\n\n'
            f'[[instance]]\nname = "lab-a300"\nboard = "corstone300"\n'
            f'uart_port = {self.uart}\nlabgrid = {{ board = "corstone300" }}\n' + extra
        )
        return path

    def reservations(self) -> list[str]:
        """Tokens of the reservations the coordinator holds now."""
        out = self.farm.reservations()
        return [line.split("'")[1] for line in out.splitlines() if line.startswith("Reservation '")]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    uart = free_port()
    farm = LabgridFarm(tmp_path_factory.mktemp("labgrid"))
    with Rfc2217Server(f"socket://127.0.0.1:{uart}") as server:
        try:
            farm.start({"a300-serial": server.port})
            farm.add_place("lg-a300", "a300-serial", **TAGS)
            yield Setup(farm, uart, server)
        finally:
            farm.stop()


def test_a_place_is_reserved_described_and_released(lab: Setup) -> None:
    farm = Farm(lab.farm.address)
    farm.connect()
    try:
        links = farm.reserve(TAGS, timeout=5)
        assert (links.place, links.serial) == ("lg-a300", f"rfc2217://127.0.0.1:{lab.server.port}")
        assert lab.reservations() == [links.token]
        watch = PlaceWatch(lab.farm.address)
        assert watch.why_lost("lg-a300", links.token) == ""
        with pytest.raises(FarmError, match=r"no place has tags board=nope \(places: lg-a300 "):
            farm.reserve({"board": "nope"}, timeout=1)
        # Someone acquires the place behind the reservation's back: it is taken.
        assert lab.farm.client("-p", "lg-a300", "acquire").returncode == 0
        try:
            assert watch.why_lost("lg-a300", links.token) == (
                f"labgrid place lg-a300 was taken mid-run: acquired by {_me()}"
            )
        finally:
            lab.farm.client("-p", "lg-a300", "release")
        lab.farm.client("cancel-reservation", links.token)
        assert "was cancelled or expired" in watch.why_lost("lg-a300", links.token)
        watch.close()
    finally:
        farm.close()
    assert lab.reservations() == []


def _me() -> str:
    import getpass
    import socket

    return f"{socket.gethostname()}/{getpass.getuser()}"


def test_an_unreachable_coordinator_is_named() -> None:
    address = f"127.0.0.1:{free_port()}"
    with pytest.raises(FarmError, match=f"labgrid coordinator {address} unreachable"):
        Farm(address).connect()


def test_the_example_suite_runs_through_a_reservation(lab: Setup, tmp_path: Path,
                                                      process_tag: str) -> None:
    report = tmp_path / "report.json"
    started = time.monotonic()
    proc = run_child(
        pytest_args(
            "examples",
            f"--rack={lab.rack(tmp_path / 'rack.toml')}",
            f"--hil-report={report}",
            f"--hil-lock-dir={tmp_path / 'locks'}",
            "-n",
            "2",
            "-v",
        ),
        cwd=REPO,
        timeout=120,
    )
    took = time.monotonic() - started
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "hil: labgrid place lg-a300 -> instance lab-a300 (reservation " in proc.stdout
    assert f"; serial rfc2217://127.0.0.1:{lab.server.port}" in proc.stdout
    (case,) = json.loads(report.read_text())["cases"]
    assert case["instance"] == "lab-a300" and case["status"] == "pass"
    assert lab.server.to_host > 100 * 4  # the results came back through the place's port
    assert lab.reservations() == []  # released at the end
    assert processes_tagged(process_tag) == []
    print(f"labgrid session: {took:.1f} s", file=sys.stderr)


def test_a_busy_place_times_out_with_its_holder_named(lab: Setup, tmp_path: Path) -> None:
    holder = Farm(lab.farm.address)
    holder.connect()
    try:
        links = holder.reserve(TAGS, timeout=5)
        proc = run_child(
            pytest_args("examples", f"--rack={lab.rack(tmp_path / 'rack.toml')}",
                        "--hil-lock-timeout=1.5"),
            cwd=REPO,
            timeout=60,
        )
        assert proc.returncode == 4, proc.stdout + proc.stderr
        assert (
            "no labgrid place with tags board=corstone300 became free in 1.5 s "
            f"(--hil-lock-timeout): lg-a300 reserved by {_me()} (reservation {links.token})"
        ) in proc.stderr
        assert "Traceback" not in proc.stderr
        assert lab.reservations() == [links.token]  # the waiter's reservation is gone
    finally:
        holder.close()
    assert lab.reservations() == []


def test_places_are_released_when_the_session_fails_to_start(lab: Setup, tmp_path: Path) -> None:
    """The first place is reserved, the second instance's tags match no place:
    a usage error, and the first reservation is cancelled."""
    rack = lab.rack(
        tmp_path / "rack.toml",
        '\n[[instance]]\nname = "lab-x"\nboard = "corstone300"\nlabgrid = { board = "absent" }\n',
    )
    proc = run_child(pytest_args("examples", f"--rack={rack}"), cwd=REPO, timeout=60)
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert "no place has tags board=absent" in proc.stderr
    assert lab.reservations() == []


STEALER = """
import os, subprocess, sys
from pathlib import Path

def test_someone_takes_the_place(board):
    client = str(Path(sys.executable).parent / "labgrid-client")
    subprocess.run([client, "-p", "lg-a300", "acquire"], check=True, capture_output=True)
"""


def test_a_place_taken_mid_run_fails_the_case_with_the_reason(lab: Setup, tmp_path: Path) -> None:
    (tmp_path / "test_steal.py").write_text(STEALER)
    try:
        proc = run_child(
            pytest_args("-p", "no:labgrid", str(tmp_path / "test_steal.py"),
                        f"--rack={lab.rack(tmp_path / 'rack.toml')}", f"--rootdir={tmp_path}"),
            cwd=tmp_path,
            timeout=60,
            LG_COORDINATOR=lab.farm.address,
        )
    finally:
        lab.farm.client("-p", "lg-a300", "release")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "FAILED test_steal.py::test_someone_takes_the_place[lab-a300]" in proc.stdout
    assert f"labgrid place lg-a300 was taken mid-run: acquired by {_me()}" in proc.stdout
    assert lab.reservations() == []


def _queue_behind(lab: Setup, tmp_path: Path) -> subprocess.Popen[str]:
    """Starts the example suite while the place is held; returns once its
    reservation is queued behind the holder's."""
    waiter = subprocess.Popen(
        pytest_args("examples", f"--rack={lab.rack(tmp_path / 'rack.toml')}",
                    "--hil-lock-timeout=60", "-q"),
        cwd=REPO, env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    deadline = time.monotonic() + 30
    while len(lab.reservations()) < 2:
        if waiter.poll() is not None or time.monotonic() > deadline:
            waiter.kill()
            out, _ = waiter.communicate(timeout=30)
            raise AssertionError(f"the second session never queued a reservation:\n{out}")
        time.sleep(0.2)
    return waiter


def test_a_second_session_waits_for_the_place_then_runs(lab: Setup, tmp_path: Path) -> None:
    holder = Farm(lab.farm.address)
    holder.connect()
    try:
        holder.reserve(TAGS, timeout=5)
        waiter = _queue_behind(lab, tmp_path)
    finally:
        holder.close()
    out, _ = waiter.communicate(timeout=90)
    assert waiter.returncode == 0, out
    assert "1 passed" in out
    assert lab.reservations() == []


def test_ctrl_c_releases_the_place(lab: Setup, tmp_path: Path) -> None:
    holder = Farm(lab.farm.address)
    holder.connect()
    try:
        holder.reserve(TAGS, timeout=5)
        waiter = _queue_behind(lab, tmp_path)
        waiter.send_signal(signal.SIGINT)
        out, _ = waiter.communicate(timeout=30)
        assert waiter.returncode != 0
        assert "Traceback" not in out, out
        assert len(lab.reservations()) == 1  # the waiter's reservation went with it
    finally:
        holder.close()
    assert lab.reservations() == []
