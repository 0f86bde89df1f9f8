"""ONNX quantization operators on NumPy arrays, computed by fixedq's int8 kernels.

Each function is named after the ONNX operator it computes and gives that operator's result bit
for bit: :func:`quantize_linear`, :func:`dequantize_linear`, :func:`dynamic_quantize_linear`,
:func:`matmul_integer`, :func:`qlinear_matmul`, :func:`conv_integer` and :func:`qlinear_conv`,
plus :func:`dot`. :class:`QLinearMatMul` and :class:`QLinearConv` pack their weights once and are
then called with activations only.

Conventions shared by every function:

* **Data** (``x``, ``a``, ``b``, ``w``) are NumPy arrays of the dtypes the operator takes
  (uint8/int8, float32 for the float side). They are never converted: another dtype raises
  ``TypeError``. C-contiguous arrays are used in place; others are copied once.
* **Scales** are float32 scalars or 1-D arrays (a Python ``float`` is taken as float32, like a
  weak scalar under NEP 50; other NumPy float dtypes raise ``TypeError``). They must be positive
  and finite. The requantizing operators also accept float16 scales (ONNX opset 21), widened to
  float32 exactly.
* **Zero points** are uint8/int8 NumPy scalars or arrays, of the same dtype as their tensor. Where
  the dtype is already fixed by the tensor, a Python ``int`` in its range is accepted too. The
  output zero point (``y_zero_point``) selects the output dtype; without one the output is
  uint8, as in ONNX.
* **Rounding** is to nearest, ties to even, everywhere. Requantization follows ONNX Runtime:
  the multiplier ``x_scale * w_scale / y_scale`` (``a_scale * b_scale / y_scale``) is computed in
  float32 in that order, and ``float32(acc + bias) * multiplier`` is clamped to the output range
  (or to ``y_clamp``, a fused Relu/Clip; shifted by the zero point), rounded, and the zero point
  added.
* **Accumulation** is in int32, wrapping modulo 2^32 (the ONNX rule: "accumulation may overflow
  if and only if in 32 bits"); products never overflow.

The kernels run on the best instruction set of this CPU (:func:`isa`); the environment variable
``FIXEDQ_ISA`` forces a lower one (``scalar``, ``avx2``, ...) at start-up. Results are the same on
every path. GEMM and convolution use :func:`get_num_threads` threads; the GIL is released while
they run, so calls from several Python threads proceed in parallel.
"""

from __future__ import annotations

import math
import numbers
import operator
from typing import Any, Optional, Sequence, Tuple, cast

import numpy as np

from ._core import ops as _ops

__all__ = [
    "QLinearConv",
    "QLinearMatMul",
    "available_isas",
    "conv_integer",
    "dequantize_linear",
    "dot",
    "dynamic_quantize_linear",
    "get_num_threads",
    "isa",
    "isa_names",
    "matmul_integer",
    "qlinear_conv",
    "qlinear_matmul",
    "quantize_linear",
    "set_num_threads",
]

_INT8_TYPES = (np.dtype(np.uint8), np.dtype(np.int8))
_FLOAT32 = np.dtype(np.float32)
_FLOAT16 = np.dtype(np.float16)
_FLT_MAX = float(np.finfo(np.float32).max)
_RANGES = {np.dtype(np.uint8): (0, 255), np.dtype(np.int8): (-128, 127)}
_AUTO_PADS = ("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID")
_LAYOUTS = ("NCHW", "NHWC")


# ------------------------------------------------------------------------------------------
# Argument normalisation (the C++ layer checks again whatever memory safety depends on)
# ------------------------------------------------------------------------------------------
def _describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"dtype {value.dtype}"
    if isinstance(value, np.generic):
        return f"a numpy scalar of dtype {value.dtype}"
    return f"an object of type {type(value).__name__}"


def _data(value: Any, name: str, op: str, dtypes: Sequence[np.dtype]) -> np.ndarray:
    """An input tensor: a NumPy array of one of ``dtypes``, never converted."""
    if isinstance(value, np.ndarray) and value.dtype in dtypes:
        return value
    names = " or ".join(str(d) for d in dtypes)
    if not isinstance(value, np.ndarray):
        msg = f"{op}: {name} must be a numpy.ndarray of dtype {names}, got {_describe(value)}"
        raise TypeError(msg)
    if value.dtype not in dtypes:
        msg = f"{op}: {name} must have dtype {names}, got {_describe(value)}"
        raise TypeError(msg)
    return value


def _scale(value: Any, name: str, op: str, *, allow_float16: bool = False) -> np.ndarray:
    """A scale as a float32 array with at most one dimension, checked positive and finite."""
    if isinstance(value, (np.ndarray, np.generic)):
        arr = np.asarray(value)
        if arr.dtype == _FLOAT32:
            pass
        elif arr.dtype == _FLOAT16 and allow_float16:
            arr = arr.astype(np.float32)  # exact
        else:
            allowed = "float32 or float16" if allow_float16 else "float32"
            msg = (f"{op}: {name} must have dtype {allowed} (or be a Python float), got {_describe(value)}; "
                   f"convert it explicitly, e.g. np.float32(...)")
            raise TypeError(msg)
    elif isinstance(value, numbers.Real) and not isinstance(value, bool):
        arr = np.array(_to_float32(float(value)), dtype=np.float32)  # +-inf beyond float32: rejected below
    else:
        msg = f"{op}: {name} must be a float32 scalar or 1-D array, got {_describe(value)}"
        raise TypeError(msg)
    if arr.ndim > 1:
        msg = f"{op}: {name} must be a scalar or 1-D, got shape {arr.shape}"
        raise ValueError(msg)
    if arr.size == 0:
        msg = f"{op}: {name} is empty"
        raise ValueError(msg)
    if arr.size == 1:
        v = arr.item()
        if v > 0 and math.isfinite(v):
            return arr
    good = np.isfinite(arr) & (arr > 0)
    if not good.all():
        i = int(np.argmin(good.reshape(-1)))
        where = f" at index {i}" if arr.ndim == 1 else ""
        msg = f"{op}: {name} must be positive and finite, got {arr.reshape(-1)[i]}{where}"
        raise ValueError(msg)
    return arr


