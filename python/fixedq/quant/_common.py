"""Argument checking and rounding shared by the schemes and calibrators (private)."""

from __future__ import annotations

import numbers
from typing import Any, Union

import numpy as np

#: Rounding modes of :func:`fixedq.quant.quantize`.
#: ``half_even`` (nearest, ties to even), ``half_away`` (nearest, ties away from zero: C
#: ``round()``, Ristretto's NEAREST), ``stochastic`` (``floor(v + u)``, ``u ~ U[0, 1)``: the
#: formula of the seed lecture and of Ristretto's STOCHASTIC mode).
ROUNDINGS = ("half_even", "half_away", "stochastic")

Seed = Union[int, np.random.Generator, None]


def check_rounding(rounding: Any) -> str:
    if not isinstance(rounding, str):
        raise TypeError(f"rounding must be a str, one of {ROUNDINGS}, got {type(rounding).__name__}")
    if rounding not in ROUNDINGS:
        raise ValueError(f"rounding must be one of {ROUNDINGS}, got {rounding!r}")
    return rounding


def make_rng(seed: Seed) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or (isinstance(seed, numbers.Integral) and not isinstance(seed, bool)):
        return np.random.default_rng(seed)
    raise TypeError(f"seed must be an int, a numpy.random.Generator or None, got {type(seed).__name__}")


def round_values(v: np.ndarray, rounding: str, rng: np.random.Generator | None) -> np.ndarray:
    """Round ``v`` to integers (still floating point) with the named rule."""
    if rounding == "half_even":
        return np.rint(v)
    if rounding == "half_away":
        t = np.trunc(v)
        return t + np.where(np.abs(v - t) >= 0.5, np.sign(v), 0.0).astype(v.dtype)
    if rounding == "stochastic":
        assert rng is not None
        u = rng.random(v.shape, dtype=np.float64).astype(v.dtype, copy=False)
        return np.floor(v + u)
    raise ValueError(f"rounding must be one of {ROUNDINGS}, got {rounding!r}")


def check_int(value: Any, name: str, lo: int | None = None, hi: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    value = int(value)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        bounds = f"[{lo}, {hi}]" if hi is not None else f">= {lo}"
        raise ValueError(f"{name} must be in {bounds}, got {value}")
    return value


def check_real(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def as_float_array(x: Any, name: str = "x", *, allow_empty: bool = False) -> np.ndarray:
    """``x`` as a finite float32 or float64 array (float16 and integers widen; no silent
    conversion of bool, complex or object data)."""
    a = np.asarray(x)
    if a.dtype.kind in "iu":
        a = a.astype(np.float64)
    elif a.dtype == np.float16:
        a = a.astype(np.float32)
    elif a.dtype not in (np.float32, np.float64):
        raise TypeError(f"{name} must be a real floating-point or integer array, got dtype {a.dtype}")
    if a.size == 0 and not allow_empty:
        raise ValueError(f"{name} is empty")
    if a.size and not np.isfinite(a).all():
        raise ValueError(f"{name} contains NaN or infinity")
    return a


def check_axis(axis: Any, ndim: int, name: str = "axis") -> int | None:
    if axis is None:
        return None
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
        raise TypeError(f"{name} must be an int or None, got {type(axis).__name__}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"{name}={axis} is out of range for an array of {ndim} dimensions")
    return int(axis) % ndim


def reduce_axes(ndim: int, axis: int | None) -> tuple[int, ...]:
    return tuple(range(ndim)) if axis is None else tuple(a for a in range(ndim) if a != axis)


def per_axis(values: np.ndarray, ndim: int, axis: int | None) -> np.ndarray:
    """Reshape per-channel parameters (shape (C,) or ()) to broadcast against the tensor."""
    if axis is None:
        return values
    shape = [1] * ndim
    shape[axis] = -1
    return np.reshape(values, shape)
