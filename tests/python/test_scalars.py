"""The scalar types: construction, conversions, printing, hashing, comparisons, operators,
pickling, policies and stochastic rounding, each checked against ``fractions.Fraction``."""

from __future__ import annotations

import copy
import math
import operator
import pickle
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest

import fixedq
from conftest import FORMATS, OVERFLOWS, ROUNDINGS, Format, Overflowed, oracle_raw, raw_edges
from oracle import expected_scalar, hex_of, random_raws

POLICIES = [(r, o) for r in ROUNDINGS for o in OVERFLOWS]


def values_of(fmt: Format, rng: np.random.Generator, n: int = 150) -> list:
    raws = list(raw_edges(fmt)) + [int(r) for r in random_raws(fmt, rng, n)]
    return [fmt.type.from_raw(r) for r in raws]


def expect_construct(fmt: Format, arg: object, exact: Fraction, rounding: str, overflow: str) -> None:
    want = expected_scalar(fmt, exact, rounding, overflow)
    with fixedq.policy(rounding=rounding, overflow=overflow):
        if want is None:
            with pytest.raises(OverflowError):
                fmt.type(arg)
            return
        got = fmt.type(arg)
    assert type(got) is fmt.type
    assert got.raw == want, (
        f"{fmt.name}({arg!r}) under {rounding}/{overflow}: got {hex_of(fmt.bits)(got.raw)}, "
        f"want {hex_of(fmt.bits)(want)}")


# ------------------------------------------------------------------------------------------
# Construction
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("rounding", "overflow"), POLICIES)
def test_from_int(fmt: Format, rounding: str, overflow: str) -> None:
    hi = 2 ** (fmt.integer_bits - 1)
    for n in [0, 1, -1, hi - 1, hi, -hi, -hi - 1, 2**63 - 1, -(2**63), 2**64 + 5, -(2**70) - 3,
              10**30, True, False, np.int64(-7), np.uint64(2**64 - 1), np.int8(-128)]:
        expect_construct(fmt, n, Fraction(int(n)), rounding, overflow)


@pytest.mark.parametrize(("rounding", "overflow"), POLICIES)
def test_from_float(fmt: Format, rounding: str, overflow: str, rng: np.random.Generator) -> None:
    floats = [0.0, -0.0, 0.1, -0.1, 1 / 3, 2.0**-60, -(2.0**-60), 1e-300, 1e300, -1e300]
    floats += [float(Fraction(2 * r + 1, 2 * fmt.scale)) for r in raw_edges(fmt)]  # ties
    floats += list(rng.standard_normal(40) * 2.0 ** (fmt.integer_bits - 2))
    for v in floats:
        expect_construct(fmt, v, Fraction(v), rounding, overflow)
        expect_construct(fmt, np.float64(v), Fraction(v), rounding, overflow)


@pytest.mark.parametrize(("rounding", "overflow"), POLICIES)
def test_from_exact_rationals(fmt: Format, rounding: str, overflow: str) -> None:
    """str, Fraction and Decimal are parsed exactly, then rounded once with the policy."""
    texts = ["1e-3", "-0.5", "1/3", "-2/3", "0.1", " 1.25 ", "-1", "3", "1e2", "-1E-2", "7/8",
             "0.00000000000000000000001", "-0.99999999999999999999", "123456789.987654321"]
    for s in texts:
        expect_construct(fmt, s, Fraction(s.strip()), rounding, overflow)
        expect_construct(fmt, Fraction(s.strip()), Fraction(s.strip()), rounding, overflow)
    for s in ["0.1", "-2.675", "1e-10", "0.99999", "-127.998046875001"]:
        expect_construct(fmt, Decimal(s), Fraction(Decimal(s)), rounding, overflow)
    ties = [Fraction(2 * r + 1, 2 * fmt.scale) for r in raw_edges(fmt)]
    for t in ties:  # exact ties in every rounding, via str "n/d"
        expect_construct(fmt, f"{t.numerator}/{t.denominator}", t, rounding, overflow)


