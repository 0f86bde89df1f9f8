"""ONNX out: :func:`export_onnx` (``QuantizedModel.to_onnx``) writes a quantized model as ONNX.

int8 mode is exported in the QOperator form, walking the very step list the int8 runner executes
(:class:`QLinearStep`, :class:`CodeStep`, :class:`FloatStep` of ``_quantize``), so that each
ONNX node computes what the fixedq step computes:

- the input: ``QuantizeLinear`` (round half to even, saturate), as ``fixedq.ops.quantize_linear``;
- Conv: ``QLinearConv`` with the same int8 weights, per-channel scales, int32 bias and output
  scale (fixedq's QLinearConv follows onnxruntime's requantization: float multiplier, ties to
  even); Gemm/MatMul: ``Reshape (N, K, 1, 1) -> QLinearConv 1x1 -> Reshape (N, M)``, exactly how
  fixedq runs them (``QLinearMatMul`` has no bias);
- a fused Relu/Clip: ``Clip`` on the codes with the clamp fixedq applies (onnxruntime implements
  Clip for int8 and uint8); a Relu on codes: ``Clip(min=zero_point)``;
- MaxPool, Flatten, Reshape, Identity on the codes (Dropout as Identity);
- AveragePool / GlobalAveragePool on codes: ``Cast, Sub(zero_point)`` gives ``code - zero_point``
  exactly in float32, the float pool averages these integers, and ``QuantizeLinear(scale=1,
  zero_point)`` rounds half to even and adds the zero point back. For windows below 2**24 / 255
  cells the float sum is exact and the division is correctly rounded, and a quotient that is not
  a tie lies at least 1/(2 count) from one, far beyond float32's error, so this equals fixedq's
  int64 sum divided with round half to even (onnxruntime's own QLinearAveragePool rounds the
  mean of the raw codes instead: it differs on ties when the zero point is odd);
- float islands: ``(code - zero_point) * scale`` as ``Cast, Sub, Mul`` (DequantizeLinear's
  arithmetic, spelled out so that onnxruntime's QDQ fusions leave the float op alone), the float
  op, then the next layer's ``QuantizeLinear``.

Simulated mode is exported in the QDQ form: each quantized layer's weights are stored as the
float32 values fixedq computes with (the dequantized codes: *weights-only simulation*, exact for
every scheme), and the activations entering a weighted layer go through ``QuantizeLinear ->
Clip (to the scheme's [qmin, qmax]) -> DequantizeLinear`` with the scale and zero point fixedq's
fake quantization uses. That is expressible for ``affine``, ``symmetric`` and
``dynamic_fixed_point`` activations of at most 8 bits; other activation schemes (``minifloat``)
or widths raise ``NotImplementedError`` naming them.
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np

from ..quant import quantize as quantize_tensor
from ._model import Model, Node
from ._quantize import (CodeStep, FloatStep, QLinearStep, QParams, QuantizedModel, RequantStep, dfp_max_abs,
                        float_layout)

__all__ = ["OPSET", "export_onnx"]

#: The ONNX opset of exported models (``Clip`` on int8/uint8, per-axis ``DequantizeLinear``).
OPSET = 13
_RANK = {"Conv": 4, "MaxPool": 4, "AveragePool": 4, "GlobalAveragePool": 4, "BatchNormalization": 4,
         "Gemm": 2, "MatMul": 2}


def _import_onnx() -> Any:
    try:
        import onnx
    except ImportError as exc:  # pragma: no cover - onnx is installed in the test environment
        raise ImportError("QuantizedModel.to_onnx needs the onnx package: pip install onnx") from exc
    return onnx


class _Graph:
    """The ONNX graph being written: nodes, initializers and fresh names."""

    def __init__(self, onnx: Any) -> None:
        self.onnx = onnx
        self.nodes: List[Any] = []
        self.inits: Dict[str, Any] = {}
        self._count = 0

    def fresh(self, hint: str) -> str:
        self._count += 1
        return f"{hint}__{self._count}"

    def const(self, value: Any, hint: str) -> str:
        name = self.fresh(hint)
        self.inits[name] = self.onnx.numpy_helper.from_array(np.asarray(value), name)
        return name

    def param(self, name: str, value: np.ndarray) -> str:
        if name not in self.inits:
            self.inits[name] = self.onnx.numpy_helper.from_array(np.asarray(value), name)
        return name

    def node(self, op: str, inputs: List[str], hint: str, output: Optional[str] = None, **attrs: Any) -> str:
        out = output or self.fresh(hint)
        self.nodes.append(self.onnx.helper.make_node(op, inputs, [out], name=self.fresh(hint + "_" + op), **attrs))
        return out

    def qparams(self, qp: QParams, hint: str) -> List[str]:
        """Initializers for a scale (float32) and zero point (int8/uint8)."""
        return [self.const(np.float32(qp.scale), hint + "_scale"), self.const(qp.zero_point, hint + "_zp")]

    def quantize(self, x: str, qp: QParams, hint: str) -> str:
        return self.node("QuantizeLinear", [x, *self.qparams(qp, hint)], hint + "_q")

    def dequantize(self, q: str, qp: QParams, hint: str, output: Optional[str] = None) -> str:
        return self.node("DequantizeLinear", [q, *self.qparams(qp, hint)], hint + "_dq", output)

    def centred(self, q: str, zero_point: Any, hint: str) -> str:
        """``code - zero_point`` in float32 (exact) as Cast -> Sub: unlike DequantizeLinear, no
        onnxruntime QDQ fusion rewrites the float op that follows into its own integer kernel."""
        v = self.node("Cast", [q], hint + "_cast", to=self.onnx.TensorProto.FLOAT)
        return self.node("Sub", [v, self.const(np.float32(zero_point), hint + "_zp")], hint + "_centred")

    def dequantize_unfused(self, q: str, qp: QParams, hint: str) -> str:
        """DequantizeLinear's ``(code - zero_point) * scale`` (the same single float32 rounding) as
        Cast -> Sub -> Mul, for float islands: onnxruntime would fuse ``DequantizeLinear -> Add ->
        QuantizeLinear`` (and Mul, Concat, Sigmoid, AveragePool, ...) into com.microsoft QLinear*
        kernels that round differently from the float op fixedq runs."""
        scale = self.const(np.float32(qp.scale), hint + "_scale")
        return self.node("Mul", [self.centred(q, qp.zero_point, hint), scale], hint + "_dq")

    def clip(self, q: str, lo: Any, hi: Any, hint: str, output: Optional[str] = None) -> str:
        return self.node("Clip", [q, "" if lo is None else self.const(lo, hint + "_min"),
                                  "" if hi is None else self.const(hi, hint + "_max")], hint + "_clamp", output)


def _public_attrs(n: Node) -> Dict[str, Any]:
    return {k: v for k, v in n.attrs.items() if not k.startswith("_")}


def _float_node(g: _Graph, n: Node, inputs: List[str], output: str) -> None:
    """Emit a float node as ONNX opset :data:`OPSET` (Dropout as Identity, Clip's attributes as
    inputs, a Softmax of opset < 13 as Flatten -> Softmax -> Reshape)."""
    attrs = _public_attrs(n)
    if n.op == "Dropout":
        g.node("Identity", inputs[:1], n.name, output)
    elif n.op == "Clip" and ("min" in attrs or "max" in attrs):
        lo, hi = attrs.get("min"), attrs.get("max")
        g.clip(inputs[0], None if lo is None else np.float32(lo), None if hi is None else np.float32(hi), n.name,
               output)
    elif n.op == "Softmax" and n.attrs.get("_opset", 13) < 13:
        axis = int(attrs.get("axis", 1))
        flat = g.node("Flatten", inputs[:1], n.name, axis=axis)
        soft = g.node("Softmax", [flat], n.name, axis=1)
        g.node("Reshape", [soft, g.node("Shape", inputs[:1], n.name)], n.name, output)
    else:
        g.node(n.op, inputs, n.name, output, **attrs)


def _input_rank(model: Model) -> int:
    shape = model.input_shapes.get(model.inputs[0])
    if shape is not None:
        return len(shape)
    for n in model.consumers(model.inputs[0]):
        if n.op in _RANK:
            return _RANK[n.op]
    raise ValueError(f"the rank of input {model.inputs[0]!r} is unknown: give the model an input shape "
                     "(Sequential(..., input_shape=...))")


def average_codes(g: _Graph, x: str, n: Node, zero_point: Any) -> str:
    """AveragePool / GlobalAveragePool ``n`` on the codes ``x`` as fixedq computes it: the float
    pool of ``code - zero_point`` (exact integers), then ``QuantizeLinear(scale=1, zero_point)``
    (round half to even, add the zero point, saturate). Not DequantizeLinear: onnxruntime would
    fuse that into com.microsoft QLinearAveragePool, which rounds the mean of the raw codes (a
    tie lands elsewhere when the zero point is odd)."""
    pooled = g.node(n.op, [g.centred(x, zero_point, n.name)], n.name, **_public_attrs(n))
    return g.quantize(pooled, QParams(np.float32(1.0), zero_point), n.name + "_round")


def _export_int8(g: _Graph, q: QuantizedModel, output: str) -> str:
    model = q.float_model
    codes: Dict[str, str] = {}      # fixedq tensor -> ONNX tensor of its codes
    floats: Dict[str, str] = {model.inputs[0]: model.inputs[0]}  # fixedq tensor -> ONNX float tensor
    for step in q._steps:
        n = step.node
        if isinstance(step, QLinearStep):
            if step.quantize_input or step.src not in codes:
                x = g.quantize(floats[step.src], step.xq, n.name + "_in")
            else:
                x = codes[step.src]
            qt = step.qt
            w_zp = np.zeros(step.w_scale.shape, np.int8) if step.w_zp is None else step.w_zp
            args = [*g.qparams(step.xq, n.name + "_x"), g.const(qt.codes, n.name + "_w"),
                    g.const(step.w_scale, n.name + "_w_scale"),
                    g.const(w_zp.reshape(step.w_scale.shape), n.name + "_w_zp"), *g.qparams(step.yq, n.name + "_y")]
            if step.bias is not None:
                args.append(g.const(step.bias, n.name + "_bias"))
            if step.is_conv:
                attrs = {k: v for k, v in _public_attrs(n).items()
                         if k in ("strides", "pads", "dilations", "group", "auto_pad")}
                y = g.node("QLinearConv", [x, *args], n.name, **attrs)
            else:
                x4 = g.node("Reshape", [x, g.const(np.array([0, -1, 1, 1], np.int64), n.name + "_nk11")], n.name)
                y4 = g.node("QLinearConv", [x4, *args], n.name)
                y = g.node("Reshape", [y4, g.const(np.array([0, -1], np.int64), n.name + "_nm")], n.name)
            if step.clamp_lo is not None or step.clamp_hi is not None:
                y = g.clip(y, step.clamp_lo, step.clamp_hi, n.name)
            codes[step.dst] = y
        elif isinstance(step, CodeStep):
            x = codes[step.src]
            attrs = _public_attrs(n)
            if n.op in ("AveragePool", "GlobalAveragePool"):
                codes[step.dst] = average_codes(g, x, n, step.qp.zero_point)
            elif n.op == "Relu":
                codes[step.dst] = g.clip(x, step.qp.zero_point, None, n.name)
            elif n.op == "Reshape":
                codes[step.dst] = g.node("Reshape", [x, g.param(n.inputs[1], model.params[n.inputs[1]])], n.name,
                                         **attrs)
            elif n.op == "Dropout":
                codes[step.dst] = g.node("Identity", [x], n.name)
            else:  # MaxPool, Flatten, Identity
                codes[step.dst] = g.node(n.op, [x], n.name, **attrs)
        elif isinstance(step, RequantStep):
            ins = [g.dequantize_unfused(codes[t], qp, f"{n.name}_in{i}") for i, (t, qp) in
                   enumerate(zip(n.inputs, step.in_q))]
            y = g.node(n.op, ins, n.name, **_public_attrs(n))
            codes[step.dst] = g.quantize(y, step.yq, n.name + "_out")
        elif isinstance(step, FloatStep):
            ins: List[str] = []
            for t in n.inputs:
                if not t:
                    ins.append("")
                elif t in model.params:
                    ins.append(g.param(t, model.params[t]))
                elif t in step.coded:
                    if t not in floats:
                        floats[t] = g.dequantize_unfused(codes[t], step.coded[t], t)
                    ins.append(floats[t])
                else:
                    ins.append(floats[t])
            floats[n.outputs[0]] = g.fresh(n.outputs[0])
            _float_node(g, n, ins, floats[n.outputs[0]])
        else:  # a step kind this exporter does not know (added to the runner, not here yet)
            raise NotImplementedError(f"ONNX export of the int8 step {type(step).__name__} (node {n.name!r})")
    out = model.outputs[0]
    if output == "codes":
        if out not in codes:
            raise ValueError(f"output='codes': the model's output {out!r} is float (it comes from a float island)")
        return codes[out]
    if out in codes:
        return g.dequantize(codes[out], _output_qparams(q), "output")
    return floats[out]


def _output_qparams(q: QuantizedModel) -> QParams:
    """Scale and zero point of the int8 model's output codes."""
    last = next(s for s in reversed(q._steps) if getattr(s, "dst", None) == q.float_model.outputs[0])
    return last.yq if isinstance(last, QLinearStep) else last.qp


