#!/usr/bin/env python3
"""fixedq.ops beside ONNX Runtime: the cost of one call, from tiny to moderate shapes.

For each case the same quantized operator runs three ways on the same inputs, one thread each:

    fixedq prepacked   QLinearMatMul / QLinearConv built once, then obj(a): one C++ call
    fixedq function    qlinear_matmul(...) / qlinear_conv(...): packs the weights on every call
    onnxruntime        InferenceSession.run on a one-node model (weights, scales and zero points
                       as initializers, so ONNX Runtime prepacks them too; the activation fed)

Results are checked equal first. Timing: ``--calls`` calls in a loop (garbage collector off),
``--repeats`` times, contenders taking turns; the table gives microseconds per call, median and
minimum over the repeats, and the median CPU time of the thread per call (time.thread_time: it
leaves out time spent preempted by other processes).

    python bench/python/ops_overhead.py            # 10^5 calls for the tiny case
    python bench/python/ops_overhead.py --quick    # a smoke run
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import gc  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import fixedq  # noqa: E402
from fixedq import ops  # noqa: E402


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def ort_session(op: str, inputs: list, out_dtype, attrs: dict | None = None):
    """A one-node model: every input but the first is an initializer. None if onnxruntime is
    missing (the reason is printed)."""
    try:
        import onnxruntime as ort
        from onnx import helper, numpy_helper
    except ImportError as exc:
        print(f"onnxruntime comparison skipped: {exc}")
        return None
    (name0, x0), rest = inputs[0], inputs[1:]
    node = helper.make_node(op, [n for n, _ in inputs], ["y"], **(attrs or {}))
    graph = helper.make_graph(
        [node], op,
        [helper.make_tensor_value_info(name0, helper.np_dtype_to_tensor_dtype(x0.dtype), list(x0.shape))],
        [helper.make_tensor_value_info("y", helper.np_dtype_to_tensor_dtype(np.dtype(out_dtype)), None)],
        initializer=[numpy_helper.from_array(np.asarray(v), n) for n, v in rest])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return lambda: session.run(None, {name0: x0})[0]


def cases(rng: np.random.Generator) -> list:
    out = []
    for m, k, n in ((1, 4, 4), (64, 256, 256)):
        a = rng.integers(0, 256, (m, k)).astype(np.uint8)
        b = rng.integers(-128, 128, (k, n)).astype(np.int8)
        sa, sb, sy = np.float32(0.02), np.float32(0.01), np.float32(0.05 * k ** 0.5)
        za, zb, zy = np.uint8(128), np.int8(0), np.uint8(120)
        packed = ops.QLinearMatMul(b, sb, zb, sa, za, sy, zy)
        contenders = {
            "fixedq prepacked": lambda packed=packed, a=a: packed(a),
            "fixedq function": lambda a=a, b=b, p=(sa, za, sb, zb, sy, zy): ops.qlinear_matmul(
                a, p[0], p[1], b, p[2], p[3], p[4], p[5]),
        }
        session = ort_session("QLinearMatMul", [("a", a), ("sa", sa), ("za", za), ("b", b), ("sb", sb), ("zb", zb),
                                                ("sy", sy), ("zy", zy)], np.uint8)
        if session is not None:
            contenders["onnxruntime"] = session
        out.append((f"QLinearMatMul {m}x{k} @ {k}x{n}", m * k * n, contenders))
    x = rng.integers(0, 256, (1, 16, 32, 32)).astype(np.uint8)
    w = rng.integers(-128, 128, (32, 16, 3, 3)).astype(np.int8)
    sx, sw, sy = np.float32(0.02), np.float32(0.01), np.float32(0.3)
    zx, zw, zy = np.uint8(128), np.int8(0), np.uint8(120)
    conv = ops.QLinearConv(w, sw, zw, sx, zx, sy, zy, pads=[1, 1, 1, 1])
    contenders = {
        "fixedq prepacked": lambda: conv(x),
        "fixedq function": lambda: ops.qlinear_conv(x, sx, zx, w, sw, zw, sy, zy, pads=[1, 1, 1, 1]),
    }
    session = ort_session("QLinearConv", [("x", x), ("sx", sx), ("zx", zx), ("w", w), ("sw", sw), ("zw", zw),
                                          ("sy", sy), ("zy", zy)], np.uint8,
                          {"pads": [1, 1, 1, 1], "kernel_shape": [3, 3]})
    if session is not None:
        contenders["onnxruntime"] = session
    out.append(("QLinearConv 1x16x32x32, 32x16x3x3, pads 1", 32 * 32 * 32 * 16 * 9, contenders))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=100_000, help="calls per timing of the tiny case")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="10^3 calls, 3 repeats")
    args = parser.parse_args()
    if args.quick:
        args.calls, args.repeats = 1000, 3
    fixedq.set_num_threads(1)
    versions = [f"fixedq {fixedq.__version__} (int8 path {ops.isa()})", f"numpy {np.__version__}"]
    try:
        import onnxruntime

        versions.append(f"onnxruntime {onnxruntime.__version__}")
    except ImportError:
        pass
    print(f"{cpu_model()}; {', '.join(versions)}; one thread; load {os.getloadavg()[0]:.2f}")
    status = 0
    for title, macs, contenders in cases(np.random.default_rng(1)):
        results = {name: f() for name, f in contenders.items()}
        first = next(iter(results.values()))
        for name, r in results.items():
            if r.dtype != first.dtype or not np.array_equal(r, first):
                print(f"UNEXPECTED: {name} differs from fixedq prepacked on {title}")
                status = 1
        calls = max(3, int(args.calls * min(1.0, 64 / macs)))
        wall = {name: [] for name in contenders}
        cpu = {name: [] for name in contenders}
        gc.disable()
        try:
            for _ in range(args.repeats):
                for name, f in contenders.items():
                    t0, c0 = time.perf_counter(), time.thread_time()
                    for _ in range(calls):
                        f()
                    wall[name].append((time.perf_counter() - t0) / calls * 1e6)
                    cpu[name].append((time.thread_time() - c0) / calls * 1e6)
        finally:
            gc.enable()
        print(f"\n{title} ({calls} calls x {args.repeats})")
        print(f"  {'':18} {'median us':>10} {'min us':>10} {'cpu us':>10}")
        for name in contenders:
            print(f"  {name:18} {statistics.median(wall[name]):10.2f} {min(wall[name]):10.2f} "
                  f"{statistics.median(cpu[name]):10.2f}")
    print(f"\nload {os.getloadavg()[0]:.2f}")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
