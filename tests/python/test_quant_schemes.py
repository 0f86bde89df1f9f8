"""fixedq.quant.quantize: every scheme against a straightforward implementation written here.

The oracles are per-element Python loops (exact ``fractions.Fraction`` arithmetic where the
scheme is exact), written from the papers' and Ristretto's rules, not from fixedq's code.
Random data is replicable: each test's seed is in its parameters (rerun with ``-k``).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

import fixedq
from fixedq.quant import SCHEMES, QTensor, quantize


def round_half_away(v: float | Fraction) -> int:
    f = Fraction(v)
    n = math.floor(abs(f) + Fraction(1, 2))
    return n if f >= 0 else -n


def round_half_even(v: float | Fraction) -> int:
    return round(Fraction(v))  # Fraction.__round__ ties to even


def random_data(seed: int, n: int = 257) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.normal(0, 1, n), rng.laplace(0, 0.1, n), [0.0, 1.0, -1.0]])


ADVERSARIAL = {
    "zeros": np.zeros(16),
    "constant": np.full(9, 0.37),
    "negative_constant": np.full(5, -2.5),
    "one_element": np.array([0.75]),
    "huge_range": np.array([1e-30, -3e-20, 1.0, -7e15, 2e30, 0.0]),
    "tiny": np.array([1e-300, -5e-310, 0.0]),
}

# Schemes that must accept every adversarial tensor; (scheme, options)
ALL_CASES = [
    ("affine", {}),
    ("symmetric", {}),
    ("dynamic_fixed_point", {}),
    ("minifloat", {}),
    ("minifloat", {"variant": "e4m3fn"}),
    ("minifloat", {"variant": "e5m2"}),
    ("power_of_two", {}),
    ("kmeans", {"k": 4}),
    ("binary", {}),
    ("binary", {"variant": "bwn"}),
    ("ternary", {}),
    ("dorefa", {}),
]


# ---------------------------------------------------------------------------------------------
# Common behaviour
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("scheme", "options"), ALL_CASES)
@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_adversarial_inputs_round_trip_within_the_format(scheme: str, options: dict, name: str) -> None:
    x = ADVERSARIAL[name]
    qt = quantize(x, scheme, **options)
    assert isinstance(qt, QTensor)
    assert qt.codes.shape == x.shape and qt.codes.dtype.kind in "iu"
    y = qt.dequantize()
    assert y.shape == x.shape and np.isfinite(y).all()
    lo, hi = qt.limits()
    assert np.all(y >= lo) and np.all(y <= hi)
    if name == "zeros" and scheme not in ("dorefa", "binary"):
        assert np.all(y == 0), "zero must be exactly representable"


@pytest.mark.parametrize(("scheme", "options"), ALL_CASES)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values_are_rejected(scheme: str, options: dict, bad: float) -> None:
    with pytest.raises(ValueError, match="x contains NaN or infinity"):
        quantize(np.array([0.5, bad, 1.0]), scheme, **options)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_empty_and_non_numeric_inputs_are_rejected(scheme: str) -> None:
    with pytest.raises(ValueError, match="x is empty"):
        quantize(np.array([]), scheme)
    with pytest.raises(TypeError, match="x must be"):
        quantize(np.array([True, False]), scheme)
    with pytest.raises(TypeError, match="x must be"):
        quantize(np.array([1 + 2j]), scheme)


def test_bad_arguments_name_themselves() -> None:
    x = np.array([0.5, -0.25])
    with pytest.raises(ValueError, match="scheme must be one of"):
        quantize(x, "nonsense")
    with pytest.raises(ValueError, match="bits must be in"):
        quantize(x, "affine", bits=17)
    with pytest.raises(ValueError, match="bits must be in"):
        quantize(x, "affine", bits=1)
    with pytest.raises(TypeError, match="bits must be an int"):
        quantize(x, "affine", bits=8.0)
    with pytest.raises(ValueError, match="rounding must be one of"):
        quantize(x, "affine", rounding="up")
    with pytest.raises(TypeError, match="does not take the option"):
        quantize(x, "affine", threshold=1.0)
    with pytest.raises(ValueError, match="axis=2 is out of range"):
        quantize(x, "symmetric", axis=2)
    with pytest.raises(ValueError, match=r"bits must be in \[1, 1\], got 2"):
        quantize(x, "binary", bits=2)


@pytest.mark.parametrize(("scheme", "options"), [("affine", {}), ("symmetric", {}), ("dynamic_fixed_point", {}),
                                                 ("minifloat", {}), ("power_of_two", {}), ("dorefa", {"bits": 4})])
def test_stochastic_rounding_is_seeded_and_unbiased(scheme: str, options: dict) -> None:
    rng = np.random.default_rng(11)
    x = rng.uniform(-0.9, 0.9, 64)
    a = quantize(x, scheme, rounding="stochastic", seed=5, **options)
    b = quantize(x, scheme, rounding="stochastic", seed=5, **options)
    np.testing.assert_array_equal(a.codes, b.codes)
    # Each stochastic result is one of the two deterministic neighbours, and on average
    # (4000 draws, fixed seed) lands near the value for linear schemes.
    if scheme in ("affine", "symmetric", "dynamic_fixed_point"):
        det = quantize(x, scheme, rounding="half_even", **options)
        lsb = np.max(np.diff(np.unique(det.dequantize())))
        draws = np.stack([quantize(x, scheme, rounding="stochastic", seed=s, **options).dequantize()
                          for s in range(4000)])
        assert np.all(np.abs(draws - x) < lsb * 1.0001)
        assert np.all(np.abs(draws.mean(axis=0) - x) < 0.1 * lsb)


# ---------------------------------------------------------------------------------------------
# affine (TensorFlow / ONNX DynamicQuantizeLinear generalised to n bits)
# ---------------------------------------------------------------------------------------------
def affine_oracle(x: np.ndarray, bits: int, signed: bool) -> tuple[list[int], float, int]:
    qmin, qmax = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    lo = min(0.0, float(min(x)))
    hi = max(0.0, float(max(x)))
    scale = (hi - lo) / (qmax - qmin) or 1.0
    zp = min(max(round(qmin - lo / scale), qmin), qmax)  # round(): ties to even
    return [min(max(round(v / scale) + zp, qmin), qmax) for v in map(float, x)], scale, zp


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize(("bits", "signed"), [(8, False), (8, True), (2, False), (4, True), (16, False), (12, True)])
def test_affine_matches_the_formula(seed: int, bits: int, signed: bool) -> None:
    x = random_data(seed) * (10.0 ** (seed - 2))
    qt = quantize(x, "affine", bits=bits, signed=signed)
    codes, scale, zp = affine_oracle(x, bits, signed)
    assert qt.codes.tolist() == codes
    assert float(qt.params["scale"]) == scale and int(qt.params["zero_point"]) == zp
    # zero is exact and dequantize is (q - zp) * scale
    assert quantize(np.append(x, 0.0), "affine", bits=bits, signed=signed).dequantize()[-1] == 0.0
    np.testing.assert_array_equal(qt.dequantize(), (np.array(codes) - zp) * scale)


def test_affine_per_channel_equals_per_tensor_on_each_channel() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(4, 3, 5)) * np.array([1.0, 10.0, 0.01])[None, :, None]
    qt = quantize(x, "affine", axis=1)
    assert qt.params["scale"].shape == (3,)
    for c in range(3):
        one = quantize(x[:, c, :], "affine")
        np.testing.assert_array_equal(qt.codes[:, c, :], one.codes)
        np.testing.assert_array_equal(qt.dequantize()[:, c, :], one.dequantize())


def test_affine_float32_divides_in_float32() -> None:
    x = np.random.default_rng(2).normal(size=500).astype(np.float32)
    qt = quantize(x, "affine")
    scale = np.float32(qt.params["scale"])
    expected = np.clip(np.rint(x / scale) + qt.params["zero_point"].astype(np.float32), 0, 255)
    np.testing.assert_array_equal(qt.codes, expected.astype(np.uint8))
    assert qt.dequantize().dtype == np.float32


# ---------------------------------------------------------------------------------------------
# symmetric (TensorRT)
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("bits", [8, 4, 16])
@pytest.mark.parametrize("narrow", [True, False])
def test_symmetric_matches_the_formula(seed: int, bits: int, narrow: bool) -> None:
    x = random_data(seed)
    t = 1.5  # a saturation threshold below max|x|: values beyond saturate
    qt = quantize(x, "symmetric", bits=bits, threshold=t, narrow=narrow)
    qmax = 2 ** (bits - 1) - 1
    qmin = -qmax if narrow else -qmax - 1
    scale = t / qmax
    assert qt.codes.tolist() == [min(max(round(v / scale), qmin), qmax) for v in map(float, x)]
    m = qt.metrics(x)
    assert m.saturated_fraction == np.mean((x < qmin * scale) | (x > qmax * scale))
    default = quantize(x, "symmetric", bits=bits)
    assert float(default.params["threshold"]) == np.max(np.abs(x))


# ---------------------------------------------------------------------------------------------
# dynamic fixed point (Ristretto)
# ---------------------------------------------------------------------------------------------
def dfp_oracle(x: np.ndarray, bits: int, sign_bit: bool) -> tuple[list[int], int]:
    m = max(abs(float(v)) for v in x)
    il = (math.ceil(math.log2(m)) if m > 0 else 0) + (1 if sign_bit else 0)
    fl = bits - il
    lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    out = []
    for v in map(float, x):
        s = min(max(Fraction(v) * Fraction(2) ** fl, lo), hi)  # Trim2FixedPoint: saturate, then round
        out.append(round_half_away(s))
    return out, fl


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("bits", [4, 8, 16, 32])
@pytest.mark.parametrize("sign_bit", [True, False])
def test_dynamic_fixed_point_matches_ristretto(seed: int, bits: int, sign_bit: bool) -> None:
    x = random_data(seed) * 3.0 ** (seed - 1)
    qt = quantize(x, "dynamic_fixed_point", bits=bits, sign_bit=sign_bit)
    codes, fl = dfp_oracle(x, bits, sign_bit)
    assert qt.params["fraction_bits"] == fl
    assert qt.codes.tolist() == codes


def test_dynamic_fixed_point_integer_length_examples() -> None:
    # max 3.2: ceil(log2 3.2) = 2, +1 sign bit -> il 3, fl = 8 - 3 = 5
    assert quantize(np.array([3.2, -1.0]), "dynamic_fixed_point").params["fraction_bits"] == 5
    # activations (no sign bit): il 2, fl 6; 3.2 saturates to 127/64
    qt = quantize(np.array([3.2, 0.5]), "dynamic_fixed_point", sign_bit=False)
    assert qt.params["fraction_bits"] == 6 and qt.codes.tolist() == [127, 32]
    # max exactly a power of two: ceil(log2 4) = 2
    assert quantize(np.array([4.0]), "dynamic_fixed_point").params["fraction_bits"] == 5


@pytest.mark.parametrize(("name", "bits", "max_abs"), [
    ("Q7", 8, 0.9), ("Q15", 16, 0.99), ("Q31", 32, 0.9), ("Fixed8_8", 16, 100.0), ("Fixed16_16", 32, 30000.0),
    ("Fixed24_8", 32, 5e6), ("Fixed32_32", 64, 2e9)])
def test_dynamic_fixed_point_codes_are_fixedq_raws(name: str, bits: int, max_abs: float) -> None:
    ftype = getattr(fixedq, name)
    rng = np.random.default_rng(bits)
    x = rng.uniform(-max_abs, max_abs, 300)
    x[0] = max_abs
    qt = quantize(x, "dynamic_fixed_point", bits=bits, rounding="half_even")
    assert qt.fixed_type is ftype
    fx = qt.to_fixed()
    assert fx.dtype == np.dtype(ftype)
    # fixedq's own float -> fixed conversion (half_even, saturate) gives the same raws
    np.testing.assert_array_equal(fx.view(qt.codes.dtype), x.astype(ftype).view(qt.codes.dtype))
    np.testing.assert_array_equal(fx.astype(np.float64), qt.dequantize())


def test_dynamic_fixed_point_without_named_format() -> None:
    qt = quantize(np.array([3.0, 1.0]), "dynamic_fixed_point", bits=8)
    assert qt.fixed_type is None
    with pytest.raises(ValueError, match="no fixedq format"):
        qt.to_fixed()


# ---------------------------------------------------------------------------------------------
# minifloat
# ---------------------------------------------------------------------------------------------
def ieee_minifloat_values(e: int, m: int, bias: int, largest: float) -> dict[int, float]:
    """Every finite non-negative code of an IEEE-style format with subnormals (ONNX float8)."""
    table = {}
    for code in range(1 << (e + m)):
        biased, mant = code >> m, code & ((1 << m) - 1)
        v = mant * 2.0 ** (1 - bias - m) if biased == 0 else (1 + mant / 2**m) * 2.0 ** (biased - bias)
        if v <= largest:
            table[code] = v
    return table


@pytest.mark.parametrize(("variant", "e", "m", "bias", "largest"), [("e4m3fn", 4, 3, 7, 448.0),
                                                                     ("e5m2", 5, 2, 15, 57344.0)])
def test_float8_is_nearest_even_with_saturation(variant: str, e: int, m: int, bias: int, largest: float) -> None:
    table = ieee_minifloat_values(e, m, bias, largest)
    assert max(table.values()) == largest
    rng = np.random.default_rng(7)
    x = np.concatenate([rng.normal(0, 1, 300) * 2.0 ** rng.integers(-20, 18, 300),
                        list(table.values()), [(a + b) / 2 for a, b in zip(list(table.values()), list(table.values())[1:])],
                        [1e6, -1e6, largest * 1.1]])
    x = np.concatenate([x, -x])
    qt = quantize(x, variant, ) if False else quantize(x, "minifloat", variant=variant)
    codes = sorted(table)
    for v, code in zip(x.tolist(), qt.codes.tolist()):
        a = abs(v)
        # nearest representable magnitude; ties to the even code
        best = min(codes, key=lambda c: (abs(table[c] - a), c & 1))
        expected = best | ((1 << (e + m)) if math.copysign(1, v) < 0 else 0)
        assert code == expected, (v, hex(code), hex(expected))


def test_float8_agrees_with_ml_dtypes_in_range() -> None:
    ml_dtypes = pytest.importorskip("ml_dtypes", reason="ml_dtypes (shipped with onnx) is an optional cross-check")
    x = np.random.default_rng(1).normal(0, 30, 2000).astype(np.float32)
    for variant, t in (("e4m3fn", ml_dtypes.float8_e4m3fn), ("e5m2", ml_dtypes.float8_e5m2)):
        qt = quantize(x, "minifloat", variant=variant)
        np.testing.assert_array_equal(qt.codes, x.astype(t).view(np.uint8))


def ristretto_minifloat_oracle(v: float, e: int, m: int) -> float:
    """Trim2MiniFloat without the early-return bug, then fixedq's documented zero code."""
    bias = 2 ** (e - 1) - 1
    if v == 0:
        return 0.0
    frac, ex = math.frexp(abs(v))            # |v| = frac * 2**ex, frac in [0.5, 1)
    exponent = ex - 1 + bias                 # biased exponent of 1.f * 2**(ex - 1)
    if exponent < 0:
        return 0.0                           # no denormals
    mant = round_half_away(Fraction(2 * frac - 1) * 2**m)
    value = (1 + Fraction(mant, 2**m)) * Fraction(2) ** (ex - 1)
    largest = (2 - Fraction(1, 2**m)) * Fraction(2) ** (2**e - 1 - bias)
    value = min(value, largest)              # saturate at the largest value
    if value == Fraction(2) ** (-bias):
        value = Fraction(0)                  # fixedq: code 0 is zero
    return math.copysign(float(value), v)


