"""The rack file, selection, instance resolution, reachability and discovery;
real-hardware paths against FAKE pyOCD probes and FAKE serial ports."""

from __future__ import annotations

import dataclasses
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import serial

from hil.boards.board import load_board
from hil.boards.probes import ProbeInfo
from hil.boards.resolve import QEMU_BINARY
from hil.cli import main
from hil.errors import HilError
from hil.firmware.build import FirmwareImage
from hil.link.urls.protocol_rfc2217 import Serial as HilRfc2217
from hil.rack import Instance, RackFileError, load_rack, select_instances
from hil.rack.check import check_instance
from hil.rack.discover import propose, usb_ports
from hil.rack.resolve import resolve_instance
from hil.rack.serial_match import find_port, parse_serial_match
from hil.targets import create_target
from hil.targets.base import link_url
from tests.fakes.fake_pyocd import FakeBoardInfo, FakePort, FakeProbe, install
from tests.rfc2217_server import Rfc2217Server
from tests.unit.test_pyocd_backend import TINY_IMAGE

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ST = FakeProbe("0670FF485550755187121723", "STMicroelectronics", "STM32 STLink")
CMSIS = FakeProbe("0240000034544e45", "ARM", "DAPLink CMSIS-DAP", FakeBoardInfo("nrf52840"))
ST_VCP = FakePort("/dev/ttyACM0", ST.unique_id, "FAKE STLink VCP", 0x0483, 0x374B)
OTHER_VCP = FakePort("/dev/ttyUSB0", "A50285BI", "FAKE FTDI", 0x0403, 0x6001)

RACK = """
name = "nightly"

[[instance]]
name = "a300"
board = "corstone300"
tags = ["m55", "npu"]

[[instance]]
name = "a386"
board = "mps2-an386"
tags = ["m4"]

[[instance]]
name = "l4-1"
board = "nucleo-l4r5zi"
probe = "0670FF485550755187121723"
serial = "0670FF485550755187121723"
power_meter = { driver = "ppk2", port = "/dev/ttyACM3", source_mv = 3300 }
tags = ["meter", "m4"]
"""


