"""Cross-check against apytypes (an optional, test-only peer) on random Q16.16 and Q1.15 data.

Only operations where apytypes is itself exact in the chosen modes: the full-precision sum and
product followed by one cast, and float -> fixed through an exact wide format. Not division
(apytypes 0.5.1 rounds its quotient twice) and not the 'raise' policy (no counterpart); see
/work/shared/NOTES.md section D for its known defects.
"""

from __future__ import annotations

import numpy as np
import pytest

import fixedq
from conftest import FORMATS, Format
from oracle import random_raws

apy = pytest.importorskip("apytypes")

ROUNDING_MODES = {
    "floor": "TRN",
    "toward_zero": "TRN_ZERO",
    "ceil": "TRN_INF",
    "half_up": "RND",
    "half_away": "RND_INF",
    "half_even": "RND_CONV",
}
OVERFLOW_MODES = {"wrap": "WRAP", "saturate": "SAT"}
PEERS = [f for f in FORMATS if f.name in ("Fixed16_16", "Q15")]
POLICIES = [(r, o) for r in ROUNDING_MODES for o in OVERFLOW_MODES]
N = 20_000


def apy_array(fmt: Format, raws: np.ndarray):
    # Signed int64 bit patterns: apytypes does not sign-extend unsigned arrays.
    return apy.APyFixedArray(raws.astype(np.int64), int_bits=fmt.integer_bits,
                             frac_bits=fmt.fraction_bits)


def apy_raws(fmt: Format, arr) -> np.ndarray:
    bits = np.asarray(arr.to_bits(numpy=True))
    return bits.astype(np.uint64).astype(fmt.raw_dtype)  # two's complement reinterpretation


def apy_cast(fmt: Format, arr, rounding: str, overflow: str):
    return arr.cast(int_bits=fmt.integer_bits, frac_bits=fmt.fraction_bits,
                    quantization=getattr(apy.QuantizationMode, ROUNDING_MODES[rounding]),
                    overflow=getattr(apy.OverflowMode, OVERFLOW_MODES[overflow]))


def report(fmt: Format, what: str, rounding: str, overflow: str, got, want, *inputs) -> None:
    bad = np.flatnonzero(got != want)
    if bad.size:
        lines = [f"{what} {fmt.name} [{rounding}/{overflow}]: {bad.size} of {got.size} differ"]
        for i in bad[:10]:
            args = ", ".join(f"{v[i]!r}" if v.dtype.kind == "f" else hex(int(v[i])) for v in inputs)
            lines.append(f"  ({args}): fixedq {hex(int(got[i]))}, apytypes {hex(int(want[i]))}")
        pytest.fail("\n".join(lines))


@pytest.mark.parametrize(("rounding", "overflow"), POLICIES)
@pytest.mark.parametrize("fmt", PEERS, ids=lambda f: f.name)
def test_multiply_and_add(fmt: Format, rounding: str, overflow: str,
                          rng: np.random.Generator) -> None:
    a, b = random_raws(fmt, rng, N), random_raws(fmt, rng, N)
    x, y = a.astype(fmt.raw_dtype).view(fmt.type), b.astype(fmt.raw_dtype).view(fmt.type)
    pa, pb = apy_array(fmt, a), apy_array(fmt, b)
    got = fixedq.multiply(x, y, rounding=rounding, overflow=overflow).view(fmt.raw_dtype)
    want = apy_raws(fmt, apy_cast(fmt, pa * pb, rounding, overflow))
    report(fmt, "multiply", rounding, overflow, got, want, a, b)
    with fixedq.policy(rounding=rounding, overflow=overflow):
        got = (x + y).view(fmt.raw_dtype)
    want = apy_raws(fmt, apy_cast(fmt, pa + pb, rounding, overflow))
    report(fmt, "add", rounding, overflow, got, want, a, b)


@pytest.mark.parametrize(("rounding", "overflow"), POLICIES)
@pytest.mark.parametrize("fmt", PEERS, ids=lambda f: f.name)
def test_float_quantization(fmt: Format, rounding: str, overflow: str,
                            rng: np.random.Generator) -> None:
    """Doubles k * 2**-(F+20) up to twice the range: exact in a format with 20 more fraction
    bits, from which apytypes casts once."""
    extra = 20
    top = fmt.integer_bits + 1 + fmt.fraction_bits + extra
    assert top <= 53
    k = rng.integers(-(2**top), 2**top, size=N, dtype=np.int64) >> rng.integers(0, top, size=N)
    k[:4] = [2 ** (extra - 1), -(2 ** (extra - 1)), 3 * 2 ** (extra - 1), -3 * 2 ** (extra - 1)]  # ties
    x = np.ldexp(k.astype(np.float64), -(fmt.fraction_bits + extra))
    wide = apy.APyFixedArray.from_float(x, int_bits=fmt.integer_bits + 2,
                                        frac_bits=fmt.fraction_bits + extra)
    want = apy_raws(fmt, apy_cast(fmt, wide, rounding, overflow))
    got = fixedq.cast(x, fmt.type, rounding=rounding, overflow=overflow).view(fmt.raw_dtype)
    report(fmt, "float64 ->", rounding, overflow, got, want, x)
