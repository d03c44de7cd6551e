"""A firmware image the user built (`hil run --firmware app.elf`, a board
file's `firmware = "path"`, `ModelCase(firmware=...)`): checked before it is
flashed to carry hil's agent, speaking this hil's protocol version, laid out
inside the board's memories."""

from __future__ import annotations

from pathlib import Path

from elftools.common.exceptions import ELFError

from hil.boards.board import Board
from hil.errors import BuildError
from hil.firmware.build import FirmwareImage
from hil.firmware.image_check import agent_ident, check_image
from hil.link.protocol import PROTOCOL_VERSION

VARIANT = "prebuilt"
# FirmwareImage.engine of an image hil did not build: HELLO names its engine.
ENGINE = "own"


class FirmwareImageError(BuildError):
    """A prebuilt image hil refuses to flash."""


def prebuilt_firmware(path: Path, board: Board) -> FirmwareImage:
    """The image at PATH for BOARD, or FirmwareImageError saying in one line
    why it cannot be driven by hil."""
    path = Path(path)
    try:
        head = path.read_bytes()[:4]
    except OSError as exc:
        raise FirmwareImageError(f"firmware {path}: cannot read: {exc.strerror}") from exc
    if head != b"\x7fELF":
        raise FirmwareImageError(
            f"firmware {path}: not an ELF file (hil flashes and checks ELF images; "
            "give the linker's output, not a .bin or .hex)"
        )
    try:
        ident = agent_ident(path)
        problems = check_image(path, board.memory) if board.memory is not None else []
    except (ELFError, ValueError) as exc:
        raise FirmwareImageError(f"firmware {path}: unreadable ELF: {exc}") from exc
    if ident is None:
        raise FirmwareImageError(
            f"firmware {path}: no hil agent in this image (hil_agent_ident not found); "
            "link libhil_agent.a and feed it the host link's bytes, see docs/own-firmware.md"
        )
    if ident.protocol_version != PROTOCOL_VERSION:
        raise FirmwareImageError(
            f"firmware {path}: its agent speaks hil protocol version {ident.protocol_version}, "
            f"this hil speaks {PROTOCOL_VERSION}; relink it with this hil's agent library "
            "(hil firmware agent-lib)"
        )
    if problems:
        raise FirmwareImageError(
            f"firmware {path} does not fit board {board.name}: {'; '.join(problems)}"
        )
    return FirmwareImage(path.resolve(), ident.build_id, board.name, VARIANT, engine=ENGINE)
