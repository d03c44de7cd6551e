"""Rack instances from a real labgrid farm (tests/labgrid_farm.py: a
labgrid-coordinator and a labgrid-exporter on loopback). The place's
NetworkSerialPort points at an RFC 2217 server in front of QEMU's UART, so
the example suite runs through the reservation; everything is checked from
the coordinator."""

from __future__ import annotations

import contextlib
import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hil.rack.labgrid_places import Farm, FarmError, PlaceWatch
from tests.e2e.helpers import REPO, child_env, processes_tagged, pytest_args, run_child
from tests.labgrid_farm import LabgridFarm, free_port
from tests.rfc2217_server import Rfc2217Server

TAGS = {"board": "corstone300", "slot": "1"}


def instance(name: str, uart: int, slot: str) -> str:
    """A rack instance on an emulated board. QEMU listens on `uart` here and
    the place's RFC 2217 server forwards to it, so the tags pin the one place
    in front of this instance's emulator (a real board needs only `board`)."""
    return (
        f'\n[[instance]]\nname = "{name}"\nboard = "corstone300"\nuart_port = {uart}\n'
        f'labgrid = {{ board = "corstone300", slot = "{slot}" }}\n'
    )


class Setup:
    def __init__(self, farm: LabgridFarm, uarts: list[int], servers: list[Rfc2217Server]):
        self.farm = farm
        self.uart, self.uart2 = uarts[0], uarts[-1]
        self.server, self.server2 = servers[0], servers[-1]

    def rack(self, path: Path, extra: str = "", labgrid: str = "") -> Path:
        path.write_text(
            f'[labgrid]\ncoordinator = "{self.farm.address}"\n{labgrid}'
            + instance("lab-a300", self.uart, "1") + extra
        )
        return path

    def reservations(self) -> list[str]:
        """Tokens of the reservations the coordinator holds now."""
        return list(states(self.farm.address))


@contextlib.contextmanager
def farm_of(workdir: Path, places: int, clock_rate: float = 1.0) -> Iterator[Setup]:
    """Places lg-a300 (slot 1), lg-a300-2 (slot 2), ... each exporting an RFC
    2217 server in front of the UART port an emulator will listen on."""
    uarts = [free_port() for _ in range(places)]
    farm = LabgridFarm(workdir, clock_rate)
    with contextlib.ExitStack() as stack:
        servers = [stack.enter_context(Rfc2217Server(f"socket://127.0.0.1:{u}")) for u in uarts]
        try:
            farm.start({f"a300-serial-{i + 1}": s.port for i, s in enumerate(servers)})
            for i in range(places):
                name = "lg-a300" + (f"-{i + 1}" if i else "")
                farm.add_place(name, f"a300-serial-{i + 1}", board="corstone300", slot=str(i + 1))
            yield Setup(farm, uarts, servers)
        finally:
            farm.stop()


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    with farm_of(tmp_path_factory.mktemp("labgrid"), places=2) as setup:
        yield setup


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


def test_the_example_suite_runs_on_two_places_one_per_worker(lab: Setup, tmp_path: Path,
                                                             process_tag: str) -> None:
    report = tmp_path / "report.json"
    rack = lab.rack(tmp_path / "rack.toml", instance("lab-a300-2", lab.uart2, "2"))
    started = time.monotonic()
    proc = run_child(
        pytest_args(
            "examples",
            f"--hil-rack={rack}",
            f"--hil-report={report}",
            f"--hil-lock-dir={tmp_path / 'locks'}",
            "--hil-transport=serial",  # the results are counted through each place's port
            "-n",
            "2",
            "-v",
        ),
        cwd=REPO,
        timeout=120,
    )
    took = time.monotonic() - started
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    tokens = re.findall(r"hil: labgrid place (\S+) -> instance (\S+) \(reservation (\w+)\)", out)
    assert sorted((p, i) for p, i, _ in tokens) == [
        ("lg-a300", "lab-a300"), ("lg-a300-2", "lab-a300-2")
    ]
    assert len({t for _, _, t in tokens}) == 2  # two reservations, one place each
    for server in (lab.server, lab.server2):
        assert f"; serial rfc2217://127.0.0.1:{server.port}" in out
        assert server.to_host > 100 * 4  # the results came back through each place's port
    cases = json.loads(report.read_text())["cases"]
    assert sorted((c["instance"], c["status"]) for c in cases) == [
        ("lab-a300", "pass"), ("lab-a300-2", "pass")
    ]
    # Each xdist worker ran the cases of one place.
    workers = dict(re.findall(r"\[(gw\d)\] \[ *\d+%\] PASSED \S+\[(lab-a300(?:-2)?)-", out))
    assert len(workers) == 2, out
    assert lab.reservations() == []  # released at the end
    assert processes_tagged(process_tag) == []
    print(f"labgrid session: {took:.1f} s", file=sys.stderr)