def _zero_point(value: Any, name: str, op: str, like: Optional[np.dtype] = None, owner: str = "",
                max_ndim: int = 1) -> Optional[np.ndarray]:
    """A zero point as a uint8/int8 array (at most ``max_ndim``-D), or None.

    ``like`` is the dtype of the tensor the zero point belongs to (named ``owner``): the zero
    point must have it, and a Python int is accepted and range-checked. Without ``like`` the zero
    point chooses the output type and must carry a dtype itself.
    """
    if value is None:
        return None
    if isinstance(value, (np.ndarray, np.generic)):
        arr = np.asarray(value)
        if arr.dtype not in _INT8_TYPES:
            msg = f"{op}: {name} must have dtype uint8 or int8, got {_describe(value)}"
            raise TypeError(msg)
        if like is not None and arr.dtype != like:
            msg = (f"{op}: {name} has dtype {arr.dtype} but {owner} has dtype {like}; "
                   f"a zero point has the dtype of its tensor")
            raise TypeError(msg)
    elif isinstance(value, numbers.Integral) and not isinstance(value, bool):
        if like is None:
            msg = (f"{op}: {name} selects the output dtype, so it must be a numpy uint8 or int8 value "
                   f"(e.g. np.uint8({int(value)})), got a Python int")
            raise TypeError(msg)
        lo, hi = _RANGES[like]
        if not lo <= int(value) <= hi:
            msg = f"{op}: {name} = {int(value)} is outside the range of {like} [{lo}, {hi}]"
            raise ValueError(msg)
        arr = np.array(int(value), dtype=like)
    else:
        msg = f"{op}: {name} must be a uint8/int8 scalar or array, got {_describe(value)}"
        raise TypeError(msg)
    if arr.ndim > max_ndim:
        msg = f"{op}: {name} must be a scalar or 1-D, got shape {arr.shape}"
        raise ValueError(msg)
    if arr.size == 0:
        msg = f"{op}: {name} is empty"
        raise ValueError(msg)
    return arr


def _per_tensor(arr: Optional[np.ndarray], name: str, op: str) -> None:
    if arr is not None and arr.size != 1:
        msg = f"{op}: {name} must be a scalar (per-tensor), got shape {arr.shape}"
        raise ValueError(msg)


def _y_clamp(value: Any, op: str, out: np.dtype) -> Optional[Tuple[int, int]]:
    """``y_clamp`` as ``(lo, hi)`` Python ints, checked against the output dtype ``out``, or None."""
    if value is None:
        return None
    try:
        items = list(value)
        if len(items) != 2 or any(isinstance(v, (bool, np.bool_)) for v in items):
            raise TypeError
        lo, hi = (operator.index(v) for v in items)
    except TypeError:
        msg = f"{op}: y_clamp must be None or a pair of ints (lo, hi), got {value!r}"
        raise TypeError(msg) from None
    qmin, qmax = _RANGES[out]
    if not qmin <= lo <= hi <= qmax:
        msg = (f"{op}: y_clamp = ({lo}, {hi}) must satisfy {qmin} <= lo <= hi <= {qmax} "
               f"(the range of the output dtype {out})")
        raise ValueError(msg)
    return lo, hi


def _vector_param(arr: Optional[np.ndarray], name: str, op: str, length: int, what: str,
                  extra_shapes: Sequence[Tuple[int, ...]] = ()) -> Optional[np.ndarray]:
    """A per-tensor or per-``what`` parameter: shape (), (1,), (length,) or one of
    ``extra_shapes``; returned with at most one dimension."""
    if arr is None:
        return None
    shape = arr.shape
    if shape in ((), (1,), (length,)):
        return arr
    if shape in extra_shapes:
        return arr.reshape(-1)
    allowed = ", ".join(str(s) for s in ((), (1,), (length,), *extra_shapes))
    msg = f"{op}: {name} must have shape {allowed} (per tensor or per {what}), got {shape}"
    raise ValueError(msg)


def _axis(axis: Any, op: str) -> int:
    if isinstance(axis, bool):
        msg = f"{op}: axis must be an int, got a bool"
        raise TypeError(msg)
    try:
        value = operator.index(axis)
    except TypeError:
        msg = f"{op}: axis must be an int, got {_describe(axis)}"
        raise TypeError(msg) from None
    if not -(2**31) <= value < 2**31:
        msg = f"{op}: axis {value} is out of range"
        raise ValueError(msg)
    return value


def _to_float32(v: float) -> np.float32:
    """float32(v), rounded to nearest; inf (without NumPy's warning) beyond the float32 range."""
    if abs(v) <= _FLT_MAX or v != v:
        return np.float32(v)
    with np.errstate(over="ignore"):
        return np.float32(v)


def _multiplier(op: str, x_scale: np.ndarray, w_scale: np.ndarray, y_scale: np.ndarray,
                names: Tuple[str, str, str]) -> np.ndarray:
    """``x_scale * w_scale / y_scale`` in float32, in that order (ONNX Runtime's expression).

    Computed through float64: the product of two float32 values is exact in float64, and a
    float32 quotient computed in float64 and rounded to float32 is the correctly rounded float32
    quotient (53 >= 2 * 24 + 2 bits: double rounding is innocuous), so each step gives exactly
    the float32 operation's result, without NumPy's overflow warnings to manage.
    """
    x, w, y = (np.asarray(v, np.float64).reshape(-1) for v in (x_scale, w_scale, y_scale))
    if x.size == w.size == y.size == 1:  # the common case, in Python floats
        product = float(_to_float32(float(x[0]) * float(w[0])))
        m = np.array([_to_float32(product / float(y[0]))], np.float32)
    else:
        with np.errstate(over="ignore"):
            products = (x * w).astype(np.float32).astype(np.float64)
            m = (products / y).astype(np.float32)
    if not np.isfinite(m).all():
        msg = f"{op}: the requantization multiplier {names[0]} * {names[1]} / {names[2]} overflows float32"
        raise ValueError(msg)
    return m


def _ints(value: Any, name: str, op: str, count: int, default: int) -> list[int]:
    if value is None:
        return [default] * count
    try:
        items = [operator.index(v) for v in value]
    except TypeError:
        msg = f"{op}: {name} must be a sequence of {count} ints, got {value!r}"
        raise TypeError(msg) from None
    if len(items) != count:
        msg = f"{op}: {name} must have {count} values (2-D convolution), got {len(items)}: {value!r}"
        raise ValueError(msg)
    return items


def _conv_attributes(op: str, w: np.ndarray, auto_pad: Any, dilations: Any, group: Any, kernel_shape: Any,
                     pads: Any, strides: Any, layout: Any) -> dict[str, Any]:
    if isinstance(auto_pad, bytes):
        auto_pad = auto_pad.decode()
    if auto_pad not in _AUTO_PADS:
        msg = f"{op}: auto_pad must be one of {', '.join(_AUTO_PADS)}, got {auto_pad!r}"
        raise ValueError(msg)
    if layout not in _LAYOUTS:
        msg = f"{op}: layout must be 'NCHW' or 'NHWC', got {layout!r}"
        raise ValueError(msg)
    if isinstance(group, bool) or not isinstance(group, numbers.Integral) or not 1 <= int(group) < 2**31:
        msg = f"{op}: group must be an int >= 1, got {group!r}"
        raise ValueError(msg)
    if w.ndim != 4:
        msg = (f"{op}: w must be 4-D (M, C/group, kH, kW): only 2-D convolutions are supported; "
               f"got shape {w.shape}")
        raise ValueError(msg)
    if kernel_shape is not None:
        ks = _ints(kernel_shape, "kernel_shape", op, 2, 1)
        if tuple(ks) != w.shape[2:]:
            msg = f"{op}: kernel_shape {list(ks)} does not match w.shape[2:] = {list(w.shape[2:])}"
            raise ValueError(msg)
    pad_list = _ints(pads, "pads", op, 4, 0)
    if auto_pad != "NOTSET" and any(pad_list):
        msg = f"{op}: pads {pad_list} cannot be combined with auto_pad={auto_pad!r}"
        raise ValueError(msg)
    attrs = {
        "group": int(group),
        "strides": _ints(strides, "strides", op, 2, 1),
        "dilations": _ints(dilations, "dilations", op, 2, 1),
        "pads": pad_list,
        "auto_pad": auto_pad,
        "layout": layout,
    }
    for key, lo in (("strides", 1), ("dilations", 1), ("pads", 0)):
        bad = [v for v in attrs[key] if not lo <= v <= 2**20]
        if bad:
            msg = f"{op}: {key} must be in [{lo}, 2^20], got {attrs[key]}"
            raise ValueError(msg)
    return attrs


