"""Every raw pattern of the 8- and 16-bit formats against the exact oracle.

Unary ufuncs and casts for Q7, Q15 and Fixed8_8 (all 256 / 65,536 patterns), all 65,536 pairs
of Q7 raws for the four arithmetic ufuncs, under every rounding x overflow policy, through
``with fixedq.policy(...)`` and through the explicit ``fixedq.add/.../cast(..., rounding=,
overflow=)``. The expected raws come from ``oracle.py`` (integer floor division), never from
fixedq.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pytest

import fixedq
from conftest import FORMATS, OVERFLOWS, ROUNDINGS, SMALL_FORMATS, Format
from oracle import (
    FLOATS,
    INT_DTYPES,
    check,
    div_round,
    fit_range,
    fixed_result,
    float_hex,
    hex_of,
    int_range,
    ints,
    isqrt_array,
    to_float,
)

POLICIES = [(r, o) for r in ROUNDINGS for o in OVERFLOWS]
POLICY_IDS = [f"{r}-{o}" for r, o in POLICIES]
Q7 = next(f for f in FORMATS if f.name == "Q7")
UNARY = ["negative", "absolute", "sqrt", "floor", "ceil", "trunc", "rint", "sign"]


@functools.lru_cache(maxsize=None)
def all_raws(fmt: Format) -> np.ndarray:
    return np.arange(fmt.raw_min, fmt.raw_max + 1, dtype=np.int64)


def fixed_array(fmt: Format, raws: np.ndarray) -> np.ndarray:
    return np.asarray(raws).astype(fmt.raw_dtype).view(fmt.type)


def raw_of(fmt: Format, arr: np.ndarray) -> np.ndarray:
    assert arr.dtype == np.dtype(fmt.type), arr.dtype
    return arr.view(fmt.raw_dtype)


def policy_text(rounding: str, overflow: str) -> str:
    return f"fixedq.policy(rounding={rounding!r}, overflow={overflow!r})"


def test_policy_names_match_the_oracle() -> None:
    assert tuple(fixedq.ROUNDINGS) == tuple(ROUNDINGS)
    assert tuple(fixedq.OVERFLOWS) == tuple(OVERFLOWS)


# ------------------------------------------------------------------------------------------
# Unary ufuncs
# ------------------------------------------------------------------------------------------
def unary_oracle(op: str, fmt: Format, raw: np.ndarray, rounding: str,
                 overflow: str) -> tuple[np.ndarray, np.ndarray]:
    """Raw results of the ufunc on raws (sqrt: non-negative raws only) and the overflow mask."""
    scale = fmt.scale
    if op == "negative":
        n = -raw
    elif op == "absolute":
        n = np.abs(raw)
    elif op == "sign":
        n = np.sign(raw) * scale
    elif op in ("floor", "ceil", "trunc"):
        mode = {"floor": "floor", "ceil": "ceil", "trunc": "toward_zero"}[op]
        n = div_round(raw, scale, mode) * scale
    elif op == "rint":
        # Like the C++ core's fixedq::rint: the nearest integer under the policy's rounding
        # (as C's rint follows the current rounding mode).
        n = div_round(raw, scale, rounding) * scale
    elif op == "sqrt":
        assert (raw >= 0).all()
        # sqrt(raw / 2^F) * 2^F = sqrt(raw * 2^F) = s + t with s = isqrt, 0 <= t < 1; t is never
        # exactly 1/2 (n is an integer), and t > 1/2 iff n - s^2 > s.
        big = raw * scale
        s = isqrt_array(big)
        rem = big - s * s
        if rounding in ("floor", "toward_zero"):
            inc = np.zeros(raw.shape, dtype=bool)
        elif rounding == "ceil":
            inc = rem > 0
        else:
            inc = rem > s
        n = s + inc.astype(s.dtype)
    else:  # pragma: no cover
        raise ValueError(op)
    return fit_range(n, fmt.raw_min, fmt.raw_max, overflow)


def run_unary(op: str, fmt: Format, raws: np.ndarray, rounding: str, overflow: str):
    ufunc = getattr(np, op)
    x = fixed_array(fmt, raws)

    def run(idx: np.ndarray) -> np.ndarray:
        with fixedq.policy(rounding=rounding, overflow=overflow):
            return raw_of(fmt, ufunc(x[idx]))

    return run


def check_unary(op: str, fmt: Format, raws: np.ndarray, rounding: str, overflow: str) -> None:
    if op == "sqrt":
        raws = raws[raws >= 0]  # negatives: test_sqrt_of_negative
    want, over = unary_oracle(op, fmt, ints(raws, fmt.bits > 32), rounding, overflow)
    check(run_unary(op, fmt, raws, rounding, overflow), want, over, overflow=overflow,
          what=f"np.{op}({fmt.name})", policy=policy_text(rounding, overflow),
          inputs={"x": (raws, hex_of(fmt.bits))}, out=hex_of(fmt.bits))


@pytest.mark.parametrize(("rounding", "overflow"), POLICIES, ids=POLICY_IDS)
@pytest.mark.parametrize("op", UNARY)
def test_unary_every_pattern(small_fmt: Format, op: str, rounding: str, overflow: str) -> None:
    check_unary(op, small_fmt, all_raws(small_fmt), rounding, overflow)


@pytest.mark.parametrize("overflow", OVERFLOWS)
def test_positive_is_identity(small_fmt: Format, overflow: str) -> None:
    raws = all_raws(small_fmt)
    with fixedq.policy(rounding="floor", overflow=overflow):
        got = raw_of(small_fmt, np.positive(fixed_array(small_fmt, raws)))
    np.testing.assert_array_equal(got, raws)


@pytest.mark.parametrize("rounding", ROUNDINGS)
def test_sqrt_of_negative(small_fmt: Format, rounding: str) -> None:
    """sqrt of a negative number is 0 with NumPy's 'invalid value' warning; ValueError under
    'raise' (as the C++ core's domain_error)."""
    x = fixed_array(small_fmt, all_raws(small_fmt)[all_raws(small_fmt) < 0])
    for overflow in ("wrap", "saturate"):
        with fixedq.policy(rounding=rounding, overflow=overflow):
            with pytest.warns(RuntimeWarning, match="invalid value"):
                got = raw_of(small_fmt, np.sqrt(x))
        assert not got.any(), f"sqrt of negatives under {rounding}/{overflow}: {got[got != 0][:5]}"
    with fixedq.policy(rounding=rounding, overflow="raise"):
        with pytest.raises(ValueError, match="sqrt"):
            np.sqrt(x)
        with pytest.raises(ValueError):
            np.sqrt(x[-1:])  # the smallest negative, -2**-F


# ------------------------------------------------------------------------------------------
# Casts from fixed to float and to integer dtypes
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("ftype", list(FLOATS), ids=lambda t: t.__name__)
def test_to_float_every_pattern(small_fmt: Format, ftype: type) -> None:
    """Correctly rounded (ties to even), whatever the policy."""
    raws = all_raws(small_fmt)
    want = to_float(raws, small_fmt.fraction_bits, ftype)
    utype = FLOATS[ftype][3]
    x = fixed_array(small_fmt, raws)
    for rounding, overflow in POLICIES:
        with fixedq.policy(rounding=rounding, overflow=overflow):
            got = x.astype(ftype)
        assert got.dtype == ftype
        check(lambda idx: got[idx].view(utype), want.view(utype), np.zeros(raws.size, bool),
              overflow="wrap", what=f"{small_fmt.name} -> {ftype.__name__}",
              policy=policy_text(rounding, overflow),
              inputs={"x": (raws, hex_of(small_fmt.bits))}, out=lambda b: float_hex(np.array(b, utype).view(ftype)))
        got2 = fixedq.cast(x, ftype, rounding=rounding, overflow=overflow)
        np.testing.assert_array_equal(got2.view(utype), want.view(utype))


def to_int_oracle(fmt: Format, raws: np.ndarray, dtype: type,
                  overflow: str) -> tuple[np.ndarray, np.ndarray]:
    """Truncation toward zero, then the overflow policy in dtype's range (native dtype)."""
    lo, hi = int_range(dtype)
    t = div_round(ints(raws, fmt.bits > 32), fmt.scale, "toward_zero")
    if np.dtype(dtype).itemsize == 8:
        t = ints(t, True)  # the 2**64 modulus of wrap needs Python ints
    want, over = fit_range(t, lo, hi, overflow)
    return want.astype(dtype), over


def check_to_int(fmt: Format, dtype: type, raws: np.ndarray, rounding: str, overflow: str) -> None:
    x = fixed_array(fmt, raws)
    want, over = to_int_oracle(fmt, raws, dtype, overflow)

    def via_astype(idx: np.ndarray) -> np.ndarray:
        with fixedq.policy(rounding=rounding, overflow=overflow):
            out = x[idx].astype(dtype)
        assert out.dtype == dtype
        return out

    def via_cast(idx: np.ndarray) -> np.ndarray:
        out = fixedq.cast(x[idx], dtype, rounding=rounding, overflow=overflow)
        assert out.dtype == dtype
        return out

    for run in (via_astype, via_cast):
        check(run, want, over, overflow=overflow,
              what=f"{fmt.name} -> {np.dtype(dtype).name} ({run.__name__})",
              policy=policy_text(rounding, overflow),
              inputs={"x": (raws, hex_of(fmt.bits))}, out=str)


@pytest.mark.parametrize(("rounding", "overflow"), POLICIES, ids=POLICY_IDS)
@pytest.mark.parametrize("itype", INT_DTYPES, ids=lambda t: np.dtype(t).name)
def test_to_int_every_pattern(small_fmt: Format, itype: type, rounding: str,
                              overflow: str) -> None:
    """Truncation toward zero (as NumPy's float -> int), then the overflow policy."""
    check_to_int(small_fmt, itype, all_raws(small_fmt), rounding, overflow)


# ------------------------------------------------------------------------------------------
# Casts into fixed formats
# ------------------------------------------------------------------------------------------
def check_cast_in(fmt: Format, src: np.ndarray, num: np.ndarray, den, rounding: str,
                  overflow: str, what: str, show) -> None:
    """src (any dtype) -> fmt, expecting the exact values num / den (in fmt's raw units)."""
    want, over = fixed_result(fmt, num, den, rounding, overflow)

    def via_astype(idx: np.ndarray) -> np.ndarray:
        with fixedq.policy(rounding=rounding, overflow=overflow):
            return raw_of(fmt, src[idx].astype(fmt.type))

    def via_cast(idx: np.ndarray) -> np.ndarray:
        return raw_of(fmt, fixedq.cast(src[idx], fmt.type, rounding=rounding, overflow=overflow))

    for run in (via_astype, via_cast):
        check(run, want, over, overflow=overflow, what=f"{what} -> {fmt.name} ({run.__name__})",
              policy=policy_text(rounding, overflow), inputs={"x": (src, show)},
              out=hex_of(fmt.bits))


@functools.lru_cache(maxsize=None)
def quarter_grid(fmt: Format) -> tuple[np.ndarray, np.ndarray]:
    """Every representable value, every midpoint and every quarter point between neighbours,
    from 4 steps below the minimum to 4 steps above the maximum: (float64 values, 4 * raw)."""
    q = np.arange(4 * (fmt.raw_min - 4), 4 * (fmt.raw_max + 4) + 1, dtype=np.int64)
    return np.ldexp(q.astype(np.float64), -(fmt.fraction_bits + 2)), q


@pytest.mark.parametrize(("rounding", "overflow"), POLICIES, ids=POLICY_IDS)
@pytest.mark.parametrize("ftype", [np.float64, np.float32], ids=lambda t: t.__name__)
def test_from_float_quarter_grid(small_fmt: Format, ftype: type, rounding: str,
                                 overflow: str) -> None:
    values, q = quarter_grid(small_fmt)
    src = values.astype(ftype)
    assert (src.astype(np.float64) == values).all()  # exact in float32 too (<= 18 bits)
    check_cast_in(small_fmt, src, q, 4, rounding, overflow, ftype.__name__, float_hex)


@functools.lru_cache(maxsize=None)
def all_halves() -> tuple[np.ndarray, np.ndarray]:
    """Every finite float16 and its exact value times 2**24 (an integer below 2**40)."""
    h = np.arange(2**16, dtype=np.uint32).astype(np.uint16).view(np.float16)
    h = h[np.isfinite(h)]
    scaled = np.ldexp(h.astype(np.float64), 24).astype(np.int64)
    return h, scaled


@pytest.mark.parametrize(("rounding", "overflow"), POLICIES, ids=POLICY_IDS)
def test_from_every_float16(fmt: Format, rounding: str, overflow: str) -> None:
    h, scaled = all_halves()
    f = fmt.fraction_bits
    num = scaled << max(f - 24, 0)
    den = 2 ** max(24 - f, 0)
    check_cast_in(fmt, h, ints(num, fmt.bits > 32), den, rounding, overflow, "float16", float_hex)


@pytest.mark.parametrize(("rounding", "overflow"), POLICIES, ids=POLICY_IDS)
@pytest.mark.parametrize("itype", [np.int8, np.int16, np.uint8, np.uint16, np.bool_],
                         ids=lambda t: np.dtype(t).name)
def test_from_every_small_int(fmt: Format, itype: type, rounding: str, overflow: str) -> None:
    info = np.iinfo(itype) if itype is not np.bool_ else None
    src = (np.arange(int(info.min), int(info.max) + 1).astype(itype) if info is not None
           else np.array([False, True]))
    num = ints(src.astype(np.int64), fmt.bits > 32) * fmt.scale
    check_cast_in(fmt, src, num, 1, rounding, overflow, np.dtype(itype).name, str)


@pytest.mark.parametrize(("rounding", "overflow"), POLICIES, ids=POLICY_IDS)
@pytest.mark.parametrize("src_fmt", SMALL_FORMATS, ids=lambda f: f.name)
def test_between_formats_every_pattern(src_fmt: Format, rounding: str, overflow: str) -> None:
    raws = all_raws(src_fmt)
    src = fixed_array(src_fmt, raws)
    for dst in FORMATS:
        if dst is src_fmt:
            continue
        d = dst.fraction_bits - src_fmt.fraction_bits
        num = ints(raws, dst.bits > 32) * 2 ** max(d, 0)
        check_cast_in(dst, src, num, 2 ** max(-d, 0), rounding, overflow, src_fmt.name,
                      hex_of(src_fmt.bits))


# ------------------------------------------------------------------------------------------
# Binary ufuncs on every pair of Q7 raws
# ------------------------------------------------------------------------------------------
def binary_oracle(op: str, fmt: Format, a: np.ndarray, b: np.ndarray, rounding: str,
                  overflow: str) -> tuple[np.ndarray, np.ndarray]:
    """Raw results of a op b (b != 0 for divide) and the overflow mask."""
    if op == "add":
        return fixed_result(fmt, a + b, 1, rounding, overflow)
    if op == "subtract":
        return fixed_result(fmt, a - b, 1, rounding, overflow)
    if op == "multiply":
        return fixed_result(fmt, a * b, fmt.scale, rounding, overflow)
    assert op == "divide" and (b != 0).all()
    num = a * fmt.scale
    return fixed_result(fmt, np.where(b < 0, -num, num), np.abs(b), rounding, overflow)


UFUNCS = {"add": np.add, "subtract": np.subtract, "multiply": np.multiply, "divide": np.true_divide}
EXPLICIT = {"add": fixedq.add, "subtract": fixedq.subtract, "multiply": fixedq.multiply,
            "divide": fixedq.divide}


def check_binary(op: str, fmt: Format, a: np.ndarray, b: np.ndarray, rounding: str,
                 overflow: str) -> None:
    wide = fmt.bits > 32
    want, over = binary_oracle(op, fmt, ints(a, wide), ints(b, wide), rounding, overflow)
    x, y = fixed_array(fmt, a), fixed_array(fmt, b)

    def via_ufunc(idx: np.ndarray) -> np.ndarray:
        with fixedq.policy(rounding=rounding, overflow=overflow):
            return raw_of(fmt, UFUNCS[op](x[idx], y[idx]))

    def via_explicit(idx: np.ndarray) -> np.ndarray:
        return raw_of(fmt, EXPLICIT[op](x[idx], y[idx], rounding=rounding, overflow=overflow))

    show = hex_of(fmt.bits)
    for run in (via_ufunc, via_explicit):
        check(run, want, over, overflow=overflow, what=f"{fmt.name} {op} ({run.__name__})",
              policy=policy_text(rounding, overflow), inputs={"a": (a, show), "b": (b, show)},
              out=show)


@pytest.mark.parametrize(("rounding", "overflow"), POLICIES, ids=POLICY_IDS)
@pytest.mark.parametrize("op", list(UFUNCS))
def test_q7_every_pair(op: str, rounding: str, overflow: str) -> None:
    raws = all_raws(Q7)
    a = np.repeat(raws, raws.size)
    b = np.tile(raws, raws.size)
    if op == "divide":
        a, b = a[b != 0], b[b != 0]  # division by zero: test_division_by_zero
    check_binary(op, Q7, a, b, rounding, overflow)


@pytest.mark.parametrize("rounding", ROUNDINGS)
def test_q7_division_by_zero_every_numerator(rounding: str) -> None:
    """Arrays: max/min (0/0 -> 0) under saturate, 0 under wrap, with NumPy's 'divide by zero'
    warning; ZeroDivisionError under raise."""
    raws = all_raws(Q7)
    x = fixed_array(Q7, raws)
    zero = np.zeros_like(x)
    with fixedq.policy(rounding=rounding, overflow="saturate"):
        with pytest.warns(RuntimeWarning, match="divide by zero"):
            got = raw_of(Q7, x / zero)
    want = np.where(raws > 0, Q7.raw_max, np.where(raws < 0, Q7.raw_min, 0))
    np.testing.assert_array_equal(got, want, err_msg=f"x / 0, saturate, {rounding}")
    with pytest.warns(RuntimeWarning, match="divide by zero"):
        got = raw_of(Q7, fixedq.divide(x, zero, rounding=rounding, overflow="wrap"))
    np.testing.assert_array_equal(got, np.zeros_like(raws), err_msg=f"x / 0, wrap, {rounding}")
    with fixedq.policy(rounding=rounding, overflow="raise"):
        with pytest.raises(ZeroDivisionError):
            np.true_divide(x, zero)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with fixedq.policy(rounding=rounding, overflow="saturate"):
            np.true_divide(x, np.where(raws == 0, 1, raws).astype(np.int8).view(fixedq.Q7))
