"""fixedq.ops against ONNX Runtime: single-node models built with onnx.helper, run by an
InferenceSession (CPU, one intra-op thread), on random shapes and data; the results must be equal.

Weights, scales and zero points are initializers (the deployment case: ONNX Runtime prepacks the
weights and may choose its symmetric-weight kernels), the activation is a graph input; QLinearMatMul
and QLinearConv also run with everything fed at run time. NHWC convolutions use ONNX Runtime's
``com.microsoft`` QLinearConv with ``channels_last=1``.

ONNX Runtime (1.32) implements QLinearMatMul and QLinearConv for uint8 x uint8 -> uint8,
uint8 x int8 -> uint8 and int8 x int8 -> int8 only, requires equal weight zero points across output
channels in QLinearConv, and a per-tensor zero point for MatMulInteger's a; the cases here stay
within that (fixedq.ops itself takes every combination, tested against the NumPy reference in
test_ops.py).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import ops_reference as ref
from fixedq import ops

onnx = pytest.importorskip("onnx", reason="the onnxruntime comparisons build models with the 'onnx' package")
ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (pip install onnxruntime; "
                                                "CI installs it): no comparison with ONNX Runtime")
from onnx import helper, numpy_helper  # noqa: E402

U8, S8 = np.dtype(np.uint8), np.dtype(np.int8)
QLINEAR_TYPES = [(U8, U8), (U8, S8), (S8, S8)]  # (activation, weight); output = activation's type
INTEGER_TYPES = [(U8, U8), (U8, S8), (S8, S8), (S8, U8)]


def tensor_type(dtype) -> int:
    return helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


def run_ort(op: str, inputs: list, constants: set, out_dtypes, attrs: dict | None = None, domain: str = "",
            optimize: bool = True) -> list:
    """Runs one node: ``inputs`` is [(name, array or None)] in the operator's order (None: an
    absent optional input); names in ``constants`` become initializers."""
    node = helper.make_node(op, [n if a is not None else "" for n, a in inputs],
                            [f"y{i}" for i in range(len(out_dtypes))], domain=domain, **(attrs or {}))
    graph_inputs, initializers, feeds = [], [], {}
    for name, arr in inputs:
        if arr is None:
            continue
        arr = np.asarray(arr)
        if name in constants:
            initializers.append(numpy_helper.from_array(arr, name))
        else:
            graph_inputs.append(helper.make_tensor_value_info(name, tensor_type(arr.dtype), list(arr.shape)))
            feeds[name] = arr
    outputs = [helper.make_tensor_value_info(f"y{i}", tensor_type(t), None) for i, t in enumerate(out_dtypes)]
    graph = helper.make_graph([node], op, graph_inputs, outputs, initializer=initializers)
    opsets = [helper.make_opsetid("", 21)] + ([helper.make_opsetid(domain, 1)] if domain else [])
    model = helper.make_model(graph, opset_imports=opsets)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    if not optimize:
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def data(rng, shape, dtype) -> np.ndarray:
    lo, hi = (0, 255) if np.dtype(dtype) == U8 else (-128, 127)
    v = rng.integers(lo, hi, size=shape, endpoint=True)
    runs = rng.integers(0, 4, size=shape) == 0  # a quarter at the extremes
    v = np.where(runs, np.where(rng.integers(0, 2, size=shape) == 1, lo, hi), v)
    return v.astype(dtype)


def zp(rng, dtype, size=None):
    lo, hi = (0, 255) if np.dtype(dtype) == U8 else (-128, 127)
    v = rng.integers(lo, hi, size=size, endpoint=True)
    return np.asarray(v).astype(dtype)


def scale(rng, size=None) -> np.ndarray:
    s = np.ldexp(rng.uniform(0.5, 1.0, size=size), rng.integers(-10, -2, size=size))
    return np.asarray(s).astype(np.float32)


def assert_equal(got: np.ndarray, want: np.ndarray, what: str) -> None:
    assert got.dtype == want.dtype and got.shape == want.shape, (what, got.dtype, want.dtype, got.shape, want.shape)
    if got.dtype.kind == "f":
        same = got.view(np.uint32) == want.view(np.uint32)
    else:
        same = got == want
    if not same.all():
        bad = np.flatnonzero(~same)
        i = bad[0]
        msg = (f"{what}: {bad.size} of {got.size} differ from onnxruntime; first at "
               f"{np.unravel_index(i, got.shape)}: fixedq {got.reshape(-1)[i]!r}, onnxruntime {want.reshape(-1)[i]!r}")
        raise AssertionError(msg)


# ------------------------------------------------------------------------------------------
# Quantize / dequantize
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [U8, S8], ids=str)
@pytest.mark.parametrize(("shape", "axis"), [((37,), None), ((3, 5, 7), None), ((2, 6, 5, 3), 1), ((4, 9), 0),
                                             ((3, 4, 11), -1)], ids=str)
def test_quantize_dequantize_linear(rng, dtype, shape, axis) -> None:
    channels = 1 if axis is None else shape[axis]
    s = scale(rng, None if axis is None else channels)
    z = zp(rng, dtype, None if axis is None else channels)
    k = rng.integers(-300, 300, size=shape)
    x = np.where(rng.integers(0, 2, size=shape) == 1, (k + 0.5) * float(np.min(s)),
                 rng.normal(0, 100 * float(np.max(s)), size=shape)).astype(np.float32)
    attrs = {} if axis is None else {"axis": axis}
    (want,) = run_ort("QuantizeLinear", [("x", x), ("s", s), ("z", z)], {"s", "z"}, [dtype], attrs)
    got = ops.quantize_linear(x, s, z, axis=1 if axis is None else axis)
    assert_equal(got, want, f"QuantizeLinear {shape} axis={axis}")
    (want,) = run_ort("DequantizeLinear", [("q", got), ("s", s), ("z", z)], {"s", "z"}, [np.float32], attrs)
    assert_equal(ops.dequantize_linear(got, s, z, axis=1 if axis is None else axis), want,
                 f"DequantizeLinear {shape} axis={axis}")


@pytest.mark.parametrize("shape", [(1,), (6,), (3, 4), (2, 3, 5, 7), (1000,)], ids=str)
def test_dynamic_quantize_linear(rng, shape) -> None:
    for x in (rng.normal(0, 3, size=shape), rng.uniform(0.1, 9, size=shape), -rng.uniform(0.1, 9, size=shape),
              np.zeros(shape)):
        x = x.astype(np.float32)
        want = run_ort("DynamicQuantizeLinear", [("x", x)], set(), [U8, np.float32, U8])
        y, s, z = ops.dynamic_quantize_linear(x)
        assert_equal(y, want[0], f"DynamicQuantizeLinear y {shape}")
        assert_equal(np.asarray(s), want[1], f"DynamicQuantizeLinear y_scale {shape}")
        assert_equal(np.asarray(z), want[2], f"DynamicQuantizeLinear y_zero_point {shape}")


# ------------------------------------------------------------------------------------------
# MatMul
# ------------------------------------------------------------------------------------------
MATMUL_SHAPES = [((1, 4), (4, 4)), ((3, 17), (17, 5)), ((7, 64), (64, 33)), ((16, 300), (300, 47)),
                 ((2, 5, 9), (9, 3)), ((2, 3, 8), (2, 8, 6)), ((5,), (5, 7)), ((33, 1), (1, 1))]


@pytest.mark.parametrize(("at", "bt"), INTEGER_TYPES, ids=str)
@pytest.mark.parametrize(("a_shape", "b_shape"), MATMUL_SHAPES, ids=str)
def test_matmul_integer(rng, at, bt, a_shape, b_shape) -> None:
    a, b = data(rng, a_shape, at), data(rng, b_shape, bt)
    za = zp(rng, at)
    zb = zp(rng, bt, b_shape[-1]) if len(b_shape) == 2 else zp(rng, bt)
    (want,) = run_ort("MatMulInteger", [("a", a), ("b", b), ("za", za), ("zb", zb)], {"b", "za", "zb"}, [np.int32])
    assert_equal(ops.matmul_integer(a, b, za, zb), want, f"MatMulInteger {a_shape} @ {b_shape}")


@pytest.mark.parametrize(("at", "bt"), QLINEAR_TYPES, ids=str)
@pytest.mark.parametrize(("a_shape", "b_shape"), MATMUL_SHAPES, ids=str)
@pytest.mark.parametrize("per_column", [False, True], ids=["per-tensor", "per-column"])
@pytest.mark.parametrize("constant_b", [True, False], ids=["b-initializer", "b-input"])
def test_qlinear_matmul(rng, at, bt, a_shape, b_shape, per_column, constant_b) -> None:
    a, b = data(rng, a_shape, at), data(rng, b_shape, bt)
    n = b_shape[-1]
    per_column = per_column and len(b_shape) == 2
    sa, sy = scale(rng), scale(rng) * 64
    sb = scale(rng, n) if per_column else scale(rng)
    za, zy = zp(rng, at), zp(rng, at)
    zb = zp(rng, bt, n) if per_column else zp(rng, bt)
    inputs = [("a", a), ("sa", sa), ("za", za), ("b", b), ("sb", sb), ("zb", zb), ("sy", sy), ("zy", zy)]
    constants = {"sa", "za", "sb", "zb", "sy", "zy"} | ({"b"} if constant_b else set())
    (want,) = run_ort("QLinearMatMul", inputs, constants, [at])
    what = f"QLinearMatMul {a_shape} @ {b_shape}"
    assert_equal(ops.qlinear_matmul(a, sa, za, b, sb, zb, sy, zy), want, what)
    if len(b_shape) == 2:
        assert_equal(ops.QLinearMatMul(b, sb, zb, sa, za, sy, zy)(a), want, "prepacked " + what)


# ------------------------------------------------------------------------------------------
# Conv
# ------------------------------------------------------------------------------------------
def conv(n=1, c=3, h=7, w=6, m=4, k=(3, 3), **attrs):
    group = attrs.get("group", 1)
    return {"x": (n, c, h, w), "w": (m, c // group, *k), "attrs": attrs}


CONVS = {
    "3x3": conv(),
    "3x3-pads": conv(pads=[1, 1, 1, 1]),
    "asym-pads-stride2": conv(h=9, w=8, strides=[2, 2], pads=[0, 1, 2, 1]),
    "dilation2": conv(h=9, w=9, dilations=[2, 2], pads=[2, 2, 2, 2]),
    "1x1": conv(c=16, m=24, k=(1, 1), h=5, w=5),
    "1x1-stride2": conv(c=8, m=5, k=(1, 1), strides=[2, 2]),
    "5x1": conv(k=(5, 1), h=8, w=4, pads=[2, 0, 2, 0]),
    "batch2-many-pixels": conv(n=2, c=4, m=7, h=13, w=11, pads=[1, 1, 1, 1]),
    "deep": conv(c=64, m=32, h=6, w=6, pads=[1, 1, 1, 1]),
    "grouped": conv(c=8, m=6, group=2, pads=[1, 1, 1, 1]),
    "depthwise": conv(c=16, m=16, group=16, pads=[1, 1, 1, 1]),
    "depthwise-stride2": conv(c=24, m=24, group=24, h=10, w=9, strides=[2, 2], pads=[1, 1, 1, 1]),
    "depthwise-mult2": conv(c=4, m=8, group=4, pads=[1, 1, 1, 1]),
    "same-upper": conv(h=7, w=6, strides=[2, 2], auto_pad="SAME_UPPER"),
    "same-lower": conv(h=8, w=7, k=(2, 2), auto_pad="SAME_LOWER"),
    "valid": conv(h=7, w=6, strides=[2, 1], auto_pad="VALID"),
}


def ort_attrs(attrs: dict, w_shape) -> dict:
    out = dict(attrs)
    out["kernel_shape"] = list(w_shape[2:])
    return out


@pytest.mark.parametrize(("xt", "wt"), INTEGER_TYPES, ids=str)
@pytest.mark.parametrize("name", list(CONVS))
def test_conv_integer(rng, xt, wt, name) -> None:
    case = CONVS[name]
    x, w = data(rng, case["x"], xt), data(rng, case["w"], wt)
    zx, zw = zp(rng, xt), zp(rng, wt)
    (want,) = run_ort("ConvInteger", [("x", x), ("w", w), ("zx", zx), ("zw", zw)], {"w", "zx", "zw"}, [np.int32],
                      ort_attrs(case["attrs"], w.shape))
    assert_equal(ops.conv_integer(x, w, zx, zw, **case["attrs"]), want, f"ConvInteger {name}")


@pytest.mark.parametrize(("xt", "wt"), QLINEAR_TYPES, ids=str)
@pytest.mark.parametrize("name", list(CONVS))
@pytest.mark.parametrize("weights", ["per-tensor", "per-channel", "per-channel-zp0", "runtime"])
def test_qlinear_conv(rng, xt, wt, name, weights) -> None:
    """per-channel: w_scale per output channel, one w_zero_point repeated (ONNX Runtime wants
    them equal); per-channel-zp0: int8 weights with zero point 0 (ONNX Runtime's symmetric
    kernels); runtime: every input fed at run time (no prepacking)."""
    case = CONVS[name]
    x, w = data(rng, case["x"], xt), data(rng, case["w"], wt)
    m = w.shape[0]
    sx, sy = scale(rng), scale(rng) * 64
    per_channel = weights.startswith("per-channel")
    sw = scale(rng, m) if per_channel else scale(rng)
    zx, zy = zp(rng, xt), zp(rng, xt)
    zw = np.full(m, zp(rng, wt), wt) if per_channel else zp(rng, wt)
    if weights == "per-channel-zp0":
        zw[:] = 0
    bias = rng.integers(-(2**16), 2**16, size=m).astype(np.int32)
    inputs = [("x", x), ("sx", sx), ("zx", zx), ("w", w), ("sw", sw), ("zw", zw), ("sy", sy), ("zy", zy), ("B", bias)]
    constants = set() if weights == "runtime" else {n for n, _ in inputs if n != "x"}
    (want,) = run_ort("QLinearConv", inputs, constants, [xt], ort_attrs(case["attrs"], w.shape))
    got = ops.qlinear_conv(x, sx, zx, w, sw, zw, sy, zy, bias, **case["attrs"])
    assert_equal(got, want, f"QLinearConv {name} {weights}")
    packed = ops.QLinearConv(w, sw, zw, sx, zx, sy, zy, bias, **case["attrs"])
    assert_equal(packed(x), want, f"prepacked QLinearConv {name} {weights}")


@pytest.mark.parametrize(("xt", "wt"), QLINEAR_TYPES, ids=str)
@pytest.mark.parametrize("name", ["3x3-pads", "1x1", "depthwise", "grouped", "asym-pads-stride2"])
def test_qlinear_conv_nhwc(rng, xt, wt, name) -> None:
    """layout="NHWC" against ONNX Runtime's com.microsoft QLinearConv with channels_last=1."""
    case = CONVS[name]
    x, w = data(rng, case["x"], xt), data(rng, case["w"], wt)
    x_nhwc = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    m = w.shape[0]
    sx, sw, sy = scale(rng), scale(rng, m), scale(rng) * 64
    zx, zy, zw = zp(rng, xt), zp(rng, xt), np.full(m, zp(rng, wt), wt)
    inputs = [("x", x_nhwc), ("sx", sx), ("zx", zx), ("w", w), ("sw", sw), ("zw", zw), ("sy", sy), ("zy", zy)]
    attrs = ort_attrs(case["attrs"], w.shape) | {"channels_last": 1}
    (want,) = run_ort("QLinearConv", inputs, {n for n, _ in inputs if n != "x"}, [xt], attrs, domain="com.microsoft")
    got = ops.qlinear_conv(x_nhwc, sx, zx, w, sw, zw, sy, zy, layout="NHWC", **case["attrs"])
    assert_equal(got, want, f"QLinearConv NHWC {name}")
    nchw = ops.qlinear_conv(x, sx, zx, w, sw, zw, sy, zy, **case["attrs"])
    assert_equal(got, np.ascontiguousarray(nchw.transpose(0, 2, 3, 1)), f"NHWC vs NCHW {name}")


