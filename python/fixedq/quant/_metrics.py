"""Error metrics of a QTensor against its float source (private module)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._common import as_float_array
from ._qtensor import QTensor


@dataclass(frozen=True)
class QuantMetrics:
    """Errors of a quantized tensor against its float source.

    Attributes
    ----------
    mse : float
        Mean of ``(x - dequantize(q))**2``.
    sqnr_db : float
        ``10 * log10(sum(x**2) / sum((x - dequantize(q))**2))``; ``inf`` when there is no error
        (and ``-inf`` when x is all zero but the reconstruction is not).
    max_abs_error : float
        Largest ``|x - dequantize(q)|``.
    saturated_fraction : float
        Fraction of values outside the representable range ``QTensor.limits()`` (clipped to
        its ends).
    """

    mse: float
    sqnr_db: float
    max_abs_error: float
    saturated_fraction: float


def error_metrics(qtensor: QTensor, reference: Any) -> QuantMetrics:
    """MSE, SQNR in dB, max absolute error and saturated fraction of ``qtensor`` against
    ``reference`` (the float tensor it was made from).

    Parameters
    ----------
    qtensor : QTensor
        The quantized tensor.
    reference : array_like
        The float source, same shape.

    Returns
    -------
    QuantMetrics

    Raises
    ------
    TypeError
        If ``qtensor`` is not a QTensor or ``reference`` is not real numeric data.
    ValueError
        If the shapes differ or ``reference`` is empty or not finite.
    """
    if not isinstance(qtensor, QTensor):
        raise TypeError(f"qtensor must be a QTensor, got {type(qtensor).__name__}")
    x = as_float_array(reference, "reference").astype(np.float64)
    if x.shape != qtensor.shape:
        raise ValueError(f"reference has shape {x.shape}, the QTensor {qtensor.shape}")
    err = x - qtensor.dequantize().astype(np.float64)
    sq = float(np.sum(err * err))
    signal = float(np.sum(x * x))
    if sq == 0:
        sqnr = math.inf
    elif signal == 0:
        sqnr = -math.inf
    else:
        sqnr = 10.0 * math.log10(signal / sq)
    lo, hi = qtensor.limits()
    saturated = float(np.mean((x < lo) | (x > hi)))
    return QuantMetrics(mse=sq / x.size, sqnr_db=sqnr, max_abs_error=float(np.max(np.abs(err))),
                        saturated_fraction=saturated)
