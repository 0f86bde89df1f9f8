"""QuantizedModel.to_onnx: onnxruntime runs the exported model and gives fixedq's outputs.

int8 mode: the tolerance is ZERO on the output codes (the float outputs are compared with
``np.array_equal``, and the ``output="codes"`` variant's codes with fixedq's). Simulated mode:
equal up to float summation order (rtol 1e-5) for the schemes ONNX expresses.
"""

from __future__ import annotations

import numpy as np
import pytest

import fixedq
from fixedq import nn
from fixedq.nn._quantize import FloatStep

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

RNG = np.random.default_rng(7)


def session(proto):  # type: ignore[no-untyped-def]
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.log_severity_level = 3
    return ort.InferenceSession(proto.SerializeToString(), opts, providers=["CPUExecutionProvider"])


def ort_u8s8_saturates() -> bool:
    """ONNX Runtime's u8 x s8 kernels saturate int16 pair sums on x86 with AVX2 but without VNNI
    (NOTES.md D; bounded in test_ops_onnxruntime.py): no exact reference for uint8 activations."""
    paths = fixedq.ops.available_isas()
    return "avx2" in paths and "avx512_vnni" not in paths and "avx_vnni" not in paths


def run_ort(q, x, output="float"):  # type: ignore[no-untyped-def]
    if q.config.scheme == "affine" and ort_u8s8_saturates():
        pytest.skip("onnxruntime's u8 x s8 kernels saturate on this CPU (AVX2 without VNNI): not an exact reference")
    proto = q.to_onnx(output=output)
    onnx.checker.check_model(proto, full_check=True)
    return session(proto).run(None, {q.float_model.inputs[0]: x})[0]


def output_codes(q, x):  # type: ignore[no-untyped-def]
    """fixedq's final int8/uint8 codes: its float output mapped back through the output's QParams."""
    last = q._steps[-1]
    qp = last.yq if hasattr(last, "yq") else last.qp
    return qp.quantize(q(x)), qp


def w(*shape):  # type: ignore[no-untyped-def]
    return RNG.normal(0, 0.4, size=shape).astype(np.float32)


def conv_net() -> nn.Model:
    """Conv (stride, pads, groups), ReLU, ReLU6, MaxPool (pads), AvgPool (pads), 1x1 Conv,
    GlobalAvgPool, Flatten, Linear + ReLU, Linear."""
    return nn.Sequential(
        nn.Conv2d(w(6, 3, 3, 3), w(6), stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(w(6, 2, 3, 3), w(6), padding=(1, 2), groups=3), nn.ReLU6(),
        nn.MaxPool2d(3, stride=2, padding=1),
        nn.AvgPool2d(2, stride=1, padding=1),
        nn.Conv2d(w(8, 6, 1, 1), w(8)),
        nn.GlobalAvgPool(), nn.Flatten(),
        nn.Linear(w(12, 8), w(12)), nn.ReLU(),
        nn.Linear(w(5, 12), w(5)),
        input_shape=(3, 17, 15), name="convnet")


def onnx_net() -> nn.Model:
    """An ONNX graph with what Sequential cannot say: Gemm without transB, MatMul, Clip with
    bounds (fused), AveragePool with ceil_mode and count_include_pad and a Relu on its codes, and
    an Add of a skip connection on codes, and float islands (Mul, and a Concat that reads it)."""
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], name="conv1"),
        helper.make_node("Clip", ["c1", "lo", "hi"], ["r1"], name="clip1"),
        helper.make_node("AveragePool", ["r1"], ["p"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
                         ceil_mode=1, count_include_pad=1, name="avg"),
        helper.make_node("Relu", ["p"], ["pr"], name="relu_codes"),
        helper.make_node("Conv", ["pr", "w2", "b2"], ["c2"], pads=[1, 1, 1, 1], group=2, name="conv2"),
        helper.make_node("Add", ["c2", "pr"], ["s"], name="skip"),
        helper.make_node("Relu", ["s"], ["r2"], name="relu2"),
        helper.make_node("Conv", ["r2", "w3"], ["c3"], strides=[2, 2], name="conv3"),
        helper.make_node("Relu", ["c3"], ["r3"], name="relu3"),
        helper.make_node("Mul", ["r3", "k"], ["m"], name="mul"),
        helper.make_node("Concat", ["m", "r3"], ["cat"], axis=1, name="concat"),
        helper.make_node("Flatten", ["cat"], ["f"], name="flat"),
        helper.make_node("Gemm", ["f", "g1", "gb"], ["h"], name="fc1"),
        helper.make_node("Relu", ["h"], ["hr"], name="relu4"),
        helper.make_node("MatMul", ["hr", "g2"], ["y"], name="fc2"),
    ]
    inits = {"w1": w(4, 2, 3, 3), "b1": w(4), "lo": np.float32(-0.5), "hi": np.float32(1.5),
             "w2": w(4, 2, 3, 3), "b2": w(4), "w3": w(3, 4, 3, 3), "k": np.float32(0.75),
             "g1": w(6 * 2 * 2, 7), "gb": w(7), "g2": w(7, 4)}
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2, 11, 11])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])],
                              [numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()])
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    return nn.load_onnx(proto.SerializeToString())


