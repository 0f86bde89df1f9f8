"""fixedq.quant: ONNX semantics of affine/symmetric, metrics, pruning, plotting, stubs.

Oracles: ONNX Runtime executing DynamicQuantizeLinear / QuantizeLinear (optional peer),
``fixedq.ops.quantize_linear`` (when that module exists), and direct formulas written here.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

import fixedq.quant as fq
from fixedq.quant import prune, quantize


# ---------------------------------------------------------------------------------------------
# ONNX semantics
# ---------------------------------------------------------------------------------------------
def run_onnx_node(op: str, inputs: dict[str, np.ndarray], outputs: dict[str, type], **attrs):
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime (optional peer) is not installed")
    onnx = pytest.importorskip("onnx", reason="onnx (needed to build the test model) is not installed")
    from onnx import helper

    def info(name: str, a: np.ndarray):
        return helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape)

    feeds = {k: v for k, v in inputs.items() if k == "x"}
    inits = [onnx.numpy_helper.from_array(v, k) for k, v in inputs.items() if k != "x"]
    node = helper.make_node(op, list(inputs), outputs, **attrs)
    outs = [helper.make_tensor_value_info(o, helper.np_dtype_to_tensor_dtype(np.dtype(t)), None)
            for o, t in outputs.items()]
    graph = helper.make_graph([node], "g", [info("x", inputs["x"])], outs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    model.ir_version = 10
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


@pytest.mark.parametrize("seed", range(5))
def test_affine_u8_is_onnx_dynamic_quantize_linear(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = (rng.normal(0.5 * seed - 1, 1 + seed, 1000)).astype(np.float32)
    if seed == 4:
        x = np.abs(x)  # all positive: the range still includes 0
    y, scale, zp = run_onnx_node("DynamicQuantizeLinear", {"x": x}, {"y": np.uint8, "s": np.float32, "z": np.uint8})
    qt = quantize(x, "affine")
    assert np.float32(qt.params["scale"]) == scale and int(qt.params["zero_point"]) == int(zp)
    np.testing.assert_array_equal(qt.codes, y)


@pytest.mark.parametrize("narrow", [False, True])
def test_symmetric_is_onnx_quantize_linear_int8(narrow: bool) -> None:
    x = np.random.default_rng(1).normal(0, 2, 2000).astype(np.float32)
    qt = quantize(x, "symmetric", threshold=3.0, narrow=narrow)
    (y,) = run_onnx_node("QuantizeLinear", {"x": x, "s": np.float32(qt.params["scale"]), "z": np.int8(0)}, {"y": np.int8})
    expected = np.maximum(y, -127) if narrow else y  # TensorRT's narrow range clamps -128 too
    np.testing.assert_array_equal(qt.codes, expected)


def test_per_channel_symmetric_is_onnx_per_axis() -> None:
    x = (np.random.default_rng(2).normal(size=(2, 4, 5)) * np.array([0.1, 1, 10, 100])[None, :, None]).astype(np.float32)
    qt = quantize(x, "symmetric", axis=1, narrow=False)
    (y,) = run_onnx_node("QuantizeLinear", {"x": x, "s": qt.params["scale"].astype(np.float32),
                                            "z": np.zeros(4, np.int8)}, {"y": np.int8}, axis=1)
    np.testing.assert_array_equal(qt.codes, y)


@pytest.mark.skipif(importlib.util.find_spec("fixedq.ops") is None,
                    reason="fixedq.ops (ONNX quantize_linear, branch python-ops) is not in this build")
@pytest.mark.parametrize("scheme", ["affine", "symmetric"])
def test_against_fixedq_ops_quantize_linear(scheme: str) -> None:
    from fixedq import ops

    x = np.random.default_rng(3).normal(size=(3, 40)).astype(np.float32)
    for axis in (None, 0):
        qt = quantize(x, scheme, axis=axis, **({"narrow": False} if scheme == "symmetric" else {}))
        scale = np.asarray(qt.params["scale"], np.float32)
        # ONNX wants the zero point shaped like the scale; fixedq.quant keeps symmetric's as a scalar 0.
        zp = np.ascontiguousarray(np.broadcast_to(np.asarray(qt.params["zero_point"]).astype(qt.codes.dtype),
                                                  scale.shape))
        kwargs = {} if axis is None else {"axis": axis}
        y = ops.quantize_linear(x, scale, zp, **kwargs)
        np.testing.assert_array_equal(qt.codes, y)


# ---------------------------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------------------------
def test_error_metrics_are_the_definitions() -> None:
    x = np.random.default_rng(0).normal(size=300)
    qt = quantize(x, "symmetric", bits=4, threshold=1.0)
    m = qt.metrics(x)
    y = qt.dequantize().tolist()
    err = [a - b for a, b in zip(x.tolist(), y)]
    assert m.mse == pytest.approx(sum(e * e for e in err) / len(err), rel=1e-12)
    assert m.sqnr_db == pytest.approx(10 * math.log10(sum(v * v for v in x.tolist()) / sum(e * e for e in err)),
                                      rel=1e-12)
    assert m.max_abs_error == max(abs(e) for e in err)
    assert m.saturated_fraction == sum(abs(v) > 1.0 for v in x.tolist()) / len(err)
    exact = quantize(np.array([0.5, -1.0]), "dynamic_fixed_point").metrics([0.5, -1.0])
    assert exact.mse == 0 and exact.sqnr_db == math.inf
    with pytest.raises(ValueError, match="reference has shape"):
        qt.metrics(x[:5])
    with pytest.raises(TypeError, match="qtensor must be a QTensor"):
        fq.error_metrics(x, x)


def test_storage_bits() -> None:
    x = np.random.default_rng(0).normal(size=(8, 10))
    assert quantize(x, "affine").storage_bits == 80 * 8 + 32 + 8
    assert quantize(x, "symmetric", axis=0, bits=4).storage_bits == 80 * 4 + 8 * 32
    assert quantize(x, "ternary").storage_bits == 80 * 2 + 32
    assert quantize(x, "minifloat", variant="e5m2").storage_bits == 80 * 8


# ---------------------------------------------------------------------------------------------
# Pruning
# ---------------------------------------------------------------------------------------------
def test_prune_per_tensor_and_global() -> None:
    rng = np.random.default_rng(0)
    layers = [rng.normal(0, s, (20, 30)) for s in (0.1, 1.0)]
    layers[0][0, :5] = 0
    for i, w in enumerate(layers):
        pruned, mask = prune(w, sparsity=0.75)
        mags = sorted(abs(v) for v in w.ravel().tolist() if v != 0)
        pos = 0.75 * (len(mags) - 1)
        t = mags[int(pos)] + (pos - int(pos)) * (mags[int(pos) + 1] - mags[int(pos)])
        np.testing.assert_array_equal(mask, (np.abs(w) >= t) & (w != 0))
        np.testing.assert_array_equal(pruned, np.where(mask, w, 0))
        assert abs(mask.sum() - 0.25 * len(mags)) <= 1
    pruned, masks = prune(layers, sparsity=0.9, scope="global")
    allmags = np.sort(np.abs(np.concatenate([w[w != 0] for w in layers])))
    t = np.quantile(allmags, 0.9)
    for w, m in zip(layers, masks):
        np.testing.assert_array_equal(m, np.abs(w) >= t)
    assert masks[0].sum() < masks[1].sum()  # one threshold: the small layer loses more
    _, m = prune(layers[1], threshold=1.0)
    np.testing.assert_array_equal(m, np.abs(layers[1]) >= 1.0)
    with pytest.raises(ValueError, match="sparsity must be in"):
        prune(layers[0], sparsity=1.0)
    with pytest.raises(ValueError, match="exactly one of sparsity and threshold"):
        prune(layers[0])
    with pytest.raises(ValueError, match="x contains NaN"):
        prune(np.array([np.nan, 1.0]), sparsity=0.5)


# ---------------------------------------------------------------------------------------------
# Plot, stubs
# ---------------------------------------------------------------------------------------------
def test_plot_histogram_marks_thresholds_and_levels() -> None:
    matplotlib = pytest.importorskip("matplotlib", reason="matplotlib is the optional 'plot' extra")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = np.random.default_rng(0).laplace(0, 0.05, 5000)
    qt = quantize(x, "power_of_two")
    ax = fq.plot_histogram(x, thresholds=0.125, qtensor=qt)
    xs = sorted({float(line.get_xdata()[0]) for line in ax.get_lines()})
    assert xs == list(range(-8, 0))  # 2**-8 .. 2**-1 levels; the threshold -3 is among them
    assert any(line.get_linestyle() == "--" and line.get_xdata()[0] == -3 for line in ax.get_lines())
    assert ax.get_xlabel() == "log2 |x|"
    plt.close(ax.figure)


def test_stubs_cover_the_public_api() -> None:
    stub = (Path(fq.__file__).parent / "__init__.pyi").read_text(encoding="utf-8")
    for name in fq.__all__:
        assert name in stub, name


@pytest.mark.parametrize("module", ["_schemes", "_prune", "_calibrate"])
def test_docstring_examples_run(module: str) -> None:
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(f"fixedq.quant.{module}"), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
