"""FAKE pyOCD and FAKE USB serial ports, for testing hil's pyOCD backend at
pyOCD's API boundary on a machine with no debug probe. Not pyOCD: only the
names hil imports (ConnectHelper, FileProgrammer, serial.tools.list_ports)
with the behaviour hil relies on, plus a log of what was done, in order.

The fake board has RAM, and when the flashed image has the agent's mailbox
symbols a FAKE agent at reset lays out the RTT-style control block and, each
time the host writes the doorbell word, answers the HELLO frames the down
ring holds through the up ring (tests/fakes/fake_mailbox.py). RAM survives
a reset, as on a board.

`install(monkeypatch, probes=[...], ports=[...])` puts the fakes in place of
the names hil.boards.probes and hil.targets.pyocd imported."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection
from pyocd.core.exceptions import TransferFaultError

from tests.fakes.fake_mailbox import FakeAgent


@dataclass
class FakeBoardInfo:
    target: str


@dataclass
class FakeProbe:
    """A FAKE debug probe as pyOCD's DebugProbe presents one."""

    unique_id: str
    vendor_name: str = "STMicroelectronics"
    product_name: str = "STM32 STLink"
    associated_board_info: FakeBoardInfo | None = None

    @property
    def description(self) -> str:
        return f"{self.vendor_name} {self.product_name}"


@dataclass
class FakePort:
    """A FAKE entry of serial.tools.list_ports.comports()."""

    device: str
    serial_number: str | None
    description: str = "FAKE VCP"
    vid: int | None = None  # USB vendor and product ids (None: not a USB port)
    pid: int | None = None


@dataclass
class FakeRack:
    """What is attached, and what hil did to it, in order."""

    probes: list[FakeProbe]
    ports: list[FakePort]
    events: list[str] = field(default_factory=list)
    flash: dict[int, int] = field(default_factory=dict)  # address -> byte, per board
    corrupt_at: int | None = None  # a flash address that programs wrongly
    options: list[dict[str, Any]] = field(default_factory=list)
    ram: dict[int, int] = field(default_factory=dict)  # address -> byte; unset reads 0
    symbols: dict[str, int] = field(default_factory=dict)  # of the flashed image
    agent: FakeAgent | None = None  # the mailbox side of the flashed agent, after reset
    fault_after: int | None = None  # RAM accesses that work before the probe faults
    sessions_open: int = 0


class FakeTarget:
    def __init__(self, rack: FakeRack) -> None:
        self.rack = rack

    def halt(self) -> None:
        self.rack.events.append("halt")

    def reset(self) -> None:
        self.rack.events.append("reset")  # RAM survives it, as on a board
        self.rack.agent = FakeAgent.boot(self.rack.symbols, self)

    def _access(self, address: int) -> None:
        if address < 0x20000000:
            return  # flash reads (the verify) never fault here
        if self.rack.fault_after is not None:
            if self.rack.fault_after <= 0:
                raise TransferFaultError(address, 4)
            self.rack.fault_after -= 1

    def read_memory_block8(self, address: int, size: int) -> list[int]:
        self._access(address)
        if address < 0x20000000:
            self.rack.events.append(f"read 0x{address:08x} {size}")
            return [self.rack.flash.get(address + i, 0xFF) for i in range(size)]
        return [self.rack.ram.get(address + i, 0) for i in range(size)]

    def write_memory_block8(self, address: int, data: list[int]) -> None:
        self._access(address)
        for i, byte in enumerate(data):
            self.rack.ram[address + i] = byte & 0xFF

    def write_memory_block32(self, address: int, words: list[int]) -> None:
        assert address % 4 == 0, "pyOCD takes aligned word addresses"
        self._access(address)
        if len(words) > 1:  # not a ring offset nor the doorbell: worth a line in the log
            self.rack.events.append(f"write 0x{address:08x} {4 * len(words)}")
        for n, word in enumerate(words):
            for i in range(4):
                self.rack.ram[address + 4 * n + i] = (word >> (8 * i)) & 0xFF
        if self.rack.agent is not None:
            self.rack.agent.on_write(address, words)


