"""Type stubs for fixedq.quant."""

from dataclasses import dataclass
from typing import Any, Literal, Mapping, Sequence, Union, overload

import numpy as np
import numpy.typing as npt

_Number = Union[float, np.ndarray]
_Scheme = Literal["affine", "symmetric", "dynamic_fixed_point", "minifloat", "power_of_two", "kmeans", "binary",
                  "ternary", "dorefa"]
_Rounding = Literal["half_even", "half_away", "stochastic"]
_Seed = Union[int, np.random.Generator, None]

SCHEMES: tuple[str, ...]
METHODS: tuple[str, ...]
ENTROPY_VARIANTS: tuple[str, ...]
ROUNDINGS: tuple[str, ...]

@dataclass(frozen=True, eq=False)
class QTensor:
    codes: np.ndarray
    scheme: str
    bits: int
    params: Mapping[str, Any]
    dtype: np.dtype
    @property
    def shape(self) -> tuple[int, ...]: ...
    @property
    def axis(self) -> int | None: ...
    @property
    def storage_bits(self) -> int: ...
    @property
    def fixed_type(self) -> type | None: ...
    def dequantize(self) -> np.ndarray: ...
    def limits(self) -> tuple[np.ndarray, np.ndarray]: ...
    def to_fixed(self) -> np.ndarray: ...
    def metrics(self, reference: npt.ArrayLike) -> QuantMetrics: ...

@dataclass(frozen=True)
class QuantMetrics:
    mse: float
    sqnr_db: float
    max_abs_error: float
    saturated_fraction: float

@dataclass(frozen=True)
class CalibrationResult:
    low: _Number
    high: _Number
    threshold: _Number
    method: str
    @property
    def range(self) -> tuple[_Number, _Number]: ...

def quantize(x: npt.ArrayLike, scheme: _Scheme, *, bits: int | None = None, axis: int | None = None,
             rounding: _Rounding | None = None, seed: _Seed = None, **options: Any) -> QTensor: ...
def dequantize(qt: QTensor) -> np.ndarray: ...
def error_metrics(qtensor: QTensor, reference: npt.ArrayLike) -> QuantMetrics: ...
@overload
def prune(x: np.ndarray, sparsity: float | None = None, *, threshold: float | None = None,
          scope: Literal["tensor", "global"] = "tensor") -> tuple[np.ndarray, np.ndarray]: ...
@overload
def prune(x: Sequence[np.ndarray], sparsity: float | None = None, *, threshold: float | None = None,
          scope: Literal["tensor", "global"] = "tensor") -> tuple[list[np.ndarray], list[np.ndarray]]: ...

class Calibrator:
    method: str
    axis: int | None
    def __init__(self, method: Literal["minmax", "moving_average", "percentile", "mse", "entropy"] = "minmax", *,
                 axis: int | None = None, bits: int = 8, unsigned: bool = False, momentum: float = 0.01,
                 percentile: float = 99.99, symmetric: bool = True,
                 variant: Literal["tensorrt", "onnxruntime"] = "tensorrt", num_bins: int = 2048,
                 max_bins: int = 65536, num_quantized_bins: int | None = None, start_bin: int = 128,
                 stride: int = 1, eps: float = 1e-4, tie: Literal["last", "first"] | None = None,
                 threshold_at: Literal["edge", "center"] = "edge") -> None: ...
    def collect(self, batch: npt.ArrayLike) -> Calibrator: ...
    def compute(self) -> CalibrationResult: ...
    def histogram(self) -> list[tuple[np.ndarray, np.ndarray]]: ...
    def reset(self) -> None: ...

def entropy_threshold(hist: npt.ArrayLike, edges: npt.ArrayLike, *,
                      variant: Literal["tensorrt", "onnxruntime"] = "tensorrt", num_quantized_bins: int = 128,
                      start_bin: int = 128, stride: int = 1, eps: float = 1e-4,
                      tie: Literal["last", "first"] | None = None, threshold_at: Literal["edge", "center"] = "edge",
                      zero_bin: Literal["copy_next", "keep"] = "copy_next",
                      data_range: tuple[float, float] | None = None) -> Any: ...
def mse_threshold(hist: npt.ArrayLike, edges: npt.ArrayLike, *, bits: int = 8, unsigned: bool = False,
                  start_bin: int = 128, stride: int = 1) -> float: ...
def percentile_threshold(hist: npt.ArrayLike, edges: npt.ArrayLike, percentile: float) -> float: ...
def plot_histogram(x: npt.ArrayLike, *, thresholds: Mapping[str, float] | Sequence[float] | float | None = None,
                   qtensor: QTensor | None = None, bins: int = 100, ax: Any = None, title: str | None = None) -> Any: ...

@dataclass(frozen=True, eq=False)
class HuffmanStream:
    lengths: np.ndarray
    data: bytes
    num_bits: int
    count: int
    @property
    def table_bits(self) -> int: ...
    def decode(self) -> np.ndarray: ...

@dataclass(frozen=True, eq=False)
class CompressedTensor:
    shape: tuple[int, ...]
    bits: int
    index_bits: int
    codebook: np.ndarray
    zero_code: bool
    weight_codes: np.ndarray
    position_codes: np.ndarray
    weight_stream: HuffmanStream
    position_stream: HuffmanStream
    @property
    def size(self) -> int: ...
    @property
    def entries(self) -> int: ...
    @property
    def fillers(self) -> int: ...
    @property
    def nonzeros(self) -> int: ...
    @property
    def compression_ratio(self) -> float: ...
    def positions(self) -> np.ndarray: ...
    def dense(self) -> np.ndarray: ...
    def size_breakdown(self) -> dict[str, int]: ...
    @classmethod
    def from_codes(cls, shape: Sequence[int], bits: int, index_bits: int, codebook: npt.ArrayLike, zero_code: bool,
                   weight_codes: npt.ArrayLike, position_codes: npt.ArrayLike) -> CompressedTensor: ...

def encode_relative_index(mask_or_positions: npt.ArrayLike, index_bits: int, *,
                          size: int | None = None) -> tuple[np.ndarray, np.ndarray]: ...
def decode_relative_index(codes: npt.ArrayLike, index_bits: int) -> np.ndarray: ...
def huffman_encode(symbols: npt.ArrayLike, num_symbols: int | None = None) -> HuffmanStream: ...
def huffman_decode(stream: HuffmanStream) -> np.ndarray: ...
def sharing_compression_ratio(n: int, k: int, b: int = 32) -> float: ...
def deep_compress_tensor(w: npt.ArrayLike, prune: float | None = 0.9, bits: int = 5, index_bits: int = 5, *,
                         mask: npt.ArrayLike | None = None, max_iter: int = 300) -> CompressedTensor: ...
