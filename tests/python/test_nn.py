"""fixedq.nn: float inference against onnxruntime, the layer API, the embedded model, quantization."""

from __future__ import annotations

import numpy as np
import pytest

import fixedq
from fixedq import nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402


def make_model(nodes, inputs, output_shape, inits=(), opset=13):  # type: ignore[no-untyped-def]
    graph = helper.make_graph(
        nodes, "t", [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, output_shape)],
        [numpy_helper.from_array(np.asarray(v, np.float32) if np.asarray(v).dtype.kind == "f" else np.asarray(v), k)
         for k, v in inits])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8

    return m.SerializeToString()


def check_against_ort(blob, feeds, atol=1e-5):  # type: ignore[no-untyped-def]
    model = nn.load_onnx(blob)
    ours = model.run(feeds)["y"]
    ref = ort.InferenceSession(blob, providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, atol=atol, rtol=1e-5)
    return model


RNG = np.random.default_rng(1234)  # fixed: rerun with the same numbers


@pytest.mark.parametrize("attrs,wshape", [
    ({}, (4, 3, 3, 3)),
    ({"pads": [1, 1, 1, 1]}, (4, 3, 3, 3)),
    ({"pads": [0, 1, 2, 1], "strides": [2, 1]}, (5, 3, 3, 2)),
    ({"dilations": [2, 2], "pads": [2, 2, 2, 2]}, (4, 3, 3, 3)),
    ({"group": 3}, (6, 1, 3, 3)),
    ({"group": 3, "pads": [1, 1, 1, 1], "strides": [2, 2]}, (3, 1, 3, 3)),
    ({"auto_pad": "SAME_UPPER", "strides": [2, 2]}, (4, 3, 3, 3)),
    ({"auto_pad": "SAME_LOWER", "strides": [2, 2]}, (4, 3, 2, 2)),
    ({"auto_pad": "VALID"}, (4, 3, 1, 1)),
])
def test_conv_matches_onnxruntime(attrs, wshape) -> None:  # type: ignore[no-untyped-def]
    w = RNG.normal(size=wshape)
    b = RNG.normal(size=wshape[0])
    blob = make_model([helper.make_node("Conv", ["x", "w", "b"], ["y"], **attrs)], [("x", [2, 3, 9, 8])], None,
                      [("w", w), ("b", b)])
    check_against_ort(blob, {"x": RNG.normal(size=(2, 3, 9, 8)).astype(np.float32)})


@pytest.mark.parametrize("op,attrs", [
    ("MaxPool", {"kernel_shape": [2, 2]}),
    ("MaxPool", {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]}),
    ("MaxPool", {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1}),
    ("MaxPool", {"kernel_shape": [2, 2], "dilations": [2, 2]}),
    ("AveragePool", {"kernel_shape": [2, 2], "strides": [2, 2]}),
    ("AveragePool", {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]}),
    ("AveragePool", {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "count_include_pad": 1}),
    ("AveragePool", {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1}),
    ("GlobalAveragePool", {}),
])
def test_pooling_matches_onnxruntime(op, attrs) -> None:  # type: ignore[no-untyped-def]
    blob = make_model([helper.make_node(op, ["x"], ["y"], **attrs)], [("x", [2, 3, 9, 8])], None)
    check_against_ort(blob, {"x": RNG.normal(size=(2, 3, 9, 8)).astype(np.float32)})


def test_elementwise_and_shape_ops_match_onnxruntime() -> None:
    nodes = [
        helper.make_node("Mul", ["x", "s"], ["a"]),
        helper.make_node("Add", ["a", "x"], ["b"]),
        helper.make_node("Clip", ["b", "lo", "hi"], ["c"]),
        helper.make_node("Sigmoid", ["c"], ["d"]),
        helper.make_node("Relu", ["x"], ["e"]),
        helper.make_node("Concat", ["d", "e"], ["f"], axis=1),
        helper.make_node("Identity", ["f"], ["g"]),
        helper.make_node("Dropout", ["g"], ["h"]),
        helper.make_node("Reshape", ["h", "shape"], ["i"]),
        helper.make_node("Flatten", ["i"], ["j"], axis=1),
        helper.make_node("MatMul", ["j", "m"], ["k"]),
        helper.make_node("Gemm", ["k", "g2", "c2"], ["l"], transB=1, alpha=0.5, beta=2.0),
        helper.make_node("Softmax", ["l"], ["y"]),
    ]
    inits = [("s", RNG.normal(size=(1, 3, 1, 1))), ("lo", np.array(0.0)), ("hi", np.array(6.0)),
             ("shape", np.array([0, -1, 4], np.int64)), ("m", RNG.normal(size=(48, 7))),
             ("g2", RNG.normal(size=(5, 7))), ("c2", RNG.normal(size=(5,)))]
    blob = make_model(nodes, [("x", [2, 3, 2, 4])], None, inits)
    check_against_ort(blob, {"x": (3 * RNG.normal(size=(2, 3, 2, 4))).astype(np.float32)})


def test_gemm_trans_a_and_softmax_opset11() -> None:
    nodes = [helper.make_node("Gemm", ["x", "w"], ["a"], transA=1), helper.make_node("Softmax", ["a"], ["y"], axis=1)]
    blob = make_model(nodes, [("x", [4, 3])], None, [("w", RNG.normal(size=(4, 6)))], opset=11)
    check_against_ort(blob, {"x": RNG.normal(size=(4, 3)).astype(np.float32)})