@pytest.mark.parametrize(("e", "m"), [(4, 3), (5, 2), (3, 4), (5, 10)])
def test_ristretto_minifloat_matches_trim2minifloat(e: int, m: int) -> None:
    rng = np.random.default_rng(e * 10 + m)
    x = np.concatenate([rng.normal(0, 1, 400) * 2.0 ** rng.integers(-12, 20, 400), [0.0, -0.0, 1.0, 1e9]])
    x = np.insert(x, 5, 0.0)  # a zero in the middle: Ristretto's CPU loop stops there; fixedq must not
    qt = quantize(x, "minifloat", exp_bits=e, mant_bits=m, rounding="half_away")
    assert qt.bits == 1 + e + m
    expected = [ristretto_minifloat_oracle(v, e, m) for v in x.tolist()]
    np.testing.assert_array_equal(qt.dequantize(), expected)


def test_minifloat_bits_and_format_checks() -> None:
    assert quantize(np.array([1.0]), "minifloat", bits=6).params["mant_bits"] == 1
    with pytest.raises(ValueError, match="bits=9 does not match e4m3fn"):
        quantize(np.array([1.0]), "minifloat", variant="e4m3fn", bits=9)
    with pytest.raises(ValueError, match="minifloat variant must be one of"):
        quantize(np.array([1.0]), "minifloat", variant="e3m4")


