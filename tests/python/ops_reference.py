"""NumPy references for fixedq.ops: the ONNX operators written out with int64 arithmetic.

Plain array code, independent of fixedq: integer sums in int64 (then wrapped to int32, the ONNX
accumulator), float steps in float32 exactly as ONNX Runtime orders them (MlasRequantizeOutput:
``float32(acc + bias) * multiplier``, clamp to the output range shifted by the zero point,
round half to even, add the zero point; MlasQuantizeLinear: ``x / scale`` in float32, round half
to even, add the zero point, saturate). Used by test_ops*.py and by ops_isa_worker.py.
"""

from __future__ import annotations

import numpy as np

QRANGE = {np.dtype(np.uint8): (0, 255), np.dtype(np.int8): (-128, 127)}


def wrap32(v: np.ndarray) -> np.ndarray:
    """int64 values reduced modulo 2^32 into int32 (two's complement)."""
    return ((np.asarray(v, dtype=np.int64) + 2**31) % 2**32 - 2**31).astype(np.int32)


def per_axis(param: np.ndarray, ndim: int, axis: int) -> np.ndarray:
    """A 1-D per-axis parameter shaped to broadcast along ``axis`` of an ndim-D array."""
    p = np.asarray(param).reshape(-1)
    if p.size == 1:
        return p.reshape(())
    shape = [1] * ndim
    shape[axis] = p.size
    return p.reshape(shape)


def quantize(x: np.ndarray, scale, zero_point, dtype, axis: int = 1) -> np.ndarray:
    dtype = np.dtype(dtype)
    lo, hi = QRANGE[dtype]
    s = per_axis(np.asarray(scale, np.float32), x.ndim, axis % max(x.ndim, 1)).astype(np.float32)
    z = per_axis(np.asarray(zero_point), x.ndim, axis % max(x.ndim, 1)).astype(np.float64)
    with np.errstate(over="ignore"):
        q = np.rint(x.astype(np.float32) / s).astype(np.float64) + z
    return np.clip(q, lo, hi).astype(dtype)


def dequantize(x: np.ndarray, scale, zero_point, axis: int = 1) -> np.ndarray:
    s = per_axis(np.asarray(scale, np.float32), x.ndim, axis % max(x.ndim, 1)).astype(np.float32)
    z = per_axis(np.asarray(zero_point), x.ndim, axis % max(x.ndim, 1)).astype(np.int64)
    with np.errstate(over="ignore"):  # huge scales overflow to inf, as in float32 arithmetic
        return (x.astype(np.int64) - z).astype(np.float32) * s


def dynamic_quantize(x: np.ndarray):
    """ONNX Runtime's DynamicQuantizeLinear (GetQuantizationParameter), in float32."""
    lo = np.float32(min(0.0, float(x.min()))) if x.size else np.float32(0)
    hi = np.float32(max(0.0, float(x.max()))) if x.size else np.float32(0)
    scale = np.float32(1) if hi == lo else np.float32(hi - lo) / np.float32(255)
    zp = np.float32(0) - lo / scale
    zp = np.uint8(np.rint(np.clip(zp, np.float32(0), np.float32(255))))
    return quantize(x, scale, zp, np.uint8), np.float32(scale), zp


def requantize(acc: np.ndarray, multiplier, zero_point, dtype, channel_axis: int = -1, bias=None) -> np.ndarray:
    """MlasRequantizeOutput on int32 accumulators; per-channel values along ``channel_axis``."""
    dtype = np.dtype(dtype)
    lo, hi = QRANGE[dtype]
    acc = np.asarray(acc, np.int64)
    axis = channel_axis % acc.ndim
    if bias is not None:
        acc = acc + per_axis(np.asarray(bias, np.int64), acc.ndim, axis)
    acc32 = wrap32(acc)
    m = per_axis(np.asarray(multiplier, np.float32), acc.ndim, axis).astype(np.float32)
    z = int(np.asarray(zero_point).reshape(-1)[0])
    v = acc32.astype(np.float32) * m
    v = np.clip(v, np.float32(lo - z), np.float32(hi - z))
    return (np.rint(v).astype(np.int64) + z).astype(dtype)


def multiplier(s1, s2, s3) -> np.ndarray:
    """``s1 * s2 / s3`` in float32, in that order (ONNX Runtime's expression)."""
    return (np.asarray(s1, np.float32).reshape(-1) * np.asarray(s2, np.float32).reshape(-1)) / np.asarray(
        s3, np.float32
    ).reshape(-1)


def matmul_integer(a: np.ndarray, b: np.ndarray, za=0, zb=0) -> np.ndarray:
    """(a - za) @ (b - zb) with numpy.matmul shapes; za per tensor or per row (M,), zb per tensor
    or per column (N,). Exact in int64, then wrapped to int32."""
    a64 = a.astype(np.int64)
    b64 = b.astype(np.int64)
    za = np.asarray(za, np.int64).reshape(-1)
    zb = np.asarray(zb, np.int64).reshape(-1)
    if a.ndim >= 2 and za.size > 1:
        a64 = a64 - za.reshape(-1, 1)
    else:
        a64 = a64 - za[0] if za.size else a64
    b64 = b64 - (zb if zb.size > 1 else zb[0]) if zb.size else b64
    return wrap32(np.matmul(a64, b64))


def qlinear_matmul(a, sa, za, b, sb, zb, sy, zy) -> np.ndarray:
    acc = matmul_integer(a, b, za, zb)
    m = multiplier(sa, sb, sy)
    if acc.ndim == 0:
        acc = acc.reshape(1)
        return requantize(acc, m, zy, np.asarray(zy).dtype).reshape(())
    return requantize(acc, m, zy, np.asarray(zy).dtype, channel_axis=-1)