def test_a_busy_place_times_out_with_its_holder_named(lab: Setup, tmp_path: Path) -> None:
    holder = Farm(lab.farm.address)
    holder.connect()
    try:
        links = holder.reserve(TAGS, timeout=5)
        proc = run_child(
            pytest_args("examples", f"--hil-rack={lab.rack(tmp_path / 'rack.toml')}",
                        "--hil-lock-timeout=1.5"),
            cwd=REPO,
            timeout=60,
        )
        assert proc.returncode == 4, proc.stdout + proc.stderr
        assert (
            "no labgrid place with tags board=corstone300 slot=1 became free in 1.5 s "
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
    proc = run_child(pytest_args("examples", f"--hil-rack={rack}"), cwd=REPO, timeout=60)
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
                        f"--hil-rack={lab.rack(tmp_path / 'rack.toml')}", f"--rootdir={tmp_path}"),
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


ON_THE_PLACE = """
def test_on_the_place(board):
    pass  # the session's place guard asks the coordinator before and after
"""


def quick_session(tmp_path: Path, rack: Path, *args: str) -> list[str]:
    """pytest on one case that runs on the place without starting a board."""
    (tmp_path / "test_on_the_place.py").write_text(ON_THE_PLACE)
    return pytest_args("-p", "no:labgrid", str(tmp_path / "test_on_the_place.py"),
                       f"--hil-rack={rack}", f"--rootdir={tmp_path}", *args)  # fmt: skip


