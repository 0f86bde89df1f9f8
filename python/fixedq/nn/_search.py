"""Ristretto's automatic bit-width search, per layer: :func:`search_bitwidths`."""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..quant import quantize as quantize_tensor
from ._model import Model
from ._quantize import QuantConfig, _progress, _quantize_weight, quantize
from ._report import accuracy, check_data, json_float, predict, table

__all__ = ["BitwidthSearch", "Trial", "search_bitwidths"]

_SCHEMES = ("dynamic_fixed_point", "symmetric", "affine", "minifloat", "power_of_two")
_Part = Tuple[str, str]  # (layer, "weights" or "activations")


@dataclasses.dataclass(frozen=True)
class Trial:
    """One model the search quantized and measured.

    ``stage`` is ``"weights"`` or ``"activations"`` (one layer's part at ``bits``, the rest of the
    model float) or ``"combined"`` (every layer at the widths of the moment); ``accuracy`` is a
    fraction; ``passed`` says whether it stayed within the margin.
    """

    stage: str
    layer: Optional[str]
    bits: Optional[int]
    accuracy: float
    passed: bool


@dataclasses.dataclass(frozen=True)
class BitwidthSearch:
    """The result of :func:`search_bitwidths`.

    Attributes
    ----------
    weight_bits, activation_bits : dict of str to int or None
        Chosen widths per weighted layer (None: the layer, or its activations, stay float).
    accuracy : float
        Accuracy (fraction in [0, 1]) of the model quantized with ``config``, on the search data.
    float_accuracy : float
        Accuracy of the float model on the same data.
    margin : float
        The allowed loss as a fraction of accuracy (0.01 is one percentage point).
    config : QuantConfig
        ``fixedq.quantize(model, calibration_data, config)`` rebuilds the chosen model.
    mode : str
        ``"int8"`` or ``"simulated"``: how the chosen model runs.
    size_bytes, float_size_bytes : float
        Weight storage of the chosen model and of the float model.
    trials : list of Trial
        Every model measured, in order.
    """

    weight_bits: Dict[str, Optional[int]]
    activation_bits: Dict[str, Optional[int]]
    accuracy: float
    float_accuracy: float
    margin: float
    config: QuantConfig
    mode: str
    size_bytes: float
    float_size_bytes: float
    trials: List[Trial]

    @property
    def loss_points(self) -> float:
        """Accuracy lost against the float model, in percentage points."""
        return 100.0 * (self.float_accuracy - self.accuracy)

    def to_dict(self) -> Dict[str, Any]:
        """Plain, strict-JSON-serializable data (the config as its per-layer widths and scheme)."""
        return {"weight_bits": dict(self.weight_bits), "activation_bits": dict(self.activation_bits),
                "accuracy": self.accuracy, "float_accuracy": self.float_accuracy, "margin": self.margin,
                "loss_points": json_float(self.loss_points), "scheme": self.config.scheme, "mode": self.mode,
                "size_bytes": self.size_bytes, "float_size_bytes": self.float_size_bytes,
                "trials": [dataclasses.asdict(t) for t in self.trials]}

    def __str__(self) -> str:
        def bits(v: Optional[int]) -> str:
            return "float" if v is None else str(v)

        head = (f"{self.config.scheme} ({self.mode}): accuracy {100 * self.accuracy:.1f}% (float "
                f"{100 * self.float_accuracy:.1f}%, loss {self.loss_points:+.1f} points, margin "
                f"{100 * self.margin:.1f} points), {self.size_bytes:.0f} bytes (float {self.float_size_bytes:.0f}), "
                f"{len(self.trials)} models measured")
        rows = ([name, bits(w), bits(self.activation_bits[name])] for name, w in self.weight_bits.items())
        return head + "\n" + table(["layer", "W bits", "A bits"], rows)

    def __repr__(self) -> str:
        return (f"BitwidthSearch(weight_bits={self.weight_bits}, activation_bits={self.activation_bits}, "
                f"accuracy={self.accuracy:.4f}, float_accuracy={self.float_accuracy:.4f}, margin={self.margin})")


def _check_widths(widths: Sequence[int]) -> Tuple[int, ...]:
    try:
        ws = tuple(widths)
    except TypeError:
        raise TypeError(f"widths must be a sequence of ints, got {type(widths).__name__}") from None
    if not ws or any(not isinstance(w, int) or isinstance(w, bool) or not 1 <= w <= 32 for w in ws):
        raise ValueError(f"widths must be a non-empty sequence of ints in 1..32, got {widths!r}")
    if len(set(ws)) != len(ws):
        raise ValueError(f"widths must be distinct, got {widths!r}")
    return tuple(sorted(ws, reverse=True))


