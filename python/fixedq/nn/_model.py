"""The float network: a list of ONNX-named nodes run on NumPy.

:class:`Model` is what :func:`fixedq.nn.load_onnx` and :class:`fixedq.nn.Sequential` build and
what :func:`fixedq.quantize` takes. It holds nodes in topological order, the weights as NumPy
arrays (``params``), and runs float32 inference with the operators of ``FLOAT_OPS``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from . import _functional as F

__all__ = ["SUPPORTED_OPS", "Model", "Node"]


@dataclasses.dataclass
class Node:
    """One operator application: ONNX ``op`` type, unique ``name``, tensor names in and out, attributes."""

    op: str
    name: str
    inputs: List[str]
    outputs: List[str]
    attrs: Dict[str, Any] = dataclasses.field(default_factory=dict)


def _ints(v: Any, n: int, default: int) -> Tuple[int, ...]:
    if v is None:
        return (default,) * n
    return tuple(int(i) for i in v)


def _conv(node: Node, x: np.ndarray, w: np.ndarray, b: Optional[np.ndarray] = None) -> np.ndarray:
    if x.ndim != 4 or w.ndim != 4:
        raise NotImplementedError(f"Conv node {node.name!r}: only 2-D convolution (NCHW) is supported, got input "
                                  f"shape {x.shape}")
    a = node.attrs
    kernel = w.shape[2:]
    strides = _ints(a.get("strides"), 2, 1)
    dil = _ints(a.get("dilations"), 2, 1)
    pads = F.resolve_pads(a.get("auto_pad", "NOTSET"), x.shape[2:], kernel, strides, dil, a.get("pads"))
    return F.conv2d(x, w, b, strides=strides, pads=pads, dilations=dil, group=int(a.get("group", 1)))


def pool_args(node: Node, x_shape: Sequence[int]) -> Dict[str, Any]:
    """Keyword arguments of :func:`max_pool2d`/:func:`avg_pool2d` from an ONNX pooling node."""
    a = node.attrs
    kernel = _ints(a.get("kernel_shape"), 2, 1)
    if len(kernel) != 2 or len(x_shape) != 4:
        raise NotImplementedError(f"{node.op} node {node.name!r}: only 2-D pooling (NCHW) is supported")
    strides = _ints(a.get("strides"), 2, 1)
    dil = _ints(a.get("dilations"), 2, 1)
    pads = F.resolve_pads(a.get("auto_pad", "NOTSET"), x_shape[2:], kernel, strides, dil, a.get("pads"))
    out: Dict[str, Any] = {"strides": strides, "pads": pads, "ceil_mode": bool(a.get("ceil_mode", 0))}
    if node.op == "MaxPool":
        out["dilations"] = dil
    else:
        if dil != (1, 1):
            raise NotImplementedError(f"AveragePool node {node.name!r}: dilations are not supported")
        out["count_include_pad"] = bool(a.get("count_include_pad", 0))
    return out


def _gemm(node: Node, a: np.ndarray, b: np.ndarray, c: Optional[np.ndarray] = None) -> np.ndarray:
    at = node.attrs
    if at.get("transA", 0):
        a = a.T
    if at.get("transB", 0):
        b = b.T
    y = np.float32(at.get("alpha", 1.0)) * (a @ b) if at.get("alpha", 1.0) != 1.0 else a @ b
    if c is not None:
        y = y + (np.float32(at.get("beta", 1.0)) * c if at.get("beta", 1.0) != 1.0 else c)
    return y


def _flatten(node: Node, x: np.ndarray) -> np.ndarray:
    axis = int(node.attrs.get("axis", 1))
    axis = axis + x.ndim if axis < 0 else axis
    return x.reshape(int(np.prod(x.shape[:axis], dtype=np.int64)), -1)


def _reshape(node: Node, x: np.ndarray, shape: np.ndarray) -> np.ndarray:
    shape = [int(s) for s in np.asarray(shape).reshape(-1)]
    if not node.attrs.get("allowzero", 0):
        shape = [x.shape[i] if s == 0 else s for i, s in enumerate(shape)]
    return x.reshape(shape)


def _clip(node: Node, x: np.ndarray, lo: Optional[np.ndarray] = None, hi: Optional[np.ndarray] = None) -> np.ndarray:
    lo_v = node.attrs.get("min", -np.inf) if lo is None else lo
    hi_v = node.attrs.get("max", np.inf) if hi is None else hi
    return np.clip(x, np.asarray(lo_v, x.dtype), np.asarray(hi_v, x.dtype))


def _softmax(node: Node, x: np.ndarray) -> np.ndarray:
    opset = node.attrs.get("_opset", 13)
    if opset >= 13:
        return F.softmax(x, int(node.attrs.get("axis", -1)))
    axis = int(node.attrs.get("axis", 1))  # opset < 13: coerced to 2-D at axis
    axis = axis + x.ndim if axis < 0 else axis
    flat = x.reshape(int(np.prod(x.shape[:axis], dtype=np.int64)), -1)
    return F.softmax(flat, 1).reshape(x.shape)


def _batchnorm(node: Node, x: np.ndarray, g: np.ndarray, b: np.ndarray, mean: np.ndarray,
               var: np.ndarray) -> np.ndarray:
    scale, shift = bn_affine(g, b, mean, var, float(node.attrs.get("epsilon", 1e-5)))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return x * scale.reshape(shape) + shift.reshape(shape)


def bn_affine(g: np.ndarray, b: np.ndarray, mean: np.ndarray, var: np.ndarray,
              eps: float) -> Tuple[np.ndarray, np.ndarray]:
    """BatchNormalization as ``x * scale + shift`` per channel (float32)."""
    scale = (g.astype(np.float64) / np.sqrt(var.astype(np.float64) + eps))
    shift = b.astype(np.float64) - mean.astype(np.float64) * scale
    return scale.astype(np.float32), shift.astype(np.float32)


def _pool(node: Node, x: np.ndarray) -> np.ndarray:
    kernel = _ints(node.attrs.get("kernel_shape"), 2, 1)
    if node.op == "MaxPool":
        return F.max_pool2d(x, kernel, **pool_args(node, x.shape))
    return F.avg_pool2d(x, kernel, **pool_args(node, x.shape))


def _global_avg(node: Node, x: np.ndarray) -> np.ndarray:
    axes = tuple(range(2, x.ndim))
    if x.dtype.kind in "iu":
        return F.avg_pool2d(x, x.shape[2:], zero_point=int(node.attrs.get("_zero_point", 0)))
    return x.mean(axis=axes, keepdims=True, dtype=np.float32).astype(x.dtype)


#: The float operators: ONNX op type -> function(node, *inputs) -> output (one output each).
FLOAT_OPS: Dict[str, Callable[..., np.ndarray]] = {
    "Conv": _conv,
    "Gemm": _gemm,
    "MatMul": lambda n, a, b: np.matmul(a, b),
    "Add": lambda n, a, b: a + b,
    "Mul": lambda n, a, b: a * b,
    "Relu": lambda n, x: np.maximum(x, x.dtype.type(0)),
    "Clip": _clip,
    "Sigmoid": lambda n, x: (1.0 / (1.0 + np.exp(-x))).astype(x.dtype),
    "MaxPool": _pool,
    "AveragePool": _pool,
    "GlobalAveragePool": _global_avg,
    "BatchNormalization": _batchnorm,
    "Flatten": _flatten,
    "Reshape": _reshape,
    "Concat": lambda n, *xs: np.concatenate(xs, axis=int(n.attrs.get("axis", 0))),
    "Softmax": _softmax,
    "Identity": lambda n, x: x,
    "Dropout": lambda n, x, *rest: x,
}

#: ONNX op types :func:`fixedq.nn.load_onnx` accepts (``Constant`` nodes become weights at load).
SUPPORTED_OPS: Tuple[str, ...] = tuple(sorted(FLOAT_OPS))


def unsupported(op: str, name: str) -> NotImplementedError:
    """The error for an operator fixedq.nn cannot run."""
    return NotImplementedError(f"ONNX operator {op!r} (node {name!r}) is not supported by fixedq.nn; supported: "
                               f"{', '.join(SUPPORTED_OPS)}")


class Model:
    """A float network on NumPy: nodes in topological order and their weights.

    Built by :func:`fixedq.nn.load_onnx` or :class:`fixedq.nn.Sequential`; quantized by
    :func:`fixedq.quantize`. Calling it runs float32 inference.

    Parameters
    ----------
    nodes : iterable of Node
        In an order where every input is produced before it is used.
    params : mapping of str to numpy.ndarray
        The constant tensors (weights, biases, shapes) by name.
    inputs : sequence of str
        Names of the graph inputs, in call order.
    outputs : sequence of str
        Names of the graph outputs.
    input_shapes : mapping of str to tuple, optional
        Declared shapes (``None`` for a symbolic dimension), for documentation and checks.
    name : str
        A label for reports.

    Examples
    --------
    >>> import numpy as np
    >>> from fixedq import nn
    >>> model = nn.Sequential(nn.Linear(np.eye(2, dtype=np.float32)), nn.ReLU())
    >>> model(np.array([[1.0, -2.0]], np.float32))
    array([[1., 0.]], dtype=float32)
    """

    def __init__(self, nodes: Iterable[Node], params: Mapping[str, np.ndarray], inputs: Sequence[str],
                 outputs: Sequence[str], input_shapes: Optional[Mapping[str, Tuple[Optional[int], ...]]] = None,
                 name: str = "model") -> None:
        self.nodes: List[Node] = list(nodes)
        self.params: Dict[str, np.ndarray] = dict(params)
        self.inputs: List[str] = list(inputs)
        self.outputs: List[str] = list(outputs)
        self.input_shapes: Dict[str, Tuple[Optional[int], ...]] = dict(input_shapes or {})
        self.name = name
        self._check()

    def _check(self) -> None:
        known = set(self.params) | set(self.inputs)
        for node in self.nodes:
            if node.op not in FLOAT_OPS:
                raise unsupported(node.op, node.name)
            for t in node.inputs:
                if t and t not in known:
                    raise ValueError(f"node {node.name!r} ({node.op}) reads {t!r}, which no earlier node produces")
            known.update(node.outputs)
        for t in self.outputs:
            if t not in known:
                raise ValueError(f"graph output {t!r} is not produced by any node")

    # -- running -------------------------------------------------------------------------
    def run(self, feeds: Mapping[str, np.ndarray], *, keep: Optional[Iterable[str]] = None) -> Dict[str, np.ndarray]:
        """Run the graph on named inputs.

        Parameters
        ----------
        feeds : mapping of str to numpy.ndarray
            One float array per graph input (converted to float32).
        keep : iterable of str, optional
            Intermediate tensors to return as well (all of them with ``keep="all"``).

        Returns
        -------
        dict of str to numpy.ndarray
            The graph outputs (and the kept tensors).
        """
        env: Dict[str, np.ndarray] = dict(self.params)
        for name in self.inputs:
            if name not in feeds:
                raise ValueError(f"missing input {name!r}; the model takes {self.inputs}")
            env[name] = np.asarray(feeds[name], dtype=np.float32)
        for node in self.nodes:
            args = [env[t] if t else None for t in node.inputs]
            env[node.outputs[0]] = FLOAT_OPS[node.op](node, *args)
        wanted = set(self.outputs) | (set(env) - set(self.params) if keep == "all" else set(keep or ()))
        return {k: env[k] for k in env if k in wanted}

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Run a model with one input and one output on a batch ``x``."""
        if len(self.inputs) != 1 or len(self.outputs) != 1:
            raise ValueError(f"this model has inputs {self.inputs} and outputs {self.outputs}: use run()")
        x = np.asarray(x)
        self.check_input(x)
        return self.run({self.inputs[0]: x})[self.outputs[0]]

    def check_input(self, x: np.ndarray) -> None:
        """Raise ``ValueError`` if ``x`` does not match the declared input shape."""
        shape = self.input_shapes.get(self.inputs[0])
        if shape is None:
            return
        if x.ndim != len(shape) or any(d is not None and d != s for d, s in zip(shape, x.shape)):
            want = "x".join("N" if d is None else str(d) for d in shape)
            raise ValueError(f"input {self.inputs[0]!r} must have shape {want}, got {'x'.join(map(str, x.shape))}")

    # -- structure -----------------------------------------------------------------------
    def consumers(self, tensor: str) -> List[Node]:
        """The nodes that read ``tensor``."""
        return [n for n in self.nodes if tensor in n.inputs]

    def weighted_nodes(self) -> List[Node]:
        """Conv, Gemm and MatMul nodes whose weights are constants (the layers quantization touches)."""
        return [n for n in self.nodes if n.op in ("Conv", "Gemm", "MatMul") and len(n.inputs) > 1
                and n.inputs[1] in self.params]

    def num_parameters(self) -> int:
        """Number of float weights and biases of the weighted layers."""
        total = 0
        for n in self.weighted_nodes():
            total += sum(self.params[t].size for t in n.inputs[1:] if t in self.params)
        return total

    def fold_batchnorm(self) -> int:
        """Fold every BatchNormalization that follows a Conv (only reader of its output) into it.

        Returns
        -------
        int
            The number of nodes folded.
        """
        folded = 0
        for bn in list(self.nodes):
            if bn.op != "BatchNormalization" or not all(t in self.params for t in bn.inputs[1:5]):
                continue
            prev = [n for n in self.nodes if bn.inputs[0] in n.outputs]
            if (len(prev) != 1 or prev[0].op != "Conv" or prev[0].inputs[1] not in self.params
                    or len(self.consumers(bn.inputs[0])) != 1 or bn.inputs[0] in self.outputs):
                continue
            conv = prev[0]
            scale, shift = bn_affine(*(self.params[t] for t in bn.inputs[1:5]), float(bn.attrs.get("epsilon", 1e-5)))
            w = self.params[conv.inputs[1]]
            b = self.params[conv.inputs[2]] if len(conv.inputs) > 2 and conv.inputs[2] else np.zeros(w.shape[0], np.float32)
            wname, bname = conv.name + ".weight_folded", conv.name + ".bias_folded"
            self.params[wname] = (w.astype(np.float64) * scale.reshape(-1, 1, 1, 1)).astype(np.float32)
            self.params[bname] = (b.astype(np.float64) * scale + shift).astype(np.float32)
            conv.inputs = [conv.inputs[0], wname, bname]
            conv.outputs = [bn.outputs[0]]
            self.nodes.remove(bn)
            folded += 1
        self._drop_unused_params()
        return folded

    def _drop_unused_params(self) -> None:
        used = {t for n in self.nodes for t in n.inputs}
        self.params = {k: v for k, v in self.params.items() if k in used or k in self.outputs}

    def summary(self) -> str:
        """One line per node: op, name, weight shapes."""
        lines = [f"{self.name}: inputs {self.inputs}, outputs {self.outputs}, {self.num_parameters()} parameters"]
        for n in self.nodes:
            shapes = [f"{t}{list(self.params[t].shape)}" for t in n.inputs if t in self.params]
            lines.append(f"  {n.op:<20} {n.name:<24} {' '.join(shapes)}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        ops = ", ".join(n.op for n in self.nodes)
        return f"Model({self.name!r}, {len(self.nodes)} nodes: {ops})"