def write(tmp_path: Path, text: str, name: str = "rack.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_rack_file_loads_with_every_field(tmp_path: Path) -> None:
    rack = load_rack(write(tmp_path, RACK))
    assert rack.name == "nightly"
    assert [i.name for i in rack.instances] == ["a300", "a386", "l4-1"]
    l4 = rack.instance("l4-1")
    assert (l4.board, l4.probe, l4.serial) == ("nucleo-l4r5zi", ST.unique_id, ST.unique_id)
    assert l4.power_meter is not None and l4.tags == ("meter", "m4")
    assert l4.power_meter.describe() == "ppk2:port=/dev/ttyACM3,source_mv=3300"
    assert rack.instance("a300").power_meter is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "instance: missing (required)"),
        ("instance = []", "instance: empty"),
        ("[[instance]]\nboard = 'corstone300'", "instance[0]: name: missing (required)"),
        ("[[instance]]\nname = 'a'", "instance 'a': board: missing (required)"),
        (
            "[[instance]]\nname = 'a'\nboard = 'nope'",
            "instance 'a': board: no board named 'nope'",
        ),
        (
            "[[instance]]\nname = 'a'\nboard = 'corstone300'\ntags = 'npu'",
            "instance 'a': tags: expected list, got str 'npu'",
        ),
        (
            "[[instance]]\nname = 'a'\nboard = 'corstone300'\nprobe = 5",
            "instance 'a': probe: expected str, got int 5",
        ),
        (
            "[[instance]]\nname = 'a'\nboard = 'corstone300'\nprob = 'x'",
            "instance 'a': prob: unknown field",
        ),
        ("[[instance]]\nname = 'a b'\nboard = 'corstone300'", "instance 'a b': name: 'a b'"),
        (
            "[[instance]]\nname = 'a'\nboard = 'corstone300'\nprobe = 'X1'",
            "instance 'a': probe: board corstone300 is not run through a probe",
        ),
        (
            "[[instance]]\nname = 'a'\nboard = 'nucleo-l4r5zi'\nprobe = 'remote:host'",
            "instance 'a': probe: 'remote:host': expected remote:HOST:PORT",
        ),
        (
            "[[instance]]\nname = 'a'\nboard = 'corstone300'\nbackend = 'pyocd'",
            "instance 'a': backend: board corstone300 has no 'pyocd' backend",
        ),
        (
            "[[instance]]\nname = 'a'\nboard = 'corstone300'\nserial = 'rfc2217://host'",
            "instance 'a': serial: 'rfc2217://host': expected rfc2217://HOST:PORT",
        ),
        (
            "[[instance]]\nname = 'a'\nboard = 'nucleo-l4r5zi'\nuart_port = 5555",
            "instance 'a': uart_port: only for emulated instances",
        ),
        (
            "[[instance]]\nname = 'a'\nboard = 'corstone300'\n"
            "[[instance]]\nname = 'a'\nboard = 'mps2-an386'",
            "instance 'a': name: used twice",
        ),
        (
            "[[instance]]\nname = 'a'\nboard = 'corstone300'\npower_meter = 'ppk2 at ttyACM3'",
            "instance 'a': power_meter: unknown meter driver 'ppk2 at ttyACM3'",
        ),
        (
            "[[instance]]\nname = 'a'\nboard = 'corstone300'\n"
            "power_meter = { driver = 'ppk2', source_mv = '3.3V' }",
            "instance 'a': power_meter: meter ppk2: source_mv='3.3V' is not an integer",
        ),
        (
            "[[instance]]\nname = 'a'\nboard = 'corstone300'\nlabgrid = { board = 'x' }",
            "instance 'a': labgrid: needs the rack's [labgrid] coordinator",
        ),
        (
            "[labgrid]\ncoordinator = 'lab:20408'\n[[instance]]\nname = 'a'\n"
            "board = 'corstone300'\nlabgrid = { Board = 'x' }",
            "instance 'a': labgrid.Board: a labgrid tag is lower-case",
        ),
        (
            "[labgrid]\ncoordinator = 'lab'\n[[instance]]\nname = 'a'\n"
            "board = 'corstone300'\nlabgrid = {}",
            "instance 'a': labgrid: empty",
        ),
        (
            "[labgrid]\ncoordinator = 'lab'\n[[instance]]\nname = 'a'\nboard = 'corstone300'\n"
            "serial = 'rfc2217://h:1'\nlabgrid = { board = 'x' }",
            "instance 'a': serial: comes from the labgrid place",
        ),
        (
            "[labgrid]\naddress = 'lab'\n[[instance]]\nname = 'a'\nboard = 'corstone300'",
            "labgrid.address: unknown field (known: coordinator, keepalive)",
        ),
        (
            "[labgrid]\ncoordinator = 'lab'\nkeepalive = 60\n"
            "[[instance]]\nname = 'a'\nboard = 'corstone300'",
            "labgrid.keepalive: 60 s: expected more than 0 and less than labgrid's 60 s",
        ),
        (
            "[labgrid]\ncoordinator = 'lab'\nkeepalive = '10s'\n"
            "[[instance]]\nname = 'a'\nboard = 'corstone300'",
            "labgrid.keepalive: expected a number, got str '10s'",
        ),
        (
            "[labgrid]\ncoordinator = ' '\n[[instance]]\nname = 'a'\nboard = 'corstone300'",
            "labgrid.coordinator: empty",
        ),
        ("[[instance]\n", "not valid TOML"),
    ],
)
def test_rack_errors_name_the_file_and_the_field(tmp_path: Path, body: str, message: str) -> None:
    path = write(tmp_path, body)
    with pytest.raises(RackFileError) as err:
        load_rack(path)
    assert str(err.value).startswith(f"{path}: "), err.value
    assert message in str(err.value)


def test_a_missing_rack_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(RackFileError, match=r"cannot read rack file .*nope\.toml"):
        load_rack(tmp_path / "nope.toml")


def test_selection_by_name_type_and_tag(tmp_path: Path) -> None:
    rack = load_rack(write(tmp_path, RACK))

    def names(*selectors: str) -> list[str]:
        return [i.name for i in select_instances(rack, selectors)]

    assert names() == ["a300", "a386", "l4-1"]
    assert names("a386") == ["a386"]
    assert names("corstone300") == ["a300"]
    assert names("m4") == ["a386", "l4-1"]
    assert names("meter", "npu") == ["a300", "l4-1"]  # any selector matches
    assert names("tag:meter") == ["l4-1"]
    assert names("board:mps2-an386") == ["a386"]
    assert names("name:a300") == ["a300"]
    with pytest.raises(RackFileError, match=r"no instance matches 'gpu' \(names: a300, a386"):
        names("gpu")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("rfc2217://10.0.0.5:4000", "url"),
        ("socket://127.0.0.1:5000", "url"),
        ("/dev/serial/by-id/usb-STM_STLink_0670FF48-if02", "path"),
        ("0483:374B", "vid_pid"),
        ("0670FF485550755187121723", "serial_number"),
    ],
)
def test_serial_match_forms(text: str, kind: str) -> None:
    assert parse_serial_match(text).kind == kind