@pytest.mark.parametrize("text", ["abc", "", "1e", "0x10", "nan", "inf", "1/0", "1.2.3", "--1",
                                  "1/2/3", "½"])
def test_bad_strings(text: str) -> None:
    with pytest.raises(ValueError, match="expected a decimal"):
        fixedq.Fixed16_16(text)


def test_bad_types_and_special_decimals() -> None:
    with pytest.raises(TypeError, match="expected a number"):
        fixedq.Q15([0.5])
    with pytest.raises(TypeError):
        fixedq.Q15(None)
    with pytest.raises(TypeError):
        fixedq.Q15(1 + 2j)
    with pytest.raises(ValueError):
        fixedq.Q15(Decimal("NaN"))
    assert fixedq.Q15(Decimal("Infinity")) == fixedq.Q15.max()
    assert fixedq.Q15(Decimal("-Infinity")) == fixedq.Q15.min()
    with fixedq.policy(overflow="raise"), pytest.raises(OverflowError):
        fixedq.Q15(Decimal("Infinity"))
    assert fixedq.Q15() == 0 and fixedq.Q15().raw == 0


@pytest.mark.parametrize(("rounding", "overflow"), POLICIES)
def test_from_other_formats(rounding: str, overflow: str, rng: np.random.Generator) -> None:
    for src in FORMATS:
        for x in values_of(src, rng, 20):
            for dst in FORMATS:
                expect_construct(dst, x, Fraction(*x.as_integer_ratio()), rounding, overflow)


def test_min_max_eps(fmt: Format) -> None:
    assert fmt.type.max().raw == fmt.raw_max
    assert fmt.type.min().raw == fmt.raw_min
    assert fmt.type.eps().raw == 1
    assert Fraction(*fmt.type.eps().as_integer_ratio()) == Fraction(1, fmt.scale)


# ------------------------------------------------------------------------------------------
# Raw access
# ------------------------------------------------------------------------------------------
def test_from_raw_round_trip(fmt: Format, rng: np.random.Generator) -> None:
    for r in raw_edges(fmt) + [int(v) for v in random_raws(fmt, rng, 200)]:
        x = fmt.type.from_raw(r)
        assert type(x) is fmt.type and x.raw == r and type(x.raw) is int
        assert fmt.type.from_raw(np.int64(r)).raw == r
        assert Fraction(*x.as_integer_ratio()) == fmt.value(r)


def test_from_raw_out_of_range(fmt: Format) -> None:
    for bad in [fmt.raw_max + 1, fmt.raw_min - 1, 2**64, -(2**80)]:
        with pytest.raises(OverflowError, match="raw"):
            fmt.type.from_raw(bad)
    with pytest.raises(TypeError):
        fmt.type.from_raw(1.0)
    with pytest.raises(TypeError):
        fmt.type.from_raw("1")


# ------------------------------------------------------------------------------------------
# Conversions out
# ------------------------------------------------------------------------------------------
def test_conversions_out(fmt: Format, rng: np.random.Generator) -> None:
    for x in values_of(fmt, rng):
        q = Fraction(*x.as_integer_ratio())
        h = hex_of(fmt.bits)(x.raw)
        assert q == fmt.value(x.raw), h
        assert float(x) == float(q), h  # correctly rounded (Fraction -> float is)
        assert int(x) == int(q) == math.trunc(q), h  # toward zero
        assert bool(x) == (x.raw != 0), h
        assert math.floor(x) == math.floor(q) and type(math.floor(x)) is int, h
        assert math.ceil(x) == math.ceil(q) and type(math.ceil(x)) is int, h
        assert math.trunc(x) == math.trunc(q), h
        assert round(x) == round(q) and type(round(x)) is int, h  # ties to even
        for nd in (0, 1, 2, 3):
            got = round(x, nd)
            assert type(got) is fmt.type, h
            assert got.raw == oracle_raw(fmt, round(q, nd), "half_even", "saturate"), (h, nd)
        num, den = x.as_integer_ratio()
        assert den > 0 and math.gcd(num, den) == 1 and type(num) is int, h
        assert operator_index_rejected(x)