def _supported(scheme: str, widths: Tuple[int, ...], kind: str) -> Tuple[int, ...]:
    """The widths the scheme represents, for weights or activations (a probe on a tiny tensor)."""
    out = []
    for w in widths:
        cfg = QuantConfig(scheme, weight_bits=w, activation_bits=w)
        try:
            if kind == "weights":
                _quantize_weight(np.ones((2, 1, 1, 1), np.float32), cfg)
            else:
                quantize_tensor(np.ones(2, np.float32), cfg.activation_scheme, bits=w)
        except ValueError:  # e.g. minifloat below 5 bits, power-of-two weights above 8
            continue
        out.append(w)
    if not out:
        raise ValueError(f"scheme {scheme!r} represents none of the widths {widths} for {kind}")
    return tuple(out)


def search_bitwidths(model: Model, data: Any, labels: Any, *, calibration_data: Any = None, margin: float = 0.01,
                     widths: Sequence[int] = (16, 8, 6, 4, 2), scheme: str = "dynamic_fixed_point",
                     per_channel: bool = True, calibrator: str = "minmax", batch_size: int = 250,
                     progress: bool = False) -> BitwidthSearch:
    """Find per layer the narrowest weight and activation widths that keep accuracy within ``margin``.

    Ristretto's procedure, per layer rather than per network part:

    1. For each weighted layer, its **weights** alone are quantized (every other layer, and its
       own activations, float) at each width of ``widths`` from the widest down; the search stops
       at the first width whose accuracy falls below ``float_accuracy - margin`` and keeps the
       narrowest width that passed (float if even the widest fails).
    2. Likewise each layer's **activations** alone (its weights held at the widest width, every
       other layer float).
    3. The chosen widths are **combined** and measured. While the combination misses the margin,
       the most sensitive part is widened by one step (the part whose own accuracy at its current
       width, from steps 1-2, is lowest; ties: the narrowest), up to float.

    Every accuracy is that of a model built by :func:`fixedq.quantize` and run as it would be
    used: a model whose quantized layers are all 8-bit ``affine``/``symmetric`` in weights and
    activations runs in integers on the int8 kernels (``mode="int8"``), any other runs simulated
    (quantize-dequantize in float). The weight-only trials of step 1 are therefore simulated.

    A tighter margin makes steps 1-2 keep widths at least as wide, so step 3 starts from a
    combination at least as wide; the widening that follows depends on the measured accuracies.

    Parameters
    ----------
    model : fixedq.nn.Model
        The float model (one input, one output of class scores ``(N, classes)``).
    data : numpy.ndarray
        Inputs the accuracies are measured on (a validation set: the widths are fitted to it).
    labels : array_like of int
        One class per input.
    calibration_data : numpy.ndarray, optional
        Calibration inputs of every trial (default: ``data``).
    margin : float
        Allowed accuracy loss as a **fraction** (0.01 = one percentage point), in [0, 1).
    widths : sequence of int
        Candidate widths, tried from the widest down (Ristretto: 16, 8, 4, 2, 1).
    scheme : str
        ``"dynamic_fixed_point"`` (Ristretto), ``"symmetric"``, ``"affine"``, ``"minifloat"`` or
        ``"power_of_two"`` (activations then dynamic fixed point). Widths the scheme cannot
        represent are skipped (minifloat below 5 bits, power-of-two weights above 8).
    per_channel, calibrator : bool, str
        As in :class:`QuantConfig`.
    batch_size : int
        Inputs per pass, for calibration and evaluation.
    progress : bool
        A tqdm bar over the trials.

    Returns
    -------
    BitwidthSearch
        Its ``config`` reproduces ``accuracy`` with :func:`fixedq.quantize` on ``calibration_data``.

    Raises
    ------
    TypeError
        ``model`` is not a Model, ``data`` not a NumPy array, ``margin`` not a number.
    ValueError
        Empty ``data``, ``labels`` of another length, a ``margin`` outside [0, 1), bad ``widths``
        or an unknown ``scheme``.

    Examples
    --------
    >>> import fixedq
    >>> model, d = fixedq.nn.load_embedded(), fixedq.nn.embedded_data()
    >>> r = fixedq.nn.search_bitwidths(model, d["x"][:100], d["y"][:100], calibration_data=d["calibration"][:30],
    ...                                widths=(8, 4), margin=0.02)
    >>> r.float_accuracy - r.accuracy <= r.margin, r.size_bytes < r.float_size_bytes / 4
    (True, True)
    """
    if not isinstance(model, Model):
        raise TypeError(f"model must be a fixedq.nn.Model, got {type(model).__name__}")
    x, y = check_data(data, labels)
    if y is None:
        raise ValueError("labels are required: the search keeps accuracy within the margin")
    if isinstance(margin, bool) or not isinstance(margin, (int, float)):
        raise TypeError(f"margin must be a number (an accuracy fraction, 0.01 = one point), got {margin!r}")
    if not 0 <= margin < 1:
        raise ValueError(f"margin must be an accuracy fraction in [0, 1) (0.01 = one point), got {margin!r}")
    ws = _check_widths(widths)
    if scheme not in _SCHEMES:
        raise ValueError(f"scheme must be one of {', '.join(_SCHEMES)}; got {scheme!r}")
    ladder = {"weights": _supported(scheme, ws, "weights"), "activations": _supported(scheme, ws, "activations")}
    top = ladder["weights"][0]  # the high precision a layer's weights are held at while its activations are searched
    base = QuantConfig(scheme, weight_bits=top, activation_bits=ladder["activations"][0], per_channel=per_channel,
                       calibrator=calibrator, batch_size=batch_size)
    calib, _ = check_data(x if calibration_data is None else calibration_data, None, name="calibration_data")
    model.check_input(calib[:1])
    names = [n.name for n in model.weighted_nodes()]
    if not names:
        raise ValueError("the model has no weighted layer (Conv, Gemm, MatMul) to quantize")

    float_acc = accuracy(predict(model, x, batch_size), y)
    floor = float_acc - margin - 1e-12  # accuracies are k / N: no rounding noise decides a trial
    trials: List[Trial] = []

    def config_for(wbits: Dict[str, Optional[int]], abits: Dict[str, Optional[int]]) -> QuantConfig:
        overrides: Dict[str, Any] = {}
        for name in names:
            w = wbits.get(name)
            overrides[name] = "float" if w is None else {"weight_bits": w, "activation_bits": abits.get(name)}
        widths = [o for o in overrides.values() if o != "float"]
        # The top-level widths are those of the first quantized layer: when every quantized layer
        # is 8-bit affine/symmetric the config is an int8 one and quantize() runs it on the int8 kernels.
        first = widths[0] if widths else {}
        return dataclasses.replace(base, overrides=overrides, **first)

    def measure(cfg: QuantConfig) -> Tuple[float, Any]:
        q = quantize(model, calib, cfg)
        return accuracy(predict(q, x, batch_size), y), q

    # Steps 1 and 2: one part of one layer at a time.
    alone: Dict[Tuple[_Part, int], float] = {}
    chosen: Dict[_Part, Optional[int]] = {}
    for name, kind in _progress([(n, k) for n in names for k in ("weights", "activations")], "search", progress):
        chosen[(name, kind)] = None
        for w in ladder[kind]:
            if kind == "weights":
                acc, _ = measure(config_for({name: w}, {}))
            else:
                acc, _ = measure(config_for({name: top}, {name: w}))
            alone[((name, kind), w)] = acc
            trials.append(Trial(kind, name, w, acc, acc >= floor))
            if acc < floor:
                break
            chosen[(name, kind)] = w

    # Step 3: combine, then widen the most sensitive part until the margin holds.
    while True:
        wbits = {n: chosen[(n, "weights")] for n in names}
        abits = {n: chosen[(n, "activations")] if wbits[n] is not None else None for n in names}
        cfg = config_for(wbits, abits)
        acc, q = measure(cfg)
        trials.append(Trial("combined", None, None, acc, acc >= floor))
        if acc >= floor:
            break
        parts = [p for p in chosen if chosen[p] is not None and (p[1] == "weights" or wbits[p[0]] is not None)]
        if not parts:  # all float: the float model itself (not reached unless float accuracy is not reproduced)
            break
        worst = min(parts, key=lambda p: (alone[(p, chosen[p])], chosen[p]))
        steps = ladder[worst[1]]
        i = steps.index(chosen[worst])  # type: ignore[arg-type]
        chosen[worst] = steps[i - 1] if i > 0 else None
    return BitwidthSearch(weight_bits=wbits, activation_bits=abits, accuracy=acc, float_accuracy=float_acc,
                          margin=float(margin), config=cfg, mode=q.mode, size_bytes=q.size_bytes,
                          float_size_bytes=q.float_size_bytes, trials=trials)
