"""Large random samples plus edges for every format (the 32- and 64-bit ones above all).

Same oracle and checks as test_exhaustive.py; the raws mix the whole range, every magnitude,
small values and the neighbourhoods of the edges (``oracle.random_raws``), and every binary
test adds all pairs of ``conftest.raw_edges``. Fixed32_32 is checked with Python ints.
Also: sums (fixedq.sum exact along any axes; np.sum exact along a contiguous axis and
step by step along the others), dot products and matmul (one rounding of the exact result),
division by zero, NaN and infinities.
"""

from __future__ import annotations

import warnings
from fractions import Fraction

import numpy as np
import pytest

import fixedq
from conftest import FORMATS, OVERFLOWS, ROUNDINGS, Format, Overflowed, oracle_raw, raw_edges
from oracle import (
    FLOATS,
    INT_DTYPES,
    check,
    exact_values,
    fit_range,
    fixed_result,
    float_hex,
    hex_of,
    int_range,
    ints,
    random_raws,
    to_float,
)
from test_exhaustive import (
    EXPLICIT,
    POLICIES,
    POLICY_IDS,
    UFUNCS,
    UNARY,
    check_binary,
    check_cast_in,
    check_to_int,
    check_unary,
    fixed_array,
    raw_of,
)

N = 4000
WIDE_FORMATS = [f for f in FORMATS if f.bits >= 32]


def sample(fmt: Format, rng: np.random.Generator, n: int = N) -> np.ndarray:
    return np.concatenate([random_raws(fmt, rng, n), np.array(raw_edges(fmt), dtype=np.int64)])


@pytest.fixture(params=WIDE_FORMATS, ids=lambda f: f.name)
def wide_fmt(request: pytest.FixtureRequest) -> Format:
    return request.param


@pytest.mark.parametrize(("rounding", "overflow"), POLICIES, ids=POLICY_IDS)
@pytest.mark.parametrize("op", UNARY)
def test_unary_random(wide_fmt: Format, op: str, rounding: str, overflow: str,
                      rng: np.random.Generator) -> None:
    check_unary(op, wide_fmt, sample(wide_fmt, rng), rounding, overflow)


@pytest.mark.parametrize(("rounding", "overflow"), POLICIES, ids=POLICY_IDS)
@pytest.mark.parametrize("op", list(UFUNCS))
def test_binary_random(fmt: Format, op: str, rounding: str, overflow: str,
                       rng: np.random.Generator) -> None:
    edges = np.array(raw_edges(fmt), dtype=np.int64)
    a = np.concatenate([random_raws(fmt, rng, N), np.repeat(edges, edges.size)])
    b = np.concatenate([random_raws(fmt, rng, N), np.tile(edges, edges.size)])
    if op == "divide":
        a, b = a[b != 0], b[b != 0]
    check_binary(op, fmt, a, b, rounding, overflow)


@pytest.mark.parametrize("ftype", list(FLOATS), ids=lambda t: t.__name__)
def test_to_float_random(wide_fmt: Format, ftype: type, rng: np.random.Generator) -> None:
    raws = sample(wide_fmt, rng)
    want = to_float(ints(raws, wide_fmt.bits > 32), wide_fmt.fraction_bits, ftype)
    utype = FLOATS[ftype][3]
    x = fixed_array(wide_fmt, raws)
    for rounding, overflow in [("half_even", "saturate"), ("floor", "wrap"), ("ceil", "raise")]:
        with fixedq.policy(rounding=rounding, overflow=overflow):
            got = x.astype(ftype)
        check(lambda idx: got[idx].view(utype), want.view(utype), np.zeros(raws.size, bool),
              overflow="wrap", what=f"{wide_fmt.name} -> {ftype.__name__}",
              policy=f"{rounding}/{overflow}", inputs={"x": (raws, hex_of(wide_fmt.bits))},
              out=lambda b: float_hex(np.array(b, utype).view(ftype)))
    # float(x) of a scalar is the same correctly rounded double.
    if ftype is np.float64:
        for r, w in zip(raws[:300], want[:300]):
            assert float(wide_fmt.type.from_raw(int(r))) == w, hex(int(r))


@pytest.mark.parametrize(("rounding", "overflow"), POLICIES, ids=POLICY_IDS)
@pytest.mark.parametrize("itype", INT_DTYPES, ids=lambda t: np.dtype(t).name)
def test_to_int_random(wide_fmt: Format, itype: type, rounding: str, overflow: str,
                       rng: np.random.Generator) -> None:
    check_to_int(wide_fmt, itype, sample(wide_fmt, rng, 1000), rounding, overflow)