INT8_CONFIGS = {
    "symmetric-per-channel": fixedq.QuantConfig("symmetric", per_channel=True),
    "symmetric-per-tensor": fixedq.QuantConfig("symmetric", per_channel=False),
    "affine-per-tensor": fixedq.QuantConfig("affine", per_channel=False),
    "affine-per-channel": fixedq.QuantConfig("affine", per_channel=True),
}


@pytest.fixture(scope="module")
def embedded():  # type: ignore[no-untyped-def]
    return nn.load_embedded(), nn.embedded_data()


def quantized_embedded(embedded, config, mode):  # type: ignore[no-untyped-def]
    """The embedded model quantized with ``config`` (running in ``mode``) and 300 test images."""
    model, data = embedded
    q = fixedq.quantize(model, data["calibration"][:200], config)
    assert q.mode == mode
    return q, data["x"][:300]


@pytest.mark.parametrize("name", sorted(INT8_CONFIGS))
def test_int8_embedded_model_exports_with_zero_tolerance(embedded, name) -> None:  # type: ignore[no-untyped-def]
    q, x = quantized_embedded(embedded, INT8_CONFIGS[name], "int8")
    assert np.array_equal(run_ort(q, x), q(x))
    codes, qp = output_codes(q, x)
    got = run_ort(q, x, output="codes")
    assert got.dtype == np.asarray(qp.zero_point).dtype == (np.uint8 if name.startswith("affine") else np.int8)
    assert np.array_equal(got, codes)


@pytest.mark.parametrize("name", sorted(INT8_CONFIGS))
@pytest.mark.parametrize("make", [conv_net, onnx_net])
def test_int8_small_models_export_with_zero_tolerance(make, name) -> None:  # type: ignore[no-untyped-def]
    model = make()
    shape = (40,) + tuple(model.input_shapes[model.inputs[0]][1:])
    calib = RNG.normal(0, 1, size=shape).astype(np.float32)
    q = fixedq.quantize(model, calib, INT8_CONFIGS[name])
    assert q.mode == "int8"
    if make is onnx_net:  # the ops without an integer step run as float islands, also exported
        assert q.float_islands == ["mul", "concat"]  # the skip Add (and its Relu) run on codes
        assert [type(st).__name__ for st in q._steps if st.node.name in ("skip", "relu2")] == ["RequantStep",
                                                                                              "CodeStep"]
    x = RNG.normal(0, 1.2, size=(64,) + shape[1:]).astype(np.float32)
    expected = q(x)
    assert len(np.unique(expected)) > 20  # the comparison sees many distinct codes
    assert np.array_equal(run_ort(q, x), expected)
    if not isinstance(q._steps[-1], FloatStep):  # the output is codes
        codes, _ = output_codes(q, x)
        assert np.array_equal(run_ort(q, x, output="codes"), codes)


