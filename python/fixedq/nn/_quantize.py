"""Whole-network quantization: :class:`QuantConfig`, :func:`quantize` and :class:`QuantizedModel`.

Two ways of running, chosen from the configuration and stated by ``QuantizedModel.mode``:

``"int8"``
    8-bit ``affine`` or ``symmetric`` weights and activations. Conv and Gemm/MatMul run on
    :mod:`fixedq.ops` (``QLinearConv`` with prepacked int8 weights, int32 bias, requantization to
    the next layer's scale inside the kernel), a following Relu/Clip is fused into the output
    clamp, MaxPool/AveragePool/GlobalAveragePool/Flatten/Reshape/Identity/Dropout/Relu act on the
    codes. The input is quantized once and the output dequantized once; any other operator (and
    any layer kept in float by an override) is a *float island*: its inputs are dequantized, it
    runs in float, and the next quantized layer quantizes again. ``repr`` lists the islands.
``"simulated"``
    Every other scheme or width (dynamic fixed point, minifloat, power of two, k-means, BWN,
    TWN, DoReFa, affine/symmetric at other widths): weights are quantized and dequantized, and
    activations entering each weighted layer are quantized and dequantized with the calibrated
    range; arithmetic is float32 on NumPy.

Calibration runs the float model on ``calibration_data`` batch by batch and feeds the inputs of
every weighted layer (and the fused outputs) to a :class:`fixedq.quant.Calibrator`.
"""

from __future__ import annotations

import dataclasses
import math
import os
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple, Union

import numpy as np

from .. import ops
from ..quant import CalibrationResult, Calibrator, QTensor
from ..quant import quantize as quantize_tensor
from ._model import FLOAT_OPS, Model, Node, pool_args
from . import _functional as F

if TYPE_CHECKING:
    from ._report import Report

__all__ = ["LayerInfo", "QuantConfig", "QuantState", "QuantizedModel", "quantize"]

_WEIGHT_SCHEMES = ("affine", "symmetric", "dynamic_fixed_point", "minifloat", "power_of_two", "kmeans", "binary",
                   "ternary", "dorefa")
_CALIBRATORS = ("minmax", "moving_average", "percentile", "mse", "entropy")
_PASS_THROUGH = ("Flatten", "Reshape", "Identity", "Dropout")
_REQUANT_OPS = ("Add", "Concat")
_FIXED_BITS = {"binary": 1, "ternary": 2}


