from __future__ import annotations

import pytest

from hil.errors import HilError
from hil.measurements.counters import CounterKind, interpret_counter, require_comparable


def test_qemu_ticks_become_instructions() -> None:
    # 32 MHz SysTick = 31.25 ns per tick; shift 5 = 32 ns per instruction.
    m = interpret_counter(
        CounterKind.SYSTICK, 1024, backend="qemu", clock_hz=32_000_000, icount_shift=5
    )
    assert m is not None and m.kind == "instructions" and m.value == 1000
    assert "shift=5" in m.method and "cycles" not in m.method
    # 25 MHz = 40 ns per tick: 4 ticks are 5 instructions.
    m = interpret_counter(
        CounterKind.SYSTICK, 4000, backend="qemu", clock_hz=25_000_000, icount_shift=5
    )
    assert m is not None and m.value == 5000


def test_hardware_counts_are_cycles() -> None:
    m = interpret_counter(CounterKind.CYCLES, 1234, backend="pyocd", clock_hz=120_000_000)
    assert m is not None and m.kind == "cycles" and m.value == 1234 and "DWT" in m.method


def test_cycles_and_instructions_are_never_compared() -> None:
    q = interpret_counter(
        CounterKind.SYSTICK, 10, backend="qemu", clock_hz=32_000_000, icount_shift=5
    )
    hw = interpret_counter(CounterKind.CYCLES, 10, backend="pyocd", clock_hz=1)
    assert q is not None and hw is not None
    with pytest.raises(HilError, match="refusing to compare instructions"):
        require_comparable(q, hw)