class FakeSession:
    def __init__(self, rack: FakeRack, probe: FakeProbe, options: dict[str, Any]) -> None:
        self.rack = rack
        self.probe = probe
        self.options = options
        self.target = FakeTarget(rack)

        self.is_open = False

    def __enter__(self) -> FakeSession:
        self.rack.events.append(f"open {self.probe.unique_id}")
        self.is_open = True
        self.rack.sessions_open += 1
        return self

    def close(self) -> None:
        if self.is_open:
            self.is_open = False
            self.rack.sessions_open -= 1
            self.rack.events.append("close")

    def __exit__(self, *exc: object) -> None:
        self.close()


def make_connect_helper(rack: FakeRack) -> Any:
    class FakeConnectHelper:
        """FAKE pyocd.core.helpers.ConnectHelper."""

        @staticmethod
        def get_all_connected_probes(
            blocking: bool = True, unique_id: str | None = None, print_wait_message: bool = True
        ) -> list[FakeProbe]:
            assert blocking is False, "hil must never wait for a probe"
            found = [p for p in rack.probes if unique_id is None or unique_id in p.unique_id]
            return sorted(found, key=lambda p: p.description + p.unique_id)

        @staticmethod
        def session_with_chosen_probe(
            blocking: bool = True,
            return_first: bool = False,
            unique_id: str | None = None,
            auto_open: bool = True,
            options: dict[str, Any] | None = None,
            **kwargs: Any,
        ) -> FakeSession | None:
            assert blocking is False, "hil must never wait for a probe"
            found = FakeConnectHelper.get_all_connected_probes(False, unique_id)
            if not found:
                return None
            if len(found) > 1 and not return_first:
                raise AssertionError("pyOCD would ask on the terminal which probe to use")
            merged = {**(options or {}), **kwargs}
            rack.options.append({"unique_id": unique_id, **merged})
            return FakeSession(rack, found[0], merged)

    return FakeConnectHelper


def make_file_programmer(rack: FakeRack) -> Any:
    class FakeFileProgrammer:
        """FAKE pyocd.flash.file_programmer.FileProgrammer: writes the ELF's
        loadable segments into the fake board's flash."""

        def __init__(self, session: FakeSession, **kwargs: Any) -> None:
            self.session = session

        def program(self, path: str, file_format: str | None = None, **kwargs: Any) -> None:
            rack.events.append(f"program {path}")
            with open(path, "rb") as f:
                elf = ELFFile(f)
                table = elf.get_section_by_name(".symtab")
                if isinstance(table, SymbolTableSection):
                    rack.symbols = {s.name: int(s["st_value"]) for s in table.iter_symbols()}
                for seg in elf.iter_segments():
                    if seg["p_type"] != "PT_LOAD" or seg["p_filesz"] == 0:
                        continue
                    for i, byte in enumerate(seg.data()[: seg["p_filesz"]]):
                        rack.flash[seg["p_paddr"] + i] = byte
            if rack.corrupt_at is not None:
                rack.flash[rack.corrupt_at] ^= 0xFF

    return FakeFileProgrammer


def install(
    monkeypatch: pytest.MonkeyPatch,
    probes: list[FakeProbe] | None = None,
    ports: list[FakePort] | None = None,
) -> FakeRack:
    import hil.boards.probes
    import hil.targets.pyocd

    rack = FakeRack(list(probes or []), list(ports or []))
    helper = make_connect_helper(rack)
    monkeypatch.setattr(hil.boards.probes, "ConnectHelper", helper)
    monkeypatch.setattr(hil.targets.pyocd, "ConnectHelper", helper)
    monkeypatch.setattr(hil.targets.pyocd, "FileProgrammer", make_file_programmer(rack))
    monkeypatch.setattr(
        hil.targets.pyocd, "list_ports", SimpleNamespace(comports=lambda: list(rack.ports))
    )
    return rack
