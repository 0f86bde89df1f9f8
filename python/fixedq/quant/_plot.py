"""plot_histogram: a tensor's value distribution on a log2 axis (matplotlib, optional)."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from ._common import as_float_array
from ._qtensor import QTensor


def plot_histogram(x: Any, *, thresholds: Mapping[str, float] | Sequence[float] | float | None = None, qtensor: QTensor | None = None,
                   bins: int = 100, ax: Any = None, title: str | None = None) -> Any:
    """Draw the distribution of ``log2|x|`` with the chosen thresholds or levels marked.

    As in the seed lecture's value-distribution figures: the horizontal axis is the exponent
    ``log2|x|`` of the non-zero values (zeros are counted in the legend), the vertical axis the
    share of values per bin; thresholds are dashed vertical lines at ``log2(threshold)``, the
    representable magnitudes of ``qtensor`` thin grey lines (at most 256 of them).

    Parameters
    ----------
    x : array_like
        The float tensor.
    thresholds : float, sequence of float or mapping of str to float, optional
        Thresholds to mark (for example ``Calibrator(...).compute().threshold``); a mapping
        labels each line with its key (e.g. the calibrator that chose it).
    qtensor : QTensor, optional
        A quantization of ``x`` whose distinct non-zero magnitudes are marked.
    bins : int
        Histogram bins (100).
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure by default.
    title : str, optional
        The axes title.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ImportError
        If matplotlib is not installed (``pip install fixedq[plot]``).
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("fixedq.quant.plot_histogram needs matplotlib: pip install 'fixedq[plot]'") from exc
    a = as_float_array(x, "x").astype(np.float64).ravel()
    nonzero = np.abs(a[a != 0])
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.5))
    zeros = a.size - nonzero.size
    if nonzero.size:
        ax.hist(np.log2(nonzero), bins=bins, weights=np.full(nonzero.size, 1.0 / a.size), color="tab:blue",
                alpha=0.8, label=f"log2|x| ({zeros} zeros)")
    if qtensor is not None:
        levels = np.unique(np.abs(qtensor.dequantize().astype(np.float64)))
        levels = levels[levels > 0]
        if levels.size > 256:
            levels = levels[np.linspace(0, levels.size - 1, 256).astype(int)]
        for i, v in enumerate(levels):
            ax.axvline(np.log2(v), color="0.5", linewidth=0.5, label="levels" if i == 0 else None)
    if isinstance(thresholds, Mapping):
        colors = ("tab:red", "tab:green", "tab:purple", "tab:orange", "tab:brown", "tab:pink")
        for i, (name, t) in enumerate(thresholds.items()):
            if t > 0:
                ax.axvline(np.log2(t), color=colors[i % len(colors)], linestyle="--", label=f"{name} {t:.4g}")
    elif thresholds is not None:
        for i, t in enumerate(np.atleast_1d(np.asarray(thresholds, dtype=np.float64))):
            if t > 0:
                ax.axvline(np.log2(t), color="tab:red", linestyle="--", label="threshold" if i == 0 else None)
    ax.set_xlabel("log2 |x|")
    ax.set_ylabel("fraction of values")
    if title:
        ax.set_title(title)
    ax.legend(loc="upper left", fontsize="small")
    return ax
