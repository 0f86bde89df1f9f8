"""fixedq.nn: networks on NumPy, in float and quantized on fixedq's int8 kernels.

:func:`load_onnx` reads an ONNX model into a :class:`Model` (float inference on NumPy);
:class:`Sequential` builds one from NumPy weights. :func:`fixedq.quantize` turns a model into a
:class:`QuantizedModel` (its ``report()``, a :class:`Report`, says what each layer lost;
:func:`search_bitwidths` finds per-layer widths within an accuracy margin, as Ristretto), which
``save`` writes, :func:`load` reads back bit-identical and ``to_onnx`` (:func:`export_onnx`)
exports for onnxruntime; :func:`deep_compress` into a :class:`CompressedModel` (Deep
Compression: pruning, weight sharing, Huffman coding), saved and read back by
:func:`load_compressed`. :func:`embedded_model_path` and :func:`embedded_data` give the small
digit CNN and its test images shipped with the package.
"""

from __future__ import annotations

from ._compress import CompressedLayer, CompressedModel, deep_compress, load_compressed
from ._data import embedded_data, embedded_model_path, load_embedded
from ._layers import (
    AvgPool2d,
    BatchNorm2d,
    Conv2d,
    Dropout,
    Flatten,
    GlobalAvgPool,
    Layer,
    Linear,
    MaxPool2d,
    ReLU,
    ReLU6,
    Sequential,
    Sigmoid,
    Softmax,
)
from ._model import SUPPORTED_OPS, Model, Node
from ._onnx import load_onnx
from ._quantize import LayerInfo, QuantConfig, QuantizedModel, QuantState, quantize
from ._report import LayerReport, Report, Sensitivity
from ._saving import load
from ._export import export_onnx
from ._search import BitwidthSearch, Trial, search_bitwidths

__all__ = [
    "SUPPORTED_OPS",
    "AvgPool2d",
    "BatchNorm2d",
    "BitwidthSearch",
    "CompressedLayer",
    "CompressedModel",
    "Conv2d",
    "Dropout",
    "Flatten",
    "GlobalAvgPool",
    "Layer",
    "LayerInfo",
    "LayerReport",
    "Linear",
    "MaxPool2d",
    "Model",
    "Node",
    "QuantConfig",
    "QuantState",
    "QuantizedModel",
    "ReLU",
    "ReLU6",
    "Report",
    "Sensitivity",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Trial",
    "deep_compress",
    "embedded_data",
    "embedded_model_path",
    "export_onnx",
    "load",
    "load_compressed",
    "load_embedded",
    "load_onnx",
    "quantize",
    "search_bitwidths",
]