def random_doubles(fmt: Format, rng: np.random.Generator, n: int) -> np.ndarray:
    """Doubles on and between the format's grid, of every magnitude, and far out of range."""
    k = n // 3
    raws = random_raws(fmt, rng, k).astype(np.float64)
    grid = np.ldexp(raws + rng.integers(0, 8, size=k) / 8.0, -fmt.fraction_bits)
    mant = rng.uniform(1.0, 2.0, size=k) * np.where(rng.integers(0, 2, size=k) == 1, -1, 1)
    anymag = np.ldexp(mant, rng.integers(-fmt.fraction_bits - 4, fmt.integer_bits + 90, size=k))
    specials = [0.0, -0.0, 5e-324, -5e-324, 2.0**63, -(2.0**63), 2.0**64,
                2.0**64 + 2.0**12, -(2.0**64) - 2.0**12, 2.0**117, 2.0**117 + 2.0**65,
                2.0**118 * 3, -(2.0**70) - 2.0**18]
    edges = [float(Fraction(r, fmt.scale)) for r in raw_edges(fmt)]
    halves = [float(Fraction(2 * r + 1, 2 * fmt.scale)) for r in raw_edges(fmt)]
    return np.concatenate([grid, anymag, specials, edges, halves,
                           np.ldexp(rng.uniform(-1, 1, n - 3 * k), fmt.integer_bits - 1)])


@pytest.mark.parametrize(("rounding", "overflow"), POLICIES, ids=POLICY_IDS)
def test_from_float64_random(fmt: Format, rounding: str, overflow: str,
                             rng: np.random.Generator) -> None:
    x = random_doubles(fmt, rng, 1500)
    num, den = exact_values(x)
    check_cast_in(fmt, x, num * fmt.scale, den, rounding, overflow, "float64", float_hex)


@pytest.mark.parametrize(("rounding", "overflow"), POLICIES, ids=POLICY_IDS)
def test_from_huge_float64(fmt: Format, rounding: str, overflow: str) -> None:
    """Finite doubles whose scaled value x * 2**F exceeds the double range: out of range like
    any other (no floating-point warning); under wrap their residue is 0 (multiples of 2**64)."""
    x = np.array([1e300, -1e300, 1.7976931348623157e308, -(2.0**1000), 2.0**1023 * 1.5])
    num, den = exact_values(x)
    check_cast_in(fmt, x, num * fmt.scale, den, rounding, overflow, "float64", float_hex)


@pytest.mark.parametrize(("rounding", "overflow"), POLICIES, ids=POLICY_IDS)
def test_from_float32_random(fmt: Format, rounding: str, overflow: str,
                             rng: np.random.Generator) -> None:
    bits = rng.integers(0, 2**32, size=1500, dtype=np.uint64).astype(np.uint32)
    x = bits.view(np.float32)
    d = random_doubles(fmt, rng, 600)
    x = np.concatenate([x[np.isfinite(x)], d[np.abs(d) < 2.0**127].astype(np.float32)])
    num, den = exact_values(x)
    check_cast_in(fmt, x, num * fmt.scale, den, rounding, overflow, "float32", float_hex)


@pytest.mark.parametrize(("rounding", "overflow"), POLICIES, ids=POLICY_IDS)
@pytest.mark.parametrize("itype", [np.int32, np.int64, np.uint32, np.uint64],
                         ids=lambda t: np.dtype(t).name)
def test_from_wide_int_random(fmt: Format, itype: type, rounding: str, overflow: str,
                              rng: np.random.Generator) -> None:
    lo, hi = int_range(itype)
    lengths = rng.integers(0, np.dtype(itype).itemsize * 8, size=1000)
    vals = [int(rng.integers(0, 2**62)) >> max(62 - int(L), 0) for L in lengths]
    vals = [v if lo == 0 or i % 2 else -v - 1 for i, v in enumerate(vals)]
    vals += [lo, hi, lo + 1, hi - 1, 0, 1]
    src = np.array(vals, dtype=object).astype(itype)
    num = ints(src, True) * fmt.scale
    check_cast_in(fmt, src, num, 1, rounding, overflow, np.dtype(itype).name, str)