def test_int8_export_uses_the_qoperator_ops(embedded) -> None:  # type: ignore[no-untyped-def]
    model, data = embedded
    q = fixedq.quantize(model, data["calibration"][:100])
    ops = [n.op_type for n in q.to_onnx().graph.node]
    assert ops.count("QLinearConv") == 4 and ops.count("QuantizeLinear") == 1 and ops.count("DequantizeLinear") == 1
    assert "Conv" not in ops and "Gemm" not in ops


def test_int8_layer_kept_in_float_is_an_island(embedded, tmp_path) -> None:  # type: ignore[no-untyped-def]
    model, data = embedded
    q = fixedq.quantize(model, data["calibration"][:100], fixedq.QuantConfig(overrides={"conv2": "float"}))
    assert q.float_islands == ["conv2", "relu2", "pool2"]  # the float conv and what follows it in float
    x = data["x"][:200]
    path = tmp_path / "m.onnx"
    q.to_onnx(path)
    sess = session(onnx.load(str(path)))
    assert np.array_equal(sess.run(None, {"input": x})[0], q(x))


SIMULATED = {
    "symmetric 6-bit": fixedq.QuantConfig("symmetric", weight_bits=6, activation_bits=6),
    "affine 8/6": fixedq.QuantConfig("affine", weight_bits=8, activation_bits=6),
    "dynamic_fixed_point 8": fixedq.QuantConfig("dynamic_fixed_point"),
    "power_of_two 4": fixedq.QuantConfig("power_of_two", weight_bits=4),
    "ternary": fixedq.QuantConfig("ternary"),
    "binary, float activations": fixedq.QuantConfig("binary", activation_bits=None),
    "kmeans 4, float activations": fixedq.QuantConfig("kmeans", weight_bits=4, activation_bits=None),
    "symmetric 8, fc1 4-bit": fixedq.QuantConfig("symmetric", overrides={"fc1": {"weight_bits": 4}}),
}


@pytest.mark.parametrize("name", sorted(SIMULATED))
def test_simulated_exports_qdq_equal_up_to_float_rounding(embedded, name) -> None:  # type: ignore[no-untyped-def]
    q, x = quantized_embedded(embedded, SIMULATED[name], "simulated")
    got, expected = run_ort(q, x), q(x)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=2e-5 * float(np.abs(expected).max()))
    assert np.array_equal(got.argmax(1), expected.argmax(1))


def test_simulated_linear_weights_are_int8_initializers(embedded) -> None:  # type: ignore[no-untyped-def]
    model, data = embedded
    q = fixedq.quantize(model, data["calibration"][:100], fixedq.QuantConfig("ternary"))
    proto = q.to_onnx()
    int8 = [i for i in proto.graph.initializer if i.data_type == TensorProto.INT8 and len(i.dims) > 1]
    assert len(int8) == 4  # the four weight tensors, as codes
    for i in int8:
        assert set(np.unique(numpy_helper.to_array(i))) <= {-1, 0, 1}


def test_simulated_minifloat_activations_are_not_expressible(embedded) -> None:  # type: ignore[no-untyped-def]
    model, data = embedded
    q = fixedq.quantize(model, data["calibration"][:50], fixedq.QuantConfig("minifloat"))
    with pytest.raises(NotImplementedError, match="minifloat"):
        q.to_onnx()


def test_export_arguments_are_checked(embedded) -> None:  # type: ignore[no-untyped-def]
    model, data = embedded
    q = fixedq.quantize(model, data["calibration"][:50], fixedq.QuantConfig("kmeans", activation_bits=None))
    with pytest.raises(ValueError, match="output"):
        q.to_onnx(output="int")
    with pytest.raises(ValueError, match="int8"):
        q.to_onnx(output="codes")
    with pytest.raises(TypeError, match="QuantizedModel"):
        nn.export_onnx(model)


