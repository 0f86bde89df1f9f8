"""Vectorised exact oracle for the fixedq number types, and the checks that compare with it.

``conftest.round_fraction`` / ``conftest.oracle_raw`` state the rules one ``Fraction`` at a
time; the functions here apply the same rules to whole arrays with integer floor-division, so
that exhaustive tests stay fast. They work on two kinds of integer arrays:

* ``int64`` arrays, exact as long as every intermediate stays below 2**62 in magnitude (the
  callers keep to that: products of two 32-bit raws, 32-bit raws shifted by at most 31 bits);
* ``object`` arrays of Python ints (``wide=True``), exact for any size: used for Fixed32_32
  and for 64-bit integer destinations.

Nothing here imports fixedq's arithmetic: the only package objects used are the scalar types
for ``view``.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Callable, Mapping, Optional, Sequence, Union

import numpy as np
import pytest

from conftest import Format, fit, raw_edges, round_fraction

IntArray = np.ndarray
Formatter = Callable[[object], str]

# float kinds: (numpy type, precision p incl. the hidden bit, smallest normal exponent, largest
# exponent); same-size unsigned type for bitwise comparison.
FLOATS = {
    np.float16: (11, -14, 15, np.uint16),
    np.float32: (24, -126, 127, np.uint32),
    np.float64: (53, -1022, 1023, np.uint64),
}

INT_DTYPES = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64]


def ints(values: object, wide: bool) -> IntArray:
    """``values`` as an int64 array, or as an object array of Python ints when ``wide``."""
    arr = np.asarray(values)
    if not wide:
        if arr.dtype == object:
            return np.array([int(v) for v in arr.ravel()], dtype=np.int64).reshape(arr.shape)
        return arr.astype(np.int64)
    out = np.empty(arr.shape, dtype=object)
    out.ravel()[:] = [int(v) for v in arr.ravel()]
    return out


def div_round(num: IntArray, den: Union[int, IntArray], rounding: str) -> IntArray:
    """``num / den`` rounded to an integer with ``rounding``; ``den`` > 0.

    The same rules as ``conftest.round_fraction``, written with floor division: q = floor,
    r = remainder in [0, den), and 2r against den for the ties.
    """
    q = num // den
    r = num - q * den
    above = r > 0
    twice = 2 * r
    if rounding == "floor":
        inc = np.zeros(np.shape(q), dtype=bool)
    elif rounding == "ceil":
        inc = above
    elif rounding == "toward_zero":
        inc = above & (num < 0)
    elif rounding == "half_up":
        inc = twice >= den
    elif rounding == "half_away":
        inc = (twice > den) | ((twice == den) & (num > 0))
    elif rounding == "half_even":
        inc = (twice > den) | ((twice == den) & (q % 2 != 0))
    else:  # pragma: no cover - a typo in a test
        raise ValueError(rounding)
    return q + np.asarray(inc).astype(q.dtype)


def fit_range(n: IntArray, lo: int, hi: int, overflow: str) -> tuple[IntArray, np.ndarray]:
    """``n`` fitted into [lo, hi] with ``overflow``; also the mask of out-of-range elements.

    Under 'raise' the out-of-range elements are set to 0: the caller must expect an
    OverflowError for them (see :func:`check`).
    """
    over = np.asarray((n < lo) | (n > hi), dtype=bool)
    if overflow == "saturate":
        out = np.where(n < lo, lo, np.where(n > hi, hi, n))
    elif overflow == "wrap":
        span = hi - lo + 1
        out = (n - lo) % span + lo
    elif overflow == "raise":
        out = np.where(over, 0, n)
    else:  # pragma: no cover
        raise ValueError(overflow)
    return np.asarray(out, dtype=n.dtype), over


def fixed_result(fmt: Format, num: IntArray, den: Union[int, IntArray], rounding: str,
                 overflow: str) -> tuple[IntArray, np.ndarray]:
    """The raw results for the exact values ``num / den`` (in raw units): round, then fit."""
    return fit_range(div_round(num, den, rounding), fmt.raw_min, fmt.raw_max, overflow)


def int_range(dtype: type) -> tuple[int, int]:
    info = np.iinfo(dtype)
    return int(info.min), int(info.max)


def to_float(raw: IntArray, frac_bits: int, ftype: type) -> np.ndarray:
    """raw * 2**-frac_bits correctly rounded (to nearest, ties to even) to ``ftype``.

    Integer arithmetic only: the result is a p-bit integer times a power of two, so the final
    ``ldexp`` in float64 is exact; subnormals keep the quantum of the smallest normal; values
    at or beyond max + half an ulp become infinities.
    """
    p, emin, emax, _ = FLOATS[ftype]
    wide = raw.dtype == object
    negative = np.asarray(raw < 0, dtype=bool)
    m = np.abs(raw)
    if wide:
        bitlen = np.array([int(v).bit_length() for v in m.ravel()], dtype=np.int64).reshape(m.shape)
    else:
        assert int(np.max(m, initial=0)) < 2**53
        bitlen = np.frexp(m.astype(np.float64))[1].astype(np.int64)  # exact below 2**53
    e = bitlen - 1 - frac_bits  # floor(log2(value)) where m > 0
    quantum = np.maximum(e, emin) - (p - 1)  # exponent of the last kept bit
    shift = np.maximum(frac_bits + quantum, 0)  # bits of m below the quantum
    shift_i = ints(shift, wide)
    kept = m >> shift_i
    rem = m - (kept << shift_i)
    half = (ints(np.ones_like(shift), wide) << shift_i) >> 1
    inc = (shift > 0) & np.asarray((rem > half) | ((rem == half) & (kept % 2 == 1)), dtype=bool)
    kept = kept + inc.astype(kept.dtype)
    mag = np.ldexp(kept.astype(np.float64), (shift - frac_bits).astype(np.int32))
    mag[mag > (2.0 - 2.0 ** (1 - p)) * 2.0**emax] = np.inf
    out = np.where(negative, -mag, mag)
    return out.astype(ftype)  # exact: every finite value is representable


# ------------------------------------------------------------------------------------------
# Random data
# ------------------------------------------------------------------------------------------
def random_raws(fmt: Format, rng: np.random.Generator, n: int) -> np.ndarray:
    """n raw values mixing the whole range, every magnitude, small values and the edges."""
    lo, hi = fmt.raw_min, fmt.raw_max
    k = n // 4
    uniform = rng.integers(lo, hi, size=k, dtype=np.int64, endpoint=True)
    lengths = rng.integers(0, fmt.bits, size=k)  # log-uniform magnitudes
    mags = (rng.integers(0, 2**62, size=k, dtype=np.int64) >> (62 - lengths)).astype(np.int64)
    logu = np.where(rng.integers(0, 2, size=k) == 1, -mags - 1, mags)
    small_bound = min(4 * fmt.scale, hi)
    small = rng.integers(-small_bound, small_bound, size=k, dtype=np.int64, endpoint=True)
    edges = np.array(raw_edges(fmt), dtype=np.int64)
    near = edges[rng.integers(0, len(edges), size=n - 3 * k)] + rng.integers(-3, 4, size=n - 3 * k)
    out = np.concatenate([uniform, logu, small, near])
    return np.clip(out, lo, hi).astype(np.int64)


# ------------------------------------------------------------------------------------------
# Reporting
# ------------------------------------------------------------------------------------------
def hex_of(bits: int) -> Formatter:
    """Formats a raw integer of ``bits`` bits as two's-complement hex plus its value."""

    def fmt(v: object) -> str:
        v = int(v)  # type: ignore[arg-type]
        return f"{v & (2**bits - 1):#0{bits // 4 + 2}x}({v})"

    return fmt


