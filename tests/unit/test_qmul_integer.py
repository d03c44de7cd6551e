"""The integer QuantizeMultiplier path (hil_qmul_from_scales) against the
double path it replaces in the kernels: (double)a * (double)b / (double)c,
frexp, round(q * 2^31), TFLM's renormalisation and flush, and the kernels'
acceptance test. Equality is shown on over a million float32 triples:
random bit patterns, realistic scales, subnormals, powers of two, special
values, exact 31-bit ties and near-ties that only double rounding sends up."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from hil.devtools.engine_host import bias_scale_compare, qmul_compare, qmul_from_scales

F32 = np.float32


def double_path(a: float, b: float, c: float, exp2: int = 0) -> tuple[int, int] | None:
    """The double path in Python's own IEEE doubles (independent of the C build)."""
    try:
        m = math.ldexp(float(a) * float(b) / float(c), exp2)
    except ZeroDivisionError:
        return None  # IEEE gives inf or NaN: refused either way
    if not (m >= 0.0) or not math.isfinite(m):
        return None
    if m == 0.0:
        return 0, 0
    q, shift = math.frexp(m)
    fixed = math.floor(q * 2**31 + 0.5)  # exact: q * 2^31 has at most 53 bits
    if fixed == 2**31:
        fixed, shift = fixed // 2, shift + 1
    if shift < -31:
        return 0, 0
    return (fixed, shift) if shift <= 30 else None


def floats(sig: np.ndarray, exp: np.ndarray) -> np.ndarray:
    return np.ldexp(sig.astype(np.float64), exp.astype(np.int64)).astype(F32)


def exact_ties(rng: np.random.Generator, n: int) -> tuple[np.ndarray, ...]:
    """sa * sb / sc = k1 * k2, an odd 32-bit integer: exactly halfway between
    two 31-bit multipliers (sa = k1 * c1, sb = k2 * c2, sc = c1 * c2)."""
    out: list[tuple[int, int, int]] = []
    while len(out) < n:
        c1, c2 = (int(v) | 1 for v in rng.integers(1, 128, 2))
        k1, k2 = (int(v) | 1 for v in rng.integers(2**15, 2**17, 2))
        if (k1 * k2).bit_length() == 32 and k1 * c1 < 2**24 and k2 * c2 < 2**24:
            out.append((k1 * c1, k2 * c2, c1 * c2))
    sa, sb, sc = (np.array(v, np.int64) for v in zip(*out, strict=True))
    return (
        floats(sa, rng.integers(-60, -10, n)),
        floats(sb, rng.integers(-50, -20, n)),
        floats(sc, rng.integers(-50, -10, n)),
    )


def near_ties(rng: np.random.Generator, n: int) -> tuple[np.ndarray, ...]:
    """sa * sb * 2^s = K * sc +- 1 with K odd and 32 bits: the quotient is
    within 1/sc < 2^-23 of a 31-bit tie, so its 53-bit rounding IS the tie,
    which then rounds up; from below, a single rounding would round down."""
    out: list[tuple[int, int, int]] = []
    while len(out) < n:
        sa = int(rng.integers(2**23, 2**24))
        sc = int(rng.integers(2**23, 2**24)) | 1
        if math.gcd(sa, sc) != 1:
            continue
        sign = 1 if rng.random() < 0.5 else -1
        for s in (7, 8, 9):
            sb = (sign * pow(sa * 2**s % sc, -1, sc)) % sc
            while sb < 2**23:
                sb += sc
            if sb >= 2**24:
                continue
            big = sa * sb * 2**s
            k = (big - sign) // sc
            if 2**31 <= k < 2**32 and (big - sign) % sc == 0:
                out.append((sa, sb, sc))
                break
    sa, sb, sc = (np.array(v, np.int64) for v in zip(*out, strict=True))
    return (
        floats(sa, rng.integers(-60, -10, n)),
        floats(sb, rng.integers(-50, -20, n)),
        floats(sc, rng.integers(-50, -10, n)),
    )


def special_grid() -> tuple[np.ndarray, ...]:
    sub = np.array([1, 2, 3, 0x7FFFFF, 0x400000, 0x12345], np.uint32).view(F32)
    values = np.concatenate(
        [
            [0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 0.5, 2.0**-126, 2.0**-149],
            [np.finfo(F32).max, np.finfo(F32).tiny, 3.0, 1.0 / 3.0, 2.0**-40, 2.0**40],
            [2.0**100, 2.0**-100, 0.1, 0.003921569, 0.0078125, 6.0, 127.0],
            sub,
            -sub,
        ]
    ).astype(F32)
    a, b, c = np.meshgrid(values, values, values, indexing="ij")
    return a.ravel(), b.ravel(), c.ravel()


