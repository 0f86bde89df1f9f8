"""``fixedq demo``: the seed lecture's comparison table for a model.

Each row quantizes the model with one :class:`fixedq.QuantConfig` and measures, on the test set,
the top-1 accuracy, its loss against the float model (in points), the weight storage, and the
speed against the float model: the best wall time of three passes over the whole test set (one
batch each, after one warm-up call on 8 images) of the float model divided by that of the
quantized one. Simulated rows run quantize-dequantize in float: their speed is that of the
simulation, not of an integer model.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

import fixedq
from fixedq.nn import Model

__all__ = ["DEMO_ROWS", "DeepCompression", "compare_table", "format_table"]

_ORT_ENTROPY = {"variant": "onnxruntime", "num_bins": 2048, "num_quantized_bins": 128}


@dataclasses.dataclass(frozen=True)
class DeepCompression:
    """A row of the table made by :func:`fixedq.nn.deep_compress` (keyword arguments in ``options``)
    instead of :func:`fixedq.quantize`: pruned, weight-shared, Huffman-coded weights, float
    activations (the method compresses storage; it runs in float on the decoded weights)."""

    options: Mapping[str, Any] = dataclasses.field(default_factory=dict)


Row = Tuple[str, Union[None, fixedq.QuantConfig, DeepCompression]]


def _rows() -> List[Row]:
    Q = fixedq.QuantConfig
    rows: List[Row] = [
        ("float32", None),
        ("8-bit min/max affine (TensorFlow)", Q("affine", per_channel=False)),
    ]
    for gran, pc in (("per-tensor", False), ("per-channel", True)):
        for cal, opts, label in (("minmax", {}, "minmax"), ("percentile", {}, "percentile 99.99"),
                                 ("entropy", {}, "entropy (TensorRT)"), ("entropy", _ORT_ENTROPY, "entropy (ORT)"),
                                 ("mse", {}, "mse")):
            rows.append((f"int8 symmetric, {label}, {gran}", Q(per_channel=pc, calibrator=cal, calibrator_options=opts)))
    for n in (5, 10, 50):
        rows.append((f"int8 symmetric, entropy (ORT), per-channel, {n} batches of 10",
                     Q(calibrator="entropy", calibrator_options=_ORT_ENTROPY, batch_size=10, num_batches=n)))
    for bits in (16, 8, 4):
        rows.append((f"dynamic fixed point {bits} (Ristretto)", Q("dynamic_fixed_point", weight_bits=bits,
                                                                  activation_bits=bits)))
    rows += [
        ("minifloat 8-bit (Ristretto e4m3)", Q("minifloat", weight_bits=8, activation_bits=8)),
        ("power-of-two weights (Ristretto)", Q("power_of_two", weight_bits=4, activation_bits=8)),
        ("binary weights (BWN)", Q("binary", activation_bits=None)),
        ("ternary weights (TWN)", Q("ternary", activation_bits=None)),
        ("k-means 5-bit weights", Q("kmeans", weight_bits=5, activation_bits=None, per_channel=False)),
        ("k-means 4-bit weights", Q("kmeans", weight_bits=4, activation_bits=None, per_channel=False)),
        ("Deep Compression (prune 70%, k-means 8/5-bit, Huffman)", DeepCompression()),
    ]
    return rows


#: The rows of ``fixedq demo``: (method, config); None is the float model.
DEMO_ROWS = _rows()


def timed(fn: Any, x: np.ndarray, repeats: int = 3) -> Tuple[np.ndarray, float]:
    """The output of ``fn(x)`` and the best wall time of ``repeats`` passes (after a warm-up
    call on 8 images: first-call costs are not the model's speed; the best of several passes
    keeps a busy machine's pauses out of the ratio)."""
    fn(x[:8])
    best = float("inf")
    y = None
    for _ in range(repeats):
        t = time.perf_counter()
        y = fn(x)
        best = min(best, time.perf_counter() - t)
    return y, best


def compare_table(model: Model, calibration: np.ndarray, x: np.ndarray, y: np.ndarray, *,
                  rows: Optional[Sequence[Row]] = None,
                  progress: bool = False, repeats: int = 3) -> List[Dict[str, Any]]:
    """Quantize ``model`` once per row and measure it on ``(x, y)``.

    Parameters
    ----------
    model : fixedq.nn.Model
    calibration : numpy.ndarray
        Float calibration inputs.
    x, y : numpy.ndarray
        Test inputs and integer labels.
    rows : sequence of (str, QuantConfig or DeepCompression or None), optional
        Default :data:`DEMO_ROWS`.
    progress : bool
        A tqdm bar over the rows (on stderr).
    repeats : int
        Timed passes per row (after a warm-up); the best counts.

    Returns
    -------
    list of dict
        Per row: ``method``, ``mode``, ``weight_bits`` (a string such as ``"8/5"`` for mixed
        widths), ``activation_bits`` (None: float activations), ``accuracy`` (%),
        ``loss`` (points vs float), ``size_bytes``, ``compression`` (float size / size),
        ``seconds`` and ``speedup`` (float seconds / seconds).
    """
    rows = DEMO_ROWS if rows is None else rows
    items: Any = rows
    if progress:
        try:
            from tqdm.auto import tqdm

            items = tqdm(rows, desc="fixedq demo", unit="row")
        except ImportError:
            pass
    out: List[Dict[str, Any]] = []
    base_acc = base_time = float("nan")
    float_size = 4.0 * model.num_parameters()
    for method, cfg in items:
        if cfg is None:
            pred, secs = timed(model, x, repeats)
            mode, wb, ab, size = "float", 32, 32, float_size
        elif isinstance(cfg, DeepCompression):
            cm = fixedq.nn.deep_compress(model, **cfg.options)
            pred, secs = timed(cm, x, repeats)
            bits = sorted({layer.tensor.bits for layer in cm.layers}, reverse=True)
            mode, wb, ab, size = "simulated", "/".join(map(str, bits)), None, cm.size_bytes
        else:
            q = fixedq.quantize(model, calibration, cfg)
            pred, secs = timed(q, x, repeats)
            mode, wb, ab, size = q.mode, cfg.weight_bits, cfg.activation_bits, q.size_bytes
        acc = 100.0 * float((pred.argmax(1) == y).mean())
        if cfg is None:
            base_acc, base_time = acc, secs
        out.append({"method": method, "mode": mode, "weight_bits": wb,
                    "activation_bits": ab, "accuracy": acc,
                    "loss": base_acc - acc, "size_bytes": size, "compression": float_size / size,
                    "seconds": secs, "speedup": base_time / secs})
    return out


def format_table(results: Sequence[Dict[str, Any]]) -> str:
    """The results of :func:`compare_table` as an aligned text table."""
    head = ["method", "run", "W bits", "A bits", "accuracy", "loss vs float", "size", "speed vs float"]
    lines = [head]
    for r in results:
        lines.append([r["method"], r["mode"], str(r["weight_bits"]),
                      "float" if r["activation_bits"] is None else str(r["activation_bits"]),
                      f"{r['accuracy']:.1f}%", f"{r['loss']:+.1f}" if r["mode"] != "float" else "",
                      f"{r['size_bytes'] / 1024:.1f} KiB ({r['compression']:.1f}x)", f"{r['speedup']:.2f}x"])
    widths = [max(len(row[i]) for row in lines) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in lines)
