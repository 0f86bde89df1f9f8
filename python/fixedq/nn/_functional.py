"""NumPy implementations of the CNN operators, in float and (pooling) in integers.

These are the float reference of :mod:`fixedq.nn`: plain NumPy, NCHW, ONNX attribute
conventions (``pads`` as ``[top, left, bottom, right]``). Convolution is im2col + one matrix
product per group. The pooling functions also take integer arrays: max pooling is exact on codes
(quantization is monotonic) and average pooling sums in int64 and divides with round half to even,
so a quantized model pools without leaving the integers.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence, Tuple

import numpy as np
from numpy.lib.stride_tricks import as_strided

__all__ = ["avg_pool2d", "conv2d", "max_pool2d", "resolve_pads", "softmax"]


def resolve_pads(auto_pad: str, in_hw: Sequence[int], kernel: Sequence[int], strides: Sequence[int],
                 dilations: Sequence[int], pads: Optional[Sequence[int]]) -> Tuple[int, int, int, int]:
    """ONNX padding as ``(top, left, bottom, right)``, ``auto_pad`` resolved for the input size."""
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        out: list = []
        for size, k, s, d in zip(in_hw, kernel, strides, dilations):
            total = max((-(-size // s) - 1) * s + (k - 1) * d + 1 - size, 0)
            small = total // 2
            out.append((total - small, small) if auto_pad == "SAME_LOWER" else (small, total - small))
        return (out[0][0], out[1][0], out[0][1], out[1][1])
    if auto_pad == "VALID" or pads is None:
        return (0, 0, 0, 0)
    if auto_pad != "NOTSET":
        raise ValueError(f"auto_pad must be NOTSET, SAME_UPPER, SAME_LOWER or VALID, got {auto_pad!r}")
    if len(pads) != 4:
        raise ValueError(f"pads must have 4 values (2-D), got {list(pads)}")
    return (int(pads[0]), int(pads[1]), int(pads[2]), int(pads[3]))


def _windows(xp: np.ndarray, out_hw: Tuple[int, int], kernel: Sequence[int], strides: Sequence[int],
             dilations: Sequence[int]) -> np.ndarray:
    """Read-only view ``(N, C, OH, OW, kH, kW)`` of the windows of a padded NCHW array."""
    n, c = xp.shape[:2]
    s = xp.strides
    shape = (n, c, out_hw[0], out_hw[1], kernel[0], kernel[1])
    st = (s[0], s[1], s[2] * strides[0], s[3] * strides[1], s[2] * dilations[0], s[3] * dilations[1])
    return as_strided(xp, shape, st, writeable=False)


def conv2d(x: np.ndarray, w: np.ndarray, b: Optional[np.ndarray] = None, *, strides: Sequence[int] = (1, 1),
           pads: Sequence[int] = (0, 0, 0, 0), dilations: Sequence[int] = (1, 1), group: int = 1) -> np.ndarray:
    """2-D convolution (cross-correlation, as ONNX Conv) of NCHW ``x`` with ``w`` ``(M, C/group, kH, kW)``.

    Parameters
    ----------
    x : numpy.ndarray
        ``(N, C, H, W)``.
    w : numpy.ndarray
        ``(M, C / group, kH, kW)``.
    b : numpy.ndarray, optional
        ``(M,)``.
    strides, pads, dilations, group
        ONNX attributes; ``pads`` is ``(top, left, bottom, right)``.

    Returns
    -------
    numpy.ndarray
        ``(N, M, OH, OW)`` of ``x``'s dtype.
    """
    n, c, h, wd = x.shape
    m, cg, kh, kw = w.shape
    if c != cg * group or m % group:
        raise ValueError(f"Conv: input has {c} channels, weights {tuple(w.shape)} with group={group} expect "
                         f"{cg * group}")
    pt, pl, pb, pr = pads
    oh = (h + pt + pb - dilations[0] * (kh - 1) - 1) // strides[0] + 1
    ow = (wd + pl + pr - dilations[1] * (kw - 1) - 1) // strides[1] + 1
    if oh <= 0 or ow <= 0:
        raise ValueError(f"Conv: kernel {kh}x{kw} does not fit the padded input {h}x{wd}")
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr))) if any(pads) else np.ascontiguousarray(x)
    win = _windows(xp, (oh, ow), (kh, kw), strides, dilations)
    out = np.empty((n, m, oh, ow), dtype=np.result_type(x.dtype, w.dtype))
    mg = m // group
    for g in range(group):
        cols = win[:, g * cg:(g + 1) * cg].transpose(0, 2, 3, 1, 4, 5).reshape(n * oh * ow, cg * kh * kw)
        wg = w[g * mg:(g + 1) * mg].reshape(mg, cg * kh * kw)
        out[:, g * mg:(g + 1) * mg] = (cols @ wg.T).reshape(n, oh, ow, mg).transpose(0, 3, 1, 2)
    if b is not None:
        out += b.reshape(1, m, 1, 1).astype(out.dtype)
    return out


def _pool_geometry(h: int, w: int, kernel: Sequence[int], strides: Sequence[int], pads: Sequence[int],
                   dilations: Sequence[int], ceil_mode: bool) -> Tuple[int, int, int, int]:
    """Output size and the extra bottom/right padding that ``ceil_mode`` needs."""
    pt, pl, pb, pr = pads
    sizes = []
    for size, p0, p1, k, s, d in ((h, pt, pb, kernel[0], strides[0], dilations[0]),
                                  (w, pl, pr, kernel[1], strides[1], dilations[1])):
        span = size + p0 + p1 - d * (k - 1) - 1
        o = (-(-span // s) if ceil_mode else span // s) + 1
        if ceil_mode and (o - 1) * s >= size + p0:  # the last window must start inside the input
            o -= 1
        if o <= 0:
            raise ValueError(f"pooling kernel {tuple(kernel)} does not fit the padded input {h}x{w}")
        sizes.append(o)
    extra_h = max((sizes[0] - 1) * strides[0] + dilations[0] * (kernel[0] - 1) + 1 - (h + pt + pb), 0)
    extra_w = max((sizes[1] - 1) * strides[1] + dilations[1] * (kernel[1] - 1) + 1 - (w + pl + pr), 0)
    return sizes[0], sizes[1], extra_h, extra_w


def _window_reduce(xp: np.ndarray, out_hw: Tuple[int, int], kernel: Sequence[int], strides: Sequence[int],
                   dilations: Sequence[int], op: Any) -> np.ndarray:
    """Reduce every pooling window of ``xp`` with the binary ufunc ``op`` (``np.maximum``, ``np.add``).

    One strided slice per kernel offset: ``kh * kw`` passes over the output, each a plain
    vectorised ufunc call, instead of one reduction over a 6-D strided view (several times
    slower in NumPy for small windows)."""
    (oh, ow), (sh, sw), (dh, dw) = out_hw, strides, dilations
    out: Optional[np.ndarray] = None
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            tap = xp[:, :, i * dh:i * dh + (oh - 1) * sh + 1:sh, j * dw:j * dw + (ow - 1) * sw + 1:sw]
            if out is None:
                out = np.array(tap)
            else:
                op(out, tap, out=out)
    assert out is not None
    return out


def max_pool2d(x: np.ndarray, kernel: Sequence[int], *, strides: Optional[Sequence[int]] = None,
               pads: Sequence[int] = (0, 0, 0, 0), dilations: Sequence[int] = (1, 1),
               ceil_mode: bool = False) -> np.ndarray:
    """Max pooling of NCHW ``x`` (float or integer codes; padding never wins the max)."""
    strides = tuple(kernel) if strides is None else tuple(strides)
    n, c, h, w = x.shape
    oh, ow, eh, ew = _pool_geometry(h, w, kernel, strides, pads, dilations, ceil_mode)
    low = np.iinfo(x.dtype).min if x.dtype.kind in "iu" else -np.inf
    pt, pl, pb, pr = pads
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb + eh), (pl, pr + ew)), constant_values=low) if (
        any(pads) or eh or ew) else np.ascontiguousarray(x)
    return _window_reduce(xp, (oh, ow), kernel, strides, dilations, np.maximum)


def _round_div_half_even(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` rounded to nearest, ties to even, in integers (``den > 0``)."""
    q, r = np.divmod(num, den)
    twice = 2 * r
    up = (twice > den) | ((twice == den) & (q % 2 == 1))
    return q + up


