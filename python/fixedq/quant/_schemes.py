"""The quantization schemes behind :func:`fixedq.quant.quantize` (private module)."""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from ._common import (
    as_float_array,
    check_axis,
    check_int,
    check_real,
    check_rounding,
    make_rng,
    per_axis,
    reduce_axes,
    round_values,
)
from ._qtensor import QTensor

SCHEMES = ("affine", "symmetric", "dynamic_fixed_point", "minifloat", "power_of_two", "kmeans",
           "binary", "ternary", "dorefa")

#: Minifloat formats: (exp_bits, mant_bits, bias, ieee) where ieee means subnormals and an
#: all-ones pattern reserved as ONNX defines them (``max_finite`` below).
MINIFLOAT_VARIANTS = ("ristretto", "e4m3fn", "e5m2")
_FLOAT8 = {
    # name: (exp_bits, mant_bits, bias, largest finite value)
    "e4m3fn": (4, 3, 7, 448.0),
    "e5m2": (5, 2, 15, 57344.0),
}

_PARAM_FLOAT_BITS = 32


def _int_dtype(bits: int, signed: bool = True) -> np.dtype:
    for width in (8, 16, 32, 64):
        if bits <= width:
            return np.dtype(f"{'int' if signed else 'uint'}{width}")
    raise ValueError(f"bits={bits} needs more than 64 bits")


def _channels(params_shape: tuple[int, ...]) -> int:
    return int(np.prod(params_shape)) if params_shape else 1


# ---------------------------------------------------------------------------------------------
# affine (TensorFlow / ONNX uint8 with zero point) and symmetric (TensorRT)
# ---------------------------------------------------------------------------------------------
def _affine(x: np.ndarray, bits: int, axis: int | None, rounding: str, rng: Any, *,
            signed: bool = False, range: Any = None) -> QTensor:  # noqa: A002 - the option's name
    if not isinstance(signed, bool):
        raise TypeError(f"signed must be a bool, got {type(signed).__name__}")
    qmin, qmax = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    ct = x.dtype  # computation type: the type of the scale (ONNX: y_scale sets the precision)
    red = reduce_axes(x.ndim, axis)
    if range is None:
        lo = np.min(x, axis=red) if x.ndim else x
        hi = np.max(x, axis=red) if x.ndim else x
    else:
        try:
            lo, hi = range
        except (TypeError, ValueError):
            raise TypeError("range must be a pair (low, high) of numbers or per-channel arrays") from None
        lo = as_float_array(lo, "range low").astype(ct)
        hi = as_float_array(hi, "range high").astype(ct)
        if np.any(lo > hi):
            raise ValueError("range must satisfy low <= high")
    lo = np.minimum(np.asarray(lo, dtype=ct), ct.type(0))  # the range always holds 0 exactly
    hi = np.maximum(np.asarray(hi, dtype=ct), ct.type(0))
    scale = ((hi - lo) / ct.type(qmax - qmin)).astype(ct)
    if not np.all(np.isfinite(scale)):
        raise ValueError("range is too wide for the scale's floating-point type")
    scale = np.where(scale == 0, ct.type(1), scale).astype(ct)  # an all-zero tensor
    zero_point = np.clip(np.rint(qmin - lo / scale), qmin, qmax).astype(np.int64)
    s = per_axis(scale, x.ndim, axis)
    z = per_axis(zero_point, x.ndim, axis)
    q = np.clip(round_values((x / s).astype(ct), rounding, rng) + z, qmin, qmax)
    codes = q.astype(_int_dtype(bits, signed))
    nparams = _channels(np.shape(scale))
    params = {"scale": scale, "zero_point": zero_point.astype(codes.dtype), "axis": axis, "qmin": qmin,
              "qmax": qmax, "param_bits": nparams * (_PARAM_FLOAT_BITS + bits)}
    return QTensor(codes, "affine", bits, params, x.dtype)