def test_serial_match_finds_the_one_port() -> None:
    ports = [ST_VCP, OTHER_VCP]
    assert find_port(parse_serial_match(ST.unique_id), ports) == "/dev/ttyACM0"
    assert find_port(parse_serial_match("0403:6001"), ports) == "/dev/ttyUSB0"
    with pytest.raises(Exception, match="no serial port has USB VID:PID 1366:0105"):
        find_port(parse_serial_match("1366:0105"), ports)
    twins = [ST_VCP, FakePort("/dev/ttyACM1", "X", "", 0x0483, 0x374B)]
    with pytest.raises(Exception, match="2 serial ports have USB VID:PID 0483:374b"):
        find_port(parse_serial_match("0483:374b"), twins)


def test_emulated_instances_resolve_to_qemu_with_the_instance_name(tmp_path: Path) -> None:
    entry = resolve_instance(load_rack(write(tmp_path, RACK)).instance("a300"))
    assert entry.resolution is not None and entry.backend == "qemu"
    assert entry.resolution.instance == "a300"
    assert entry.describe().startswith("a300 [corstone300] -> qemu mps3-an547")
    assert link_url(entry.resolution.board.serial, "socket://127.0.0.1:5") == (
        "socket://127.0.0.1:5"  # QEMU's own socket
    )


def test_an_emulator_behind_a_serial_url_is_routed_there() -> None:
    inst = Instance("e", "mps2-an386", serial="rfc2217://127.0.0.1:4000", uart_port=5555)
    entry = resolve_instance(inst)
    assert entry.resolution is not None
    assert entry.resolution.board.backend("qemu")["uart_port"] == 5555
    own = "socket://127.0.0.1:5555"
    assert link_url(entry.resolution.board.serial, own) == "rfc2217://127.0.0.1:4000"
    assert serial.protocol_handler_packages[0] == "hil.link.urls"


def test_a_probe_instance_pins_its_probe_and_port(monkeypatch: pytest.MonkeyPatch) -> None:
    install(monkeypatch, [CMSIS, ST], [ST_VCP, OTHER_VCP])
    inst = Instance("l4-1", "nucleo-l4r5zi", probe=ST.unique_id, serial=ST.unique_id)
    entry = resolve_instance(inst, [ST_VCP, OTHER_VCP])
    assert entry.resolution is not None
    assert (entry.backend, entry.resolution.executable) == ("pyocd", ST.unique_id)
    assert entry.resolution.board.serial == {"url": "/dev/ttyACM0"}
    assert check_instance(inst, [ST_VCP, OTHER_VCP]).reachable


def test_an_absent_probe_or_port_is_unreachable_with_the_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    install(monkeypatch, [CMSIS], [OTHER_VCP])
    inst = Instance("l4-1", "nucleo-l4r5zi", probe=ST.unique_id)
    r = check_instance(inst, [OTHER_VCP])
    assert not r.reachable
    assert f"probe {ST.unique_id}" in r.reason and "attached: 0240000034544e45" in r.reason
    install(monkeypatch, [ST], [OTHER_VCP])
    r = check_instance(Instance("l4-1", "nucleo-l4r5zi", probe=ST.unique_id, serial="0483:374b"))
    assert not r.reachable and "no serial port has USB VID:PID 0483:374b" in r.reason
    r = check_instance(
        Instance("l4-1", "nucleo-l4r5zi", probe=ST.unique_id, serial="/dev/ttyACM0"), [OTHER_VCP]
    )
    assert not r.reachable and r.reason == "serial: /dev/ttyACM0 absent"


def test_emulator_reachability_is_the_binary(monkeypatch: pytest.MonkeyPatch) -> None:
    assert check_instance(Instance("a", "mps2-an386")).reachable
    monkeypatch.setenv("PATH", "/nonexistent")
    r = check_instance(Instance("a", "mps2-an386"))
    assert not r.reachable and f"no {QEMU_BINARY} on PATH" in r.reason