# ------------------------------------------------------------------------------------------
# Quantize / dequantize
# ------------------------------------------------------------------------------------------
def quantize_linear(x: np.ndarray, y_scale: Any, y_zero_point: Any = None, axis: int = 1) -> np.ndarray:
    """ONNX QuantizeLinear: ``y = saturate(round(x / y_scale) + y_zero_point)``.

    Parameters
    ----------
    x : numpy.ndarray of float32
        The values to quantize. NaN has no quantized value and raises; +-inf saturate.
    y_scale : float or float32 scalar or 1-D array
        Per-tensor (one value) or per-axis (one value per index of ``x``'s axis ``axis``).
    y_zero_point : numpy uint8/int8 scalar or 1-D array, optional
        As many values as ``y_scale``, or one for every channel (ONNX asks for equal shapes;
        one value is accepted as well). Its dtype is the output dtype. Default: uint8 0.
    axis : int, default 1
        The quantization axis of a per-axis ``y_scale`` (negative counts from the end); ignored
        per tensor.

    Returns
    -------
    numpy.ndarray of uint8 or int8
        Same shape as ``x``. The division is in float32 and rounds to nearest; the quotient is
        rounded half to even, the zero point added, and the result saturated to the dtype's range.

    Raises
    ------
    TypeError
        ``x`` not float32, ``y_scale`` not float32, ``y_zero_point`` not uint8/int8.
    ValueError
        NaN in ``x``; a scale that is not positive and finite; a ``y_scale`` that does not match
        ``x.shape[axis]``, or a ``y_zero_point`` of another size (but 1).

    Examples
    --------
    >>> import numpy as np
    >>> from fixedq import ops
    >>> ops.quantize_linear(np.array([0, 2, 3, 1000, -254, -1000], np.float32), 2.0, np.uint8(128))
    array([128, 129, 130, 255,   1,   0], dtype=uint8)
    """
    op = "quantize_linear"
    scale = _scale(y_scale, "y_scale", op)
    zp = _zero_point(y_zero_point, "y_zero_point", op)
    return _ops.quantize_linear(x, scale, zp, _axis(axis, op), op)


def dequantize_linear(x: np.ndarray, x_scale: Any, x_zero_point: Any = None, axis: int = 1) -> np.ndarray:
    """ONNX DequantizeLinear: ``y = float32(x - x_zero_point) * x_scale``.

    Parameters
    ----------
    x : numpy.ndarray of uint8 or int8
        The quantized values.
    x_scale : float or float32 scalar or 1-D array
        Per-tensor or per-axis (one value per index of ``x``'s axis ``axis``).
    x_zero_point : uint8/int8 scalar or 1-D array, or int, optional
        The dtype of ``x``; as many values as ``x_scale``, or one for every channel. Default 0.
    axis : int, default 1
        The axis of a per-axis ``x_scale``.

    Returns
    -------
    numpy.ndarray of float32
        Same shape as ``x``; the difference is exact and the product rounded to nearest.

    Raises
    ------
    TypeError
        Wrong dtypes, or a zero point whose dtype differs from ``x``'s.
    ValueError
        A scale that is not positive and finite; mismatched shapes; a Python int zero point out
        of the dtype's range.

    Examples
    --------
    >>> import numpy as np
    >>> from fixedq import ops
    >>> ops.dequantize_linear(np.array([0, 3, 128, 255], np.uint8), 2.0, np.uint8(128))
    array([-256., -250.,    0.,  254.], dtype=float32)
    """
    op = "dequantize_linear"
    x = _data(x, "x", op, _INT8_TYPES)
    scale = _scale(x_scale, "x_scale", op)
    zp = _zero_point(x_zero_point, "x_zero_point", op, like=x.dtype, owner="x")
    return _ops.dequantize_linear(x, scale, zp, _axis(axis, op), op)


def dynamic_quantize_linear(x: np.ndarray) -> Tuple[np.ndarray, np.float32, np.uint8]:
    """ONNX DynamicQuantizeLinear: quantize to uint8 with a scale and zero point from ``x``'s range.

    In float32, as ONNX Runtime does: the range ``[min(x, 0), max(x, 0)]`` (it always holds 0),
    ``y_scale = (max - min) / 255``, ``y_zero_point = round_half_even(clamp(0 - min / y_scale,
    0, 255))``, then :func:`quantize_linear`. When the range is empty (``x`` all zeros, or empty),
    ``y_scale`` is 1 as in ONNX Runtime (the ONNX formula divides by zero there; the ONNX Python
    reference uses 1/255).

    Parameters
    ----------
    x : numpy.ndarray of float32
        Finite values.

    Returns
    -------
    y : numpy.ndarray of uint8
        Same shape as ``x``.
    y_scale : numpy.float32
    y_zero_point : numpy.uint8

    Raises
    ------
    TypeError
        ``x`` not a float32 array.
    ValueError
        NaN or +-inf in ``x``, or a range that overflows float32.

    Examples
    --------
    >>> import numpy as np
    >>> from fixedq import ops
    >>> y, scale, zp = ops.dynamic_quantize_linear(np.array([0, 2, -3, -2.5, 1.34, 0.5], np.float32))
    >>> y, scale, zp
    (array([153, 255,   0,  26, 221, 179], dtype=uint8), np.float32(0.019607844), np.uint8(153))
    """
    y, scale, zp = _ops.dynamic_quantize_linear(x, "dynamic_quantize_linear")
    return y, np.float32(scale), np.uint8(zp)