def _symmetric(x: np.ndarray, bits: int, axis: int | None, rounding: str, rng: Any, *,
               threshold: Any = None, narrow: bool = True) -> QTensor:
    if not isinstance(narrow, bool):
        raise TypeError(f"narrow must be a bool, got {type(narrow).__name__}")
    qmax = (1 << (bits - 1)) - 1
    qmin = -qmax if narrow else -qmax - 1
    ct = x.dtype
    if threshold is None:
        amax = np.max(np.abs(x), axis=reduce_axes(x.ndim, axis)) if x.ndim else np.abs(x)
    else:
        amax = as_float_array(threshold, "threshold")
        if np.any(amax < 0):
            raise ValueError("threshold must be >= 0")
    amax = np.asarray(amax, dtype=ct)
    scale = (amax / ct.type(qmax)).astype(ct)
    scale = np.where(scale == 0, ct.type(1), scale).astype(ct)
    s = per_axis(scale, x.ndim, axis)
    q = np.clip(round_values((x / s).astype(ct), rounding, rng), qmin, qmax)
    codes = q.astype(_int_dtype(bits))
    params = {"scale": scale, "threshold": amax, "zero_point": 0, "axis": axis, "qmin": qmin, "qmax": qmax,
              "param_bits": _channels(np.shape(scale)) * _PARAM_FLOAT_BITS}
    return QTensor(codes, "symmetric", bits, params, x.dtype)


def _decode_scaled(qt: QTensor) -> np.ndarray:
    ct = qt.dtype
    s = per_axis(np.asarray(qt.params["scale"], dtype=ct), qt.codes.ndim, qt.axis)
    z = per_axis(np.asarray(qt.params["zero_point"], dtype=np.int64), qt.codes.ndim, qt.axis)
    return ((qt.codes.astype(np.int64) - z).astype(ct) * s).astype(ct)


def _limits_scaled(qt: QTensor) -> tuple[np.ndarray, np.ndarray]:
    ct = qt.dtype
    s = per_axis(np.asarray(qt.params["scale"], dtype=ct), qt.codes.ndim, qt.axis)
    z = per_axis(np.asarray(qt.params["zero_point"], dtype=np.int64), qt.codes.ndim, qt.axis)
    return ((qt.params["qmin"] - z).astype(ct) * s, (qt.params["qmax"] - z).astype(ct) * s)


# ---------------------------------------------------------------------------------------------
# dynamic fixed point (Ristretto)
# ---------------------------------------------------------------------------------------------
def _fixed_type_for(bits: int, frac: int) -> type | None:
    import fixedq

    for f in fixedq.formats():
        if f["signed"] and f["total_bits"] == bits and f["fraction_bits"] == frac:
            return getattr(fixedq, f["name"])
    return None


def _dynamic_fixed_point(x: np.ndarray, bits: int, axis: int | None, rounding: str, rng: Any, *,
                         sign_bit: bool = True, max_abs: Any = None) -> QTensor:
    if axis is not None:
        raise ValueError("dynamic_fixed_point is per tensor (Ristretto): axis must be None")
    if not isinstance(sign_bit, bool):
        raise TypeError(f"sign_bit must be a bool, got {type(sign_bit).__name__}")
    m = float(np.max(np.abs(x))) if max_abs is None else check_real(max_abs, "max_abs")
    if m < 0:
        raise ValueError("max_abs must be >= 0")
    # Ristretto: il = ceil(log2(max)), +1 for the sign of parameters; fl = bits - il.
    il = (math.ceil(math.log2(m)) if m > 0 else 0) + (1 if sign_bit else 0)
    fl = bits - il
    rmin, rmax = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    v = np.ldexp(x.astype(np.float64), fl)
    v = np.clip(v, rmin, rmax)  # Ristretto saturates before rounding
    codes = np.clip(round_values(v, rounding, rng), rmin, rmax).astype(_int_dtype(bits))
    params = {"integer_bits": il, "fraction_bits": fl, "axis": None, "fixed_type": _fixed_type_for(bits, fl),
              "param_bits": 0}
    return QTensor(codes, "dynamic_fixed_point", bits, params, x.dtype)


def _decode_dfp(qt: QTensor) -> np.ndarray:
    return np.ldexp(qt.codes.astype(np.float64), -qt.params["fraction_bits"]).astype(qt.dtype)