# ---------------------------------------------------------------------------------------------
# power of two
# ---------------------------------------------------------------------------------------------
def pot_oracle(v: float, emin: int, emax: int) -> float:
    if abs(v) < 2.0 ** (emin - 1):
        return 0.0
    ex = min(max(round_half_away(math.log2(abs(v))), emin), emax)
    return math.copysign(2.0**ex, v)


@pytest.mark.parametrize(("bits", "emin", "emax"), [(None, -8, -1), (4, -7, -1), (3, -2, 0), (6, -29, 1)])
def test_power_of_two_matches_ristretto_with_zero(bits: int | None, emin: int, emax: int) -> None:
    x = random_data(9) * 0.3
    opts = {"exp_max": emax} if bits is not None else {}
    qt = quantize(x, "power_of_two", bits=bits, **opts)
    assert (qt.params["exp_min"], qt.params["exp_max"]) == (emin, emax)
    np.testing.assert_array_equal(qt.dequantize(), [pot_oracle(v, emin, emax) for v in x.tolist()])
    assert len(set(np.abs(qt.codes).tolist())) <= 2 ** (qt.bits - 1)
    assert quantize(np.array([0.0, 1e-9]), "power_of_two").dequantize().tolist() == [0.0, 0.0]


# ---------------------------------------------------------------------------------------------
# k-means (Deep Compression)
# ---------------------------------------------------------------------------------------------
def lloyd_oracle(w: list[float], init: list[float], iters: int) -> list[float]:
    c = sorted(init)
    for _ in range(iters):
        groups: dict[int, list[float]] = {}
        for v in w:
            best = min(range(len(c)), key=lambda i: (abs(v - c[i]), i))
            groups.setdefault(best, []).append(v)
        new = sorted(sum(groups[i]) / len(groups[i]) if i in groups else c[i] for i in range(len(c)))
        if new == c:
            break
        c = new
    return c