@pytest.fixture(scope="module")
def tiny_image(tmp_path_factory: pytest.TempPathFactory) -> FirmwareImage:
    """The pyOCD tests' tiny image at the L4R5's flash base."""
    gcc = shutil.which("arm-none-eabi-gcc")
    if gcc is None:
        pytest.fail("arm-none-eabi-gcc not installed (tools/setup.sh installs it)", pytrace=False)
    work = tmp_path_factory.mktemp("tiny")
    (work / "tiny.s").write_text(TINY_IMAGE)
    elf = work / "tiny.elf"
    subprocess.run(
        [gcc, "-mcpu=cortex-m4", "-mthumb", "-nostdlib", "-Wl,-Ttext=0x08000000",
         "-Wl,-e,0x08000000", str(work / "tiny.s"), "-o", str(elf)],
        check=True,
    )  # fmt: skip
    return FirmwareImage(elf, "tiny", "nucleo-l4r5zi", "release")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_remote_probe_and_serial_urls_are_reachable_if_they_accept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    install(monkeypatch, [], [])
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        inst = Instance(
            "far", "nucleo-l4r5zi", probe=f"remote:127.0.0.1:{port}",
            serial=f"rfc2217://127.0.0.1:{port}",
        )  # fmt: skip
        r = check_instance(inst)
        assert r.reachable and r.backend == "pyocd", r.reason
        assert f"probe server remote:127.0.0.1:{port} accepts connections" in r.reason
    closed = _closed_port()
    r = check_instance(Instance("far", "nucleo-l4r5zi", probe=f"remote:127.0.0.1:{closed}",
                                serial=f"rfc2217://127.0.0.1:{closed}"))  # fmt: skip
    assert not r.reachable and f"cannot connect to 127.0.0.1:{closed}" in r.reason
    r = check_instance(Instance("far", "nucleo-l4r5zi", probe=f"remote:127.0.0.1:{closed}"))
    assert not r.reachable and "is remote: name its UART" in r.reason


def test_a_remote_probe_goes_to_pyocd_and_its_uart_through_rfc2217(
    monkeypatch: pytest.MonkeyPatch, tiny_image: FirmwareImage
) -> None:
    """FAKE pyOCD: the session is asked for the probe server's id; the UART is
    a real RFC 2217 link (pyserial's PortManager in front of loop://)."""
    remote = FakeProbe("remote:127.0.0.1:5555", "pyOCD", "remote probe")
    rack = install(monkeypatch, [remote], [])
    with Rfc2217Server("loop://") as server:
        inst = Instance("far", "nucleo-l4r5zi", probe=remote.unique_id, serial=server.url)
        entry = resolve_instance(inst)
        assert entry.resolution is not None and entry.resolution.executable == remote.unique_id
        target = create_target(entry.resolution, tiny_image)
        try:
            link = target.start()
            assert isinstance(link, HilRfc2217)
            assert rack.options[0]["unique_id"] == "remote:127.0.0.1:5555"
            assert rack.events[0] == "open remote:127.0.0.1:5555" and "reset" in rack.events
            link.write(b"\xffhello\xff")  # IAC bytes are escaped both ways
            link.timeout = 2
            assert link.read(7) == b"\xffhello\xff"
        finally:
            target.stop()


def test_setting_timeouts_does_not_renegotiate_rfc2217() -> None:
    with Rfc2217Server("loop://") as server:
        from hil.link.urls import register

        register()
        link = serial.serial_for_url(server.url, timeout=0.05)
        try:
            assert isinstance(link, HilRfc2217)
            for i in range(200):  # pyserial's own client: >= 50 ms each
                link.timeout = 0 if i % 2 else 0.05
            link.baudrate = 115200  # line settings still reach the server
            link.timeout = 1
            link.write(b"ping")
            assert link.read(4) == b"ping"
            assert 115200 in server.baudrates
        finally:
            link.close()


