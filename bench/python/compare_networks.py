#!/usr/bin/env python3
"""End-to-end int8 inference: fixedq against onnxruntime's quantize_static on the same model.

For each thread count a fresh process (``--worker``) loads the model, quantizes it with fixedq
(int8 symmetric per-channel, and 8-bit affine per-tensor as TensorFlow) and with
``onnxruntime.quantization.quantize_static`` (u8 activations, s8 per-channel weights, QOperator,
MinMax), and times each on the whole test set as one batch: one warm-up call, then the best of
``--repeats`` passes (wall time). fixedq's threads (``fixedq.ops.set_num_threads``) and
onnxruntime's intra-op threads are set to the same count. The table gives accuracy, seconds,
speed against fixedq's float model, and fixedq int8 / onnxruntime int8.

    python bench/python/compare_networks.py                         # embedded digit CNN, 1 and 2 threads
    python bench/python/compare_networks.py --model m.onnx --data d.npz --calibration c.npz
    python bench/python/compare_networks.py --quick                 # 200 images, 1 thread (smoke run)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from typing import Any, Dict, List


def worker(args: argparse.Namespace) -> None:
    import fixedq
    from fixedq.cli._commands import _calibration, _data, load_model
    from fixedq.cli._demo import compare_table
    from fixedq.cli._ort import ort_rows

    fixedq.ops.set_num_threads(args.worker)
    if args.model:
        model = load_model(args.model)
        ds = _data(args.data, model)
        x, y, cal = ds.x, ds.y, _calibration(_data(args.calibration or args.data, model))
        path = args.model
    else:
        model, data = fixedq.nn.load_embedded(), fixedq.nn.embedded_data()
        x, y, cal, path = data["x"], data["y"], data["calibration"], fixedq.nn.embedded_model_path()
    x, y = x[:args.limit], y[:args.limit]
    rows = [("float32", None),
            ("fixedq int8 symmetric, per-channel minmax", fixedq.QuantConfig()),
            ("fixedq int8 affine, per-tensor minmax", fixedq.QuantConfig("affine", per_channel=False))]
    results = compare_table(model, cal, x, y, rows=rows, repeats=args.repeats)
    results += ort_rows(path, cal, x, y, threads=args.worker, base=results[0], repeats=args.repeats)
    print(json.dumps({"threads": args.worker, "isa": fixedq.ops.isa(), "images": int(len(x)), "rows": results}))


def main(argv: List[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", help="float ONNX model (default: the embedded digit CNN)")
    p.add_argument("--data", help=".npz test data with labels (with --model)")
    p.add_argument("--calibration", help=".npz calibration data (default: --data's)")
    p.add_argument("--threads", default="1,2", help="thread counts (1,2)")
    p.add_argument("--repeats", type=int, default=5, help="timed passes per row; the best counts (5)")
    p.add_argument("--limit", type=int, default=None, help="the first N test inputs")
    p.add_argument("--quick", action="store_true", help="200 inputs, 1 thread, 2 repeats")
    p.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.model and not args.data:
        p.error("--model needs --data")
    if args.quick:
        args.limit, args.threads, args.repeats = 200, "1", 2
    if args.worker is not None:
        worker(args)
        return 0
    runs: List[Dict[str, Any]] = []
    for t in [int(v) for v in args.threads.split(",")]:
        cmd = [sys.executable, os.path.abspath(__file__), "--worker", str(t), "--repeats", str(args.repeats)]
        for opt in ("model", "data", "calibration", "limit"):
            if getattr(args, opt) is not None:
                cmd += [f"--{opt}", str(getattr(args, opt))]
        env = dict(os.environ, OMP_NUM_THREADS=str(t))
        out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
        runs.append(json.loads(out.strip().splitlines()[-1]))
    print(f"model: {args.model or 'embedded digit CNN'}, {runs[0]['images']} test inputs, fixedq ISA {runs[0]['isa']}, "
          f"best of {args.repeats} passes, one batch")
    head = ["threads", "method", "accuracy", "seconds", "vs fixedq float"]
    lines = [head]
    for run in runs:
        by = {r["method"]: r for r in run["rows"]}
        for r in run["rows"]:
            lines.append([str(run["threads"]), r["method"], f"{r['accuracy']:.1f}%", f"{r['seconds']:.4f}",
                          f"{r['speedup']:.2f}x"])
        ort = [r for r in run["rows"] if r["method"].startswith("onnxruntime int8")]
        if ort:
            ratio = ort[0]["seconds"] / by["fixedq int8 symmetric, per-channel minmax"]["seconds"]
            lines.append([str(run["threads"]), "fixedq int8 / onnxruntime int8 (speed)", "", "", f"{ratio:.2f}x"])
        else:
            lines.append([str(run["threads"]), "onnxruntime not installed: no peer rows", "", "", ""])
    widths = [max(len(row[i]) for row in lines) for i in range(len(head))]
    print("\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