def float_hex(v: object) -> str:
    return float(v).hex()  # type: ignore[arg-type]


def describe_policy(rounding: Optional[str], overflow: Optional[str]) -> str:
    return f"rounding={rounding!r}, overflow={overflow!r}"


def assert_same(got: np.ndarray, want: np.ndarray, *, what: str, policy: str,
                inputs: Mapping[str, tuple[np.ndarray, Formatter]], out: Formatter) -> None:
    """got == want elementwise; on failure list the first mismatches with inputs in hex."""
    got = np.asarray(got).ravel()
    want = np.asarray(want).ravel()
    assert got.shape == want.shape, (what, got.shape, want.shape)
    bad = np.flatnonzero(np.asarray(got != want, dtype=bool))
    if bad.size == 0:
        return
    lines = [f"{what} [{policy}]: {bad.size} of {got.size} results differ"]
    for i in bad[:12]:
        args = ", ".join(f"{name}={f(np.ravel(arr)[i])}" for name, (arr, f) in inputs.items())
        lines.append(f"  {args}: got {out(got[i])}, want {out(want[i])}")
    pytest.fail("\n".join(lines))


def sample_indices(mask: np.ndarray, limit: int = 12) -> np.ndarray:
    """Up to ``limit`` positions where mask holds, evenly spread, first and last included."""
    where = np.flatnonzero(mask)
    if where.size <= limit:
        return where
    return where[np.unique(np.linspace(0, where.size - 1, limit).round().astype(np.int64))]