def test_docstring_examples() -> None:
    import doctest

    from fixedq.nn import _export

    result = doctest.testmod(_export, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


@pytest.mark.parametrize("op,attrs", [
    ("GlobalAveragePool", {}),
    ("AveragePool", {"kernel_shape": [2, 3], "strides": [1, 1]}),
    ("AveragePool", {"kernel_shape": [3, 4], "strides": [2, 3], "pads": [1, 2, 1, 2], "count_include_pad": 1}),
    ("AveragePool", {"kernel_shape": [5, 5], "strides": [3, 3], "pads": [2, 2, 2, 2], "ceil_mode": 1}),
])
@pytest.mark.parametrize("dtype,zp", [(np.int8, 0), (np.int8, -5), (np.uint8, 128), (np.uint8, 3)])
def test_average_pool_on_codes_rounds_like_fixedq(op, attrs, dtype, zp) -> None:  # type: ignore[no-untyped-def]
    """The exported form of an integer average (Cast, Sub zero point -> float pool ->
    QuantizeLinear(scale 1)) equals fixedq's int64 sum divided with round half to even, also on
    ties (the codes sit in a narrow band so that many window sums are halves) and odd zero
    points, under onnxruntime's default graph optimizations."""
    from fixedq.nn import _export
    from fixedq.nn import _functional as F
    from fixedq.nn._model import Node, pool_args

    info = np.iinfo(dtype)
    codes = np.clip(zp + RNG.integers(-3, 4, size=(3, 4, 12, 18)), info.min, info.max).astype(dtype)
    codes[0, 0] = info.max  # saturation of sums far from zero
    codes[0, 1] = info.min
    elem = TensorProto.INT8 if dtype == np.int8 else TensorProto.UINT8
    node = Node(op, "pool", ["x"], ["y"], attrs)
    g = _export._Graph(onnx)
    g.node("Identity", [_export.average_codes(g, "x", node, dtype(zp))], "out", "y")
    graph = helper.make_graph(g.nodes, "pool", [helper.make_tensor_value_info("x", elem, list(codes.shape))],
                              [helper.make_tensor_value_info("y", elem, None)], list(g.inits.values()))
    got = session(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])).run(None, {"x": codes})[0]
    if op == "GlobalAveragePool":
        expected = F.avg_pool2d(codes, codes.shape[2:], zero_point=zp)
    else:
        expected = F.avg_pool2d(codes, attrs["kernel_shape"], zero_point=zp, **pool_args(node, codes.shape))
    assert got.dtype == expected.dtype and np.array_equal(got, expected)


@pytest.mark.parametrize("name", ["symmetric-per-channel", "affine-per-tensor"])
def test_transcendental_islands_differ_by_float_rounding_only(name) -> None:  # type: ignore[no-untyped-def]
    """Sigmoid and Softmax run as float islands in onnxruntime's float code, not NumPy's: the
    outputs then agree to float rounding (the Sigmoid's outputs quantize to the same codes here)."""
    model = nn.Sequential(nn.Conv2d(w(8, 3, 3, 3), w(8), padding=1), nn.Sigmoid(),
                          nn.Conv2d(w(8, 8, 3, 3), w(8), padding=1), nn.ReLU(), nn.GlobalAvgPool(), nn.Flatten(),
                          nn.Linear(w(5, 8), w(5)), nn.Softmax(), input_shape=(3, 12, 12))
    x = RNG.normal(size=(200, 3, 12, 12)).astype(np.float32)
    q = fixedq.quantize(model, x[:100], INT8_CONFIGS[name])
    assert q.float_islands == ["1.sigmoid", "7.softmax"]
    got, expected = run_ort(q, x), q(x)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)


