"""A small RFC 2217 serial server for the tests: pyserial's PortManager (the
protocol side of pyserial's examples/rfc2217_server.py) in front of a serial
URL, here an emulator's socket:// UART or a FAKE instrument's pty. It stands
for a serial server on the host a remote board (or meter) is attached to.
Bounded: loopback only, stops when told."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

import serial
import serial.rfc2217

UPSTREAM_WAIT = 10.0


def _without_modem_lines(port: serial.SerialBase) -> None:
    """A pty (a FAKE instrument's) has no modem lines: the ioctls fail. Make
    it answer as a USB CDC port does, lines steady and control ignored."""
    try:
        port.cts  # noqa: B018 - the ioctl is the question
    except (OSError, serial.SerialException):
        pass
    else:
        return

    class Steady(type(port)):  # type: ignore[misc]
        cts = dsr = cd = property(lambda self: True)
        ri = property(lambda self: False)

        def _update_dtr_state(self) -> None:
            pass

        def _update_rts_state(self) -> None:
            pass

        def _update_break_state(self) -> None:
            pass

    port.__class__ = Steady


class Rfc2217Server:
    """Serves one client at a time on 127.0.0.1:port; for each, opens the
    upstream serial URL (retrying while the emulator starts) and relays."""

    def __init__(self, upstream_url: str) -> None:
        self.upstream_url = upstream_url
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.port = int(self.listener.getsockname()[1])
        self.url = f"rfc2217://127.0.0.1:{self.port}"
        self.clients = 0
        self.to_device = 0  # payload bytes relayed, after RFC 2217 filtering
        self.to_host = 0
        self.baudrates: list[int] = []  # what clients set through RFC 2217
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> Rfc2217Server:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self.listener.close()

    def _open_upstream(self) -> serial.SerialBase | None:
        deadline = time.monotonic() + UPSTREAM_WAIT
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                return serial.serial_for_url(self.upstream_url, timeout=0.05)
            except serial.SerialException:
                time.sleep(0.05)
        return None

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.clients += 1
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with contextlib.closing(client):
                upstream = self._open_upstream()
                if upstream is None:
                    continue
                with contextlib.closing(upstream):
                    self._relay(client, upstream)

    def _relay(self, client: socket.socket, port: serial.SerialBase) -> None:
        lock = threading.Lock()

        class Connection:
            @staticmethod
            def write(data: bytes) -> None:
                with lock:
                    client.sendall(data)

        _without_modem_lines(port)
        manager = serial.rfc2217.PortManager(port, Connection())
        done = threading.Event()

        def device_to_host() -> None:
            while not done.is_set() and not self._stop.is_set():
                try:
                    data = port.read(port.in_waiting or 1)
                except (serial.SerialException, OSError):
                    break
                if data:
                    self.to_host += len(data)
                    try:
                        Connection.write(b"".join(manager.escape(data)))
                    except OSError:
                        break
            done.set()

        reader = threading.Thread(target=device_to_host, daemon=True)
        reader.start()
        client.settimeout(0.2)
        while not done.is_set() and not self._stop.is_set():
            try:
                data = client.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                break
            if not data:
                break
            payload = b"".join(manager.filter(data))
            if port.baudrate not in self.baudrates:
                self.baudrates.append(port.baudrate)
            if payload:
                self.to_device += len(payload)
                try:
                    port.write(payload)
                except (serial.SerialException, OSError):
                    break
        done.set()
        reader.join(2)
