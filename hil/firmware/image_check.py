"""Check a firmware ELF against the board's memory map: the vector table at
the code base with a sane initial stack pointer and reset vector, and every
loaded or reserved section inside the part's memories."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from elftools.elf.constants import SH_FLAGS
from elftools.elf.elffile import ELFFile

from hil.boards.memory import MemoryMap

PT_LOAD = "PT_LOAD"


def _read_word(elf: ELFFile, address: int) -> int | None:
    """The 32-bit word the image loads at `address` (by load address)."""
    for segment in elf.iter_segments():
        if segment["p_type"] != PT_LOAD:
            continue
        start = segment["p_paddr"]
        if start <= address and address + 4 <= start + segment["p_filesz"]:
            data = segment.data()[address - start : address - start + 4]
            return int(struct.unpack("<I", data)[0])
    return None


def _symbol(elf: ELFFile, name: str) -> int | None:
    symtab = elf.get_section_by_name(".symtab")
    if symtab is None:
        return None
    found = symtab.get_symbol_by_name(name)  # type: ignore[attr-defined]
    return int(found[0]["st_value"]) if found else None


def check_image(elf_path: Path, memory: MemoryMap) -> list[str]:
    """Problems found, each a sentence naming the address; empty if none."""
    problems: list[str] = []
    with open(elf_path, "rb") as f:
        elf = ELFFile(f)
        base = memory.code.base
        sp = _read_word(elf, base)
        reset = _read_word(elf, base + 4)
        if sp is None or reset is None:
            problems.append(f"no vector table loaded at the code base 0x{base:08x}")
        else:
            ram = next((r for r in memory.ram if r.contains(sp)), None)
            if ram is None:
                problems.append(f"initial SP 0x{sp:08x} is in no RAM region")
            elif sp % 8:
                problems.append(f"initial SP 0x{sp:08x} is not 8-byte aligned")
            if not reset & 1:
                problems.append(f"reset vector 0x{reset:08x} lacks the Thumb bit")
            if not memory.code.contains(reset & ~1, 2):
                problems.append(f"reset vector 0x{reset:08x} is outside {memory.code.describe()}")
            handler = _symbol(elf, "Reset_Handler")
            if handler is not None and handler & ~1 != reset & ~1:
                problems.append(
                    f"reset vector 0x{reset:08x} is not Reset_Handler (0x{handler:08x})"
                )
        for section in elf.iter_sections():
            size = int(section["sh_size"])
            if not section["sh_flags"] & SH_FLAGS.SHF_ALLOC or size == 0:
                continue
            start = int(section["sh_addr"])
            if memory.region_of(start, size) is None:
                problems.append(
                    f"section {section.name} at 0x{start:08x}..0x{start + size:08x} "
                    "lies outside the part's memories"
                )
        for segment in elf.iter_segments():
            if segment["p_type"] != PT_LOAD or segment["p_filesz"] == 0:
                continue
            start, size = int(segment["p_paddr"]), int(segment["p_filesz"])
            if not memory.code.contains(start, size):
                problems.append(
                    f"loaded contents at 0x{start:08x}..0x{start + size:08x} are not in "
                    f"{memory.code.describe()} (they must be programmed there)"
                )
    return problems


AGENT_MAGIC = b"hil-agent-ident\0"  # firmware/include/hil/agent.h, hil_agent_ident_t
_IDENT = struct.Struct("<16sI32s")


@dataclass(frozen=True)
class AgentIdent:
    """What a firmware image's hil_agent_ident record says."""

    protocol_version: int
    build_id: str


def agent_ident(elf_path: Path) -> AgentIdent | None:
    """The agent's ident record in the image's loaded bytes (found without
    symbols, so stripped images work), or None when no agent is linked."""
    with open(elf_path, "rb") as f:
        elf = ELFFile(f)
        for segment in elf.iter_segments():
            if segment["p_type"] != PT_LOAD or segment["p_filesz"] == 0:
                continue
            data = segment.data()
            at = data.find(AGENT_MAGIC)
            while at >= 0 and at % 4:  # the record is word-aligned; skip a stray string
                at = data.find(AGENT_MAGIC, at + 1)
            if at >= 0 and at + _IDENT.size <= len(data):
                _, version, raw = _IDENT.unpack_from(data, at)
                build_id = raw.split(b"\0", 1)[0].decode("ascii", errors="replace")
                return AgentIdent(int(version), build_id)
    return None
