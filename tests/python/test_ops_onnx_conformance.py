"""fixedq.ops on the ONNX backend conformance cases of its seven operators, compared exactly.

onnx >= 1.23 no longer ships the test data (``onnx/backend/test/data/node``), so the cases are
regenerated here from their generators, ``onnx.backend.test.case.node.<op>``: each operator class
runs its ``export*`` functions, which hand (node, inputs, outputs, name) to ``expect``; we call
them with ``expect`` replaced by a function that records the case (and ``np.random.seed(0)``
first, as onnx's own collector does), then run the node with fixedq.ops.

Cases that use a feature outside fixedq.ops' scope (float8/float4/int4/int2/(u)int16 tensors,
blocked quantization, float16 input data) are skipped one by one with a reason naming the
feature. Every int8/uint8 case runs, including those with float16 scales.
"""

from __future__ import annotations

import importlib
from unittest import mock

import numpy as np
import pytest

from fixedq import ops

onnx = pytest.importorskip("onnx", reason="the ONNX conformance cases need the 'onnx' package (pip install onnx)")
from onnx import helper  # noqa: E402

# ONNX operator -> the generator module under onnx.backend.test.case.node
GENERATORS = {
    "QuantizeLinear": "quantizelinear",
    "DequantizeLinear": "dequantizelinear",
    "DynamicQuantizeLinear": "dynamicquantizelinear",
    "MatMulInteger": "matmulinteger",
    "QLinearMatMul": "qlinearmatmul",
    "ConvInteger": "convinteger",
    "QLinearConv": "qlinearconv",
}
DATA_DTYPES = {np.dtype(np.uint8), np.dtype(np.int8), np.dtype(np.int32), np.dtype(np.float32)}


def collect(op_type: str) -> list:
    """The conformance cases of one operator: (name, node, inputs, outputs)."""
    module = importlib.import_module(f"onnx.backend.test.case.node.{GENERATORS[op_type]}")
    cls = getattr(module, op_type)
    cases = []

    def record(node, inputs, outputs, name, **kwargs):  # noqa: ARG001 - the signature of expect
        cases.append((name, node, list(inputs), list(outputs)))

    with mock.patch.object(module, "expect", record):
        for attr in sorted(vars(cls)):
            if attr.startswith("export"):
                np.random.seed(0)  # noqa: NPY002 - the generators draw from the legacy global state
                getattr(cls, attr)()
    return cases


CASES = [(op, *case) for op in GENERATORS for case in collect(op)]


def attributes(node) -> dict:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def outside_scope(op: str, node, inputs: list, outputs: list) -> str | None:
    """Why a case cannot run on fixedq.ops (the feature it needs), or None."""
    attrs = attributes(node)
    if attrs.get("block_size", 0):
        return f"blocked quantization (block_size={attrs['block_size']})"
    for value in (*inputs, *outputs):
        if isinstance(value, onnx.TensorProto):
            return f"{onnx.helper.tensor_dtype_to_string(value.data_type).split('.')[-1]} tensors"
        if np.asarray(value).dtype not in DATA_DTYPES and not (
                op in ("QLinearMatMul", "QLinearConv") and np.asarray(value).dtype == np.float16
                and np.asarray(value).size == 1):
            return f"{np.asarray(value).dtype} tensors"
    output_dtype = attrs.get("output_dtype", 0)
    if output_dtype not in (0, onnx.TensorProto.UINT8, onnx.TensorProto.INT8):
        return f"output_dtype {onnx.helper.tensor_dtype_to_string(output_dtype).split('.')[-1]}"
    return None


def run(op: str, node, inputs: list):
    names = [n for n in node.input if n]
    args = dict(zip(names, inputs))
    attrs = attributes(node)
    positional = [args.get(n) if n else None for n in node.input]
    if op == "QuantizeLinear":
        return [ops.quantize_linear(*positional, axis=attrs.get("axis", 1))]
    if op == "DequantizeLinear":
        return [ops.dequantize_linear(*positional, axis=attrs.get("axis", 1))]
    if op == "DynamicQuantizeLinear":
        return list(ops.dynamic_quantize_linear(*positional))
    if op == "MatMulInteger":
        return [ops.matmul_integer(*positional)]
    if op == "QLinearMatMul":
        return [ops.qlinear_matmul(*positional)]
    conv_attrs = {k: attrs[k] for k in ("auto_pad", "dilations", "group", "kernel_shape", "pads", "strides")
                  if k in attrs}
    if op == "ConvInteger":
        return [ops.conv_integer(*positional, **conv_attrs)]
    assert op == "QLinearConv", op
    return [ops.qlinear_conv(*positional, **conv_attrs)]


def test_every_operator_has_cases() -> None:
    found = {op for op, *_ in CASES}
    assert found == set(GENERATORS), f"no conformance cases for {set(GENERATORS) - found}"


@pytest.mark.parametrize(("op", "name", "node", "inputs", "outputs"), CASES, ids=[c[1] for c in CASES])
def test_conformance(op, name, node, inputs, outputs) -> None:
    reason = outside_scope(op, node, inputs, outputs)
    if reason is not None:
        pytest.skip(f"{name} uses {reason}: outside fixedq.ops (uint8/int8 data, per-tensor/per-axis scales)")
    got = run(op, node, inputs)
    assert len(got) == len(outputs)
    for i, (g, want) in enumerate(zip(got, outputs)):
        g, want = np.asarray(g), np.asarray(want)
        assert g.dtype == want.dtype, f"{name} output {i}: dtype {g.dtype}, expected {want.dtype}"
        assert g.shape == want.shape, f"{name} output {i}: shape {g.shape}, expected {want.shape}"
        assert g.tobytes() == want.tobytes(), f"{name} output {i}:\n{g}\nexpected\n{want}"