# ------------------------------------------------------------------------------------------
# MatMul
# ------------------------------------------------------------------------------------------
def _matmul(op: str, a: np.ndarray, b: np.ndarray, a_zero_point: Optional[np.ndarray],
            b_zero_point: Optional[np.ndarray], multiplier: Optional[np.ndarray],
            y_zero_point: Optional[np.ndarray], y_clamp: Optional[Tuple[int, int]] = None) -> np.ndarray:
    """numpy.matmul's shapes over the int8 GEMM (B packed once per batch of b)."""
    if a.ndim == 0 or b.ndim == 0:
        msg = f"{op}: a and b must have at least one dimension (numpy.matmul rules), got shapes {a.shape} and {b.shape}"
        raise ValueError(msg)
    a2 = a[np.newaxis, :] if a.ndim == 1 else a
    b2 = b[:, np.newaxis] if b.ndim == 1 else b
    m, k = a2.shape[-2:]
    kb, n = b2.shape[-2:]
    if k != kb:
        msg = (f"{op}: a.shape[-1] ({k}) must equal b.shape[-2] ({kb}) (numpy.matmul rules); "
               f"got a of shape {a.shape} and b of shape {b.shape}")
        raise ValueError(msg)
    batch: Tuple[int, ...] = ()
    if a2.ndim > 2 or b2.ndim > 2:
        try:
            batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
        except ValueError:
            msg = f"{op}: the batch dimensions of a {a.shape} and b {b.shape} do not broadcast"
            raise ValueError(msg) from None
    za = _vector_param(a_zero_point, "a_zero_point", op, m, "row of a", ((m, 1),))
    zb = _vector_param(b_zero_point, "b_zero_point", op, n, "column of b", ((1, n),))
    out_shape = batch + (m, n)
    final_shape = batch + ((m,) if a.ndim > 1 else ()) + ((n,) if b.ndim > 1 else ())
    if b2.ndim == 2:  # one B: the batch of a is just more rows
        y = _ops.PackedMatMul(b2, zb, za, multiplier, y_zero_point, op, y_clamp)(a2)
    else:
        a_batches = math.prod(a2.shape[:-2])
        b_batches = math.prod(b2.shape[:-2])
        packed = _ops.PackedMatMul(b2.reshape((b_batches, k, n)), zb, za, multiplier, y_zero_point, op, y_clamp)
        a_index = np.broadcast_to(np.arange(a_batches, dtype=np.int64).reshape(a2.shape[:-2]), batch).reshape(-1)
        b_index = np.broadcast_to(np.arange(b_batches, dtype=np.int64).reshape(b2.shape[:-2]), batch).reshape(-1)
        y = packed._run_batched(a2.reshape((a_batches, m, k)), a_index, b_index)
    return y.reshape(out_shape).reshape(final_shape)


def matmul_integer(a: np.ndarray, b: np.ndarray, a_zero_point: Any = None, b_zero_point: Any = None) -> np.ndarray:
    """ONNX MatMulInteger: ``(a - a_zero_point) @ (b - b_zero_point)`` in int32.

    Parameters
    ----------
    a, b : numpy.ndarray of uint8 or int8
        Any combination of dtypes; shapes as :func:`numpy.matmul` (1-D operands, broadcast
        leading dimensions).
    a_zero_point : uint8/int8 scalar or array, or int, optional
        The dtype of ``a``; per tensor (shape ``()`` or ``(1,)``) or per row of ``a`` (``(M,)`` or
        ``(M, 1)``). Default 0.
    b_zero_point : uint8/int8 scalar or array, or int, optional
        The dtype of ``b``; per tensor or per column of ``b`` (``(N,)`` or ``(1, N)``). Default 0.

    Returns
    -------
    numpy.ndarray of int32
        The exact products summed modulo 2^32.

    Raises
    ------
    TypeError
        Wrong dtypes, or a zero point whose dtype differs from its tensor's.
    ValueError
        Shapes that do not multiply or broadcast; zero points of other shapes.

    Examples
    --------
    >>> import numpy as np
    >>> from fixedq import ops
    >>> a = np.array([[11, 7, 3], [10, 6, 2]], np.uint8)
    >>> b = np.array([[1, 4], [2, 5], [3, 6]], np.uint8)
    >>> ops.matmul_integer(a, b, np.uint8(12))
    array([[-38, -83],
           [-44, -98]], dtype=int32)
    """
    op = "matmul_integer"
    a = _data(a, "a", op, _INT8_TYPES)
    b = _data(b, "b", op, _INT8_TYPES)
    za = _zero_point(a_zero_point, "a_zero_point", op, like=a.dtype, owner="a", max_ndim=2)
    zb = _zero_point(b_zero_point, "b_zero_point", op, like=b.dtype, owner="b", max_ndim=2)
    return _matmul(op, a, b, za, zb, None, None)


def _qlinear_matmul_params(op: str, a_dtype: Optional[np.dtype], b: np.ndarray, a_scale: Any, a_zero_point: Any,
                           b_scale: Any, b_zero_point: Any, y_scale: Any, y_zero_point: Any) -> tuple[Any, ...]:
    n = b.shape[-1] if b.ndim >= 2 else 1
    sa = _scale(a_scale, "a_scale", op, allow_float16=True)
    if sa.size != 1:
        msg = f"{op}: a_scale must be a scalar (per-tensor), got shape {sa.shape}; per-row a_scale is not supported"
        raise ValueError(msg)
    sb_raw = b_scale
    if isinstance(b_scale, np.ndarray) and b_scale.shape == (1, n):
        sb_raw = b_scale.reshape(-1)
    sb = _scale(sb_raw, "b_scale", op, allow_float16=True)
    if sb.size not in (1, n):
        msg = f"{op}: b_scale must have 1 value (per tensor) or N = {n} (per column of b), got shape {sb.shape}"
        raise ValueError(msg)
    sy = _scale(y_scale, "y_scale", op, allow_float16=True)
    _per_tensor(sy, "y_scale", op)
    za = _zero_point(a_zero_point, "a_zero_point", op, like=a_dtype, owner="a")
    _per_tensor(za, "a_zero_point", op)
    zb_raw = b_zero_point
    if isinstance(b_zero_point, np.ndarray) and b_zero_point.shape == (1, n):
        zb_raw = b_zero_point.reshape(-1)
    zb = _zero_point(zb_raw, "b_zero_point", op, like=b.dtype, owner="b")
    if zb is not None and zb.size not in (1, n):
        msg = f"{op}: b_zero_point must have 1 value (per tensor) or N = {n} (per column of b), got shape {zb.shape}"
        raise ValueError(msg)
    zy = _zero_point(y_zero_point, "y_zero_point", op)
    _per_tensor(zy, "y_zero_point", op)
    if zy is None:
        zy = np.zeros((), np.uint8)
    multiplier = _multiplier(op, sa, sb, sy, ("a_scale", "b_scale", "y_scale"))
    return za, zb, multiplier, zy, (sa, sb, sy)


