"""Calibrators: streaming statistics that choose quantization ranges (private module)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Union

import numpy as np

from .._core import quant as _kernels
from ._common import check_axis, check_int, check_real

METHODS = ("minmax", "moving_average", "percentile", "mse", "entropy")
ENTROPY_VARIANTS = ("tensorrt", "onnxruntime")
TIES = ("last", "first")
PLACEMENTS = ("edge", "center")

Number = Union[float, np.ndarray]


@dataclass(frozen=True)
class CalibrationResult:
    """What a :class:`Calibrator` chose.

    Attributes
    ----------
    low, high : float or numpy.ndarray
        The range for asymmetric (affine) use: pass ``range=(low, high)`` to
        ``quantize(x, "affine", ...)``. Per channel (shape ``(C,)``) when the calibrator has an
        axis.
    threshold : float or numpy.ndarray
        The saturation threshold for symmetric use: pass ``threshold=`` to
        ``quantize(x, "symmetric", ...)``. For methods that choose a range it is
        ``max(|low|, |high|)``; for methods that choose a threshold, ``low = -threshold`` and
        ``high = threshold``.
    method : str
        The method (and entropy variant) that produced it.
    """

    low: Number
    high: Number
    threshold: Number
    method: str

    @property
    def range(self) -> tuple[Number, Number]:
        """``(low, high)``."""
        return (self.low, self.high)


# ---------------------------------------------------------------------------------------------
# Streaming histograms
# ---------------------------------------------------------------------------------------------
class _AbsHistogram:
    """Histogram of |x| over [0, n * width): TensorRT's layout. The first non-zero batch sets
    width = absmax / num_bins; a later, larger absmax appends bins of the same width (TensorRT's
    NumPy path); past max_bins, pairs of bins merge (the width doubles)."""

    def __init__(self, num_bins: int, max_bins: int) -> None:
        self.num_bins = num_bins
        self.max_bins = max_bins
        self.counts: np.ndarray | None = None
        self.width = 0.0
        self.pending_zeros = 0  # values seen while every value was 0

    def add(self, x: np.ndarray, absmax: float) -> None:
        if self.counts is None:
            if absmax == 0:
                self.pending_zeros += x.size
                return
            self.width = absmax / self.num_bins
            self.counts = np.zeros(self.num_bins, dtype=np.int64)
            self.counts[0] += self.pending_zeros
        elif absmax > self.width * self.counts.size:
            n = max(self.counts.size, math.ceil(absmax / self.width))
            self.counts = np.concatenate([self.counts, np.zeros(n - self.counts.size, dtype=np.int64)])
            while self.counts.size > self.max_bins:
                if self.counts.size % 2:
                    self.counts = np.append(self.counts, 0)
                self.counts = self.counts.reshape(-1, 2).sum(axis=1)
                self.width *= 2
        _kernels.histogram(x, 0.0, self.width * self.counts.size, self.counts, True)

    def get(self) -> tuple[np.ndarray, np.ndarray]:
        if self.counts is None:
            return np.array([self.pending_zeros], dtype=np.int64), np.array([0.0, 0.0])
        return self.counts.copy(), np.arange(self.counts.size + 1) * self.width


class _SymmetricHistogram:
    """Histogram of x over [-t, t): ONNX Runtime's layout (``HistogramCollector.collect_value``
    and ``merge_histogram``): t = max(|min|, |max|) of the first non-zero batch; a later batch
    beyond t adds ``int((t_new - t) // stride + 1)`` bins of the old width on each side; past
    max_bins, bins merge symmetrically (pairs, or triples around an odd centre bin)."""

    def __init__(self, num_bins: int, max_bins: int) -> None:
        self.num_bins = num_bins
        self.max_bins = max_bins
        self.counts: np.ndarray | None = None
        self.t = 0.0
        self.pending_zeros = 0

    def add(self, x: np.ndarray, t_new: float) -> None:
        if self.counts is None:
            if t_new == 0:
                self.pending_zeros += x.size
                return
            self.t = t_new
            self.counts = np.zeros(self.num_bins, dtype=np.int64)
            self.counts[self.num_bins // 2] += self.pending_zeros
        elif t_new > self.t:
            n = self.counts.size
            stride = 2 * self.t / n
            half = int((t_new - self.t) // stride + 1)
            grown = np.zeros(n + 2 * half, dtype=np.int64)
            grown[half:half + n] = self.counts
            self.counts = grown
            self.t = half * stride + self.t
            while self.counts.size > self.max_bins:
                self._coarsen()
        _kernels.histogram(x, -self.t, self.t, self.counts, False)

    def _coarsen(self) -> None:
        assert self.counts is not None
        n = self.counts.size
        stride = 2 * self.t / n
        factor = 2 if n % 2 == 0 else 3
        side = n // 2 if factor == 2 else (n - 3) // 2  # bins on each side of the centre group
        pad = (-side) % factor
        c = np.concatenate([np.zeros(pad, dtype=np.int64), self.counts, np.zeros(pad, dtype=np.int64)])
        self.t += pad * stride
        self.counts = c.reshape(-1, factor).sum(axis=1)

    def get(self) -> tuple[np.ndarray, np.ndarray]:
        if self.counts is None:
            counts = np.zeros(self.num_bins, dtype=np.int64)
            counts[self.num_bins // 2] = self.pending_zeros
            return counts, np.zeros(self.num_bins + 1)
        n = self.counts.size
        return self.counts.copy(), np.linspace(-self.t, self.t, n + 1)


# ---------------------------------------------------------------------------------------------
# Threshold searches on a histogram
# ---------------------------------------------------------------------------------------------
def entropy_threshold(hist: Any, edges: Any, *, variant: str = "tensorrt", num_quantized_bins: int = 128,
                      start_bin: int = 128, stride: int = 1, eps: float = 1e-4, tie: str | None = None,
                      threshold_at: str = "edge", zero_bin: str = "copy_next",
                      data_range: tuple[float, float] | None = None) -> Any:
    """The KL-divergence (entropy) threshold of a histogram, as TensorRT or ONNX Runtime chooses it.

    Parameters
    ----------
    hist : array_like of int
        Bin counts. ``variant="tensorrt"``: a histogram of ``|x|`` whose first edge is 0.
        ``variant="onnxruntime"``: a histogram of ``x`` symmetric about 0.
    edges : array_like of float
        The ``len(hist) + 1`` bin edges.
    variant : {"tensorrt", "onnxruntime"}
        ``"tensorrt"``: NVIDIA's published algorithm (pytorch-quantization
        ``_compute_amax_entropy``): candidates ``i = start_bin, start_bin + stride, ...,
        len(hist)``; outliers added to the last kept bin; ``num_quantized_bins`` levels; no
        smoothing (a candidate whose Q is 0 where P is not loses); threshold at the right edge of
        bin ``i - 1``. ``"onnxruntime"``: the two-sided search of ONNX Runtime's
        ``calibrate.py`` (``get_entropy_threshold``) with ``smooth_distribution(eps)``.
    num_quantized_bins : int
        Levels of the quantized distribution Q (128: int8).
    start_bin, stride : int
        First candidate and step (``"tensorrt"`` only).
    eps : float
        Smoothing epsilon (``"onnxruntime"`` only).
    tie : {"last", "first"}, optional
        Which candidate wins among equal divergences: TensorRT takes the last (default for
        ``"tensorrt"``), NumPy's ``argmin`` in ONNX Runtime the first (default there).
    threshold_at : {"edge", "center"}
        ``"tensorrt"``: the right edge of the last kept bin (NVIDIA's code) or its centre (the
        GTC 2017 slides' ``(m + 0.5) * width``).
    zero_bin : {"copy_next", "keep"}
        ``"tensorrt"``: ``"copy_next"`` sets ``bins[0] = bins[1]`` first, as NVIDIA's code does so
        that the zero bin after a ReLU does not dominate.
    data_range : (float, float), optional
        ``"onnxruntime"``: the (min, max) of the data; the thresholds are clamped to it.

    Returns
    -------
    float or (float, float)
        ``"tensorrt"``: the threshold (amax). ``"onnxruntime"``: the range ``(low, high)``.
    """
    if variant not in ENTROPY_VARIANTS:
        raise ValueError(f"variant must be one of {ENTROPY_VARIANTS}, got {variant!r}")
    h = np.ascontiguousarray(hist)
    if h.dtype.kind not in "iu" or h.ndim != 1:
        raise TypeError("hist must be a 1-D integer array")
    h = h.astype(np.int64)
    if np.any(h < 0):
        raise ValueError("hist must not have negative counts")
    e = np.asarray(edges, dtype=np.float64)
    if e.shape != (h.size + 1,):
        raise ValueError(f"edges must have len(hist) + 1 = {h.size + 1} values, got shape {e.shape}")
    levels = check_int(num_quantized_bins, "num_quantized_bins", 1)
    eps = check_real(eps, "eps")
    if tie is None:
        tie = "last" if variant == "tensorrt" else "first"
    if tie not in TIES:
        raise ValueError(f"tie must be one of {TIES}, got {tie!r}")
    if variant == "tensorrt":
        start_bin = check_int(start_bin, "start_bin", 1)
        stride = check_int(stride, "stride", 1)
        if threshold_at not in PLACEMENTS:
            raise ValueError(f"threshold_at must be one of {PLACEMENTS}, got {threshold_at!r}")
        if zero_bin not in ("copy_next", "keep"):
            raise ValueError(f"zero_bin must be 'copy_next' or 'keep', got {zero_bin!r}")
        if start_bin > h.size:
            raise ValueError(f"start_bin={start_bin} exceeds the histogram's {h.size} bins")
        if h.sum() == 0:
            return float(e[-1])
        if zero_bin == "copy_next" and h.size > 1:
            h[0] = h[1]
        i, _ = _kernels.entropy_search_tensorrt(h, start_bin, stride, levels, tie == "last")
        return float(e[i]) if threshold_at == "edge" else float((e[i - 1] + e[i]) / 2)
    if levels < 2 or levels // 2 > h.size // 2:
        raise ValueError(f"num_quantized_bins={levels} must be in [2, len(hist)]")
    if h.sum() == 0:
        return (float(e[0]), float(e[-1]))
    i, _ = _kernels.entropy_search_onnxruntime(h, levels, eps, tie == "last")
    zero = h.size // 2
    low, high = float(e[zero - i]), float(e[min(zero + i + 1, h.size)])
    if data_range is not None:
        low, high = max(low, float(data_range[0])), min(high, float(data_range[1]))
    return (low, high)


def mse_threshold(hist: Any, edges: Any, *, bits: int = 8, unsigned: bool = False, start_bin: int = 128,
                  stride: int = 1) -> float:
    """The threshold minimising the quantization MSE of a histogram of ``|x|``.

    TensorRT's rule (pytorch-quantization ``_compute_amax_mse``): each bin's mass sits at its
    centre; candidates are the centres of bins ``start_bin, start_bin + stride, ...``; each
    centre is fake-quantized symmetrically with ``bits`` bits (ties to even) and the candidate
    with the smallest ``sum(count * error**2)`` wins (the first among equals).

    Returns
    -------
    float
        The chosen threshold (a bin centre).
    """
    h = np.asarray(hist, dtype=np.float64)
    e = np.asarray(edges, dtype=np.float64)
    centers = (e[1:] + e[:-1]) / 2
    if start_bin >= centers.size:
        raise ValueError(f"start_bin={start_bin} must be below the histogram's {centers.size} bins")
    qmax = (1 << (bits - 1 + int(unsigned))) - 1
    qmin = 0 if unsigned else -qmax
    cand = np.arange(start_bin, centers.size, stride)
    best, best_err = int(cand[0]), math.inf
    for chunk in np.array_split(cand, max(1, cand.size // 128)):
        amax = centers[chunk][:, None]
        scale = np.where(amax > 0, qmax / amax, 1.0)
        q = np.clip(np.rint(centers[None, :] * scale), qmin, qmax) / scale
        err = ((q - centers[None, :]) ** 2 * h[None, :]).sum(axis=1)
        k = int(np.argmin(err))
        if err[k] < best_err:
            best, best_err = int(chunk[k]), float(err[k])
    return float(centers[best])


def percentile_threshold(hist: Any, edges: Any, percentile: float) -> float:
    """The edge where the cumulative share of a histogram reaches ``percentile`` percent
    (``edges[searchsorted(cdf, percentile / 100)]``: TensorRT's and ONNX Runtime's rule)."""
    h = np.asarray(hist, dtype=np.float64)
    cdf = np.cumsum(h / h.sum())
    return float(np.asarray(edges)[min(int(np.searchsorted(cdf, percentile / 100.0)), h.size)])


# ---------------------------------------------------------------------------------------------
# The calibrator
# ---------------------------------------------------------------------------------------------
class _Channel:
    def __init__(self) -> None:
        self.min = math.inf
        self.max = -math.inf
        self.avg_min: float | None = None
        self.avg_max: float | None = None
        self.hist: _AbsHistogram | _SymmetricHistogram | None = None


class Calibrator:
    """Streaming calibration: ``collect`` batches, then ``compute`` a range or threshold.

    Memory does not grow with the number of batches: each channel keeps a running min/max and,
    for histogram methods, one histogram. **Batch order matters** when the range grows: the first
    non-zero batch fixes the bin width, a later batch with a larger magnitude appends bins of that
    width (TensorRT, ONNX Runtime), and past ``max_bins`` neighbouring bins merge; so the same data
    in another order or other batch sizes can give a (slightly) different histogram and result,
    as TensorRT's documentation warns. ``moving_average`` depends on order by definition.

    Parameters
    ----------
    method : {"minmax", "moving_average", "percentile", "mse", "entropy"}
        ``"minmax"``: the min and max seen. ``"moving_average"``: ONNX Runtime's
        ``min += momentum * (batch_min - min)`` (and max), starting from the first batch.
        ``"percentile"``: the ``percentile`` of ``|x|`` (``symmetric=True``) or both tails of ``x``.
        ``"mse"``: the threshold minimising the histogram's quantization MSE (TensorRT).
        ``"entropy"``: the KL-divergence threshold, ``variant="tensorrt"`` (histogram of ``|x|``)
        or ``"onnxruntime"`` (two-sided histogram; a range). See :func:`entropy_threshold`.
    axis : int, optional
        Channel axis: one result per channel (shape ``(C,)``); None for one per tensor.
    bits : int
        Bit width the range is for (8): sets 128 quantized bins (``1 << (bits - 1 + unsigned)``)
        for the TensorRT entropy search and the levels of the MSE search.
    unsigned : bool
        Unsigned target (TensorRT: 256 quantized bins for 8 bits).
    momentum : float
        ``moving_average`` constant (ONNX Runtime's ``averaging_constant``, 0.01).
    percentile : float
        Percent of the mass kept by ``"percentile"`` (99.99, TensorRT's; ONNX Runtime uses
        99.999).
    symmetric : bool
        ``"percentile"``: histogram of ``|x|`` and one threshold (True, default) or a two-sided
        histogram cut on both tails (False, ONNX Runtime's asymmetric mode).
    variant : {"tensorrt", "onnxruntime"}
        Entropy variant.
    num_bins : int
        Bins of the first histogram (2048). ONNX Runtime's own entropy default is 128 bins and
        128 quantized bins, which tests one candidate only (MinMax in disguise): set both.
    max_bins : int
        Bound on a growing histogram (65536); beyond it neighbouring bins merge.
    num_quantized_bins : int, optional
        Levels of Q in the entropy search (default from ``bits``/``unsigned`` for TensorRT, 128
        for ONNX Runtime).
    start_bin, stride : int
        First candidate and step of the TensorRT entropy and MSE searches (128, 1).
    eps : float
        Smoothing epsilon of the ONNX Runtime entropy search (1e-4).
    tie : {"last", "first"}, optional
        Tie rule of the entropy search (TensorRT: last, ONNX Runtime: first).
    threshold_at : {"edge", "center"}
        Where in the chosen bin the TensorRT entropy threshold lies (``"edge"``: NVIDIA's code).

    Examples
    --------
    >>> import numpy as np
    >>> from fixedq.quant import Calibrator
    >>> cal = Calibrator("minmax")
    >>> cal.collect(np.array([-1.0, 2.0])).collect(np.array([3.0]))
    Calibrator('minmax')
    >>> cal.compute().range
    (-1.0, 3.0)
    """

    def __init__(self, method: str = "minmax", *, axis: int | None = None, bits: int = 8, unsigned: bool = False,
                 momentum: float = 0.01, percentile: float = 99.99, symmetric: bool = True,
                 variant: str = "tensorrt", num_bins: int = 2048, max_bins: int = 65536,
                 num_quantized_bins: int | None = None, start_bin: int = 128, stride: int = 1,
                 eps: float = 1e-4, tie: str | None = None, threshold_at: str = "edge") -> None:
        if not isinstance(method, str):
            raise TypeError(f"method must be a str, one of {METHODS}, got {type(method).__name__}")
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {method!r}")
        if not isinstance(variant, str) or variant not in ENTROPY_VARIANTS:
            raise ValueError(f"variant must be one of {ENTROPY_VARIANTS}, got {variant!r}")
        if axis is not None and (isinstance(axis, bool) or not isinstance(axis, int)):
            raise TypeError(f"axis must be an int or None, got {type(axis).__name__}")
        for name, flag in (("unsigned", unsigned), ("symmetric", symmetric)):
            if not isinstance(flag, bool):
                raise TypeError(f"{name} must be a bool, got {type(flag).__name__}")
        self.method = method
        self.axis = axis
        self.bits = check_int(bits, "bits", 2, 16)
        self.unsigned = unsigned
        self.momentum = check_real(momentum, "momentum")
        if not 0 <= self.momentum <= 1:
            raise ValueError(f"momentum must be in [0, 1], got {momentum}")
        self.percentile = check_real(percentile, "percentile")
        if not 0 <= self.percentile <= 100:
            raise ValueError(f"percentile must be in [0, 100], got {percentile}")
        self.symmetric = symmetric
        self.variant = variant
        self.num_bins = check_int(num_bins, "num_bins", 1)
        self.max_bins = check_int(max_bins, "max_bins", self.num_bins)
        default_levels = (1 << (self.bits - 1 + int(unsigned))) if variant == "tensorrt" else 128
        self.num_quantized_bins = default_levels if num_quantized_bins is None else check_int(
            num_quantized_bins, "num_quantized_bins", 1)
        self.start_bin = check_int(start_bin, "start_bin", 1)
        self.stride = check_int(stride, "stride", 1)
        self.eps = check_real(eps, "eps")
        if tie is not None and tie not in TIES:
            raise ValueError(f"tie must be one of {TIES}, got {tie!r}")
        self.tie = tie
        if threshold_at not in PLACEMENTS:
            raise ValueError(f"threshold_at must be one of {PLACEMENTS}, got {threshold_at!r}")
        self.threshold_at = threshold_at
        self._channels: list[_Channel] = []
        self._ndim: int | None = None

    def __repr__(self) -> str:
        extra = f", variant={self.variant!r}" if self.method == "entropy" else ""
        extra += f", axis={self.axis}" if self.axis is not None else ""
        return f"Calibrator({self.method!r}{extra})"

    def _histogram_kind(self) -> str | None:
        if self.method in ("minmax", "moving_average"):
            return None
        if self.method == "entropy":
            return "abs" if self.variant == "tensorrt" else "symmetric"
        if self.method == "percentile":
            return "abs" if self.symmetric else "symmetric"
        return "abs"

    def reset(self) -> None:
        """Forget everything collected."""
        self._channels = []
        self._ndim = None

    def collect(self, batch: Any) -> Calibrator:
        """Add a batch of values.

        Parameters
        ----------
        batch : array_like
            float32 or float64 (float16 and integers are widened); finite; with the same number
            of dimensions and channels as earlier batches when ``axis`` is set.

        Returns
        -------
        Calibrator
            ``self``, so calls chain.

        Raises
        ------
        TypeError
            If ``batch`` is not real numeric data.
        ValueError
            If ``batch`` is empty, holds NaN or infinity, or its channels do not match.
        """
        a = np.asarray(batch)
        if a.dtype.kind in "iu" or a.dtype == np.float16:
            a = a.astype(np.float64 if a.dtype.kind in "iu" else np.float32)
        elif a.dtype not in (np.float32, np.float64):
            raise TypeError(f"batch must be a real floating-point or integer array, got dtype {a.dtype}")
        if a.size == 0:
            raise ValueError("batch is empty")
        if self.axis is None:
            rows = [np.ascontiguousarray(a).reshape(-1)]
        else:
            ax = check_axis(self.axis, a.ndim)
            if self._ndim is not None and a.ndim != self._ndim:
                raise ValueError(f"batch has {a.ndim} dimensions, earlier batches had {self._ndim}")
            m = np.ascontiguousarray(np.moveaxis(a, ax, 0)).reshape(a.shape[ax], -1)
            rows = list(m)
        if self._channels and len(rows) != len(self._channels):
            raise ValueError(f"batch has {len(rows)} channels along axis {self.axis}, earlier batches had "
                             f"{len(self._channels)}")
        if self._fast_collect(rows):
            return self
        ranges = [_kernels.value_range(r) for r in rows]
        if not all(r[3] for r in ranges):
            raise ValueError("batch contains NaN or infinity")
        if not self._channels:
            self._channels = [_Channel() for _ in rows]
            self._ndim = a.ndim
        kind = self._histogram_kind()
        for ch, row, (lo, hi, absmax, _) in zip(self._channels, rows, ranges):
            if self.method == "moving_average" and ch.avg_min is not None:
                assert ch.avg_max is not None
                ch.avg_min += self.momentum * (lo - ch.avg_min)
                ch.avg_max += self.momentum * (hi - ch.avg_max)
            elif self.method == "moving_average":
                ch.avg_min, ch.avg_max = lo, hi
            ch.min, ch.max = min(ch.min, lo), max(ch.max, hi)
            if kind == "abs":
                if ch.hist is None:
                    ch.hist = _AbsHistogram(self.num_bins, self.max_bins)
                ch.hist.add(row, absmax)
            elif kind == "symmetric":
                if ch.hist is None:
                    ch.hist = _SymmetricHistogram(self.num_bins, self.max_bins)
                ch.hist.add(row, absmax)
        return self

    def _fast_collect(self, rows: list[np.ndarray]) -> bool:
        """The common case in one pass over the data: one channel whose histogram exists and
        holds the batch without growing. Binning and the range come from one C++ pass; when the
        batch is not finite or would grow the histogram nothing is changed and the caller takes
        the general path (range first, then grow, then bin). Returns whether the batch was added."""
        if len(rows) != 1 or len(self._channels) != 1:
            return False
        ch = self._channels[0]
        hist = ch.hist
        if hist is None or hist.counts is None:
            return False
        if isinstance(hist, _AbsHistogram):
            lo, hi, absolute = 0.0, hist.width * hist.counts.size, True
        else:
            lo, hi, absolute = -hist.t, hist.t, False
        added, (bmin, bmax, _, _) = _kernels.histogram_checked(rows[0], lo, hi, hist.counts, absolute)
        if not added:
            return False
        ch.min, ch.max = min(ch.min, bmin), max(ch.max, bmax)
        return True

    def histogram(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """The collected histograms, one ``(counts, edges)`` pair per channel (one for a per-tensor
        calibrator); empty for ``minmax`` and ``moving_average``."""
        return [ch.hist.get() for ch in self._channels if ch.hist is not None]

    def compute(self) -> CalibrationResult:
        """Choose the range and threshold from what was collected.

        Returns
        -------
        CalibrationResult
            Floats for a per-tensor calibrator, arrays of shape ``(C,)`` per channel.

        Raises
        ------
        ValueError
            If nothing was collected.
        """
        if not self._channels:
            raise ValueError("nothing collected: call collect(batch) first")
        lows, highs, ths = [], [], []
        for ch in self._channels:
            low, high, th = self._compute_channel(ch)
            lows.append(low)
            highs.append(high)
            ths.append(th)
        name = self.method + (f"/{self.variant}" if self.method == "entropy" else "")
        if self.axis is None:
            return CalibrationResult(lows[0], highs[0], ths[0], name)
        return CalibrationResult(np.array(lows), np.array(highs), np.array(ths), name)

    def _compute_channel(self, ch: _Channel) -> tuple[float, float, float]:
        if self.method in ("minmax", "moving_average"):
            lo, hi = (ch.min, ch.max) if self.method == "minmax" else (ch.avg_min, ch.avg_max)
            assert lo is not None and hi is not None
            return float(lo), float(hi), float(max(abs(lo), abs(hi)))
        assert ch.hist is not None
        counts, edges = ch.hist.get()
        if self.method == "percentile" and self.symmetric:
            t = percentile_threshold(counts, edges, self.percentile)
        elif self.method == "percentile":
            cdf = np.cumsum(counts / counts.sum())
            cut = (100.0 - self.percentile) / 200.0
            low = float(edges[min(int(np.searchsorted(cdf, cut)), counts.size)])
            high = float(edges[min(int(np.searchsorted(cdf, 1.0 - cut)), counts.size)])
            low, high = max(low, ch.min), min(high, ch.max)
            return low, high, max(abs(low), abs(high))
        elif self.method == "mse":
            if counts.size <= self.start_bin:
                t = float(edges[-1])
            else:
                t = mse_threshold(counts, edges, bits=self.bits, unsigned=self.unsigned,
                                  start_bin=self.start_bin, stride=self.stride)
        elif self.variant == "tensorrt":
            if counts.size < self.start_bin:
                t = float(edges[-1])  # fewer bins than the first candidate: keep everything
            else:
                t = entropy_threshold(counts, edges, variant="tensorrt", num_quantized_bins=self.num_quantized_bins,
                                      start_bin=self.start_bin, stride=self.stride, tie=self.tie,
                                      threshold_at=self.threshold_at)
        else:
            low, high = entropy_threshold(counts, edges, variant="onnxruntime",
                                          num_quantized_bins=self.num_quantized_bins, eps=self.eps, tie=self.tie,
                                          data_range=(ch.min, ch.max))
            return low, high, max(abs(low), abs(high))
        return (0.0 if self.unsigned else -t), t, t
