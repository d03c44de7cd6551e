"""Flash and static RAM of a firmware image, read from its ELF sections."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from elftools.elf.elffile import ELFFile


@dataclass(frozen=True)
class Footprint:
    text: int
    rodata: int
    data: int
    bss: int
    stack: int  # reserved for the main stack
    model_region: int  # RAM reserved for models sent over the link
    arena_region: int  # RAM the engine may use as its arena
    #: A TFLM image's op resolver: "all" builtins or only the "model"'s ("": hil's engine).
    tflm_ops: str = ""

    @property
    def flash(self) -> int:
        """Bytes the image occupies in non-volatile memory (code, constants,
        initial values of .data)."""
        return self.text + self.rodata + self.data

    @property
    def static_ram(self) -> int:
        return self.data + self.bss

    def to_dict(self) -> dict[str, Any]:
        figures = {
            "flash": self.flash,
            "text": self.text,
            "rodata": self.rodata,
            "data": self.data,
            "bss": self.bss,
            "static_ram": self.static_ram,
            "stack_reserved": self.stack,
            "model_region": self.model_region,
            "arena_region": self.arena_region,
        }
        ops = {"tflm_ops": self.tflm_ops} if self.tflm_ops else {}
        return {k: {"value": v, "unit": "B"} for k, v in figures.items()} | {
            "source": "ELF section headers"
        } | ops

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Footprint:
        """The inverse of to_dict (KeyError, TypeError or ValueError if it is not one)."""

        def value(key: str) -> int:
            return int(data[key]["value"])

        return cls(
            text=value("text"),
            rodata=value("rodata"),
            data=value("data"),
            bss=value("bss"),
            stack=value("stack_reserved"),
            model_region=value("model_region"),
            arena_region=value("arena_region"),
        )


def footprint(elf: Path, tflm_ops: str = "") -> Footprint:
    sizes: dict[str, int] = {}
    with open(elf, "rb") as f:
        for section in ELFFile(f).iter_sections():
            sizes[section.name] = sizes.get(section.name, 0) + int(section["sh_size"])
    return Footprint(
        text=sizes.get(".text", 0) + sizes.get(".ARM.exidx", 0),
        rodata=sizes.get(".rodata", 0),
        data=sizes.get(".data", 0),
        bss=sizes.get(".bss", 0),
        stack=sizes.get(".stack", 0),
        model_region=sizes.get(".model_region", 0),
        arena_region=sizes.get(".arena_region", 0),
        tflm_ops=tflm_ops,
    )