@pytest.mark.parametrize(("rounding", "overflow"), POLICIES, ids=POLICY_IDS)
def test_between_formats_random(wide_fmt: Format, rounding: str, overflow: str,
                                rng: np.random.Generator) -> None:
    raws = sample(wide_fmt, rng, 1000)
    src = fixed_array(wide_fmt, raws)
    for dst in FORMATS:
        if dst is wide_fmt:
            continue
        d = dst.fraction_bits - wide_fmt.fraction_bits
        num = ints(raws, True) * 2 ** max(d, 0)
        check_cast_in(dst, src, num, 2 ** max(-d, 0), rounding, overflow, wide_fmt.name,
                      hex_of(wide_fmt.bits))


# ------------------------------------------------------------------------------------------
# Special values
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("rounding", "overflow"), POLICIES, ids=POLICY_IDS)
def test_nan_is_a_value_error(fmt: Format, rounding: str, overflow: str) -> None:
    for ftype in (np.float64, np.float32, np.float16):
        src = np.array([1.0, np.nan, 0.5], dtype=ftype)
        with fixedq.policy(rounding=rounding, overflow=overflow):
            with pytest.raises(ValueError, match="NaN"):
                src.astype(fmt.type)
            with pytest.raises(ValueError, match="NaN"):
                np.array([0.25, float("nan")], dtype=fmt.type)
            with pytest.raises(ValueError, match="NaN"):
                fmt.type(float("nan"))
            with pytest.raises(ValueError, match="NaN"):
                fmt.type(0) + float("nan")
        with pytest.raises(ValueError, match="NaN"):
            fixedq.cast(src, fmt.type, rounding=rounding, overflow=overflow)


@pytest.mark.parametrize("overflow", OVERFLOWS)
def test_infinities(fmt: Format, overflow: str) -> None:
    """+-inf are out of range: the extremes under saturate (and, as the C++ core documents
    for from_double, under wrap too), OverflowError under raise."""
    src = np.array([np.inf, -np.inf])
    if overflow == "raise":
        with fixedq.policy(overflow="raise"), pytest.raises(OverflowError):
            src.astype(fmt.type)
        with fixedq.policy(overflow="raise"), pytest.raises(OverflowError):
            fmt.type(float("inf"))
        return
    with fixedq.policy(overflow=overflow):
        got = raw_of(fmt, src.astype(fmt.type))
    assert got.tolist() == [fmt.raw_max, fmt.raw_min], (overflow, got)


@pytest.mark.parametrize("rounding", ROUNDINGS)
def test_division_by_zero(fmt: Format, rounding: str, rng: np.random.Generator) -> None:
    raws = np.concatenate([sample(fmt, rng, 200), [0, 0]])
    x = fixed_array(fmt, raws)
    zero = np.zeros_like(x)
    want = np.where(raws > 0, fmt.raw_max, np.where(raws < 0, fmt.raw_min, 0))
    with fixedq.policy(rounding=rounding), pytest.warns(RuntimeWarning, match="divide by zero"):
        got = raw_of(fmt, x / zero)
    np.testing.assert_array_equal(got, want, err_msg=f"{fmt.name} x / 0 saturate {rounding}")
    with pytest.warns(RuntimeWarning, match="divide by zero"):
        got = raw_of(fmt, fixedq.divide(x, zero, rounding=rounding, overflow="wrap"))
    np.testing.assert_array_equal(got, 0 * raws, err_msg=f"{fmt.name} x / 0 wrap {rounding}")
    with pytest.raises(ZeroDivisionError):
        fixedq.divide(x, zero, rounding=rounding, overflow="raise")
    # Scalars raise under every policy.
    for overflow in OVERFLOWS:
        with fixedq.policy(rounding=rounding, overflow=overflow):
            for r in (fmt.raw_max, 1, 0, -1, fmt.raw_min):
                with pytest.raises(ZeroDivisionError):
                    fmt.type.from_raw(r) / fmt.type(0)
            with pytest.raises(ZeroDivisionError):
                fmt.type.from_raw(1) / 0
        with pytest.raises(ZeroDivisionError):
            fixedq.divide(fmt.type.from_raw(3), fmt.type(0), rounding=rounding, overflow=overflow)