def qlinear_matmul(a: np.ndarray, a_scale: Any, a_zero_point: Any, b: np.ndarray, b_scale: Any, b_zero_point: Any,
                   y_scale: Any, y_zero_point: Any, *, y_clamp: Optional[Tuple[int, int]] = None) -> np.ndarray:
    """ONNX QLinearMatMul: the quantized product, requantized to ``y_scale``/``y_zero_point``.

    ``y = saturate(round_half_even(float32((a - a_zero_point) @ (b - b_zero_point)) * m) +
    y_zero_point)`` with ``m = a_scale * b_scale / y_scale`` in float32 (ONNX Runtime's
    computation, bit for bit).

    Parameters
    ----------
    a : numpy.ndarray of uint8 or int8
        Shapes as :func:`numpy.matmul`.
    a_scale : float or float32/float16 scalar
        Per tensor.
    a_zero_point : scalar of ``a``'s dtype, or int, or None (0)
    b : numpy.ndarray of uint8 or int8
    b_scale : float or float32/float16 scalar or 1-D array
        Per tensor, or per column of ``b`` (``(N,)`` or ``(1, N)``).
    b_zero_point : ``b``'s dtype, or int, or None (0)
        Per tensor or per column, like ``b_scale``.
    y_scale : float or float32/float16 scalar
    y_zero_point : numpy uint8/int8 scalar
        Selects the output dtype (None: uint8 0).
    y_clamp : (int, int), optional
        ``(lo, hi)``: the output codes are clamped to ``[lo, hi]`` by the kernel's output stage, a
        fused Relu (``(y_zero_point, qmax)``) or Clip; bit for bit ``np.clip(y, lo, hi)`` of the
        unclamped result. Keyword only; ``lo <= hi`` within the output dtype's range.

    Returns
    -------
    numpy.ndarray of uint8 or int8

    Raises
    ------
    TypeError
        Wrong dtypes or a zero point whose dtype differs from its tensor's; ``y_clamp`` not a pair
        of ints.
    ValueError
        Scales that are not positive and finite, shapes that do not multiply, parameters of
        unsupported shapes, a multiplier that overflows float32, ``y_clamp`` outside the output
        range or with ``lo > hi``.

    Examples
    --------
    >>> import numpy as np
    >>> from fixedq import ops
    >>> a = np.array([[208, 236, 0, 238], [3, 214, 255, 29]], np.uint8)
    >>> b = np.array([[152, 51, 244], [60, 26, 255], [0, 127, 246], [127, 254, 247]], np.uint8)
    >>> ops.qlinear_matmul(a, np.float32(0.0066), np.uint8(113), b, np.float32(0.00705), np.uint8(114),
    ...                    np.float32(0.0107), np.uint8(118))
    array([[168, 115, 255],
           [  1,  66, 151]], dtype=uint8)
    >>> ops.qlinear_matmul(a, np.float32(0.0066), np.uint8(113), b, np.float32(0.00705), np.uint8(114),
    ...                    np.float32(0.0107), np.uint8(118), y_clamp=(118, 160))  # fused Clip(0, 0.45)
    array([[160, 118, 160],
           [118, 118, 151]], dtype=uint8)
    """
    op = "qlinear_matmul"
    a = _data(a, "a", op, _INT8_TYPES)
    b = _data(b, "b", op, _INT8_TYPES)
    za, zb, multiplier, zy, _ = _qlinear_matmul_params(op, a.dtype, b, a_scale, a_zero_point, b_scale,
                                                       b_zero_point, y_scale, y_zero_point)
    return _matmul(op, a, b, za, zb, multiplier, zy, _y_clamp(y_clamp, op, zy.dtype))


# ------------------------------------------------------------------------------------------
# Conv
# ------------------------------------------------------------------------------------------
def _conv_zero_points(op: str, x_dtype: Optional[np.dtype], w: np.ndarray, x_zero_point: Any,
                      w_zero_point: Any) -> tuple[Optional[np.ndarray], Optional[np.ndarray]]:
    zx = _zero_point(x_zero_point, "x_zero_point", op, like=x_dtype, owner="x")
    _per_tensor(zx, "x_zero_point", op)
    zw = _zero_point(w_zero_point, "w_zero_point", op, like=w.dtype, owner="w")
    m = w.shape[0]
    if zw is not None and zw.size not in (1, m):
        msg = (f"{op}: w_zero_point must have 1 value (per tensor) or M = {m} (per output channel), "
               f"got shape {zw.shape}")
        raise ValueError(msg)
    return zx, zw


def _packed_conv(op: str, x_dtype: Optional[np.dtype], w: np.ndarray, x_zero_point: Any, w_zero_point: Any,
                 bias: Any, multiplier: Optional[np.ndarray], y_zero_point: Optional[np.ndarray],
                 attrs: dict[str, Any], y_clamp: Optional[Tuple[int, int]] = None) -> _ops.PackedConv:
    zx, zw = _conv_zero_points(op, x_dtype, w, x_zero_point, w_zero_point)
    return _ops.PackedConv(w, zw, zx, bias, multiplier, y_zero_point, attrs["group"], attrs["strides"],
                           attrs["dilations"], attrs["pads"], attrs["auto_pad"], attrs["layout"], op, y_clamp)


def conv_integer(x: np.ndarray, w: np.ndarray, x_zero_point: Any = None, w_zero_point: Any = None, *,
                 auto_pad: str = "NOTSET", dilations: Optional[Sequence[int]] = None, group: int = 1,
                 kernel_shape: Optional[Sequence[int]] = None, pads: Optional[Sequence[int]] = None,
                 strides: Optional[Sequence[int]] = None, layout: str = "NCHW") -> np.ndarray:
    """ONNX ConvInteger (2-D): ``conv(x - x_zero_point, w - w_zero_point)`` in int32.

    Parameters
    ----------
    x : numpy.ndarray of uint8 or int8
        ``(N, C, H, W)``, or ``(N, H, W, C)`` with ``layout="NHWC"``.
    w : numpy.ndarray of uint8 or int8
        ``(M, C / group, kH, kW)``, always in ONNX order whatever ``layout``.
    x_zero_point : scalar of ``x``'s dtype, or int, optional
        Per tensor. Padding reads as this value, so it contributes 0.
    w_zero_point : ``w``'s dtype, or int, optional
        Per tensor or per output channel (``(M,)``).
    auto_pad : {"NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"}
        As ONNX: SAME_* pad for an output of ``ceil(H / stride)``, the odd pixel at the end
        (UPPER) or the beginning (LOWER); VALID pads nothing. Not combinable with non-zero ``pads``.
    dilations, strides : sequence of 2 ints, optional
        Default ``[1, 1]``.
    group : int, default 1
    kernel_shape : sequence of 2 ints, optional
        If given, must equal ``w.shape[2:]``.
    pads : sequence of 4 ints, optional
        ONNX order ``[top, left, bottom, right]``; default zeros.
    layout : {"NCHW", "NHWC"}
        The layout of ``x`` and of the result.

    Returns
    -------
    numpy.ndarray of int32
        ``(N, M, OH, OW)`` (or ``(N, OH, OW, M)``), summed modulo 2^32.

    Raises
    ------
    TypeError
        Wrong dtypes, or a zero point whose dtype differs from its tensor's.
    ValueError
        Not 2-D; channels that do not match ``w`` and ``group``; a kernel larger than the padded
        input; bad attributes.

    Examples
    --------
    >>> import numpy as np
    >>> from fixedq import ops
    >>> x = np.arange(2, 11, dtype=np.uint8).reshape(1, 1, 3, 3)
    >>> ops.conv_integer(x, np.ones((1, 1, 2, 2), np.uint8), np.uint8(1))
    array([[[[12, 16],
             [24, 28]]]], dtype=int32)
    """
    op = "conv_integer"
    x = _data(x, "x", op, _INT8_TYPES)
    w = _data(w, "w", op, _INT8_TYPES)
    attrs = _conv_attributes(op, w, auto_pad, dilations, group, kernel_shape, pads, strides, layout)
    return _packed_conv(op, x.dtype, w, x_zero_point, w_zero_point, None, None, None, attrs)(x)