def operator_index_rejected(x: object) -> bool:
    """A fixed number is not an integer: it cannot index a list."""
    try:
        [0, 1][x]  # type: ignore[index]
    except TypeError:
        return True
    return False


def test_round_ties_to_even() -> None:
    t = fixedq.Fixed16_16
    assert [round(t(v)) for v in (0.5, 1.5, 2.5, -0.5, -1.5, -2.5)] == [0, 2, 2, 0, -2, -2]
    assert round(fixedq.Fixed32_32.min()) == -(2**31)
    assert math.floor(fixedq.Q7.min()) == -1 and math.ceil(fixedq.Q7.max()) == 1


# ------------------------------------------------------------------------------------------
# Printing
# ------------------------------------------------------------------------------------------
def exact_decimal(q: Fraction) -> str:
    """The shortest exact decimal of a dyadic rational, Python float style ('1.0', '-0.5')."""
    sign = "-" if q < 0 else ""
    q = abs(q)
    whole, frac = divmod(q.numerator, q.denominator)
    digits = ""
    while frac:
        frac *= 10
        d, frac = divmod(frac, q.denominator)
        digits += str(d)
    return f"{sign}{whole}.{digits or '0'}"


def test_repr_and_str(fmt: Format, rng: np.random.Generator) -> None:
    namespace = {fmt.name: fmt.type}
    for x in values_of(fmt, rng):
        q = Fraction(*x.as_integer_ratio())
        text = exact_decimal(q)
        assert str(x) == text, hex_of(fmt.bits)(x.raw)
        fits_double = abs(x.raw) < 2**53 or float(q) == q
        assert repr(x) == (f"{fmt.name}({text})" if fits_double else f"{fmt.name}('{text}')")
        back = eval(repr(x), namespace)
        assert type(back) is fmt.type and back.raw == x.raw, repr(x)
    assert repr(fixedq.Fixed16_16(1.5)) == "Fixed16_16(1.5)"


def test_repr_of_wide_fixed32_32_is_quoted() -> None:
    x = fixedq.Fixed32_32.from_raw(2**62 + 1)
    assert repr(x) == "Fixed32_32('1073741824.00000000023283064365386962890625')"
    assert str(fixedq.Fixed32_32.min()) == "-2147483648.0"  # INT_MIN printing


# ------------------------------------------------------------------------------------------
# Hashing and comparisons
# ------------------------------------------------------------------------------------------
def test_hash_matches_equal_numbers(fmt: Format, rng: np.random.Generator) -> None:
    for x in values_of(fmt, rng) + [fmt.type(-1) if fmt.integer_bits > 1 else fmt.type(-1.0)]:
        q = Fraction(*x.as_integer_ratio())
        assert hash(x) == hash(q), hex_of(fmt.bits)(x.raw)
        if float(q) == q:
            assert hash(x) == hash(float(q))
        if q.denominator == 1:
            assert hash(x) == hash(int(q))
    assert len({fmt.type(0), 0, 0.0, Fraction(0)}) == 1


COMPARISONS = (operator.lt, operator.le, operator.eq, operator.ne, operator.gt, operator.ge)


def check_compare(x: object, y: object, qx: Fraction, qy: Fraction) -> None:
    for op in COMPARISONS:
        assert op(x, y) is op(qx, qy), (repr(x), op.__name__, repr(y))
        assert op(y, x) is op(qy, qx), (repr(y), op.__name__, repr(x))


def test_exact_comparisons(fmt: Format, rng: np.random.Generator) -> None:
    others = [0, 1, -1, 2**40, -(2**100), 2**64, 0.5, -0.1, 1e300, 2.0**-70, Fraction(1, 3),
              Fraction(-7, 2**40)]
    xs = values_of(fmt, rng, 20)
    for x in xs:
        qx = Fraction(*x.as_integer_ratio())
        q_float = float(qx)
        for y in others + [q_float, x.raw, qx, qx + Fraction(1, 2**80), qx - Fraction(1, 2**80)]:
            check_compare(x, y, qx, Fraction(y))
        for other_fmt in FORMATS:
            for y in (other_fmt.type.from_raw(r) for r in raw_edges(other_fmt)[::3]):
                check_compare(x, y, qx, Fraction(*y.as_integer_ratio()))
        for inf in (float("inf"), -float("inf")):
            assert (x < inf) == (inf > 0) and (x > inf) == (inf < 0)
        nan = float("nan")
        assert not (x == nan or x < nan or x > nan or x <= nan or x >= nan) and x != nan


