"""The pyOCD backend's logic against a FAKE pyOCD (tests/fakes/fake_pyocd.py):
probe selection, flashing order, serial port discovery, `hil probes`, and
the memory transport through the probe (a FAKE agent's mailbox rings)."""

from __future__ import annotations

import dataclasses
import logging
import shutil
import subprocess
from pathlib import Path

import pytest

from hil.boards import Resolution, load_board, resolve
from hil.boards.board import Board
from hil.boards.probes import select_probe
from hil.cli import main
from hil.errors import LinkError, TargetError
from hil.firmware.build import FirmwareImage
from hil.link.mailbox import MailboxPort
from hil.link.protocol import Command
from hil.link.session import Session
from hil.targets import create_target
from hil.targets.memory_link import ask_transport, transport_used
from hil.targets.pyocd import PyocdTarget, find_serial_port
from hil.targets.transport import choose_transport
from tests.fakes.fake_pyocd import FakeBoardInfo, FakePort, FakeProbe, FakeRack, install

ST = FakeProbe("0670FF485550755187121723", "STMicroelectronics", "STM32 STLink")
ST2 = FakeProbe("004300243133510F37363734", "STMicroelectronics", "STLINK-V3")
JLINK = FakeProbe("683123456", "Segger", "J-Link OB-nRF5340-NordicSemi")
CMSIS = FakeProbe("0240000034544e45", "ARM", "DAPLink CMSIS-DAP", FakeBoardInfo("nrf52840"))


TINY_IMAGE = """
    .syntax unified
    .thumb
    .section .text
    .word 0x20001000
    .word reset + 1
    .fill 64, 1, 0xa5
reset:
    b reset
"""


@pytest.fixture
def l4r5() -> Board:
    return load_board("nucleo-l4r5zi")


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> FirmwareImage:
    """A tiny image at the L4R5's flash base, so these tests need nothing of
    the firmware tree (vector table, then 64 bytes of 0xa5)."""
    return assemble(tmp_path_factory.mktemp("tiny"), TINY_IMAGE)


def with_pyocd(board: Board, **pyocd: object) -> Board:
    backends = {**board.backends, "pyocd": {**board.backend("pyocd"), **pyocd}}
    return dataclasses.replace(board, backends=backends)


def test_one_attached_probe_is_used_and_the_reason_says_so(monkeypatch, l4r5: Board) -> None:
    install(monkeypatch, [ST, JLINK])
    res = resolve(l4r5)
    assert (res.backend, res.executable) == ("pyocd", ST.unique_id)
    assert res.describe() == (
        f"nucleo-l4r5zi -> pyocd stm32l4r5zitx via {ST.unique_id} (the only matching probe "
        f"attached: {ST.unique_id} (STMicroelectronics STM32 STLink))"
    )


def test_a_probe_named_by_id_is_chosen_among_several(monkeypatch, l4r5: Board) -> None:
    install(monkeypatch, [ST, ST2])
    probe, why = select_probe(with_pyocd(l4r5, unique_id=ST2.unique_id))
    assert probe.unique_id == ST2.unique_id
    assert why.startswith(f"probe {ST2.unique_id} (STMicroelectronics STLINK-V3) named by")


def test_no_probe_says_what_was_looked_for(monkeypatch, l4r5: Board) -> None:
    install(monkeypatch, [])
    with pytest.raises(TargetError) as info:
        resolve(l4r5)
    assert str(info.value) == (
        "board nucleo-l4r5zi: no backend can run it: pyocd: no debug probe attached "
        "(looked for a probe for target stm32l4r5zitx from STMicroelectronics)"
    )


def test_only_other_probes_are_listed(monkeypatch, l4r5: Board) -> None:
    install(monkeypatch, [JLINK])
    with pytest.raises(
        TargetError,
        match=r"none of the attached probes is a probe for target "
        r"stm32l4r5zitx .*attached: 683123456 \(Segger J-Link",
    ):
        select_probe(l4r5)


def test_several_matching_probes_are_listed(monkeypatch, l4r5: Board) -> None:
    install(monkeypatch, [ST, ST2])
    with pytest.raises(TargetError) as info:
        select_probe(l4r5)
    text = str(info.value)
    assert text.startswith("2 probes match (a probe for target stm32l4r5zitx")
    assert f"{ST.unique_id} (STMicroelectronics STM32 STLink)" in text
    assert f"{ST2.unique_id} (STMicroelectronics STLINK-V3)" in text
    assert "[backends.pyocd] unique_id" in text


def test_a_probe_whose_board_pyocd_knows_matches_by_target(monkeypatch) -> None:
    install(monkeypatch, [CMSIS])
    probe, _ = select_probe(load_board("nrf52840-dk"))
    assert probe.unique_id == CMSIS.unique_id


