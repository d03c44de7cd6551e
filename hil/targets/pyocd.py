"""pyOCD backend: a real board behind a debug probe. The image is flashed and
verified through pyOCD's Python API on a session opened with the probe's
unique id; the host link is the probe's USB virtual COM port (found by the
probe's USB serial number, or named in the board file's [serial] table), or,
with the memory transport, the agent's mailbox in RAM read and written
through the same pyOCD session (docs/memory-transport.md)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from typing import Any

import serial
from elftools.elf.elffile import ELFFile
from pyocd.core.helpers import ConnectHelper
from pyocd.flash.file_programmer import FileProgrammer
from serial.tools import list_ports

from hil.errors import LinkError, TargetError
from hil.link.mailbox import BLOCK, MailboxPort, mailbox_symbols
from hil.link.pyocd_memory import PyocdMemory
from hil.link.urls import open_url
from hil.targets.base import UART_PLACEHOLDER, Target

log = logging.getLogger(__name__)

SERIAL_TIMEOUT = 0.05


def _same_serial(port_serial: str | None, unique_id: str) -> bool:
    """USB serial numbers as the OS and as pyOCD spell them: ST-LINK's are the
    same string; J-Link's VCP pads the probe's number with leading zeros."""
    if not port_serial:
        return False
    if port_serial.casefold() == unique_id.casefold():
        return True
    return port_serial.isdigit() and unique_id.isdigit() and int(port_serial) == int(unique_id)


def find_serial_port(unique_id: str, ports: Sequence[Any] | None = None) -> str:
    """The device of the one serial port whose USB serial number is the probe's."""
    ports = list(list_ports.comports()) if ports is None else list(ports)
    mine = sorted(
        (p for p in ports if _same_serial(getattr(p, "serial_number", None), unique_id)),
        key=lambda p: str(p.device),
    )
    if len(mine) == 1:
        return str(mine[0].device)
    seen = ", ".join(f"{p.device} (serial {p.serial_number})" for p in ports) or "none"
    if not mine:
        raise TargetError(
            f"no serial port has USB serial number {unique_id} (the probe's); ports found: "
            f'{seen}; name the port with [serial] port = "..." in the board file'
        )
    raise TargetError(
        f"{len(mine)} serial ports belong to probe {unique_id}: "
        f'{", ".join(str(p.device) for p in mine)}; name one with [serial] port = "..."'
    )


def _loaded_segments(elf_path: str) -> list[tuple[int, bytes]]:
    with open(elf_path, "rb") as f:
        elf = ELFFile(f)
        return [
            (int(seg["p_paddr"]), seg.data()[: seg["p_filesz"]])
            for seg in elf.iter_segments()
            if seg["p_type"] == "PT_LOAD" and seg["p_filesz"] > 0
        ]


