"""Deep Compression of a whole model, and its file format.

:func:`deep_compress` prunes, weight-shares and Huffman-codes every Conv/Gemm/MatMul weight of a
:class:`Model` with :func:`fixedq.quant.deep_compress_tensor`; the :class:`CompressedModel` runs
the float model on the reconstructed weights (Deep Compression compresses storage; activations
stay float) and reports the paper's size arithmetic per layer. :meth:`CompressedModel.save` and
:func:`load_compressed` write and read the format described in the README ("Deep Compression").
"""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
import os
import struct
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

import numpy as np

from ..quant import CompressedTensor, HuffmanStream, deep_compress_tensor, huffman_decode, prune as prune_weights
from ._model import Model, Node

__all__ = ["CompressedLayer", "CompressedModel", "deep_compress", "load_compressed"]

#: Default pruning: this fraction of all weights, by one global magnitude threshold. On the
#: embedded digit CNN it keeps the accuracy without retraining (0.8 loses a point).
DEFAULT_PRUNE = 0.7

MAGIC = b"FXQDEEP\x00"
VERSION = 1
_PREFIX = struct.Struct("<8sII")          # magic, version, header length
_MAX_HEADER = 16 << 20
#: Default limit of :func:`load_compressed` on the dense weights a file may describe (elements).
MAX_ELEMENTS = 1 << 26
_ARRAY_DTYPES = ("float32", "float64", "int64", "int32")


@dataclasses.dataclass(frozen=True)
class CompressedLayer:
    """One compressed layer of a :class:`CompressedModel`.

    Attributes
    ----------
    name : str
        The node name (as in ``model.summary()``).
    op : str
        ``"Conv"``, ``"Gemm"`` or ``"MatMul"``.
    kind : str
        ``"conv"`` or ``"fc"`` (which defaults applied).
    param : str
        Name of the weight tensor in ``model.params``.
    prune : float or None
        The pruning fraction asked for (None for a global threshold or a loaded file).
    tensor : CompressedTensor
        The compressed weights.
    bias_bits : int
        Bits of the layer's float32 bias (0 if none).
    """

    name: str
    op: str
    kind: str
    param: str
    prune: Optional[float]
    tensor: CompressedTensor
    bias_bits: int

    @property
    def size_bits(self) -> int:
        """Compressed weights plus the float32 bias."""
        return self.tensor.size_breakdown()["total_bits"] + self.bias_bits

    @property
    def float_bits(self) -> int:
        """The same layer in float32."""
        return self.tensor.size * 32 + self.bias_bits


