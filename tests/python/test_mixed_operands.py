"""Fixed-point numbers with int and float operands: the promotion rules, against exact rationals.

The fixed format always wins, and what the other operand contributes depends on its kind:

* an int (Python or NumPy, scalar or array, bool included) takes part EXACTLY, as ``x * n``
  does in C++: ``x + n``, ``x - n``, ``n - x``, ``x * n`` are exact and meet only the overflow
  policy; ``x / n`` and ``n / x`` are the exact quotient rounded once with the policy;
* a float (Python float, float16/32/64 scalar or array) is first converted to the format with
  the policy's rounding; a float outside the format's range (after that rounding) raises
  OverflowError whatever the overflow policy, and NaN raises ValueError;
* comparisons with ints and floats are exact (``Q15.max() < 1``; NaN compares unequal).

The expected raws come from ``oracle.py`` (integer floor division, itself checked against
``fractions.Fraction`` in test_oracle.py) and, for scalars, straight from ``Fraction``.
"""

from __future__ import annotations

import operator
import warnings
from fractions import Fraction
from typing import Callable

import numpy as np
import pytest

import fixedq
from conftest import OVERFLOWS, ROUNDINGS, Format, Overflowed, oracle_raw, raw_edges
from oracle import check, exact_values, fixed_result, float_hex, hex_of, ints, random_raws
from test_exhaustive import (
    POLICIES,
    POLICY_IDS,
    UFUNCS,
    binary_oracle,
    fixed_array,
    policy_text,
    raw_of,
)

OPS = list(UFUNCS)  # add, subtract, multiply, divide
SCALAR_OPS = {"add": operator.add, "subtract": operator.sub, "multiply": operator.mul,
              "divide": operator.truediv}
COMPARISONS = {np.equal: operator.eq, np.not_equal: operator.ne, np.less: operator.lt,
               np.less_equal: operator.le, np.greater: operator.gt,
               np.greater_equal: operator.ge}
# Integer dtypes that convert safely to int64 (uint64 has a test of its own).
INT_OPERAND_DTYPES = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32,
                      np.bool_]


def fraction_op(op: str, a: Fraction, b: Fraction) -> Fraction:
    return SCALAR_OPS[op](a, b)


def apply(op: str, fixed_first: bool, x, other):
    """The ufunc with the fixed operand first or second."""
    return UFUNCS[op](x, other) if fixed_first else UFUNCS[op](other, x)