def _fake_quant_nodes(g: _Graph, x: str, c: Any, r: Any, hint: str) -> str:
    """QuantizeLinear -> Clip -> DequantizeLinear equal to ``_quantize._fake_quant(c, r)``."""
    s, bits = c.activation_scheme, c.activation_bits
    if s not in ("affine", "symmetric", "dynamic_fixed_point") or bits > 8:
        raise NotImplementedError(f"ONNX export of simulated {s} activations with {bits} bits: QDQ expresses "
                                  "affine, symmetric and dynamic_fixed_point activations of at most 8 bits")
    probe = np.zeros(1, np.float32)  # the scale and zero point do not depend on the data once calibrated
    if s == "dynamic_fixed_point":
        qt = quantize_tensor(probe, "dynamic_fixed_point", bits=bits, max_abs=dfp_max_abs(r))
        scale, zp, lo, hi = np.float32(np.ldexp(1.0, -qt.params["fraction_bits"])), np.int8(0), \
            -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    elif s == "affine":
        qt = quantize_tensor(probe, "affine", bits=bits, range=(float(r.low), float(r.high)))
        scale, zp, lo, hi = qt.params["scale"], np.uint8(qt.params["zero_point"]), qt.params["qmin"], qt.params["qmax"]
    else:
        qt = quantize_tensor(probe, "symmetric", bits=bits, threshold=float(r.threshold))
        scale, zp, lo, hi = qt.params["scale"], np.int8(0), qt.params["qmin"], qt.params["qmax"]
    qp = QParams(np.float32(scale), zp)
    info = np.iinfo(zp.dtype)
    codes = g.quantize(x, qp, hint)
    if lo > info.min or hi < info.max:
        codes = g.clip(codes, zp.dtype.type(lo), zp.dtype.type(hi), hint)
    return g.dequantize(codes, qp, hint)