def _qlinear_conv_params(op: str, w: np.ndarray, x_scale: Any, w_scale: Any, y_scale: Any,
                         y_zero_point: Any) -> tuple[Any, ...]:
    sx = _scale(x_scale, "x_scale", op, allow_float16=True)
    _per_tensor(sx, "x_scale", op)
    sw = _scale(w_scale, "w_scale", op, allow_float16=True)
    m = w.shape[0] if w.ndim >= 1 else 0
    if sw.size not in (1, m):
        msg = f"{op}: w_scale must have 1 value (per tensor) or M = {m} (per output channel), got shape {sw.shape}"
        raise ValueError(msg)
    sy = _scale(y_scale, "y_scale", op, allow_float16=True)
    _per_tensor(sy, "y_scale", op)
    zy = _zero_point(y_zero_point, "y_zero_point", op)
    _per_tensor(zy, "y_zero_point", op)
    if zy is None:
        zy = np.zeros((), np.uint8)
    multiplier = _multiplier(op, sx, sw, sy, ("x_scale", "w_scale", "y_scale"))
    return multiplier, zy, (sx, sw, sy)


def qlinear_conv(x: np.ndarray, x_scale: Any, x_zero_point: Any, w: np.ndarray, w_scale: Any, w_zero_point: Any,
                 y_scale: Any, y_zero_point: Any, B: Optional[np.ndarray] = None, *,  # noqa: N803 - ONNX name
                 auto_pad: str = "NOTSET", dilations: Optional[Sequence[int]] = None, group: int = 1,
                 kernel_shape: Optional[Sequence[int]] = None, pads: Optional[Sequence[int]] = None,
                 strides: Optional[Sequence[int]] = None, layout: str = "NCHW",
                 y_clamp: Optional[Tuple[int, int]] = None) -> np.ndarray:
    """ONNX QLinearConv (2-D): the quantized convolution, requantized to ``y_scale``/``y_zero_point``.

    ``y = saturate(round_half_even(float32(conv(x - x_zero_point, w - w_zero_point) + B) * m) +
    y_zero_point)`` per output channel, with ``m = x_scale * w_scale / y_scale`` in float32 (ONNX
    Runtime's computation, bit for bit).

    Parameters
    ----------
    x : numpy.ndarray of uint8 or int8
        ``(N, C, H, W)``, or ``(N, H, W, C)`` with ``layout="NHWC"``.
    x_scale : float or float32/float16 scalar
    x_zero_point : scalar of ``x``'s dtype, or int, or None (0)
    w : numpy.ndarray of uint8 or int8
        ``(M, C / group, kH, kW)`` (ONNX order).
    w_scale : float or float32/float16 scalar or ``(M,)`` array
        Per tensor or per output channel.
    w_zero_point : ``w``'s dtype, or int, or None (0)
        Per tensor or per output channel.
    y_scale : float or float32/float16 scalar
    y_zero_point : numpy uint8/int8 scalar
        Selects the output dtype (None: uint8 0).
    B : numpy.ndarray of int32, optional
        ``(M,)`` bias in the accumulator's scale (``x_scale * w_scale``, zero point 0), added
        modulo 2^32.
    auto_pad, dilations, group, kernel_shape, pads, strides, layout
        As :func:`conv_integer`.
    y_clamp : (int, int), optional
        ``(lo, hi)``: the output codes are clamped to ``[lo, hi]`` by the kernel's output stage, a
        fused Relu (``(y_zero_point, qmax)``) or Clip; bit for bit ``np.clip(y, lo, hi)`` of the
        unclamped result. ``lo <= hi`` within the output dtype's range.

    Returns
    -------
    numpy.ndarray of uint8 or int8
        ``(N, M, OH, OW)`` (or ``(N, OH, OW, M)`` with ``layout="NHWC"``).

    Raises
    ------
    TypeError
        Wrong dtypes, or a zero point whose dtype differs from its tensor's; ``y_clamp`` not a
        pair of ints.
    ValueError
        As :func:`conv_integer`, scales that are not positive and finite, ``y_clamp`` outside the
        output range or with ``lo > hi``.

    Examples
    --------
    >>> import numpy as np
    >>> from fixedq import ops
    >>> x = np.array([[[[0, 64], [128, 255]]]], np.uint8)
    >>> w = np.array([[[[2]]]], np.int8)
    >>> ops.qlinear_conv(x, 0.5, np.uint8(128), w, 0.25, np.int8(0), 0.25, np.uint8(128))
    array([[[[  0,  64],
             [128, 255]]]], dtype=uint8)
    >>> ops.qlinear_conv(x, 0.5, np.uint8(128), w, 0.25, np.int8(0), 0.25, np.uint8(128),
    ...                  y_clamp=(128, 255))  # a fused Relu: codes below the zero point become it
    array([[[[128, 128],
             [128, 255]]]], dtype=uint8)
    """
    op = "qlinear_conv"
    x = _data(x, "x", op, _INT8_TYPES)
    w = _data(w, "w", op, _INT8_TYPES)
    attrs = _conv_attributes(op, w, auto_pad, dilations, group, kernel_shape, pads, strides, layout)
    multiplier, zy, _ = _qlinear_conv_params(op, w, x_scale, w_scale, y_scale, y_zero_point)
    clamp = _y_clamp(y_clamp, op, zy.dtype)
    return _packed_conv(op, x.dtype, w, x_zero_point, w_zero_point, B, multiplier, zy, attrs, clamp)(x)


# ------------------------------------------------------------------------------------------
# Prepacked operators
# ------------------------------------------------------------------------------------------
def _value_str(arr: Optional[np.ndarray]) -> str:
    if arr is None:
        return "0"
    flat = arr.reshape(-1)
    if flat.size == 1:
        return str(flat[0])  # NumPy's shortest repr of the float32 / integer value
    return f"[{flat.size} values]"


def _clamp_str(clamp: Optional[Tuple[int, int]]) -> str:
    return "" if clamp is None else f" clamp=[{clamp[0]}, {clamp[1]}]"