# ------------------------------------------------------------------------------------------
# Operators
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("rounding", "overflow"), POLICIES)
def test_operators_match_oracle(fmt: Format, rounding: str, overflow: str,
                                rng: np.random.Generator) -> None:
    """The scalar operators (a path of their own, not the ufunc loops) against Fraction."""
    xs = values_of(fmt, rng, 12)
    ops = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
           "/": lambda a, b: a / b}
    pairs = [(xs[i], xs[j]) for i in range(len(xs)) for j in range(0, len(xs), 3)]
    for a, b in pairs:
        qa, qb = Fraction(*a.as_integer_ratio()), Fraction(*b.as_integer_ratio())
        for name, fn in ops.items():
            if name == "/" and qb == 0:
                continue
            try:
                want = oracle_raw(fmt, fn(qa, qb), rounding, overflow)
            except Overflowed:
                want = None
            with fixedq.policy(rounding=rounding, overflow=overflow):
                if want is None:
                    with pytest.raises(OverflowError):
                        fn(a, b)
                    continue
                got = fn(a, b)
            assert type(got) is fmt.type
            assert got.raw == want, (f"{hex_of(fmt.bits)(a.raw)} {name} {hex_of(fmt.bits)(b.raw)}"
                                     f" [{rounding}/{overflow}]: got {hex_of(fmt.bits)(got.raw)}, "
                                     f"want {hex_of(fmt.bits)(want)}")
    for a in xs:
        qa = Fraction(*a.as_integer_ratio())
        for name, fn, q in [("-", lambda v: -v, -qa), ("abs", abs, abs(qa)), ("+", lambda v: +v, qa)]:
            try:
                want = oracle_raw(fmt, q, rounding, overflow)
            except Overflowed:
                with fixedq.policy(rounding=rounding, overflow=overflow), pytest.raises(OverflowError):
                    fn(a)
                continue
            with fixedq.policy(rounding=rounding, overflow=overflow):
                got = fn(a)
            assert type(got) is fmt.type and got.raw == want, (name, hex_of(fmt.bits)(a.raw))


def test_python_numbers_are_weak() -> None:
    """The fixed format is kept: a Python int takes part exactly, a float is converted to the
    format with the policy first (test_mixed_operands.py checks the rules in full)."""
    x = fixedq.Fixed16_16(1.5)
    for got, want in [(x + 1, Fraction(5, 2)), (1 + x, Fraction(5, 2)), (0.5 * x, Fraction(3, 4)),
                      (x * 0.5, Fraction(3, 4)), (x - 2, Fraction(-1, 2)), (2 - x, Fraction(1, 2)),
                      (x / 2, Fraction(3, 4)), (3 / x, Fraction(2)), (x + True, Fraction(5, 2)),
                      (fixedq.Q15(-0.5) + 1, Fraction(1, 2)), (fixedq.Q15(0.5) / 2, Fraction(1, 4))]:
        assert type(got) in (fixedq.Fixed16_16, fixedq.Q15) and got == want, (got, want)
    # The Python operand is rounded with the current policy before the exact operation.
    with fixedq.policy(rounding="floor"):
        assert (fixedq.Fixed8_8(0) + 0.001).raw == 0
    with fixedq.policy(rounding="ceil"):
        assert (fixedq.Fixed8_8(0) + 0.001).raw == 1


def test_mixing_formats_is_a_type_error() -> None:
    a, b = fixedq.Fixed16_16(1), fixedq.Q15(0.5)
    for fn in (lambda: a + b, lambda: b - a, lambda: a * b, lambda: b / a,
               lambda: np.add(np.array([a]), np.array([b])),
               lambda: fixedq.add(a, b), lambda: fixedq.multiply(np.array([a]), b)):
        with pytest.raises(TypeError):
            fn()
    assert fixedq.Fixed16_16(b) + a == Fraction(3, 2)  # explicit conversion works