def avg_pool2d(x: np.ndarray, kernel: Sequence[int], *, strides: Optional[Sequence[int]] = None,
               pads: Sequence[int] = (0, 0, 0, 0), ceil_mode: bool = False, count_include_pad: bool = False,
               zero_point: int = 0) -> np.ndarray:
    """Average pooling of NCHW ``x``.

    Float input: the mean over each window (explicit padding counts only with
    ``count_include_pad``; the extra cells of ``ceil_mode`` never count). Integer input: codes
    with ``zero_point``; padding holds the zero point (real 0), the sum of ``code - zero_point``
    is exact in int64 and divided by the count with round half to even; the result keeps the
    input's scale, zero point and dtype.
    """
    strides = tuple(kernel) if strides is None else tuple(strides)
    n, c, h, w = x.shape
    oh, ow, eh, ew = _pool_geometry(h, w, kernel, strides, pads, (1, 1), ceil_mode)
    pt, pl, pb, pr = pads
    padding = ((0, 0), (0, 0), (pt, pb + eh), (pl, pr + ew))
    # Count of the cells each window averages over.
    mask = np.zeros((1, 1, h + pt + pb + eh, w + pl + pr + ew), dtype=np.int64)
    if count_include_pad:
        mask[..., :h + pt + pb, :w + pl + pr] = 1
    else:
        mask[..., pt:pt + h, pl:pl + w] = 1
    counts = _window_reduce(mask, (oh, ow), kernel, strides, (1, 1), np.add)
    integer = x.dtype.kind in "iu"
    v = x.astype(np.int64) - zero_point if integer else x
    vp = np.pad(v, padding) if any(padding[2] + padding[3]) else np.ascontiguousarray(v)
    sums = _window_reduce(vp, (oh, ow), kernel, strides, (1, 1), np.add)
    if not integer:
        return (sums / counts).astype(x.dtype)
    info = np.iinfo(x.dtype)
    q = _round_div_half_even(sums, np.broadcast_to(counts, sums.shape)) + zero_point
    return np.clip(q, info.min, info.max).astype(x.dtype)


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Softmax along ``axis`` (max subtracted first)."""
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)
