"""fixedq.quant.Calibrator and the C++ histogram kernels.

Oracles: NumPy's histogram; a direct transcription, in this file, of NVIDIA's published entropy
algorithm (pytorch-quantization ``_compute_amax_entropy``: per-bin loops, ``np.digitize``,
``scipy.stats.entropy``, last argmin); ONNX Runtime's own ``HistogramCollector`` when
onnxruntime is installed (``num_bins``/``num_quantized_bins`` set: its defaults test one
candidate only).
"""

from __future__ import annotations

import contextlib
import io
from collections import Counter

import numpy as np
import pytest

from fixedq._core import quant as kernels
from fixedq.quant import Calibrator, entropy_threshold, mse_threshold

# ---------------------------------------------------------------------------------------------
# C++ kernels
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [0, 1, 15, 16, 17, 1023, 1025, 4099])
def test_value_range_matches_numpy(dtype: type, n: int) -> None:
    x = np.random.default_rng(n).normal(size=n).astype(dtype)
    lo, hi, absmax, finite = kernels.value_range(x)
    assert finite
    if n:
        assert (lo, hi, absmax) == (float(x.min()), float(x.max()), float(np.abs(x).max()))
    for pos in {0, n // 2, n - 1} if n else set():
        for bad in (np.nan, np.inf, -np.inf):
            y = x.copy()
            y[pos] = bad
            assert kernels.value_range(y)[3] is False, (pos, bad)


def test_kernels_reject_wrong_dtypes() -> None:
    with pytest.raises(TypeError, match="x must be a float32 or float64 array"):
        kernels.value_range(np.arange(4))
    with pytest.raises(TypeError, match="counts must be a non-empty 1-D int64 array"):
        kernels.histogram(np.zeros(3), 0.0, 1.0, np.zeros(4, dtype=np.int32), False)
    with pytest.raises(ValueError, match="hi > lo"):
        kernels.histogram(np.zeros(3), 1.0, 1.0, np.zeros(4, dtype=np.int64), False)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("absolute", [False, True])
@pytest.mark.parametrize("nbins", [1, 7, 128, 2048])
def test_histogram_matches_numpy_away_from_edges(dtype: type, absolute: bool, nbins: int) -> None:
    rng = np.random.default_rng(nbins)
    x = rng.normal(0, 1, 100_003).astype(dtype)
    lo, hi = (0.0, 3.0) if absolute else (-2.5, 3.0)
    v = np.abs(x.astype(np.float64)) if absolute else x.astype(np.float64)
    pos = (v - lo) / (hi - lo) * nbins
    safe = np.abs(pos - np.rint(pos)) > 1e-3  # values not within rounding distance of an edge
    counts = np.zeros(nbins, dtype=np.int64)
    kernels.histogram(np.ascontiguousarray(x[safe]), lo, hi, counts, absolute)
    expected, _ = np.histogram(np.clip(v[safe], lo, hi), bins=nbins, range=(lo, hi))
    np.testing.assert_array_equal(counts, expected)
    # everything is counted, outliers in the end bins
    counts[:] = 0
    kernels.histogram(x, lo, hi, counts, absolute)
    assert counts.sum() == x.size


# ---------------------------------------------------------------------------------------------
# TensorRT entropy: a direct transcription of NVIDIA's published algorithm
# ---------------------------------------------------------------------------------------------
def trt_entropy_transcription(hist: np.ndarray, edges: np.ndarray, num_bits: int = 8, unsigned: bool = False,
                              stride: int = 1, start_bin: int = 128) -> tuple[float, list[float]]:
    from scipy.stats import entropy

    bins = hist.copy()
    bins[0] = bins[1]
    nbins = 1 << (num_bits - 1 + int(unsigned))
    divergences = []
    for i in range(start_bin, len(bins) + 1, stride):
        new_density_counts = np.zeros(nbins, dtype=np.float64)
        space = np.linspace(0, i, num=nbins + 1)
        digitized_space = np.digitize(range(i), space) - 1
        digitized_space[bins[:i] == 0] = -1
        for idx, digitized in enumerate(digitized_space):
            if digitized != -1:
                new_density_counts[digitized] += bins[idx]
        counter = Counter(digitized_space)
        for key, val in counter.items():
            if key != -1:
                new_density_counts[key] = new_density_counts[key] / val
        new_density = np.zeros(i, dtype=np.float64)
        for idx, digitized in enumerate(digitized_space):
            if digitized != -1:
                new_density[idx] = new_density_counts[digitized]
        reference_density = np.array(bins[: len(digitized_space)], dtype=np.float64)
        reference_density[-1] += np.sum(bins[i:])
        divergences.append(float(entropy(reference_density, new_density)))
    d = np.array(divergences)
    last_argmin = len(d) - 1 - int(np.argmin(d[::-1]))
    return float(edges[last_argmin * stride + start_bin]), divergences


def relu_like_histogram(seed: int, nbins: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.abs(np.concatenate([rng.normal(0, 1, 20000), rng.standard_t(2 + seed, 2000) * 2]))
    x[: 3000 + 500 * seed] = 0  # the zero spike after a ReLU
    return np.histogram(x, bins=nbins, range=(0, x.max()))


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize(("nbins", "bits", "unsigned", "stride"), [(300, 8, False, 1), (400, 7, False, 3),
                                                                   (600, 8, True, 5)])
def test_tensorrt_entropy_matches_the_published_algorithm(seed: int, nbins: int, bits: int, unsigned: bool,
                                                          stride: int) -> None:
    pytest.importorskip("scipy", reason="the transcription uses scipy.stats.entropy as NVIDIA's code does")
    hist, edges = relu_like_histogram(seed, nbins)
    levels = 1 << (bits - 1 + int(unsigned))
    start = min(levels, 128)
    expected, divergences = trt_entropy_transcription(hist, edges, bits, unsigned, stride, start)
    got = entropy_threshold(hist, edges, num_quantized_bins=levels, start_bin=start, stride=stride)
    assert got == expected
    h = hist.astype(np.int64)
    h[0] = h[1]
    _, kl = kernels.entropy_search_tensorrt(h, start, stride, levels, True)
    np.testing.assert_allclose(kl, divergences, rtol=1e-9, atol=1e-12)


def test_tensorrt_entropy_golden_values() -> None:
    """Regression values computed once with the transcription above (2048 bins, defaults): bin
    1664 and bin 1335 of edges 0.01 apart. (No golden thresholds are published for TensorRT.)"""
    j = np.arange(2048)
    hist = np.round(1e6 * np.exp(-j / 150.0)).astype(np.int64)
    edges = np.linspace(0, 20.48, 2049)
    assert entropy_threshold(hist, edges) == edges[1664] == 16.64
    hist2 = np.round(1e5 * np.exp(-((j / 400.0) ** 2))).astype(np.int64) + (j % 97 == 0)
    assert entropy_threshold(hist2, edges) == edges[1335] == 13.35


def test_entropy_threshold_arguments() -> None:
    hist, edges = relu_like_histogram(0, 300)
    with pytest.raises(ValueError, match="start_bin=400 exceeds"):
        entropy_threshold(hist, edges, start_bin=400)
    with pytest.raises(ValueError, match="edges must have"):
        entropy_threshold(hist, edges[:-1])
    with pytest.raises(TypeError, match="hist must be a 1-D integer array"):
        entropy_threshold(hist.astype(float), edges)
    with pytest.raises(ValueError, match="variant must be one of"):
        entropy_threshold(hist, edges, variant="mxnet")
    centre = entropy_threshold(hist, edges, threshold_at="center")
    edge = entropy_threshold(hist, edges)
    assert edge - centre == pytest.approx((edges[1] - edges[0]) / 2)


# ---------------------------------------------------------------------------------------------
# ONNX Runtime: its own collector and search as the oracle
# ---------------------------------------------------------------------------------------------
def ort_collector(num_bins: int, num_quantized_bins: int = 128, method: str = "entropy", symmetric: bool = False,
                  percentile: float = 99.999):
    calibrate = pytest.importorskip("onnxruntime.quantization.calibrate",
                                    reason="onnxruntime (optional peer) is not installed")
    return calibrate.HistogramCollector(method=method, symmetric=symmetric, num_bins=num_bins,
                                        num_quantized_bins=num_quantized_bins, percentile=percentile,
                                        scenario="same")


def quiet(f, *args):
    with contextlib.redirect_stdout(io.StringIO()):  # ONNX Runtime prints progress
        return f(*args)


def skewed_batches(seed: int, sizes: list[int]) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for k, n in enumerate(sizes):
        x = np.concatenate([rng.normal(0.3, 1.0 + 0.3 * k, n), rng.laplace(-1, 0.5, n // 4)])
        out.append(x.astype(np.float32))
    return out


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("num_bins", [256, 512, 2048])
def test_onnxruntime_entropy_search_matches_onnxruntime(seed: int, num_bins: int) -> None:
    col = ort_collector(num_bins)
    batch = skewed_batches(seed, [20000])[0]
    quiet(col.collect, {"t": batch})
    hist, edges, mn, mx, _ = col.get_histogram_dict()["t"]
    expected = col.get_entropy_threshold(col.get_histogram_dict()["t"], 128)
    got = entropy_threshold(hist, edges, variant="onnxruntime", data_range=(float(mn), float(mx)))
    np.testing.assert_allclose(got, [float(expected[0]), float(expected[1])], rtol=1e-6)


@pytest.mark.parametrize("seed", range(3))
def test_onnxruntime_entropy_calibrator_end_to_end(seed: int) -> None:
    """Growing range across batches: ONNX Runtime's merge rule, then its search."""
    batches = skewed_batches(seed, [5000, 3000, 8000, 2000])
    col = ort_collector(512)
    cal = Calibrator("entropy", variant="onnxruntime", num_bins=512)
    for b in batches:
        quiet(col.collect, {"t": b})
        cal.collect(b)
    ort_hist, ort_edges = col.get_histogram_dict()["t"][:2]
    (hist, edges), = cal.histogram()
    assert hist.size == ort_hist.size
    np.testing.assert_allclose(edges, ort_edges, rtol=1e-5, atol=1e-6)
    assert np.abs(hist - ort_hist).sum() <= 4  # values on a float edge may land next door
    low, high = quiet(col.compute_collection_result)["t"][:2]
    r = cal.compute()
    np.testing.assert_allclose(r.range, (float(low), float(high)), rtol=1e-5)


def test_onnxruntime_percentile_asymmetric_matches() -> None:
    batches = skewed_batches(5, [10000, 10000])
    col = ort_collector(2048, method="percentile", percentile=99.9)
    cal = Calibrator("percentile", percentile=99.9, symmetric=False)
    for b in batches:
        quiet(col.collect, {"t": b})
        cal.collect(b)
    low, high = quiet(col.compute_collection_result)["t"][:2]
    np.testing.assert_allclose(cal.compute().range, (float(low), float(high)), rtol=1e-5)


# ---------------------------------------------------------------------------------------------
# Calibrator: streaming, the other methods, per channel, errors
# ---------------------------------------------------------------------------------------------
def test_abs_histogram_streams_with_appended_bins() -> None:
    rng = np.random.default_rng(0)
    batches = [rng.normal(0, s, 3000) for s in (1.0, 0.5, 2.0, 4.0)]
    cal = Calibrator("entropy", num_bins=256)
    for b in batches:
        cal.collect(b)
    (hist, edges), = cal.histogram()
    width = np.abs(batches[0]).max() / 256
    assert edges[1] - edges[0] == pytest.approx(width)
    assert hist.size == int(np.ceil(max(np.abs(b).max() for b in batches) / width))
    allv = np.abs(np.concatenate(batches))
    expected, _ = np.histogram(allv, bins=hist.size, range=(0, hist.size * width))
    assert np.abs(hist - expected).sum() <= 4


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("method,options", [("entropy", {}), ("entropy", {"variant": "onnxruntime"}),
                                            ("percentile", {"symmetric": False})])
def test_one_pass_collect_equals_range_then_histogram(dtype: type, method: str, options: dict) -> None:
    """collect() bins a batch that fits the histogram in one pass (histogram_checked); it must
    equal the two-pass definition: range, grow if needed, then bin. A batch with NaN changes
    nothing, whichever path it meets."""
    rng = np.random.default_rng(5)
    # in range (one pass), larger (grows: two passes), in range again, exactly at the edge
    batches = [rng.normal(0, s, 5001).astype(dtype) for s in (1.0, 0.5, 3.0, 0.25)]
    batches.append(np.array([np.abs(batches[2]).max()], dtype=dtype))
    cal = Calibrator(method, num_bins=512, **options)
    for b in batches:
        cal.collect(b)
    one_pass = cal.histogram()[0]
    with pytest.raises(ValueError, match="NaN or infinity"):
        cal.collect(np.array([0.1, np.nan], dtype=dtype))
    assert all((a == b).all() for a, b in zip(cal.histogram()[0], one_pass))
    # The two-pass definition, from the kernels.
    ref = Calibrator(method, num_bins=512, **options)
    for b in batches:
        ch_before = ref._channels[0].hist if ref._channels else None
        if ch_before is not None and ch_before.counts is not None:
            lo, hi, absmax, finite = kernels.value_range(b)
            assert finite
            ch_before.add(b, absmax)
            ref._channels[0].min = min(ref._channels[0].min, lo)
            ref._channels[0].max = max(ref._channels[0].max, hi)
        else:
            ref.collect(b)
    two_pass = ref.histogram()[0]
    assert one_pass[0].tolist() == two_pass[0].tolist()
    assert np.array_equal(one_pass[1], two_pass[1])
    assert cal.compute() == ref.compute()


def test_histogram_checked_adds_only_what_fits() -> None:
    counts = np.zeros(8, dtype=np.int64)
    added, (lo, hi, absmax, finite) = kernels.histogram_checked(np.array([0.5, -1.5, 2.0]), 0.0, 2.0, counts, True)
    assert added and (lo, hi, absmax, finite) == (-1.5, 2.0, 2.0, True)
    assert counts.tolist() == [0, 0, 1, 0, 0, 0, 1, 1]
    added, (_, _, absmax, finite) = kernels.histogram_checked(np.array([0.5, 2.5]), 0.0, 2.0, counts, True)
    assert not added and absmax == 2.5 and finite
    added, (_, _, _, finite) = kernels.histogram_checked(np.array([0.5, np.inf], dtype=np.float32), -2.0, 2.0, counts)
    assert not added and not finite
    assert counts.tolist() == [0, 0, 1, 0, 0, 0, 1, 1]
    with pytest.raises(TypeError, match="float32 or float64"):
        kernels.histogram_checked(np.array([1, 2]), 0.0, 2.0, counts)


def test_memory_is_bounded_when_the_range_keeps_growing() -> None:
    cal = Calibrator("entropy", num_bins=128, max_bins=1024)
    sym = Calibrator("entropy", variant="onnxruntime", num_bins=128, max_bins=1024)
    for k in range(40):
        b = np.random.default_rng(k).normal(0, 1.3**k, 1000)
        cal.collect(b)
        sym.collect(b)
        assert cal.histogram()[0][0].size <= 1024 and sym.histogram()[0][0].size <= 1024
    assert cal.histogram()[0][0].sum() == 40_000 and sym.histogram()[0][0].sum() == 40_000
    (h, e), = sym.histogram()
    assert e[0] == -e[-1]


def test_minmax_and_moving_average() -> None:
    batches = [np.array([0.5, -1.0, 2.0]), np.array([3.0, -0.5]), np.array([-4.0, 1.0])]
    mm = Calibrator("minmax")
    ma = Calibrator("moving_average", momentum=0.25)
    for b in batches:
        mm.collect(b)
        ma.collect(b)
    r = mm.compute()
    assert (r.low, r.high, r.threshold) == (-4.0, 3.0, 4.0)
    lo, hi = -1.0, 2.0
    for b in batches[1:]:
        lo = lo + 0.25 * (b.min() - lo)
        hi = hi + 0.25 * (b.max() - hi)
    assert ma.compute().range == (lo, hi)


def test_percentile_symmetric_is_the_edge_where_the_cdf_crosses() -> None:
    x = np.random.default_rng(1).laplace(0, 1, 50000)
    cal = Calibrator("percentile", percentile=99.0, num_bins=1000).collect(x)
    (hist, edges), = cal.histogram()
    cdf = np.cumsum(hist) / hist.sum()
    k = next(i for i, c in enumerate(cdf) if c >= 0.99)  # first bin reaching 99 %
    assert cal.compute().threshold == edges[k]
    assert abs(cal.compute().threshold - np.quantile(np.abs(x), 0.99)) < 2 * (edges[1] - edges[0])


def test_mse_is_the_minimum_over_candidates() -> None:
    hist, edges = relu_like_histogram(2, 400)
    centers = (edges[1:] + edges[:-1]) / 2
    best, best_err = None, np.inf
    for i in range(128, 400):  # TensorRT's loop: fake-quantize the centres with amax = centers[i]
        amax = centers[i]
        q = np.clip(np.rint(centers * 127 / amax), -127, 127) * amax / 127
        err = float(np.sum((q - centers) ** 2 * hist))
        if err < best_err:
            best, best_err = centers[i], err
    assert mse_threshold(hist, edges) == pytest.approx(best, rel=1e-15)
    cal = Calibrator("mse", num_bins=400)
    assert cal is not None


def test_per_channel_equals_per_tensor_on_each_channel() -> None:
    x = np.random.default_rng(4).normal(size=(6, 3, 700)) * np.array([0.1, 1.0, 30.0])[None, :, None]
    for method, opts in [("minmax", {}), ("entropy", {"num_bins": 512}), ("entropy", {"variant": "onnxruntime"}),
                         ("percentile", {}), ("mse", {"num_bins": 300})]:
        cal = Calibrator(method, axis=1, **opts)
        cal.collect(x[:3]).collect(x[3:])
        r = cal.compute()
        assert np.shape(r.threshold) == (3,)
        for c in range(3):
            one = Calibrator(method, **opts).collect(x[:3, c]).collect(x[3:, c]).compute()
            assert (r.low[c], r.high[c], r.threshold[c]) == (one.low, one.high, one.threshold), method


def test_calibrated_ranges_feed_quantize() -> None:
    from fixedq.quant import quantize

    x = np.random.default_rng(3).normal(size=4000)
    r = Calibrator("entropy").collect(x).compute()
    qt = quantize(x, "symmetric", threshold=r.threshold)
    assert float(qt.params["threshold"]) == r.threshold < np.abs(x).max()
    assert 0 < qt.metrics(x).saturated_fraction < 0.01
    ra = Calibrator("minmax").collect(x).compute()
    qa = quantize(x, "affine", range=ra.range)
    # the zero point is rounded (zero exact), which moves the ends by < 1/2 LSB: no value is off
    # by more than half a step
    assert qa.metrics(x).max_abs_error <= float(qa.params["scale"]) / 2 * (1 + 1e-12)


def test_calibrator_errors() -> None:
    with pytest.raises(ValueError, match="method must be one of"):
        Calibrator("kl")
    with pytest.raises(ValueError, match="nothing collected"):
        Calibrator().compute()
    cal = Calibrator("entropy")
    with pytest.raises(ValueError, match="batch contains NaN or infinity"):
        cal.collect(np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="batch is empty"):
        cal.collect(np.array([], dtype=np.float32))
    with pytest.raises(TypeError, match="batch must be"):
        cal.collect(np.array(["a"]))
    with pytest.raises(ValueError, match="percentile must be in"):
        Calibrator("percentile", percentile=101)
    pc = Calibrator("minmax", axis=0).collect(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="batch has 4 channels"):
        pc.collect(np.zeros((4, 2)))


def test_all_zero_batches_then_data() -> None:
    cal = Calibrator("entropy", num_bins=256)
    cal.collect(np.zeros(1000))
    assert cal.compute().threshold == 0.0
    cal.collect(np.random.default_rng(0).normal(size=5000))
    (hist, _), = cal.histogram()
    assert hist.sum() == 6000 and hist[0] >= 1000
