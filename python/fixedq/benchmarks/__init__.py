"""Benchmarks of fixedq beside its peers, shared by ``bench/python`` and the ``fixedq`` command.

:mod:`fixedq.benchmarks.kernels`
    The int8 kernels (``fixedq.ops``) beside ONNX Runtime and PyTorch's quantized engines, each
    contender in its own process: :func:`~fixedq.benchmarks.kernels.run_comparison` returns the
    measurements as data, :func:`~fixedq.benchmarks.kernels.main` prints the table
    (``python -m fixedq.benchmarks.kernels --help``).

The submodules are not imported here: ``python -m fixedq.benchmarks.kernels`` must find its
module unimported, and a benchmark imports its peers (onnxruntime, torch) only when it runs them.
"""

from __future__ import annotations

__all__ = ["kernels"]
