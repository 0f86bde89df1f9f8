"""Speed of fixedq.quant's calibration path (the bars of issue 6), on one core.

    python bench/python/bench_quant.py [--n 100000000] [--repeat 7]

Reports, best of --repeat runs (wall time, time.perf_counter):
  * the C++ histogram kernel alone (``_core.quant.histogram``), float32 and float64, in values/s
    (the bar: 1e9 values/s on one core);
  * the C++ range pass (``_core.quant.value_range``) and a whole ``Calibrator.collect`` per
    tensor: the first batch (range, then histogram: two passes) and a later batch that fits the
    histogram (``_core.quant.histogram_checked``: bins and takes the range in one pass);
  * the entropy search on a 2048-bin histogram, TensorRT and ONNX Runtime variants (the bar:
    <= 20 ms per tensor), and for comparison ONNX Runtime's own Python search when installed;
  * NumPy's ``np.histogram`` on the same data, for scale.
The kernels release the GIL but run single-threaded; pin the process (taskset -c 0) for steadier
numbers.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import time

import numpy as np

from fixedq._core import quant as kernels
from fixedq.quant import Calibrator, entropy_threshold


def best(f, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=50_000_000, help="values per tensor (default 5e7)")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    x64 = rng.normal(0, 1, args.n)
    x32 = x64.astype(np.float32)
    print(f"n = {args.n:.3g} values per tensor, best of {args.repeat}")
    for name, x in (("float32", x32), ("float64", x64)):
        counts = np.zeros(2048, dtype=np.int64)
        t = best(lambda: kernels.histogram(x, 0.0, 5.0, counts, True), args.repeat)
        print(f"histogram kernel |x|, 2048 bins, {name}: {args.n / t / 1e9:6.2f} e9 values/s ({t * 1e3:7.1f} ms)")
        t = best(lambda: kernels.value_range(x), args.repeat)
        print(f"value_range kernel,            {name}: {args.n / t / 1e9:6.2f} e9 values/s ({t * 1e3:7.1f} ms)")
        t = best(lambda: Calibrator("entropy").collect(x), args.repeat)
        print(f"Calibrator('entropy').collect, {name}: {args.n / t / 1e9:6.2f} e9 values/s ({t * 1e3:7.1f} ms)"
              "  first batch: range, then histogram")
        primed = Calibrator("entropy").collect(x)
        t = best(lambda: primed.collect(x), args.repeat)
        print(f"Calibrator('entropy').collect, {name}: {args.n / t / 1e9:6.2f} e9 values/s ({t * 1e3:7.1f} ms)"
              "  later batches in range: one pass")
    small = x32[: min(args.n, 10_000_000)]
    t = best(lambda: np.histogram(np.abs(small), bins=2048, range=(0, 5.0)), max(1, args.repeat // 2))
    print(f"numpy.histogram(|x|) float32 (for scale):   {small.size / t / 1e9:6.2f} e9 values/s")

    hist, edges = np.histogram(np.abs(x32[:2_000_000]), bins=2048)
    t = best(lambda: entropy_threshold(hist, edges), args.repeat)
    print(f"entropy search tensorrt, 2048 bins:      {t * 1e3:7.2f} ms per tensor")
    sh, se = np.histogram(x32[:2_000_000], bins=2048, range=(-5, 5))
    t = best(lambda: entropy_threshold(sh, se, variant="onnxruntime"), args.repeat)
    print(f"entropy search onnxruntime, 2048 bins:   {t * 1e3:7.2f} ms per tensor")
    try:
        from onnxruntime.quantization.calibrate import HistogramCollector
    except ImportError:
        return
    col = HistogramCollector("entropy", False, 2048, 128, 99.999, "same")
    with contextlib.redirect_stdout(io.StringIO()):
        col.collect({"t": x32[:2_000_000]})
        h = col.get_histogram_dict()["t"]
        t = best(lambda: col.get_entropy_threshold(h, 128), 1)
    print(f"onnxruntime's own Python search, 2048 bins: {t * 1e3:7.0f} ms per tensor")


if __name__ == "__main__":
    main()