@pytest.mark.parametrize("init", ["linear", "density"])
@pytest.mark.parametrize("k", [2, 4, 16])
def test_kmeans_is_lloyd_over_non_zero_weights(init: str, k: int) -> None:
    rng = np.random.default_rng(k)
    w = rng.normal(0, 0.1, 200)
    w[::7] = 0.0  # pruned weights: not clustered, code -1, dequantize to 0
    qt = quantize(w, "kmeans", k=k, init=init)
    nz = w[w != 0]
    start = np.linspace(nz.min(), nz.max(), k) if init == "linear" else np.quantile(nz, np.linspace(0, 1, k))
    book = lloyd_oracle(nz.tolist(), start.tolist(), 300)
    np.testing.assert_allclose(qt.params["codebook"], book, rtol=1e-12, atol=1e-15)
    assert np.all(qt.codes[w == 0] == -1)
    y = qt.dequantize()
    assert np.all(y[w == 0] == 0)
    for v, out in zip(nz.tolist(), y[w != 0].tolist()):
        assert abs(v - out) == min(abs(v - c) for c in book)


def test_kmeans_random_init_is_seeded_and_per_channel() -> None:
    w = np.random.default_rng(0).normal(size=(3, 50))
    a = quantize(w, "kmeans", k=4, init="random", seed=1, axis=0)
    b = quantize(w, "kmeans", k=4, init="random", seed=1, axis=0)
    np.testing.assert_array_equal(a.codes, b.codes)
    assert a.params["codebook"].shape == (3, 4)
    for ch in range(3):
        one = quantize(w[ch], "kmeans", k=4, init="linear")
        per = quantize(w, "kmeans", k=4, init="linear", axis=0)
        np.testing.assert_array_equal(per.dequantize()[ch], one.dequantize())


