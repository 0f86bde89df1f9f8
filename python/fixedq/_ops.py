"""Arithmetic and casts with an explicit rounding and overflow policy.

The operators, ufuncs and ``astype`` use the policy of the current context
(:func:`fixedq.policy`); these functions take the policy as arguments instead, and add
stochastic rounding, which needs random numbers and so cannot be a default.
"""

from __future__ import annotations

import operator
from typing import Any, Optional, Union

import numpy as np

from . import _core
from ._policy import OVERFLOWS, ROUNDINGS, STOCHASTIC, _overflow_index, _rounding_index, policy

_FIXED_TYPES = (
    _core.Fixed8_8,
    _core.Fixed16_16,
    _core.Fixed24_8,
    _core.Fixed32_32,
    _core.Q7,
    _core.Q15,
    _core.Q31,
)

SeedLike = Union[None, int, np.random.Generator]

_SCALAR_OPS = {
    np.add: operator.add,
    np.subtract: operator.sub,
    np.multiply: operator.mul,
    np.true_divide: operator.truediv,
}


def _fixed_type(dtype: Any, argname: str = "dtype") -> type:
    """The fixedq scalar type named by ``dtype`` (a type, a numpy dtype or a name)."""
    try:
        resolved = np.dtype(dtype).type
    except TypeError:
        resolved = None
    if resolved not in _FIXED_TYPES:
        names = ", ".join(t.__name__ for t in _FIXED_TYPES)
        msg = f"{argname} must be a fixedq format ({names}), not {dtype!r}"
        raise TypeError(msg)
    return resolved


def _fixed_type_of(*operands: Any) -> Optional[type]:
    found = None
    for x in operands:
        t = x.dtype.type if isinstance(x, (np.ndarray, np.generic)) else type(x)
        if t in _FIXED_TYPES:
            if found is not None and found is not t:
                msg = (
                    f"cannot mix {found.__name__} and {t.__name__}; convert one with "
                    "fixedq.cast(x, dtype) first"
                )
                raise TypeError(msg)
            found = t
    return found


def _check_policy(rounding: Optional[str], overflow: Optional[str]) -> None:
    if rounding is not None and rounding != STOCHASTIC:
        _rounding_index(rounding)
    if overflow is not None:
        _overflow_index(overflow)


def _random_bits(seed: SeedLike, shape: tuple[int, ...]) -> np.ndarray:
    if seed is None:
        msg = (
            "rounding='stochastic' needs seed= (an int or a numpy.random.Generator) so "
            "that results can be reproduced"
        )
        raise ValueError(msg)
    if isinstance(seed, np.random.Generator):
        rng = seed
    elif isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        rng = np.random.default_rng(int(seed))
    else:
        msg = f"seed must be an int or a numpy.random.Generator, not {type(seed).__name__}"
        raise TypeError(msg)
    return rng.integers(0, 2**64, size=shape, dtype=np.uint64, endpoint=False)


def _current_overflow_index(overflow: Optional[str]) -> int:
    if overflow is not None:
        return _overflow_index(overflow)
    from ._policy import get_policy

    return OVERFLOWS.index(get_policy().overflow)


def _result(arr: np.ndarray, scalar_input: bool) -> Any:
    return arr.reshape(())[()] if scalar_input else arr


def _is_scalar(x: Any) -> bool:
    return not isinstance(x, np.ndarray) and np.ndim(x) == 0


def _binary(
    ufunc: np.ufunc,
    a: Any,
    b: Any,
    dtype: Any,
    rounding: Optional[str],
    overflow: Optional[str],
    seed: SeedLike,
    stochastic_op: Optional[str],
) -> Any:
    _check_policy(rounding, overflow)
    t = _fixed_type(dtype) if dtype is not None else _fixed_type_of(a, b)
    if t is None:
        msg = (
            f"fixedq.{ufunc.__name__.replace('true_', '')} needs a fixedq operand or dtype=; "
            f"got {type(a).__name__} and {type(b).__name__}"
        )
        raise TypeError(msg)
    if rounding == STOCHASTIC:
        if stochastic_op is None:
            # Addition and subtraction are exact: there is nothing to round.
            rounding = None
        else:
            scalar_input = _is_scalar(a) and _is_scalar(b)
            with policy(overflow=overflow):
                x = np.asarray(a).astype(t) if np.asarray(a).dtype.type is not t else np.asarray(a)
                y = np.asarray(b).astype(t) if np.asarray(b).dtype.type is not t else np.asarray(b)
            x, y = np.broadcast_arrays(x, y)
            x = np.ascontiguousarray(x)
            y = np.ascontiguousarray(y)
            bits = _random_bits(seed, x.shape)
            out = _core._stochastic(stochastic_op, t, x, y, bits, _current_overflow_index(overflow))
            return _result(out, scalar_input)
    elif seed is not None:
        msg = "seed= is only used with rounding='stochastic'"
        raise ValueError(msg)
    with policy(rounding, overflow):
        if _is_scalar(a) and _is_scalar(b):
            # Scalars follow the scalar operators (ZeroDivisionError for x / 0).
            # Without dtype=, a Python or NumPy number meets the scalar operator as it is
            # (ints take part exactly, floats must fit); with dtype=, both are converted.
            x = a if type(a) is t or dtype is None else t(a)
            y = b if type(b) is t or dtype is None else t(b)
            return _SCALAR_OPS[ufunc](x, y)
        if dtype is not None:
            a = np.asarray(a).astype(t) if np.asarray(a).dtype.type is not t else a
            b = np.asarray(b).astype(t) if np.asarray(b).dtype.type is not t else b
        return ufunc(a, b)


