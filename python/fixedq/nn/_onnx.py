"""ONNX in: :func:`load_onnx` reads a model file into a :class:`fixedq.nn.Model`.

The ``onnx`` package is imported here, lazily (only when a model is loaded), so that fixedq does
not depend on it. This sits in ``nn/`` rather than ``io/`` because it produces nothing but the
``nn`` graph and has no other reader; the ONNX writer (``QuantizedModel.to_onnx``) will join it.
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np

from ._model import FLOAT_OPS, Model, Node, unsupported

__all__ = ["load_onnx"]


def _import_onnx() -> Any:
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError as exc:  # pragma: no cover - onnx is installed in the test environment
        raise ImportError("fixedq.nn.load_onnx needs the onnx package: pip install onnx") from exc
    return onnx, numpy_helper


def _attribute(onnx: Any, attr: Any) -> Any:
    value = onnx.helper.get_attribute_value(attr)
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, list):
        return [v.decode() if isinstance(v, bytes) else v for v in value]
    if isinstance(value, onnx.TensorProto):
        return onnx.numpy_helper.to_array(value)
    return value


def _float(a: np.ndarray) -> np.ndarray:
    return a.astype(np.float32) if a.dtype.kind == "f" else a


def load_onnx(path: Union[str, os.PathLike, bytes], *, fold_batchnorm: bool = True) -> Model:
    """Read an ONNX model for float inference on NumPy.

    Supported operators: Conv (2-D, groups, dilations, pads/auto_pad), Gemm, MatMul, Add, Mul,
    Relu, Clip (Relu6), Sigmoid, MaxPool, AveragePool, GlobalAveragePool, BatchNormalization,
    Flatten, Reshape, Concat, Softmax, Identity, Dropout (inference: identity); ``Constant`` nodes
    become weights. BatchNormalization that follows a Conv is folded into the Conv's weights and
    bias at load.

    Parameters
    ----------
    path : str, path-like or bytes
        The ``.onnx`` file, or a serialized model.
    fold_batchnorm : bool
        Fold BatchNormalization into the preceding Conv (True).

    Returns
    -------
    Model

    Raises
    ------
    FileNotFoundError
        No such file.
    NotImplementedError
        The graph uses an operator fixedq.nn does not run (the message names op and node).
    ValueError
        The file is not a valid ONNX model.

    Examples
    --------
    >>> import fixedq
    >>> model = fixedq.nn.load_onnx(fixedq.nn.embedded_model_path())
    >>> model
    Model('digits_cnn', 10 nodes: Conv, Relu, MaxPool, Conv, Relu, MaxPool, Flatten, Gemm, Relu, Gemm)
    """
    onnx, numpy_helper = _import_onnx()
    if isinstance(path, bytes):
        try:
            proto = onnx.load_from_string(path)
        except Exception as exc:
            raise ValueError(f"not a valid ONNX model: {exc}") from None
        label = "model"
    else:
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"no such ONNX file: {path}")
        try:
            proto = onnx.load(path)
        except Exception as exc:
            raise ValueError(f"{path}: not a valid ONNX model ({type(exc).__name__}: {exc})") from None
        label = os.path.splitext(os.path.basename(path))[0]
    graph = proto.graph
    opset = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), 13)
    params: Dict[str, np.ndarray] = {t.name: _float(numpy_helper.to_array(t)) for t in graph.initializer}
    nodes: List[Node] = []
    for i, n in enumerate(graph.node):
        name = n.name or f"{n.op_type}_{i}"
        if n.domain not in ("", "ai.onnx"):
            raise unsupported(f"{n.domain}.{n.op_type}", name)
        attrs = {a.name: _attribute(onnx, a) for a in n.attribute}
        if n.op_type == "Constant":
            if "value" not in attrs:
                raise unsupported("Constant (without a tensor value)", name)
            params[n.output[0]] = _float(np.asarray(attrs["value"]))
            continue
        if n.op_type not in FLOAT_OPS:
            raise unsupported(n.op_type, name)
        if n.op_type == "Softmax":
            attrs["_opset"] = opset
        outputs = list(n.output)
        if n.op_type in ("Dropout", "BatchNormalization") and len(outputs) > 1 and any(outputs[1:]):
            used = {t for m in graph.node for t in m.input} | {o.name for o in graph.output}
            if any(t in used for t in outputs[1:]):
                raise NotImplementedError(f"{n.op_type} node {name!r}: only the first output (inference) is supported")
        nodes.append(Node(n.op_type, name, list(n.input), outputs[:1], attrs))
    init = set(params)
    inputs = [v.name for v in graph.input if v.name not in init]
    shapes: Dict[str, Tuple[Optional[int], ...]] = {}
    for v in graph.input:
        if v.name in inputs and v.type.HasField("tensor_type") and v.type.tensor_type.HasField("shape"):
            dims = v.type.tensor_type.shape.dim
            shapes[v.name] = tuple(d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None for d in dims)
    model = Model(nodes, params, inputs, [o.name for o in graph.output], shapes, name=graph.name or label)
    if fold_batchnorm:
        model.fold_batchnorm()
    return model