def test_kmeans_storage_is_the_papers_arithmetic() -> None:
    # Deep Compression's toy example: 16 weights, 4 shared values, 32-bit floats -> r = 512/160 = 3.2
    w = np.array([2.09, -0.98, 1.48, 0.09, 0.05, -0.14, -1.08, 2.12, -0.91, 1.92, 0, -1.03, 1.87, 0, 1.53, 1.49])
    w[w == 0] = 0.01
    qt = quantize(w, "kmeans", k=4)
    assert qt.bits == 2 and qt.storage_bits == 16 * 2 + 4 * 32
    assert (16 * 32) / qt.storage_bits == 3.2


# ---------------------------------------------------------------------------------------------
# binary, ternary, DoReFa
# ---------------------------------------------------------------------------------------------
def test_binaryconnect_deterministic_and_stochastic() -> None:
    x = random_data(4)
    qt = quantize(x, "binary")
    assert qt.dequantize().tolist() == [1.0 if v >= 0 else -1.0 for v in x.tolist()]
    # stochastic: P(+1) = hard_sigmoid(w) = clip((w + 1) / 2, 0, 1)
    w = np.array([-2.0, -0.5, 0.0, 0.6, 3.0])
    draws = np.stack([quantize(w, "binary", rounding="stochastic", seed=s).codes for s in range(4000)])
    p = (draws == 1).mean(axis=0)
    np.testing.assert_allclose(p, np.clip((w + 1) / 2, 0, 1), atol=0.03)
    assert p[0] == 0 and p[-1] == 1