def _weight_codes(qt: Any) -> Optional[Tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The weights as int8 codes, float32 scale and int8 zero point with ``(codes - zp) * scale``
    equal to ``qt.dequantize()`` in float32, or None when the scheme is not linear in int8."""
    p, c = qt.params, qt.codes.astype(np.int64)
    zp: Any = 0
    if qt.scheme in ("affine", "symmetric") and qt.bits <= 8:
        scale, zp = p["scale"], p["zero_point"]
    elif qt.scheme == "dynamic_fixed_point" and qt.bits <= 8:
        scale = np.ldexp(1.0, -p["fraction_bits"])
    elif qt.scheme in ("binary", "ternary") or (qt.scheme == "dorefa" and qt.bits == 1):
        scale = p["scale"]  # codes are -1, 0, 1: float32(scale) * code is exact
    elif qt.scheme == "power_of_two" and (c.size == 0 or np.abs(c).max() <= 7):
        c = np.where(c == 0, 0, np.sign(c) * np.left_shift(1, np.maximum(np.abs(c) - 1, 0)))
        scale = np.ldexp(1.0, p["exp_min"])
    else:
        return None
    scale = np.asarray(scale, np.float32)
    return c.astype(np.int8), scale, np.broadcast_to(np.asarray(zp, np.int8), scale.shape).copy()


def _weight_qdq(g: _Graph, qt: Any, n: Node, shape: Tuple[int, ...]) -> Optional[str]:
    """The weights of a simulated layer as ``DequantizeLinear(int8 codes)`` in the float model's
    layout (``shape``), or None when the scheme is not linear in int8."""
    found = _weight_codes(qt)
    if found is None:
        return None
    codes, scale, zp = found
    axis = 0
    if n.op != "Conv":
        codes = codes.reshape(codes.shape[0], codes.shape[1])
        if not (n.op == "Gemm" and n.attrs.get("transB", 0)):
            codes, axis = np.ascontiguousarray(codes.T), 1
    attrs = {"axis": axis} if scale.ndim else {}
    inputs = [g.const(codes.reshape(shape), n.name + "_w"), g.const(scale, n.name + "_w_scale"),
              g.const(zp, n.name + "_w_zp")]
    return g.node("DequantizeLinear", inputs, n.name + "_weight", **attrs)


def _export_simulated(g: _Graph, q: QuantizedModel) -> str:
    model, state = q.float_model, q.state
    floats: Dict[str, str] = {model.inputs[0]: model.inputs[0]}
    for n in model.nodes:
        c = state.layer_configs.get(n.name)
        # The bias of a quantized layer goes to a separate Add, so that onnxruntime's optimizer
        # does not quantize it to int32 (its WeightBiasQuantization rewrite); the float sum is the
        # same either way (the bias is added after the products in both).
        split_bias = (c is not None and len(n.inputs) > 2 and n.inputs[2] in model.params
                      and float(n.attrs.get("beta", 1.0)) == 1.0)
        ins: List[str] = []
        for i, t in enumerate(n.inputs):
            if not t or (i == 2 and split_bias):
                ins.append("")
            elif i == 1 and c is not None and n.name in state.qweights:
                qt, shape = state.qweights[n.name], model.params[t].shape
                w_name = _weight_qdq(g, qt, n, shape)
                ins.append(w_name or g.param(n.name + ".weight_q", float_layout(qt, n, shape)))
            elif t in model.params:
                ins.append(g.param(t, model.params[t]))
            else:
                ins.append(floats[t])
        if c is not None and n.name in state.qweights and c.activation_bits is not None:
            ins[0] = _fake_quant_nodes(g, ins[0], c, state.ranges.get(n.inputs[0]), n.name + "_in")
        floats[n.outputs[0]] = g.fresh(n.outputs[0])
        if split_bias:
            b = model.params[n.inputs[2]]
            b = b.reshape(-1, 1, 1) if n.op == "Conv" else b
            acc = g.fresh(n.outputs[0] + "_acc")
            _float_node(g, n, ins[:2], acc)
            g.node("Add", [acc, g.param(n.inputs[2] + ".add", b)], n.name + "_bias", floats[n.outputs[0]])
        else:
            _float_node(g, n, ins, floats[n.outputs[0]])
    return floats[model.outputs[0]]


def export_onnx(q: QuantizedModel, path: Union[str, "os.PathLike[str]", None] = None, *,
                output: str = "float") -> Any:
    """Write a quantized model as ONNX that onnxruntime runs with fixedq's results.

    int8 mode: QOperator form (``QuantizeLinear -> QLinearConv ... -> DequantizeLinear``, opset
    13, standard domain only). onnxruntime's outputs equal fixedq's with **zero** tolerance on
    the output codes for every step fixedq runs in integers, and for float islands of exact float
    ops (Add, Mul, Concat, Relu, Flatten, ...); islands of Sigmoid or Softmax run onnxruntime's
    float code instead of NumPy's and differ by float rounding (1e-7 measured, tests assert
    1e-6). Simulated mode: QDQ form. Weights of schemes that are int8 times a scale (affine,
    symmetric and dynamic fixed point up to 8 bits, binary, ternary, 1-bit DoReFa, power of two
    up to 4 bits) are int8 codes with ``DequantizeLinear``; others (k-means, minifloat, ...) are
    stored as the float32 values fixedq computes with (weights-only simulation). Activations
    entering a weighted layer get ``QuantizeLinear -> Clip -> DequantizeLinear`` (affine,
    symmetric, dynamic fixed point up to 8 bits). Outputs equal fixedq's up to float summation
    order (tests assert rtol 1e-5). One caveat: with quantized activations and float weights
    (k-means, minifloat), onnxruntime's default ``WeightBiasQuantization`` rewrite re-quantizes the
    float weights to int8; create the session with
    ``disabled_optimizers=["WeightBiasQuantization"]`` to run what fixedq runs.
    See the module notes for how each step maps.

    Parameters
    ----------
    q : QuantizedModel
    path : str or path-like, optional
        Where to write the ``.onnx`` file (nothing is written if None).
    output : {"float", "codes"}
        ``"float"``: the graph output is the dequantized float32 output (as ``q(x)``).
        ``"codes"`` (int8 mode): the graph output is the final int8/uint8 codes, before
        ``DequantizeLinear``.

    Returns
    -------
    onnx.ModelProto
        The model, checked by ``onnx.checker.check_model``.

    Raises
    ------
    NotImplementedError
        Simulated activations ONNX cannot express (minifloat, more than 8 bits).
    ValueError
        A bad ``output``, or ``output="codes"`` on a model whose output is float.

    Examples
    --------
    >>> import numpy as np, onnxruntime as ort, fixedq
    >>> data = fixedq.nn.embedded_data()
    >>> q = fixedq.quantize(fixedq.nn.load_embedded(), data["calibration"][:100])
    >>> sess = ort.InferenceSession(q.to_onnx().SerializeToString(), providers=["CPUExecutionProvider"])
    >>> x = data["x"][:200]
    >>> bool(np.array_equal(sess.run(None, {"input": x})[0], q(x)))  # zero tolerance
    True
    """
    if not isinstance(q, QuantizedModel):
        raise TypeError(f"expected a QuantizedModel, got {type(q).__name__}")
    if output not in ("float", "codes"):
        raise ValueError(f"output must be 'float' or 'codes', got {output!r}")
    if output == "codes" and q.mode != "int8":
        raise ValueError(f"output='codes' needs an int8 model; this one is {q.mode}")
    onnx = _import_onnx()
    model = q.float_model
    g = _Graph(onnx)
    out = _export_int8(g, q, output) if q.mode == "int8" else _export_simulated(g, q)
    out_name = model.outputs[0]
    g.node("Identity", [out], "output", out_name)
    shape = model.input_shapes.get(model.inputs[0])
    dims: List[Any] = (["N"] + [None] * (_input_rank(model) - 1)) if shape is None else \
        [f"N{i}" if d is None else d for i, d in enumerate(shape)]
    elem = onnx.TensorProto.FLOAT
    if output == "codes":
        signed = np.asarray(_output_qparams(q).zero_point).dtype == np.int8
        elem = onnx.TensorProto.INT8 if signed else onnx.TensorProto.UINT8
    graph = onnx.helper.make_graph(
        g.nodes, f"{model.name}_{q.mode}",
        [onnx.helper.make_tensor_value_info(model.inputs[0], onnx.TensorProto.FLOAT, dims)],
        [onnx.helper.make_tensor_value_info(out_name, elem, None)], list(g.inits.values()))
    proto = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", OPSET)],
                                   producer_name="fixedq", doc_string=repr(q))
    proto.ir_version = min(proto.ir_version, 8)
    # The output's shape (the checker wants one) as ONNX shape inference finds it.
    inferred = onnx.shape_inference.infer_shapes(proto)
    known = {v.name: v for v in list(inferred.graph.value_info) + list(inferred.graph.output)}
    if out_name in known and known[out_name].type.tensor_type.HasField("shape"):
        proto.graph.output[0].type.tensor_type.shape.CopyFrom(known[out_name].type.tensor_type.shape)
    onnx.checker.check_model(proto, full_check=True)
    if path is not None:
        onnx.save(proto, os.fspath(path))
    return proto
