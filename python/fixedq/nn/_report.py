"""``QuantizedModel.report()``: what quantization lost against the float model, and where.

A :class:`Report` holds the whole-model comparison (accuracy with labels; output SQNR and cosine
similarity always), one :class:`LayerReport` per weighted layer (weight SQNR, SQNR of the layer's
activation inside the quantized model, saturation, storage) and the sensitivity analysis: the
model quantized one layer at a time (every other layer kept in float through
``QuantConfig.overrides``), which answers "which layer lost the accuracy?".

The quantized model's intermediate tensors come from its runner's ``taps`` hook (see
``_quantize.py``): in ``"int8"`` mode every tensor dequantized from its codes, in ``"simulated"``
mode every tensor and the quantize-dequantized input of every weighted layer.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from ..quant import error_metrics
from ._model import Model
from ._quantize import QuantConfig, QuantizedModel, _fused_activation, _progress, _quantize_weight, _weight_matrix, quantize

__all__ = ["LayerReport", "Report", "Sensitivity", "build_report"]


# ---------------------------------------------------------------------------------------------
# Shared with _search.py: checked evaluation data, batches, accuracy, SQNR
# ---------------------------------------------------------------------------------------------
def check_data(data: Any, labels: Any, *, name: str = "data") -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """``data`` as a non-empty float32 array and ``labels`` as a matching 1-D int64 array (or None)."""
    if not isinstance(data, np.ndarray) or data.dtype.kind not in "fiu":
        raise TypeError(f"{name} must be a numeric NumPy array of model inputs, got {type(data).__name__}")
    if data.ndim == 0 or data.shape[0] == 0:
        raise ValueError(f"{name} is empty: it needs at least one input (shape (N, ...), N >= 1)")
    x = np.asarray(data, dtype=np.float32)
    if labels is None:
        return x, None
    y = np.asarray(labels)
    if y.ndim != 1 or y.dtype.kind not in "iu":
        raise ValueError(f"labels must be a 1-D array of integer classes, got dtype {y.dtype} shape {y.shape}")
    if y.shape[0] != x.shape[0]:
        raise ValueError(f"labels has {y.shape[0]} entries but {name} has {x.shape[0]} inputs")
    return x, y.astype(np.int64)


def batch_slices(n: int, batch_size: int) -> List[slice]:
    """``slice`` objects cutting ``n`` items into batches of ``batch_size``."""
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
    return [slice(i, i + batch_size) for i in range(0, n, batch_size)]


def predict(fn: Any, x: np.ndarray, batch_size: int) -> np.ndarray:
    """``fn`` applied batch by batch to ``x``, outputs concatenated."""
    return np.concatenate([fn(x[s]) for s in batch_slices(x.shape[0], batch_size)])


def accuracy(outputs: np.ndarray, labels: np.ndarray) -> float:
    """Top-1 accuracy (a fraction in [0, 1]) of class scores ``outputs`` ``(N, classes)``."""
    if outputs.ndim != 2:
        raise ValueError(f"accuracy needs model outputs of shape (N, classes), got {outputs.shape}")
    return float(np.mean(outputs.argmax(axis=1) == labels))


def sqnr_db(signal: float, noise: float) -> float:
    """``10 log10(signal / noise)`` from sums of squares; inf without noise, -inf without signal."""
    if noise == 0:
        return math.inf
    if signal == 0:
        return -math.inf
    return 10.0 * math.log10(signal / noise)


def output_sqnr(reference: np.ndarray, outputs: np.ndarray) -> float:
    """SQNR in dB of ``outputs`` against ``reference`` (the float model's)."""
    r = reference.astype(np.float64)
    e = r - outputs.astype(np.float64)
    return sqnr_db(float(np.sum(r * r)), float(np.sum(e * e)))


def mean_cosine(reference: np.ndarray, outputs: np.ndarray) -> float:
    """Mean over samples of the cosine similarity of each output row with the float model's
    (1 for two zero rows, 0 for one zero row)."""
    r = reference.reshape(reference.shape[0], -1).astype(np.float64)
    o = outputs.reshape(outputs.shape[0], -1).astype(np.float64)
    nr, no = np.linalg.norm(r, axis=1), np.linalg.norm(o, axis=1)
    both = (nr == 0) & (no == 0)
    cos = np.where(both, 1.0, np.sum(r * o, axis=1) / np.where(nr * no == 0, np.inf, nr * no))
    return float(np.mean(cos))


def table(head: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """Left-aligned text columns separated by two spaces."""
    lines = [list(head)] + [list(r) for r in rows]
    widths = [max(len(r[i]) for r in lines) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in lines)


def json_float(v: Optional[float]) -> Any:
    """A float for strict JSON: ``"inf"``/``"-inf"`` for infinities, None for None and NaN."""
    if v is None or math.isnan(v):
        return None
    return v if math.isfinite(v) else ("inf" if v > 0 else "-inf")


def _db(v: Optional[float]) -> str:
    return "-" if v is None else f"{v:.1f} dB"


def _pct(v: Optional[float]) -> str:
    return "-" if v is None else f"{100 * v:.1f}%"


# ---------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class LayerReport:
    """One weighted layer of a :class:`Report`.

    Attributes
    ----------
    name, op : str
        Node name and ONNX op (``Conv``, ``Gemm``, ``MatMul``).
    scheme : str
        Weight scheme, ``"float"`` when an override keeps the layer in float.
    weight_bits : int
        Bits per weight (32 for float layers).
    activation_bits : int or None
        Bits of the activations this layer quantizes (None: float).
    weight_sqnr_db : float or None
        SQNR of the quantized weights against the float weights (None for float layers).
    output_sqnr_db : float
        SQNR of the layer's activation in the quantized model against the float model's, over the
        whole data: the output of the layer and its fused Relu/Clip, which in ``"int8"`` mode is
        the dequantized output codes. Errors of earlier layers accumulate into it.
    saturated : float or None
        Fraction of the activation values this layer quantizes that sit at an end of their
        representable range in the quantized model (values beyond it were clipped there, and the
        calibrated maximum itself lands there); an end that is exactly 0 (a fused ReLU's floor)
        does not count. ``"int8"`` mode: the layer's output codes (e.g. int8 -128 or 127, uint8
        255); ``"simulated"`` mode: the layer's quantize-dequantized input. None when the layer
        quantizes no activation.
    clipped : float or None
        Fraction of the float model's values of that same activation that lie strictly outside
        the representable range: what the calibrated range cuts off.
    weight_bytes, float_weight_bytes : float
        Storage of the layer's weights and bias quantized (codes, scales, codebooks; bias in
        float32 or int32) and in float32.
    """

    name: str
    op: str
    scheme: str
    weight_bits: int
    activation_bits: Optional[int]
    weight_sqnr_db: Optional[float]
    output_sqnr_db: float
    saturated: Optional[float]
    clipped: Optional[float]
    weight_bytes: float
    float_weight_bytes: float


@dataclasses.dataclass(frozen=True)
class Sensitivity:
    """The model with only layer ``name`` quantized (as in the report's config), every other
    weighted layer in float: its ``accuracy`` (fraction; None without labels) and the
    ``output_sqnr_db`` of its outputs against the float model's."""

    name: str
    accuracy: Optional[float]
    output_sqnr_db: float


@dataclasses.dataclass(frozen=True)
class Report:
    """What :meth:`QuantizedModel.report` measured.

    Accuracies are fractions in [0, 1]; losses are in percentage points (``100 *`` the
    difference); SQNRs are in dB (``10 log10(sum ref**2 / sum (ref - out)**2)``, ``inf`` when
    exact). ``str(report)`` prints aligned tables; :meth:`to_dict` is strict-JSON-serializable.

    Attributes
    ----------
    model : str
        The float model's name.
    mode : str
        ``"int8"`` or ``"simulated"`` (see :class:`QuantizedModel`).
    config : str
        ``repr`` of the QuantConfig.
    samples : int
        Number of inputs evaluated.
    accuracy, float_accuracy : float or None
        Top-1 accuracy of the quantized and the float model (None without labels).
    output_sqnr_db : float
        SQNR of the quantized model's outputs against the float model's.
    output_cosine : float
        Mean per-sample cosine similarity of the outputs with the float model's.
    layers : list of LayerReport
        Per weighted layer, in model order.
    sensitivity : list of Sensitivity
        One row per quantized layer (empty if the analysis was not asked for).
    sensitivity_calibration : str or None
        What the one-layer models were calibrated on: ``"calibration_data"`` or ``"data"``.

    Raises
    ------
    TypeError
        (from ``report()``) ``data`` is not a numeric NumPy array.
    ValueError
        (from ``report()``) empty ``data``, ``labels`` not 1-D integers or of another length, bad
        ``batch_size``, or labels given for a model whose output is not ``(N, classes)``.
    """

    model: str
    mode: str
    config: str
    samples: int
    accuracy: Optional[float]
    float_accuracy: Optional[float]
    output_sqnr_db: float
    output_cosine: float
    layers: List[LayerReport]
    sensitivity: List[Sensitivity]
    sensitivity_calibration: Optional[str]

    @property
    def loss_points(self) -> Optional[float]:
        """Accuracy lost against the float model, in percentage points (None without labels)."""
        if self.accuracy is None or self.float_accuracy is None:
            return None
        return 100.0 * (self.float_accuracy - self.accuracy)

    @property
    def most_sensitive(self) -> Optional[str]:
        """The layer whose quantization alone costs the most: lowest accuracy (with labels), ties
        and the label-free case decided by the lowest output SQNR. None without the analysis."""
        if not self.sensitivity:
            return None
        return min(self.sensitivity, key=lambda s: (s.accuracy if s.accuracy is not None else 0.0,
                                                    s.output_sqnr_db)).name

    def to_dict(self) -> Dict[str, Any]:
        """Plain data for ``json.dumps(..., allow_nan=False)``: infinite SQNRs become ``"inf"``."""
        def clean(d: Dict[str, Any]) -> Dict[str, Any]:
            return {k: json_float(v) if isinstance(v, float) else v for k, v in d.items()}

        out = clean({f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                     if f.name not in ("layers", "sensitivity")})
        out["loss_points"] = json_float(self.loss_points)
        out["most_sensitive"] = self.most_sensitive
        out["layers"] = [clean(dataclasses.asdict(r)) for r in self.layers]
        out["sensitivity"] = [clean(dataclasses.asdict(s)) for s in self.sensitivity]
        return out

    def __str__(self) -> str:
        lines = [f"{self.model}: {self.mode} {self.config}, {self.samples} inputs"]
        if self.accuracy is not None:
            lines.append(f"accuracy {_pct(self.accuracy)} (float {_pct(self.float_accuracy)}, "
                         f"loss {self.loss_points:+.1f} points)")
        lines.append(f"outputs vs float: SQNR {_db(self.output_sqnr_db)}, cosine {self.output_cosine:.4f}")
        lines.append("")
        lines.append(table(
            ["layer", "op", "scheme", "W bits", "A bits", "weight SQNR", "output SQNR", "saturated", "clipped",
             "weight bytes"],
            ([r.name, r.op, r.scheme, str(r.weight_bits), "float" if r.activation_bits is None else str(r.activation_bits),
              _db(r.weight_sqnr_db), _db(r.output_sqnr_db), _pct(r.saturated), _pct(r.clipped),
              f"{r.weight_bytes:.0f} / {r.float_weight_bytes:.0f}"] for r in self.layers)))
        if self.sensitivity:
            lines.append("")
            lines.append(f"sensitivity: one layer quantized, the others float (calibrated on "
                         f"{self.sensitivity_calibration})")
            lines.append(table(["layer", "accuracy", "output SQNR"],
                               ([s.name, _pct(s.accuracy), _db(s.output_sqnr_db)] for s in self.sensitivity)))
            lines.append(f"most sensitive: {self.most_sensitive}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        acc = "" if self.accuracy is None else f", accuracy={self.accuracy:.4f}, float_accuracy={self.float_accuracy:.4f}"
        return (f"Report(model={self.model!r}, mode={self.mode!r}, samples={self.samples}{acc}, "
                f"output_sqnr_db={self.output_sqnr_db:.2f}, {len(self.layers)} layers, "
                f"most_sensitive={self.most_sensitive!r})")


def _layer_float_bytes(model: Model, name: str) -> float:
    node = next(n for n in model.nodes if n.name == name)
    return 4.0 * sum(model.params[t].size for t in node.inputs[1:] if t in model.params)


def one_layer_config(q: QuantizedModel, name: str) -> QuantConfig:
    """``q.config`` with every weighted layer but ``name`` overridden to float."""
    cfg = q.config
    overrides: Dict[str, Any] = {n.name: "float" for n in q.float_model.weighted_nodes() if n.name != name}
    overrides[name] = cfg.overrides.get(name, {})
    return dataclasses.replace(cfg, overrides=overrides)


def build_report(q: QuantizedModel, data: Any, labels: Any = None, *, calibration_data: Any = None,
                 batch_size: int = 250, sensitivity: bool = True, progress: bool = False) -> Report:
    """The :class:`Report` of ``q`` on ``data`` (and ``labels``); see :meth:`QuantizedModel.report`."""
    x, y = check_data(data, labels)
    slices = batch_slices(x.shape[0], batch_size)
    model = q.float_model
    q.float_model.check_input(x[:1])
    layers = model.weighted_nodes()
    cfgs = {n.name: q.config.for_layer(n.name) for n in layers}
    act_out = {n.name: (_fused_activation(model, n) or n).outputs[0] for n in layers}
    # Where each layer quantizes activations: (key in the runner's taps, float model tensor).
    sat_at = {n.name: (act_out[n.name], act_out[n.name]) if q.mode == "int8" else (n.name + ":input", n.inputs[0])
              for n in layers}

    sums = {n.name: [0.0, 0.0] for n in layers}  # signal, noise
    sat = {n.name: [0, 0, 0] for n in layers}  # at the ends, float values outside, total
    ref_out: List[np.ndarray] = []
    q_out: List[np.ndarray] = []
    for s in _progress(slices, "report", progress):
        ref = model.run({model.inputs[0]: x[s]}, keep=set(act_out.values()) | {t for _, t in sat_at.values()})
        taps: Dict[str, Any] = {}
        q_out.append(q._runner(x[s], taps))
        ref_out.append(ref[model.outputs[0]])
        for name, t in act_out.items():
            r = ref[t].astype(np.float64)
            e = r - taps[t][0].astype(np.float64)
            sums[name][0] += float(np.sum(r * r))
            sums[name][1] += float(np.sum(e * e))
            key, tensor = sat_at[name]
            values, ends = taps.get(key, (None, None))
            if ends is not None:
                lo, hi = ends
                sat[name][0] += int(np.count_nonzero(((values <= lo) | (values >= hi)) & (values != 0)))
                sat[name][1] += int(np.count_nonzero((ref[tensor] < lo) | (ref[tensor] > hi)))
                sat[name][2] += values.size
    f_all, q_all = np.concatenate(ref_out), np.concatenate(q_out)

    rows: List[LayerReport] = []
    for info, n in zip(q.layers, layers):
        c = cfgs[n.name]
        w_sqnr = None
        if c is not None:
            w = _weight_matrix(model, n)
            w_sqnr = error_metrics(_quantize_weight(w, c), w).sqnr_db
        ends, outside, total = sat[n.name]
        rows.append(LayerReport(n.name, n.op, info.scheme, info.weight_bits, info.activation_bits, w_sqnr,
                                sqnr_db(*sums[n.name]), ends / total if total else None,
                                outside / total if total else None, info.storage_bits / 8,
                                _layer_float_bytes(model, n.name)))

    sens: List[Sensitivity] = []
    if sensitivity:
        calib = x if calibration_data is None else calibration_data
        for n in _progress([n for n in layers if cfgs[n.name] is not None], "sensitivity", progress):
            one = quantize(model, calib, one_layer_config(q, n.name))
            out = predict(one, x, batch_size)
            sens.append(Sensitivity(n.name, None if y is None else accuracy(out, y), output_sqnr(f_all, out)))
    return Report(model=model.name, mode=q.mode, config=repr(q.config), samples=int(x.shape[0]),
                  accuracy=None if y is None else accuracy(q_all, y),
                  float_accuracy=None if y is None else accuracy(f_all, y),
                  output_sqnr_db=output_sqnr(f_all, q_all), output_cosine=mean_cosine(f_all, q_all),
                  layers=rows, sensitivity=sens,
                  sensitivity_calibration=None if not sensitivity else
                  ("data" if calibration_data is None else "calibration_data"))
