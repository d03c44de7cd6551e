"""A board's memory map, from the board file's [memory] table: where code
lives and which RAM regions exist. Used to check that a firmware image fits
the part (tests/e2e/test_board_images.py)."""

from __future__ import annotations

from dataclasses import dataclass

from hil.boards.fields import TomlTable
from hil.errors import BoardFileError


@dataclass(frozen=True)
class MemoryRegion:
    name: str
    base: int
    size: int

    @property
    def end(self) -> int:
        return self.base + self.size

    def contains(self, start: int, length: int = 0) -> bool:
        """Whether [start, start + length) lies inside this region (a zero
        length means the address itself, or the region's end for a stack top)."""
        if length == 0:
            return self.base <= start <= self.end
        return self.base <= start and start + length <= self.end

    def describe(self) -> str:
        return f"{self.name} 0x{self.base:08x}..0x{self.end:08x} ({self.size:,} B)"


@dataclass(frozen=True)
class MemoryMap:
    code: MemoryRegion  # flash on a real part; the code RAM an emulator loads into
    ram: tuple[MemoryRegion, ...]

    def region_of(self, start: int, length: int = 0) -> MemoryRegion | None:
        for region in (self.code, *self.ram):
            if region.contains(start, length):
                return region
        return None


def _region(table: TomlTable, default_name: str) -> MemoryRegion:
    base = table.get("base", int)
    size = table.get("size", int)
    name = table.get("name", str, default_name)
    if base < 0 or size <= 0 or base + size > 1 << 32:
        raise table._fail("size", f"region 0x{base:x} + 0x{size:x} is not inside 32-bit memory")
    return MemoryRegion(name, base, size)


def parse_memory(top: TomlTable) -> MemoryMap | None:
    """[memory.code] base/size and [[memory.ram]] name/base/size; optional."""
    if "memory" not in top.data:
        return None
    memory = top.table("memory")
    code = _region(memory.table("code"), "code")
    raw = memory.get("ram", list)
    if not raw or not all(isinstance(r, dict) for r in raw):
        raise memory._fail("ram", "expected at least one [[memory.ram]] table")
    ram = tuple(
        _region(type(memory)(r, memory.path, f"{memory.prefix}ram[{i}]."), f"ram{i}")
        for i, r in enumerate(raw)
    )
    for region in ram:
        if region.base < code.end and code.base < region.end:
            raise BoardFileError(
                f"{memory.path}: memory: RAM {region.describe()} overlaps code {code.describe()}"
            )
    return MemoryMap(code, ram)