def test_flash_verify_reset_in_order(monkeypatch, l4r5: Board, image: FirmwareImage) -> None:
    rack = install(monkeypatch, [ST], [FakePort("loop://", ST.unique_id)])
    target = create_target(resolve(l4r5), image)
    assert isinstance(target, PyocdTarget)
    link = target.start()
    assert link.is_open and link.baudrate == l4r5.baud  # the board file's [link] baud
    assert rack.options == [
        {
            "unique_id": ST.unique_id,
            "target_override": "stm32l4r5zitx",
            "hide_programming_progress": True,
        }
    ]
    events = rack.events
    assert events[:3] == [f"open {ST.unique_id}", f"program {image.elf}", "halt"]
    reads = [e for e in events if e.startswith("read ")]
    assert reads == ["read 0x08000000 74"]  # every loaded segment, read back
    assert events[-2:] == ["reset", "close"]
    assert events.index("reset") > events.index(reads[-1])
    # A later start (Dut.restart) resets the board; the image stays.
    rack.events.clear()
    target.restart()
    assert rack.events == [f"open {ST.unique_id}", "reset", "close"]
    target.stop()
    assert not link.is_open


def test_a_flash_that_reads_back_wrong_fails(
    monkeypatch, l4r5: Board, image: FirmwareImage
) -> None:
    rack = install(monkeypatch, [ST], [FakePort("loop://", ST.unique_id)])
    rack.corrupt_at = 0x08000010
    target = create_target(resolve(l4r5), image)
    with pytest.raises(TargetError, match=r"flash verify failed on probe .*byte at 0x08000010"):
        target.start()
    assert "reset" not in rack.events


def test_a_probe_gone_since_resolution_is_reported(
    monkeypatch, l4r5: Board, image: FirmwareImage
) -> None:
    rack = install(monkeypatch, [ST], [FakePort("loop://", ST.unique_id)])
    target = create_target(resolve(l4r5), image)
    rack.probes.clear()
    with pytest.raises(TargetError, match=f"debug probe {ST.unique_id} is no longer attached"):
        target.start()


def test_serial_port_is_found_by_the_probes_serial_number() -> None:
    ports = [
        FakePort("/dev/ttyS0", None),
        FakePort("/dev/ttyACM1", ST2.unique_id),
        FakePort("/dev/ttyACM0", ST.unique_id),
    ]
    assert find_serial_port(ST.unique_id, ports) == "/dev/ttyACM0"
    # J-Link's VCP pads the probe's serial number with zeros.
    assert find_serial_port("683123456", [FakePort("/dev/ttyACM3", "000683123456")]) == (
        "/dev/ttyACM3"
    )


def test_serial_port_missing_or_ambiguous_is_an_error() -> None:
    with pytest.raises(
        TargetError,
        match=r"no serial port has USB serial number X1.*"
        r"/dev/ttyS0 \(serial None\).*\[serial\] port",
    ):
        find_serial_port("X1", [FakePort("/dev/ttyS0", None)])
    with pytest.raises(TargetError, match=r"2 serial ports belong to probe X1: /dev/a, /dev/b"):
        find_serial_port("X1", [FakePort("/dev/b", "X1"), FakePort("/dev/a", "X1")])


def test_a_board_file_serial_port_wins(monkeypatch, l4r5: Board, image: FirmwareImage) -> None:
    rack = install(monkeypatch, [ST], [])  # no port carries the probe's serial number
    board = dataclasses.replace(l4r5, serial={"url": "loop://"})
    target = create_target(resolve(board), image)
    assert target.start().is_open and rack.events[-1] == "close"
    target.stop()


def test_no_serial_port_fails_before_flashing(
    monkeypatch, l4r5: Board, image: FirmwareImage
) -> None:
    rack = install(monkeypatch, [ST], [FakePort("/dev/ttyS0", None)])
    target = create_target(resolve(l4r5), image)
    with pytest.raises(TargetError, match="no serial port has USB serial number"):
        target.start()
    assert rack.events == []


def test_hil_probes_lists_probes_and_their_boards(monkeypatch, capsys) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    install(monkeypatch, [ST, JLINK])
    assert main(["probes"]) == 0
    out = capsys.readouterr().out
    st_row = next(line for line in out.splitlines() if ST.unique_id in line)
    assert "STMicroelectronics" in st_row and "STM32 STLink" in st_row
    assert "nucleo-h743zi2, nucleo-l4r5zi" in st_row
    jlink_row = next(line for line in out.splitlines() if JLINK.unique_id in line)
    assert "Segger" in jlink_row and "nrf52840-dk" in jlink_row


def test_hil_probes_with_none_attached(monkeypatch, capsys) -> None:
    install(monkeypatch, [])
    assert main(["probes"]) == 0
    assert capsys.readouterr().out.strip() == "no debug probes attached"


MAILBOX_IMAGE = (
    TINY_IMAGE
    + """
    .global hil_mailbox
    .global hil_mailbox_doorbell
    .equ hil_mailbox, 0x20000400
    .equ hil_mailbox_doorbell, 0x20000380
"""
)


@pytest.fixture(scope="module")
def mailbox_image(tmp_path_factory: pytest.TempPathFactory) -> FirmwareImage:
    """The tiny image with the agent's mailbox symbols (in SRAM1)."""
    work = tmp_path_factory.mktemp("tiny-mailbox")
    return assemble(work, MAILBOX_IMAGE)


