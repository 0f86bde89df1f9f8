"""Figures of ``fixedq demo/compare/inspect --plot DIR`` (matplotlib, imported lazily)."""

from __future__ import annotations

import os
import re
from typing import Any, Dict, List, Mapping, Optional, Sequence

import numpy as np

__all__ = ["plot_accuracy_vs_bits", "plot_layer_distributions"]


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError("--plot needs matplotlib: pip install 'fixedq[plot]'") from exc
    return plt


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "layer"


def plot_layer_distributions(directory: str, tensors: Mapping[str, np.ndarray],
                             thresholds: Optional[Mapping[str, Mapping[str, float]]] = None) -> List[str]:
    """One PNG per tensor: its ``log2|x|`` distribution with the thresholds marked.

    Parameters
    ----------
    directory : str
        Created if missing.
    tensors : mapping of str to numpy.ndarray
        Label (e.g. ``"conv1 weights"``) to values.
    thresholds : mapping of str to mapping of str to float, optional
        Per label, the named thresholds to mark (calibrated ranges, weight maxima).

    Returns
    -------
    list of str
        The files written.
    """
    plt = _pyplot()
    from ..quant import plot_histogram

    os.makedirs(directory, exist_ok=True)
    written = []
    for label, values in tensors.items():
        fig, ax = plt.subplots(figsize=(7, 3.5))
        plot_histogram(values, thresholds=dict((thresholds or {}).get(label, {})), ax=ax, title=label)
        path = os.path.join(directory, _safe(label) + ".png")
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    return written


def _family(method: str) -> str:
    return re.sub(r"\s*\d+(-bit)?\b", "", method.split("(")[0].split(",")[0]).strip() or method


def plot_accuracy_vs_bits(path: str, results: Sequence[Dict[str, Any]]) -> str:
    """Accuracy against weight bits for the rows of a comparison table, one series per method family.

    The float model is a horizontal line; rows of the same family (e.g. dynamic fixed point at 16,
    8 and 4 bits) are joined. Returns ``path``.
    """
    plt = _pyplot()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 4))
    series: Dict[str, List[Any]] = {}
    for r in results:
        if r["mode"] == "float":
            ax.axhline(r["accuracy"], color="0.4", linestyle="--", label=f"float32 ({r['accuracy']:.1f}%)")
        elif r["mode"] != "onnxruntime" and isinstance(r["weight_bits"], int) and np.isfinite(r["accuracy"]):
            series.setdefault(_family(r["method"]), []).append((r["weight_bits"], r["accuracy"]))
    for name, pts in series.items():
        pts.sort()
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=name)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("weight bits")
    ax.set_ylabel("accuracy (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
