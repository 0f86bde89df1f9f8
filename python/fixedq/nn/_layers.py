"""A small layer API for users without ONNX: ``Sequential(Conv2d(w, b), ReLU(), ...)``.

Each layer is a description (weights as NumPy arrays and ONNX attributes) that becomes one node
of a :class:`~fixedq.nn.Model`; :class:`Sequential` chains them into a model with the input
``"input"`` and the output ``"output"``. The model is the same kind of object
:func:`~fixedq.nn.load_onnx` returns, so everything downstream (quantization, reports) is shared.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from ._model import Model, Node

__all__ = ["AvgPool2d", "BatchNorm2d", "Conv2d", "Dropout", "Flatten", "GlobalAvgPool", "Layer", "Linear",
           "MaxPool2d", "ReLU", "ReLU6", "Sequential", "Sigmoid", "Softmax"]

_Pair = Union[int, Sequence[int]]


def _pair(v: _Pair, what: str) -> Tuple[int, int]:
    t = (v, v) if isinstance(v, (int, np.integer)) else tuple(v)
    if len(t) != 2 or any(int(i) != i or i < 0 for i in t):
        raise ValueError(f"{what} must be a non-negative int or a pair of them, got {v!r}")
    return (int(t[0]), int(t[1]))


def _weight(a: Any, name: str, ndim: int) -> np.ndarray:
    arr = np.asarray(a)
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"{name} must be real numbers, got dtype {arr.dtype}")
    if arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {arr.shape}")
    return np.ascontiguousarray(arr, dtype=np.float32)


class Layer:
    """Base class: one ONNX node with its constant inputs."""

    op = ""

    def params(self) -> List[np.ndarray]:
        """The constant inputs after the data input, in ONNX order."""
        return []

    def attrs(self) -> Dict[str, Any]:
        """The ONNX attributes."""
        return {}

    def __repr__(self) -> str:
        shapes = ", ".join(str(tuple(p.shape)) for p in self.params())
        return f"{type(self).__name__}({shapes})"


class Conv2d(Layer):
    """2-D convolution: ``weight`` ``(out, in / groups, kH, kW)``, ``bias`` ``(out,)``.

    ``padding`` is an int or ``(pad_h, pad_w)`` applied on both sides (PyTorch's convention).
    """

    op = "Conv"

    def __init__(self, weight: Any, bias: Any = None, *, stride: _Pair = 1, padding: _Pair = 0,
                 dilation: _Pair = 1, groups: int = 1) -> None:
        self.weight = _weight(weight, "Conv2d weight", 4)
        self.bias = None if bias is None else _weight(bias, "Conv2d bias", 1)
        if self.bias is not None and self.bias.shape[0] != self.weight.shape[0]:
            raise ValueError(f"Conv2d bias has {self.bias.shape[0]} values for {self.weight.shape[0]} output channels")
        if groups < 1 or self.weight.shape[0] % groups:
            raise ValueError(f"groups={groups} must divide the {self.weight.shape[0]} output channels")
        self.stride, self.padding, self.dilation, self.groups = (_pair(stride, "stride"), _pair(padding, "padding"),
                                                                 _pair(dilation, "dilation"), int(groups))

    def params(self) -> List[np.ndarray]:
        return [self.weight] + ([] if self.bias is None else [self.bias])

    def attrs(self) -> Dict[str, Any]:
        ph, pw = self.padding
        return {"kernel_shape": list(self.weight.shape[2:]), "strides": list(self.stride), "pads": [ph, pw, ph, pw],
                "dilations": list(self.dilation), "group": self.groups}


class Linear(Layer):
    """Fully connected: ``y = x @ weight.T + bias`` with ``weight`` ``(out, in)`` (PyTorch's layout)."""

    op = "Gemm"

    def __init__(self, weight: Any, bias: Any = None) -> None:
        self.weight = _weight(weight, "Linear weight", 2)
        self.bias = None if bias is None else _weight(bias, "Linear bias", 1)
        if self.bias is not None and self.bias.shape[0] != self.weight.shape[0]:
            raise ValueError(f"Linear bias has {self.bias.shape[0]} values for {self.weight.shape[0]} outputs")

    def params(self) -> List[np.ndarray]:
        return [self.weight] + ([] if self.bias is None else [self.bias])

    def attrs(self) -> Dict[str, Any]:
        return {"transB": 1}


class BatchNorm2d(Layer):
    """Inference batch normalization (folded into a preceding Conv2d by :class:`Sequential`)."""

    op = "BatchNormalization"

    def __init__(self, weight: Any, bias: Any, running_mean: Any, running_var: Any, eps: float = 1e-5) -> None:
        self.tensors = [_weight(a, f"BatchNorm2d {n}", 1) for a, n in
                        ((weight, "weight"), (bias, "bias"), (running_mean, "running_mean"), (running_var, "running_var"))]
        if len({t.shape for t in self.tensors}) != 1:
            raise ValueError("BatchNorm2d tensors must have the same length")
        self.eps = float(eps)

    def params(self) -> List[np.ndarray]:
        return list(self.tensors)

    def attrs(self) -> Dict[str, Any]:
        return {"epsilon": self.eps}


class _Pool(Layer):
    def __init__(self, kernel_size: _Pair, stride: Optional[_Pair] = None, padding: _Pair = 0,
                 ceil_mode: bool = False) -> None:
        self.kernel = _pair(kernel_size, "kernel_size")
        self.stride = self.kernel if stride is None else _pair(stride, "stride")
        self.padding = _pair(padding, "padding")
        self.ceil_mode = bool(ceil_mode)

    def attrs(self) -> Dict[str, Any]:
        ph, pw = self.padding
        return {"kernel_shape": list(self.kernel), "strides": list(self.stride), "pads": [ph, pw, ph, pw],
                "ceil_mode": int(self.ceil_mode)}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(kernel={self.kernel}, stride={self.stride}, padding={self.padding})"


class MaxPool2d(_Pool):
    """Max pooling (stride defaults to the kernel size, as in PyTorch)."""

    op = "MaxPool"


class AvgPool2d(_Pool):
    """Average pooling; padding does not count in the average (``count_include_pad=0``)."""

    op = "AveragePool"


class _Simple(Layer):
    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class GlobalAvgPool(_Simple):
    """Mean over H and W, keeping them as size 1: ``(N, C, H, W) -> (N, C, 1, 1)``."""

    op = "GlobalAveragePool"


class ReLU(_Simple):
    """``max(x, 0)``."""

    op = "Relu"


class ReLU6(_Simple):
    """``min(max(x, 0), 6)`` (ONNX Clip)."""

    op = "Clip"

    def attrs(self) -> Dict[str, Any]:
        return {"min": 0.0, "max": 6.0}


class Sigmoid(_Simple):
    """``1 / (1 + exp(-x))``."""

    op = "Sigmoid"


class Flatten(_Simple):
    """``(N, ...) -> (N, prod(...))``."""

    op = "Flatten"


class Softmax(_Simple):
    """Softmax over the last axis."""

    op = "Softmax"

    def attrs(self) -> Dict[str, Any]:
        return {"axis": -1}


class Dropout(_Simple):
    """Identity at inference."""

    op = "Dropout"


class Sequential(Model):
    """A chain of layers as a :class:`Model`: input ``"input"``, output ``"output"``.

    Parameters
    ----------
    *layers : Layer
        Applied in order. BatchNorm2d after Conv2d is folded into it.
    input_shape : tuple, optional
        The shape of one sample (without the batch), checked on every call.
    name : str

    Examples
    --------
    >>> import numpy as np
    >>> from fixedq import nn
    >>> rng = np.random.default_rng(0)
    >>> model = nn.Sequential(nn.Conv2d(rng.normal(size=(4, 1, 3, 3)), np.zeros(4), padding=1), nn.ReLU(),
    ...                       nn.MaxPool2d(2), nn.Flatten(), nn.Linear(rng.normal(size=(3, 64))),
    ...                       input_shape=(1, 8, 8))
    >>> model(np.ones((2, 1, 8, 8), np.float32)).shape
    (2, 3)
    """

    def __init__(self, *layers: Layer, input_shape: Optional[Sequence[int]] = None, name: str = "sequential") -> None:
        if not layers:
            raise ValueError("Sequential needs at least one layer")
        nodes, params = [], {}
        prev = "input"
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"layer {i} must be a fixedq.nn layer, got {type(layer).__name__}")
            name_i = f"{i}.{type(layer).__name__.lower()}"
            ins = [prev]
            for j, p in enumerate(layer.params()):
                pname = f"{name_i}.p{j}"
                params[pname] = p
                ins.append(pname)
            out = "output" if i == len(layers) - 1 else f"{name_i}.out"
            nodes.append(Node(layer.op, name_i, ins, [out], layer.attrs()))
            prev = out
        shapes = {} if input_shape is None else {"input": (None, *(int(d) for d in input_shape))}
        super().__init__(nodes, params, ["input"], ["output"], shapes, name=name)
        self.layers = list(layers)
        self.fold_batchnorm()