class PyocdTarget(Target):
    """Flashes once per target object; start() after that, and restart(), only
    reset the board and reopen its serial port."""

    link: serial.SerialBase | None = None
    flashed = False
    serial_url = ""
    #: "serial" or "memory" (asked for); `transport_used` says what runs.
    transport: str = "serial"
    transport_used: str = "serial"
    memory_link: MailboxPort | None = None

    @property
    def unique_id(self) -> str:
        return self.resolution.executable

    @property
    def pyocd_target(self) -> str:
        return str(self.resolution.board.backend("pyocd")["target"])

    def _session(self) -> Any:
        session = ConnectHelper.session_with_chosen_probe(
            blocking=False,
            return_first=True,
            unique_id=self.unique_id,
            auto_open=True,
            target_override=self.pyocd_target,
            hide_programming_progress=True,
        )
        if session is None:
            raise TargetError(f"debug probe {self.unique_id} is no longer attached")
        chosen = str(session.probe.unique_id)
        if chosen != self.unique_id:
            raise TargetError(
                f"pyOCD opened probe {chosen} when asked for {self.unique_id}; "
                'name the probe exactly with [backends.pyocd] unique_id = "..."'
            )
        return session

    def _serial_url(self) -> str:
        table = self.resolution.board.serial
        url = str(table.get("url") or "")
        if url and UART_PLACEHOLDER not in url:
            return url  # the probe's own port is not needed: do not look for it
        return self.link_url(str(table.get("port") or find_serial_port(self.unique_id)))

    def _open_link(self) -> serial.SerialBase:
        url = self.serial_url
        try:
            link = open_url(url, baudrate=self.resolution.board.baud, timeout=SERIAL_TIMEOUT)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise TargetError(
                f"cannot open serial port {url} of probe {self.unique_id}: {exc}"
            ) from exc
        link.reset_input_buffer()  # stale bytes from before the reset
        return link

    def _verify(self, session: Any) -> None:
        for address, data in _loaded_segments(str(self.image.elf)):
            read = bytes(session.target.read_memory_block8(address, len(data)))
            if read != data:
                first = next(
                    (i for i in range(min(len(read), len(data))) if read[i] != data[i]),
                    min(len(read), len(data)),
                )
                got = f"0x{read[first]:02x}" if first < len(read) else "nothing"
                raise TargetError(
                    f"flash verify failed on probe {self.unique_id}: byte at "
                    f"0x{address + first:08x} reads {got}, image has 0x{data[first]:02x}"
                )

    def start(self) -> serial.SerialBase:
        self.stop()
        if not self.serial_url:
            self.serial_url = self._serial_url()  # fails before the board is touched
        self.transport_used = "serial"
        with contextlib.ExitStack() as stack:
            session = stack.enter_context(self._session())
            if not self.flashed:
                log.info("flashing %s through probe %s", self.image.elf, self.unique_id)
                FileProgrammer(session).program(str(self.image.elf))
                session.target.halt()
                self._verify(session)
                self.flashed = True
            self.link = self._open_link()
            if self.transport == "memory":
                self._forget_mailbox(session)
            session.target.reset()
            if self.transport == "memory" and self._open_mailbox(session):
                stack.pop_all()  # the session stays open: the mailbox reads through it
                return self.memory_link or self.link
        return self.link

    def _forget_mailbox(self, session: Any) -> None:
        """Zero the control block before a reset: RAM survives a reset on
        a real board, and the host must not take the last run's block (and
        its offsets) for the new one before the agent has rebuilt it. A
        failure here is left to _open_mailbox to report."""
        with contextlib.suppress(LinkError):
            control, _ = mailbox_symbols(self.image.elf)
            PyocdMemory(session, self.unique_id).write(control, bytes(BLOCK.size))

    def _open_mailbox(self, session: Any) -> bool:
        """The mailbox pipe over SESSION, or False (one warning) when the image
        has no mailbox or the probe refuses: the serial link runs instead.
        No bell callbacks: the pipe writes the doorbell word the firmware
        names (an NVIC set-pending register on the STM32 ports) and polls
        the up ring, reading beside the running core."""
        try:
            control, doorbell = mailbox_symbols(self.image.elf)
            self.memory_link = MailboxPort(PyocdMemory(session, self.unique_id), control, doorbell)
        except LinkError as exc:
            log.warning("memory transport unavailable (%s); using the serial link", exc)
            return False
        self.transport_used = "memory"
        return True

    def restart(self) -> serial.SerialBase:
        """Reset through pyOCD (the image stays) and reopen the serial port."""
        return self.start()

    def stop(self) -> None:
        if self.memory_link is not None:
            with contextlib.suppress(LinkError, OSError):
                self.memory_link.close()  # and the pyOCD session it reads through
            self.memory_link = None
        if self.link is not None:
            with contextlib.suppress(serial.SerialException, OSError):
                self.link.close()
            self.link = None

    def diagnostics(self) -> str:
        return (
            f"pyOCD target {self.pyocd_target}, probe {self.unique_id}, "
            f"serial {self.serial_url or 'not found'}, transport {self.transport_used}"
        )