def add(a: Any, b: Any, *, dtype: Any = None, rounding: Optional[str] = None,
        overflow: Optional[str] = None, seed: SeedLike = None) -> Any:
    """Add fixed-point scalars or arrays with an explicit policy.

    Parameters
    ----------
    a, b : array_like
        Operands; at least one must be a fixedq scalar or array unless `dtype` is given.
        Python and NumPy numbers are converted to the fixed format (NEP 50: they are weak).
    dtype : fixedq format, optional
        Convert both operands to this format first (with the same policy).
    rounding : str, optional
        Rounding for converted operands; the sum itself is exact. One of
        ``fixedq.ROUNDINGS`` or ``'stochastic'``. Default: the current policy.
    overflow : {'wrap', 'saturate', 'raise'}, optional
        What an out-of-range sum becomes. Default: the current policy.
    seed : int or numpy.random.Generator, optional
        Accepted for symmetry with :func:`multiply`; addition never rounds.

    Returns
    -------
    fixedq scalar or numpy.ndarray
        In the fixed format of the operands.

    Raises
    ------
    OverflowError
        With ``overflow='raise'`` when a sum is out of range.
    ValueError
        For an unknown policy name.
    TypeError
        For operands of two different fixed formats, or none.
    """
    return _binary(np.add, a, b, dtype, rounding, overflow, seed if rounding == STOCHASTIC else None, None)


def subtract(a: Any, b: Any, *, dtype: Any = None, rounding: Optional[str] = None,
             overflow: Optional[str] = None, seed: SeedLike = None) -> Any:
    """Subtract fixed-point scalars or arrays with an explicit policy.

    Parameters and errors are those of :func:`add`; the difference is exact before the
    overflow policy applies.
    """
    return _binary(np.subtract, a, b, dtype, rounding, overflow, seed if rounding == STOCHASTIC else None, None)


def multiply(a: Any, b: Any, *, dtype: Any = None, rounding: Optional[str] = None,
             overflow: Optional[str] = None, seed: SeedLike = None) -> Any:
    """Multiply with one rounding of the exact product and an explicit policy.

    Parameters
    ----------
    a, b : array_like
        Operands, as for :func:`add`.
    dtype : fixedq format, optional
        Convert both operands to this format first.
    rounding : str, optional
        One of ``fixedq.ROUNDINGS`` or ``'stochastic'`` (round up with probability equal
        to the discarded fraction; needs `seed`). Default: the current policy.
    overflow : {'wrap', 'saturate', 'raise'}, optional
        Default: the current policy.
    seed : int or numpy.random.Generator, optional
        The random source for ``rounding='stochastic'``; the same seed gives the same
        result.

    Returns
    -------
    fixedq scalar or numpy.ndarray

    Raises
    ------
    OverflowError
        With ``overflow='raise'`` when a product is out of range.
    ValueError
        For an unknown policy name, or ``'stochastic'`` without `seed`.

    Examples
    --------
    >>> import fixedq
    >>> fixedq.multiply(fixedq.Q15(0.5), fixedq.Q15(-0.75), rounding="floor")
    Q15(-0.375)
    """
    return _binary(np.multiply, a, b, dtype, rounding, overflow, seed, "mul")


def divide(a: Any, b: Any, *, dtype: Any = None, rounding: Optional[str] = None,
           overflow: Optional[str] = None, seed: SeedLike = None) -> Any:
    """Divide with one rounding of the exact quotient and an explicit policy.

    Parameters are those of :func:`multiply`. Division by zero raises
    :class:`ZeroDivisionError` for scalars; for arrays it gives ``max()``/``min()``
    (``0/0`` gives 0) under ``'saturate'``, 0 under ``'wrap'``, with NumPy's usual
    divide-by-zero warning, and raises under ``'raise'``.
    """
    return _binary(np.true_divide, a, b, dtype, rounding, overflow, seed, "div")


