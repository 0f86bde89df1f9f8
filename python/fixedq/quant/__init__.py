"""fixedq.quant: float tensors to low-precision codes and back, and calibration.

The tensor-level half of quantization: :func:`quantize` with every scheme of the seed lecture
(affine, symmetric, dynamic fixed point, minifloat, power of two, k-means weight sharing,
binary, ternary, DoReFa) into a :class:`QTensor`; :func:`prune` by magnitude; Deep Compression of a tensor (:func:`deep_compress_tensor`:
relative-index encoding, k-means weight sharing, canonical Huffman coding); error metrics;
and :class:`Calibrator`, the streaming range/threshold selection of TensorRT and ONNX Runtime
(min/max, moving average, percentile, MSE, entropy) whose histograms are collected in C++.
"""

from __future__ import annotations

from ._calibrate import (
    ENTROPY_VARIANTS,
    METHODS,
    CalibrationResult,
    Calibrator,
    entropy_threshold,
    mse_threshold,
    percentile_threshold,
)
from ._common import ROUNDINGS
from ._compress import (
    CompressedTensor,
    HuffmanStream,
    decode_relative_index,
    deep_compress_tensor,
    encode_relative_index,
    huffman_decode,
    huffman_encode,
    sharing_compression_ratio,
)
from ._metrics import QuantMetrics, error_metrics
from ._plot import plot_histogram
from ._prune import prune
from ._qtensor import QTensor
from ._schemes import SCHEMES, dequantize, quantize

__all__ = [
    "ENTROPY_VARIANTS",
    "METHODS",
    "ROUNDINGS",
    "SCHEMES",
    "CalibrationResult",
    "Calibrator",
    "CompressedTensor",
    "HuffmanStream",
    "QTensor",
    "QuantMetrics",
    "decode_relative_index",
    "deep_compress_tensor",
    "dequantize",
    "encode_relative_index",
    "entropy_threshold",
    "error_metrics",
    "huffman_decode",
    "huffman_encode",
    "mse_threshold",
    "percentile_threshold",
    "plot_histogram",
    "prune",
    "quantize",
    "sharing_compression_ratio",
]