def test_bwn_scale_is_mean_magnitude_per_output_channel() -> None:
    w = np.random.default_rng(5).normal(size=(4, 3, 3))
    qt = quantize(w, "binary", variant="bwn", axis=0)
    for c in range(4):
        alpha = sum(abs(v) for v in w[c].ravel().tolist()) / w[c].size
        expected = [alpha if v >= 0 else -alpha for v in w[c].ravel().tolist()]
        np.testing.assert_allclose(qt.dequantize()[c].ravel(), expected, rtol=1e-14)


@pytest.mark.parametrize("axis", [None, 0])
def test_twn_threshold_and_scale(axis: int | None) -> None:
    w = np.random.default_rng(6).normal(size=(5, 40))
    qt = quantize(w, "ternary", axis=axis)
    rows = [w.ravel()] if axis is None else list(w)
    out = qt.dequantize().reshape(len(rows), -1)
    for row, got in zip(rows, out):
        vals = row.tolist()
        delta = 0.7 * sum(abs(v) for v in vals) / len(vals)
        kept = [abs(v) for v in vals if abs(v) > delta]
        alpha = sum(kept) / len(kept)
        expected = [math.copysign(alpha, v) if abs(v) > delta else 0.0 for v in vals]
        np.testing.assert_allclose(got, expected, rtol=1e-14)
    assert set(np.unique(qt.codes).tolist()) <= {-1, 0, 1}


@pytest.mark.parametrize("k", [1, 2, 3, 8])
def test_dorefa_weight_transform(k: int) -> None:
    w = random_data(8)
    qt = quantize(w, "dorefa", bits=k)
    vals = w.tolist()
    if k == 1:
        e = sum(abs(v) for v in vals) / len(vals)
        expected = [e if v >= 0 else -e for v in vals]
    else:
        m = max(abs(math.tanh(v)) for v in vals)
        n = 2**k - 1
        expected = [2 * round(n * (math.tanh(v) / (2 * m) + 0.5)) / n - 1 for v in vals]
    np.testing.assert_allclose(qt.dequantize(), expected, rtol=1e-14, atol=1e-15)
