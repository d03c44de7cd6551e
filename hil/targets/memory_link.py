"""The memory transport on QEMU: the gdbstub on a TCP socket beside the UART,
and the mailbox pipe over it, or the serial link with a notice if it fails."""

from __future__ import annotations

import logging
from pathlib import Path

import serial

from hil.errors import LinkError
from hil.link.gdbremote import GdbRemote
from hil.link.mailbox import MailboxPort, mailbox_symbols

log = logging.getLogger(__name__)

TRANSPORTS = ("serial", "memory")


def gdb_args(port: int) -> list[str]:
    # nodelay: without it every small packet waits for a delayed ACK.
    return [
        "-chardev",
        f"socket,id=hilgdb,host=127.0.0.1,port={port},server=on,wait=off,nodelay=on",
        "-gdb",
        "chardev:hilgdb",
    ]


def open_memory_link(elf: Path, port: int, serial_link: serial.SerialBase) -> MailboxPort:
    control, doorbell = mailbox_symbols(elf)
    remote = GdbRemote("127.0.0.1", port)

    def ring_bell() -> None:
        # QEMU's gdbstub cannot write the NVIC, so a 0x00 on the UART wakes
        # the core from WFI; the agent drops it while it talks by mailbox.
        try:
            serial_link.write(b"\x00")
        except (serial.SerialException, OSError) as exc:
            raise LinkError(f"doorbell write failed: {exc}") from exc

    def wait_bell(seconds: float) -> bool:
        # The agent writes a 0x00 on the UART after a frame in the up ring.
        try:
            serial_link.timeout = seconds
            if not serial_link.read(1):
                return False
            serial_link.timeout = 0
            serial_link.read(1 << 12)  # bells that came meanwhile
            return True
        except (serial.SerialException, OSError) as exc:
            raise LinkError(f"serial link (the mailbox's bell) failed: {exc}") from exc

    try:
        return MailboxPort(remote, control, doorbell, ring_bell, wait_bell)
    except BaseException:
        remote.close()
        raise


def memory_or_serial(
    elf: Path, port: int | None, serial_link: serial.SerialBase
) -> tuple[serial.SerialBase, str]:
    """The mailbox pipe and "memory", or the serial link and "serial" (with a
    one-line notice) when the debug port is absent or refuses."""
    if port is None:
        log.warning("memory transport: this target has no debug port; using the serial link")
        return serial_link, "serial"
    try:
        return open_memory_link(elf, port, serial_link), "memory"
    except LinkError as exc:
        log.warning("memory transport unavailable (%s); using the serial link", exc)
        return serial_link, "serial"


def ask_transport(target: object, wanted: str) -> None:
    """Ask a target for a transport before it starts. QEMU and pyOCD targets
    have the memory transport; others keep serial and say so."""
    if wanted not in TRANSPORTS:
        raise LinkError(f"unknown transport {wanted!r} (known: {', '.join(TRANSPORTS)})")
    if hasattr(target, "transport"):
        target.transport = wanted
    elif wanted == "memory":
        log.warning("memory transport: %s has no debug port here; using the serial link", target)


def transport_used(target: object) -> str:
    return str(getattr(target, "transport_used", "serial"))
