"""A minimal GDB remote-protocol client for target memory: halt, read, write,
resume. Enough for QEMU's gdbstub; TCP_NODELAY, or every small packet waits
for a delayed ACK."""

from __future__ import annotations

import socket

from hil.errors import LinkError

# QEMU's gdbstub takes packets up to 4 KiB: 2000 bytes of data as hex fit.
CHUNK = 2000


def _checksum(data: bytes) -> bytes:
    return b"%02x" % (sum(data) & 0xFF)


class GdbRemote:
    def __init__(self, host: str, port: int, timeout: float = 5.0) -> None:
        try:
            self._sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as exc:
            raise LinkError(f"debug port {host}:{port} cannot be reached: {exc}") from exc
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buf = bytearray()
        self.running = False
        self._ack = True
        # QEMU stops the machine when a debugger connects.
        # Without acknowledgements where the stub allows it: half the packets.
        self._ack = self._request(b"QStartNoAckMode") != b"OK"

    def close(self) -> None:
        try:
            if not self.running:
                self._send(b"c")
        except LinkError:
            pass
        self._sock.close()

    # -- packets ---------------------------------------------------------------

    def _send(self, payload: bytes) -> None:
        try:
            self._sock.sendall(b"$" + payload + b"#" + _checksum(payload))
        except OSError as exc:
            raise LinkError(f"debug port write failed: {exc}") from exc

    def _recv_more(self) -> None:
        try:
            data = self._sock.recv(1 << 16)
        except TimeoutError as exc:
            raise LinkError("debug port did not answer in time") from exc
        except OSError as exc:
            raise LinkError(f"debug port read failed: {exc}") from exc
        if not data:
            raise LinkError("debug port closed the connection")
        self._buf += data

    def _packet(self) -> bytes:
        while True:
            start = self._buf.find(b"$")
            end = self._buf.find(b"#", start + 1) if start >= 0 else -1
            if end >= 0 and len(self._buf) >= end + 3:
                payload = bytes(self._buf[start + 1 : end])
                checksum = bytes(self._buf[end + 1 : end + 3])
                del self._buf[: end + 3]
                if self._ack:
                    self._sock.sendall(b"+")
                if checksum != _checksum(payload):
                    raise LinkError("debug port sent a packet with a bad checksum")
                return payload
            self._recv_more()

    def _request(self, payload: bytes) -> bytes:
        self._send(payload)
        reply = self._packet()
        # A stop reply (on connecting, say) answers no request.
        while reply[:1] in (b"T", b"S"):
            reply = self._packet()
        if reply[:1] == b"E" and len(reply) == 3:
            raise LinkError(f"debug port refused {payload[:1].decode()!r}: error {reply.decode()}")
        return reply

    # -- run control -----------------------------------------------------------

    def halt(self) -> None:
        if not self.running:
            return
        try:
            self._sock.sendall(b"\x03")
        except OSError as exc:
            raise LinkError(f"debug port write failed: {exc}") from exc
        while self._packet()[:1] not in (b"T", b"S"):
            pass
        self.running = False

    def resume(self) -> None:
        if self.running:
            return
        self._send(b"c")
        self.running = True

    # -- memory (the caller halts first) ---------------------------------------

    def read(self, addr: int, length: int) -> bytes:
        out = bytearray()
        while len(out) < length:
            n = min(CHUNK, length - len(out))
            reply = self._request(b"m%x,%x" % (addr + len(out), n))
            try:
                out += bytes.fromhex(reply.decode())
            except ValueError as exc:
                raise LinkError(f"debug port sent bad memory data: {reply[:40]!r}") from exc
        return bytes(out)

    def write(self, addr: int, data: bytes) -> None:
        for off in range(0, len(data), CHUNK):
            part = data[off : off + CHUNK]
            reply = self._request(b"M%x,%x:" % (addr + off, len(part)) + part.hex().encode())
            if reply != b"OK":
                raise LinkError(f"debug port did not write memory: {reply[:40]!r}")