def assemble(work: Path, text: str) -> FirmwareImage:
    gcc = shutil.which("arm-none-eabi-gcc")
    if gcc is None:
        pytest.fail("arm-none-eabi-gcc not installed (tools/setup.sh installs it)", pytrace=False)
    (work / "tiny.s").write_text(text)
    elf = work / "tiny.elf"
    subprocess.run(
        [
            gcc,
            "-mcpu=cortex-m4",
            "-mthumb",
            "-nostdlib",
            "-Wl,-Ttext=0x08000000",
            "-Wl,-e,0x08000000",
            str(work / "tiny.s"),
            "-o",
            str(elf),
        ],
        check=True,
    )
    return FirmwareImage(elf, "tiny", "nucleo-l4r5zi", "release")


def memory_target(
    monkeypatch: pytest.MonkeyPatch, l4r5: Board, image: FirmwareImage
) -> tuple[FakeRack, PyocdTarget]:
    rack = install(monkeypatch, [ST], [FakePort("loop://", ST.unique_id)])
    target = create_target(resolve(l4r5), image)
    assert isinstance(target, PyocdTarget)
    ask_transport(target, "memory")
    return rack, target


def test_memory_transport_flashes_resets_and_talks_through_the_rings(
    monkeypatch, l4r5: Board, mailbox_image: FirmwareImage
) -> None:
    rack, target = memory_target(monkeypatch, l4r5, mailbox_image)
    link = target.start()
    assert isinstance(link, MailboxPort) and transport_used(target) == "memory"
    events = rack.events
    assert events[:3] == [f"open {ST.unique_id}", f"program {mailbox_image.elf}", "halt"]
    # The last run's control block is zeroed before the reset (RAM survives it).
    assert events[-2:] == ["write 0x20000400 72", "reset"] and rack.sessions_open == 1
    # A Session's HELLO through the down ring and the doorbell, its answer
    # through the up ring (polled: a probe has no bell to wait on).
    session = Session(link, timeout=2.0)
    for _ in range(3):  # the up ring wraps
        hello = session.hello()
        assert (hello.board, hello.clock_hz, hello.build_id) == (
            "nucleo-l4r5zi",
            120_000_000,
            "FAKE0001",
        )
    assert rack.agent is not None and rack.agent.requests == [Command.HELLO] * 3
    assert rack.agent.bells >= 3
    # restart: a reset and a fresh mailbox on a fresh session; the image stays.
    rack.events.clear()
    assert isinstance(target.restart(), MailboxPort) and not link.is_open
    assert rack.events == ["close", f"open {ST.unique_id}", "write 0x20000400 72", "reset"]
    target.stop()
    assert rack.sessions_open == 0 and rack.events[-1] == "close"


def test_a_probe_fault_on_the_mailbox_is_one_link_error(
    monkeypatch, l4r5: Board, mailbox_image: FirmwareImage
) -> None:
    rack, target = memory_target(monkeypatch, l4r5, mailbox_image)
    link = target.start()
    rack.fault_after = 0
    link.timeout = 0.1
    with pytest.raises(LinkError) as caught:
        link.read(1)
    message = str(caught.value)
    assert "\n" not in message
    # The up ring's offsets are what a read looks at first.
    assert message.startswith(f"probe {ST.unique_id}: read of 8 bytes at 0x20000424 failed:")
    assert "transfer fault" in message.lower()
    target.stop()


def test_an_image_without_a_mailbox_falls_back_to_serial(
    monkeypatch, caplog, l4r5: Board, image: FirmwareImage
) -> None:
    rack, target = memory_target(monkeypatch, l4r5, image)
    with caplog.at_level(logging.WARNING):
        link = target.start()
    assert not isinstance(link, MailboxPort) and link.is_open
    assert transport_used(target) == "serial" and rack.sessions_open == 0
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "has no hil_mailbox symbol" in warnings[0] and "using the serial link" in warnings[0]
    target.stop()


def test_a_probe_refusing_the_mailbox_falls_back_to_serial(
    monkeypatch, caplog, l4r5: Board, mailbox_image: FirmwareImage
) -> None:
    rack, target = memory_target(monkeypatch, l4r5, mailbox_image)
    rack.fault_after = 0  # the first RAM access faults
    with caplog.at_level(logging.WARNING):
        link = target.start()
    assert not isinstance(link, MailboxPort) and transport_used(target) == "serial"
    assert rack.sessions_open == 0
    assert sum(r.levelno == logging.WARNING for r in caplog.records) == 1
    target.stop()


def test_pyocd_boards_with_a_mailbox_port_default_to_memory(l4r5: Board) -> None:
    for name in ("nucleo-l4r5zi", "nucleo-h743zi2"):
        res = resolution_of(name)
        assert choose_transport(res).describe() == "memory (the board's fastest of memory, serial)"
    assert choose_transport(resolution_of("nrf52840-dk")).transport == "serial"


def resolution_of(name: str) -> Resolution:
    return Resolution(load_board(name), "pyocd", "0670FF", "detail", "test")