def _queue_behind(lab: Setup, tmp_path: Path) -> subprocess.Popen[str]:
    """Starts a session while the place is held; returns once its
    reservation is queued behind the holder's."""
    waiter = subprocess.Popen(
        quick_session(tmp_path, lab.rack(tmp_path / "rack.toml"), "--hil-lock-timeout=60"),
        cwd=tmp_path, env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while len(states(lab.farm.address)) < 2:
        if waiter.poll() is not None or time.monotonic() > deadline:
            waiter.kill()
            out, _ = waiter.communicate(timeout=30)
            raise AssertionError(f"the second session never queued a reservation:\n{out}")
        time.sleep(0.1)
    return waiter


def test_a_second_session_waits_for_the_place_then_runs(lab: Setup, tmp_path: Path) -> None:
    holder = Farm(lab.farm.address)
    holder.connect()
    try:
        first = holder.reserve(TAGS, timeout=5)
        waiter = _queue_behind(lab, tmp_path)
        time.sleep(1.0)
        assert waiter.poll() is None  # still waiting
        (queued,) = set(states(lab.farm.address)) - {first.token}
        assert states(lab.farm.address)[queued] == "waiting"
    finally:
        holder.close()
    out, _ = waiter.communicate(timeout=90)
    assert waiter.returncode == 0, out
    assert f"hil: labgrid place lg-a300 -> instance lab-a300 (reservation {queued})" in out
    assert "1 passed" in out
    assert states(lab.farm.address) == {}


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


# labgrid's coordinator with its reservation clock RATE times faster: its 60 s
# expiry takes 3 s, its 15 s scheduling pass 0.75 s (tests/labgrid_fast_coordinator.py).
RATE = 20.0
EXPIRY = 60.0 / RATE
HOLDER = """
import time

def test_hold(board):
    time.sleep(120)
"""


@pytest.fixture(scope="module")
def fast_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    with farm_of(tmp_path_factory.mktemp("labgrid-fast"), places=1, clock_rate=RATE) as setup:
        yield setup


def states(address: str) -> dict[str, str]:
    """token -> state of every reservation, asked without refreshing any
    (GetReservations; only PollReservation refreshes)."""
    import grpc
    from labgrid.remote.common import Reservation
    from labgrid.remote.generated import labgrid_coordinator_pb2 as pb
    from labgrid.remote.generated.labgrid_coordinator_pb2_grpc import CoordinatorStub

    with grpc.insecure_channel(address) as channel:
        reply = CoordinatorStub(channel).GetReservations(pb.GetReservationsRequest(), timeout=10)
    return {r.token: r.state.name for r in map(Reservation.from_pb2, reply.reservations)}


def wait_for(what: str, check: Any, timeout: float) -> float:
    """Polls `check` until it is true; returns when (time.monotonic())."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
    return time.monotonic()


def test_a_killed_session_leaves_a_reservation_that_expires_for_the_next(
    fast_lab: Setup, tmp_path: Path, process_tag: str
) -> None:
    address = fast_lab.farm.address
    (tmp_path / "test_hold.py").write_text(HOLDER)
    rack = fast_lab.rack(tmp_path / "rack.toml", labgrid="keepalive = 0.5\n")
    killed = subprocess.Popen(
        pytest_args("-p", "no:labgrid", str(tmp_path / "test_hold.py"), f"--hil-rack={rack}",
                    f"--rootdir={tmp_path}", "-q"),
        cwd=tmp_path, env=child_env(HIL_PROCESS_TAG=process_tag),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for("the first session's reservation",
                 lambda: "allocated" in states(address).values(), 60)  # fmt: skip
        (token,) = states(address)
        # Kept alive by the session well past the coordinator's expiry.
        time.sleep(2 * EXPIRY)
        assert states(address) == {token: "allocated"}
    finally:
        killed.kill()  # SIGKILL: no cleanup of any kind runs
        killed.wait(30)
    killed_at = time.monotonic()
    assert states(address) == {token: "allocated"}  # nobody cancelled it
    nxt = subprocess.Popen(
        quick_session(tmp_path, rack, "--hil-lock-timeout=60"),
        cwd=tmp_path, env=child_env(HIL_PROCESS_TAG=process_tag),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        expired_at = wait_for(
            "the killed session's reservation to expire",
            lambda: states(address).get(token, "expired") == "expired",
            30,
        )
        # Expiry by the coordinator's clock: the last refresh was at most one
        # keep-alive (0.5 s) before the kill, then one scheduling pass.
        assert EXPIRY - 1.0 <= expired_at - killed_at <= EXPIRY + 2 * 0.75 + 1.0
        wait_for("the next session's reservation",
                 lambda: "allocated" in states(address).values(), 30)  # fmt: skip
        out, _ = nxt.communicate(timeout=120)
    finally:
        if nxt.poll() is None:
            nxt.kill()
            nxt.communicate()
    assert nxt.returncode == 0, out
    assert "1 passed" in out
    # The next session released its own reservation; the killed one's may stay
    # listed as expired until the coordinator purges it.
    assert set(states(address).items()) <= {(token, "expired")}
    assert processes_tagged(process_tag) == []
    print(f"killed session's reservation expired {expired_at - killed_at:.1f} s after SIGKILL "
          f"(coordinator clock x{RATE:g}: labgrid's 60 s expiry is {EXPIRY:g} s)", file=sys.stderr)


ENERGY_SUITE = """
from pathlib import Path
from hil import ModelCase

def test_hello(check_model):
    check_model(ModelCase(Path({model!r}), vectors=3, seed=2))
"""


def test_the_power_meter_comes_from_the_place(
    tmp_path: Path, process_tag: str, models_dir: Path
) -> None:
    """The place exports the meter's serial port as a NetworkSerialPort named
    power_meter (here an RFC 2217 server in front of a FAKE PPK2); the rack
    gives only the driver and its settings."""
    from tests.energy_synth import five_pulses
    from tests.fakes.fake_ppk2 import FakePpk2

    fake = FakePpk2(five_pulses(noise=0.01))
    uart = free_port()
    farm = LabgridFarm(tmp_path / "farm")
    with Rfc2217Server(f"socket://127.0.0.1:{uart}") as board, Rfc2217Server(fake.port) as meter:
        try:
            farm.start({"m4": {"NetworkSerialPort": board.port, "power_meter": meter.port}})
            farm.add_place("lg-m4", "m4", board="mps2-an386", power_meter="ppk2")
            rack = tmp_path / "rack.toml"
            rack.write_text(
                f'[labgrid]\ncoordinator = "{farm.address}"\n\n[[instance]]\nname = "m4-meter"\n'
                f'board = "mps2-an386"\nuart_port = {uart}\nlabgrid = {{ board = "mps2-an386" }}\n'
                'power_meter = { driver = "ppk2", source_mv = 3300, drain_s = 2.0 }\n'
            )
            suite = tmp_path / "test_energy_suite.py"
            suite.write_text(
                ENERGY_SUITE.format(model=str(models_dir / "hello_world_int8.tflite"))
            )
            report = tmp_path / "report.json"
            proc = run_child(
                pytest_args("-p", "no:labgrid", str(suite), f"--hil-rack={rack}",
                            f"--hil-report={report}", "--hil-energy-inferences=5", "-rA"),
                cwd=REPO, timeout=180, HIL_PROCESS_TAG=process_tag,
            )  # fmt: skip
            out = proc.stdout + proc.stderr
            assert proc.returncode == 0, out
            assert f"; power meter rfc2217://127.0.0.1:{meter.port}" in out
            (case,) = json.loads(report.read_text())["cases"]
            assert case["instance"] == "m4-meter" and case["status"] == "pass"
            energy = case["energy"]
            assert energy["modeled"] is False
            assert energy["meter"]["model"] == "Nordic PPK2 (HW 9173)"
            expected = fake.synth.expected_energy_per_inference_j()
            assert energy["energy_per_inference"]["value"] == pytest.approx(expected, rel=1e-3)
            assert meter.to_host > 100_000  # the samples came through the place's meter port
            assert farm.reservations() == ""
        finally:
            farm.stop()
            fake.close()
    assert processes_tagged(process_tag) == []


def test_ctrl_c_mid_run_releases_the_place(lab: Setup, tmp_path: Path, process_tag: str) -> None:
    address = lab.farm.address
    (tmp_path / "test_hold.py").write_text(HOLDER)
    session = subprocess.Popen(
        pytest_args("-p", "no:labgrid", str(tmp_path / "test_hold.py"),
                    f"--hil-rack={lab.rack(tmp_path / 'rack.toml')}", f"--rootdir={tmp_path}",
                    "-q"),
        cwd=tmp_path, env=child_env(HIL_PROCESS_TAG=process_tag),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        wait_for("the session's reservation", lambda: "allocated" in states(address).values(), 60)
        time.sleep(1.0)  # into the case
        session.send_signal(signal.SIGINT)
        out, _ = session.communicate(timeout=30)
    finally:
        if session.poll() is None:
            session.kill()
            session.communicate()
    assert session.returncode == 2, out  # pytest: interrupted
    assert "KeyboardInterrupt" in out and "Traceback" not in out
    assert states(address) == {}  # cancelled on the way out, not left to expire
    assert processes_tagged(process_tag) == []


def test_rack_check_asks_the_coordinator(lab: Setup, tmp_path: Path) -> None:
    from hil.rack.check import check_instance
    from hil.rack.rack import load_rack

    rack = load_rack(lab.rack(
        tmp_path / "rack.toml",
        '\n[[instance]]\nname = "lab-x"\nboard = "corstone300"\nlabgrid = { board = "absent" }\n',
    ))  # fmt: skip
    address = lab.farm.address
    free = check_instance(rack.instance("lab-a300"), coordinator=address)
    assert free.reachable, free.reason
    assert free.reason.startswith(
        f"labgrid {address} (board=corstone300 slot=1): lg-a300 free; qemu: "
    )
    holder = Farm(address)
    holder.connect()
    try:
        holder.reserve(TAGS, timeout=5)
        busy = check_instance(rack.instance("lab-a300"), coordinator=address)
    finally:
        holder.close()
    assert busy.reachable and f"lg-a300 reserved by {_me()};" in busy.reason
    absent = check_instance(rack.instance("lab-x"), coordinator=address)
    assert (absent.reachable, absent.reason) == (
        False, f"labgrid {address}: no place has tags board=absent"
    )  # fmt: skip
    gone = f"127.0.0.1:{free_port()}"
    down = check_instance(rack.instance("lab-a300"), coordinator=gone)
    assert not down.reachable and down.reason.startswith(f"labgrid coordinator {gone} unreachable")