def same_pads(in_size: int, k: int, stride: int, dilation: int, upper: bool) -> tuple:
    out = -(-in_size // stride)
    total = max(0, (out - 1) * stride + (k - 1) * dilation + 1 - in_size)
    head = total // 2 if upper else total - total // 2
    return head, total - head


def conv_integer(x: np.ndarray, w: np.ndarray, zx=0, zw=0, *, strides=(1, 1), pads=(0, 0, 0, 0),
                 dilations=(1, 1), group: int = 1, layout: str = "NCHW", auto_pad: str = "NOTSET") -> np.ndarray:
    """ONNX ConvInteger, 2-D: x NCHW (or NHWC), w OIHW, pads [top, left, bottom, right]."""
    if layout == "NHWC":
        x = x.transpose(0, 3, 1, 2)
    n, c, h, wd = x.shape
    m, cg, kh, kw = w.shape
    sh, sw = strides
    dh, dw = dilations
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        upper = auto_pad == "SAME_UPPER"
        pt, pb = same_pads(h, kh, sh, dh, upper)
        pl, pr = same_pads(wd, kw, sw, dw, upper)
    elif auto_pad == "VALID":
        pt = pl = pb = pr = 0
    else:
        pt, pl, pb, pr = pads
    xs = x.astype(np.int64) - int(np.asarray(zx).reshape(-1)[0])
    xs = np.pad(xs, ((0, 0), (0, 0), (pt, pb), (pl, pr)))  # padding contributes 0
    zw = np.asarray(zw, np.int64).reshape(-1)
    ws = w.astype(np.int64) - (zw.reshape(-1, 1, 1, 1) if zw.size > 1 else zw[0])
    oh = (h + pt + pb - dh * (kh - 1) - 1) // sh + 1
    ow = (wd + pl + pr - dw * (kw - 1) - 1) // sw + 1
    ocg = m // group
    y = np.zeros((n, m, oh, ow), np.int64)
    for i in range(kh):
        for j in range(kw):
            patch = xs[:, :, i * dh: i * dh + (oh - 1) * sh + 1: sh, j * dw: j * dw + (ow - 1) * sw + 1: sw]
            for g in range(group):
                y[:, g * ocg:(g + 1) * ocg] += np.einsum(
                    "nchw,oc->nohw", patch[:, g * cg:(g + 1) * cg], ws[g * ocg:(g + 1) * ocg, :, i, j])
    y = wrap32(y)
    return y.transpose(0, 2, 3, 1) if layout == "NHWC" else y


def qlinear_conv(x, sx, zx, w, sw, zw, sy, zy, bias=None, **attrs) -> np.ndarray:
    acc = conv_integer(x, w, zx, zw, **attrs).astype(np.int64)
    axis = 3 if attrs.get("layout", "NCHW") == "NHWC" else 1
    return requantize(acc, multiplier(sx, sw, sy), zy, np.asarray(zy).dtype, channel_axis=axis, bias=bias)


def dot(a: np.ndarray, b: np.ndarray) -> np.int32:
    return wrap32(np.dot(a.astype(np.int64), b.astype(np.int64)))[()]


# ------------------------------------------------------------------------------------------
# Inputs where float32 arithmetic and exact arithmetic round apart
# ------------------------------------------------------------------------------------------
def requant_hits(rng: np.random.Generator, m_bits: int, count: int) -> tuple:
    """(multipliers, accumulators): float32 multipliers m in [2^(m_bits-1), 2^m_bits) and int32
    accumulators whose requantization ``float32(acc) * m`` (float32 product) rounds to another
    integer than the exact ``acc * m``: the cases that tell ONNX Runtime's arithmetic from any
    other. Found next to the ties (k + 1/2) / m; results within [-100, 100] (never clamped)."""
    ms, accs = [], []
    k = np.arange(-99, 99) + 0.5
    for _ in range(100_000):
        m = np.float32(np.ldexp(rng.uniform(0.5, 1), m_bits))
        t = k / np.float64(m)
        cand = np.unique(np.concatenate([np.floor(t) + d for d in (-1, 0, 1, 2)])).astype(np.int64)
        cand = cand[np.abs(cand) < 2**31 - 1]
        v32 = cand.astype(np.float32) * m
        exact = cand.astype(np.float64) * np.float64(m)  # exact: |acc| < 2^31, m has 24 bits
        hits = cand[(np.rint(v32) != np.rint(exact)) & (np.abs(exact) < 100)]
        for acc in hits[:2]:
            ms.append(m)
            accs.append(acc)
        if len(accs) >= count:
            return np.array(ms[:count], np.float32), np.array(accs[:count], np.int64)
    raise AssertionError(f"only {len(accs)} cases for 2^{m_bits}")


def quantize_hits(rng: np.random.Generator, count: int) -> tuple:
    """(x, scales): float32 values next to (k + 1/2) * scale, |k| < 120, whose float32 quotient
    x / scale rounds to another integer than the exact quotient."""
    xs, ss = [], []
    k = np.arange(-120, 120) + 0.5
    for _ in range(100_000):
        scale = np.float32(np.ldexp(rng.uniform(0.5, 1), rng.integers(-8, 3)))
        base = (k * np.float64(scale)).astype(np.float32)
        cand = np.concatenate([base, np.nextafter(base, np.float32(np.inf)), np.nextafter(base, np.float32(-np.inf))])
        hits = cand[np.rint(cand / scale) != np.rint(cand.astype(np.float64) / np.float64(scale))]
        xs.extend(hits[:2])
        ss.extend([scale] * len(hits[:2]))
        if len(xs) >= count:
            return np.array(xs[:count], np.float32), np.array(ss[:count], np.float32)
    raise AssertionError(f"only {len(xs)} cases")
