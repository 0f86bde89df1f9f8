"""The current rounding and overflow policy, per thread and per asyncio task.

The policy lives in a :class:`contextvars.ContextVar` that the C++ scalar types, casts and
ufunc loops read once per call, so there is no global mutable state: each thread and each
task sees the policy of its own context, and :func:`policy` restores the previous one on
exit even when an exception escapes.
"""

from __future__ import annotations

import contextvars
from contextlib import contextmanager
from typing import Iterator, NamedTuple, Optional

from . import _core

ROUNDINGS: tuple[str, ...] = ("floor", "toward_zero", "ceil", "half_up", "half_away", "half_even")
"""Deterministic rounding names, in the order of the C++ policy codes."""

OVERFLOWS: tuple[str, ...] = ("wrap", "saturate", "raise")
"""Overflow names, in the order of the C++ policy codes."""

STOCHASTIC = "stochastic"

if _core._policy_names() != (ROUNDINGS, OVERFLOWS):  # pragma: no cover - build mismatch
    raise ImportError("fixedq: the compiled module and fixedq._policy disagree on policy names")

_DEFAULT_CODE = ROUNDINGS.index("half_even") * 3 + OVERFLOWS.index("saturate")
_POLICY: contextvars.ContextVar[int] = contextvars.ContextVar("fixedq_policy", default=_DEFAULT_CODE)
_core._set_policy_var(_POLICY)


class Policy(NamedTuple):
    """A rounding and an overflow policy by name."""

    rounding: str
    overflow: str


def _rounding_index(rounding: str, *, allow_stochastic: bool = False) -> int:
    if isinstance(rounding, str) and rounding in ROUNDINGS:
        return ROUNDINGS.index(rounding)
    valid = ROUNDINGS + ((STOCHASTIC,) if allow_stochastic else ())
    if rounding == STOCHASTIC:
        msg = (
            "rounding='stochastic' needs random numbers: pass it to fixedq.cast, "
            "fixedq.multiply or fixedq.divide together with seed= (an int or a "
            "numpy.random.Generator); it cannot be a default policy"
        )
        raise ValueError(msg)
    msg = f"unknown rounding {rounding!r}; expected one of {', '.join(map(repr, valid))}"
    raise ValueError(msg)


def _overflow_index(overflow: str) -> int:
    if isinstance(overflow, str) and overflow in OVERFLOWS:
        return OVERFLOWS.index(overflow)
    msg = f"unknown overflow {overflow!r}; expected one of {', '.join(map(repr, OVERFLOWS))}"
    raise ValueError(msg)


def _code(rounding: Optional[str], overflow: Optional[str]) -> int:
    current = _POLICY.get()
    r = current // 3 if rounding is None else _rounding_index(rounding)
    o = current % 3 if overflow is None else _overflow_index(overflow)
    return r * 3 + o


def get_policy() -> Policy:
    """Return the policy in force in this context.

    Returns
    -------
    Policy
        ``Policy(rounding, overflow)``; the default is ``Policy('half_even', 'saturate')``.
    """
    code = _POLICY.get()
    return Policy(ROUNDINGS[code // 3], OVERFLOWS[code % 3])


@contextmanager
def policy(rounding: Optional[str] = None, overflow: Optional[str] = None) -> Iterator[Policy]:
    """Set the default rounding and overflow policy inside a ``with`` block.

    Every operation on fixedq scalars and arrays (operators, ufuncs, ``astype``, array
    construction) uses the policy of the innermost block. The setting is local to the
    current thread and asyncio task (it is a :class:`contextvars.ContextVar`).

    Parameters
    ----------
    rounding : str, optional
        One of ``'floor'``, ``'toward_zero'``, ``'ceil'``, ``'half_up'`` (ties toward
        +inf), ``'half_away'`` (ties away from zero), ``'half_even'`` (ties to even).
        ``None`` keeps the current one.
    overflow : str, optional
        ``'wrap'`` (two's complement), ``'saturate'`` (clamp) or ``'raise'``
        (:class:`OverflowError`). ``None`` keeps the current one.

    Yields
    ------
    Policy
        The policy in force inside the block.

    Raises
    ------
    ValueError
        For an unknown name; the message lists the valid ones.

    Examples
    --------
    >>> import fixedq
    >>> with fixedq.policy(rounding="floor", overflow="wrap"):
    ...     fixedq.Q7(0.99) + fixedq.Q7(0.5)
    Q7(-0.515625)
    """
    token = _POLICY.set(_code(rounding, overflow))
    try:
        yield get_policy()
    finally:
        _POLICY.reset(token)