def test_simulated_gemm_with_alpha_beta_and_trans_a() -> None:
    """A Gemm that the int8 path does not take (alpha, beta, transA) runs simulated; its export
    keeps the attributes (and the bias stays inside the Gemm, scaled by beta)."""
    nodes = [helper.make_node("Gemm", ["x", "w", "c"], ["h"], alpha=0.5, beta=2.0, transA=1, name="fc1"),
             helper.make_node("Relu", ["h"], ["r"], name="relu"),
             helper.make_node("Gemm", ["r", "w2", "c2"], ["y"], transB=1, name="fc2")]
    inits = {"w": w(6, 5), "c": w(5), "w2": w(3, 5), "c2": w(3)}
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [6, "N"])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])],
                              [numpy_helper.from_array(v, k) for k, v in inits.items()])
    model = nn.load_onnx(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString())
    x = RNG.normal(size=(6, 40)).astype(np.float32)
    q = fixedq.quantize(model, [x], fixedq.QuantConfig("symmetric"))
    assert q.mode == "simulated"
    np.testing.assert_allclose(run_ort(q, x), q(x), rtol=1e-5, atol=1e-5)


def branchy_net() -> nn.Model:
    """Two conv branches joined by an Add (a residual connection, Relu after it) and by a Concat,
    every input of both produced as codes: no float island at all."""
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], name="conv1"),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], pads=[1, 1, 1, 1], name="conv2"),
        helper.make_node("Add", ["c2", "r1"], ["s"], name="residual"),
        helper.make_node("Relu", ["s"], ["r2"], name="relu2"),
        helper.make_node("Conv", ["r2", "w3"], ["c3"], name="conv3"),
        helper.make_node("Concat", ["c3", "r2"], ["cat"], axis=1, name="concat"),
        helper.make_node("GlobalAveragePool", ["cat"], ["g"], name="gap"),
        helper.make_node("Flatten", ["g"], ["f"], name="flat"),
        helper.make_node("Gemm", ["f", "g1", "gb"], ["y"], transB=1, name="fc"),
    ]
    inits = {"w1": w(6, 3, 3, 3), "b1": w(6), "w2": w(6, 6, 3, 3), "b2": w(6), "w3": w(5, 6, 1, 1),
             "g1": w(4, 11), "gb": w(4)}
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 9, 9])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])],
                              [numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()])
    return nn.load_onnx(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString())


@pytest.mark.parametrize("name", sorted(INT8_CONFIGS))
def test_integer_add_and_concat_run_on_codes_and_export_exactly(name, tmp_path) -> None:  # type: ignore[no-untyped-def]
    model = branchy_net()
    calib = RNG.normal(0, 1, size=(60, 3, 9, 9)).astype(np.float32)
    q = fixedq.quantize(model, calib, INT8_CONFIGS[name])
    assert q.mode == "int8" and q.float_islands == []
    kinds = {st.node.name: type(st).__name__ for st in q._steps}
    assert kinds["residual"] == kinds["concat"] == "RequantStep" and kinds["relu2"] == "CodeStep"
    x = RNG.normal(0, 1, size=(50, 3, 9, 9)).astype(np.float32)
    got, ref = q(x), model(x)
    sqnr = 10 * np.log10(np.sum(ref.astype(np.float64) ** 2) / np.sum((got - ref).astype(np.float64) ** 2))
    assert sqnr > 25  # 8-bit end to end, through the joins
    # The step itself, against a direct computation of its definition.
    env = {model.inputs[0]: x}
    for st in q._steps:
        st(env)
        if st.node.name == "residual":
            a, b = (env[t] for t in st.node.inputs)
            qa, qb = st.in_q
            direct = ((a.astype(np.float64) - int(qa.zero_point)) * float(qa.scale)
                      + (b.astype(np.float64) - int(qb.zero_point)) * float(qb.scale)) / float(st.yq.scale)
            codes = env[st.dst].astype(np.int64) - int(st.yq.zero_point)
            info = np.iinfo(env[st.dst].dtype)
            unsat = (env[st.dst] > info.min) & (env[st.dst] < info.max)
            assert np.abs(codes - direct)[unsat].max() <= 0.5 + 1e-3  # nearest, up to float32 rounding
    assert np.array_equal(run_ort(q, x), got)
    codes, _ = output_codes(q, x)
    assert np.array_equal(run_ort(q, x, output="codes"), codes)
    q.save(tmp_path / "m.npz")
    assert np.array_equal(fixedq.load(tmp_path / "m.npz")(x), got)