def test_scalar_division_by_zero_and_nan() -> None:
    for fmt in FORMATS:
        with pytest.raises(ZeroDivisionError):
            fmt.type(0) / fmt.type(0)
        with pytest.raises(ZeroDivisionError):
            fmt.type.max() / 0
        with pytest.raises(ZeroDivisionError):
            fixedq.divide(fmt.type.from_raw(1), fmt.type(0))
        with pytest.raises(ValueError, match="NaN"):
            fmt.type(float("nan"))
        with pytest.raises(ValueError, match="NaN"):
            fmt.type(0) * float("nan")


# ------------------------------------------------------------------------------------------
# Pickling
# ------------------------------------------------------------------------------------------
def test_pickle_and_copy(fmt: Format, rng: np.random.Generator) -> None:
    for x in values_of(fmt, rng, 20):
        for proto in range(pickle.HIGHEST_PROTOCOL + 1):
            y = pickle.loads(pickle.dumps(x, protocol=proto))
            assert type(y) is fmt.type and y.raw == x.raw
        for y in (copy.copy(x), copy.deepcopy(x)):
            assert type(y) is fmt.type and y.raw == x.raw


# ------------------------------------------------------------------------------------------
# Policies
# ------------------------------------------------------------------------------------------
def test_unknown_policy_names() -> None:
    with pytest.raises(ValueError) as info:
        with fixedq.policy(rounding="nearest"):
            pass
    for name in ROUNDINGS:
        assert repr(name) in str(info.value)
    with pytest.raises(ValueError) as info:
        with fixedq.policy(overflow="clamp"):
            pass
    for name in OVERFLOWS:
        assert repr(name) in str(info.value)
    with pytest.raises(ValueError, match="stochastic"):
        with fixedq.policy(rounding="stochastic"):
            pass
    for bad in [dict(rounding="Floor"), dict(overflow="SATURATE"), dict(rounding="half-even")]:
        with pytest.raises(ValueError):
            fixedq.cast(0.5, fixedq.Q15, **bad)
        with pytest.raises(ValueError):
            fixedq.multiply(fixedq.Q15(0.5), fixedq.Q15(0.5), **bad)


def test_policy_context_nests_and_restores() -> None:
    assert fixedq.get_policy() == ("half_even", "saturate")
    with fixedq.policy(rounding="floor") as p:
        assert p == fixedq.get_policy() == ("floor", "saturate")
        with fixedq.policy(overflow="wrap"):
            assert fixedq.get_policy() == ("floor", "wrap")
            with pytest.raises(RuntimeError):
                with fixedq.policy(rounding="ceil", overflow="raise"):
                    raise RuntimeError
            assert fixedq.get_policy() == ("floor", "wrap")
        assert fixedq.get_policy() == ("floor", "saturate")
    assert fixedq.get_policy() == ("half_even", "saturate")


# ------------------------------------------------------------------------------------------
# Stochastic rounding
# ------------------------------------------------------------------------------------------
def test_stochastic_needs_a_seed_and_repeats_with_it() -> None:
    x = np.linspace(-3, 3, 1001)
    t = fixedq.Fixed8_8
    with pytest.raises(ValueError, match="seed"):
        fixedq.cast(x, t, rounding="stochastic")
    with pytest.raises(ValueError, match="seed"):
        fixedq.multiply(np.array([t(0.3)]), t(0.3), rounding="stochastic")
    with pytest.raises(TypeError, match="seed"):
        fixedq.cast(x, t, rounding="stochastic", seed="42")
    with pytest.raises(ValueError, match="seed"):
        fixedq.cast(x, t, rounding="floor", seed=1)
    a = fixedq.cast(x, t, rounding="stochastic", seed=7).view(np.int16)
    b = fixedq.cast(x, t, rounding="stochastic", seed=7).view(np.int16)
    c = fixedq.cast(x, t, rounding="stochastic", seed=8).view(np.int16)
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()
    g1, g2 = np.random.default_rng(5), np.random.default_rng(5)
    np.testing.assert_array_equal(fixedq.cast(x, t, rounding="stochastic", seed=g1).view(np.int16),
                                  fixedq.cast(x, t, rounding="stochastic", seed=g2).view(np.int16))