def check(run: Callable[[np.ndarray], np.ndarray], want: np.ndarray, over: np.ndarray, *,
          overflow: str, what: str, policy: str,
          inputs: Mapping[str, tuple[np.ndarray, Formatter]], out: Formatter,
          error: type[BaseException] = OverflowError) -> None:
    """Runs ``run(index)`` (the operation on the inputs at ``index``, returning raw results)
    and compares with the oracle.

    Under overflow='raise': the elements that do not overflow give the oracle's values, the
    whole batch raises ``error`` if any element overflows, and so does each overflowing element
    on its own (a spread sample of them).
    """
    n = want.size
    if overflow != "raise" or not over.any():
        assert_same(run(np.arange(n)), want, what=what, policy=policy, inputs=inputs, out=out)
        return
    ok = np.flatnonzero(~over)
    sub = {k: (np.ravel(a)[ok], f) for k, (a, f) in inputs.items()}
    if ok.size:
        assert_same(run(ok), want.ravel()[ok], what=what, policy=policy, inputs=sub, out=out)
    with pytest.raises(error):
        run(np.arange(n))
    for i in sample_indices(over):
        args = ", ".join(f"{name}={f(np.ravel(a)[i])}" for name, (a, f) in inputs.items())
        with pytest.raises(error):
            run(np.array([i]))
            pytest.fail(f"{what} [{policy}] of {args} did not raise {error.__name__}")


# ------------------------------------------------------------------------------------------
# Scalar helpers (for the slower, per-value tests)
# ------------------------------------------------------------------------------------------
def expected_scalar(fmt: Format, x: Fraction, rounding: str, overflow: str) -> Optional[int]:
    """The raw value for the exact x, or None where 'raise' must raise."""
    try:
        return fit(fmt, round_fraction(x * fmt.scale, rounding), overflow)
    except Exception as exc:  # conftest.Overflowed
        if type(exc).__name__ == "Overflowed":
            return None
        raise


def isqrt_array(n: IntArray) -> IntArray:
    """floor(sqrt(n)) elementwise, n >= 0."""
    return ints([math.isqrt(int(v)) for v in np.ravel(n)], n.dtype == object).reshape(np.shape(n))


def exact_values(values: Sequence[float]) -> tuple[IntArray, IntArray]:
    """Floats (or ints) as exact ratios num/den (object arrays), den a power of two > 0."""
    pairs = [float(v).as_integer_ratio() for v in values]
    return ints([p[0] for p in pairs], True), ints([p[1] for p in pairs], True)
