"""Magnitude pruning (Deep Compression's first stage) (private module)."""

from __future__ import annotations

from typing import Any, Sequence, overload

import numpy as np

from ._common import as_float_array, check_real


@overload
def prune(x: np.ndarray, sparsity: float | None = ..., *, threshold: float | None = ...,
          scope: str = ...) -> tuple[np.ndarray, np.ndarray]: ...
@overload
def prune(x: Sequence[np.ndarray], sparsity: float | None = ..., *, threshold: float | None = ...,
          scope: str = ...) -> tuple[list[np.ndarray], list[np.ndarray]]: ...


def prune(x: Any, sparsity: float | None = None, *, threshold: float | None = None,
          scope: str = "tensor") -> Any:
    """Remove the weights of smallest magnitude.

    The rule of Deep Compression's reference implementation: the threshold is the ``sparsity``
    quantile (NumPy's linear interpolation) of the magnitudes of the **non-zero** weights, and
    weights with ``|w| < threshold`` are removed (zeros always are). So about ``sparsity`` of
    the non-zero weights go; ties at the threshold are kept.

    Parameters
    ----------
    x : array_like or sequence of array_like
        One weight tensor, or several (layers) to prune together.
    sparsity : float, optional
        Fraction in [0, 1) of the non-zero weights to remove. Give this or ``threshold``.
    threshold : float, optional
        Explicit magnitude threshold instead of ``sparsity``.
    scope : {"tensor", "global"}
        For a sequence: a threshold per tensor (``"tensor"``) or one threshold over all of them
        (``"global"``, as the reference implementation does).

    Returns
    -------
    (pruned, mask)
        The pruned copy (float64 or float32 like the input) and the boolean mask of kept
        weights; lists of them for a sequence.

    Raises
    ------
    TypeError, ValueError
        On bad data (empty, NaN/inf, not real) or when neither or both of ``sparsity`` and
        ``threshold`` are given, or they are out of range.

    Examples
    --------
    >>> import numpy as np
    >>> from fixedq.quant import prune
    >>> pruned, mask = prune(np.array([0.1, -0.5, 0.2, 0.9, -0.05]), sparsity=0.4)
    >>> pruned, mask
    (array([ 0. , -0.5,  0.2,  0.9,  0. ]), array([False,  True,  True,  True, False]))
    """
    if (sparsity is None) == (threshold is None):
        raise ValueError("give exactly one of sparsity and threshold")
    if scope not in ("tensor", "global"):
        raise ValueError(f"scope must be 'tensor' or 'global', got {scope!r}")
    if sparsity is not None:
        sparsity = check_real(sparsity, "sparsity")
        if not 0 <= sparsity < 1:
            raise ValueError(f"sparsity must be in [0, 1), got {sparsity}")
    if threshold is not None:
        threshold = check_real(threshold, "threshold")
        if threshold < 0:
            raise ValueError(f"threshold must be >= 0, got {threshold}")
    single = isinstance(x, np.ndarray) or np.isscalar(x) or (
        isinstance(x, (list, tuple)) and len(x) > 0 and np.isscalar(x[0]))
    if single:
        tensors = [as_float_array(x, "x")]
    else:
        if len(x) == 0:
            raise ValueError("x is empty")
        tensors = [as_float_array(t, f"x[{i}]") for i, t in enumerate(x)]

    def quantile_of(arrays: list[np.ndarray]) -> float:
        mags = np.concatenate([np.abs(a[a != 0]).ravel() for a in arrays])
        return float(np.quantile(mags, sparsity)) if mags.size else 0.0

    if threshold is not None:
        limits = [threshold] * len(tensors)
    elif scope == "global" and not single:
        limits = [quantile_of(tensors)] * len(tensors)
    else:
        limits = [quantile_of([t]) for t in tensors]
    masks = [(np.abs(t) >= lim) & (t != 0) for t, lim in zip(tensors, limits)]
    pruned = [np.where(m, t, t.dtype.type(0)) for t, m in zip(tensors, masks)]
    if single:
        return pruned[0], masks[0]
    return pruned, masks