# ------------------------------------------------------------------------------------------
# Reductions: sums never round; where they meet the overflow policy depends on the path.
#  - fixedq.sum: exact along any axes, one overflow check per final sum;
#  - np.sum / np.add.reduce along a contiguous axis (1-D, the last axis of a C-ordered
#    array, or an axis NumPy can coalesce into one): exact too, one check at the end;
#  - np.sum along another axis: NumPy hands the loop one row at a time, so each partial sum
#    meets the policy (documented in fixedq.sum): saturating at each step.
# ------------------------------------------------------------------------------------------
def exact_sums(raws: np.ndarray, axis) -> np.ndarray:
    """Exact sums (Python ints) of raws over axis (None, int or tuple), as a 1-D array."""
    total = ints(raws, True).sum(axis=axis)
    return np.atleast_1d(np.asarray(total, dtype=object)).ravel()


def stepwise_sums(fmt: Format, raws: np.ndarray, overflow: str) -> tuple[np.ndarray, np.ndarray]:
    """np.sum(x, axis=0) of a C-ordered 2-D x as NumPy runs it: row after row, each partial
    sum fitted with the policy. Returns the raws and the mask of columns that overflow at
    some step (under 'raise' np.sum must raise if any does)."""
    rows = ints(raws, True)
    acc = rows[0].copy()
    ever = np.zeros(acc.shape, dtype=bool)
    for row in rows[1:]:
        acc, over = fit_range(acc + row, fmt.raw_min, fmt.raw_max, overflow)
        ever |= over
    return acc, ever


@pytest.mark.parametrize("overflow", OVERFLOWS)
def test_sum_saturates_only_at_the_end(fmt: Format, overflow: str) -> None:
    t = fmt.type
    cases = [
        [fmt.raw_max, 1, -1],
        [fmt.raw_min, -1, 1],
        [fmt.raw_max, fmt.raw_max, fmt.raw_min, fmt.raw_min, 5],
        [fmt.raw_min] * 7 + [fmt.raw_max] * 7,
    ]
    for raws in cases:
        x = fixed_array(fmt, np.array(raws, dtype=np.int64))
        two = np.stack([x, x], axis=1)  # the summed axis 0 is strided
        want, over = fit_range(ints([sum(raws)] * 2, True), fmt.raw_min, fmt.raw_max, overflow)
        assert not over.any()
        with fixedq.policy(overflow=overflow):
            for got in (fixedq.sum(two, axis=0), fixedq.sum(two.T, axis=1),
                        fixedq.sum(two, axis=0, overflow=overflow),
                        np.sum(np.asfortranarray(two), axis=0)):  # axis 0 contiguous in memory
                assert raw_of(fmt, got).tolist() == want.tolist(), (
                    fmt.name, overflow, [hex(r) for r in raws], got)
        # Everything: 2 * sum(raws), in range or not, checked once.
        want_both, over_both = fit_range(ints([2 * sum(raws)], True), fmt.raw_min, fmt.raw_max,
                                         overflow)
        with fixedq.policy(overflow=overflow):
            if overflow == "raise" and over_both.any():
                with pytest.raises(OverflowError):
                    fixedq.sum(two)
            else:
                both = fixedq.sum(two)
                assert type(both) is t and both.raw == int(want_both[0])
        with fixedq.policy(overflow=overflow):
            singles = [np.sum(x), np.add.reduce(x), x.sum(), np.sum(x.reshape(-1, 1), axis=0)[0],
                       np.add.reduce(x.reshape(1, -1), axis=1)[0], fixedq.sum(x),
                       np.sum(x[::-1]), np.sum(np.repeat(x, 2)[::2])]
        for got in singles:
            assert type(got) is t
            assert got.raw == int(want[0]), (fmt.name, overflow, [hex(r) for r in raws], got)
        # Along the strided axis np.sum meets the policy at every step.
        step, ever = stepwise_sums(fmt, np.stack([raws, raws], axis=1), overflow)
        with fixedq.policy(overflow=overflow):
            if overflow == "raise" and ever.any():
                with pytest.raises(OverflowError):
                    np.sum(two, axis=0)
            else:
                assert raw_of(fmt, np.sum(two, axis=0)).tolist() == step.tolist()


@pytest.mark.parametrize("overflow", OVERFLOWS)
@pytest.mark.parametrize("shape_axis", [((5000,), None), ((64, 70), 1), ((3, 9000), 1),
                                        ((64, 70), None), ((4, 5, 6), 2), ((4, 5, 6), -1)],
                         ids=["1d", "2d-axis1", "long-axis1", "2d-all", "3d-axis2", "3d-axis-1"])