def _limits_dfp(qt: QTensor) -> tuple[np.ndarray, np.ndarray]:
    fl = qt.params["fraction_bits"]
    b = qt.bits
    return (np.ldexp(np.float64(-(1 << (b - 1))), -fl), np.ldexp(np.float64((1 << (b - 1)) - 1), -fl))


# ---------------------------------------------------------------------------------------------
# minifloat (Ristretto's rules, ONNX float8 e4m3fn / e5m2)
# ---------------------------------------------------------------------------------------------
def _minifloat_format(bits: int | None, variant: str, exp_bits: Any, mant_bits: Any,
                      bias: Any) -> tuple[int, int, int, bool, float]:
    if not isinstance(variant, str):
        raise TypeError(f"variant must be a str, got {type(variant).__name__}")
    if variant not in MINIFLOAT_VARIANTS:
        raise ValueError(f"minifloat variant must be one of {MINIFLOAT_VARIANTS}, got {variant!r}")
    if variant != "ristretto":
        e, m, b, largest = _FLOAT8[variant]
        for name, value, expected in (("bits", bits, 8), ("exp_bits", exp_bits, e), ("mant_bits", mant_bits, m),
                                      ("bias", bias, b)):
            if value is not None and value != expected:
                raise ValueError(f"{name}={value} does not match {variant} ({name}={expected})")
        return e, m, b, True, largest
    e = 4 if exp_bits is None else check_int(exp_bits, "exp_bits", 1, 11)
    if mant_bits is None:
        total = 8 if bits is None else bits
        m = total - e - 1  # Ristretto: mant_bits = bitwidth - exp_bits - 1
        if m < 0:
            raise ValueError(f"bits={total} leaves no room for the sign and {e} exponent bits")
    else:
        m = check_int(mant_bits, "mant_bits", 0, 52)
        if bits is not None and bits != 1 + e + m:
            raise ValueError(f"bits={bits} must equal 1 + exp_bits + mant_bits = {1 + e + m}")
    b = (1 << (e - 1)) - 1 if bias is None else check_int(bias, "bias")
    emax = (1 << e) - 1 - b  # Ristretto: every exponent code is a number (no inf/NaN codes)
    largest = math.ldexp(2.0 - math.ldexp(1.0, -m), emax)
    return e, m, b, False, largest


def _minifloat(x: np.ndarray, bits: int | None, axis: int | None, rounding: str, rng: Any, *,
               variant: str = "ristretto", exp_bits: Any = None, mant_bits: Any = None,
               bias: Any = None) -> QTensor:
    if axis is not None:
        raise ValueError("minifloat has no scale: axis must be None")
    e, m, b, ieee, largest = _minifloat_format(bits, variant, exp_bits, mant_bits, bias)
    a = np.abs(x.astype(np.float64))
    sign = np.signbit(x)
    _, e2 = np.frexp(a)
    expo = e2.astype(np.int64) - 1  # a = 1.f * 2**expo for a > 0
    emin = 1 - b if ieee else -b    # smallest normal exponent
    if ieee:
        qexp = np.maximum(expo, emin) - m  # subnormals share the quantum of the smallest normals
    else:
        qexp = expo - m
    r = round_values(np.ldexp(a, -qexp), rounding, rng)
    value = np.ldexp(r, qexp)
    if not ieee:
        # Ristretto: zero, denormal inputs and exponents below the format's flush to zero.
        value = np.where((a == 0) | (expo < emin), 0.0, value)
    value = np.minimum(value, largest)  # saturation at the largest finite value
    # Encode the rounded magnitude.
    _, ve2 = np.frexp(value)
    vexp = ve2.astype(np.int64) - 1
    normal = (value > 0) & (vexp >= emin)
    biased = np.where(normal, vexp + b, 0)
    mant = np.where(normal, np.ldexp(value, -(vexp - m)) - (1 << m),
                    np.ldexp(value, -(emin - m)) if ieee else 0.0)
    # Ristretto: code 0 (exponent and mantissa fields 0) is zero, so 2**-bias itself (which
    # Ristretto keeps as a float) encodes, and decodes, as 0.
    total = 1 + e + m
    codes = ((sign.astype(np.int64) << (e + m)) | (biased.astype(np.int64) << m) | mant.astype(np.int64))
    codes = codes.astype(_int_dtype(total, signed=False))
    params = {"variant": variant, "exp_bits": e, "mant_bits": m, "bias": b, "max": largest, "axis": None,
              "param_bits": 0}
    return QTensor(codes, "minifloat", total, params, x.dtype)