def test_batchnorm_is_folded_into_conv_and_kept_elsewhere() -> None:
    c = 4
    bn = [("g", RNG.uniform(0.5, 2, c)), ("bb", RNG.normal(size=c)), ("mu", RNG.normal(size=c)),
          ("var", RNG.uniform(0.5, 2, c))]
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["c", "g", "bb", "mu", "var"], ["n"], epsilon=1e-3),
             helper.make_node("Relu", ["n"], ["r"]),
             helper.make_node("BatchNormalization", ["r", "g", "bb", "mu", "var"], ["y"])]
    blob = make_model(nodes, [("x", [2, 3, 6, 6])], None, [("w", RNG.normal(size=(c, 3, 3, 3))), ("b", RNG.normal(size=c))] + bn)
    model = check_against_ort(blob, {"x": RNG.normal(size=(2, 3, 6, 6)).astype(np.float32)}, atol=1e-4)
    assert [n.op for n in model.nodes] == ["Conv", "Relu", "BatchNormalization"]
    unfolded = nn.load_onnx(blob, fold_batchnorm=False)
    assert [n.op for n in unfolded.nodes].count("BatchNormalization") == 2


def test_constant_nodes_become_weights() -> None:
    nodes = [helper.make_node("Constant", [], ["k"], value=numpy_helper.from_array(np.full((3,), 2.0, np.float32))),
             helper.make_node("Mul", ["x", "k"], ["y"])]
    blob = make_model(nodes, [("x", [2, 3])], None)
    check_against_ort(blob, {"x": RNG.normal(size=(2, 3)).astype(np.float32)})


def test_unsupported_op_names_op_and_node() -> None:
    blob = make_model([helper.make_node("Tanh", ["x"], ["y"], name="my_tanh")], [("x", [2, 3])], None)
    with pytest.raises(NotImplementedError, match=r"'Tanh' \(node 'my_tanh'\)"):
        nn.load_onnx(blob)


def test_load_errors(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FileNotFoundError):
        nn.load_onnx(tmp_path / "missing.onnx")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00garbage" * 10)
    with pytest.raises(ValueError, match="not a valid ONNX model"):
        nn.load_onnx(bad)


# -- the layer API ------------------------------------------------------------------------------
def test_sequential_matches_the_same_onnx_graph() -> None:
    w1, b1 = RNG.normal(size=(4, 2, 3, 3)), RNG.normal(size=4)
    g, beta, mu, var = RNG.uniform(0.5, 2, 4), RNG.normal(size=4), RNG.normal(size=4), RNG.uniform(0.5, 2, 4)
    w2, b2 = RNG.normal(size=(3, 4 * 3 * 3)), RNG.normal(size=3)
    model = nn.Sequential(nn.Conv2d(w1, b1, padding=1), nn.BatchNorm2d(g, beta, mu, var), nn.ReLU6(),
                          nn.MaxPool2d(2), nn.AvgPool2d(3, stride=1, padding=1), nn.Dropout(), nn.Flatten(),
                          nn.Linear(w2, b2), nn.Sigmoid(), input_shape=(2, 6, 6))
    assert [n.op for n in model.nodes][:2] == ["Conv", "Clip"]  # BatchNorm folded
    x = RNG.normal(size=(5, 2, 6, 6)).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["a"], pads=[1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["a", "g", "beta", "mu", "var"], ["bn"]),
             helper.make_node("Clip", ["bn", "lo", "hi"], ["c"]),
             helper.make_node("MaxPool", ["c"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("AveragePool", ["p"], ["q"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node("Flatten", ["q"], ["f"]),
             helper.make_node("Gemm", ["f", "w2", "b2"], ["l"], transB=1),
             helper.make_node("Sigmoid", ["l"], ["y"])]
    blob = make_model(nodes, [("x", [5, 2, 6, 6])], None, [("w1", w1), ("b1", b1), ("g", g), ("beta", beta),
                      ("mu", mu), ("var", var), ("lo", np.array(0.0)), ("hi", np.array(6.0)), ("w2", w2), ("b2", b2)])
    ref = ort.InferenceSession(blob, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    np.testing.assert_allclose(model(x), ref, atol=1e-5)
    with pytest.raises(ValueError, match="must have shape Nx2x6x6"):
        model(np.zeros((1, 2, 5, 6), np.float32))


def test_layer_argument_errors() -> None:
    with pytest.raises(ValueError, match="4-D"):
        nn.Conv2d(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="groups"):
        nn.Conv2d(np.zeros((3, 1, 3, 3)), groups=2)
    with pytest.raises(ValueError, match="bias"):
        nn.Linear(np.zeros((3, 4)), np.zeros(4))
    with pytest.raises(TypeError, match="fixedq.nn layer"):
        nn.Sequential(nn.ReLU(), "relu")  # type: ignore[arg-type]


# -- the embedded model ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def embedded():  # type: ignore[no-untyped-def]
    return nn.load_embedded(), nn.embedded_data()


def test_embedded_model_and_data(embedded) -> None:  # type: ignore[no-untyped-def]
    model, data = embedded
    assert data["x"].shape == (1000, 1, 28, 28) and data["calibration"].shape == (500, 1, 28, 28)
    assert np.bincount(data["y"]).tolist() == [100] * 10
    acc = (model(data["x"]).argmax(1) == data["y"]).mean()
    assert acc >= 0.97
    ref = ort.InferenceSession(nn.embedded_model_path(), providers=["CPUExecutionProvider"]).run(None, {"input": data["x"][:50]})[0]
    np.testing.assert_allclose(model(data["x"][:50]), ref, atol=1e-4)


@pytest.mark.parametrize("module", ["_model", "_layers", "_onnx", "_quantize"])
def test_docstring_examples(module) -> None:  # type: ignore[no-untyped-def]
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(f"fixedq.nn.{module}"), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
