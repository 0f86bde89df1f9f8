"""fixedq.ops against the NumPy int64 references of ops_reference.py, bit for bit.

Random data (seeded, printed; FIXEDQ_TEST_SEED repeats a run) on a shape battery: M, N, K from 1
past the micro-kernel tiles and panels, K below/at/above multiples of 4, 16, 32, 64, deep K that
wraps the int32 accumulator; extremes (-128/127/0/255) and long runs of them; zero points per
tensor, per row, per column, per channel; every dtype combination; convolutions with strides,
asymmetric pads, dilations, groups, depthwise (with multipliers), 1x1, both layouts and auto_pad.
Also: the prepacked classes against the functions, non-contiguous and read-only inputs, error
messages that name the argument, Python threads, and set_num_threads(1) against 2.
"""

from __future__ import annotations

import itertools
import math
import re
import threading

import numpy as np
import pytest

import fixedq
import ops_reference as ref
from fixedq import ops

U8, S8 = np.dtype(np.uint8), np.dtype(np.int8)
INT8_TYPES = (U8, S8)
DTYPE_PAIRS = [(U8, S8), (U8, U8), (S8, S8), (S8, U8)]
FILLS = ("random", "extremes", "runs", "edges")


def data(rng: np.random.Generator, shape, dtype, fill: str = "random") -> np.ndarray:
    """uint8/int8 values: uniform, only the two extremes, long runs of them, or edge values."""
    dtype = np.dtype(dtype)
    lo, hi = ref.QRANGE[dtype]
    size = math.prod(shape)
    if fill == "random":
        v = rng.integers(lo, hi, size=size, endpoint=True)
    elif fill == "extremes":
        v = np.where(rng.integers(0, 2, size=size) == 1, lo, hi)
    elif fill == "runs":
        v = np.where((np.arange(size) // 37) % 2 == 1, hi, lo)
    else:
        edges = np.array([e for e in (lo, lo + 1, -1, 0, 1, 127, 128, hi - 1, hi) if lo <= e <= hi])
        v = edges[rng.integers(0, edges.size, size=size)]
    return v.reshape(shape).astype(dtype)


def zero_point(rng: np.random.Generator, dtype, size=None, extreme: bool = False):
    dtype = np.dtype(dtype)
    lo, hi = ref.QRANGE[dtype]
    if extreme:
        v = rng.choice([lo, hi], size=size)
    else:
        v = rng.integers(lo, hi, size=size, endpoint=True)
    return np.asarray(v).astype(dtype) if size is not None else dtype.type(v)


def scales(rng: np.random.Generator, size=None) -> np.ndarray:
    """float32 scales over several binades, with exact powers of two (ties) among them."""
    s = np.ldexp(rng.uniform(0.5, 1.0, size=size), rng.integers(-12, 2, size=size)).astype(np.float32)
    pow2 = np.ldexp(1.0, rng.integers(-10, 1, size=size)).astype(np.float32)
    return np.where(rng.integers(0, 3, size=size) == 0, pow2, s).astype(np.float32)


def assert_same(got: np.ndarray, want: np.ndarray, what: str) -> None:
    assert got.dtype == want.dtype, f"{what}: dtype {got.dtype}, expected {want.dtype}"
    assert got.shape == want.shape, f"{what}: shape {got.shape}, expected {want.shape}"
    if got.dtype.kind == "f":
        bad = np.flatnonzero(got.view(np.uint32) != want.view(np.uint32))
    else:
        bad = np.flatnonzero(got != want)
    if bad.size:
        i = bad[0]
        pos = np.unravel_index(i, got.shape) if got.ndim else ()
        msg = (f"{what}: {bad.size} of {got.size} values differ; first at {pos}: "
               f"got {got.reshape(-1)[i]!r}, expected {want.reshape(-1)[i]!r}")
        raise AssertionError(msg)


# ------------------------------------------------------------------------------------------
# QuantizeLinear / DequantizeLinear / DynamicQuantizeLinear
# ------------------------------------------------------------------------------------------
def float_inputs(rng: np.random.Generator, shape, scale: float) -> np.ndarray:
    """Floats around the quantization grid: exact ties (k + 1/2) * scale, near-ties, wide
    magnitudes, +-inf, +-0."""
    size = math.prod(shape)
    k = rng.integers(-300, 300, size=size)
    ties = ((k + 0.5) * scale).astype(np.float32)
    grid = (k * scale).astype(np.float32)
    wide = np.ldexp(rng.uniform(-1, 1, size=size), rng.integers(-20, 40, size=size)).astype(np.float32)
    pick = rng.integers(0, 4, size=size)
    x = np.where(pick == 0, ties, np.where(pick == 1, grid, np.where(pick == 2, wide, np.nextafter(ties, wide))))
    specials = np.array([np.inf, -np.inf, 0.0, -0.0, 3e38, -3e38, 1e-45], np.float32)
    x[: min(size, specials.size)] = specials[: min(size, specials.size)]
    rng.shuffle(x)
    return x.astype(np.float32).reshape(shape)


QUANT_SHAPES = [(), (1,), (7,), (3, 5), (2, 3, 4, 5), (1, 17, 1, 3), (0, 3)]


@pytest.mark.parametrize("dtype", INT8_TYPES, ids=str)
@pytest.mark.parametrize("shape", QUANT_SHAPES, ids=str)
def test_quantize_linear_per_tensor(rng: np.random.Generator, dtype, shape) -> None:
    for scale in (np.float32(1.0), np.float32(0.5), np.float32(0.0372), scales(rng)):
        x = float_inputs(rng, shape, float(scale))
        for zp in (zero_point(rng, dtype), zero_point(rng, dtype, extreme=True)):
            got = ops.quantize_linear(x, scale, zp)
            assert_same(got, ref.quantize(x, scale, zp, dtype), f"quantize scale={scale!r} zp={zp!r}")
    # Default zero point: uint8 0.
    x = float_inputs(rng, shape, 0.25)
    assert_same(ops.quantize_linear(x, 0.25), ref.quantize(x, 0.25, 0, np.uint8), "quantize default zp")


@pytest.mark.parametrize("dtype", INT8_TYPES, ids=str)
@pytest.mark.parametrize(("shape", "axis"), [((3, 4), 0), ((3, 4), 1), ((3, 4), -1), ((2, 3, 4, 5), 1),
                                             ((2, 3, 4, 5), 3), ((2, 3, 4, 5), -3), ((5,), 0), ((4, 1, 2), 1)])
def test_quantize_dequantize_per_axis(rng: np.random.Generator, dtype, shape, axis) -> None:
    channels = shape[axis]
    s = scales(rng, channels)
    z = zero_point(rng, dtype, channels)
    x = float_inputs(rng, shape, float(s.min()))
    q = ops.quantize_linear(x, s, z, axis=axis)
    assert_same(q, ref.quantize(x, s, z, dtype, axis=axis), f"quantize axis={axis}")
    back = ops.dequantize_linear(q, s, z, axis=axis)
    assert_same(back, ref.dequantize(q, s, z, axis=axis), f"dequantize axis={axis}")
    # One zero point for every channel.
    q1 = ops.quantize_linear(x, s, z[:1], axis=axis)
    assert_same(q1, ops.quantize_linear(x, s, np.full(channels, z[0]), axis=axis), f"one zero point axis={axis}")
    assert_same(ops.dequantize_linear(q1, s, z[0], axis=axis),
                ops.dequantize_linear(q1, s, np.full(channels, z[0]), axis=axis), f"one zero point axis={axis}")


@pytest.mark.parametrize("dtype", INT8_TYPES, ids=str)
def test_dequantize_linear_exhaustive(rng: np.random.Generator, dtype) -> None:
    """Every value against every zero point, for a few scales."""
    lo, hi = ref.QRANGE[dtype]
    x = np.arange(lo, hi + 1).astype(dtype)
    for scale in (np.float32(1), np.float32(0.1), scales(rng), np.float32(3.4e38), np.float32(1e-45)):
        for zp in range(lo, hi + 1):
            want = ref.dequantize(x, scale, np.array(zp, dtype))
            got = ops.dequantize_linear(x, scale, np.array(zp, dtype))
            assert_same(got, want, f"dequantize zp={zp} scale={scale!r}")
        assert_same(ops.dequantize_linear(x, scale), ref.dequantize(x, scale, 0), "dequantize no zp")


def test_quantize_round_trip_is_exact_on_the_grid(rng: np.random.Generator) -> None:
    for dtype in INT8_TYPES:
        lo, hi = ref.QRANGE[dtype]
        q = np.arange(lo, hi + 1).astype(dtype)
        s, z = np.float32(0.0078125), dtype.type(3)
        assert_same(ops.quantize_linear(ops.dequantize_linear(q, s, z), s, z), q, "round trip")


@pytest.mark.parametrize("shape", [(6,), (3, 4), (2, 3, 5, 7), (1,), (0,), (1000,)], ids=str)
def test_dynamic_quantize_linear(rng: np.random.Generator, shape) -> None:
    cases = [np.zeros(shape, np.float32), rng.uniform(-3, 5, size=shape).astype(np.float32),
             rng.uniform(0.5, 5, size=shape).astype(np.float32), rng.uniform(-5, -0.5, size=shape).astype(np.float32),
             np.ldexp(rng.uniform(-1, 1, size=shape), 60).astype(np.float32),
             np.clip(float_inputs(rng, shape, 0.01), -1e38, 1e38).astype(np.float32)]
    for x in cases:
        y, s, z = ops.dynamic_quantize_linear(x)
        wy, ws, wz = ref.dynamic_quantize(x)
        assert type(s) is np.float32 and type(z) is np.uint8
        assert s.view(np.uint32) == ws.view(np.uint32), (s, ws)
        assert z == wz, (z, wz)
        assert_same(y, wy, "dynamic_quantize_linear y")


def test_dynamic_quantize_linear_all_zero_uses_scale_one() -> None:
    y, s, z = ops.dynamic_quantize_linear(np.zeros(5, np.float32))
    assert (s, z) == (np.float32(1), np.uint8(0)) and not y.any()


# ------------------------------------------------------------------------------------------
# MatMulInteger / QLinearMatMul
# ------------------------------------------------------------------------------------------
MS = [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 33]
NS = [1, 2, 3, 15, 16, 17, 31, 32, 33, 48, 65]
KS = [1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 256, 257, 1000]
# Every (M, N) once; K runs through KS so that each K meets several (M, N).
SHAPES = [(m, n, KS[(i * 7) % len(KS)]) for i, (m, n) in enumerate(itertools.product(MS, NS))]
ZP_MODES = ("none", "tensor", "row-column")


def make_zero_points(rng, mode, m, n, at, bt, extreme=False):
    if mode == "none":
        return None, None
    if mode == "tensor":
        return zero_point(rng, at, extreme=extreme), zero_point(rng, bt, extreme=extreme)
    return zero_point(rng, at, m, extreme=extreme), zero_point(rng, bt, n, extreme=extreme)


@pytest.mark.parametrize(("at", "bt"), DTYPE_PAIRS, ids=lambda p: str(p))
@pytest.mark.parametrize("zp_mode", ZP_MODES)
def test_matmul_integer_battery(rng: np.random.Generator, at, bt, zp_mode) -> None:
    for i, (m, n, k) in enumerate(SHAPES):
        fill = FILLS[i % len(FILLS)]
        a, b = data(rng, (m, k), at, fill), data(rng, (k, n), bt, fill)
        za, zb = make_zero_points(rng, zp_mode, m, n, at, bt, extreme=fill != "random")
        got = ops.matmul_integer(a, b, za, zb)
        want = ref.matmul_integer(a, b, 0 if za is None else za, 0 if zb is None else zb)
        assert_same(got, want, f"matmul_integer M={m} N={n} K={k} {at}x{bt} zp={zp_mode} fill={fill}")


@pytest.mark.parametrize(("at", "bt"), DTYPE_PAIRS, ids=lambda p: str(p))
def test_matmul_integer_wraps_modulo_2_32(at, bt) -> None:
    """Deep K of extremes: the exact sum leaves int32 and wraps (ONNX: accumulation may
    overflow only in 32 bits)."""
    k = 70001
    lo_a, hi_a = ref.QRANGE[at]
    lo_b, hi_b = ref.QRANGE[bt]
    a = np.full((2, k), hi_a, at)
    a[1] = lo_a
    b = np.full((k, 3), lo_b, bt)
    b[:, 1] = hi_b
    za, zb = at.type(lo_a), bt.type(hi_b)
    got = ops.matmul_integer(a, b, za, zb)
    exact = np.matmul(a.astype(np.int64) - lo_a, b.astype(np.int64) - hi_b)
    assert np.abs(exact).max() > 2**31, "the case must overflow int32"
    assert_same(got, ref.wrap32(exact), "matmul_integer deep K")


BROADCAST_SHAPES = [((5,), (5, 3)), ((4, 5), (5,)), ((5,), (5,)), ((2, 3, 4), (4, 6)), ((4,), (3, 4, 2)),
                    ((2, 1, 3, 4), (5, 4, 2)), ((1, 3, 4), (2, 1, 4, 5)), ((2, 3, 4), (2, 4, 5)), ((3, 0, 4), (4, 2)),
                    ((2, 3, 0), (0, 4)), ((0, 3, 4), (4, 5))]


@pytest.mark.parametrize(("a_shape", "b_shape"), BROADCAST_SHAPES, ids=str)
def test_matmul_integer_follows_numpy_matmul_shapes(rng: np.random.Generator, a_shape, b_shape) -> None:
    for at, bt in DTYPE_PAIRS:
        a, b = data(rng, a_shape, at), data(rng, b_shape, bt)
        za, zb = zero_point(rng, at), zero_point(rng, bt)
        got = ops.matmul_integer(a, b, za, zb)
        want = ref.matmul_integer(a, b, za, zb)
        assert got.shape == np.matmul(a, b).shape
        assert_same(got, want, f"matmul_integer {a_shape} @ {b_shape}")


def test_matmul_integer_zero_point_shapes(rng: np.random.Generator) -> None:
    a, b = data(rng, (2, 3, 4), U8), data(rng, (4, 5), S8)
    za, zb = zero_point(rng, U8, 3), zero_point(rng, S8, 5)
    want = ref.matmul_integer(a, b, za, zb)
    for za_form in (za, za.reshape(3, 1)):
        for zb_form in (zb, zb.reshape(1, 5)):
            assert_same(ops.matmul_integer(a, b, za_form, zb_form), want, "zero point forms")
    # Python ints are taken for zero points whose dtype the tensor fixes.
    assert_same(ops.matmul_integer(a, b, 7, -3), ref.matmul_integer(a, b, 7, -3), "int zero points")


def qlinear_matmul_case(rng: np.random.Generator, m, n, k, at, bt, yt, per_column, fill):
    """Random ``(a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point)``."""
    a, b = data(rng, (m, k), at, fill), data(rng, (k, n), bt, fill)
    sa, sy = scales(rng), scales(rng)
    sb = scales(rng, n) if per_column else scales(rng)
    za = zero_point(rng, at)
    zb = zero_point(rng, bt, n) if per_column else zero_point(rng, bt)
    return a, sa, za, b, sb, zb, sy, zero_point(rng, yt)


@pytest.mark.parametrize(("at", "bt"), DTYPE_PAIRS, ids=lambda p: str(p))
@pytest.mark.parametrize("yt", INT8_TYPES, ids=str)
@pytest.mark.parametrize("per_column", [False, True], ids=["per-tensor", "per-column"])
def test_qlinear_matmul_battery(rng: np.random.Generator, at, bt, yt, per_column) -> None:
    for i, (m, n, k) in enumerate(SHAPES[::3]):
        fill = FILLS[i % len(FILLS)]
        a, sa, za, b, sb, zb, sy, zy = qlinear_matmul_case(rng, m, n, k, at, bt, yt, per_column, fill)
        got = ops.qlinear_matmul(a, sa, za, b, sb, zb, sy, zy)
        want = ref.qlinear_matmul(a, sa, za, b, sb, zb, sy, zy)
        what = f"qlinear_matmul M={m} N={n} K={k} {at}x{bt}->{yt} fill={fill}"
        assert_same(got, want, what)
        packed = ops.QLinearMatMul(b, sb, zb, sa, za, sy, zy)
        assert_same(packed(a), want, "QLinearMatMul " + what)


def test_qlinear_matmul_saturates_and_rounds_ties_to_even(rng: np.random.Generator) -> None:
    """Accumulators whose scaled value is exactly k + 1/2 (multiplier 1/2) and far outside the
    output range."""
    a = np.array([[1, 3, 5, 7, -1, -3, -5, -7, 127, -128]], np.int8).T  # M=10, K=1
    b = np.array([[1, 100]], np.int8)
    got = ops.qlinear_matmul(a, 0.5, np.int8(0), b, 1.0, np.int8(0), 1.0, np.int8(0))
    want = np.array([[0, 50], [2, 127], [2, 127], [4, 127], [0, -50], [-2, -128], [-2, -128], [-4, -128],
                     [64, 127], [-64, -128]], np.int8)
    assert_same(got, want, "ties and saturation")


@pytest.mark.parametrize(("a_shape", "b_shape"), BROADCAST_SHAPES[:8], ids=str)
def test_qlinear_matmul_shapes(rng: np.random.Generator, a_shape, b_shape) -> None:
    a, b = data(rng, a_shape, U8), data(rng, b_shape, S8)
    args = (np.float32(0.02), np.uint8(100), b, np.float32(0.01), np.int8(-3), np.float32(0.05), np.uint8(128))
    got = ops.qlinear_matmul(a, *args)
    assert_same(got, ref.qlinear_matmul(a, *args), f"qlinear_matmul {a_shape} @ {b_shape}")


def test_qlinear_matmul_float16_scales_widen_exactly(rng: np.random.Generator) -> None:
    a, b = data(rng, (3, 9), U8), data(rng, (9, 4), U8)
    s16 = [np.float16(0.0066), np.float16(0.00705), np.float16(0.0107)]
    got = ops.qlinear_matmul(a, s16[0], np.uint8(113), b, s16[1], np.uint8(114), s16[2], np.uint8(118))
    s32 = [np.float32(s) for s in s16]
    want = ops.qlinear_matmul(a, s32[0], np.uint8(113), b, s32[1], np.uint8(114), s32[2], np.uint8(118))
    assert_same(got, want, "float16 scales")


def test_qlinear_matmul_prepacked_any_leading_shape(rng: np.random.Generator) -> None:
    b = data(rng, (6, 5), S8)
    sb = scales(rng, 5)
    mm = ops.QLinearMatMul(b, sb, np.int8(0), 0.02, np.uint8(7), 0.03, np.int8(-1))
    for shape in [(6,), (1, 6), (4, 6), (2, 3, 6), (0, 6)]:
        a = data(rng, shape, U8)
        assert_same(mm(a), ops.qlinear_matmul(a, 0.02, np.uint8(7), b, sb, np.int8(0), 0.03, np.int8(-1)),
                    f"QLinearMatMul a{shape}")
    assert mm.b_shape == (6, 5) and mm.input_dtype == U8 and mm.output_dtype == S8
    assert mm.multiplier.dtype == np.float32 and mm.multiplier.shape == (5,)
    text = repr(mm)
    assert text.startswith("QLinearMatMul(K=6, N=5, a=uint8") and "isa=" in text, text


# ------------------------------------------------------------------------------------------
# ConvInteger / QLinearConv
# ------------------------------------------------------------------------------------------
def conv_case(n=1, c=3, h=7, w=6, m=4, k=(3, 3), strides=(1, 1), pads=(0, 0, 0, 0), dilations=(1, 1), group=1,
              auto_pad="NOTSET"):
    return {"x": (n, c, h, w), "w": (m, c // group, *k), "strides": strides, "pads": pads, "dilations": dilations,
            "group": group, "auto_pad": auto_pad}


CONV_CASES = {
    "3x3": conv_case(),
    "3x3-pad1": conv_case(pads=(1, 1, 1, 1)),
    "3x3-asym-pads": conv_case(pads=(0, 2, 1, 0)),
    "3x3-stride2": conv_case(h=9, w=8, strides=(2, 2), pads=(1, 1, 1, 1)),
    "stride3x1": conv_case(h=10, w=5, strides=(3, 1)),
    "dilation2": conv_case(h=9, w=9, dilations=(2, 2), pads=(2, 1, 2, 1)),
    "dilation-2x3": conv_case(h=11, w=12, k=(2, 2), dilations=(2, 3)),
    "1x1": conv_case(c=8, m=16, k=(1, 1), h=5, w=5),
    "1x1-direct-wide": conv_case(c=17, m=33, k=(1, 1), h=3, w=11),
    "1x1-stride2": conv_case(c=5, m=3, k=(1, 1), h=6, w=6, strides=(2, 2)),
    "1x1-pad": conv_case(c=4, m=5, k=(1, 1), h=4, w=4, pads=(1, 0, 0, 1)),
    "5x1": conv_case(k=(5, 1), h=8, w=3, pads=(2, 0, 2, 0)),
    "1x5": conv_case(k=(1, 5), h=3, w=8),
    "kernel=input": conv_case(h=3, w=3, k=(3, 3)),
    "1-pixel": conv_case(h=1, w=1, k=(1, 1)),
    "1-pixel-pad": conv_case(h=1, w=1, k=(3, 3), pads=(1, 1, 1, 1)),
    "batch3": conv_case(n=3, c=2, m=3, h=5, w=4, pads=(1, 1, 1, 1)),
    "batch0": conv_case(n=0),
    "many-pixels": conv_case(c=2, m=5, h=13, w=11, pads=(1, 1, 1, 1)),  # > 64 pixels: several blocks
    "deep-c": conv_case(c=70, m=9, h=4, w=4, pads=(1, 1, 1, 1)),
    "grouped": conv_case(c=6, m=4, group=2, pads=(1, 1, 1, 1)),
    "grouped-3": conv_case(c=9, m=6, group=3, h=5, w=5, strides=(2, 1)),
    "grouped-wide": conv_case(c=8, m=36, group=2, h=4, w=5),
    "depthwise": conv_case(c=8, m=8, group=8, pads=(1, 1, 1, 1)),
    "depthwise-mult2": conv_case(c=5, m=10, group=5, pads=(1, 1, 1, 1), strides=(2, 2)),
    "depthwise-33": conv_case(c=33, m=33, group=33, h=5, w=6, pads=(1, 2, 0, 1), dilations=(1, 2)),
    "depthwise-5x5": conv_case(c=3, m=3, group=3, k=(5, 5), h=7, w=7, pads=(2, 2, 2, 2)),
    "single-channel": conv_case(c=1, m=1, h=7, w=7, k=(1, 1)),
    "single-in": conv_case(c=1, m=6, h=6, w=6),
    "single-out": conv_case(c=6, m=1, h=6, w=6),
    "same-upper": conv_case(h=7, w=6, strides=(2, 2), auto_pad="SAME_UPPER"),
    "same-lower": conv_case(h=7, w=6, strides=(2, 2), auto_pad="SAME_LOWER"),
    "same-upper-dil": conv_case(h=8, w=7, k=(2, 3), dilations=(2, 1), auto_pad="SAME_UPPER"),
    "same-lower-even": conv_case(h=8, w=8, k=(2, 2), auto_pad="SAME_LOWER"),
    "same-stride3": conv_case(h=5, w=5, k=(1, 1), strides=(3, 3), auto_pad="SAME_UPPER"),
    "valid": conv_case(h=7, w=6, strides=(2, 1), auto_pad="VALID"),
}


def conv_inputs(rng, case, xt, wt, fill="random"):
    x = data(rng, case["x"], xt, fill)
    w = data(rng, case["w"], wt, fill)
    return x, w


def conv_attrs(case, layout):
    return {k: case[k] for k in ("strides", "pads", "dilations", "group", "auto_pad")} | {"layout": layout}


def api_attrs(case, layout):
    attrs = conv_attrs(case, layout)
    if attrs["auto_pad"] != "NOTSET":
        attrs["pads"] = None
    return attrs


@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
@pytest.mark.parametrize(("xt", "wt"), DTYPE_PAIRS, ids=lambda p: str(p))
def test_conv_integer_battery(rng: np.random.Generator, layout, xt, wt) -> None:
    for i, (name, case) in enumerate(CONV_CASES.items()):
        fill = FILLS[i % len(FILLS)]
        x, w = conv_inputs(rng, case, xt, wt, fill)
        if layout == "NHWC":
            x = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
        m = case["w"][0]
        zx = zero_point(rng, xt, extreme=fill == "extremes")
        zw = zero_point(rng, wt, m) if i % 2 else zero_point(rng, wt)
        got = ops.conv_integer(x, w, zx, zw, **api_attrs(case, layout))
        want = ref.conv_integer(x, w, zx, zw, **conv_attrs(case, layout))
        assert_same(got, want, f"conv_integer {name} {layout} {xt}x{wt} fill={fill}")


def qlinear_conv_case(rng: np.random.Generator, case, layout, xt, wt, yt, per_channel, fill, with_bias):
    """Random ``(x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point, B)``."""
    x, w = conv_inputs(rng, case, xt, wt, fill)
    if layout == "NHWC":
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    m = case["w"][0]
    sx, sy = scales(rng), scales(rng)
    sw = scales(rng, m) if per_channel else scales(rng)
    zx = zero_point(rng, xt)
    zw = zero_point(rng, wt, m) if per_channel else zero_point(rng, wt)
    zy = zero_point(rng, yt)
    bias = rng.integers(-(2**20), 2**20, size=m).astype(np.int32) if with_bias else None
    return x, sx, zx, w, sw, zw, sy, zy, bias


@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
@pytest.mark.parametrize(("xt", "wt"), DTYPE_PAIRS, ids=lambda p: str(p))
def test_qlinear_conv_battery(rng: np.random.Generator, layout, xt, wt) -> None:
    for i, (name, case) in enumerate(CONV_CASES.items()):
        fill = FILLS[i % len(FILLS)]
        yt = INT8_TYPES[i % 2]
        x, sx, zx, w, sw, zw, sy, zy, bias = qlinear_conv_case(rng, case, layout, xt, wt, yt, i % 2 == 1, fill,
                                                               i % 3 != 0)
        attrs = api_attrs(case, layout)
        got = ops.qlinear_conv(x, sx, zx, w, sw, zw, sy, zy, bias, **attrs)
        want = ref.qlinear_conv(x, sx, zx, w, sw, zw, sy, zy, bias, **conv_attrs(case, layout))
        what = f"qlinear_conv {name} {layout} {xt}x{wt}->{yt} fill={fill}"
        assert_same(got, want, what)
        kw = {k: v for k, v in attrs.items()}
        conv = ops.QLinearConv(w, sw, zw, sx, zx, sy, zy, bias, **kw)
        assert_same(conv(x), want, "QLinearConv " + what)


def test_qlinear_conv_bias_wraps_modulo_2_32() -> None:
    x = np.full((1, 1, 1, 1), 255, np.uint8)
    w = np.full((2, 1, 1, 1), -128, np.int8)
    bias = np.array([-(2**31), 2**31 - 1], np.int32)
    got = ops.qlinear_conv(x, 1.0, np.uint8(0), w, 1.0, np.int8(0), 2.0**25, np.int8(0), bias)
    want = ref.qlinear_conv(x, 1.0, np.uint8(0), w, 1.0, np.int8(0), 2.0**25, np.int8(0), bias)
    assert_same(got, want, "bias wrap")


def test_qlinear_conv_prepacked_follows_the_input_geometry(rng: np.random.Generator) -> None:
    """One packed object, inputs of several sizes and batches (with SAME padding, whose pads
    depend on the size), in turn and from several threads at once."""
    w = data(rng, (5, 3, 3, 3), S8)
    sw = scales(rng, 5)
    args = (sw, np.int8(0), np.float32(0.05), np.uint8(120), np.float32(0.2), np.uint8(128))
    conv = ops.QLinearConv(w, *args, strides=(2, 2), auto_pad="SAME_UPPER")
    inputs = [data(rng, (n, 3, h, wd), U8) for n, h, wd in [(1, 5, 5), (2, 8, 7), (1, 1, 1), (3, 16, 9), (1, 5, 5)]]
    want = [ref.qlinear_conv(x, args[2], args[3], w, sw, args[1], args[4], args[5], strides=(2, 2),
                             auto_pad="SAME_UPPER") for x in inputs]
    for x, y in zip(inputs, want):
        assert_same(conv(x), y, f"QLinearConv x{x.shape}")
    errors = []

    def work(offset: int) -> None:
        try:
            for r in range(30):
                j = (r + offset) % len(inputs)
                got = conv(inputs[j])
                if not np.array_equal(got, want[j]):
                    errors.append(f"thread {offset} round {r}: x{inputs[j].shape} differs")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(repr(exc))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:5]
    text = repr(conv)
    assert text.startswith("QLinearConv(w=int8[5, 3, 3, 3] scale=[5 values] zero_point=0, x=uint8"), text
    assert "auto_pad='SAME_UPPER'" in text and conv.weight_shape == (5, 3, 3, 3)
    assert conv.input_dtype == U8 and conv.output_dtype == U8


# ------------------------------------------------------------------------------------------
# y_clamp: the fused Relu/Clip of the output stage is the NumPy post-pass, bit for bit
# ------------------------------------------------------------------------------------------
def clamps(rng: np.random.Generator, yt, zy) -> list:
    """(lo, hi) pairs for output dtype ``yt``: Relu, Relu6-like, a random window, a single code,
    the whole range, and the two ends alone."""
    qmin, qmax = ref.QRANGE[np.dtype(yt)]
    z = int(zy)
    lo, hi = sorted(int(v) for v in rng.integers(qmin, qmax, size=2, endpoint=True))
    one = int(rng.integers(qmin, qmax, endpoint=True))
    return [(z, qmax), (z, min(qmax, z + 24)), (lo, hi), (one, one), (qmin, qmax), (qmin, qmin), (qmax, qmax)]


def post_pass(y: np.ndarray, clamp) -> np.ndarray:
    """What fixedq.nn did before y_clamp: np.maximum / np.minimum on the output codes."""
    y = y.copy()
    np.maximum(y, y.dtype.type(clamp[0]), out=y)
    np.minimum(y, y.dtype.type(clamp[1]), out=y)
    return y


@pytest.mark.parametrize("yt", INT8_TYPES, ids=str)
@pytest.mark.parametrize("per_column", [False, True], ids=["per-tensor", "per-column"])
def test_qlinear_matmul_y_clamp_is_the_numpy_post_pass(rng: np.random.Generator, yt, per_column) -> None:
    for i, (m, n, k) in enumerate(SHAPES[::4]):
        at, bt = DTYPE_PAIRS[i % len(DTYPE_PAIRS)]
        fill = FILLS[i % len(FILLS)]
        a, sa, za, b, sb, zb, sy, zy = qlinear_matmul_case(rng, m, n, k, at, bt, yt, per_column, fill)
        plain = ops.qlinear_matmul(a, sa, za, b, sb, zb, sy, zy)
        for clamp in clamps(rng, yt, zy):
            want = post_pass(plain, clamp)
            what = f"M={m} N={n} K={k} {at}x{bt}->{yt} fill={fill} y_clamp={clamp}"
            assert_same(ops.qlinear_matmul(a, sa, za, b, sb, zb, sy, zy, y_clamp=clamp), want, "qlinear_matmul " + what)
            mm = ops.QLinearMatMul(b, sb, zb, sa, za, sy, zy, y_clamp=clamp)
            assert_same(mm(a), want, "QLinearMatMul " + what)
            assert mm.y_clamp == clamp
    # A batch of b (the batched GEMM path) and a 1-D a.
    a, b = data(rng, (2, 5, 9), U8), data(rng, (2, 9, 7), S8)
    args = (np.float32(0.02), np.uint8(100), b, np.float32(0.01), np.int8(-3), np.float32(0.05), yt.type(0))
    for clamp in clamps(rng, yt, 0):
        assert_same(ops.qlinear_matmul(a, *args, y_clamp=clamp), post_pass(ops.qlinear_matmul(a, *args), clamp),
                    f"batched qlinear_matmul y_clamp={clamp}")
        assert_same(ops.qlinear_matmul(a[0, 0], *args, y_clamp=clamp),
                    post_pass(ops.qlinear_matmul(a[0, 0], *args), clamp), f"1-D a y_clamp={clamp}")


@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
@pytest.mark.parametrize("yt", INT8_TYPES, ids=str)
@pytest.mark.parametrize("per_channel", [False, True], ids=["per-tensor", "per-channel"])
def test_qlinear_conv_y_clamp_is_the_numpy_post_pass(rng: np.random.Generator, layout, yt, per_channel) -> None:
    """Every case of the conv battery (direct 1x1, im2col, grouped, depthwise, ...)."""
    for i, (name, case) in enumerate(CONV_CASES.items()):
        xt, wt = DTYPE_PAIRS[i % len(DTYPE_PAIRS)]
        fill = FILLS[i % len(FILLS)]
        x, sx, zx, w, sw, zw, sy, zy, bias = qlinear_conv_case(rng, case, layout, xt, wt, yt, per_channel, fill,
                                                               i % 3 != 0)
        attrs = api_attrs(case, layout)
        plain = ops.qlinear_conv(x, sx, zx, w, sw, zw, sy, zy, bias, **attrs)
        for clamp in clamps(rng, yt, zy)[:5]:
            want = post_pass(plain, clamp)
            what = f"{name} {layout} {xt}x{wt}->{yt} fill={fill} y_clamp={clamp}"
            assert_same(ops.qlinear_conv(x, sx, zx, w, sw, zw, sy, zy, bias, **attrs, y_clamp=clamp), want,
                        "qlinear_conv " + what)
            conv = ops.QLinearConv(w, sw, zw, sx, zx, sy, zy, bias, **attrs, y_clamp=clamp)
            assert_same(conv(x), want, "QLinearConv " + what)


def test_y_clamp_in_repr_and_properties(rng: np.random.Generator) -> None:
    b = data(rng, (6, 5), S8)
    mm = ops.QLinearMatMul(b, 0.1, np.int8(0), 0.02, np.uint8(7), 0.03, np.int8(-1), y_clamp=(-1, 127))
    assert "zero_point=-1 clamp=[-1, 127], isa=" in repr(mm), repr(mm)
    assert mm.y_clamp == (-1, 127)
    plain = ops.QLinearMatMul(b, 0.1, np.int8(0), 0.02, np.uint8(7), 0.03, np.int8(-1))
    assert "clamp" not in repr(plain) and plain.y_clamp is None
    w = data(rng, (5, 3, 3, 3), S8)
    conv = ops.QLinearConv(w, 0.1, np.int8(0), 0.05, np.uint8(120), 0.2, np.uint8(128), y_clamp=(np.uint8(128), 152))
    assert "zero_point=128 clamp=[128, 152], strides=" in repr(conv), repr(conv)
    assert conv.y_clamp == (128, 152) and all(type(v) is int for v in conv.y_clamp)
    assert "clamp" not in repr(ops.QLinearConv(w, 0.1, np.int8(0), 0.05, np.uint8(120), 0.2, np.uint8(128)))


# ------------------------------------------------------------------------------------------
# The float arithmetic is ONNX Runtime's: cases where float32 and exact arithmetic round apart
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("m_bits", [-7, -12, -17, -22, -26])
def test_requantization_rounds_in_float32_like_onnxruntime(rng: np.random.Generator, m_bits) -> None:
    """QLinearConv with x == x_zero_point (the convolution is 0) and bias = the accumulator:
    each output channel requantizes one chosen int32 with its own multiplier w_scale (x_scale =
    y_scale = 1). Small multipliers reach accumulators beyond 2^24, where float32(acc) rounds."""
    m, acc = ref.requant_hits(rng, m_bits, 40)
    channels = acc.size
    x = np.full((1, 1, 2, 3), 77, np.uint8)
    w = data(rng, (channels, 1, 1, 1), S8)
    for yt, zy in ((S8, np.int8(0)), (U8, np.uint8(128))):
        got = ops.qlinear_conv(x, 1.0, np.uint8(77), w, m, np.int8(0), 1.0, zy, acc.astype(np.int32))
        want = ref.requantize(np.broadcast_to(acc.reshape(1, -1, 1, 1), got.shape), m, zy, yt, channel_axis=1)
        assert_same(got, want, f"requantize 2^{m_bits}")
        exact = np.rint(acc.astype(np.float64) * m.astype(np.float64)).astype(np.int64) + int(zy)
        assert (got[0, :, 0, 0].astype(np.int64) != exact).all(), "every case must differ from exact arithmetic"


@pytest.mark.parametrize("m_bits", [-12, -19])
def test_qlinear_matmul_requantizes_in_float32(rng: np.random.Generator, m_bits) -> None:
    """The same through the GEMM: one row a = [255, ..., 255, 1, 1] and per column of b the
    entries that sum to the chosen accumulator, with its own multiplier b_scale."""
    m, targets = ref.requant_hits(rng, m_bits, 24)
    terms = int(np.abs(targets).max()) // 255 // 127 + 1
    a = np.concatenate([np.full(terms, 255), [1, 1]]).astype(np.uint8)[np.newaxis, :]
    b = np.zeros((terms + 2, targets.size), np.int64)
    for j, t in enumerate(targets):
        q, r = divmod(abs(int(t)), 255)
        full, rest = divmod(q, 127)
        col = np.zeros(terms + 2, np.int64)
        col[:full] = 127
        col[full] = rest
        col[-2], col[-1] = r // 2, r - r // 2
        b[:, j] = col if t >= 0 else -col
    b = b.astype(np.int8)
    acc = np.matmul(a.astype(np.int64), b.astype(np.int64))
    assert np.array_equal(acc[0], targets)
    for yt, zy in ((S8, np.int8(0)), (U8, np.uint8(128))):
        got = ops.qlinear_matmul(a, 1.0, np.uint8(0), b, m, np.int8(0), 1.0, zy)
        assert_same(got, ref.requantize(acc, m, zy, yt), f"qlinear_matmul requantization 2^{m_bits}")


def test_quantize_divides_in_float32(rng: np.random.Generator) -> None:
    """x / scale in float32 (not x * (1 / scale), not in double): values next to (k + 1/2) * scale
    where the float32 quotient and the exact one round apart; one scale per row (axis 0)."""
    x, scale = ref.quantize_hits(rng, 40)
    x = x.reshape(-1, 1)
    got = ops.quantize_linear(x, scale, np.zeros(scale.size, np.int8), axis=0)
    assert_same(got, ref.quantize(x, scale, np.zeros(scale.size, np.int8), S8, axis=0), "quantize near ties")
    exact = np.clip(np.rint(x[:, 0].astype(np.float64) / scale.astype(np.float64)), -128, 127)
    assert (got[:, 0] != exact).all(), "every case must differ from exact arithmetic"


# ------------------------------------------------------------------------------------------
# Dot
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("at", "bt"), [(S8, S8), (U8, S8), (S8, U8)], ids=lambda p: str(p))
@pytest.mark.parametrize("n", [0, 1, 3, 15, 16, 17, 63, 64, 65, 1000, 32768, 32769, 65536, 65537, 140001])
def test_dot(rng: np.random.Generator, at, bt, n) -> None:
    for fill in ("random", "extremes", "runs"):
        a, b = data(rng, (n,), at, fill), data(rng, (n,), bt, fill)
        got = ops.dot(a, b)
        assert type(got) is np.int32
        assert got == ref.dot(a, b), (n, fill)
    # All products at the extreme: the sum leaves int32 for long vectors.
    a = np.full(n, 255 if at == U8 else -128, at)
    b = np.full(n, 255 if bt == U8 else -128, bt)
    assert ops.dot(a, b) == ref.dot(a, b)


# ------------------------------------------------------------------------------------------
# Memory: no conversion, copies only where needed, inputs untouched
# ------------------------------------------------------------------------------------------
def test_non_contiguous_inputs_give_the_same_results(rng: np.random.Generator) -> None:
    a = data(rng, (6, 10), U8)
    b = data(rng, (10, 8), S8)
    want = ops.matmul_integer(a, b, np.uint8(3), np.int8(-2))
    wide_a = np.zeros((6, 20), U8)
    wide_a[:, ::2] = a
    for a_view in (wide_a[:, ::2], np.asfortranarray(a), a[::-1][::-1]):
        assert_same(ops.matmul_integer(a_view, b, np.uint8(3), np.int8(-2)), want, "strided a")
    assert_same(ops.matmul_integer(a, np.asfortranarray(b), np.uint8(3), np.int8(-2)), want, "Fortran b")
    mm = ops.QLinearMatMul(np.asfortranarray(b), 0.1, np.int8(0), 0.1, np.uint8(0), 0.5, np.uint8(0))
    assert_same(mm(wide_a[:, ::2]), mm(a), "prepacked strided a")
    x = data(rng, (2, 3, 6, 7), U8)
    w = data(rng, (4, 3, 3, 3), S8)
    want = ops.conv_integer(x, w, np.uint8(9))
    assert_same(ops.conv_integer(x[:, :, ::-1][:, :, ::-1], w, np.uint8(9)), want, "reversed x")
    assert_same(ops.conv_integer(x, np.asfortranarray(w), np.uint8(9)), want, "Fortran w")
    f = rng.uniform(-2, 2, (5, 6)).astype(np.float32)
    assert_same(ops.quantize_linear(f.T, 0.01, np.int8(0)), ops.quantize_linear(np.ascontiguousarray(f.T), 0.01,
                                                                                np.int8(0)), "quantize f.T")
    assert_same(ops.dot(wide_a[0, ::2], b[:, 0].copy()), ops.dot(a[0], b[:, 0].copy()), "dot strided")


def test_inputs_are_read_only_and_untouched(rng: np.random.Generator) -> None:
    a = data(rng, (3, 4), U8)
    b = data(rng, (4, 5), S8)
    x = rng.uniform(-1, 1, (3, 4)).astype(np.float32)
    keep = (a.copy(), b.copy(), x.copy())
    for arr in (a, b, x):
        arr.flags.writeable = False
    ops.matmul_integer(a, b)
    ops.qlinear_matmul(a, 0.1, np.uint8(1), b, 0.1, np.int8(2), 0.3, np.int8(0))
    y = ops.quantize_linear(x, 0.01, np.uint8(128))
    assert y.flags.writeable and y.flags.c_contiguous and not np.shares_memory(y, x)
    for arr, kept in zip((a, b, x), keep):
        assert np.array_equal(arr, kept)


def test_prepacked_objects_copy_their_weights(rng: np.random.Generator) -> None:
    b = data(rng, (4, 3), S8)
    a = data(rng, (2, 4), U8)
    mm = ops.QLinearMatMul(b, 0.1, np.int8(0), 0.1, np.uint8(0), 0.5, np.uint8(0))
    before = mm(a)
    b[:] = 0
    assert_same(mm(a), before, "weights changed after packing")


# ------------------------------------------------------------------------------------------
# Errors name the argument and what was expected
# ------------------------------------------------------------------------------------------
F32 = np.zeros((2, 3), np.float32)
A8 = np.zeros((2, 3), np.uint8)
B8 = np.zeros((3, 4), np.int8)
X4 = np.zeros((1, 3, 5, 5), np.uint8)
W4 = np.zeros((2, 3, 3, 3), np.int8)

ERRORS = [
    # (call, exception, pattern the message must match)
    (lambda: ops.quantize_linear(F32.astype(np.float64), 0.1), TypeError, r"quantize_linear: x .*float32.*float64"),
    (lambda: ops.quantize_linear([1.0, 2.0], 0.1), TypeError, r"x must be a numpy.ndarray"),
    (lambda: ops.quantize_linear(F32, np.float64(0.1)), TypeError, r"y_scale must have dtype float32.*float64"),
    (lambda: ops.quantize_linear(F32, 0.0), ValueError, r"y_scale must be positive and finite, got 0"),
    (lambda: ops.quantize_linear(F32, -1.0), ValueError, r"y_scale must be positive"),
    (lambda: ops.quantize_linear(F32, float("nan")), ValueError, r"y_scale must be positive and finite, got nan"),
    (lambda: ops.quantize_linear(F32, np.float32(np.inf)), ValueError, r"y_scale .* finite, got inf"),
    (lambda: ops.quantize_linear(F32, 1e300), ValueError, r"y_scale .* finite, got inf"),
    (lambda: ops.quantize_linear(F32, np.array([1, 0, 2], np.float32)), ValueError, r"y_scale .* at index 1"),
    (lambda: ops.quantize_linear(F32, 0.1, 3), TypeError, r"y_zero_point selects the output dtype"),
    (lambda: ops.quantize_linear(F32, 0.1, np.int16(3)), TypeError, r"y_zero_point must have dtype uint8 or int8"),
    (lambda: ops.quantize_linear(F32, np.ones(3, np.float32), np.zeros(2, np.uint8)), ValueError,
     r"y_zero_point has 2 values but y_scale has 3; give one value or one per scale"),
    (lambda: ops.dequantize_linear(A8, np.ones(3, np.float32), np.zeros(2, np.uint8)), ValueError,
     r"x_zero_point has 2 values but x_scale has 3"),
    (lambda: ops.quantize_linear(F32, np.ones(4, np.float32)), ValueError, r"y_scale has 4 values but x.shape\[1\] = 3"),
    (lambda: ops.quantize_linear(F32, np.ones(3, np.float32), axis=5), ValueError, r"axis 5 is out of range"),
    (lambda: ops.quantize_linear(F32, np.ones((1, 3), np.float32)), ValueError, r"y_scale must be a scalar or 1-D"),
    (lambda: ops.quantize_linear(np.array([1, np.nan], np.float32), 0.1), ValueError,
     r"x contains NaN \(first at flat index 1\)"),
    (lambda: ops.quantize_linear(F32, 0.1, axis=1.5), TypeError, r"axis must be an int"),
    (lambda: ops.quantize_linear(F32.astype(">f4"), 0.1), TypeError, r"x must have dtype float32 \(native byte order"),
    (lambda: ops.dequantize_linear(F32, 0.1), TypeError, r"dequantize_linear: x must have dtype uint8 or int8"),
    (lambda: ops.dequantize_linear(A8, 0.1, np.int8(0)), TypeError,
     r"x_zero_point has dtype int8 but x has dtype uint8"),
    (lambda: ops.dequantize_linear(A8, 0.1, 256), ValueError, r"x_zero_point = 256 is outside the range of uint8"),
    (lambda: ops.dequantize_linear(A8.view(np.int8), 0.1, -129), ValueError, r"x_zero_point = -129 .* int8"),
    (lambda: ops.dequantize_linear(A8, 0.1, True), TypeError, r"x_zero_point must be a uint8/int8 scalar"),
    (lambda: ops.dynamic_quantize_linear(np.array([1, np.inf], np.float32)), ValueError,
     r"x must be finite, got inf at flat index 1"),
    (lambda: ops.dynamic_quantize_linear(np.array([np.nan], np.float32)), ValueError, r"x must be finite, got nan"),
    (lambda: ops.dynamic_quantize_linear(np.array([-3e38, 3e38], np.float32)), ValueError, r"overflows float32"),
    (lambda: ops.dynamic_quantize_linear(A8), TypeError, r"dynamic_quantize_linear: x must have dtype float32"),
    (lambda: ops.matmul_integer(A8, B8.astype(np.int16)), TypeError, r"matmul_integer: b must have dtype uint8 or int8"),
    (lambda: ops.matmul_integer(A8, np.zeros((4, 4), np.int8)), ValueError, r"a.shape\[-1\] \(3\) must equal b.shape"),
    (lambda: ops.matmul_integer(np.zeros((2, 2, 3), np.uint8), np.zeros((3, 3, 4), np.int8)), ValueError,
     r"batch dimensions .* do not broadcast"),
    (lambda: ops.matmul_integer(A8, B8, np.zeros(3, np.uint8)), ValueError,
     r"a_zero_point must have shape \(\), \(1,\), \(2,\), \(2, 1\) \(per tensor or per row of a\), got \(3,\)"),
    (lambda: ops.matmul_integer(A8, B8, None, np.zeros(3, np.int8)), ValueError, r"b_zero_point must have shape"),
    (lambda: ops.matmul_integer(A8, B8, None, np.uint8(0)), TypeError, r"b_zero_point has dtype uint8 but b has"),
    (lambda: ops.matmul_integer(np.uint8(3), B8), TypeError, r"a must be a numpy.ndarray"),
    (lambda: ops.matmul_integer(np.zeros((), np.uint8), B8), ValueError, r"at least one dimension"),
    (lambda: ops.qlinear_matmul(A8, np.ones(2, np.float32), np.uint8(0), B8, 0.1, np.int8(0), 0.1, np.uint8(0)),
     ValueError, r"a_scale must be a scalar \(per-tensor\).*per-row a_scale is not supported"),
    (lambda: ops.qlinear_matmul(A8, 0.1, np.uint8(0), B8, np.ones(3, np.float32), np.int8(0), 0.1, np.uint8(0)),
     ValueError, r"b_scale must have 1 value \(per tensor\) or N = 4"),
    (lambda: ops.qlinear_matmul(A8, 0.1, np.uint8(0), B8, 0.1, np.int8(0), -0.1, np.uint8(0)), ValueError,
     r"y_scale must be positive"),
    (lambda: ops.qlinear_matmul(A8, 0.1, np.uint8(0), B8, 0.1, np.int8(0), 0.1, np.zeros(2, np.uint8)), ValueError,
     r"y_zero_point must be a scalar"),
    (lambda: ops.qlinear_matmul(A8, 1e30, np.uint8(0), B8, 1e30, np.int8(0), 1e-30, np.uint8(0)), ValueError,
     r"multiplier a_scale \* b_scale / y_scale overflows float32"),
    (lambda: ops.qlinear_matmul(A8, 0.1, np.int8(0), B8, 0.1, np.int8(0), 0.1, np.uint8(0)), TypeError,
     r"a_zero_point has dtype int8 but a has dtype uint8"),
    (lambda: ops.qlinear_matmul(A8, 0.1, 0, B8, 0.1, 0, 0.1, 0), TypeError, r"y_zero_point selects the output dtype"),
    (lambda: ops.QLinearMatMul(B8[0], 0.1, np.int8(0), 0.1, np.uint8(0), 0.1, np.uint8(0)), ValueError,
     r"QLinearMatMul: b must be 2-D"),
    (lambda: ops.QLinearMatMul(B8, 0.1, np.int8(0), 0.1, 0, 0.1, np.uint8(0)), TypeError,
     r"QLinearMatMul: a_zero_point must be a numpy uint8 or int8 scalar"),
    (lambda: ops.QLinearMatMul(B8, 0.1, np.int8(0), 0.1, np.uint8(0), 0.1, np.uint8(0))(A8.view(np.int8)), TypeError,
     r"QLinearMatMul: a must have dtype uint8"),
    (lambda: ops.QLinearMatMul(B8, 0.1, np.int8(0), 0.1, np.uint8(0), 0.1, np.uint8(0))(np.zeros((2, 4), np.uint8)),
     ValueError, r"a.shape\[-1\] must equal K = 3"),
    (lambda: ops.QLinearMatMul(B8, 0.1, np.int8(0), 0.1, np.uint8(0), 0.1, np.uint8(0))(np.uint8(1)), TypeError,
     r"a must be a numpy.ndarray"),
    (lambda: ops.QLinearMatMul(B8, 0.1, np.int8(0), 0.1, np.uint8(0), 0.1, np.uint8(0))(np.zeros((), np.uint8)),
     ValueError, r"a must have at least 1 dimension"),
    (lambda: ops.conv_integer(X4, W4.reshape(2, 27)), ValueError, r"w must be 4-D .* only 2-D convolutions"),
    (lambda: ops.conv_integer(X4[0], W4), ValueError, r"x must be 4-D \(N, C, H, W\)"),
    (lambda: ops.conv_integer(X4, W4[:, :2]), ValueError, r"x has 3 channels .* w expects C = w.shape\[1\] \* group = 2"),
    (lambda: ops.conv_integer(X4, W4, group=2), ValueError, r"x has 3 channels .* = 6"),
    (lambda: ops.conv_integer(X4, np.zeros((3, 1, 3, 3), np.int8), group=2), ValueError,
     r"output channels \(w.shape\[0\] = 3\) must be a multiple of group = 2"),
    (lambda: ops.conv_integer(X4, W4, group=0), ValueError, r"group must be an int >= 1"),
    (lambda: ops.conv_integer(X4, W4, group=2**40), ValueError, r"group must be an int >= 1, got 1099511627776"),
    (lambda: ops.conv_integer(X4, W4, strides=[2**40, 1]), ValueError, r"strides must be in \[1, 2\^20\]"),
    (lambda: ops.conv_integer(X4, W4, pads=[1, 1]), ValueError, r"pads must have 4 values"),
    (lambda: ops.conv_integer(X4, W4, pads=[1, -1, 1, 1]), ValueError, r"pads must be in \[0, 2\^20\], got \[1, -1, 1, 1\]"),
    (lambda: ops.conv_integer(X4, W4, strides=[0, 1]), ValueError, r"strides must be in \[1, 2\^20\]"),
    (lambda: ops.conv_integer(X4, W4, dilations=[1, 1, 1]), ValueError, r"dilations must have 2 values"),
    (lambda: ops.conv_integer(X4, W4, kernel_shape=[2, 2]), ValueError, r"kernel_shape \[2, 2\] does not match"),
    (lambda: ops.conv_integer(X4, W4, auto_pad="SAME"), ValueError, r"auto_pad must be one of"),
    (lambda: ops.conv_integer(X4, W4, auto_pad="VALID", pads=[1, 1, 1, 1]), ValueError, r"cannot be combined"),
    (lambda: ops.conv_integer(X4, W4, layout="CHWN"), ValueError, r"layout must be 'NCHW' or 'NHWC'"),
    (lambda: ops.conv_integer(X4, W4, dilations=[3, 3]), ValueError,
     r"the dilated kernel height \(7\) exceeds the padded input height \(5\)"),
    (lambda: ops.conv_integer(X4, W4, np.zeros(2, np.uint8)), ValueError, r"x_zero_point must be a scalar"),
    (lambda: ops.conv_integer(X4, W4, None, np.zeros(3, np.int8)), ValueError,
     r"w_zero_point must have 1 value \(per tensor\) or M = 2"),
    (lambda: ops.conv_integer(X4, W4.view(np.uint8), None, np.int8(0)), TypeError,
     r"w_zero_point has dtype int8 but w has dtype uint8"),
    (lambda: ops.conv_integer(X4, np.zeros((2, 0, 3, 3), np.int8)), ValueError, r"is empty"),
    (lambda: ops.qlinear_conv(X4, 0.1, np.uint8(0), W4, 0.1, np.int8(0), 0.1, np.uint8(0), np.zeros(2, np.int64)),
     TypeError, r"B must have dtype int32"),
    (lambda: ops.qlinear_conv(X4, 0.1, np.uint8(0), W4, 0.1, np.int8(0), 0.1, np.uint8(0), np.zeros(3, np.int32)),
     ValueError, r"B \(the bias\) must be 1-D with M = 2 values"),
    (lambda: ops.qlinear_conv(X4, 0.1, np.uint8(0), W4, np.ones(3, np.float32), np.int8(0), 0.1, np.uint8(0)),
     ValueError, r"w_scale must have 1 value \(per tensor\) or M = 2"),
    (lambda: ops.qlinear_conv(X4, np.float32(np.nan), np.uint8(0), W4, 0.1, np.int8(0), 0.1, np.uint8(0)),
     ValueError, r"x_scale must be positive and finite, got nan"),
    (lambda: ops.QLinearConv(W4, 0.1, np.int8(0), 0.1, None, 0.1, np.uint8(0)), TypeError,
     r"QLinearConv: x_zero_point must be a numpy uint8 or int8 scalar"),
    (lambda: ops.QLinearConv(W4, 0.1, np.int8(0), 0.1, np.int8(0), 0.1, np.uint8(0))(X4), TypeError,
     r"QLinearConv: x must have dtype int8"),
    (lambda: ops.QLinearConv(W4, 0.1, np.int8(0), 0.1, np.uint8(0), 0.1, np.uint8(0), layout="NHWC")(X4), ValueError,
     r"x has 5 channels \(shape \(1, 3, 5, 5\), layout NHWC\)"),
    (lambda: ops.qlinear_matmul(A8, 0.1, np.uint8(0), B8, 0.1, np.int8(0), 0.1, np.uint8(0), y_clamp=(0, 256)),
     ValueError, r"qlinear_matmul: y_clamp = \(0, 256\) must satisfy 0 <= lo <= hi <= 255 \(the range of the output "
     r"dtype uint8\)"),
    (lambda: ops.qlinear_matmul(A8, 0.1, np.uint8(0), B8, 0.1, np.int8(0), 0.1, np.int8(0), y_clamp=(-129, 0)),
     ValueError, r"y_clamp = \(-129, 0\) must satisfy -128 <= lo <= hi <= 127 \(the range of the output dtype int8"),
    (lambda: ops.QLinearMatMul(B8, 0.1, np.int8(0), 0.1, np.uint8(0), 0.1, np.uint8(0), y_clamp=(200, 100)),
     ValueError, r"QLinearMatMul: y_clamp = \(200, 100\) must satisfy 0 <= lo <= hi <= 255"),
    (lambda: ops.QLinearMatMul(B8, 0.1, np.int8(0), 0.1, np.uint8(0), 0.1, np.uint8(0), y_clamp=(0.0, 6.0)),
     TypeError, r"QLinearMatMul: y_clamp must be None or a pair of ints \(lo, hi\), got \(0.0, 6.0\)"),
    (lambda: ops.QLinearMatMul(B8, 0.1, np.int8(0), 0.1, np.uint8(0), 0.1, np.uint8(0), y_clamp=128), TypeError,
     r"y_clamp must be None or a pair of ints \(lo, hi\), got 128"),
    (lambda: ops.QLinearMatMul(B8, 0.1, np.int8(0), 0.1, np.uint8(0), 0.1, np.uint8(0), y_clamp=(1, 2, 3)),
     TypeError, r"y_clamp must be None or a pair of ints"),
    (lambda: ops.QLinearMatMul(B8, 0.1, np.int8(0), 0.1, np.uint8(0), 0.1, np.uint8(0), y_clamp=(False, True)),
     TypeError, r"y_clamp must be None or a pair of ints"),
    (lambda: ops.QLinearMatMul(B8, 0.1, np.int8(0), 0.1, np.uint8(0), 0.1, np.uint8(0), y_clamp="ab"),
     TypeError, r"y_clamp must be None or a pair of ints"),
    (lambda: ops.qlinear_conv(X4, 0.1, np.uint8(0), W4, 0.1, np.int8(0), 0.1, np.int8(0), y_clamp=(5, 4)),
     ValueError, r"qlinear_conv: y_clamp = \(5, 4\) must satisfy -128 <= lo <= hi <= 127"),
    (lambda: ops.QLinearConv(W4, 0.1, np.int8(0), 0.1, np.uint8(0), 0.1, np.uint8(0), y_clamp=(-1, 255)),
     ValueError, r"QLinearConv: y_clamp = \(-1, 255\) must satisfy 0 <= lo <= hi <= 255"),
    (lambda: ops.QLinearConv(W4, 0.1, np.int8(0), 0.1, np.uint8(0), 0.1, np.uint8(0), y_clamp=[None, 3]),
     TypeError, r"QLinearConv: y_clamp must be None or a pair of ints"),
    # The C++ layer checks again (memory safety does not depend on it, but the codes would wrap).
    (lambda: fixedq._core.ops.PackedMatMul(B8, None, None, np.ones(1, np.float32), np.zeros((), np.uint8), "raw",
                                            (0, 300)), ValueError, r"raw: y_clamp = \(0, 300\) must satisfy"),
    (lambda: fixedq._core.ops.PackedMatMul(B8, None, None, None, None, "raw", (0, 3)), ValueError,
     r"raw: y_clamp given without a multiplier"),
    (lambda: ops.dot(np.zeros(3, np.uint8), np.zeros(3, np.uint8)), TypeError, r"uint8 x uint8 is not supported"),
    (lambda: ops.dot(np.zeros(3, np.int8), np.zeros(4, np.int8)), ValueError, r"same length, got 3 and 4"),
    (lambda: ops.dot(np.zeros((3, 1), np.int8), np.zeros(3, np.int8)), ValueError, r"a and b must be 1-D"),
    (lambda: ops.dot(np.zeros(3, np.int16), np.zeros(3, np.int8)), TypeError, r"dot: a must have dtype uint8 or int8"),
    (lambda: ops.set_num_threads(-1), ValueError, r"n must be >= 0"),
    (lambda: ops.set_num_threads(1.5), TypeError, r"n must be an int"),
]


@pytest.mark.parametrize(("call", "exc", "pattern"), ERRORS, ids=[p for _, _, p in ERRORS])
def test_errors_name_the_argument(call, exc, pattern) -> None:
    with pytest.raises(exc) as info:
        call()
    assert type(info.value) is exc
    assert re.search(pattern, str(info.value)), f"message {str(info.value)!r} does not match {pattern!r}"


# ------------------------------------------------------------------------------------------
# Threads
# ------------------------------------------------------------------------------------------
@pytest.fixture
def restore_threads():
    before = fixedq.get_num_threads()
    yield
    fixedq.set_num_threads(0)
    assert fixedq.get_num_threads() == before


def big_workload(rng: np.random.Generator):
    """Calls large enough to be split across threads and to release the GIL."""
    a = data(rng, (67, 300), U8)
    b = data(rng, (300, 70), S8)
    sb = scales(rng, 70)
    x = data(rng, (2, 16, 19, 17), U8)
    w = data(rng, (24, 16, 3, 3), S8)
    xd = data(rng, (1, 19, 17, 32), S8)
    wd = data(rng, (32, 1, 3, 3), S8)
    f = rng.uniform(-4, 4, 100000).astype(np.float32)
    return [
        lambda: ops.matmul_integer(a, b, np.uint8(7), np.int8(-5)),
        lambda: ops.qlinear_matmul(a, 0.02, np.uint8(9), b, sb, np.int8(0), 0.07, np.int8(1)),
        lambda: ops.qlinear_conv(x, 0.02, np.uint8(9), w, 0.01, np.int8(0), 0.3, np.uint8(128), pads=[1, 1, 1, 1]),
        lambda: ops.conv_integer(xd, wd, np.int8(2), group=32, pads=[1, 1, 1, 1], layout="NHWC"),
        lambda: ops.quantize_linear(f, 0.01, np.int8(0)),
        lambda: ops.dynamic_quantize_linear(f)[0],
    ]


def test_set_num_threads_changes_nothing_but_speed(rng: np.random.Generator, restore_threads) -> None:
    work = big_workload(rng)
    fixedq.set_num_threads(1)
    assert fixedq.get_num_threads() == 1 and ops.get_num_threads() == 1
    one = [f() for f in work]
    fixedq.set_num_threads(2)
    assert fixedq.get_num_threads() == 2
    two = [f() for f in work]
    for i, (x, y) in enumerate(zip(one, two)):
        assert_same(y, x, f"workload {i} with 2 threads")


def test_python_threads_run_concurrently_and_agree(rng: np.random.Generator) -> None:
    work = big_workload(rng)
    want = [f() for f in work]
    errors = []
    barrier = threading.Barrier(4)

    def run(offset: int) -> None:
        try:
            barrier.wait()
            for r in range(6):
                i = (r + offset) % len(work)
                if not np.array_equal(work[i](), want[i]):
                    errors.append(f"thread {offset}: workload {i} differs")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(repr(exc))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


# ------------------------------------------------------------------------------------------
# Instruction sets and the package namespace
# ------------------------------------------------------------------------------------------
def test_isa_queries() -> None:
    names, available = ops.isa_names(), ops.available_isas()
    assert available[0] == "scalar"
    assert set(available) <= set(names)
    assert ops.isa() in available
    assert [n for n in names if n in available] == available  # same order, lowest first


def test_package_exports() -> None:
    assert fixedq.ops is ops
    for name in ("set_num_threads", "get_num_threads", "ops"):
        assert name in fixedq.__all__
    assert fixedq.set_num_threads is ops.set_num_threads
    assert sorted(ops.__all__) == ops.__all__
    for name in ops.__all__:
        assert getattr(ops, name).__doc__, name


def test_docstring_examples_run() -> None:
    """The Examples sections of fixedq.ops print what they show."""
    import doctest

    result = doctest.testmod(ops, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 20 and result.failed == 0