def minifloat_decode(codes: np.ndarray, exp_bits: int, mant_bits: int, bias: int, ieee: bool) -> np.ndarray:
    c = codes.astype(np.int64)
    sign = (c >> (exp_bits + mant_bits)) & 1
    biased = (c >> mant_bits) & ((1 << exp_bits) - 1)
    mant = c & ((1 << mant_bits) - 1)
    if ieee:
        mag = np.where(biased == 0, np.ldexp(mant.astype(np.float64), 1 - bias - mant_bits),
                       np.ldexp((mant + (1 << mant_bits)).astype(np.float64), biased - bias - mant_bits))
    else:
        mag = np.where((biased == 0) & (mant == 0), 0.0,
                       np.ldexp((mant + (1 << mant_bits)).astype(np.float64), biased - bias - mant_bits))
    return np.where(sign == 1, -mag, mag)


def _decode_minifloat(qt: QTensor) -> np.ndarray:
    p = qt.params
    return minifloat_decode(qt.codes, p["exp_bits"], p["mant_bits"], p["bias"],
                            p["variant"] != "ristretto").astype(qt.dtype)


def _limits_minifloat(qt: QTensor) -> tuple[np.ndarray, np.ndarray]:
    return np.float64(-qt.params["max"]), np.float64(qt.params["max"])


# ---------------------------------------------------------------------------------------------
# power of two (Ristretto's integer-power-of-two weights, plus an explicit zero)
# ---------------------------------------------------------------------------------------------
def _power_of_two(x: np.ndarray, bits: int | None, axis: int | None, rounding: str, rng: Any, *,
                  exp_min: Any = None, exp_max: Any = -1) -> QTensor:
    if axis is not None:
        raise ValueError("power_of_two has no scale: axis must be None")
    emax = check_int(exp_max, "exp_max")
    if bits is None:
        emin = -8 if exp_min is None else check_int(exp_min, "exp_min")
    else:
        if exp_min is not None:
            raise ValueError("give either bits or exp_min, not both (bits sets exp_min = exp_max - 2**(bits-1) + 2)")
        emin = emax - (1 << (bits - 1)) + 2  # 2**(bits-1) - 1 exponents plus the zero code
    if emin > emax:
        raise ValueError(f"exp_min={emin} must be <= exp_max={emax}")
    count = emax - emin + 1
    total = 1 + max(1, math.ceil(math.log2(count + 1)))
    a = np.abs(x.astype(np.float64))
    with np.errstate(divide="ignore"):
        lg = np.log2(a)
    ex = np.clip(round_values(np.where(a > 0, lg, 0.0), rounding, rng), emin, emax)
    zero = a < math.ldexp(1.0, emin - 1)  # nearer to 0 than to 2**exp_min (and exact zeros)
    mag = np.where(zero, 0, ex - emin + 1).astype(np.int64)
    codes = np.where(np.signbit(x), -mag, mag).astype(_int_dtype(total))
    params = {"exp_min": emin, "exp_max": emax, "axis": None, "param_bits": 0}
    return QTensor(codes, "power_of_two", total, params, x.dtype)


def _decode_pot(qt: QTensor) -> np.ndarray:
    c = qt.codes.astype(np.int64)
    mag = np.where(c == 0, 0.0, np.ldexp(1.0, np.abs(c) - 1 + qt.params["exp_min"]))
    return np.where(c < 0, -mag, mag).astype(qt.dtype)


def _limits_pot(qt: QTensor) -> tuple[np.ndarray, np.ndarray]:
    top = math.ldexp(1.0, qt.params["exp_max"])
    return np.float64(-top), np.float64(top)


