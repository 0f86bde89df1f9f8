#!/usr/bin/env python3
"""fixedq's int8 kernels beside ONNX Runtime and PyTorch's quantized engines (issue 5).

A thin wrapper: the benchmark is :mod:`fixedq.benchmarks.kernels` (also run by
``python -m fixedq.benchmarks.kernels``); see bench/python/README.md.

    python bench/python/compare_kernels.py                    # every case, 1 and 2 threads
    python bench/python/compare_kernels.py --quick --threads 1  # a smoke run
    python bench/python/compare_kernels.py --help
"""

from __future__ import annotations

from fixedq.benchmarks.kernels import main

if __name__ == "__main__":
    raise SystemExit(main(prog="python bench/python/compare_kernels.py"))