def test_np_sum_of_a_contiguous_axis_is_exact(fmt: Format, overflow: str, shape_axis,
                                              rng: np.random.Generator) -> None:
    shape, axis = shape_axis
    raws = random_raws(fmt, rng, int(np.prod(shape))).reshape(shape)
    want, over = fit_range(exact_sums(raws, axis), fmt.raw_min, fmt.raw_max, overflow)
    x = fixed_array(fmt, raws)
    lines = (np.moveaxis(x, axis, -1).reshape(-1, shape[axis]) if axis is not None
             else x.reshape(1, -1))

    def run(idx: np.ndarray) -> np.ndarray:
        with fixedq.policy(overflow=overflow):
            if idx.size == want.size:
                return np.atleast_1d(raw_of(fmt, np.asarray(np.sum(x, axis=axis)))).ravel()
            # One sum at a time (under 'raise' the others must not raise).
            return np.array([np.sum(lines[i]).raw for i in idx])

    check(run, want, over, overflow=overflow, what=f"np.sum({fmt.name}{shape}, axis={axis})",
          policy=f"overflow={overflow!r}", inputs={}, out=hex_of(fmt.bits))


@pytest.mark.parametrize("overflow", OVERFLOWS)
@pytest.mark.parametrize("shape", [(64, 70), (9000, 3), (2, 5)], ids=["2d", "long", "short"])
def test_np_sum_of_a_strided_axis_meets_the_policy_at_each_step(
        fmt: Format, overflow: str, shape, rng: np.random.Generator) -> None:
    """np.sum(x, axis=0) of a C-ordered 2-D array: the documented row-by-row behaviour."""
    raws = random_raws(fmt, rng, int(np.prod(shape))).reshape(shape)
    if shape[1] > 3:
        raws[:, 0] >>= fmt.bits // 2  # columns that never leave the range
        raws[:, 1] = np.where(np.arange(shape[0]) % 2 == 0, fmt.raw_max, fmt.raw_min)
    x = fixed_array(fmt, raws)
    want, ever = stepwise_sums(fmt, raws, overflow)
    with fixedq.policy(overflow=overflow):
        if overflow == "raise" and ever.any():
            with pytest.raises(OverflowError):
                np.sum(x, axis=0)
            ok = np.flatnonzero(~ever)
            if ok.size:  # columns that never overflow: a 2-column block of them
                cols = np.concatenate([ok, ok])[:2]
                got = raw_of(fmt, np.sum(x[:, cols], axis=0))
                assert got.tolist() == want[cols].tolist()
            return
        got = raw_of(fmt, np.sum(x, axis=0))
    assert got.tolist() == want.tolist(), (fmt.name, overflow, shape)
    if overflow == "wrap":  # wrapping at each step is wrapping once
        exact, _ = fit_range(exact_sums(raws, 0), fmt.raw_min, fmt.raw_max, "wrap")
        assert got.tolist() == exact.tolist()


# ------------------------------------------------------------------------------------------
# fixedq.sum: exact along any axes
# ------------------------------------------------------------------------------------------
SUM_CASES = [((5000,), None), ((5000,), 0), ((64, 70), 0), ((64, 70), 1), ((64, 70), None),
             ((9000, 3), 0), ((3, 9000), 1), ((4, 5, 6), 0), ((4, 5, 6), 1), ((4, 5, 6), (0, 2)),
             ((4, 5, 6), (2, 0)), ((4, 5, 6), (-1, -2)), ((4, 5, 6), (0, 1, 2)), ((4, 5, 6), ()),
             ((3, 4, 5, 6), (1, 3))]