class QLinearMatMul(_ops.PackedMatMul):
    """ONNX QLinearMatMul with ``b`` packed once: ``QLinearMatMul(b, ...)(a)``.

    Equivalent to ``qlinear_matmul(a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale,
    y_zero_point)``, bit for bit, but ``b`` is packed for the kernels once, here, and each call
    only checks ``a`` and runs the GEMM: calling the object is a call of the C++ extension
    (``__call__`` is the packed object's own), about a microsecond for tiny shapes. The object is
    immutable (later changes to the arrays passed here do not affect it) and may be called from
    several threads at once.

    Calling it with ``a`` of shape ``(..., K)`` and ``a_zero_point``'s dtype returns ``(..., N)``
    of ``y_zero_point``'s dtype.

    Parameters
    ----------
    b : numpy.ndarray of uint8 or int8
        ``(K, N)``.
    b_scale : float or float32/float16 scalar or ``(N,)`` array
        Per tensor or per column.
    b_zero_point : ``b``'s dtype, or int, or None (0)
        Per tensor or per column.
    a_scale : float or float32/float16 scalar
    a_zero_point : numpy uint8/int8 scalar
        Fixes the dtype the activations must have.
    y_scale : float or float32/float16 scalar
    y_zero_point : numpy uint8/int8 scalar
        Selects the output dtype (None: uint8 0).
    y_clamp : (int, int), optional
        ``(lo, hi)``: the output codes are clamped to ``[lo, hi]`` in the kernel's output stage (a
        fused Relu or Clip), bit for bit ``np.clip(y, lo, hi)`` of the unclamped result but without
        the extra passes over ``y``. Keyword only; ``lo <= hi`` within the output dtype's range
        (a Relu is ``(y_zero_point, 255)`` for uint8, ``(y_zero_point, 127)`` for int8).

    Examples
    --------
    >>> import numpy as np
    >>> from fixedq import ops
    >>> b = np.array([[152, 51, 244], [60, 26, 255], [0, 127, 246], [127, 254, 247]], np.uint8)
    >>> mm = ops.QLinearMatMul(b, np.float32(0.00705), np.uint8(114), np.float32(0.0066), np.uint8(113),
    ...                        np.float32(0.0107), np.uint8(118))
    >>> mm(np.array([[208, 236, 0, 238], [3, 214, 255, 29]], np.uint8))
    array([[168, 115, 255],
           [  1,  66, 151]], dtype=uint8)

    A fused Relu: the output codes stop at the zero point (118, the code of 0.0):

    >>> relu = ops.QLinearMatMul(b, np.float32(0.00705), np.uint8(114), np.float32(0.0066), np.uint8(113),
    ...                          np.float32(0.0107), np.uint8(118), y_clamp=(118, 255))
    >>> relu(np.array([[208, 236, 0, 238], [3, 214, 255, 29]], np.uint8))
    array([[168, 118, 255],
           [118, 118, 151]], dtype=uint8)
    """

    __slots__ = ("_a_scale", "_a_zero_point", "_b_scale", "_b_zero_point", "_multiplier", "_y_clamp", "_y_scale",
                 "_y_zero_point")

    def __init__(self, b: np.ndarray, b_scale: Any, b_zero_point: Any, a_scale: Any, a_zero_point: Any,
                 y_scale: Any, y_zero_point: Any, *, y_clamp: Optional[Tuple[int, int]] = None) -> None:
        op = "QLinearMatMul"
        b = _data(b, "b", op, _INT8_TYPES)
        if b.ndim != 2:
            msg = f"{op}: b must be 2-D (K, N), got shape {b.shape}"
            raise ValueError(msg)
        if a_zero_point is None or not isinstance(a_zero_point, (np.ndarray, np.generic)):
            msg = (f"{op}: a_zero_point must be a numpy uint8 or int8 scalar: it fixes the dtype of the "
                   f"activations, got {_describe(a_zero_point)}")
            raise TypeError(msg)
        za, zb, multiplier, zy, scales = _qlinear_matmul_params(op, None, b, a_scale, a_zero_point, b_scale,
                                                                b_zero_point, y_scale, y_zero_point)
        clamp = _y_clamp(y_clamp, op, zy.dtype)
        super().__init__(b, zb, za, multiplier, zy, op, clamp)
        self._a_scale, self._b_scale, self._y_scale = scales
        self._a_zero_point, self._b_zero_point, self._y_zero_point = za, zb, zy
        self._multiplier = multiplier
        self._y_clamp = clamp

    @property
    def b_shape(self) -> Tuple[int, int]:
        """``(K, N)``, the shape of ``b``."""
        return (self._k, self._n)

    @property
    def input_dtype(self) -> np.dtype:
        """The dtype the activations ``a`` must have."""
        return cast(np.dtype, self._a_dtype)  # never None: a_zero_point is required here

    @property
    def output_dtype(self) -> np.dtype:
        """The dtype of the result (``y_zero_point``'s)."""
        return self._y_dtype

    @property
    def multiplier(self) -> np.ndarray:
        """The float32 requantization multiplier(s) ``a_scale * b_scale / y_scale`` (a copy)."""
        return np.array(self._multiplier, copy=True)

    @property
    def y_clamp(self) -> Optional[Tuple[int, int]]:
        """``(lo, hi)``, the clamp of the output codes, or None."""
        return self._y_clamp

    def __repr__(self) -> str:
        k, n = self.b_shape
        return (f"QLinearMatMul(K={k}, N={n}, a={self.input_dtype} scale={_value_str(self._a_scale)} "
                f"zero_point={_value_str(self._a_zero_point)}, b={self._b_dtype} "
                f"scale={_value_str(self._b_scale)} zero_point={_value_str(self._b_zero_point)}, "
                f"y={self.output_dtype} scale={_value_str(self._y_scale)} "
                f"zero_point={_value_str(self._y_zero_point)}{_clamp_str(self._y_clamp)}, isa={_ops.isa()!r})")