@dataclasses.dataclass(frozen=True)
class QuantConfig:
    """How :func:`quantize` quantizes a model.

    Parameters
    ----------
    scheme : str
        A scheme of :func:`fixedq.quant.quantize` for the weights: ``"symmetric"`` (default; int8
        [-127, 127], TensorRT), ``"affine"`` (8-bit min/max with zero point, TensorFlow),
        ``"dynamic_fixed_point"``, ``"minifloat"``, ``"power_of_two"`` (Ristretto), ``"kmeans"``,
        ``"binary"`` (BWN: sign times mean \\|w\\|), ``"ternary"`` (TWN), ``"dorefa"``.
    weight_bits : int, optional
        Bits per weight (8). Fixed by the scheme for binary (1) and ternary (2).
    activation_bits : int, optional
        Bits per activation (8); None keeps activations in float (weight-only quantization).
        Activations use the same scheme as the weights, except ``power_of_two`` (8-bit dynamic
        fixed point, as Ristretto) and the weight-sharing/binarising schemes (``symmetric``).
    per_channel : bool
        One scale per output channel for the schemes that have scales (True).
    calibrator : str
        ``"minmax"``, ``"moving_average"``, ``"percentile"``, ``"mse"`` or ``"entropy"``.
    calibrator_options : mapping
        Keyword arguments of :class:`fixedq.quant.Calibrator` (e.g. ``{"percentile": 99.9}``).
    scheme_options : mapping
        Extra keyword arguments of :func:`fixedq.quant.quantize` for the weights.
    num_batches : int, optional
        Calibrate on at most this many batches (all by default).
    batch_size : int
        Calibration batch size (100).
    overrides : mapping of str to "float" or mapping
        Per layer (node name, see ``Model.summary()``): ``"float"`` keeps the layer in float; a
        mapping replaces fields of this config for that layer, e.g. ``{"weight_bits": 4}``.

    Examples
    --------
    >>> import fixedq
    >>> fixedq.QuantConfig()
    QuantConfig(scheme='symmetric', weight_bits=8, activation_bits=8, per_channel=True, calibrator='minmax', ...)
    >>> fixedq.QuantConfig("kmeans", weight_bits=4, activation_bits=None).integer
    False
    """

    scheme: str = "symmetric"
    weight_bits: Optional[int] = 8
    activation_bits: Optional[int] = 8
    per_channel: bool = True
    calibrator: str = "minmax"
    calibrator_options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    scheme_options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    num_batches: Optional[int] = None
    batch_size: int = 100
    overrides: Mapping[str, Union[str, Mapping[str, Any]]] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.scheme not in _WEIGHT_SCHEMES:
            raise ValueError(f"scheme must be one of {', '.join(_WEIGHT_SCHEMES)}; got {self.scheme!r}")
        if self.calibrator not in _CALIBRATORS:
            raise ValueError(f"calibrator must be one of {', '.join(_CALIBRATORS)}; got {self.calibrator!r}")
        if self.scheme in _FIXED_BITS:
            object.__setattr__(self, "weight_bits", _FIXED_BITS[self.scheme])
        for name, bits in (("weight_bits", self.weight_bits), ("activation_bits", self.activation_bits)):
            if bits is not None and (not isinstance(bits, int) or isinstance(bits, bool) or not 1 <= bits <= 32):
                raise ValueError(f"{name} must be an int in 1..32 or None, got {bits!r}")
        if self.weight_bits is None:
            raise ValueError("weight_bits must be set (use an override 'float' to keep a layer in float)")
        if self.num_batches is not None and self.num_batches < 1:
            raise ValueError(f"num_batches must be >= 1, got {self.num_batches}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        for layer, o in self.overrides.items():
            if o != "float" and not isinstance(o, Mapping):
                raise ValueError(f"override for layer {layer!r} must be 'float' or a mapping of QuantConfig fields")
            if isinstance(o, Mapping):
                bad = set(o) - {f.name for f in dataclasses.fields(self)} | ({"overrides"} & set(o))
                if bad:
                    raise ValueError(f"override for layer {layer!r} has unknown fields {sorted(bad)}")

    @property
    def integer(self) -> bool:
        """True if this config runs in integers on the int8 kernels (8-bit affine or symmetric)."""
        return self.scheme in ("affine", "symmetric") and self.weight_bits == 8 and self.activation_bits == 8

    @property
    def activation_scheme(self) -> Optional[str]:
        """The scheme of the activations (None: float)."""
        if self.activation_bits is None:
            return None
        if self.scheme == "power_of_two":
            return "dynamic_fixed_point"
        if self.scheme in ("affine", "symmetric", "dynamic_fixed_point", "minifloat"):
            return self.scheme
        return "symmetric"

    def for_layer(self, name: str) -> Optional["QuantConfig"]:
        """The config of one layer after overrides (None: the layer stays in float)."""
        o = self.overrides.get(name)
        if o is None:
            return self
        if o == "float":
            return None
        return dataclasses.replace(self, overrides={}, **dict(o))  # type: ignore[arg-type]

    def __repr__(self) -> str:
        return (f"QuantConfig(scheme={self.scheme!r}, weight_bits={self.weight_bits}, "
                f"activation_bits={self.activation_bits}, per_channel={self.per_channel}, "
                f"calibrator={self.calibrator!r}, ...)")


# ---------------------------------------------------------------------------------------------
# Calibration
# ---------------------------------------------------------------------------------------------
def _batches(data: Any, batch_size: int, limit: Optional[int]) -> List[np.ndarray]:
    if isinstance(data, np.ndarray):
        if data.ndim == 0 or data.shape[0] == 0:
            raise ValueError("calibration_data is empty")
        out = [data[i:i + batch_size] for i in range(0, data.shape[0], batch_size)]
    else:
        out = [np.asarray(b) for b in data]
        if not out:
            raise ValueError("calibration_data is empty")
    return out if limit is None else out[:limit]


def _fused_activation(model: Model, node: Node) -> Optional[Node]:
    """The Relu/Clip that reads ``node``'s output alone, if it can be fused into the layer."""
    out = node.outputs[0]
    readers = model.consumers(out)
    if len(readers) == 1 and out not in model.outputs and readers[0].op in ("Relu", "Clip"):
        act = readers[0]
        if act.op == "Clip" and not all(t in model.params for t in act.inputs[1:] if t):
            return None
        return act
    return None


def _progress(items: List[Any], desc: str, enabled: bool) -> Iterable[Any]:
    if not enabled:
        return items
    try:
        from tqdm.auto import tqdm
    except ImportError:  # progress bars are optional
        return items
    return tqdm(items, desc=desc, leave=False, unit="batch")


# ---------------------------------------------------------------------------------------------
# Weights
# ---------------------------------------------------------------------------------------------
def _weight_matrix(model: Model, node: Node) -> np.ndarray:
    """The weights of a Conv (as is) or Gemm/MatMul as ``(M, K, 1, 1)``, output channels first."""
    w = model.params[node.inputs[1]]
    if node.op == "Conv":
        return w
    if node.op == "Gemm" and node.attrs.get("transB", 0):
        return w.reshape(w.shape[0], w.shape[1], 1, 1)
    return np.ascontiguousarray(w.T).reshape(w.shape[1], w.shape[0], 1, 1)


def _quantize_weight(w: np.ndarray, cfg: QuantConfig) -> QTensor:
    axis = 0 if cfg.per_channel else None
    opts = dict(cfg.scheme_options)
    s, bits = cfg.scheme, cfg.weight_bits
    if s == "affine":
        return quantize_tensor(w, s, bits=bits, axis=axis, signed=True, **opts)
    if s == "symmetric":
        return quantize_tensor(w, s, bits=bits, axis=axis, **opts)
    if s == "power_of_two":
        m = float(np.max(np.abs(w)))
        opts.setdefault("exp_max", int(round(math.log2(m))) if m > 0 else -1)
        return quantize_tensor(w, s, bits=bits, **opts)
    if s == "binary":
        opts.setdefault("variant", "bwn")
        return quantize_tensor(w, s, axis=axis, **opts)
    if s == "ternary":
        return quantize_tensor(w, s, axis=axis, **opts)
    return quantize_tensor(w, s, bits=bits, **opts)  # dynamic_fixed_point, minifloat, kmeans, dorefa


def _gemm_supported(node: Node) -> bool:
    a = node.attrs
    return (node.op != "Gemm" or (not a.get("transA", 0) and a.get("alpha", 1.0) == 1.0
                                  and a.get("beta", 1.0) == 1.0))


@dataclasses.dataclass
class LayerInfo:
    """What quantization did to one weighted layer."""

    name: str
    op: str
    scheme: str  # "float" when kept in float
    weight_bits: int
    activation_bits: Optional[int]
    weight_count: int
    storage_bits: int


# ---------------------------------------------------------------------------------------------
# What a quantized model is made of, and the one function that builds its runner
# ---------------------------------------------------------------------------------------------
@dataclasses.dataclass
class QuantState:
    """Everything a :class:`QuantizedModel`'s runner is built from.

    :func:`quantize` computes the two inputs (``qweights``, ``ranges``); ``save`` writes them and
    ``fixedq.load`` reads them back; the rest is derived from the float model and the config by
    :meth:`derive`, so a loaded model is rebuilt by the very same code as a fresh one.

    Attributes
    ----------
    qweights : dict of str to QTensor
        Per quantized weighted layer, its weights as ``(M, K, kH, kW)`` codes (Gemm/MatMul as
        ``(M, K, 1, 1)``, output channels first) with the scheme's parameters.
    ranges : dict of str to CalibrationResult
        The calibrated range of every activation tensor that gets quantized.
    layer_configs : dict of str to QuantConfig or None
        Per weighted layer, its config after overrides (None: kept in float).
    fused : dict of str to Node
        Per weighted layer, the Relu/Clip fused into its output (int8 mode).
    integer : bool
        True when the model runs in integers (``mode == "int8"``).
    """

    qweights: Dict[str, QTensor]
    ranges: Dict[str, CalibrationResult]
    layer_configs: Dict[str, Optional[QuantConfig]] = dataclasses.field(default_factory=dict)
    fused: Dict[str, Node] = dataclasses.field(default_factory=dict)
    integer: bool = False

    @staticmethod
    def derive(model: Model, cfg: QuantConfig) -> "QuantState":
        """The per-layer configs, fused activations and mode of ``model`` under ``cfg`` (no weights yet)."""
        weighted = model.weighted_nodes()
        layer_cfg = {n.name: cfg.for_layer(n.name) for n in weighted}
        integer = all(c is None or c.integer for c in layer_cfg.values()) and cfg.integer
        if integer:
            schemes = {c.scheme for c in layer_cfg.values() if c is not None}
            integer = len(schemes) <= 1 and all(_gemm_supported(n) for n in weighted)
        fused: Dict[str, Node] = {}
        for n in weighted:
            c = layer_cfg[n.name]
            act = _fused_activation(model, n) if c is not None and c.activation_bits is not None else None
            if act is not None:
                fused[n.name] = act
        return QuantState({}, {}, layer_cfg, fused, integer)

    def calibration_points(self, model: Model) -> Dict[str, QuantConfig]:
        """The tensors to calibrate, with the config of the layer that quantizes each: the input of
        every weighted layer with quantized activations and (int8 mode) its fused output."""
        points: Dict[str, QuantConfig] = {}
        for n in model.weighted_nodes():
            c = self.layer_configs[n.name]
            if c is None or c.activation_bits is None:
                continue
            points.setdefault(n.inputs[0], c)
            if self.integer:
                points.setdefault(self.fused.get(n.name, n).outputs[0], c)
        if self.integer and points:
            c = next(iter(points.values()))
            for n in model.nodes:  # Add/Concat of activations get their own output parameters
                if n.op in _REQUANT_OPS and all(t and t not in model.params for t in n.inputs):
                    points.setdefault(n.outputs[0], c)
        return points


def layer_infos(model: Model, state: QuantState) -> List[LayerInfo]:
    """Per weighted layer: scheme, bits, weight count and storage bits."""
    layers: List[LayerInfo] = []
    for n in model.weighted_nodes():
        c = state.layer_configs[n.name]
        size = model.params[n.inputs[1]].size
        nbias = model.params[n.inputs[2]].size if len(n.inputs) > 2 and n.inputs[2] in model.params else 0
        if c is None:
            layers.append(LayerInfo(n.name, n.op, "float", 32, None, size, 32 * (size + nbias)))
        else:
            qt = state.qweights[n.name]
            layers.append(LayerInfo(n.name, n.op, c.scheme, c.weight_bits or 32, c.activation_bits, size,
                                    qt.storage_bits + 32 * nbias))
    return layers


def build(model: Model, cfg: QuantConfig, state: QuantState) -> Tuple[Callable[..., np.ndarray], List[Any]]:
    """The runner of a quantized model (the one code path of :func:`quantize` and ``fixedq.load``).

    Returns
    -------
    runner : callable
        ``runner(x, taps=None)``: float32 batch -> float32 output; a ``taps`` dict receives every
        tensor as float with the ends of its quantized range (for ``report()``).
    steps : list
        int8 mode: the :class:`Int8Step` objects the runner executes in order (what
        ``to_onnx`` exports); simulated mode: empty.
    """
    if state.integer:
        return _build_int8(model, cfg, state)
    return _build_simulated(model, state), []


class QuantizedModel:
    """A model quantized by :func:`fixedq.quantize` (or read by :func:`fixedq.load`); call it on
    float32 NumPy batches.

    Attributes
    ----------
    mode : {"int8", "simulated"}
        ``"int8"``: runs in integers on the int8 kernels; ``"simulated"``: quantize-dequantize
        in float.
    config : QuantConfig
    float_model : Model
        The float network. For a model loaded from a file saved with ``include_float=False`` its
        quantized layers hold the dequantized weights (see ``has_float_weights``).
    layers : list of LayerInfo
        Per weighted layer: scheme, bits, weight count and storage bits.
    float_islands : list of str
        (int8 mode) nodes that run in float between dequantize and quantize.
    state : QuantState
        The quantized weights, calibrated ranges and per-layer decisions the runner is built from.
    has_float_weights : bool
        False for a model loaded from a file saved without the float weights.
    """

    def __init__(self, float_model: Model, config: QuantConfig, state: QuantState, *,
                 has_float_weights: bool = True) -> None:
        self.float_model = float_model
        self.config = config
        self.state = state
        self.has_float_weights = has_float_weights
        self.mode = "int8" if state.integer else "simulated"
        self._runner, self._steps = build(float_model, config, state)
        self.layers = layer_infos(float_model, state)
        self.float_islands = [s.node.name for s in self._steps if isinstance(s, FloatStep) and s.island]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Run a batch: float32 input of the float model's shape, float32 output."""
        x = np.asarray(x, dtype=np.float32)
        self.float_model.check_input(x)
        return self._runner(x)

    @property
    def size_bytes(self) -> float:
        """Storage of the weighted layers' weights and biases in bytes (codes, scales, codebooks)."""
        return sum(layer.storage_bits for layer in self.layers) / 8

    @property
    def float_size_bytes(self) -> float:
        """The same layers' storage in float32."""
        return 4.0 * self.float_model.num_parameters()

    def report(self, data: Any, labels: Any = None, *, calibration_data: Any = None, batch_size: int = 250,
               sensitivity: bool = True, progress: bool = False) -> "Report":
        """How much this model lost against the float model, layer by layer (a :class:`fixedq.nn.Report`).

        ``data`` (float inputs) and ``labels`` (optional integer classes) are the evaluation set;
        ``calibration_data`` calibrates the one-layer-at-a-time models of the sensitivity analysis
        (default: ``data``); ``batch_size`` images per pass; ``progress`` shows tqdm bars. The
        fields, their units and the errors raised are documented in :class:`fixedq.nn.Report`.
        """
        from ._report import build_report

        return build_report(self, data, labels, calibration_data=calibration_data, batch_size=batch_size,
                            sensitivity=sensitivity, progress=progress)

    def save(self, path: Union[str, "os.PathLike[str]"], *, include_float: bool = True) -> None:
        """Write the model to one file that :func:`fixedq.load` reads back bit-identical.

        The file is a NumPy ``.npz`` (zip, deflate) holding a JSON description (graph, config,
        scheme parameters, calibrated ranges) and the arrays (weight codes, scales, codebooks,
        biases and the other constants). It holds no pickle.

        Parameters
        ----------
        path : str or path-like
            Where to write (the name is used as given; ``.npz`` is not appended).
        include_float : bool
            Also store the float32 weights of the quantized layers (True), so that a loaded model
            can be compared with its float original (``report``). False stores only the codes
            (about 4x smaller for 8-bit weights, 8x for 4-bit): the loaded ``float_model`` then
            holds the dequantized weights and ``has_float_weights`` is False. Outputs are
            bit-identical either way.

        Raises
        ------
        TypeError
            A config option or node attribute that JSON cannot hold.

        Examples
        --------
        >>> import os, tempfile, numpy as np, fixedq
        >>> data = fixedq.nn.embedded_data()
        >>> q = fixedq.quantize(fixedq.nn.load_embedded(), data["calibration"][:100])
        >>> path = os.path.join(tempfile.mkdtemp(), "digits_int8.npz")
        >>> q.save(path, include_float=False)
        >>> bool(np.array_equal(fixedq.load(path)(data["x"][:50]), q(data["x"][:50])))
        True
        """
        from ._saving import save

        save(self, path, include_float=include_float)

    def to_onnx(self, path: Union[str, "os.PathLike[str]", None] = None, *, output: str = "float") -> Any:
        """Export to ONNX that onnxruntime runs with this model's outputs (:func:`fixedq.nn.export_onnx`).

        int8 models: QOperator form, zero tolerance on the output codes. Simulated models: QDQ
        form, equal up to float summation order.

        Parameters
        ----------
        path : str or path-like, optional
            Where to write the ``.onnx`` file (nothing is written if None).
        output : {"float", "codes"}
            The graph output: the dequantized float32 output, or (int8) the final codes.

        Returns
        -------
        onnx.ModelProto

        Raises
        ------
        NotImplementedError
            Simulated activations ONNX cannot express (minifloat, more than 8 bits).
        ValueError
            A bad ``output``.
        """
        from ._export import export_onnx

        return export_onnx(self, path, output=output)

    def __repr__(self) -> str:
        c = self.config
        act = "float" if c.activation_bits is None else f"{c.activation_bits}-bit"
        gran = "per-channel" if c.per_channel else "per-tensor"
        islands = f", float islands: {', '.join(self.float_islands)}" if self.float_islands else ""
        return (f"QuantizedModel(mode={self.mode!r}, scheme={c.scheme!r}, {c.weight_bits}-bit weights {gran}, "
                f"{act} activations, calibrator={c.calibrator!r}, {len(self.layers)} layers, "
                f"{self.size_bytes:.0f} bytes (float {self.float_size_bytes:.0f}){islands})")


def quantize(model: Model, calibration_data: Any, config: Optional[QuantConfig] = None, *,
             progress: bool = False) -> QuantizedModel:
    """Quantize a float model with a calibration set.

    Parameters
    ----------
    model : fixedq.nn.Model
        From :func:`fixedq.nn.load_onnx` or :class:`fixedq.nn.Sequential` (one input).
    calibration_data : numpy.ndarray or iterable of numpy.ndarray
        Float inputs: one array (cut into ``config.batch_size`` batches) or an iterable of batches.
    config : QuantConfig, optional
        Default: int8 symmetric, per channel, min/max calibration.
    progress : bool
        Show a tqdm progress bar while calibrating (if tqdm is installed).

    Returns
    -------
    QuantizedModel
        ``.mode`` says whether it runs in integers (``"int8"``) or simulated.

    Raises
    ------
    ValueError
        Empty calibration data, or an override naming no layer.

    Examples
    --------
    >>> import fixedq
    >>> model = fixedq.nn.load_embedded()
    >>> data = fixedq.nn.embedded_data()
    >>> q = fixedq.quantize(model, data["calibration"][:200])
    >>> q.mode
    'int8'
    >>> float((q(data["x"][:200]).argmax(1) == data["y"][:200]).mean()) >= 0.95
    True
    """
    if not isinstance(model, Model):
        raise TypeError(f"model must be a fixedq.nn.Model, got {type(model).__name__}")
    cfg = QuantConfig() if config is None else config
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ValueError("quantize supports models with one input and one output")
    names = {n.name for n in model.nodes}
    unknown = set(cfg.overrides) - names
    if unknown:
        raise ValueError(f"overrides name no layer of the model: {sorted(unknown)}; layers: "
                         f"{[n.name for n in model.weighted_nodes()]}")
    state = QuantState.derive(model, cfg)
    cals: Dict[str, Calibrator] = {}
    for t, c in state.calibration_points(model).items():
        if c.activation_scheme in ("affine", "symmetric", "dynamic_fixed_point"):
            opts = dict(c.calibrator_options)
            if c.activation_scheme == "affine" and c.calibrator == "percentile":
                opts.setdefault("symmetric", False)
            cals[t] = Calibrator(c.calibrator, bits=c.activation_bits or 8, **opts)
    if cals:
        for batch in _progress(_batches(calibration_data, cfg.batch_size, cfg.num_batches), "calibrating", progress):
            env = model.run({model.inputs[0]: batch}, keep=cals.keys())
            for t, cal in cals.items():
                cal.collect(env[t])
    state.ranges = {t: cal.compute() for t, cal in cals.items()}
    for n in model.weighted_nodes():
        c = state.layer_configs[n.name]
        if c is not None:
            state.qweights[n.name] = _quantize_weight(_weight_matrix(model, n), c)
    return QuantizedModel(model, cfg, state)


# ---------------------------------------------------------------------------------------------
# Simulated (quantize-dequantize)
# ---------------------------------------------------------------------------------------------
def _fake_quant(c: QuantConfig, r: Any) -> Callable[[np.ndarray], np.ndarray]:
    s, bits = c.activation_scheme, c.activation_bits
    if s == "minifloat":
        return lambda x: quantize_tensor(x, "minifloat", bits=bits).dequantize()
    if s == "dynamic_fixed_point":
        m = dfp_max_abs(r)
        # Ristretto sets il = ceil(log2 max) for activations (sign_bit=False), which saturates at
        # half the calibrated maximum (an input in [0, 1] is cut at 0.5): 3 accuracy points lost
        # on the embedded model at 8 bits. fixedq keeps the sign bit so the calibrated range fits.
        return lambda x: quantize_tensor(x, "dynamic_fixed_point", bits=bits, max_abs=m).dequantize()
    if s == "affine":
        lo, hi = float(r.low), float(r.high)
        return lambda x: quantize_tensor(x, "affine", bits=bits, range=(lo, hi)).dequantize()
    t = float(r.threshold)
    return lambda x: quantize_tensor(x, "symmetric", bits=bits, threshold=t).dequantize()


def dfp_max_abs(r: Any) -> float:
    """The ``max_abs`` of dynamic-fixed-point activations from a calibrated range."""
    return float(np.max(np.abs([r.low, r.high]))) if r.method == "minmax" else float(r.threshold)


def float_layout(qt: QTensor, node: Node, shape: Tuple[int, ...]) -> np.ndarray:
    """The dequantized weights of a weighted layer in the float model's layout (float32)."""
    w = qt.dequantize().astype(np.float32)
    if node.op != "Conv":  # back to the Gemm/MatMul layout
        w = w.reshape(w.shape[0], w.shape[1])
        if not (node.op == "Gemm" and node.attrs.get("transB", 0)):
            w = np.ascontiguousarray(w.T)
    return w.reshape(shape)


_EXTREMES = np.array([-1e30, 1e30], np.float32)  # beyond any calibrated range: they quantize to its ends


def _build_simulated(model: Model, state: QuantState) -> Callable[..., np.ndarray]:
    params = dict(model.params)
    hooks: Dict[Tuple[str, int], Callable[[np.ndarray], np.ndarray]] = {}
    for n in model.weighted_nodes():
        c = state.layer_configs[n.name]
        if c is None:
            continue
        params[n.name + ".weight_q"] = float_layout(state.qweights[n.name], n, model.params[n.inputs[1]].shape)
        if c.activation_bits is not None:
            hooks[(n.name, 0)] = _fake_quant(c, state.ranges.get(n.inputs[0]))
    nodes = []
    for n in model.nodes:
        if n.name + ".weight_q" in params:
            n = dataclasses.replace(n, inputs=[n.inputs[0], n.name + ".weight_q", *n.inputs[2:]])
        nodes.append(n)

    def run(x: np.ndarray, taps: Optional[Dict[str, Any]] = None) -> np.ndarray:
        env: Dict[str, np.ndarray] = dict(params)
        env[model.inputs[0]] = x
        for node in nodes:
            args = [env[t] if t else None for t in node.inputs]
            hook = hooks.get((node.name, 0))
            if hook is not None:
                args[0] = hook(args[0]).astype(np.float32)
                if taps is not None:  # report(): the quantized input and the ends of its range
                    with np.errstate(over="ignore"):  # x / scale may pass float32's range before the clip
                        ends = tuple(hook(_EXTREMES).astype(np.float32))
                    taps[node.name + ":input"] = (args[0], ends)
            env[node.outputs[0]] = FLOAT_OPS[node.op](node, *args)
        if taps is not None:
            taps.update((t, (v, None)) for t, v in env.items() if t not in params)
        return env[model.outputs[0]]

    return run


# ---------------------------------------------------------------------------------------------
# int8 on fixedq.ops: a list of steps, each a callable on the tensor environment that also says
# what it computes (the ONNX exporter reads the same objects)
# ---------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class QParams:
    """Scale and zero point of a tensor of int8/uint8 codes (ONNX QuantizeLinear's)."""

    scale: np.float32
    zero_point: Any  # numpy uint8 or int8 scalar

    def quantize(self, x: np.ndarray) -> np.ndarray:
        return ops.quantize_linear(np.ascontiguousarray(x, dtype=np.float32), self.scale, self.zero_point)

    def dequantize(self, q: np.ndarray) -> np.ndarray:
        return ops.dequantize_linear(q, self.scale, self.zero_point)

    def code(self, v: float) -> int:
        info = np.iinfo(np.asarray(self.zero_point).dtype)
        return int(np.clip(np.rint(v / float(self.scale)) + int(self.zero_point), info.min, info.max))


def _activation_qparams(scheme: str, r: Any) -> QParams:
    if scheme == "affine":  # uint8 with zero point; the range holds 0
        lo, hi = min(float(r.low), 0.0), max(float(r.high), 0.0)
        scale = np.float32((hi - lo) / 255.0) if hi > lo else np.float32(1.0)
        zp = int(np.clip(np.rint(-lo / float(scale)), 0, 255))
        return QParams(scale, np.uint8(zp))
    t = float(r.threshold)  # int8 symmetric, zero point 0 (TensorRT)
    return QParams(np.float32(t / 127.0) if t > 0 else np.float32(1.0), np.int8(0))


class Int8Step:
    """One step of an int8 runner: ``step(env)`` reads ``node``'s inputs from ``env`` and writes its output.

    ``coded`` maps the step's tensors that hold codes to their :class:`QParams`.
    """

    node: Node

    def __call__(self, env: Dict[str, Any]) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


class QLinearStep(Int8Step):
    """Conv or Gemm/MatMul on ``fixedq.ops.QLinearConv`` (Gemm as a 1x1 conv on ``(N, K, 1, 1)``),
    with a fused Relu/Clip as a clamp ``[clamp_lo, clamp_hi]`` on the output codes (None: the
    dtype's end), applied by the kernel's output stage (``y_clamp``). The input is quantized first
    when it arrives in float (``quantize_input``)."""

    def __init__(self, model: Model, n: Node, qt: QTensor, xq: QParams, yq: QParams, quantize_input: bool,
                 act: Optional[Node]) -> None:
        self.node, self.act, self.qt, self.xq, self.yq = n, act, qt, xq, yq
        self.quantize_input = quantize_input
        self.src, self.dst = n.inputs[0], (act or n).outputs[0]
        self.w_scale = np.asarray(qt.params["scale"], dtype=np.float32)
        w_zp = qt.params["zero_point"]
        self.w_zp = None if isinstance(w_zp, int) else np.asarray(w_zp, dtype=np.int8)
        self.bias: Optional[np.ndarray] = None
        if len(n.inputs) > 2 and n.inputs[2] in model.params:
            b = model.params[n.inputs[2]].astype(np.float64).reshape(-1)
            acc_scale = float(xq.scale) * self.w_scale.astype(np.float64)
            self.bias = np.clip(np.rint(b / acc_scale), -2**31, 2**31 - 1).astype(np.int32)
        self.is_conv = n.op == "Conv"
        clamp_lo: Optional[int] = None
        clamp_hi: Optional[int] = None
        if act is not None:
            clamp_lo = yq.code(0.0)
            if act.op == "Clip":
                lo = model.params.get(act.inputs[1]) if len(act.inputs) > 1 and act.inputs[1] else act.attrs.get("min")
                hi = model.params.get(act.inputs[2]) if len(act.inputs) > 2 and act.inputs[2] else act.attrs.get("max")
                clamp_lo = None if lo is None else yq.code(float(lo))
                clamp_hi = None if hi is None else yq.code(float(hi))
        dtype = np.asarray(yq.zero_point).dtype
        info = np.iinfo(dtype)
        if clamp_lo is not None and clamp_lo == info.min:
            clamp_lo = None
        self.clamp_lo = None if clamp_lo is None else dtype.type(clamp_lo)
        self.clamp_hi = None if clamp_hi is None else dtype.type(clamp_hi)
        y_clamp = None
        if clamp_lo is not None or clamp_hi is not None:
            hi = info.max if clamp_hi is None else clamp_hi
            lo = info.min if clamp_lo is None else min(clamp_lo, hi)  # Clip with min > max: all max
            y_clamp = (lo, hi)
        a = n.attrs if self.is_conv else {}
        self.conv = ops.QLinearConv(qt.codes, self.w_scale, self.w_zp, xq.scale, xq.zero_point, yq.scale,
                                    yq.zero_point, self.bias, strides=a.get("strides"), pads=a.get("pads"),
                                    dilations=a.get("dilations"), group=int(a.get("group", 1)),
                                    auto_pad=a.get("auto_pad", "NOTSET"), y_clamp=y_clamp)

    def __call__(self, env: Dict[str, Any]) -> None:
        x = env[self.src]
        if self.quantize_input or x.dtype.kind == "f":
            x = self.xq.quantize(x)
        if self.is_conv:
            env[self.dst] = self.conv(x)
        else:
            env[self.dst] = self.conv(x.reshape(x.shape[0], -1, 1, 1)).reshape(x.shape[0], -1)


class CodeStep(Int8Step):
    """An op on codes that keeps their scale and zero point: MaxPool, AveragePool and
    GlobalAveragePool (int64 sums of ``code - zero_point``, divided with round half to even),
    Relu (``max(code, zero_point)``), Flatten/Reshape/Identity/Dropout."""

    def __init__(self, n: Node, qp: QParams, params: Mapping[str, np.ndarray]) -> None:
        self.node, self.qp = n, qp
        self.src, self.dst = n.inputs[0], n.outputs[0]
        zp = int(qp.zero_point)
        if n.op == "MaxPool":
            kernel = tuple(int(k) for k in n.attrs["kernel_shape"])
            self.fn = lambda x: F.max_pool2d(x, kernel, **pool_args(n, x.shape))
        elif n.op == "AveragePool":
            kernel = tuple(int(k) for k in n.attrs["kernel_shape"])
            self.fn = lambda x: F.avg_pool2d(x, kernel, zero_point=zp, **pool_args(n, x.shape))
        elif n.op == "GlobalAveragePool":
            self.fn = lambda x: F.avg_pool2d(x, x.shape[2:], zero_point=zp)
        elif n.op == "Relu":
            lo = np.asarray(qp.zero_point)
            self.fn = lambda x: np.maximum(x, lo)
        else:  # Flatten, Reshape, Identity, Dropout: the float op works on codes
            fn = FLOAT_OPS[n.op]
            extra = [params[t] if t in params else None for t in n.inputs[1:2]] if n.op == "Reshape" else []
            if any(e is None for e in extra):
                raise NotImplementedError(f"Reshape node {n.name!r}: the shape must be a constant")
            self.fn = lambda x: fn(n, x, *extra)

    def __call__(self, env: Dict[str, Any]) -> None:
        env[self.dst] = self.fn(env[self.src])


class RequantStep(Int8Step):
    """Add (with broadcasting) or Concat of code tensors, each with its own parameters, into codes
    of the output's calibrated parameters: every input is taken to float32 as
    ``(code - zero_point) * scale`` (one rounding, the exported graph's Cast -> Sub -> Mul), the op
    runs in float32, and ``QuantizeLinear`` (nearest, ties to even, saturated) gives the codes.
    The tensors stay 8-bit between layers; only this elementwise requantization uses floats, as
    ONNX Runtime's QLinearAdd/QLinearConcat do."""

    def __init__(self, n: Node, in_q: List[QParams], yq: QParams) -> None:
        self.node, self.in_q, self.yq = n, in_q, yq
        self.dst = n.outputs[0]
        self.axis = int(n.attrs.get("axis", 0))

    def __call__(self, env: Dict[str, Any]) -> None:
        vals = [(env[t].astype(np.float32) - np.float32(q.zero_point)) * np.float32(q.scale)
                for t, q in zip(self.node.inputs, self.in_q)]
        y = vals[0] + vals[1] if self.node.op == "Add" else np.concatenate(vals, axis=self.axis)
        env[self.dst] = self.yq.quantize(y)


class FloatStep(Int8Step):
    """A node run in float: inputs holding codes (``coded``) are dequantized first. ``island`` is
    False for the pass-through ops (Flatten, ...) that merely carry a float tensor along."""

    def __init__(self, n: Node, coded: Dict[str, QParams], params: Mapping[str, np.ndarray]) -> None:
        self.node, self.coded, self.params = n, coded, params
        self.island = n.op not in _PASS_THROUGH
        self.fn = FLOAT_OPS[n.op]

    def __call__(self, env: Dict[str, Any]) -> None:
        args = [None if not t else self.params[t] if t in self.params
                else self.coded[t].dequantize(env[t]) if t in self.coded else env[t] for t in self.node.inputs]
        env[self.node.outputs[0]] = self.fn(self.node, *args)


def _build_int8(model: Model, cfg: QuantConfig,
                state: QuantState) -> Tuple[Callable[..., np.ndarray], List[Int8Step]]:
    qp = {t: _activation_qparams(cfg.scheme, r) for t, r in state.ranges.items()}
    steps: List[Int8Step] = []
    skip = {act.name for act in state.fused.values()}
    coded: Dict[str, QParams] = {}  # tensors that will hold codes, with their parameters
    for n in model.nodes:
        if n.name in skip:
            continue
        if n.name in state.qweights:
            src = n.inputs[0]
            act = state.fused.get(n.name)
            step: Int8Step = QLinearStep(model, n, state.qweights[n.name], coded.get(src) or qp[src],
                                         qp[(act or n).outputs[0]], src not in coded, act)
            coded[step.dst] = step.yq
        elif n.op in ("MaxPool", "AveragePool", "GlobalAveragePool", "Relu") + _PASS_THROUGH and n.inputs[0] in coded:
            step = CodeStep(n, coded[n.inputs[0]], model.params)
            coded[step.dst] = step.qp
        elif n.op in _REQUANT_OPS and n.outputs[0] in qp and n.inputs and all(t in coded for t in n.inputs):
            step = RequantStep(n, [coded[t] for t in n.inputs], qp[n.outputs[0]])
            coded[step.dst] = step.yq
        else:
            step = FloatStep(n, {t: coded[t] for t in n.inputs if t in coded}, model.params)
        steps.append(step)
    inp, out = model.inputs[0], model.outputs[0]
    out_q = coded.get(out)

    def run(x: np.ndarray, taps: Optional[Dict[str, Any]] = None) -> np.ndarray:
        env: Dict[str, Any] = {inp: x}
        for s in steps:
            s(env)
        if taps is not None:  # report(): every tensor as float, with the ends of its code range if it holds codes
            for t, v in env.items():
                ends = None
                if t in coded and v.dtype.kind in "iu":
                    info = np.iinfo(v.dtype)
                    ends = tuple(coded[t].dequantize(np.array([info.min, info.max], v.dtype)))
                    v = coded[t].dequantize(v)
                taps[t] = (v, ends)
        return out_q.dequantize(env[out]) if out_q is not None else env[out]

    return run, steps