@pytest.mark.parametrize("overflow", OVERFLOWS)
@pytest.mark.parametrize("layout", ["C", "F", "strided"])
@pytest.mark.parametrize("shape_axis", SUM_CASES, ids=[f"{s}-{a}" for s, a in SUM_CASES])
def test_fixedq_sum_is_exact(fmt: Format, overflow: str, layout: str, shape_axis,
                             rng: np.random.Generator) -> None:
    shape, axis = shape_axis
    raws = random_raws(fmt, rng, int(np.prod(shape))).reshape(shape)
    if raws.ndim >= 2:
        raws[(0,) * (raws.ndim - 1)] >>= fmt.bits // 2  # some sums stay in range
    x = fixed_array(fmt, raws)
    if layout == "F":
        x = np.asfortranarray(x)
    elif layout == "strided":
        x = np.repeat(x, 2, axis=-1)[..., ::2]
        assert not x.flags.c_contiguous and raw_of(fmt, x).tolist() == raws.tolist()
    want, over = fit_range(exact_sums(raws, axis), fmt.raw_min, fmt.raw_max, overflow)
    axes = tuple(range(raws.ndim)) if axis is None else (
        (axis,) if isinstance(axis, int) else tuple(axis))
    axes = tuple(a % raws.ndim for a in axes)
    kept = [d for d in range(raws.ndim) if d not in axes]
    out_shape = tuple(raws.shape[d] for d in kept)
    lines = np.transpose(x, kept + list(axes)).reshape(out_shape + (-1,))

    def run(idx: np.ndarray) -> np.ndarray:
        if idx.size == want.size:
            for keepdims in (False, True):
                # overflow= wins over the policy in force.
                with fixedq.policy(overflow="wrap" if overflow != "wrap" else "saturate"):
                    got = fixedq.sum(x, axis=axis, keepdims=keepdims, overflow=overflow)
                want_shape = (tuple(1 if d in axes else n for d, n in enumerate(raws.shape))
                              if keepdims else out_shape)
                assert np.shape(got) == want_shape, (axis, keepdims, np.shape(got))
                if out_shape == () and not keepdims:
                    assert type(got) is fmt.type
                else:
                    assert got.dtype == np.dtype(fmt.type)
            with fixedq.policy(overflow=overflow):  # the default: the current policy
                again = fixedq.sum(x, axis=axis)
            assert np.asarray(again).tobytes() == np.asarray(got).tobytes()
            return np.atleast_1d(raw_of(fmt, np.asarray(got))).ravel()
        # One sum at a time (under 'raise' the others must not raise).
        flat = lines.reshape(-1, lines.shape[-1])
        return np.array([fixedq.sum(flat[i], overflow=overflow).raw for i in idx])

    check(run, want, over, overflow=overflow,
          what=f"fixedq.sum({fmt.name}{shape} {layout}, axis={axis})",
          policy=f"overflow={overflow!r}", inputs={}, out=hex_of(fmt.bits))


def test_fixedq_sum_of_empty_arrays(fmt: Format) -> None:
    """As np.sum: empty sums are 0, and summing a non-empty axis of an empty array gives an
    empty result."""
    t = fmt.type
    empty = np.zeros((0, 3), dtype=t)
    assert fixedq.sum(empty).raw == 0 and type(fixedq.sum(empty)) is t
    assert raw_of(fmt, fixedq.sum(empty, axis=0)).tolist() == [0, 0, 0]
    assert fixedq.sum(empty, axis=0, keepdims=True).shape == (1, 3)
    for axis, shape in [(1, (0, 4)), ((1, 2), (0,)), (2, (0, 3))]:
        got = fixedq.sum(np.zeros((0, 3, 4), dtype=t), axis=axis)
        assert got.shape == shape == np.sum(np.zeros((0, 3, 4), dtype=np.int64), axis=axis).shape
        assert got.dtype == np.dtype(t)


def test_fixedq_sum_edge_cases(fmt: Format) -> None:
    t = fmt.type
    assert fixedq.sum(t.from_raw(5)).raw == 5  # a scalar
    assert fixedq.sum(np.array(t.from_raw(-5))).raw == -5  # a 0-d array
    assert fixedq.sum([t.from_raw(1), t.from_raw(2)]).raw == 3  # a list of scalars
    x = fixed_array(fmt, np.array([[fmt.raw_max, 1], [fmt.raw_max, -1]]))
    assert raw_of(fmt, fixedq.sum(x, axis=0, overflow="saturate")).tolist() == [fmt.raw_max,
                                                                              0]
    with pytest.raises(OverflowError):
        fixedq.sum(x, axis=0, overflow="raise")
    with fixedq.policy(overflow="raise"), pytest.raises(OverflowError):
        fixedq.sum(x)
    assert raw_of(fmt, fixedq.sum(x, axis=1, overflow="saturate")).tolist() == [fmt.raw_max,
                                                                              fmt.raw_max - 1]
    assert raw_of(fmt, fixedq.sum(x[1:], axis=1, overflow="raise")).tolist() == [fmt.raw_max - 1]
    with pytest.raises(np.exceptions.AxisError):
        fixedq.sum(x, axis=2)
    with pytest.raises(np.exceptions.AxisError):
        fixedq.sum(x, axis=(0, -3))
    with pytest.raises(ValueError, match="repeated axis"):
        fixedq.sum(x, axis=(0, -2))
    with pytest.raises(ValueError, match="saturate"):
        fixedq.sum(x, overflow="clamp")
    with pytest.raises(TypeError, match="fixedq format"):
        fixedq.sum(np.arange(3))
    with pytest.raises(TypeError, match="fixedq format"):
        fixedq.sum([0.5, 0.25])