def floor_ceil(q: Fraction, scale: int) -> tuple[int, int]:
    return math.floor(q * scale), math.ceil(q * scale)


def test_stochastic_rounds_to_a_neighbour(rng: np.random.Generator) -> None:
    fmt = next(f for f in FORMATS if f.name == "Fixed16_16")
    a = random_raws(fmt, rng, 400) >> 8
    b = random_raws(fmt, rng, 400) >> 8
    b[b == 0] = 1
    x, y = a.astype(np.int32).view(fmt.type), b.astype(np.int32).view(fmt.type)
    seed = int(rng.integers(2**32))
    for op, fn, exact in [("multiply", fixedq.multiply, lambda p, q: p * q),
                          ("divide", fixedq.divide, lambda p, q: p / q)]:
        got = fn(x, y, rounding="stochastic", overflow="wrap", seed=seed).view(np.int32)
        for g, p, q in zip(got, a, b):
            e = exact(Fraction(int(p), fmt.scale), Fraction(int(q), fmt.scale))
            lo, hi = floor_ceil(e, fmt.scale)
            fl = oracle_raw(fmt, Fraction(lo, fmt.scale), "floor", "wrap")
            ce = oracle_raw(fmt, Fraction(hi, fmt.scale), "floor", "wrap")
            assert int(g) in (fl, ce), (op, hex(int(p)), hex(int(q)), hex(int(g)))
    # Representable values are never moved.
    v = a.astype(np.float64) / fmt.scale
    got = fixedq.cast(v, fmt.type, rounding="stochastic", seed=seed).view(np.int32)
    np.testing.assert_array_equal(got, a)


@pytest.mark.parametrize("frac", [0.3, 0.5, 0.9, 0.01])
def test_stochastic_mean_converges(frac: float) -> None:
    """The mean of many stochastic roundings of v converges to v (fixed seed; the bound is
    about 7 standard deviations of the mean of n Bernoulli(frac) draws)."""
    n = 200_000
    for t, fbits, raw_dtype in [(fixedq.Q15, 15, np.int16), (fixedq.Fixed32_32, 32, np.int64)]:
        base = -1234 if t is fixedq.Fixed32_32 else -1234
        v = (base + frac) * 2.0**-fbits
        raws = fixedq.cast(np.full(n, v), t, rounding="stochastic", seed=2024).view(raw_dtype)
        assert set(np.unique(raws).tolist()) <= {base, base + 1}
        bound = 7 * math.sqrt(frac * (1 - frac) / n)
        assert abs(raws.astype(np.float64).mean() - (base + frac)) < bound, (t, frac)
        prod = fixedq.multiply(np.full(n, t.from_raw(base)), np.full(n, t(frac)),
                               rounding="stochastic", seed=np.random.default_rng(99))
        exact = Fraction(base) * Fraction(*t(frac).as_integer_ratio())
        mean = Fraction(int(prod.view(raw_dtype).astype(np.int64).sum()), n)
        assert abs(float(mean - exact)) < 7 * math.sqrt(0.25 / n) + 1e-12, (t, frac)


def test_stochastic_scalars_give_scalars() -> None:
    """An explicit call on scalars returns a scalar, as with the other roundings."""
    got = fixedq.cast(0.1, fixedq.Fixed16_16, rounding="stochastic", seed=1)
    assert type(got) is fixedq.Fixed16_16
    assert got.raw in (math.floor(0.1 * 2**16), math.ceil(0.1 * 2**16))
    got = fixedq.multiply(fixedq.Q15(0.3), fixedq.Q15(0.3), rounding="stochastic", seed=1)
    assert type(got) is fixedq.Q15
    assert type(fixedq.cast(0.1, fixedq.Fixed16_16, rounding="floor")) is fixedq.Fixed16_16