def cast(x: Any, dtype: Any, *, rounding: Optional[str] = None, overflow: Optional[str] = None,
         seed: SeedLike = None) -> Any:
    """Convert numbers or arrays to a fixed format (or a fixed array to another dtype).

    Parameters
    ----------
    x : array_like
        Python numbers, strings, NumPy arrays of any numeric dtype or fixedq arrays.
    dtype : fixedq format or numpy dtype
        The destination. Casting a fixed array to a float dtype is exact or correctly
        rounded; to an integer dtype it truncates toward zero, like NumPy's float casts.
    rounding : str, optional
        One of ``fixedq.ROUNDINGS`` or ``'stochastic'`` (needs `seed`). Default: the
        current policy.
    overflow : {'wrap', 'saturate', 'raise'}, optional
        Default: the current policy.
    seed : int or numpy.random.Generator, optional
        The random source for ``rounding='stochastic'``.

    Returns
    -------
    fixedq scalar or numpy.ndarray

    Raises
    ------
    ValueError
        For NaN, an unknown policy name, or ``'stochastic'`` without `seed`.
    OverflowError
        With ``overflow='raise'`` when a value is out of range.

    Examples
    --------
    >>> import numpy as np, fixedq
    >>> fixedq.cast(np.array([0.1, -0.1]), fixedq.Q7, rounding="toward_zero")
    array([Q7(0.09375), Q7(-0.09375)], dtype=Q7)
    """
    _check_policy(rounding, overflow)
    scalar_input = _is_scalar(x)
    target = np.dtype(dtype)
    if rounding == STOCHASTIC:
        t = _fixed_type(dtype)
        src = np.asarray(x)
        if src.dtype.type in _FIXED_TYPES:
            src = np.ascontiguousarray(src)
            op = "cast_fixed"
        else:
            if src.dtype.kind not in "biuf":
                msg = f"cannot convert an array of dtype {src.dtype} to {t.__name__}"
                raise TypeError(msg)
            src = np.ascontiguousarray(src, dtype=np.float64)
            op = "cast_float"
        bits = _random_bits(seed, src.shape)
        out = _core._stochastic(op, t, src, None, bits, _current_overflow_index(overflow))
        return _result(out, scalar_input)
    if seed is not None:
        msg = "seed= is only used with rounding='stochastic'"
        raise ValueError(msg)
    with policy(rounding, overflow):
        if scalar_input and target.type in _FIXED_TYPES and not isinstance(x, np.generic):
            return target.type(x)
        return _result(np.asarray(x).astype(target) if isinstance(x, (np.ndarray, np.generic))
                       else np.array(x, dtype=target), scalar_input)


def sum(x: Any, axis: Union[None, int, tuple[int, ...]] = None, *, keepdims: bool = False,
        overflow: Optional[str] = None) -> Any:  # noqa: A001 - mirrors numpy.sum
    """Sum a fixed-point array exactly along any axes, with one overflow check at the end.

    ``np.sum`` accumulates exactly too when it reduces a contiguous axis (a 1-D array, or
    the last axis of a C-ordered one); NumPy hands other reductions to the loop one row at
    a time, where each partial sum meets the overflow policy. This function moves the
    reduced axes last so that every sum is exact, whatever the axes.

    Parameters
    ----------
    x : array_like of a fixedq dtype
    axis : None, int or tuple of ints
        The axes to sum over; ``None`` sums everything.
    keepdims : bool
        Keep the reduced axes with length one.
    overflow : {'wrap', 'saturate', 'raise'}, optional
        Applied once, to each final sum. Default: the current policy.

    Returns
    -------
    fixedq scalar or numpy.ndarray

    Examples
    --------
    >>> import numpy as np, fixedq
    >>> q = np.array([[0.75, 0.75], [0.5, 0.5], [-0.5, -0.5]], dtype=fixedq.Q15)
    >>> fixedq.sum(q, axis=0)
    array([Q15(0.75), Q15(0.75)], dtype=Q15)
    """
    a = np.asarray(x)
    _fixed_type(a.dtype, "x")
    axes = tuple(range(a.ndim)) if axis is None else _normalize_axes(axis, a.ndim)
    keep = [d for d in range(a.ndim) if d not in axes]
    moved = np.ascontiguousarray(np.transpose(a, keep + list(axes)))
    count = 1
    for d in axes:
        count *= a.shape[d]
    flat = moved.reshape(moved.shape[: len(keep)] + (count,))
    with policy(overflow=overflow):
        out = np.add.reduce(flat, axis=-1)
    if keepdims:
        out = np.expand_dims(out, axes)
    return out


def _normalize_axes(axis: Union[int, tuple[int, ...]], ndim: int) -> tuple[int, ...]:
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    result = []
    for ax in axes:
        if not -ndim <= ax < ndim:
            msg = f"axis {ax} is out of bounds for an array of dimension {ndim}"
            raise np.exceptions.AxisError(msg)
        result.append(int(ax) % ndim)
    if len(set(result)) != len(result):
        msg = f"repeated axis in {axis!r}"
        raise ValueError(msg)
    return tuple(result)


__all__ = ["ROUNDINGS", "OVERFLOWS", "add", "subtract", "multiply", "divide", "cast", "sum"]
