"""Saving and loading quantized models: ``QuantizedModel.save`` and :func:`load`.

The file is a NumPy ``.npz`` (a zip archive, deflate-compressed) with one member per array,
``a0.npy``, ``a1.npy``, ..., and ``meta.npy``: a uint8 array holding UTF-8 JSON that describes the
graph, the config, each layer's scheme parameters and the calibrated ranges, and names the array
member of every tensor. Nothing in it is pickled. The JSON (version 1)::

    {"format": "fixedq.QuantizedModel", "version": 1,
     "model": {"name": str, "inputs": [str], "outputs": [str], "input_shapes": {str: [int or null]},
               "nodes": [{"op": str, "name": str, "inputs": [str], "outputs": [str], "attrs": {...}}],
               "params": {tensor: array}, "dropped": {weight tensor: shape}},
     "config": {every QuantConfig field},
     "qweights": {layer: {"scheme": str, "bits": int, "dtype": "float32" or "float64", "codes": array,
                          "params": {name: {"array": array} or {"scalar": array} or {"json": value}
                                           or {"fixed_type": fixedq format name or null}}}},
     "ranges": {tensor: {"low": float, "high": float, "threshold": float, "method": str}}}

``dropped`` lists the float weights left out by ``save(include_float=False)``; ``qweights`` holds
one entry per quantized weighted layer (weights as ``(M, K, kH, kW)`` codes) and ``ranges`` one
per calibrated activation tensor; per-layer configs and fused activations are not stored: they
follow from the graph and the config.

Reading trusts nothing: the archive's member list and declared sizes are checked before anything
is decompressed, each array's ``.npy`` header (dtype, shape) is parsed and checked against the
size the archive declares and against a whitelist of plain numeric dtypes before the array is
read (with ``allow_pickle=False``), the JSON is checked field by field against that schema
(types, known operators and schemes, bounded sizes, array shapes that agree with the graph), and
the model is then rebuilt by the same code as :func:`fixedq.quantize`'s. Anything wrong raises
``ValueError`` naming the file and the problem.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import zipfile
import zlib
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

import numpy as np

from ..quant import CalibrationResult, QTensor
from ..quant._schemes import BINARY_VARIANTS, KMEANS_INITS, MINIFLOAT_VARIANTS
from ._model import SUPPORTED_OPS, Model, Node
from ._quantize import _WEIGHT_SCHEMES, QuantConfig, QuantizedModel, QuantState, float_layout

__all__ = ["load"]

FORMAT = "fixedq.QuantizedModel"
VERSION = 1
META = "meta"
#: Default ceiling on the total uncompressed size of a file's arrays (``load(max_bytes=...)``).
MAX_BYTES = 1 << 30
_MAX_META = 64 << 20
_MAX_ITEMS = 100_000
_MAX_NAME = 1024
_ARRAY_DTYPES = tuple(np.dtype(t) for t in (np.float32, np.float64, np.int8, np.uint8, np.int16, np.uint16,
                                            np.int32, np.uint32, np.int64, np.bool_))
_CONFIG_FIELDS = {f.name for f in dataclasses.fields(QuantConfig)}
# Node attributes whose values size buffers: small positive (or non-negative) ints.
_GEOMETRY = {"kernel_shape": 1, "strides": 1, "dilations": 1, "pads": 0}
_MAX_GEOMETRY = 1024


class _Corrupt(ValueError):
    """A problem of the file's content (the loader adds the file's name)."""


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------
class _Writer:
    def __init__(self) -> None:
        self.arrays: Dict[str, np.ndarray] = {}

    def add(self, a: Any) -> str:
        a = np.asarray(a)
        if a.dtype not in _ARRAY_DTYPES:
            raise TypeError(f"cannot save an array of dtype {a.dtype}")
        key = f"a{len(self.arrays)}"
        self.arrays[key] = np.asarray(a, order="C")  # (ascontiguousarray would make a 0-d array 1-d)
        return key


def _json_value(v: Any, what: str) -> Any:
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v)
    if isinstance(v, (list, tuple)):
        return [_json_value(x, what) for x in v]
    if isinstance(v, Mapping):
        return {str(k): _json_value(x, what) for k, x in v.items()}
    raise TypeError(f"{what}: cannot save a value of type {type(v).__name__} ({v!r:.60})")


def _qtensor_meta(qt: QTensor, w: _Writer) -> Dict[str, Any]:
    params: Dict[str, Any] = {}
    for k, v in qt.params.items():
        if k == "fixed_type":  # a fixedq scalar type: stored by name, looked up again on load
            params[k] = {"fixed_type": None if v is None else v.__name__}
        elif isinstance(v, np.ndarray):
            params[k] = {"array": w.add(v)}
        elif isinstance(v, np.generic):  # keeps the NumPy scalar type (np.float64 is not a float)
            params[k] = {"scalar": w.add(np.asarray(v))}
        else:
            params[k] = {"json": _json_value(v, f"parameter {k!r} of a {qt.scheme} tensor")}
    return {"scheme": qt.scheme, "bits": int(qt.bits), "dtype": np.dtype(qt.dtype).name, "codes": w.add(qt.codes),
            "params": params}


def save(q: QuantizedModel, path: Union[str, "os.PathLike[str]"], *, include_float: bool = True) -> None:
    """Write ``q`` to ``path`` (see :meth:`QuantizedModel.save`)."""
    if not isinstance(q, QuantizedModel):
        raise TypeError(f"expected a QuantizedModel, got {type(q).__name__}")
    if not isinstance(include_float, bool):
        raise TypeError(f"include_float must be a bool, got {type(include_float).__name__}")
    model, state = q.float_model, q.state
    w = _Writer()
    dropped: Dict[str, List[int]] = {}
    if not include_float or not q.has_float_weights:
        for n in model.weighted_nodes():
            if n.name in state.qweights:
                dropped[n.inputs[1]] = list(model.params[n.inputs[1]].shape)
    params = {k: w.add(v) for k, v in model.params.items() if k not in dropped}
    nodes = [{"op": n.op, "name": n.name, "inputs": list(n.inputs), "outputs": list(n.outputs),
              "attrs": _json_value(n.attrs, f"attributes of node {n.name!r}")} for n in model.nodes]
    config = {f: _json_value(getattr(q.config, f), f"QuantConfig.{f}") for f in _CONFIG_FIELDS}
    ranges = {t: {"low": float(r.low), "high": float(r.high), "threshold": float(r.threshold), "method": r.method}
              for t, r in state.ranges.items()}
    meta = {
        "format": FORMAT, "version": VERSION,
        "model": {"name": model.name, "inputs": model.inputs, "outputs": model.outputs,
                  "input_shapes": {k: list(v) for k, v in model.input_shapes.items()}, "nodes": nodes,
                  "params": params, "dropped": dropped},
        "config": config,
        "qweights": {name: _qtensor_meta(qt, w) for name, qt in state.qweights.items()},
        "ranges": ranges,
    }
    text = json.dumps(meta, allow_nan=False).encode("utf-8")
    with open(os.fspath(path), "wb") as f:
        np.savez_compressed(f, **{META: np.frombuffer(text, dtype=np.uint8)}, **w.arrays)


# ---------------------------------------------------------------------------------------------
# Reading: the archive and its arrays
# ---------------------------------------------------------------------------------------------
def _read_arrays(path: str, max_bytes: int) -> Dict[str, np.ndarray]:
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise _Corrupt(f"not a readable zip archive: truncated, damaged or not a fixedq model file "
                       f"({exc})") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > _MAX_ITEMS:
            raise _Corrupt(f"{len(infos)} archive members (at most {_MAX_ITEMS})")
        total = sum(i.file_size for i in infos)
        if total > max_bytes:
            raise _Corrupt(f"the archive declares {total} bytes of arrays, more than max_bytes={max_bytes}")
        names = [i.filename for i in infos]
        if len(set(names)) != len(names) or not all(n.endswith(".npy") and n[:-4].isidentifier() for n in names):
            raise _Corrupt("unexpected archive members (expected distinct <name>.npy)")
        if META + ".npy" not in names:
            raise _Corrupt(f"no {META}.npy member: not a fixedq model file")
        out: Dict[str, np.ndarray] = {}
        for info in infos:
            out[info.filename[:-4]] = _read_member(zf, info)
    return out


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> np.ndarray:
    name = info.filename
    try:
        with zf.open(info) as f:  # first the header alone: dtype and shape against the declared size
            version = np.lib.format.read_magic(f)
            if version not in ((1, 0), (2, 0)):
                raise _Corrupt(f"{name}: unsupported .npy version {version}")
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
                np.lib.format.read_array_header_2_0
            shape, _, dtype = read_header(f, max_header_size=4096)
            if dtype not in _ARRAY_DTYPES:
                raise _Corrupt(f"{name}: dtype {dtype} is not allowed (plain numeric types only)")
            if len(shape) > 8:
                raise _Corrupt(f"{name}: {len(shape)} dimensions (at most 8)")
            nbytes = math.prod(shape) * dtype.itemsize
            if nbytes != info.file_size - f.tell():
                raise _Corrupt(f"{name}: the header declares {nbytes} bytes of data, the archive "
                               f"{info.file_size - f.tell()}")
        with zf.open(info) as f:  # then the array, its size now known to be what the archive holds
            return np.lib.format.read_array(f, allow_pickle=False, max_header_size=4096)
    except _Corrupt:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, SyntaxError, TypeError) as exc:
        raise _Corrupt(f"{name}: unreadable ({type(exc).__name__}: {exc})") from None


# ---------------------------------------------------------------------------------------------
# Reading: the schema
# ---------------------------------------------------------------------------------------------
def _type(v: Any, types: Any, where: str) -> Any:
    types = types if isinstance(types, tuple) else (types,)
    if not isinstance(v, types) or (isinstance(v, bool) and bool not in types):
        raise _Corrupt(f"{where} must be {' or '.join(t.__name__ for t in types)}, got {type(v).__name__}")
    return v


def _name(v: Any, where: str) -> str:
    _type(v, str, where)
    if len(v) > _MAX_NAME:
        raise _Corrupt(f"{where} is longer than {_MAX_NAME} characters")
    return v


def _names(v: Any, where: str, *, allow_empty: bool = False) -> List[str]:
    _type(v, list, where)
    if len(v) > _MAX_ITEMS:
        raise _Corrupt(f"{where} has more than {_MAX_ITEMS} items")
    out = [_name(x, f"{where}[{i}]") for i, x in enumerate(v)]
    if not allow_empty and any(not x for x in out):
        raise _Corrupt(f"{where} holds an empty name")
    return out


def _number(v: Any, where: str) -> float:
    _type(v, (int, float), where)
    if not math.isfinite(v):
        raise _Corrupt(f"{where} must be finite")
    return v


def _scalar_json(v: Any, where: str, depth: int = 0) -> Any:
    """A JSON value made of bounded numbers, strings, booleans, None and short lists of them."""
    if v is None or isinstance(v, (bool, str)):
        return _name(v, where) if isinstance(v, str) else v
    if isinstance(v, (int, float)):
        if isinstance(v, int) and abs(v) > 1 << 62:
            raise _Corrupt(f"{where} is out of range")
        return _number(v, where)
    if isinstance(v, list) and depth == 0 and len(v) <= 64:
        return [_scalar_json(x, f"{where}[{i}]", 1) for i, x in enumerate(v)]
    raise _Corrupt(f"{where} must be a number, string, bool, null or a short list of them")


def _attrs(v: Any, where: str) -> Dict[str, Any]:
    _type(v, dict, where)
    out: Dict[str, Any] = {}
    for k, x in v.items():
        x = _scalar_json(x, f"{where}[{k!r}]")
        if k in _GEOMETRY:
            lo = _GEOMETRY[k]
            if not isinstance(x, list) or not all(isinstance(i, int) and not isinstance(i, bool)
                                                  and lo <= i <= _MAX_GEOMETRY for i in x):
                raise _Corrupt(f"{where}[{k!r}] must be a list of ints in {lo}..{_MAX_GEOMETRY}")
        if k == "group" and not (isinstance(x, int) and 1 <= x <= 1 << 16):
            raise _Corrupt(f"{where}['group'] must be an int in 1..65536")
        out[_name(k, f"{where} key")] = x
    return out


def _array(arrays: Mapping[str, np.ndarray], key: Any, where: str, used: set) -> np.ndarray:
    _name(key, where)
    if key == META or key not in arrays:
        raise _Corrupt(f"{where} names array {key!r}, which the file does not hold")
    if key in used:
        raise _Corrupt(f"{where}: array {key!r} is used twice")
    used.add(key)
    return arrays[key]


def _config(v: Any) -> QuantConfig:
    _type(v, dict, "config")
    if set(v) != _CONFIG_FIELDS:
        raise _Corrupt(f"config must have the fields {sorted(_CONFIG_FIELDS)}")
    for f in ("weight_bits", "activation_bits", "num_batches"):
        if v[f] is not None:
            _type(v[f], int, f"config.{f}")
    _type(v["batch_size"], int, "config.batch_size")
    _type(v["per_channel"], bool, "config.per_channel")
    _name(v["scheme"], "config.scheme")
    _name(v["calibrator"], "config.calibrator")
    for f in ("calibrator_options", "scheme_options"):
        _type(v[f], dict, f"config.{f}")
        for k, x in v[f].items():
            _scalar_json(x, f"config.{f}[{k!r}]")
    _type(v["overrides"], dict, "config.overrides")
    for layer, o in v["overrides"].items():
        if o != "float":
            _type(o, dict, f"config.overrides[{layer!r}]")
            for k, x in o.items():
                if isinstance(x, dict):
                    for k2, x2 in x.items():
                        _scalar_json(x2, f"config.overrides[{layer!r}][{k!r}][{k2!r}]")
                else:
                    _scalar_json(x, f"config.overrides[{layer!r}][{k!r}]")
    try:
        return QuantConfig(**v)
    except (TypeError, ValueError) as exc:
        raise _Corrupt(f"config: {exc}") from None


def _model(v: Any, arrays: Mapping[str, np.ndarray], used: set) -> Tuple[Model, Dict[str, Tuple[int, ...]]]:
    _type(v, dict, "model")
    need = {"name", "inputs", "outputs", "input_shapes", "nodes", "params", "dropped"}
    if set(v) != need:
        raise _Corrupt(f"model must have the fields {sorted(need)}")
    _type(v["nodes"], list, "model.nodes")
    if len(v["nodes"]) > _MAX_ITEMS:
        raise _Corrupt(f"model.nodes has more than {_MAX_ITEMS} nodes")
    nodes: List[Node] = []
    for i, n in enumerate(v["nodes"]):
        where = f"model.nodes[{i}]"
        _type(n, dict, where)
        if set(n) != {"op", "name", "inputs", "outputs", "attrs"}:
            raise _Corrupt(f"{where} must have the fields attrs, inputs, name, op, outputs")
        if n["op"] not in SUPPORTED_OPS:
            raise _Corrupt(f"{where}.op {n['op']!r} is not an operator fixedq.nn runs")
        outputs = _names(n["outputs"], f"{where}.outputs")
        if len(outputs) != 1:
            raise _Corrupt(f"{where} must have exactly one output")
        nodes.append(Node(n["op"], _name(n["name"], f"{where}.name"),
                          _names(n["inputs"], f"{where}.inputs", allow_empty=True), outputs,
                          _attrs(n["attrs"], f"{where}.attrs")))
    if len({n.name for n in nodes}) != len(nodes):
        raise _Corrupt("model.nodes: node names are not unique")
    _type(v["params"], dict, "model.params")
    params = {_name(k, "model.params key"): _array(arrays, a, f"model.params[{k!r}]", used)
              for k, a in v["params"].items()}
    _type(v["dropped"], dict, "model.dropped")
    dropped: Dict[str, Tuple[int, ...]] = {}
    for k, shape in v["dropped"].items():
        _type(shape, list, f"model.dropped[{k!r}]")
        if not 1 <= len(shape) <= 4 or not all(isinstance(d, int) and not isinstance(d, bool) and 0 < d <= 1 << 28
                                              for d in shape):
            raise _Corrupt(f"model.dropped[{k!r}] must be a shape of 1 to 4 positive ints")
        if k in params:
            raise _Corrupt(f"model.dropped[{k!r}] is also in model.params")
        dropped[_name(k, "model.dropped key")] = tuple(shape)
    _type(v["input_shapes"], dict, "model.input_shapes")
    shapes: Dict[str, Tuple[Optional[int], ...]] = {}
    for k, shape in v["input_shapes"].items():
        _type(shape, list, f"model.input_shapes[{k!r}]")
        if len(shape) > 8 or not all(d is None or (isinstance(d, int) and not isinstance(d, bool) and d > 0)
                                     for d in shape):
            raise _Corrupt(f"model.input_shapes[{k!r}] must be a list of positive ints or null")
        shapes[_name(k, "model.input_shapes key")] = tuple(shape)
    inputs, outputs = _names(v["inputs"], "model.inputs"), _names(v["outputs"], "model.outputs")
    if len(inputs) != 1 or len(outputs) != 1:
        raise _Corrupt("model must have one input and one output")
    # Placeholders for the dropped weights so that the graph checks; filled from the codes later.
    placeholders = {k: np.broadcast_to(np.float32(0), s) for k, s in dropped.items()}
    try:
        model = Model(nodes, {**params, **placeholders}, inputs, outputs, shapes, name=_name(v["name"], "model.name"))
    except (ValueError, NotImplementedError) as exc:
        raise _Corrupt(f"model: {exc}") from None
    return model, dropped


def _qparam(v: Any, arrays: Mapping[str, np.ndarray], where: str, used: set) -> Any:
    _type(v, dict, where)
    if len(v) != 1:
        raise _Corrupt(f"{where} must have one of the keys array, scalar, json, fixed_type")
    (kind, x), = v.items()
    if kind == "array":
        return _array(arrays, x, where, used)
    if kind == "scalar":
        a = _array(arrays, x, where, used)
        if a.ndim != 0:
            raise _Corrupt(f"{where}: a scalar must be a 0-d array, got shape {a.shape}")
        return a[()]
    if kind == "json":
        return _scalar_json(x, where)
    if kind == "fixed_type":
        if x is None:
            return None
        import fixedq

        if x not in {f["name"] for f in fixedq.formats()}:
            raise _Corrupt(f"{where}: {x!r} is not a fixedq format")
        return getattr(fixedq, x)
    raise _Corrupt(f"{where}: unknown kind {kind!r}")


# Per scheme: parameter -> what it must be ("int", "str", "real": a number or a float array of
# 1 or C values, "zp": an int or an int array of 1 or C values, "axis": None or 0).
_SCHEME_PARAMS: Dict[str, Dict[str, str]] = {
    "affine": {"scale": "real", "zero_point": "zp", "axis": "axis", "qmin": "int", "qmax": "int", "param_bits": "int"},
    "symmetric": {"scale": "real", "threshold": "real", "zero_point": "zp", "axis": "axis", "qmin": "int",
                  "qmax": "int", "param_bits": "int"},
    "dynamic_fixed_point": {"integer_bits": "int", "fraction_bits": "int", "axis": "axis", "fixed_type": "any",
                            "param_bits": "int"},
    "minifloat": {"variant": "str", "exp_bits": "int", "mant_bits": "int", "bias": "int", "max": "real",
                  "axis": "axis", "param_bits": "int"},
    "power_of_two": {"exp_min": "int", "exp_max": "int", "axis": "axis", "param_bits": "int"},
    "kmeans": {"codebook": "real", "k": "int", "init": "str", "axis": "axis", "param_bits": "int"},
    "binary": {"variant": "str", "scale": "real", "axis": "axis", "param_bits": "int"},
    "ternary": {"scale": "real", "delta": "real", "axis": "axis", "param_bits": "int"},
    "dorefa": {"scale": "real", "levels": "int", "axis": "axis", "param_bits": "int"},
}
_OPTIONAL = {"dorefa": {"scale", "levels"}}
_CHOICES = {"minifloat": {"variant": MINIFLOAT_VARIANTS}, "binary": {"variant": BINARY_VARIANTS},
            "kmeans": {"init": KMEANS_INITS}}


def _qtensor(v: Any, arrays: Mapping[str, np.ndarray], where: str, used: set, shape: Tuple[int, ...]) -> QTensor:
    _type(v, dict, where)
    if set(v) != {"scheme", "bits", "dtype", "codes", "params"}:
        raise _Corrupt(f"{where} must have the fields bits, codes, dtype, params, scheme")
    scheme = v["scheme"]
    if scheme not in _WEIGHT_SCHEMES:
        raise _Corrupt(f"{where}.scheme {scheme!r} is not a known scheme")
    bits = _type(v["bits"], int, f"{where}.bits")
    if not 1 <= bits <= 32:
        raise _Corrupt(f"{where}.bits must be in 1..32")
    if v["dtype"] not in ("float32", "float64"):
        raise _Corrupt(f"{where}.dtype must be float32 or float64")
    codes = _array(arrays, v["codes"], f"{where}.codes", used)
    if codes.dtype.kind not in "iu" or codes.shape != shape:
        raise _Corrupt(f"{where}.codes must be integers of shape {shape}, got {codes.dtype} {codes.shape}")
    _type(v["params"], dict, f"{where}.params")
    spec = _SCHEME_PARAMS[scheme]
    params = {k: _qparam(x, arrays, f"{where}.params[{k!r}]", used) for k, x in v["params"].items()}
    missing = set(spec) - set(params) - _OPTIONAL.get(scheme, set())
    if missing or set(params) - set(spec):
        raise _Corrupt(f"{where}.params must have the keys {sorted(spec)}")
    channels = shape[0]
    for k, p in params.items():
        kind, w = spec[k], f"{where}.params[{k!r}]"
        if kind == "int":
            _type(p, int, w)
            if abs(p) > 1 << 40:
                raise _Corrupt(f"{w} is out of range")
        elif kind == "str":
            _name(p, w)
        elif kind == "axis":
            if p not in (None, 0) or isinstance(p, bool):
                raise _Corrupt(f"{w} must be null or 0")
        elif kind in ("real", "zp"):
            a = np.asarray(p)
            want = "fi" if kind == "real" else "iu"
            if a.dtype.kind not in want or (a.dtype.kind == "f" and not np.all(np.isfinite(a))):
                raise _Corrupt(f"{w} must be {'finite reals' if kind == 'real' else 'integers'}")
            if k == "codebook":
                if a.ndim not in (1, 2) or (a.ndim == 2 and a.shape[0] != channels) or a.shape[-1] != params.get("k"):
                    raise _Corrupt(f"{w} must have shape (k,) or (channels, k)")
            elif a.size not in (1, channels) or a.ndim > 1:
                raise _Corrupt(f"{w} must hold 1 or {channels} values")
    lo, hi = (int(codes.min()), int(codes.max())) if codes.size else (0, 0)
    if scheme == "kmeans" and (lo < -1 or hi >= params["k"]):
        raise _Corrupt(f"{where}.codes index no centroid of the codebook")
    if scheme in ("affine", "symmetric") and (lo < params["qmin"] or hi > params["qmax"]):
        raise _Corrupt(f"{where}.codes lie outside [qmin, qmax]")
    if scheme == "minifloat" and not (params["exp_bits"] + params["mant_bits"] < 62 and params["exp_bits"] > 0
                                      and params["mant_bits"] >= 0 and abs(params["bias"]) < 1 << 20):
        raise _Corrupt(f"{where}: minifloat format out of range")
    for k in ("fraction_bits", "exp_min", "exp_max", "levels"):
        if k in params and abs(params[k]) > 4096:
            raise _Corrupt(f"{where}.params[{k!r}] is out of range")
    if scheme == "dorefa" and ("scale" if bits == 1 else "levels") not in params:
        raise _Corrupt(f"{where}: a {bits}-bit dorefa tensor needs the parameter {'scale' if bits == 1 else 'levels'}")
    if scheme == "dorefa" and "levels" in params and params["levels"] <= 0:
        raise _Corrupt(f"{where}.params['levels'] must be positive")
    if scheme == "affine" and not params["qmin"] <= int(np.min(params["zero_point"])) <= \
            int(np.max(params["zero_point"])) <= params["qmax"]:
        raise _Corrupt(f"{where}.params['zero_point'] lies outside [qmin, qmax]")
    for k, allowed in _CHOICES.get(scheme, {}).items():
        if params[k] not in allowed:
            raise _Corrupt(f"{where}.params[{k!r}] must be one of {allowed}, got {params[k]!r}")
    return QTensor(codes, scheme, bits, params, np.dtype(v["dtype"]))


def _matrix_shape(model: Model, n: Node, shape: Tuple[int, ...]) -> Tuple[int, ...]:
    """The shape of :func:`_weight_matrix` for a weight of ``shape`` (computed, not materialized)."""
    if n.op == "Conv":
        if len(shape) != 4:
            raise _Corrupt(f"the weight of Conv node {n.name!r} must be 4-D, got shape {shape}")
        return shape
    if len(shape) != 2:
        raise _Corrupt(f"the weight of {n.op} node {n.name!r} must be 2-D, got shape {shape}")
    m, k = (shape[0], shape[1]) if n.op == "Gemm" and n.attrs.get("transB", 0) else (shape[1], shape[0])
    return (m, k, 1, 1)


def _ranges(v: Any) -> Dict[str, CalibrationResult]:
    _type(v, dict, "ranges")
    out = {}
    for t, r in v.items():
        where = f"ranges[{t!r}]"
        _type(r, dict, where)
        if set(r) != {"low", "high", "threshold", "method"}:
            raise _Corrupt(f"{where} must have the fields high, low, method, threshold")
        low, high = _number(r["low"], f"{where}.low"), _number(r["high"], f"{where}.high")
        threshold = _number(r["threshold"], f"{where}.threshold")
        if not low <= high or threshold < 0:
            raise _Corrupt(f"{where} must have low <= high and threshold >= 0")
        out[_name(t, "ranges key")] = CalibrationResult(low, high, threshold, _name(r["method"], f"{where}.method"))
    return out


def _decode(arrays: Dict[str, np.ndarray]) -> QuantizedModel:
    raw = arrays[META]
    if raw.dtype != np.uint8 or raw.ndim != 1 or raw.size > _MAX_META:
        raise _Corrupt("the metadata must be a 1-D uint8 array of at most 64 MiB")
    try:
        meta = json.loads(raw.tobytes().decode("utf-8"), parse_constant=lambda c: float("nan"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise _Corrupt(f"the metadata is not valid JSON ({exc})") from None
    _type(meta, dict, "metadata")
    if meta.get("format") != FORMAT:
        raise _Corrupt(f"not a fixedq model file (format {meta.get('format')!r}, expected {FORMAT!r})")
    if meta.get("version") != VERSION:
        raise _Corrupt(f"file format version {meta.get('version')!r} is not supported (this fixedq reads {VERSION})")
    need = {"format", "version", "model", "config", "qweights", "ranges"}
    if set(meta) != need:
        raise _Corrupt(f"the metadata must have the fields {sorted(need)}")
    used: set = {META}
    model, dropped = _model(meta["model"], arrays, used)
    config = _config(meta["config"])
    unknown = set(config.overrides) - {n.name for n in model.nodes}
    if unknown:
        raise _Corrupt(f"config.overrides name no layer: {sorted(unknown)}")
    state = QuantState.derive(model, config)
    quantized = {n.name: n for n in model.weighted_nodes() if state.layer_configs[n.name] is not None}
    _type(meta["qweights"], dict, "qweights")
    if set(meta["qweights"]) != set(quantized):
        raise _Corrupt(f"qweights must hold exactly the quantized layers {sorted(quantized)}")
    for name, n in quantized.items():
        shape = _matrix_shape(model, n, tuple(model.params[n.inputs[1]].shape))
        state.qweights[name] = _qtensor(meta["qweights"][name], arrays, f"qweights[{name!r}]", used, shape)
        c = state.layer_configs[name]
        if state.qweights[name].scheme != c.scheme:  # type: ignore[union-attr]
            raise _Corrupt(f"qweights[{name!r}] has scheme {state.qweights[name].scheme!r}, the config "
                           f"{c.scheme!r}")  # type: ignore[union-attr]
        if state.integer and (state.qweights[name].codes.dtype != np.int8 or
                              np.asarray(state.qweights[name].params["scale"]).dtype != np.float32):
            raise _Corrupt(f"qweights[{name!r}]: int8 layers need int8 codes and float32 scales")
    state.ranges = _ranges(meta["ranges"])
    points = state.calibration_points(model)
    needed = {t for t, c in points.items() if c.activation_scheme in ("affine", "symmetric", "dynamic_fixed_point")}
    if set(state.ranges) != needed:
        raise _Corrupt(f"ranges must hold exactly the tensors {sorted(needed)}")
    if set(arrays) - used:
        raise _Corrupt(f"arrays {sorted(set(arrays) - used)[:5]} are not referenced by the metadata")
    weighted = {n.inputs[1]: n for n in model.weighted_nodes()}
    for k in dropped:
        if k not in weighted or weighted[k].name not in quantized:
            raise _Corrupt(f"model.dropped[{k!r}] is not the weight of a quantized layer")
        model.params[k] = float_layout(state.qweights[weighted[k].name], weighted[k], dropped[k])
    for k, a in model.params.items():
        if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
            raise _Corrupt(f"model.params[{k!r}] holds inf or NaN")
    return QuantizedModel(model, config, state, has_float_weights=not dropped)


def load(path: Union[str, "os.PathLike[str]"], *, max_bytes: int = MAX_BYTES) -> QuantizedModel:
    """Read a model written by :meth:`QuantizedModel.save`; it runs bit-identical to the saved one.

    Safe for files from untrusted sources: no pickle is read, the archive's declared sizes and
    every array's dtype and shape are checked before the array is read, and the description is
    validated against the file format's schema (known operators and schemes, shapes that agree
    with the graph, bounded sizes) before anything is built.

    Parameters
    ----------
    path : str or path-like
        The file.
    max_bytes : int
        Refuse files whose arrays would take more than this many bytes once decompressed
        (1 GiB), before decompressing anything.

    Returns
    -------
    QuantizedModel

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        The file is not a fixedq model file, or is truncated, corrupt or inconsistent (the
        message names the file and the problem), or is larger than ``max_bytes``.

    Examples
    --------
    >>> import os, tempfile, fixedq
    >>> data = fixedq.nn.embedded_data()
    >>> q = fixedq.quantize(fixedq.nn.load_embedded(), data["calibration"][:100],
    ...                     fixedq.QuantConfig("kmeans", weight_bits=4, activation_bits=None))
    >>> path = os.path.join(tempfile.mkdtemp(), "digits_kmeans4.npz")
    >>> q.save(path)
    >>> fixedq.load(path)
    QuantizedModel(mode='simulated', scheme='kmeans', 4-bit weights per-channel, float activations, ...)
    """
    if not isinstance(max_bytes, int) or isinstance(max_bytes, bool) or max_bytes < 1:
        raise ValueError(f"max_bytes must be a positive int, got {max_bytes!r}")
    p = os.fspath(path)
    if not os.path.isfile(p):
        raise FileNotFoundError(f"no such fixedq model file: {p}")
    try:
        return _decode(_read_arrays(p, max_bytes))
    except _Corrupt as exc:
        raise ValueError(f"{p}: {exc}") from None
    except (ValueError, TypeError, KeyError, IndexError, NotImplementedError) as exc:
        # What the schema lets through but the rebuild refuses (e.g. a kernel's argument check).
        raise ValueError(f"{p}: inconsistent model file ({type(exc).__name__}: {exc})") from None