def dot_oracle(fmt: Format, a: np.ndarray, b: np.ndarray, rounding: str, overflow: str):
    exact = ints(a, True) @ ints(b, True)  # exact sums of exact raw products (Python ints)
    return fixed_result(fmt, np.asarray(exact, dtype=object), fmt.scale, rounding, overflow)


@pytest.mark.parametrize(("rounding", "overflow"), POLICIES, ids=POLICY_IDS)
def test_matmul_and_dot(fmt: Format, rounding: str, overflow: str,
                        rng: np.random.Generator) -> None:
    """np.dot and @ are exact sums of exact products with one rounding (Fraction oracle)."""
    for m, k, n in [(1, 1, 1), (3, 4, 5), (4, 7, 2), (2, 33, 3)]:
        a = random_raws(fmt, rng, m * k).reshape(m, k)
        b = random_raws(fmt, rng, k * n).reshape(k, n)
        if k > 1:  # keep some products small so that not everything saturates
            a[0] >>= fmt.bits // 2
            b[:, 0] >>= fmt.bits // 2
        x, y = fixed_array(fmt, a), fixed_array(fmt, b)
        want, over = dot_oracle(fmt, a, b, rounding, overflow)
        # The Fraction oracle of conftest agrees with the vectorised one on an element.
        exact = sum(Fraction(int(a[0, i]) * int(b[i, 0]), fmt.scale**2) for i in range(k))
        try:
            assert oracle_raw(fmt, exact, rounding, overflow) == want[0, 0]
        except Overflowed:
            assert over[0, 0]
        for name, fn in [("matmul", lambda p, q: p @ q), ("dot", np.dot),
                         ("matmul-ufunc", np.matmul)]:

            def run(idx: np.ndarray, fn=fn) -> np.ndarray:
                with fixedq.policy(rounding=rounding, overflow=overflow):
                    if idx.size == want.size:
                        out = fn(x, y)
                        assert out.dtype == np.dtype(fmt.type)
                        return raw_of(fmt, out).ravel()
                    # One element at a time (under 'raise' the others must not raise).
                    got = []
                    for i, j in zip(*np.unravel_index(idx, want.shape)):
                        got.append(raw_of(fmt, fn(x[i : i + 1], y[:, j : j + 1])).item())
                    return np.array(got)

            check(run, want.ravel(), over.ravel(), overflow=overflow,
                  what=f"{name} {fmt.name} ({m}x{k})@({k}x{n})",
                  policy=f"rounding={rounding!r}, overflow={overflow!r}",
                  inputs={}, out=hex_of(fmt.bits))


def test_dot_of_vectors(fmt: Format, rng: np.random.Generator) -> None:
    a = random_raws(fmt, rng, 50) >> (fmt.bits // 2)
    b = random_raws(fmt, rng, 50) >> (fmt.bits // 2)
    want, _ = dot_oracle(fmt, a[None], b[:, None], "half_even", "saturate")
    got = np.dot(fixed_array(fmt, a), fixed_array(fmt, b))
    assert type(got) is fmt.type and got.raw == want.item(), (got, want)
    got = fixed_array(fmt, a) @ fixed_array(fmt, b)
    assert got.raw == want.item()


def test_explicit_functions_reject_bad_arguments() -> None:
    x = np.zeros(3, dtype=fixedq.Q15)
    for fn in EXPLICIT.values():
        with pytest.raises(ValueError, match="half_even"):
            fn(x, x, rounding="nearest")
        with pytest.raises(ValueError, match="saturate"):
            fn(x, x, overflow="clamp")
        with pytest.raises(TypeError):
            fn(x, np.zeros(3, dtype=fixedq.Q7))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="toward_zero"):
            fixedq.cast(x, np.float64, rounding="up")
    for dtype in INT_DTYPES:
        assert fixedq.cast(x, dtype).dtype == dtype