class QLinearConv(_ops.PackedConv):
    """ONNX QLinearConv (2-D) with the weights packed once: ``QLinearConv(w, ...)(x)``.

    Equivalent to :func:`qlinear_conv` with the same arguments, bit for bit, but ``w`` (and
    ``bias``) are packed once, here; each call (the packed C++ object's own ``__call__``) checks
    ``x`` and runs the convolution. Inputs of any size and batch may be passed. The object is
    immutable and may be called from several threads at once.

    Calling it with ``x`` of shape ``(N, C, H, W)`` (``(N, H, W, C)`` for NHWC) and
    ``x_zero_point``'s dtype returns ``(N, M, OH, OW)`` (``(N, OH, OW, M)``) of
    ``y_zero_point``'s dtype.

    Parameters
    ----------
    w : numpy.ndarray of uint8 or int8
        ``(M, C / group, kH, kW)`` (ONNX order, whatever ``layout``).
    w_scale : float or float32/float16 scalar or ``(M,)`` array
        Per tensor or per output channel.
    w_zero_point : ``w``'s dtype, or int, or None (0)
        Per tensor or per output channel.
    x_scale : float or float32/float16 scalar
    x_zero_point : numpy uint8/int8 scalar
        Fixes the dtype the input must have.
    y_scale : float or float32/float16 scalar
    y_zero_point : numpy uint8/int8 scalar
        Selects the output dtype (None: uint8 0).
    bias : numpy.ndarray of int32, optional
        ``(M,)``, ONNX's ``B``.
    strides, pads, dilations, group, auto_pad, kernel_shape, layout
        As :func:`conv_integer`.
    y_clamp : (int, int), optional
        ``(lo, hi)``: the output codes are clamped to ``[lo, hi]`` in the kernel's output stage (a
        fused Relu or Clip), bit for bit ``np.clip(y, lo, hi)`` of the unclamped result but without
        the extra passes over ``y``. ``lo <= hi`` within the output dtype's range (a Relu is
        ``(y_zero_point, 255)`` for uint8, ``(y_zero_point, 127)`` for int8).

    Examples
    --------
    >>> import numpy as np
    >>> from fixedq import ops
    >>> conv = ops.QLinearConv(np.array([[[[2]]]], np.int8), 0.25, np.int8(0), 0.5, np.uint8(128),
    ...                        0.25, np.uint8(128))
    >>> conv(np.array([[[[0, 64], [128, 255]]]], np.uint8))
    array([[[[  0,  64],
             [128, 255]]]], dtype=uint8)

    Conv + Relu6 in one call: the codes of ``[0, 6]`` are ``[128, 152]``:

    >>> relu6 = ops.QLinearConv(np.array([[[[2]]]], np.int8), 0.25, np.int8(0), 0.5, np.uint8(128),
    ...                         0.25, np.uint8(128), y_clamp=(128, 152))
    >>> relu6(np.array([[[[0, 64], [128, 255]]]], np.uint8))
    array([[[[128, 128],
             [128, 152]]]], dtype=uint8)
    """

    __slots__ = ("_attrs", "_w_scale", "_w_zero_point", "_x_scale", "_x_zero_point", "_y_clamp", "_y_scale",
                 "_y_zero_point")

    def __init__(self, w: np.ndarray, w_scale: Any, w_zero_point: Any, x_scale: Any, x_zero_point: Any,
                 y_scale: Any, y_zero_point: Any, bias: Optional[np.ndarray] = None, *,
                 strides: Optional[Sequence[int]] = None, pads: Optional[Sequence[int]] = None,
                 dilations: Optional[Sequence[int]] = None, group: int = 1, auto_pad: str = "NOTSET",
                 kernel_shape: Optional[Sequence[int]] = None, layout: str = "NCHW",
                 y_clamp: Optional[Tuple[int, int]] = None) -> None:
        op = "QLinearConv"
        w = _data(w, "w", op, _INT8_TYPES)
        if x_zero_point is None or not isinstance(x_zero_point, (np.ndarray, np.generic)):
            msg = (f"{op}: x_zero_point must be a numpy uint8 or int8 scalar: it fixes the dtype of the "
                   f"input, got {_describe(x_zero_point)}")
            raise TypeError(msg)
        attrs = _conv_attributes(op, w, auto_pad, dilations, group, kernel_shape, pads, strides, layout)
        multiplier, zy, scales = _qlinear_conv_params(op, w, x_scale, w_scale, y_scale, y_zero_point)
        zx, zw = _conv_zero_points(op, None, w, x_zero_point, w_zero_point)
        clamp = _y_clamp(y_clamp, op, zy.dtype)
        super().__init__(w, zw, zx, bias, multiplier, zy, attrs["group"], attrs["strides"], attrs["dilations"],
                         attrs["pads"], attrs["auto_pad"], attrs["layout"], op, clamp)
        self._x_scale, self._w_scale, self._y_scale = scales
        self._x_zero_point = np.asarray(x_zero_point)
        self._w_zero_point = None if w_zero_point is None else np.asarray(w_zero_point)
        self._y_zero_point = zy
        self._y_clamp = clamp
        self._attrs = attrs

    @property
    def input_dtype(self) -> np.dtype:
        """The dtype the input ``x`` must have."""
        return cast(np.dtype, self._x_dtype)  # never None: x_zero_point is required here

    @property
    def output_dtype(self) -> np.dtype:
        """The dtype of the result (``y_zero_point``'s)."""
        return self._y_dtype

    @property
    def weight_shape(self) -> Tuple[int, int, int, int]:
        """``(M, C / group, kH, kW)``."""
        kh, kw = self._kernel
        return (self._out_channels, self._in_channels // self._group, kh, kw)

    @property
    def y_clamp(self) -> Optional[Tuple[int, int]]:
        """``(lo, hi)``, the clamp of the output codes, or None."""
        return self._y_clamp

    def __repr__(self) -> str:
        a = self._attrs
        pads = f"auto_pad={a['auto_pad']!r}" if a["auto_pad"] != "NOTSET" else f"pads={a['pads']}"
        kind = ", depthwise" if self._depthwise else ""
        return (f"QLinearConv(w={self._w_dtype}{list(self.weight_shape)}{kind} "
                f"scale={_value_str(self._w_scale)} zero_point={_value_str(self._w_zero_point)}, "
                f"x={self.input_dtype} scale={_value_str(self._x_scale)} "
                f"zero_point={_value_str(self._x_zero_point)}, y={self.output_dtype} "
                f"scale={_value_str(self._y_scale)} zero_point={_value_str(self._y_zero_point)}"
                f"{_clamp_str(self._y_clamp)}, strides={a['strides']}, {pads}, dilations={a['dilations']}, group={a['group']}, "
                f"layout={a['layout']!r}, isa={_ops.isa()!r})")


# ------------------------------------------------------------------------------------------
# Dot, instruction sets, threads
# ------------------------------------------------------------------------------------------
def dot(a: np.ndarray, b: np.ndarray) -> np.int32:
    """The dot product of two 1-D int8 vectors, summed modulo 2^32.

    Parameters
    ----------
    a, b : numpy.ndarray of int8 or uint8
        Same length; int8 x int8, uint8 x int8 or int8 x uint8.

    Returns
    -------
    numpy.int32

    Raises
    ------
    TypeError
        Other dtypes, or uint8 x uint8.
    ValueError
        Not 1-D, or different lengths.

    Examples
    --------
    >>> import numpy as np
    >>> from fixedq import ops
    >>> ops.dot(np.array([-128, 127, 3], np.int8), np.array([-128, -128, 5], np.int8))
    np.int32(143)
    """
    return np.int32(_ops.dot(a, b, "dot"))


def isa() -> str:
    """Name the instruction-set path of the int8 kernels in use.

    Returns
    -------
    str
        One of :func:`available_isas`, e.g. ``"avx512_vnni"``; ``FIXEDQ_ISA`` in the environment
        at start-up selects a lower one.
    """
    return _ops.isa()


def isa_names() -> list[str]:
    """Every int8 instruction-set path this build knows, lowest first.

    Returns
    -------
    list of str
    """
    return list(_ops.isa_names())


def available_isas() -> list[str]:
    """The int8 instruction-set paths this build has and this CPU runs, lowest first.

    Returns
    -------
    list of str
        Always starts with ``"scalar"``.
    """
    return list(_ops.available_isas())


def get_num_threads() -> int:
    """Threads used by the int8 GEMM and convolution.

    Returns
    -------
    int
    """
    return int(_ops.get_num_threads())


def set_num_threads(n: int) -> None:
    """Set the threads used by the int8 GEMM and convolution (process-wide).

    Parameters
    ----------
    n : int
        At least 1; 0 restores the default (one per core). Results do not depend on it.

    Raises
    ------
    TypeError
        ``n`` not an int.
    ValueError
        ``n`` negative.
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        msg = f"set_num_threads: n must be an int, got {_describe(n)}"
        raise TypeError(msg)
    if not 0 <= int(n) < 2**31:
        msg = f"set_num_threads: n must be >= 0 (0 restores the default), got {int(n)}"
        raise ValueError(msg)
    _ops.set_num_threads(int(n))