# ------------------------------------------------------------------------------------------
# Where float32 and exact arithmetic round apart: ONNX Runtime's float32 steps, exactly
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("m_bits", [-7, -12, -17, -22, -26])
@pytest.mark.parametrize(("xt", "wt"), [(U8, S8), (S8, S8)], ids=str)
def test_requantization_near_ties(rng, m_bits, xt, wt) -> None:
    """QLinearConv with x == x_zero_point and bias = chosen int32 accumulators (beyond 2^24 for
    the small multipliers) whose float32 requantization rounds apart from the exact one; the
    multiplier of each channel is its w_scale (x_scale = y_scale = 1)."""
    m, acc = ref.requant_hits(rng, m_bits, 40)
    x = np.full((1, 1, 2, 2), 7, xt)
    w = data(rng, (acc.size, 1, 1, 1), wt)
    zx, zw = np.asarray(7, xt), np.zeros(acc.size, wt)
    zy = np.asarray(3, xt)
    one = np.float32(1)
    bias = acc.astype(np.int32)
    inputs = [("x", x), ("sx", one), ("zx", zx), ("w", w), ("sw", m), ("zw", zw), ("sy", one), ("zy", zy),
              ("B", bias)]
    (want,) = run_ort("QLinearConv", inputs, {n for n, _ in inputs if n != "x"}, [xt], {"kernel_shape": [1, 1]})
    assert_equal(ops.qlinear_conv(x, one, zx, w, m, zw, one, zy, bias), want, f"requantization 2^{m_bits}")


def test_quantize_near_ties(rng) -> None:
    x, scales = ref.quantize_hits(rng, 60)
    x = x.reshape(-1, 1)
    z = np.zeros(scales.size, S8)
    (want,) = run_ort("QuantizeLinear", [("x", x), ("s", scales), ("z", z)], {"s", "z"}, [S8], {"axis": 0})
    assert_equal(ops.quantize_linear(x, scales, z, axis=0), want, "QuantizeLinear near ties")


def test_shapes_are_varied() -> None:
    """The battery covers what it claims (a guard against editing it down)."""
    assert any(math.prod(c["w"][1:]) > 500 for c in CONVS.values())
    assert {c["attrs"].get("auto_pad", "NOTSET") for c in CONVS.values()} >= {"NOTSET", "SAME_UPPER", "SAME_LOWER",
                                                                              "VALID"}