class CompressedModel:
    """A Deep-Compressed model: callable, with per-layer size arithmetic, savable.

    Built by :func:`fixedq.nn.deep_compress` or :func:`fixedq.nn.load_compressed`.

    Attributes
    ----------
    model : Model
        The float model with the reconstructed (pruned, shared) weights: what ``__call__`` runs.
    layers : list of CompressedLayer
        Per weighted layer: the compressed tensor and its size terms.
    """

    def __init__(self, model: Model, layers: List[CompressedLayer]) -> None:
        self.layers = list(layers)
        params = dict(model.params)
        for layer in self.layers:
            params[layer.param] = layer.tensor.dense()
        nodes = [dataclasses.replace(n, inputs=list(n.inputs), outputs=list(n.outputs), attrs=dict(n.attrs))
                 for n in model.nodes]
        self.model = Model(nodes, params, model.inputs, model.outputs, model.input_shapes, model.name)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Run a float32 batch on the reconstructed weights (float activations)."""
        return self.model(x)

    @property
    def size_bytes(self) -> float:
        """Storage of the weighted layers: compressed weights (Huffman streams, tables, codebooks) + float32 biases."""
        return sum(layer.size_bits for layer in self.layers) / 8

    @property
    def float_size_bytes(self) -> float:
        """The same layers in float32."""
        return sum(layer.float_bits for layer in self.layers) / 8

    @property
    def compression_ratio(self) -> float:
        """``float_size_bytes / size_bytes``."""
        return self.float_size_bytes / max(self.size_bytes, 1e-9)

    def report(self) -> str:
        """The per-layer size arithmetic as a text table (sizes in bits unless marked)."""
        head = ("layer", "shape", "kept", "fillers", "bits", "gap", "index", "position", "codebook", "huff idx",
                "huff pos", "tables", "bias", "total", "ratio")
        rows = []
        for ly in self.layers:
            t, s = ly.tensor, ly.tensor.size_breakdown()
            rows.append((ly.name, "x".join(map(str, t.shape)), f"{t.nonzeros}/{t.size}", str(s["fillers"]),
                         str(t.bits), str(t.index_bits), str(s["weight_index_bits"]), str(s["position_bits"]),
                         str(s["codebook_bits"]), str(s["huffman_weight_bits"]), str(s["huffman_position_bits"]),
                         str(s["huffman_table_bits"]), str(ly.bias_bits), str(ly.size_bits),
                         f"{ly.float_bits / max(ly.size_bits, 1):.1f}x"))
        rows.append(("total", "", "", "", "", "", "", "", "", "", "", "", "", str(int(self.size_bytes * 8)),
                     f"{self.compression_ratio:.1f}x"))
        widths = [max(len(r[i]) for r in [head] + rows) for i in range(len(head))]
        lines = ["  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths)))
                 for r in [head] + rows]
        lines.insert(1, "-" * len(lines[0]))
        lines.append(f"{self.size_bytes:.0f} bytes vs {self.float_size_bytes:.0f} in float32 "
                     "(index/position: before Huffman; total: Huffman streams + tables + codebook + bias)")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"CompressedModel({self.model.name!r}, {len(self.layers)} layers, {self.size_bytes:.0f} bytes "
                f"(float {self.float_size_bytes:.0f}), {self.compression_ratio:.1f}x)")

    # -- file format ---------------------------------------------------------------------
    def save(self, path: Union[str, os.PathLike]) -> None:
        """Write the model to ``path`` in fixedq's Deep Compression format (see the README).

        Raises
        ------
        ValueError
            If a node attribute cannot be stored (only numbers, strings and lists of them can).
        """
        blobs: List[bytes] = []
        offset = 0

        def blob(data: bytes) -> List[int]:
            nonlocal offset
            blobs.append(data)
            offset += len(data)
            return [offset - len(data), len(data)]

        def stream(s: HuffmanStream) -> Dict[str, Any]:
            return {"lengths": blob(s.lengths.astype(np.uint8).tobytes()), "data": blob(s.data),
                    "num_bits": s.num_bits}

        compressed = {ly.param for ly in self.layers}
        arrays = []
        for name, a in self.model.params.items():
            if name in compressed:
                continue
            if a.dtype.name not in _ARRAY_DTYPES:
                raise ValueError(f"parameter {name!r} has dtype {a.dtype}; storable dtypes: {_ARRAY_DTYPES}")
            arrays.append({"name": name, "dtype": a.dtype.name, "shape": list(a.shape),
                           "blob": blob(np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<")).tobytes())})
        layers = []
        for ly in self.layers:
            t = ly.tensor
            layers.append({"node": ly.name, "param": ly.param, "kind": ly.kind, "prune": ly.prune,
                           "shape": list(t.shape), "bits": t.bits, "index_bits": t.index_bits,
                           "zero_code": t.zero_code, "entries": t.entries,
                           "codebook": blob(t.codebook.astype("<f4").tobytes()),
                           "weights": stream(t.weight_stream), "positions": stream(t.position_stream)})
        m = self.model
        nodes = []
        for n in m.nodes:
            for k, v in n.attrs.items():
                if not _jsonable(v):
                    raise ValueError(f"node {n.name!r}: attribute {k!r} of type {type(v).__name__} cannot be stored")
            nodes.append({"op": n.op, "name": n.name, "inputs": n.inputs, "outputs": n.outputs, "attrs": n.attrs})
        header = {"name": m.name, "inputs": m.inputs, "outputs": m.outputs,
                  "input_shapes": {k: list(v) for k, v in m.input_shapes.items()}, "nodes": nodes,
                  "arrays": arrays, "layers": layers, "payload_bytes": offset}
        text = json.dumps(header, separators=(",", ":"), allow_nan=False).encode()
        with open(path, "wb") as f:
            f.write(_PREFIX.pack(MAGIC, VERSION, len(text)))
            f.write(text)
            for b in blobs:
                f.write(b)


def _jsonable(v: Any) -> bool:
    if isinstance(v, (str, bool)) or v is None:
        return True
    if isinstance(v, numbers.Integral):
        return True
    if isinstance(v, numbers.Real):
        return math.isfinite(float(v))
    if isinstance(v, (list, tuple)):
        return all(_jsonable(i) for i in v)
    return False


def _kind(node: Node) -> str:
    return "conv" if node.op == "Conv" else "fc"


def _layer_value(value: Any, node: Node, what: str, default: Any) -> Any:
    """A per-layer setting: a scalar for all layers, or a mapping by layer name, then by kind."""
    if isinstance(value, Mapping):
        if node.name in value:
            return value[node.name]
        return value.get(_kind(node), default)
    return value


def deep_compress(model: Model, *, prune: Union[float, Mapping[str, float]] = DEFAULT_PRUNE,
                  scope: Optional[str] = None,
                  conv_bits: int = 8, fc_bits: int = 5, conv_index_bits: int = 8, fc_index_bits: int = 5,
                  bits: Optional[Mapping[str, int]] = None, index_bits: Optional[Mapping[str, int]] = None,
                  max_iter: int = 300) -> CompressedModel:
    """Deep Compression (Han et al., 2016) of a model's weights, without retraining.

    Every Conv/Gemm/MatMul weight is pruned by magnitude, weight-shared by k-means over its
    survivors (linear init), its positions relative-index encoded with filler zeros, and both
    streams Huffman coded (:func:`fixedq.quant.deep_compress_tensor`). Biases stay float32.

    Parameters
    ----------
    model : Model
        The float model (left unchanged).
    prune : float or mapping
        Fraction of the non-zero weights to remove by magnitude: one float, or a mapping by
        layer name and/or by kind (``"conv"``, ``"fc"``; a name wins; layers not named keep
        everything). Default 0.7 with one global threshold, which keeps the embedded CNN's
        accuracy without retraining (the small conv and output layers lose little: their
        weights are larger).
    scope : {"global", "layer"}, optional
        ``"global"``: one threshold over all layers (the reference re-implementation's rule;
        ``prune`` must be one float); ``"layer"``: a threshold per layer. Default: global for a
        float, per layer for a mapping.
    conv_bits, fc_bits : int
        Bits of a cluster index (2**bits shared weights) for conv and for fully connected layers
        (the paper: 8 and 5).
    conv_index_bits, fc_index_bits : int
        Bits of a relative-position code (the paper: 8 and 5).
    bits, index_bits : mapping of str to int, optional
        Per-layer overrides by layer name.
    max_iter : int
        Lloyd iterations at most, per layer.

    Returns
    -------
    CompressedModel

    Raises
    ------
    TypeError, ValueError
        On a model without weighted layers, unknown layer names in a mapping, or bad values.

    Examples
    --------
    >>> import numpy as np
    >>> from fixedq import nn
    >>> w = np.random.default_rng(0).normal(size=(64, 256)).astype(np.float32)
    >>> cm = nn.deep_compress(nn.Sequential(nn.Linear(w)), prune=0.9)
    >>> cm.layers[0].tensor.nonzeros, round(cm.compression_ratio, 1)
    (1639, 33.9)
    """
    if not isinstance(model, Model):
        raise TypeError(f"model must be a fixedq.nn.Model, got {type(model).__name__}")
    nodes = model.weighted_nodes()
    if not nodes:
        raise ValueError("model has no Conv/Gemm/MatMul layer with constant weights to compress")
    if scope is None:
        scope = "layer" if isinstance(prune, Mapping) else "global"
    if scope not in ("layer", "global"):
        raise ValueError(f"scope must be 'layer' or 'global', got {scope!r}")
    names = {n.name for n in nodes}
    for label, mapping in (("prune", prune), ("bits", bits), ("index_bits", index_bits)):
        if mapping is not None and not isinstance(mapping, (Mapping, numbers.Real)):
            raise TypeError(f"{label} must be a number or a mapping, got {type(mapping).__name__}")
        if isinstance(mapping, Mapping):
            unknown = set(mapping) - names - ({"conv", "fc"} if label == "prune" else set())
            if unknown:
                raise ValueError(f"{label} names unknown layers {sorted(unknown)}; layers: {sorted(names)}")
    weights = [model.params[n.inputs[1]] for n in nodes]
    masks: List[Optional[np.ndarray]] = [None] * len(nodes)
    fractions: List[Optional[float]] = []
    if scope == "global":
        if not isinstance(prune, numbers.Real) or isinstance(prune, bool):
            raise TypeError("scope='global' needs prune as one float")
        masks = list(prune_weights(weights, float(prune), scope="global")[1])
        fractions = [None] * len(nodes)
    else:
        fractions = [float(_layer_value(prune, n, "prune", 0.0)) for n in nodes]
    layers = []
    for n, w, mask, frac in zip(nodes, weights, masks, fractions):
        conv = n.op == "Conv"
        b = _layer_value(bits or {}, n, "bits", None) or (conv_bits if conv else fc_bits)
        ib = _layer_value(index_bits or {}, n, "index_bits", None) or (conv_index_bits if conv else fc_index_bits)
        try:
            t = deep_compress_tensor(w, None if mask is not None else frac, b, ib, mask=mask, max_iter=max_iter)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"layer {n.name!r}: {exc}") from None
        bias_bits = 32 * sum(model.params[i].size for i in n.inputs[2:] if i in model.params)
        layers.append(CompressedLayer(n.name, n.op, _kind(n), n.inputs[1], frac, t, bias_bits))
    return CompressedModel(model, layers)


# ---------------------------------------------------------------------------------------------
# loading, with every field validated before use
# ---------------------------------------------------------------------------------------------
class _Reader:
    def __init__(self, path: str, payload: memoryview) -> None:
        self.path = path
        self.payload = payload

    def fail(self, what: str) -> ValueError:
        return ValueError(f"{self.path}: not a valid fixedq Deep Compression file: {what}")

    def get(self, d: Any, key: str, kind: Any, where: str) -> Any:
        if not isinstance(d, dict) or key not in d:
            raise self.fail(f"{where} lacks {key!r}")
        v = d[key]
        ok = (isinstance(v, int) and not isinstance(v, bool)) if kind is int else isinstance(v, kind)
        if not ok:
            raise self.fail(f"{where}.{key} has the wrong type {type(v).__name__}")
        return v

    def int_in(self, d: Any, key: str, lo: int, hi: int, where: str) -> int:
        v = self.get(d, key, int, where)
        if not lo <= v <= hi:
            raise self.fail(f"{where}.{key} = {v} is outside [{lo}, {hi}]")
        return v

    def shape(self, v: Any, where: str) -> Tuple[int, ...]:
        if not isinstance(v, list) or len(v) > 8 or not all(isinstance(d, int) and not isinstance(d, bool)
                                                             and 0 <= d < 1 << 40 for d in v):
            raise self.fail(f"{where} is not a shape (up to 8 non-negative ints)")
        return tuple(v)

    def blob(self, d: Any, key: str, where: str) -> memoryview:
        v = self.get(d, key, list, where)
        if (len(v) != 2 or not all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in v)
                or v[0] + v[1] > len(self.payload)):
            raise self.fail(f"{where}.{key} = {v} is not a byte range inside the {len(self.payload)}-byte payload")
        return self.payload[v[0]:v[0] + v[1]]

    def stream(self, d: Any, count: int, alphabet: int, where: str) -> Tuple[HuffmanStream, np.ndarray]:
        lengths = np.frombuffer(self.blob(d, "lengths", where), dtype=np.uint8)
        if lengths.size > alphabet:
            raise self.fail(f"{where}: Huffman table of {lengths.size} symbols for an alphabet of {alphabet}")
        data = bytes(self.blob(d, "data", where))
        nbits = self.int_in(d, "num_bits", 0, 8 * len(data), where)
        stream = HuffmanStream(lengths.copy(), data, nbits, count)
        try:
            return stream, huffman_decode(stream)
        except ValueError as exc:
            raise self.fail(f"{where}: {exc}") from None


def load_compressed(path: Union[str, os.PathLike], *, max_elements: int = MAX_ELEMENTS) -> CompressedModel:
    """Read a file written by :meth:`CompressedModel.save`; the weights come back identical.

    Safe for untrusted files: no pickle, every count, shape and byte range is checked against
    the file length and limits before anything is allocated or decoded.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    max_elements : int
        Largest total number of dense weight elements accepted (default 2**26).

    Returns
    -------
    CompressedModel

    Raises
    ------
    ValueError
        If the file is truncated, corrupt, of another format or version, or over the limits.
    OSError
        If it cannot be read.
    """
    name = os.fspath(path)
    with open(name, "rb") as f:
        raw = f.read()
    if len(raw) < _PREFIX.size:
        raise ValueError(f"{name}: not a valid fixedq Deep Compression file: {len(raw)} bytes, shorter than the "
                         f"{_PREFIX.size}-byte prefix")
    magic, version, hlen = _PREFIX.unpack_from(raw)
    if magic != MAGIC:
        raise ValueError(f"{name}: not a fixedq Deep Compression file (magic {magic!r}, expected {MAGIC!r})")
    if version != VERSION:
        raise ValueError(f"{name}: Deep Compression file version {version}; this fixedq reads version {VERSION}")
    if hlen > min(_MAX_HEADER, len(raw) - _PREFIX.size):
        raise ValueError(f"{name}: not a valid fixedq Deep Compression file: header of {hlen} bytes in a "
                         f"{len(raw)}-byte file (truncated?)")
    r = _Reader(name, memoryview(raw)[_PREFIX.size + hlen:])
    try:
        header = json.loads(raw[_PREFIX.size:_PREFIX.size + hlen].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise r.fail(f"header is not JSON ({exc})") from None
    try:
        return _build(r, header, max_elements)
    except (KeyError, TypeError, IndexError, AttributeError, OverflowError, NotImplementedError) as exc:
        raise r.fail(f"{type(exc).__name__}: {exc}") from None


def _build(r: _Reader, header: Any, max_elements: int) -> CompressedModel:
    if not isinstance(header, dict):
        raise r.fail("header is not a JSON object")
    if r.get(header, "payload_bytes", int, "header") != len(r.payload):
        raise r.fail(f"payload of {len(r.payload)} bytes, the header says {header['payload_bytes']} (truncated?)")
    params: Dict[str, np.ndarray] = {}
    for i, a in enumerate(r.get(header, "arrays", list, "header")):
        where = f"arrays[{i}]"
        dtype = r.get(a, "dtype", str, where)
        if dtype not in _ARRAY_DTYPES:
            raise r.fail(f"{where}.dtype {dtype!r} is not one of {_ARRAY_DTYPES}")
        shape = r.shape(a.get("shape"), f"{where}.shape")
        data = r.blob(a, "blob", where)
        dt = np.dtype(dtype).newbyteorder("<")
        if math.prod(shape) * dt.itemsize != len(data):
            raise r.fail(f"{where}: shape {list(shape)} of {dtype} needs {math.prod(shape) * dt.itemsize} bytes, "
                         f"the record has {len(data)}")
        arr = np.frombuffer(data, dtype=dt).astype(dtype).reshape(shape)
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            raise r.fail(f"{where}: array {a.get('name')!r} holds NaN or infinity")
        params[r.get(a, "name", str, where)] = arr
    nodes = []
    for i, n in enumerate(r.get(header, "nodes", list, "header")):
        where = f"nodes[{i}]"
        ins, outs = r.get(n, "inputs", list, where), r.get(n, "outputs", list, where)
        if not all(isinstance(t, str) for t in ins + outs) or len(outs) != 1:
            raise r.fail(f"{where}: inputs and outputs must be names, with one output")
        nodes.append(Node(r.get(n, "op", str, where), r.get(n, "name", str, where), list(ins), list(outs),
                          dict(r.get(n, "attrs", dict, where))))
    by_name = {n.name: n for n in nodes}
    layers = []
    total = 0
    for i, ly in enumerate(r.get(header, "layers", list, "header")):
        where = f"layers[{i}]"
        node = by_name.get(r.get(ly, "node", str, where))
        param = r.get(ly, "param", str, where)
        if node is None or node.op not in ("Conv", "Gemm", "MatMul") or len(node.inputs) < 2 or node.inputs[1] != param:
            raise r.fail(f"{where} does not name the weight of a Conv/Gemm/MatMul node")
        shape = r.shape(ly.get("shape"), f"{where}.shape")
        bits = r.int_in(ly, "bits", 1, 16, where)
        ib = r.int_in(ly, "index_bits", 1, 16, where)
        entries = r.int_in(ly, "entries", 0, 8 * len(r.payload), where)
        size = math.prod(shape)
        total += size
        if size > (entries + 1) << ib or total > max_elements:  # the position stream covers the tensor
            raise r.fail(f"{where}: shape {list(shape)} ({size} elements) is not covered by {entries} entries of "
                         f"{ib}-bit gaps, or exceeds max_elements={max_elements}")
        book_bytes = r.blob(ly, "codebook", where)
        if len(book_bytes) % 4 or len(book_bytes) // 4 > 1 << bits:
            raise r.fail(f"{where}: codebook of {len(book_bytes)} bytes for {bits}-bit codes")
        book = np.frombuffer(book_bytes, dtype="<f4").astype(np.float32)
        wstream, wcodes = r.stream(r.get(ly, "weights", dict, where), entries, book.size, f"{where}.weights")
        pstream, pcodes = r.stream(r.get(ly, "positions", dict, where), entries, 1 << ib, f"{where}.positions")
        zero = r.get(ly, "zero_code", bool, where)
        prune = ly.get("prune")
        try:
            t = CompressedTensor.from_codes(shape, bits, ib, book, zero, wcodes, pcodes)
        except ValueError as exc:
            raise r.fail(f"{where}: {exc}") from None
        t = dataclasses.replace(t, weight_stream=wstream, position_stream=pstream)   # the file's own streams
        bias_bits = 32 * sum(params[p].size for p in node.inputs[2:] if p in params)
        layers.append(CompressedLayer(node.name, node.op, r.get(ly, "kind", str, where), param,
                                      float(prune) if isinstance(prune, (int, float)) else None, t, bias_bits))
        params[param] = np.zeros(0, np.float32)  # placeholder, replaced by the dense weights
    shapes = r.get(header, "input_shapes", dict, "header")
    model = Model(nodes, params, r.get(header, "inputs", list, "header"), r.get(header, "outputs", list, "header"),
                  {k: tuple(v) for k, v in shapes.items()}, r.get(header, "name", str, "header"))
    return CompressedModel(model, layers)