def test_integer_multiplier_equals_double_path() -> None:
    rng = np.random.default_rng(20240611)
    sets: dict[str, tuple[np.ndarray, ...]] = {}
    n = 300_000
    sets["bit patterns"] = tuple(
        rng.integers(0, 2**32, n, dtype=np.uint64).astype(np.uint32).view(F32) for _ in range(3)
    )
    n = 400_000
    sets["scales"] = (
        (10.0 ** rng.uniform(-12, 2, n)).astype(F32),
        (10.0 ** rng.uniform(-8, 1, n)).astype(F32),
        (10.0 ** rng.uniform(-8, 3, n)).astype(F32),
    )
    n = 100_000
    sets["subnormals"] = tuple(
        np.where(
            rng.random(n) < 0.5,
            rng.integers(1, 2**23, n, dtype=np.uint64).astype(np.uint32).view(F32),
            (10.0 ** rng.uniform(-30, 30, n)).astype(F32),
        )
        for _ in range(3)
    )
    n = 50_000
    sets["powers of two"] = tuple(
        np.ldexp(F32(1.0), rng.integers(-149, 128, n)).astype(F32) for _ in range(3)
    )
    sets["special grid"] = special_grid()
    sets["exact ties"] = exact_ties(rng, 60_000)
    sets["near ties"] = near_ties(rng, 60_000)
    total = 0
    for name, (a, b, c) in sets.items():
        for exp2 in (0, 26, -3):
            if exp2 != 0 and name == "bit patterns":
                continue  # covered at exp2 = 0; keeps the run short
            bad, first = qmul_compare(a, b, c, exp2)
            assert bad == 0, (
                f"{name}, exp2={exp2}: {bad} differ, first {a[first]!r} * {b[first]!r} / "
                f"{c[first]!r}: integer {qmul_from_scales(a[first], b[first], c[first], exp2)}"
                f", double {double_path(a[first], b[first], c[first], exp2)}"
            )
            total += len(a)
    assert total > 1_000_000


def test_c_double_path_is_ieee() -> None:
    """The C reference agrees with Python's doubles (so the comparison above
    is against IEEE arithmetic, whatever the C compiler did)."""
    rng = np.random.default_rng(5)
    a, b, c = ((10.0 ** rng.uniform(-10, 2, 3000)).astype(F32) for _ in range(3))
    ta, tb, tc = exact_ties(rng, 1000)
    na, nb, nc = near_ties(rng, 1000)
    for x, y, z in zip(
        np.concatenate([a, ta, na]),
        np.concatenate([b, tb, nb]),
        np.concatenate([c, tc, nc]),
        strict=True,
    ):
        assert qmul_from_scales(x, y, z) == double_path(x, y, z), (x, y, z)


def test_near_ties_need_the_double_rounding() -> None:
    """Near-ties from below: rounding the exact quotient once would give a
    smaller multiplier; TFLM's double path (and hil's integers) round up."""
    rng = np.random.default_rng(6)
    a, b, c = near_ties(rng, 400)
    differ = 0
    for x, y, z in zip(a, b, c, strict=True):
        exact = Fraction(float(x)) * Fraction(float(y)) / Fraction(float(z))
        shift = math.frexp(float(exact))[1]
        scaled = exact * Fraction(2) ** (31 - shift)
        single = math.floor(scaled + Fraction(1, 2))
        got = qmul_from_scales(x, y, z)
        assert got is not None and got == double_path(x, y, z)
        assert scaled.denominator != 2  # never an exact tie
        if got[0] != single and got[1] == shift:
            differ += 1
    assert differ > 100  # about half come from below


@pytest.mark.parametrize(
    ("a", "b", "c", "expected"),
    [
        (0.5, 1.0, 1.0, (2**30, 0)),
        (1.0, 1.0, 1.0, (2**30, 1)),
        (0.0, 1.0, 1.0, (0, 0)),
        (-0.0, 1.0, 1.0, (0, 0)),
        (1.0, 1.0, float("inf"), (0, 0)),
        (1.0, 1.0, 0.0, None),
        (0.0, 1.0, 0.0, None),
        (-1.0, 1.0, 1.0, None),
        (1.0, 1.0, -1.0, None),
        (float("nan"), 1.0, 1.0, None),
        (float("inf"), 0.0, 1.0, None),
        (2.0**29, 1.0, 1.0, (2**30, 30)),
        (2.0**30, 1.0, 1.0, None),  # shift 31: out of range
        (2.0**-32, 1.0, 1.0, (2**30, -31)),
        (2.0**-33, 1.0, 1.0, (0, 0)),  # flushed
    ],
)
def test_integer_multiplier_edges(
    a: float, b: float, c: float, expected: tuple[int, int] | None
) -> None:
    assert qmul_from_scales(a, b, c) == expected
    assert double_path(a, b, c) == expected


def test_bias_scale_check_equals_double_path() -> None:
    """TFLM's bias-scale rule |in * filter - bias| / out <= 0.02, decided in
    float away from the limit and in double near it: the same answers as the
    double computation, also right at the limit."""
    rng = np.random.default_rng(9)
    n = 300_000
    a = (10.0 ** rng.uniform(-8, 1, n)).astype(F32)
    b = (10.0 ** rng.uniform(-6, 0, n)).astype(F32)
    c = (10.0 ** rng.uniform(-6, 2, n)).astype(F32)
    product = a.astype(np.float64) * b.astype(np.float64)
    ratio = np.concatenate(
        [
            rng.uniform(0.0, 0.05, n // 3),  # anywhere
            0.02 * (1 + rng.uniform(-1e-6, 1e-6, n // 3)),  # at the limit
            np.zeros(n - 2 * (n // 3)),  # bias = in * filter (the usual)
        ]
    )
    sign = np.where(rng.random(n) < 0.5, 1.0, -1.0)
    bias = np.maximum(product + sign * ratio * c.astype(np.float64), 0).astype(F32)
    special = np.array([0.0, np.inf, np.nan, 1e-40, 1e38, -1.0], F32)
    grid = np.meshgrid(special, special, special, special, indexing="ij")
    sets = [(a, b, bias, c), tuple(g.ravel() for g in grid)]
    for args in sets:
        bad, first = bias_scale_compare(*args)
        assert bad == 0, f"{bad} differ, first {[v[first] for v in args]}"
