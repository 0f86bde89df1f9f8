"""The vectorised oracle (oracle.py) agrees with the one-Fraction-at-a-time rules of conftest.

If these fail, the other tests' expectations are wrong, not fixedq.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from conftest import FORMATS, OVERFLOWS, ROUNDINGS, Overflowed, fit, round_fraction
from oracle import FLOATS, div_round, fit_range, ints, random_raws, to_float


@pytest.mark.parametrize("wide", [False, True], ids=["int64", "object"])
@pytest.mark.parametrize("rounding", ROUNDINGS)
def test_div_round(rounding: str, wide: bool, rng: np.random.Generator) -> None:
    num = rng.integers(-(2**40), 2**40, size=3000)
    den = rng.integers(1, 2**20, size=3000)
    num[:8] = [5, -5, 3, -3, 7, -7, 0, 1]  # ties over 2 and exact values
    den[:8] = [2, 2, 2, 2, 2, 2, 2, 1]
    got = div_round(ints(num, wide), ints(den, wide), rounding)
    want = [round_fraction(Fraction(int(n), int(d)), rounding) for n, d in zip(num, den)]
    assert [int(g) for g in got] == want


@pytest.mark.parametrize("overflow", OVERFLOWS)
def test_fit_range(overflow: str, rng: np.random.Generator) -> None:
    for fmt in FORMATS:
        n = rng.integers(-(2**62), 2**62, size=500) >> rng.integers(0, 62, size=500)
        got, over = fit_range(ints(n, True), fmt.raw_min, fmt.raw_max, overflow)
        for g, o, v in zip(got, over, n):
            assert o == (not fmt.raw_min <= v <= fmt.raw_max)
            try:
                assert g == fit(fmt, int(v), overflow)
            except Overflowed:
                assert o and overflow == "raise"


def slow_float(v: Fraction, ftype: type) -> float:
    """v rounded to nearest-even in the float format, by Fraction arithmetic."""
    p, emin, emax, _ = FLOATS[ftype]
    if v == 0:
        return 0.0
    a = abs(v)
    e = a.numerator.bit_length() - a.denominator.bit_length()
    if Fraction(2) ** e > a:
        e -= 1
    q = max(e, emin) - (p - 1)
    r = round_fraction(a / Fraction(2) ** q, "half_even") * Fraction(2) ** q
    if r > (2 - Fraction(2) ** (1 - p)) * Fraction(2) ** emax:
        return float("-inf") if v < 0 else float("inf")
    return float(-r if v < 0 else r)


@pytest.mark.parametrize("ftype", list(FLOATS), ids=lambda t: t.__name__)
def test_to_float(ftype: type, rng: np.random.Generator) -> None:
    for fmt in FORMATS:
        raws = np.concatenate([random_raws(fmt, rng, 400),
                               [fmt.raw_min, fmt.raw_max, 0, 1, -1, 2**11 + 1, 2**24 + 1]])
        raws = np.clip(raws, fmt.raw_min, fmt.raw_max)
        got = to_float(ints(raws, fmt.bits > 32), fmt.fraction_bits, ftype)
        for g, r in zip(got, raws):
            want = slow_float(Fraction(int(r), fmt.scale), ftype)
            assert float(g) == want, (fmt.name, hex(int(r)), float(g), want)
            if ftype is np.float64:
                assert float(g) == float(Fraction(int(r), fmt.scale))


def test_random_raws_cover_the_range(rng: np.random.Generator) -> None:
    for fmt in FORMATS:
        raws = random_raws(fmt, rng, 4000)
        assert raws.min() >= fmt.raw_min and raws.max() <= fmt.raw_max
        assert fmt.raw_min in raws and fmt.raw_max in raws
        assert (np.abs(raws) < fmt.scale).any() and (raws < 0).any() and (raws > 0).any()