def test_discover_proposes_rack_entries(tmp_path: Path) -> None:
    from hil.boards import list_boards

    probes = [
        ProbeInfo(CMSIS.unique_id, "ARM", "DAPLink CMSIS-DAP", "nrf52840"),
        ProbeInfo(ST.unique_id, "STMicroelectronics", "STM32 STLink", ""),
    ]
    cmsis_vcp = FakePort("/dev/ttyACM1", CMSIS.unique_id, "DAPLink VCP", 0x0D28, 0x0204)
    builtin = FakePort("/dev/ttyS0", None, "n/a")
    ports = usb_ports([cmsis_vcp, ST_VCP, OTHER_VCP, builtin])
    assert builtin not in ports
    text = propose(probes, ports, list_boards(), by_id={})
    data = tomllib.loads(text)  # only entries that can run are not commented out
    assert data["instance"] == [
        {
            "name": "nrf52840-dk",
            "board": "nrf52840-dk",
            "probe": CMSIS.unique_id,
            "serial": CMSIS.unique_id,
            "tags": [],
        }
    ]
    assert "# could be any of: nucleo-h743zi2, nucleo-l4r5zi" in text
    assert f'# probe = "{ST.unique_id}"' in text
    assert '# serial = "A50285BI"' in text and "# serial port /dev/ttyUSB0" in text
    rack = load_rack(write(tmp_path, text))
    assert rack.instances[0].board == "nrf52840-dk"
    assert propose([], [], list_boards()) == ""


def test_discover_with_nothing_attached_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    install(monkeypatch, [], [])
    monkeypatch.setattr("serial.tools.list_ports.comports", lambda: [FakePort("/dev/ttyS0", None)])
    assert main(["boards", "--discover"]) == 0
    assert "found no debug probes and no USB serial ports" in capsys.readouterr().out


def test_rack_check_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    closed = _closed_port()
    path = write(
        tmp_path,
        RACK.split('[[instance]]\nname = "l4-1"')[0]
        + f'[[instance]]\nname = "far"\nboard = "mps2-an386"\n'
        f'serial = "socket://127.0.0.1:{closed}"\n',
    )
    assert main(["rack", "check", str(path), "--board", "a300"]) == 0
    assert "1 of 1 instances reachable now" in capsys.readouterr().out
    assert main(["rack", "check", str(path)]) == 1
    out = capsys.readouterr().out
    assert "2 of 3 instances reachable now" in out and "cannot connect" in out


def test_the_instance_a_test_id_names() -> None:
    from hil.rack.select import instance_of

    names = ["a300", "a300-1", "a386"]
    assert instance_of("t.py::test[a300-hello]", names) == "a300"
    assert instance_of("t.py::test[a300-1-hello]", names) == "a300-1"
    assert instance_of("t.py::test[hello-a386]", names) == "a386"
    assert instance_of("t.py::test[x-a386-y]", names) == "a386"
    assert instance_of("t.py::test[a386]", names) == "a386"
    assert instance_of("t.py::test[a300-hello]@a386", names) == "a386"  # xdist's suffix wins
    assert instance_of("t.py::test[a3000-hello]", names) is None
    assert instance_of("t.py::test_plain", names) is None


def test_a_rack_names_a_labgrid_coordinator_and_place_tags(tmp_path: Path) -> None:
    rack = load_rack(
        write(
            tmp_path,
            "[labgrid]\ncoordinator = 'lab.example:20408'\n"
            "[[instance]]\nname = 'far'\nboard = 'corstone300'\n"
            "labgrid = { board = 'corstone300', npu = 'u55' }\n"
            "[[instance]]\nname = 'near'\nboard = 'corstone300'\n",
        )
    )
    assert rack.coordinator == "lab.example:20408"
    assert rack.keepalive == 10.0  # well inside labgrid's 60 s reservation expiry
    far, near = rack.instances
    assert far.labgrid == (("board", "corstone300"), ("npu", "u55"))
    assert near.labgrid == ()  # a local instance in the same rack


def test_a_labgrid_place_gives_its_serial_port_and_probe() -> None:
    from hil.rack.labgrid_places import links_from_resources

    links = links_from_resources(
        "p1",
        [
            ("NetworkPowerPort", "NetworkPowerPort", {"host": "pdu", "index": 1}),
            ("NetworkSerialPort", "power_meter", {"host": "exp1", "port": 4002}),
            ("NetworkSerialPort", "uart", {"host": "exp1", "port": 4001, "speed": 115200}),
            ("NetworkService", "NetworkService",
             {"address": "exp1", "port": 5555, "username": "pyocd"}),
        ],
        {"board": "nrf", "power_meter": "ppk2"},
    )  # fmt: skip
    assert (links.serial, links.probe) == ("rfc2217://exp1:4001", "remote:exp1:5555")
    assert (links.meter, links.meter_driver) == ("rfc2217://exp1:4002", "ppk2")
    raw = links_from_resources(
        "p2", [("NetworkSerialPort", "uart", {"host": "h", "port": 1, "protocol": "raw"})]
    )
    assert (raw.serial, raw.probe, raw.meter) == ("socket://h:1", "", "")