# ------------------------------------------------------------------------------------------
# Operands
# ------------------------------------------------------------------------------------------
def int_operands(fmt: Format, raws: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One int per raw: small ints, powers of two +-1 up to 2**62, the int64 extremes, the
    integer part of x nudged (so that x - n and x + (-n) land near 0 although n itself may be
    far outside the format), and uniform int64 values of every magnitude."""
    n = raws.size
    kind = rng.integers(0, 6, size=n)
    small = rng.integers(-4, 5, size=n)
    e = rng.integers(0, 63, size=n)
    pow2 = (np.int64(1) << np.minimum(e, 62)) + rng.integers(-1, 2, size=n)
    pow2 = np.where(rng.integers(0, 2, size=n) == 1, -pow2, pow2)
    extremes = np.array([np.iinfo(np.int64).min, np.iinfo(np.int64).max, 0, 1, -1])[
        rng.integers(0, 5, size=n)]
    whole = (raws >> fmt.fraction_bits) + rng.integers(-2, 3, size=n)
    whole = np.where(rng.integers(0, 2, size=n) == 1, -whole, whole)
    logu = rng.integers(-(2**62), 2**62, size=n) >> rng.integers(0, 63, size=n)
    return np.choose(kind, [small, pow2, extremes, whole, logu, small]).astype(np.int64)


def int_oracle(fmt: Format, op: str, fixed_first: bool, r: np.ndarray, n: np.ndarray,
               rounding: str, overflow: str) -> tuple[np.ndarray, np.ndarray]:
    """Raws of x op n (or n op x) for raws r and exact ints n (object arrays), one rounding."""
    s = fmt.scale
    if op == "add":
        return fixed_result(fmt, r + n * s, 1, rounding, overflow)
    if op == "subtract":
        return fixed_result(fmt, r - n * s if fixed_first else n * s - r, 1, rounding, overflow)
    if op == "multiply":
        return fixed_result(fmt, r * n, 1, rounding, overflow)
    num, den = (r, n) if fixed_first else (n * s * s, r)  # (r/s) / n and n / (r/s), in raws
    assert (den != 0).all()
    return fixed_result(fmt, np.where(den < 0, -num, num), np.abs(den), rounding, overflow)


def float_operands(fmt: Format, rng: np.random.Generator, n: int) -> np.ndarray:
    """Doubles on the grid, between grid points (ties and quarters), near the range's ends
    (some in range only after rounding) and out of range (including +-inf)."""
    k = n // 3
    raws = random_raws(fmt, rng, k)
    grid = np.ldexp(raws.astype(np.float64) + rng.integers(0, 8, size=k) / 8.0, -fmt.fraction_bits)
    edges = [float(Fraction(2 * r + d, 2 * fmt.scale)) for r in raw_edges(fmt) for d in (-1, 0, 1)]
    lo, hi = float(Fraction(fmt.raw_min, fmt.scale)), float(Fraction(fmt.raw_max, fmt.scale))
    near = [hi + 2.0**-fmt.fraction_bits * f for f in (0.25, 0.5, 0.75, 1.0, 1.5)]
    near += [lo - 2.0**-fmt.fraction_bits * f for f in (0.25, 0.5, 0.75, 1.0, 1.5)]
    outside = [2.0 * hi + 1, -2.0 * hi - 3, 1e300, -1e300, np.inf, -np.inf, 2.0**64]
    anymag = np.ldexp(rng.uniform(-1, 1, size=n - k), rng.integers(-fmt.fraction_bits - 3,
                                                                     fmt.integer_bits, size=n - k))
    return np.concatenate([grid, edges, near, outside, anymag, [0.0, -0.0]])


def converted(fmt: Format, values: np.ndarray, rounding: str) -> tuple[np.ndarray, np.ndarray]:
    """The raws of the float operands converted with `rounding`, and the mask of those that
    are out of range after that rounding (which must raise OverflowError)."""
    finite = np.isfinite(values)
    num, den = exact_values(np.where(finite, values, 0.0))
    raw, over = fixed_result(fmt, num * fmt.scale, den, rounding, "raise")
    return raw, over | ~finite


# ------------------------------------------------------------------------------------------
# The examples of the rules, by hand
# ------------------------------------------------------------------------------------------
def test_examples_of_the_rules() -> None:
    q15 = fixedq.Q15
    assert q15(0.5) / 2 == q15(0.25) and type(q15(0.5) / 2) is q15
    assert q15(-0.5) + 1 == q15(0.5)
    assert 1 + q15(-0.5) == q15(0.5)
    assert 1 - q15(0.5) == q15(0.5)
    assert q15(0.5) - 1 == q15(-0.5)
    assert q15(0.25) * 2 == q15(0.5) and 2 * q15(0.25) == q15(0.5)
    assert q15(0.75) / 3 == q15(0.25)
    assert q15(-0.5) + True == q15(0.5)
    assert q15.max() < 1 and not q15.max() >= 1 and q15.max() != 1
    x = np.array([q15(-0.5), q15(0.5)])
    assert (x + 1).tolist() == [q15(0.5), q15.max()]
    assert (1 - x).tolist() == [q15.max(), q15(0.5)]
    assert (x / 2).tolist() == [q15(-0.25), q15(0.25)]
    assert (x * np.int8(-1)).tolist() == [q15(0.5), q15(-0.5)]
    assert (np.array([q15.max()]) < 1).tolist() == [True]
    assert (np.array([q15.max()]) < 1.0).tolist() == [True]
    assert (np.array([q15.max()]) == np.nan).tolist() == [False]
    assert (np.array([q15.max()]) != np.nan).tolist() == [True]
    for dtype in (np.int64, np.float64, np.float32, np.bool_, np.int8):
        assert np.result_type(x, dtype) == x.dtype
        small = np.zeros(2, dtype=dtype)
        assert (x + small).dtype == x.dtype and (small - x).dtype == x.dtype
    with pytest.raises(OverflowError, match="out of the range of Q15"):
        q15(0.5) + 1.0
    with pytest.raises(OverflowError, match="out of the range of Q15"):
        x + 1.0
    with pytest.raises(ValueError, match="NaN"):
        x * np.nan


def in_range_only_exactly(fmt: Format) -> list[tuple[Fraction, str, int, bool, Fraction]]:
    """(x, op, n, fixed_first, exact result): n is outside the format, the result inside."""
    big = 2 ** (fmt.integer_bits - 1)  # just above max(): the conversion of big overflows
    half, quarter = Fraction(big, 2), Fraction(big, 4)
    cases = [
        (-half, "add", big, True, half),
        (-half, "add", big, False, half),
        (half, "subtract", big, True, -half),
        (half, "subtract", big, False, half),
        (half, "divide", 2 * big, True, Fraction(1, 4)),
        (Fraction(1, 4), "multiply", 2 * big, True, half),
        (Fraction(1, 4), "multiply", 2 * big, False, half),
        (Fraction(-1, 4), "multiply", -2 * big, True, half),
        (Fraction(0), "multiply", 2**62, True, Fraction(0)),
        (Fraction(0), "multiply", -(2**63), False, Fraction(0)),
        (Fraction(fmt.raw_min, fmt.scale), "add", 2 * big - 1, True,
         Fraction(fmt.raw_min, fmt.scale) + 2 * big - 1),
        (Fraction(fmt.raw_max, fmt.scale), "subtract", 2 * big - 1, True,
         Fraction(fmt.raw_max, fmt.scale) - 2 * big + 1),
        (quarter, "subtract", big, False, big - quarter),
    ]
    if big >= 8:  # n / x inside the range needs room for the quotient
        cases.append((half, "divide", 2 * big, False, Fraction(4)))
        cases.append((-half, "divide", -big, False, Fraction(2)))
    lo, hi = Fraction(fmt.raw_min, fmt.scale), Fraction(fmt.raw_max, fmt.scale)
    assert all(lo <= c[4] <= hi for c in cases), fmt.name
    return cases


@pytest.mark.parametrize(("rounding", "overflow"), POLICIES, ids=POLICY_IDS)
def test_results_in_range_from_ints_out_of_range(fmt: Format, rounding: str,
                                                  overflow: str) -> None:
    """Q15(-0.5) + 1 is Q15(0.5) under every policy: the 1 is never converted to Q15."""
    cases = in_range_only_exactly(fmt)
    assert len(cases) >= 8
    for value, op, n, fixed_first, exact in cases:
        x = fmt.type(value)
        assert Fraction(*x.as_integer_ratio()) == value
        want = oracle_raw(fmt, exact, rounding, overflow)
        what = f"{fmt.name}({value}) {op} {n} ({'fixed first' if fixed_first else 'int first'})"
        with fixedq.policy(rounding=rounding, overflow=overflow):
            for other in (n, np.int64(n)):
                got = SCALAR_OPS[op](x, other) if fixed_first else SCALAR_OPS[op](other, x)
                assert type(got) is fmt.type, what
                assert got.raw == want, f"{what} [{rounding}/{overflow}]: {got!r}"
            arr = np.array([x, x])
            for other in (n, np.array([n, n], dtype=np.int64)):
                got = apply(op, fixed_first, arr, other)
                assert got.dtype == arr.dtype, what
                assert raw_of(fmt, got).tolist() == [want, want], f"{what} [{rounding}/{overflow}]"


# ------------------------------------------------------------------------------------------
# Int operands: arrays, against the vectorised exact oracle
# ------------------------------------------------------------------------------------------
def check_int_operand(fmt: Format, op: str, fixed_first: bool, raws: np.ndarray,
                      nums: np.ndarray, rounding: str, overflow: str, label: str) -> None:
    if op == "divide":  # division by zero: test_int_division_by_zero
        keep = (nums != 0) if fixed_first else (raws != 0)
        raws, nums = raws[keep], nums[keep]
    want, over = int_oracle(fmt, op, fixed_first, ints(raws, True), ints(nums, True), rounding,
                            overflow)
    x = fixed_array(fmt, raws)

    def run(idx: np.ndarray) -> np.ndarray:
        with fixedq.policy(rounding=rounding, overflow=overflow):
            out = apply(op, fixed_first, x[idx], nums[idx])
        assert out.dtype == x.dtype, (label, out.dtype)
        return raw_of(fmt, out)

    order = "x op n" if fixed_first else "n op x"
    check(run, want, over, overflow=overflow, what=f"{fmt.name} {op} {label} ({order})",
          policy=policy_text(rounding, overflow),
          inputs={"x": (raws, hex_of(fmt.bits)), "n": (nums, str)}, out=hex_of(fmt.bits))


@pytest.mark.parametrize(("rounding", "overflow"), POLICIES, ids=POLICY_IDS)
@pytest.mark.parametrize("op", OPS)
def test_int64_array_operands(fmt: Format, op: str, rounding: str, overflow: str,
                              rng: np.random.Generator) -> None:
    raws = np.concatenate([random_raws(fmt, rng, 1500), np.repeat(raw_edges(fmt), 5)])
    nums = int_operands(fmt, raws, rng)
    for fixed_first in (True, False):
        check_int_operand(fmt, op, fixed_first, raws, nums, rounding, overflow, "int64 array")


@pytest.mark.parametrize("itype", INT_OPERAND_DTYPES, ids=lambda t: np.dtype(t).name)
@pytest.mark.parametrize(("rounding", "overflow"),
                         [("half_even", "saturate"), ("floor", "wrap"), ("half_away", "raise")],
                         ids=["half_even-saturate", "floor-wrap", "half_away-raise"])
def test_int_array_operands_of_every_dtype(fmt: Format, itype: type, rounding: str,
                                           overflow: str, rng: np.random.Generator) -> None:
    raws = np.concatenate([random_raws(fmt, rng, 600), np.repeat(raw_edges(fmt), 3)])
    nums = int_operands(fmt, raws, rng)
    if itype is np.bool_:
        nums = (nums & 1).astype(np.bool_)
    else:
        info = np.iinfo(itype)
        outside = (nums < int(info.min)) | (nums > int(info.max))
        nums = np.where(outside, nums % 7, nums).astype(itype)
    for op in OPS:
        for fixed_first in (True, False):
            check_int_operand(fmt, op, fixed_first, raws, nums, rounding, overflow,
                              f"{np.dtype(itype).name} array")


def test_uint64_operands(fmt: Format, rng: np.random.Generator) -> None:
    """A uint64 scalar is an int: x + np.uint64(1) is exact, as x + 1. A uint64 array
    promotes as NumPy promotes it, through float64 (there is no uint64 loop: NEP 50 would
    let negative Python ints pick it), so it behaves exactly like the float64 array."""
    x = fmt.type(-0.5)
    assert (x + np.uint64(1)).raw == fmt.scale // 2
    raws = np.concatenate([random_raws(fmt, rng, 300), raw_edges(fmt)])
    small = np.abs(int_operands(fmt, raws, rng)) % 2
    for op in OPS:
        for fixed_first in (True, False):
            outcomes = []
            for dtype in (np.uint64, np.float64):
                try:
                    with np.errstate(divide="ignore"):
                        r = apply(op, fixed_first, fixed_array(fmt, raws), small.astype(dtype))
                    outcomes.append(raw_of(fmt, r).tolist())
                except (OverflowError, ZeroDivisionError) as e:  # e.g. 1.0 is not a Q15
                    outcomes.append(type(e).__name__)
            assert outcomes[0] == outcomes[1], (op, fixed_first)


def python_ints(fmt: Format) -> list[int]:
    big = 2 ** (fmt.integer_bits - 1)
    return [0, 1, -1, 2, -3, True, False, big - 1, big, -big, big + 1, 2 * big, -2 * big - 1,
            2**31, -(2**31) - 1, 2**62, 2**63 - 1, -(2**63)]


@pytest.mark.parametrize(("rounding", "overflow"), POLICIES, ids=POLICY_IDS)
def test_python_int_with_arrays(fmt: Format, rounding: str, overflow: str,
                                rng: np.random.Generator) -> None:
    """x op 3 and 3 op x with a Python int (weak under NEP 50): same results as exact ints."""
    raws = np.concatenate([random_raws(fmt, rng, 200), raw_edges(fmt)])
    x = fixed_array(fmt, raws)
    for n in python_ints(fmt):
        nums = np.full(raws.size, int(n), dtype=np.int64)
        for op in OPS:
            for fixed_first in (True, False):
                r, m = raws, nums
                if op == "divide":
                    keep = (m != 0) if fixed_first else (r != 0)
                    r, m = r[keep], m[keep]
                if r.size == 0:
                    continue
                want, over = int_oracle(fmt, op, fixed_first, ints(r, True), ints(m, True),
                                        rounding, overflow)
                xs = fixed_array(fmt, r)

                def run(idx: np.ndarray, xs=xs, op=op, fixed_first=fixed_first) -> np.ndarray:
                    with fixedq.policy(rounding=rounding, overflow=overflow):
                        out = apply(op, fixed_first, xs[idx], n)
                    assert out.dtype == x.dtype
                    return raw_of(fmt, out)

                check(run, want, over, overflow=overflow,
                      what=f"{fmt.name} {op} Python int {n!r} "
                           f"({'x op n' if fixed_first else 'n op x'})",
                      policy=policy_text(rounding, overflow),
                      inputs={"x": (r, hex_of(fmt.bits))}, out=hex_of(fmt.bits))


# ------------------------------------------------------------------------------------------
# Int operands: scalars, against Fraction
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("rounding", "overflow"), POLICIES, ids=POLICY_IDS)
def test_int_scalar_operands(fmt: Format, rounding: str, overflow: str,
                             rng: np.random.Generator) -> None:
    """fixed scalar op int (Python int, bool, NumPy int scalars), both orders, vs Fraction."""
    raws = raw_edges(fmt)[::3] + [int(v) for v in random_raws(fmt, rng, 5)]
    xs = [fmt.type.from_raw(r) for r in raws]
    # numpy.bool_ operands: test_numpy_bool_scalar_operands.
    kinds: list[Callable[[int], object]] = [int, np.int64, np.int8, np.uint8, np.uint32]
    ns = python_ints(fmt) + [int(v) for v in int_operands(fmt, random_raws(fmt, rng, 6), rng)]
    for i, x in enumerate(xs):
        qx = Fraction(*x.as_integer_ratio())
        for j, n in enumerate(ns):
            other = int_kind(kinds[(i + j) % len(kinds)], n)
            for op in OPS:
                for fixed_first in (True, False):
                    a, b = (qx, Fraction(n)) if fixed_first else (Fraction(n), qx)
                    what = (f"{x!r} {op} {other!r}" if fixed_first else f"{other!r} {op} {x!r}")
                    fn = SCALAR_OPS[op]
                    with fixedq.policy(rounding=rounding, overflow=overflow):
                        if op == "divide" and b == 0:
                            if fixed_first or not isinstance(other, np.generic):
                                with pytest.raises(ZeroDivisionError):  # else: test_numpy_scalar_
                                    fn(x, other) if fixed_first else fn(other, x)  # divided_by_zero
                            continue
                        try:
                            want = oracle_raw(fmt, fraction_op(op, a, b), rounding, overflow)
                        except Overflowed:
                            with pytest.raises(OverflowError):
                                fn(x, other) if fixed_first else fn(other, x)
                                pytest.fail(f"{what} [{rounding}/{overflow}] did not raise")
                            continue
                        got = fn(x, other) if fixed_first else fn(other, x)
                    assert type(got) is fmt.type, what
                    assert got.raw == want, (f"{what} [{rounding}/{overflow}]: got "
                                             f"{hex_of(fmt.bits)(got.raw)}, want "
                                             f"{hex_of(fmt.bits)(want)}")


def int_kind(kind: Callable[[int], object], n: int) -> object:
    """n as the given int kind if it fits, else as a Python int."""
    try:
        other = kind(n)
    except OverflowError:
        return n
    return other if int(other) == n else n  # type: ignore[call-overload]


@pytest.mark.parametrize("rounding", ROUNDINGS)
def test_int_division_by_zero(fmt: Format, rounding: str) -> None:
    """x / 0 and 0-valued x under n / x, with int operands: scalars raise ZeroDivisionError;
    arrays give max/min (0 for 0/0) under saturate, 0 under wrap, with NumPy's warning, and
    raise ZeroDivisionError under 'raise' -- as fixed / fixed does."""
    raws = np.array([fmt.raw_max, 5, 1, 0, -1, fmt.raw_min])
    x = fixed_array(fmt, raws)
    zero = fixed_array(fmt, np.zeros(raws.size, dtype=np.int64))
    nums = np.array([3, 0, -2, 0, 1, -7], dtype=np.int64)
    sat = np.where(raws > 0, fmt.raw_max, np.where(raws < 0, fmt.raw_min, 0))
    sat_n = np.where(nums > 0, fmt.raw_max, np.where(nums < 0, fmt.raw_min, 0))
    with fixedq.policy(rounding=rounding, overflow="saturate"):
        with pytest.warns(RuntimeWarning, match="divide by zero"):
            assert raw_of(fmt, x / 0).tolist() == sat.tolist()
        with pytest.warns(RuntimeWarning, match="divide by zero"):
            assert raw_of(fmt, x / np.zeros(raws.size, dtype=np.int32)).tolist() == sat.tolist()
        with pytest.warns(RuntimeWarning, match="divide by zero"):
            assert raw_of(fmt, nums / zero).tolist() == sat_n.tolist()
    with fixedq.policy(rounding=rounding, overflow="wrap"):
        with pytest.warns(RuntimeWarning, match="divide by zero"):
            assert not raw_of(fmt, x / 0).any()
        with pytest.warns(RuntimeWarning, match="divide by zero"):
            assert not raw_of(fmt, nums / zero).any()
    with fixedq.policy(rounding=rounding, overflow="raise"):
        with pytest.raises(ZeroDivisionError):
            x / 0
        with pytest.raises(ZeroDivisionError):
            nums / zero
    for overflow in OVERFLOWS:
        with fixedq.policy(rounding=rounding, overflow=overflow):
            for r in (fmt.raw_max, 1, 0, fmt.raw_min):
                for zero_int in (0, np.int64(0), False, np.uint8(0)):
                    with pytest.raises(ZeroDivisionError):
                        fmt.type.from_raw(r) / zero_int
                for n in (0, 1, -3, True):
                    with pytest.raises(ZeroDivisionError):
                        n / fmt.type(0)


# ------------------------------------------------------------------------------------------
# Float operands
# ------------------------------------------------------------------------------------------
def float_case(fmt: Format, ftype: type, rng: np.random.Generator):
    with np.errstate(over="ignore"):  # beyond float16/float32: +-inf, out of range too
        values = float_operands(fmt, rng, 900).astype(ftype)
    values = values[~np.isnan(values)]
    raws = random_raws(fmt, rng, values.size)
    return raws, values


# float64 under every policy; float32 and float16 (converted exactly to float64 on the way)
# under a few.
FLOAT_CASES = [(np.float64, r, o) for r, o in POLICIES] + [
    (t, r, o) for t in (np.float32, np.float16)
    for r, o in [("half_even", "saturate"), ("floor", "wrap"), ("half_up", "raise")]]


@pytest.mark.parametrize(("ftype", "rounding", "overflow"), FLOAT_CASES,
                         ids=[f"{np.dtype(t).name}-{r}-{o}" for t, r, o in FLOAT_CASES])
@pytest.mark.parametrize("op", OPS)
def test_float_array_operands(fmt: Format, op: str, ftype: type, rounding: str, overflow: str,
                              rng: np.random.Generator) -> None:
    """x op f and f op x: f converted with the rounding (out of range: OverflowError whatever
    the policy), then the fixed operation with the policy, against the exact oracle."""
    raws, values = float_case(fmt, ftype, rng)
    f_raw, bad = converted(fmt, values.astype(np.float64), rounding)
    ok = ~bad
    assert ok.sum() > values.size // 4 and bad.sum() >= 8, (ok.sum(), bad.sum())
    r_ok, v_ok, f_ok = raws[ok], values[ok], f_raw[ok]
    for fixed_first in (True, False):
        a, b = (r_ok, f_ok) if fixed_first else (f_ok, r_ok)
        keep = np.ones(a.size, dtype=bool) if op != "divide" else np.asarray(b != 0, dtype=bool)
        want, over = binary_oracle(op, fmt, ints(a[keep], True), ints(b[keep], True), rounding,
                                   overflow)
        x, v = fixed_array(fmt, r_ok[keep]), v_ok[keep]

        def run(idx: np.ndarray, x=x, v=v, fixed_first=fixed_first) -> np.ndarray:
            with fixedq.policy(rounding=rounding, overflow=overflow):
                out = apply(op, fixed_first, x[idx], v[idx])
            assert out.dtype == x.dtype
            return raw_of(fmt, out)

        check(run, want, over, overflow=overflow,
              what=f"{fmt.name} {op} {np.dtype(ftype).name} "
                   f"({'x op f' if fixed_first else 'f op x'})",
              policy=policy_text(rounding, overflow),
              inputs={"x": (r_ok[keep], hex_of(fmt.bits)), "f": (v, float_hex)},
              out=hex_of(fmt.bits))
    # Each operand out of range raises OverflowError, alone or among good ones.
    x = fixed_array(fmt, raws)
    for i in np.flatnonzero(bad)[:: max(1, int(bad.sum()) // 8)]:
        for fixed_first in (True, False):
            with fixedq.policy(rounding=rounding, overflow=overflow):
                with pytest.raises(OverflowError, match=f"out of the range of {fmt.name}"):
                    apply(op, fixed_first, x[i : i + 1], values[i : i + 1])
                    pytest.fail(f"{fmt.name} {op} {float_hex(values[i])}: no OverflowError")
    # Among other elements: under 'raise' an earlier element's own overflow (or division by
    # zero) may be the error reported first.
    errors = (OverflowError, ZeroDivisionError) if overflow == "raise" else OverflowError
    with fixedq.policy(rounding=rounding, overflow=overflow), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # x / 0 among the good elements
        with pytest.raises(errors, match=f"out of the range of {fmt.name}|overflows|by zero"):
            apply(op, True, x, values)


@pytest.mark.parametrize(("rounding", "overflow"), POLICIES, ids=POLICY_IDS)
def test_float_scalar_operands(fmt: Format, rounding: str, overflow: str,
                               rng: np.random.Generator) -> None:
    """fixed scalar op float (Python float, np.float64, np.float32), both orders, vs Fraction;
    and a fixed array op a Python float (weak: converted to the format like the others)."""
    pool = float_operands(fmt, rng, 30)
    values = rng.choice(pool, size=24, replace=False)
    raws = raw_edges(fmt)[::4] + [int(v) for v in random_raws(fmt, rng, 3)]
    xs = [fmt.type.from_raw(r) for r in raws]
    arr = np.array(xs)
    kinds = [float, np.float64, np.float32]
    out_of_range = f"out of the range of {fmt.name}"
    for i, d in enumerate(values.tolist()):
        kind = kinds[i % len(kinds)]
        with np.errstate(over="ignore"):
            other = kind(d)
        try:
            conv = (oracle_raw(fmt, Fraction(float(other)), rounding, "raise")
                    if np.isfinite(other) else None)
        except Overflowed:
            conv = None
        for op, fn in SCALAR_OPS.items():
            for fixed_first in (True, False):
                with fixedq.policy(rounding=rounding, overflow=overflow):
                    if conv is None:
                        for call in (lambda: fn(xs[0], other) if fixed_first else fn(other, xs[0]),
                                     lambda: apply(op, fixed_first, arr, other)):
                            with pytest.raises(OverflowError, match=out_of_range):
                                call()
                        continue
                    want_arr = []
                    for x in xs:
                        qx, qf = Fraction(*x.as_integer_ratio()), Fraction(conv, fmt.scale)
                        a, b = (qx, qf) if fixed_first else (qf, qx)
                        what = f"{x!r} {op} {other!r}" if fixed_first else f"{other!r} {op} {x!r}"
                        if op == "divide" and b == 0:
                            if fixed_first or not isinstance(other, np.generic):
                                with pytest.raises(ZeroDivisionError):  # else: test_numpy_scalar_
                                    fn(x, other) if fixed_first else fn(other, x)  # divided_by_zero
                            want_arr.append(None)
                            continue
                        try:
                            want = oracle_raw(fmt, fraction_op(op, a, b), rounding, overflow)
                        except Overflowed:
                            with pytest.raises(OverflowError):
                                fn(x, other) if fixed_first else fn(other, x)
                                pytest.fail(f"{what} [{rounding}/{overflow}] did not raise")
                            want_arr.append(None)
                            continue
                        got = fn(x, other) if fixed_first else fn(other, x)
                        assert type(got) is fmt.type, what
                        assert got.raw == want, (f"{what} [{rounding}/{overflow}]: got {got!r}, "
                                                 f"want {hex_of(fmt.bits)(want)}")
                        want_arr.append(want)
                    if None in want_arr:
                        continue  # elementwise errors: covered by the scalars above
                    got_arr = raw_of(fmt, apply(op, fixed_first, arr, other)).tolist()
                    assert got_arr == want_arr, (f"{fmt.name} array {op} {other!r} "
                                                 f"({'x op f' if fixed_first else 'f op x'}) "
                                                 f"[{rounding}/{overflow}]")


@pytest.mark.parametrize("overflow", OVERFLOWS)
def test_float_operand_errors(fmt: Format, overflow: str) -> None:
    """Out of range (after rounding) -> OverflowError naming the format, NaN -> ValueError,
    whatever the overflow policy; scalars and arrays, both orders, every op and float kind."""
    lo, hi = Fraction(fmt.raw_min, fmt.scale), Fraction(fmt.raw_max, fmt.scale)
    ulp = Fraction(1, fmt.scale)
    below = lo - ulp if Fraction(float(lo - ulp)) == lo - ulp else lo * (1 + Fraction(1, 2**40))
    outside = [float(hi + ulp), float(below), float(2 * hi + 2), 1e300, -1e300, np.inf, -np.inf]
    assert all(not lo <= Fraction(d) <= hi for d in outside if np.isfinite(d))
    x = fmt.type.from_raw(3)
    arr = fixed_array(fmt, np.array([0, 3, -3]))
    with fixedq.policy(overflow=overflow):
        for op, fn in SCALAR_OPS.items():
            for d in outside:
                with np.errstate(over="ignore"):
                    exact32 = float(np.float32(d)) == d  # else float32 may round it into range
                kinds = [float, np.float64] + ([np.float32] if exact32 else [])
                for kind in kinds:
                    for call in (lambda: fn(x, kind(d)), lambda: fn(kind(d), x),
                                 lambda: apply(op, True, arr, kind(d)),
                                 lambda: apply(op, False, arr, kind(d)),
                                 lambda: apply(op, True, arr, np.array([0.25, d, 0.25], kind)),
                                 lambda: apply(op, False, arr, np.array([d, 0.25, 0.25], kind))):
                        with pytest.raises(OverflowError, match=f"out of the range of {fmt.name}"):
                            call()
            for kind in (float, np.float64, np.float32, np.float16):
                nan = kind("nan")
                for call in (lambda: fn(x, nan), lambda: fn(nan, x),
                             lambda: apply(op, True, arr, nan),
                             lambda: apply(op, False, arr, nan),
                             lambda: apply(op, True, arr, np.array([0.5, nan, 0.5], dtype=kind))):
                    with pytest.raises(ValueError, match="NaN"):
                        call()
    # A tie just above max() is in range or not depending on the rounding (round first).
    tie = float(hi + ulp / 2)
    if Fraction(tie) != hi + ulp / 2:  # Fixed32_32: 65 significant bits, no such double
        return
    with fixedq.policy(rounding="floor", overflow=overflow):
        assert (fmt.type(0) + tie).raw == fmt.raw_max
        assert raw_of(fmt, arr[:1] + tie).tolist() == [fmt.raw_max]
    with fixedq.policy(rounding="half_even", overflow=overflow):  # raw_max is odd: ties go up
        with pytest.raises(OverflowError, match=f"out of the range of {fmt.name}"):
            fmt.type(0) + tie
        with pytest.raises(OverflowError, match=f"out of the range of {fmt.name}"):
            arr[:1] + tie


# ------------------------------------------------------------------------------------------
# Comparisons
# ------------------------------------------------------------------------------------------
def compare_oracle(raws: np.ndarray, num: np.ndarray, den: np.ndarray, scale: int,
                   nan: np.ndarray) -> dict:
    """For each comparison: raw/scale OP num/den, exactly (den > 0); NaN -> only != holds."""
    lhs = ints(raws, True) * den
    rhs = num * scale
    out = {}
    for ufunc, pyop in COMPARISONS.items():
        res = np.array([pyop(a, b) for a, b in zip(lhs.tolist(), rhs.tolist())], dtype=bool)
        out[ufunc] = np.where(nan, ufunc is np.not_equal, res)
    return out


def comparison_operands(fmt: Format, raws: np.ndarray, rng: np.random.Generator):
    """(name, operand array, num, den, nan mask): ints and floats next to each raw."""
    whole = np.array([int(Fraction(int(r), fmt.scale)) for r in raws], dtype=np.int64)
    pick = rng.integers(0, 3, size=raws.size)
    nudged = whole + rng.integers(-1, 2, size=raws.size)
    anyint = rng.integers(-(2**62), 2**62, size=raws.size)
    nums = np.where(pick == 0, whole, np.where(pick == 1, nudged, anyint))
    cases = []
    for itype in (np.int64, np.int8, np.uint32, np.uint64, np.bool_):
        if itype is np.bool_:
            arr = (nums & 1).astype(np.bool_)
        else:
            info = np.iinfo(itype)
            lo, hi = max(int(info.min), -(2**63)), min(int(info.max), 2**63 - 1)
            arr = np.clip(nums, lo, hi).astype(itype)
        cases.append((np.dtype(itype).name, arr, ints(arr, True), ints(np.ones(arr.size), True),
                      np.zeros(arr.size, dtype=bool)))
    exact = np.ldexp(raws.astype(np.float64), -fmt.fraction_bits)  # rounded for Fixed32_32
    step = rng.integers(0, 4, size=raws.size)
    floats = np.where(step == 0, exact, np.where(step == 1, np.nextafter(exact, np.inf),
                                                 np.where(step == 2, np.nextafter(exact, -np.inf),
                                                          exact * 3.0)))
    floats[::17] = np.nan
    floats[1::17] = np.inf
    floats[2::17] = -np.inf
    floats[3::17] = 1e200  # near the double range: test_comparisons_with_huge_floats
    for ftype in (np.float64, np.float32):
        with np.errstate(over="ignore"):  # 1e300 is +inf in float32
            arr = floats.astype(ftype)
        finite = np.isfinite(arr)
        num, den = exact_values(np.where(finite, arr, 0.0).astype(np.float64))
        huge = 2**2000  # +-inf: beyond every fixed value
        num = np.where(np.isposinf(arr), huge, np.where(np.isneginf(arr), -huge, num))
        cases.append((np.dtype(ftype).name, arr, num, den, np.isnan(arr)))
    return cases


def test_mixed_comparisons_are_exact(fmt: Format, rng: np.random.Generator) -> None:
    raws = np.concatenate([random_raws(fmt, rng, 800), raw_edges(fmt)])
    x = fixed_array(fmt, raws)
    show = hex_of(fmt.bits)
    for name, arr, num, den, nan in comparison_operands(fmt, raws, rng):
        want = compare_oracle(raws, num, den, fmt.scale, nan)
        for ufunc in COMPARISONS:
            mirrored = {np.less: np.greater, np.greater: np.less, np.less_equal: np.greater_equal,
                        np.greater_equal: np.less_equal}.get(ufunc, ufunc)
            for got, label in ((ufunc(x, arr), f"x {ufunc.__name__} {name}"),
                               (mirrored(arr, x), f"{name} {mirrored.__name__} x")):
                assert got.dtype == np.bool_
                bad = np.flatnonzero(got != want[ufunc])
                assert bad.size == 0, (f"{fmt.name}: {label}: {bad.size} differ, e.g. "
                                       f"x={show(raws[bad[0]])} other={arr[bad[0]]!r} "
                                       f"got {got[bad[0]]}")


def test_comparisons_with_python_numbers(fmt: Format) -> None:
    """Weak Python ints and floats against arrays and scalars, both orders, exactly."""
    raws = np.array(raw_edges(fmt))
    x = fixed_array(fmt, raws)
    lo, hi = Fraction(fmt.raw_min, fmt.scale), Fraction(fmt.raw_max, fmt.scale)
    others: list = [0, 1, -1, 2 ** (fmt.integer_bits - 1), -(2 ** (fmt.integer_bits - 1)),
                    2**63 - 1, -(2**63), True, 0.5, -0.25, float(hi), float(lo), float(hi) + 1e-9,
                    1e200, -1e200, float("inf"), float("-inf"), float("nan"),
                    np.float32(0.5), np.int64(-1), np.uint64(2**64 - 1), np.int8(-128)]
    for other in others:
        is_int = isinstance(other, (int, np.integer, np.bool_))
        finite = is_int or np.isfinite(other)
        q = Fraction(int(other)) if is_int else Fraction(float(other)) if finite else None
        for ufunc, pyop in COMPARISONS.items():
            got_arr = ufunc(x, other)
            got_rev = ufunc(other, x)
            for i, r in enumerate(raws.tolist()):
                qx = Fraction(r, fmt.scale)
                if q is None:  # nan or inf
                    f = float(other)
                    want = pyop(float(qx), f) if not np.isnan(f) else pyop is operator.ne
                    want_rev = pyop(f, float(qx)) if not np.isnan(f) else pyop is operator.ne
                else:
                    want, want_rev = pyop(qx, q), pyop(q, qx)
                s = fmt.type.from_raw(r)
                assert bool(got_arr[i]) == want, (fmt.name, r, ufunc.__name__, other)
                assert bool(got_rev[i]) == want_rev, (fmt.name, other, ufunc.__name__, r)
                # A NumPy scalar on either side may answer with numpy.bool_ (as NumPy does).
                assert type(pyop(s, other)) in (bool, np.bool_)
                assert bool(pyop(s, other)) is want, (repr(s), pyop.__name__, other)
                assert bool(pyop(other, s)) is want_rev, (other, pyop.__name__, repr(s))


def test_comparisons_with_huge_floats(fmt: Format) -> None:
    """Finite doubles near the top of the double range compare like any other, without a
    floating-point overflow warning (the scaling by 2**F must not overflow)."""
    x = fixed_array(fmt, np.array([fmt.raw_min, -1, 0, 1, fmt.raw_max]))
    big = np.finfo(np.float64).max
    for d in (big, -big, 1e300, -1e300, 2.0**1000):
        want_lt = [Fraction(int(r), fmt.scale) < Fraction(d) for r in raw_of(fmt, x)]
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert (x < d).tolist() == want_lt, d
            assert (x == d).tolist() == [False] * 5, d
            assert (np.float64(d) > x).tolist() == want_lt, d
            assert (x < np.array([d] * 5)).tolist() == want_lt, d
            assert (fmt.type.max() < d) is want_lt[-1]


def test_comparisons_of_values_floats_cannot_hold() -> None:
    """Fixed32_32 has 64 significant bits: a value is never equal to its rounded double."""
    fmt = fixedq.Fixed32_32
    raw = 2**60 + 1
    x = fmt.from_raw(raw)
    d = float(x)
    assert Fraction(d) != Fraction(raw, 2**32)
    assert x != d and not x == d and (x < d) == (Fraction(raw, 2**32) < Fraction(d))
    arr = np.array([x])
    assert (arr == d).tolist() == [False] and (arr != d).tolist() == [True]
    assert (arr < d).tolist() == [Fraction(raw, 2**32) < Fraction(d)]
    assert (arr == np.array([d])).tolist() == [False]


def test_numpy_bool_scalar_operands(fmt: Format) -> None:
    """numpy.bool_ is an int like Python's bool: Q15(-0.5) + np.True_ == Q15(0.5)."""
    x = fmt.type(-0.5)
    half = fmt.scale // 2
    for other in (True, np.True_):
        assert (x + other).raw == half, other
        assert (other + x).raw == half, other
        assert (x - other).raw == (-half - fmt.scale if fmt.integer_bits > 1 else fmt.raw_min)
        assert (x * other).raw == -half and (x / other).raw == -half
    assert (x * np.False_).raw == 0 and (np.False_ * x).raw == 0
    with pytest.raises(ZeroDivisionError):
        x / np.False_


def test_scalar_divided_by_zero(fmt: Format) -> None:
    """n / x with x == 0: a Python number on the left meets the fixed scalar's operator and
    raises ZeroDivisionError. A NumPy scalar on the left runs NumPy's operator first, which
    takes the array path: the saturated value with NumPy's divide-by-zero warning (as for
    NumPy integer scalars), never a silent value."""
    zero = fmt.type(0)
    for n in (2, 0.5, -3):
        with pytest.raises(ZeroDivisionError):
            n / zero
    for n in (np.int64(2), np.int16(-3), np.uint8(1), np.float64(0.5), np.float32(0.25)):
        with pytest.warns(RuntimeWarning, match="divide by zero"):
            got = n / zero
        assert got == (fmt.type.max() if n > 0 else fmt.type.min()), (n, got)


# ------------------------------------------------------------------------------------------
# The explicit functions follow the same rules
# ------------------------------------------------------------------------------------------
EXPLICIT_FNS = {"add": fixedq.add, "subtract": fixedq.subtract, "multiply": fixedq.multiply,
                "divide": fixedq.divide}


def test_explicit_functions_take_ints_exactly(fmt: Format) -> None:
    """fixedq.add(x, n, rounding=..., overflow=...) is x + n under that policy, for scalars
    as for arrays: fixedq.divide(Q15(0.5), 2) is Q15(0.25), not 0.5 / Q15(2)."""
    for (rounding, overflow), (value, op, n, fixed_first, exact) in (
            (p, c) for p in POLICIES for c in in_range_only_exactly(fmt)):
        x = fmt.type(value)
        want = oracle_raw(fmt, exact, rounding, overflow)
        args = (x, n) if fixed_first else (n, x)
        got = EXPLICIT_FNS[op](*args, rounding=rounding, overflow=overflow)
        assert type(got) is fmt.type and got.raw == want, (
            f"fixedq.{op}{args!r}, rounding={rounding!r}, overflow={overflow!r}: got {got!r}, "
            f"want {hex_of(fmt.bits)(want)}")
        arr_args = (np.array([x]), n) if fixed_first else (n, np.array([x]))
        got = EXPLICIT_FNS[op](*arr_args, rounding=rounding, overflow=overflow)
        assert raw_of(fmt, got).tolist() == [want], (op, arr_args)


def test_explicit_functions_reject_out_of_range_floats(fmt: Format) -> None:
    """fixedq.add(x, 2.0) raises OverflowError for Q15 whatever the overflow policy, as
    x + 2.0 does: the float operand is out of the format's range."""
    big = float(2 ** (fmt.integer_bits - 1))
    for overflow, (op, fn) in ((o, f) for o in OVERFLOWS for f in EXPLICIT_FNS.items()):
        for args in ((fmt.type(0), big), (big, fmt.type.from_raw(1)),
                     (np.array([fmt.type(0)]), big), (big, np.array([fmt.type.from_raw(1)]))):
            with pytest.raises(OverflowError, match=f"out of the range of {fmt.name}"):
                fn(*args, overflow=overflow)
                pytest.fail(f"fixedq.{op}{args!r}, overflow={overflow!r} did not raise")