# ---------------------------------------------------------------------------------------------
# k-means weight sharing (Deep Compression)
# ---------------------------------------------------------------------------------------------
KMEANS_INITS = ("linear", "density", "random")


def kmeans_1d(w: np.ndarray, k: int, init: str, max_iter: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Lloyd's algorithm on 1-D data: (sorted centroids, index of each value's centroid)."""
    if init == "linear":
        c = np.linspace(w.min(), w.max(), k)
    elif init == "density":
        c = np.quantile(w, np.linspace(0.0, 1.0, k))
    else:
        if k > w.size:
            raise ValueError(f"k={k} exceeds the {w.size} non-zero values: init='random' (Forgy) needs k distinct picks")
        c = np.sort(rng.choice(w, size=k, replace=False))
    c = np.sort(c.astype(np.float64))
    idx = np.zeros(w.size, dtype=np.int64)
    for _ in range(max_iter):
        mids = (c[1:] + c[:-1]) / 2
        idx = np.searchsorted(mids, w, side="left")  # nearest centroid; a tie goes to the lower one
        counts = np.bincount(idx, minlength=k)
        sums = np.bincount(idx, weights=w, minlength=k)
        new = np.where(counts > 0, sums / np.maximum(counts, 1), c)  # an empty cluster keeps its centroid
        order = np.argsort(new, kind="stable")
        new = new[order]
        if np.array_equal(new, c):
            break
        c = new
    mids = (c[1:] + c[:-1]) / 2
    idx = np.searchsorted(mids, w, side="left")
    return c, idx


def _kmeans(x: np.ndarray, bits: int | None, axis: int | None, rounding: str, rng: Any, *,
            k: Any = None, init: str = "linear", max_iter: Any = 300) -> QTensor:
    if not isinstance(init, str):
        raise TypeError(f"init must be a str, got {type(init).__name__}")
    if init not in KMEANS_INITS:
        raise ValueError(f"init must be one of {KMEANS_INITS}, got {init!r}")
    if k is None:
        k = 1 << (8 if bits is None else bits)
    k = check_int(k, "k", 1, 1 << 16)
    max_iter = check_int(max_iter, "max_iter", 1)
    has_zero = bool(np.any(x == 0))
    index_bits = max(1, math.ceil(math.log2(k + (1 if has_zero else 0))))
    if bits is not None and (1 << bits) < k + (1 if has_zero else 0):
        raise ValueError(f"bits={bits} cannot index k={k} centroids{' and the zero code' if has_zero else ''}")
    gen = rng if rng is not None else np.random.default_rng(0)
    xs = np.moveaxis(x.astype(np.float64), axis, 0) if axis is not None else x.astype(np.float64)[None, ...]
    flat = xs.reshape(xs.shape[0], -1)
    codes = np.full(flat.shape, -1, dtype=np.int32 if k > 32767 else np.int16)
    books = np.zeros((flat.shape[0], k), dtype=np.float64)
    for ch in range(flat.shape[0]):
        row = flat[ch]
        nz = row != 0
        if not nz.any():
            continue
        c, idx = kmeans_1d(row[nz], k, init, max_iter, gen)
        books[ch] = c
        codes[ch, nz] = idx
    codes = codes.reshape(xs.shape)
    codes = np.moveaxis(codes, 0, axis) if axis is not None else codes[0]
    codebook = books if axis is not None else books[0]
    params = {"codebook": codebook, "k": k, "init": init, "axis": axis,
              "param_bits": flat.shape[0] * k * _PARAM_FLOAT_BITS}
    return QTensor(codes, "kmeans", index_bits, params, x.dtype)


def _decode_kmeans(qt: QTensor) -> np.ndarray:
    book = np.asarray(qt.params["codebook"])
    c = qt.codes.astype(np.int64)
    if qt.axis is None:
        v = np.where(c >= 0, book[np.maximum(c, 0)], 0.0)
    else:
        cm = np.moveaxis(c, qt.axis, 0)
        rows = np.arange(cm.shape[0]).reshape((-1,) + (1,) * (cm.ndim - 1))
        v = np.moveaxis(np.where(cm >= 0, book[rows, np.maximum(cm, 0)], 0.0), 0, qt.axis)
    return v.astype(qt.dtype)


def _limits_kmeans(qt: QTensor) -> tuple[np.ndarray, np.ndarray]:
    book = np.asarray(qt.params["codebook"])
    lo = np.minimum(book.min(axis=-1), 0.0)
    hi = np.maximum(book.max(axis=-1), 0.0)
    return per_axis(lo, qt.codes.ndim, qt.axis), per_axis(hi, qt.codes.ndim, qt.axis)


# ---------------------------------------------------------------------------------------------
# binary (BinaryConnect, BWN), ternary (TWN), DoReFa-Net
# ---------------------------------------------------------------------------------------------
BINARY_VARIANTS = ("binaryconnect", "bwn")


def _binary(x: np.ndarray, bits: int | None, axis: int | None, rounding: str, rng: Any, *,
            variant: str = "binaryconnect") -> QTensor:
    if not isinstance(variant, str):
        raise TypeError(f"variant must be a str, got {type(variant).__name__}")
    if variant not in BINARY_VARIANTS:
        raise ValueError(f"binary variant must be one of {BINARY_VARIANTS}, got {variant!r}")
    if bits not in (None, 1):
        raise ValueError(f"binary codes have 1 bit, got bits={bits}")
    w = x.astype(np.float64)
    if variant == "binaryconnect":
        if axis is not None:
            raise ValueError("binaryconnect has no scale: axis must be None")
        if rounding == "stochastic":
            p = np.clip((w + 1.0) / 2.0, 0.0, 1.0)  # hard sigmoid
            codes = np.where(rng.random(w.shape) < p, 1, -1)
        else:
            codes = np.where(w >= 0, 1, -1)
        scale: Any = np.float64(1.0)
        params = {"variant": variant, "scale": scale, "axis": None, "param_bits": 0}
    else:
        if rounding == "stochastic":
            raise ValueError("bwn is deterministic: rounding='stochastic' applies to binaryconnect")
        scale = np.mean(np.abs(w), axis=reduce_axes(w.ndim, axis)) if w.ndim else np.abs(w)
        codes = np.where(w >= 0, 1, -1)
        params = {"variant": variant, "scale": np.asarray(scale), "axis": axis,
                  "param_bits": _channels(np.shape(scale)) * _PARAM_FLOAT_BITS}
    return QTensor(np.asarray(codes, dtype=np.int8), "binary", 1, params, x.dtype)


def _ternary(x: np.ndarray, bits: int | None, axis: int | None, rounding: str, rng: Any, *,
             threshold_factor: Any = 0.7) -> QTensor:
    if bits not in (None, 2):
        raise ValueError(f"ternary codes have 2 bits, got bits={bits}")
    if rounding == "stochastic":
        raise ValueError("ternary (TWN) is deterministic: rounding='stochastic' is not defined for it")
    f = check_real(threshold_factor, "threshold_factor")
    w = x.astype(np.float64)
    red = reduce_axes(w.ndim, axis)
    a = np.abs(w)
    delta = f * (np.mean(a, axis=red) if w.ndim else a)
    kept = a > per_axis(delta, w.ndim, axis)
    n_kept = np.sum(kept, axis=red) if w.ndim else kept.astype(np.int64)
    s_kept = np.sum(np.where(kept, a, 0.0), axis=red) if w.ndim else np.where(kept, a, 0.0)
    alpha = np.where(n_kept > 0, s_kept / np.maximum(n_kept, 1), 0.0)
    codes = (np.sign(w) * kept).astype(np.int8)
    params = {"scale": alpha, "delta": delta, "axis": axis,
              "param_bits": _channels(np.shape(alpha)) * _PARAM_FLOAT_BITS}
    return QTensor(codes, "ternary", 2, params, x.dtype)


def _decode_sign_scale(qt: QTensor) -> np.ndarray:
    s = per_axis(np.asarray(qt.params["scale"], dtype=np.float64), qt.codes.ndim, qt.axis)
    return (qt.codes.astype(np.float64) * s).astype(qt.dtype)


def _limits_sign_scale(qt: QTensor) -> tuple[np.ndarray, np.ndarray]:
    s = per_axis(np.asarray(qt.params["scale"], dtype=np.float64), qt.codes.ndim, qt.axis)
    return -s, s


def _dorefa(x: np.ndarray, bits: int | None, axis: int | None, rounding: str, rng: Any) -> QTensor:
    if axis is not None:
        raise ValueError("dorefa is per tensor: axis must be None")
    k = 2 if bits is None else bits
    w = x.astype(np.float64)
    if k == 1:
        # DoReFa-Net 1-bit weights: sign(w) * E(|w|).
        scale = np.mean(np.abs(w))
        codes = np.where(w >= 0, 1, -1).astype(np.int8)
        params = {"scale": scale, "axis": None, "param_bits": _PARAM_FLOAT_BITS}
        return QTensor(codes, "dorefa", 1, params, x.dtype)
    t = np.tanh(w)
    m = np.max(np.abs(t))
    r = t / (2 * m) + 0.5 if m > 0 else np.full_like(t, 0.5)
    n = (1 << k) - 1
    codes = np.clip(round_values(r * n, rounding, rng), 0, n).astype(_int_dtype(k, signed=False))
    params = {"levels": n, "axis": None, "param_bits": 0}
    return QTensor(codes, "dorefa", k, params, x.dtype)


def _decode_dorefa(qt: QTensor) -> np.ndarray:
    if qt.bits == 1:
        return (qt.codes.astype(np.float64) * qt.params["scale"]).astype(qt.dtype)
    n = qt.params["levels"]
    return (2.0 * qt.codes.astype(np.float64) / n - 1.0).astype(qt.dtype)


def _limits_dorefa(qt: QTensor) -> tuple[np.ndarray, np.ndarray]:
    s = float(qt.params["scale"]) if qt.bits == 1 else 1.0
    return np.float64(-s), np.float64(s)


# ---------------------------------------------------------------------------------------------
# Registry and the entry point
# ---------------------------------------------------------------------------------------------
# scheme: (encoder, decoder, limits, bits range (None: fixed by the scheme), default bits)
_REGISTRY: dict[str, tuple[Callable[..., QTensor], Callable[[QTensor], np.ndarray],
                           Callable[[QTensor], tuple[np.ndarray, np.ndarray]], tuple[int, int], int | None]] = {
    "affine": (_affine, _decode_scaled, _limits_scaled, (2, 16), 8),
    "symmetric": (_symmetric, _decode_scaled, _limits_scaled, (2, 16), 8),
    "dynamic_fixed_point": (_dynamic_fixed_point, _decode_dfp, _limits_dfp, (2, 64), 8),
    "minifloat": (_minifloat, _decode_minifloat, _limits_minifloat, (3, 32), None),
    "power_of_two": (_power_of_two, _decode_pot, _limits_pot, (2, 8), None),
    "kmeans": (_kmeans, _decode_kmeans, _limits_kmeans, (1, 16), None),
    "binary": (_binary, _decode_sign_scale, _limits_sign_scale, (1, 1), None),
    "ternary": (_ternary, _decode_sign_scale, _limits_sign_scale, (2, 2), None),
    "dorefa": (_dorefa, _decode_dorefa, _limits_dorefa, (1, 16), None),
}
assert tuple(_REGISTRY) == SCHEMES

_DEFAULT_ROUNDING = {"dynamic_fixed_point": "half_away", "power_of_two": "half_away"}


def quantize(x: Any, scheme: str, *, bits: int | None = None, axis: int | None = None,
             rounding: str | None = None, seed: Any = None, **options: Any) -> QTensor:
    """Quantize a float tensor with one of the schemes of the seed lecture.

    Parameters
    ----------
    x : array_like
        Real values: float16/32/64 or integers (float32 is kept, the rest computes in float64).
        NaN and infinities are rejected.
    scheme : str
        One of ``"affine"``, ``"symmetric"``, ``"dynamic_fixed_point"``, ``"minifloat"``,
        ``"power_of_two"``, ``"kmeans"``, ``"binary"``, ``"ternary"``, ``"dorefa"`` (each described
        in the README section "Quantization").
    bits : int, optional
        Bits per code, where the scheme has a choice: affine/symmetric 2..16 (default 8),
        dynamic_fixed_point 2..64 (default 8), minifloat 1 + exp_bits + mant_bits (default 8),
        power_of_two 2..8 (sets the exponent range; default: Ristretto's [-8, -1]), kmeans
        ``k = 2**bits`` (default k = 256), dorefa 1..16 (default 2).
    axis : int, optional
        Channel axis for per-channel parameters (affine, symmetric, kmeans, binary ``bwn``,
        ternary); None (default) for one set per tensor.
    rounding : str, optional
        ``"half_even"`` (default), ``"half_away"`` (default of the Ristretto schemes, whose C
        ``round()`` ties away from zero) or ``"stochastic"`` (``floor(v + u)``, u uniform in
        [0, 1), drawn from ``seed``).
    seed : int or numpy.random.Generator, optional
        Source of randomness for stochastic rounding, ``init="random"`` k-means and stochastic
        BinaryConnect. The same seed gives the same codes.
    **options
        Scheme options: affine ``signed=False``, ``range=(low, high)``; symmetric
        ``threshold=``, ``narrow=True``; dynamic_fixed_point ``sign_bit=True``, ``max_abs=``;
        minifloat ``variant="ristretto" | "e4m3fn" | "e5m2"``, ``exp_bits=4``, ``mant_bits=``,
        ``bias=``; power_of_two ``exp_min=-8``, ``exp_max=-1``; kmeans ``k=``,
        ``init="linear" | "density" | "random"``, ``max_iter=300``; binary
        ``variant="binaryconnect" | "bwn"``; ternary ``threshold_factor=0.7``.

    Returns
    -------
    QTensor
        The codes, the parameters and the storage size; ``.dequantize()`` gives the values back.

    Raises
    ------
    TypeError
        If ``x`` is not real numeric data, an option is unknown or has the wrong type.
    ValueError
        If ``x`` is empty or not finite, ``bits`` is out of the scheme's range, or an option's
        value is invalid.

    Examples
    --------
    >>> import numpy as np
    >>> from fixedq.quant import quantize
    >>> q = quantize(np.array([-1.0, 0.0, 0.5, 2.0]), "affine")
    >>> q.codes, float(q.params["scale"]), int(q.params["zero_point"])  # 0.5 / scale = 42.5: ties to even
    (array([  0,  85, 127, 255], dtype=uint8), 0.011764705882352941, 85)
    """
    if not isinstance(scheme, str):
        raise TypeError(f"scheme must be a str, one of {SCHEMES}, got {type(scheme).__name__}")
    if scheme not in _REGISTRY:
        raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")
    encoder, _, _, (bmin, bmax), default_bits = _REGISTRY[scheme]
    a = as_float_array(x, "x")
    if bits is not None:
        bits = check_int(bits, "bits", bmin, bmax)
    elif default_bits is not None:
        bits = default_bits
    axis = check_axis(axis, a.ndim)
    rounding = check_rounding(_DEFAULT_ROUNDING.get(scheme, "half_even") if rounding is None else rounding)
    rng = make_rng(seed) if (rounding == "stochastic" or scheme in ("kmeans", "binary")) else None
    try:
        return encoder(a, bits, axis, rounding, rng, **options)
    except TypeError as exc:
        if "unexpected keyword argument" in str(exc):
            raise TypeError(f"scheme {scheme!r} does not take the option {str(exc).split()[-1]}") from None
        raise


def decode(qt: QTensor) -> np.ndarray:
    return _REGISTRY[qt.scheme][1](qt)


def limits(qt: QTensor) -> tuple[np.ndarray, np.ndarray]:
    return _REGISTRY[qt.scheme][2](qt)


def dequantize(qt: QTensor) -> np.ndarray:
    """The real values of a :class:`QTensor` (same as ``qt.dequantize()``)."""
    if not isinstance(qt, QTensor):
        raise TypeError(f"qt must be a QTensor, got {type(qt).__name__}")
    return decode(qt)