def test_rfc2217_urls_get_hils_handler_without_a_rack() -> None:
    with Rfc2217Server("loop://") as server:
        from hil.link.urls import open_url

        serial.protocol_handler_packages[:] = [
            p for p in serial.protocol_handler_packages if p != "hil.link.urls"
        ]
        link = open_url(server.url, timeout=0.05)
        try:
            assert isinstance(link, HilRfc2217)
        finally:
            link.close()


def test_a_place_with_a_power_meter_port_gives_the_instance_its_meter(tmp_path: Path) -> None:
    from hil.energy.spec import meter_spec
    from hil.pytestplugin.labgrid import place_meter
    from hil.rack.labgrid_places import FarmError, PlaceLinks
    from hil.rack.rack import Instance

    bare = Instance("far", "corstone300", labgrid=(("board", "corstone300"),))
    table = meter_spec("ppk2", {"serial": "C1", "source_mv": 3300})
    at = "rfc2217://exp1:4002"
    # The driver from the place's tag; the port from its power_meter resource.
    tagged = PlaceLinks("p1", "rfc2217://exp1:4001", meter=at, meter_driver="lpm01a")
    assert place_meter(bare, tagged) == meter_spec("lpm01a", {"port": at})
    # The rack's table gives driver and settings; the place's port replaces its serial.
    untagged = PlaceLinks("p1", "rfc2217://exp1:4001", meter=at)
    with_table = dataclasses.replace(bare, power_meter=table)
    assert place_meter(with_table, untagged) == meter_spec("ppk2", {"source_mv": 3300, "port": at})
    # No meter on the place: the rack's own (a meter on this host), if any.
    assert place_meter(with_table, PlaceLinks("p1", "x")) is table
    assert place_meter(bare, PlaceLinks("p1", "x")) is None
    with pytest.raises(FarmError, match=r"lg \(instance far\) has a power_meter port but no "):
        place_meter(bare, PlaceLinks("lg", "x", meter=at))
    with pytest.raises(FarmError, match="the place's meter is a lpm01a, the rack's power_meter a"):
        place_meter(with_table, tagged)
    with pytest.raises(FarmError, match="meter driver 'joulescope' is not reached through a "):
        place_meter(bare, PlaceLinks("lg", "x", meter=at, meter_driver="joulescope"))


def test_a_labgrid_rack_without_labgrid_installed_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from hil.rack.labgrid_places import Farm, FarmError, PlaceWatch

    monkeypatch.setitem(sys.modules, "labgrid.remote.generated.labgrid_coordinator_pb2", None)
    message = r"coordinator lab:1 needs labgrid \(.*\): pip install 'hil\[labgrid\]'"
    with pytest.raises(FarmError, match=message):
        Farm("lab:1").connect()
    with pytest.raises(FarmError, match=message):
        PlaceWatch("lab:1").describe({"board": "x"})


def test_an_instance_names_its_default_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hil.firmware.engine_choice import ENV, choose_engine

    monkeypatch.delenv(ENV, raising=False)
    text = RACK.replace('name = "a386"\n', 'name = "a386"\nengine = "hil"\n', 1)
    inst = load_rack(write(tmp_path, text)).instance("a386")
    assert inst.engine == "hil"
    board = load_board(inst.board)
    choice = choose_engine(board, None, (inst.engine, inst.name))
    assert (choice.engine, choice.reason) == ("hil", "rack instance a386's default")
    # A request on the command line still wins over the instance's default.
    assert choose_engine(board, "hil", ("tflm", inst.name)).reason == "requested"
    bad = RACK.replace('name = "a386"\n', 'name = "a386"\nengine = "tvm"\n', 1)
    with pytest.raises(HilError, match=r"engine.*'tvm' is not one of hil, tflm, tflm-cmsis-nn"):
        load_rack(write(tmp_path, bad, "bad.toml"))
