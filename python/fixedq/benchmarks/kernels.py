"""fixedq's int8 kernels beside ONNX Runtime and PyTorch's quantized engines, side by side.

Every contender computes the same quantized operators on the same inputs, each in its own
process (thread pools of different libraries interfere):

``fixedq``
    ``fixedq.ops``: the prepacked :class:`~fixedq.ops.QLinearMatMul` and
    :class:`~fixedq.ops.QLinearConv` (NCHW or NHWC), and MatMulInteger with ``b`` packed once;
    on the path the dispatcher picks (``fixedq[avx2]`` and the like: on a path forced with
    ``FIXEDQ_ISA``, see ``--isa``).
``onnxruntime``
    One-node ONNX models (MatMulInteger, QLinearMatMul, QLinearConv; everything but the
    activation is an initializer, so ONNX Runtime prepacks the weights), run by a session with
    ``intra_op_num_threads`` threads, one inter-op thread, sequential execution and every graph
    optimisation. NCHW only.
``torch-x86``, ``torch-fbgemm``, ``torch-onednn``, ``torch-qnnpack``
    PyTorch's quantized engines (``torch.backends.quantized.engine``), with weights prepacked
    once (``torch.ops.quantized.linear_prepack``/``conv2d_prepack``, what the modules of
    ``torch.ao.nn.quantized`` call) and ``torch.ops.quantized.linear``/``conv2d`` timed. The
    NHWC cases pass a channels_last input; PyTorch has no u8 x s8 -> s32 matmul.

The cases are those of issue 5 and ``bench/cpp/bench_int8.cpp`` (GEMM shapes M x N x K) plus a
tiny prepacked call whose time is the per-call overhead. Each contender's first output is
compared with an independent reference: the exact sums in float64 (exact below 2^53) and ONNX
Runtime's requantization (``float32(acc + bias) * float32(x_scale * w_scale / y_scale)``,
clamped, rounded half to even, plus the zero point). MatMulInteger must match exactly, fixedq
everywhere (its documented contract); peers' requantized outputs may differ by one step (their
own rounding); more is flagged in the table, never hidden.

Timing: a warm-up, then samples of one or more calls (enough calls for 2 ms per sample) until
``--min-time`` seconds are spent (at least 5 samples), garbage collector off; the median time
per call. GOPS = 2 * multiply-adds / time.

Command line (``python -m fixedq.benchmarks.kernels --help``; ``bench/python/compare_kernels.py``
is the same)::

    python -m fixedq.benchmarks.kernels                       # every case, 1 and 2 threads
    python -m fixedq.benchmarks.kernels --quick --threads 1   # small shapes: a smoke run
    python -m fixedq.benchmarks.kernels --cases 'qlinearmatmul-*' --isa avx2 --markdown
"""

from __future__ import annotations

import argparse
import datetime
import fnmatch
import gc
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import zlib
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

__all__ = [
    "CASES",
    "PEERS",
    "Case",
    "case_inputs",
    "collect_header",
    "format_table",
    "main",
    "reference_output",
    "run_comparison",
    "select_cases",
    "summarize",
]

#: Peer contenders in table order; ``fixedq`` (and ``fixedq[<isa>]``) come first.
PEERS = ("onnxruntime", "torch-x86", "torch-fbgemm", "torch-onednn", "torch-qnnpack")
_DEFAULT_SEED = 5
# Variables that change what a contender runs; the workers inherit them, the header shows them.
_REPORTED_ENV = ("FIXEDQ_ISA", "ONEDNN_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY", "OMP_WAIT_POLICY")
_SAMPLE_TIME = 2e-3  # seconds per timing sample at least: a tiny call is looped within a sample
_MIN_SAMPLES = 5
_QUICK_MIN_TIME = 0.02
# Quantization parameters: full-range u8 activations around 128, symmetric s8 weights; the
# output scale is set from the accumulator's spread (see case_inputs) so outputs rarely saturate.
_X_SCALE, _X_ZERO, _W_SCALE, _Y_ZERO = 0.02, 128, 0.01, 128
_KNOWN_DEFECTS = {
    ("torch-fbgemm", "depthwise"): "FBGEMM's depthwise conv saturates int16 intermediates (NOTES.md D)",
    ("torch-x86", "depthwise"): "the x86 engine runs depthwise on FBGEMM, which saturates int16 (NOTES.md D)",
}


# ------------------------------------------------------------------------------------------
# Cases
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    """One benchmark case: an operator on one shape (and layout).

    Parameters
    ----------
    key : str
        The name used in tables and by ``--cases``.
    op : str
        ``"MatMulInteger"``, ``"QLinearMatMul"`` or ``"QLinearConv"``.
    dims : tuple of int
        GEMM: ``(M, N, K)``. Convolution: ``(batch, in_channels, size, out_channels, kernel,
        stride, pad, groups)`` (square images and kernels).
    quick_dims : tuple of int
        The same for ``--quick``.
    layout : str
        ``"NCHW"`` or ``"NHWC"`` (convolutions); ``""`` for GEMM.
    overhead : bool
        The time per call in microseconds is the result, not GOPS.
    """

    key: str
    op: str
    dims: Tuple[int, ...]
    quick_dims: Tuple[int, ...]
    layout: str = ""
    overhead: bool = False

    def shape(self, quick: bool = False) -> Tuple[int, ...]:
        """The dimensions used (``quick_dims`` when ``quick``)."""
        return self.quick_dims if quick else self.dims

    @property
    def is_conv(self) -> bool:
        """True for QLinearConv cases."""
        return self.op == "QLinearConv"

    @property
    def depthwise(self) -> bool:
        """True for a convolution with one group per input channel."""
        return self.is_conv and self.dims[7] == self.dims[1] > 1

    def conv_out(self, quick: bool = False) -> int:
        """The output height (= width) of a convolution case."""
        _, _, size, _, kernel, stride, pad, _ = self.shape(quick)
        return (size + 2 * pad - kernel) // stride + 1

    def macs(self, quick: bool = False) -> int:
        """The multiply-adds of one call."""
        d = self.shape(quick)
        if not self.is_conv:
            return d[0] * d[1] * d[2]
        batch, cin, _, cout, kernel, _, _, groups = d
        return batch * cout * self.conv_out(quick) ** 2 * (cin // groups) * kernel * kernel

    def describe(self, quick: bool = False) -> str:
        """A readable description, e.g. ``'QLinearConv 1x64x56x56, 64 3x3 filters, pad 1, NHWC'``."""
        d = self.shape(quick)
        if not self.is_conv:
            return f"{self.op} M x N x K = {d[0]}x{d[1]}x{d[2]}"
        batch, cin, size, cout, kernel, stride, pad, groups = d
        extra = (f", stride {stride}" if stride != 1 else "") + (f", groups {groups}" if groups != 1 else "")
        return f"{self.op} {batch}x{cin}x{size}x{size}, {cout} {kernel}x{kernel} filters, pad {pad}{extra}, {self.layout}"

    def __repr__(self) -> str:
        return f"Case({self.key!r}: {self.describe()})"


def _cases() -> Tuple[Case, ...]:
    out: List[Case] = []
    gemms = (("256", (256, 256, 256), (32, 32, 32)), ("1024", (1024, 1024, 1024), (64, 64, 64)),
             ("64x4096x1024", (64, 4096, 1024), (8, 256, 64)))
    for op in ("MatMulInteger", "QLinearMatMul"):
        for name, dims, quick in gemms:
            out.append(Case(f"{op.lower()}-{name}", op, dims, quick))
    # (batch, in_channels, size, out_channels, kernel, stride, pad, groups)
    convs = (("conv3x3-64to64-56", (1, 64, 56, 64, 3, 1, 1, 1), (1, 8, 10, 8, 3, 1, 1, 1)),
             ("conv7x7s2-3to64-224", (1, 3, 224, 64, 7, 2, 3, 1), (1, 3, 20, 8, 7, 2, 3, 1)),
             ("conv3x3-256to256-14", (1, 256, 14, 256, 3, 1, 1, 1), (1, 16, 6, 16, 3, 1, 1, 1)),
             ("conv3x3-b8-32to64-32", (8, 32, 32, 64, 3, 1, 1, 1), (2, 8, 8, 16, 3, 1, 1, 1)),
             ("dwconv3x3-128-56", (1, 128, 56, 128, 3, 1, 1, 128), (1, 8, 10, 8, 3, 1, 1, 8)))
    for layout in ("NHWC", "NCHW"):
        for name, dims, quick in convs:
            out.append(Case(f"{name}-{layout.lower()}", "QLinearConv", dims, quick, layout))
    out.append(Case("overhead-qlinearmatmul-1x4x4", "QLinearMatMul", (1, 4, 4), (1, 4, 4), overhead=True))
    return tuple(out)


#: Every case, in table order (``--list`` prints them).
CASES: Tuple[Case, ...] = _cases()


def select_cases(patterns: Optional[Sequence[str]]) -> List[Case]:
    """The cases whose key matches one of ``patterns`` (shell-style, e.g. ``'conv*-nhwc'``).

    Raises
    ------
    ValueError
        A pattern matching no case (the message lists the keys).
    """
    if not patterns:
        return list(CASES)
    chosen = []
    for pattern in patterns:
        hits = [c for c in CASES if fnmatch.fnmatchcase(c.key, pattern)]
        if not hits:
            msg = f"cases: {pattern!r} matches no case; the cases are: {', '.join(c.key for c in CASES)}"
            raise ValueError(msg)
        chosen += [c for c in hits if c not in chosen]
    return [c for c in CASES if c in chosen]


# ------------------------------------------------------------------------------------------
# Inputs and the reference
# ------------------------------------------------------------------------------------------
def case_inputs(case: Case, quick: bool = False, seed: int = _DEFAULT_SEED) -> Dict[str, Any]:
    """The operands of ``case``, identical in every process that asks.

    Full-range uniform u8 activations (zero point 128) and s8 weights (zero point 0) drawn from
    a seed derived from ``seed`` and the shape (the NHWC and NCHW variants of a convolution get
    the same data), per-tensor scales, an int32 bias for convolutions, and an output scale that
    puts the accumulator's standard deviation at 40 output steps (few outputs saturate).

    Parameters
    ----------
    case : Case
    quick : bool
        Use ``case.quick_dims``.
    seed : int

    Returns
    -------
    dict
        ``x`` (u8, ``(M, K)`` or NCHW), ``w`` (s8, ``(K, N)`` or ``(M, C / groups, k, k)``),
        ``x_scale``, ``x_zero_point``, ``w_scale``, ``w_zero_point``, ``y_scale``,
        ``y_zero_point`` (NumPy scalars), ``bias`` (int32, convolutions only) and ``quick``.
    """
    d = case.shape(quick)
    rng = np.random.default_rng([seed, zlib.crc32(repr((case.op, d)).encode())])
    if case.is_conv:
        batch, cin, size, cout, kernel, _, _, groups = d
        x = rng.integers(0, 256, (batch, cin, size, size), dtype=np.uint8)
        w = rng.integers(-128, 128, (cout, cin // groups, kernel, kernel), dtype=np.int8)
        depth = (cin // groups) * kernel * kernel
    else:
        m, n, k = d
        x = rng.integers(0, 256, (m, k), dtype=np.uint8)
        w = rng.integers(-128, 128, (k, n), dtype=np.int8)
        depth = k
    # (x - 128) and w are uniform over 256 values: standard deviation ~73.9 each.
    acc_std = 73.9 * 73.9 * math.sqrt(depth)
    inputs = {"quick": quick, "x": x, "w": w, "x_scale": np.float32(_X_SCALE), "x_zero_point": np.uint8(_X_ZERO),
              "w_scale": np.float32(_W_SCALE), "w_zero_point": np.int8(0),
              "y_scale": np.float32(_X_SCALE * _W_SCALE * acc_std / 40.0), "y_zero_point": np.uint8(_Y_ZERO)}
    if case.is_conv:
        inputs["bias"] = rng.integers(-int(acc_std), int(acc_std) + 1, d[3], dtype=np.int32)
    return inputs


def _exact_sums(case: Case, inputs: Dict[str, Any]) -> np.ndarray:
    """The int32 accumulators in the logical layout ((M, N) or NCHW): exact products summed in
    float64 (|sum| < 2^53 for these shapes), then wrapped to int32 as ONNX allows."""
    x = inputs["x"].astype(np.float64) - float(inputs["x_zero_point"])
    w = inputs["w"].astype(np.float64) - float(inputs["w_zero_point"])
    if not case.is_conv:
        acc = x @ w
    else:
        _, cin, _, cout, kernel, stride, pad, groups = case.shape(inputs["quick"])
        xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))  # padding is the zero point: 0 here
        win = np.lib.stride_tricks.sliding_window_view(xp, (kernel, kernel), axis=(2, 3))[:, :, ::stride, ::stride]
        cg, mg = cin // groups, cout // groups
        parts = [np.einsum("ncyxij,mcij->nmyx", win[:, g * cg:(g + 1) * cg], w[g * mg:(g + 1) * mg], optimize=True)
                 for g in range(groups)]
        acc = np.concatenate(parts, axis=1)
    wide = np.rint(acc).astype(np.int64)
    if case.is_conv:
        wide = wide + inputs["bias"].astype(np.int64)[None, :, None, None]
    return ((wide + 2**31) % 2**32 - 2**31).astype(np.int32)


def reference_output(case: Case, inputs: Dict[str, Any]) -> np.ndarray:
    """The expected output of ``case`` on ``inputs`` in the case's layout.

    MatMulInteger: the exact int32 sums. QLinearMatMul / QLinearConv: ONNX Runtime's
    requantization of those sums (bias included): ``float32(acc) * multiplier`` with the
    multiplier ``x_scale * w_scale / y_scale`` computed in float32 in that order, clamped to the
    output range shifted by the zero point, rounded half to even, plus the zero point.

    Parameters
    ----------
    case : Case
    inputs : dict
        From :func:`case_inputs`.

    Returns
    -------
    numpy.ndarray
        int32 (MatMulInteger) or uint8; ``(M, N)``, NCHW or NHWC.
    """
    acc = _exact_sums(case, inputs)
    if case.op == "MatMulInteger":
        return acc
    mult = np.float32(np.float32(inputs["x_scale"] * inputs["w_scale"]) / inputs["y_scale"])
    zy = int(inputs["y_zero_point"])
    y = np.clip(acc.astype(np.float32) * mult, np.float32(0 - zy), np.float32(255 - zy))
    y = (np.rint(y).astype(np.int32) + zy).astype(np.uint8)
    return y.transpose(0, 2, 3, 1) if case.layout == "NHWC" else y


# ------------------------------------------------------------------------------------------
# Contenders (run inside a worker process)
# ------------------------------------------------------------------------------------------
class Unsupported(Exception):
    """The contender does not run this case (the message says why); not an error."""


Runner = Tuple[Callable[[], Any], Callable[[Any], np.ndarray]]


def _fixedq_setup(threads: int) -> Tuple[Dict[str, str], Callable[[Case, Dict[str, Any]], Runner]]:
    import fixedq
    from fixedq import ops

    fixedq.set_num_threads(threads)
    info = {"version": fixedq.__version__, "isa": ops.isa()}

    def build(case: Case, inp: Dict[str, Any]) -> Runner:
        ident = np.asarray
        if case.op == "MatMulInteger":
            # fixedq.ops has no prepacked MatMulInteger: this is the object ops.matmul_integer
            # builds (packing b) on every call, built once, as ONNX Runtime prepacks b.
            from fixedq._core import ops as core_ops

            mm = core_ops.PackedMatMul(inp["w"], np.asarray(inp["w_zero_point"]), np.asarray(inp["x_zero_point"]),
                                       None, None, "MatMulInteger")
            a = inp["x"]
            return (lambda: mm(a)), ident
        args = (inp["w"], inp["w_scale"], inp["w_zero_point"], inp["x_scale"], inp["x_zero_point"],
                inp["y_scale"], inp["y_zero_point"])
        if case.op == "QLinearMatMul":
            mm = ops.QLinearMatMul(*args)
            a = inp["x"]
            return (lambda: mm(a)), ident
        _, _, _, _, _, stride, pad, groups = case.shape(inp["quick"])
        conv = ops.QLinearConv(*args, inp["bias"], strides=[stride, stride], pads=[pad] * 4, group=groups,
                               layout=case.layout)
        x = np.ascontiguousarray(inp["x"].transpose(0, 2, 3, 1)) if case.layout == "NHWC" else inp["x"]
        return (lambda: conv(x)), ident

    return info, build


def _ort_setup(threads: int) -> Tuple[Dict[str, str], Callable[[Case, Dict[str, Any]], Runner]]:
    try:
        import onnxruntime as ort
        from onnx import helper, numpy_helper
    except ImportError as exc:
        raise ImportError(f"onnxruntime or onnx is not importable ({exc})") from exc

    def session(op: str, names: List[str], feed: np.ndarray, inits: Dict[str, Any], out_dtype: Any,
                attrs: Dict[str, Any]) -> Any:
        node = helper.make_node(op, names, ["y"], **attrs)
        graph = helper.make_graph(
            [node], op, [helper.make_tensor_value_info(names[0], helper.np_dtype_to_tensor_dtype(feed.dtype),
                                                       list(feed.shape))],
            [helper.make_tensor_value_info("y", helper.np_dtype_to_tensor_dtype(np.dtype(out_dtype)), None)],
            initializer=[numpy_helper.from_array(np.asarray(v), n) for n, v in inits.items()])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])

    def build(case: Case, inp: Dict[str, Any]) -> Runner:
        if case.layout == "NHWC":
            raise Unsupported("ONNX Runtime's QLinearConv takes NCHW only")
        x = inp["x"]
        if case.op == "MatMulInteger":
            names = ["x", "w", "x_zero_point", "w_zero_point"]
            out_dtype, attrs = np.int32, {}
        else:
            names = ["x", "x_scale", "x_zero_point", "w", "w_scale", "w_zero_point", "y_scale", "y_zero_point"]
            out_dtype, attrs = np.uint8, {}
            if case.is_conv:
                _, _, _, _, kernel, stride, pad, groups = case.shape(inp["quick"])
                names.append("bias")
                attrs = {"kernel_shape": [kernel, kernel], "strides": [stride, stride], "pads": [pad] * 4,
                         "group": groups}
        sess = session(case.op, names, x, {n: inp[n] for n in names[1:]}, out_dtype, attrs)
        feed = {"x": x}
        return (lambda: sess.run(None, feed)[0]), np.asarray

    return {"version": ort.__version__}, build


def _torch_setup(engine: str, threads: int) -> Tuple[Dict[str, str], Callable[[Case, Dict[str, Any]], Runner]]:
    import warnings

    try:
        import torch
    except ImportError as exc:
        raise ImportError(f"torch is not importable ({exc})") from exc
    if engine not in torch.backends.quantized.supported_engines:
        msg = f"quantized engine {engine!r} is not in this torch build ({torch.backends.quantized.supported_engines})"
        raise ImportError(msg)
    # torch 2.13 deprecates quantized tensors (pytorch#184982): the warning says nothing about speed.
    warnings.filterwarnings("ignore", message=".*quantized tensor creation functions.*")
    torch.backends.quantized.engine = engine
    torch.set_num_threads(threads)

    def qtensor(arr: np.ndarray, scale: Any, zero_point: Any) -> Any:
        return torch._make_per_tensor_quantized_tensor(torch.from_numpy(arr), float(scale), int(zero_point))

    def build(case: Case, inp: Dict[str, Any]) -> Runner:
        if case.op == "MatMulInteger":
            raise Unsupported("PyTorch has no quantized u8 x s8 -> s32 matmul")
        sy, zy = float(inp["y_scale"]), int(inp["y_zero_point"])
        xq = qtensor(inp["x"], inp["x_scale"], inp["x_zero_point"])
        if case.op == "QLinearMatMul":
            wq = qtensor(np.ascontiguousarray(inp["w"].T), inp["w_scale"], inp["w_zero_point"])  # (N, K)
            packed = torch.ops.quantized.linear_prepack(wq, None)
            linear = torch.ops.quantized.linear
            return (lambda: linear(xq, packed, sy, zy)), (lambda y: y.int_repr().numpy())
        _, _, _, _, _, stride, pad, groups = case.shape(inp["quick"])
        wq = qtensor(inp["w"], inp["w_scale"], inp["w_zero_point"])
        # torch's bias is float; x_scale * w_scale * bias is what it quantizes back to ``bias``.
        bias = torch.from_numpy(inp["bias"].astype(np.float64) * float(inp["x_scale"]) * float(inp["w_scale"])).float()
        packed = torch.ops.quantized.conv2d_prepack(wq, bias, [stride, stride], [pad, pad], [1, 1], groups)
        if case.layout == "NHWC":
            xq = xq.contiguous(memory_format=torch.channels_last)
        conv = torch.ops.quantized.conv2d
        perm = (0, 2, 3, 1) if case.layout == "NHWC" else (0, 1, 2, 3)
        return (lambda: conv(xq, packed, sy, zy)), (lambda y: np.ascontiguousarray(y.int_repr().numpy().transpose(perm)))

    return {"version": torch.__version__, "engine": engine}, build


def _setup(contender: str, threads: int) -> Tuple[Dict[str, str], Callable[[Case, Dict[str, Any]], Runner]]:
    if contender == "fixedq" or contender.startswith("fixedq["):
        return _fixedq_setup(threads)
    if contender == "onnxruntime":
        return _ort_setup(threads)
    if contender.startswith("torch-"):
        return _torch_setup(contender[len("torch-"):], threads)
    msg = f"unknown contender {contender!r}"
    raise ValueError(msg)


def _time_call(fn: Callable[[], Any], min_time: float, min_samples: int) -> Dict[str, float]:
    """Median seconds per call of ``fn`` (already called once): more warm-up calls for a tenth
    of ``min_time``, then samples of ``inner`` calls each (>= 2 ms per sample as estimated from
    the fastest warm-up call) until ``min_time`` seconds and ``min_samples`` samples are done; a
    call much slower than estimated (a preempted thread pool) stops sampling at 20 x ``min_time``
    once 3 samples are in."""
    t0 = time.perf_counter()
    fn()
    estimate = max(time.perf_counter() - t0, 1e-7)
    deadline = time.perf_counter() + min_time / 10
    while time.perf_counter() < deadline:
        t0 = time.perf_counter()
        fn()
        estimate = min(estimate, max(time.perf_counter() - t0, 1e-7))
    inner = max(1, math.ceil(_SAMPLE_TIME / estimate))
    times: List[float] = []
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        while True:
            elapsed = time.perf_counter() - start
            if (elapsed >= min_time and len(times) >= min_samples) or (elapsed >= 20 * min_time and len(times) >= 3):
                break
            t0 = time.perf_counter()
            for _ in range(inner):
                fn()
            times.append((time.perf_counter() - t0) / inner)
    finally:
        if gc_was_enabled:
            gc.enable()
    return {"seconds": statistics.median(times), "min_seconds": min(times), "samples": len(times),
            "calls_per_sample": inner}


def _corrupt(out: np.ndarray) -> np.ndarray:
    """The test hook's damage: +5 (wrapping) on the first 1 % of the elements."""
    out = np.array(out, copy=True)
    flat = out.reshape(-1)
    flat[: max(1, flat.size // 100)] += np.asarray(5, out.dtype)
    return out


def _worker(spec: Dict[str, Any]) -> Dict[str, Any]:
    """Run one contender at one thread count on the spec's cases (inside its own process)."""
    contender, threads = spec["contender"], spec["threads"]
    try:
        info, build = _setup(contender, threads)
    except ImportError as exc:
        return {"skipped": str(exc)}
    results = {}
    for key in spec["cases"]:
        case = next(c for c in CASES if c.key == key)
        inp = case_inputs(case, spec["quick"], spec["seed"])
        try:
            call, fetch = build(case, inp)
            first = fetch(call())
            timing = _time_call(call, spec["min_time"], spec["min_samples"])
            last = fetch(call())
        except Unsupported as exc:
            results[key] = {"status": "unsupported", "note": str(exc)}
            continue
        except Exception as exc:  # a peer failing on one case must not hide the others
            results[key] = {"status": "error", "note": f"{type(exc).__name__}: {exc}"}
            continue
        if contender in spec.get("corrupt", ()):
            first = _corrupt(first)
        paths = []
        for i, out in enumerate((first, last)):
            path = os.path.join(spec["outdir"], f"{spec['tag']}-{key}-{i}.npy")
            np.save(path, np.asarray(out))
            paths.append(path)
        results[key] = {"status": "ok", "outputs": paths, **timing}
    return {"info": info, "results": results}


# ------------------------------------------------------------------------------------------
# The parent: one worker process per contender and thread count, then the agreement check
# ------------------------------------------------------------------------------------------
def _run_worker(spec: Dict[str, Any], env_extra: Dict[str, str], timeout: float) -> Dict[str, Any]:
    spec_path = os.path.join(spec["outdir"], f"{spec['tag']}-spec.json")
    result_path = os.path.join(spec["outdir"], f"{spec['tag']}-result.json")
    with open(spec_path, "w", encoding="utf-8") as fh:
        json.dump(spec, fh)
    env = dict(os.environ)
    env.update(env_extra)
    # The worker imports exactly the fixedq (and peers) this process sees.
    env["PYTHONPATH"] = os.pathsep.join([p for p in sys.path if p] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[var] = str(spec["threads"])
    cmd = [sys.executable, "-m", "fixedq.benchmarks.kernels", "--worker", spec_path, result_path]
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"worker timed out after {timeout:g} s"}
    if proc.returncode != 0 or not os.path.exists(result_path):
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return {"error": f"worker exited with status {proc.returncode}: {' | '.join(tail)}"}
    with open(result_path, encoding="utf-8") as fh:
        return json.load(fh)


def _compare(case: Case, contender: str, reference: np.ndarray, paths: List[str]) -> Dict[str, Any]:
    """Max difference of the outputs from the reference, the tolerance, and the verdict."""
    tolerance = 0 if case.op == "MatMulInteger" or contender.startswith("fixedq") else 1
    worst = 0
    note = ""
    for path in paths:
        out = np.load(path)
        if out.shape != reference.shape or out.dtype != reference.dtype:
            return {"max_diff": None, "tolerance": tolerance, "agrees": False,
                    "note": f"output {out.dtype} {out.shape}, expected {reference.dtype} {reference.shape}"}
        worst = max(worst, int(np.max(np.abs(out.astype(np.int64) - reference.astype(np.int64)))))
    agrees = worst <= tolerance
    if not agrees:
        defect = _KNOWN_DEFECTS.get((contender, "depthwise")) if case.depthwise else None
        note = f"disagrees by up to {worst} (tolerance {tolerance})" + (f": known, {defect}" if defect else "")
    return {"max_diff": worst, "tolerance": tolerance, "agrees": agrees, "note": note}


def _contender_list(contenders: Optional[Sequence[str]], isas: Sequence[str]) -> List[str]:
    names = list(contenders) if contenders else ["fixedq", *PEERS]
    known = {"fixedq", *PEERS}
    for name in names:
        if name not in known:
            msg = f"contenders: unknown contender {name!r}; expected some of {', '.join(['fixedq', *PEERS])}"
            raise ValueError(msg)
    forced = [f"fixedq[{isa}]" for isa in isas]
    fixed = [n for n in names if n == "fixedq"]
    return fixed + forced + [n for n in names if n != "fixedq"]


def run_comparison(cases: Optional[Sequence[str]] = None, threads: Sequence[int] = (1, 2),
                   contenders: Optional[Sequence[str]] = None, isas: Sequence[str] = (),
                   min_time: float = 0.3, quick: bool = False, seed: int = _DEFAULT_SEED,
                   timeout: float = 1800.0, progress: Optional[Callable[[str], None]] = None,
                   corrupt: Sequence[str] = (), rounds: int = 1) -> List[Dict[str, Any]]:
    """Run every contender on the cases, each (contender, thread count) in its own process.

    Parameters
    ----------
    cases : sequence of str, optional
        Shell-style patterns of case keys (``CASES``); default all.
    threads : sequence of int
        Thread counts; each contender runs once per count.
    contenders : sequence of str, optional
        Among ``"fixedq"`` and :data:`PEERS`; default all. Peers that do not import are reported
        as skipped.
    isas : sequence of str
        Also run fixedq with ``FIXEDQ_ISA`` set to each of these (contender ``fixedq[<isa>]``).
    min_time : float
        Seconds of timed calls per case and contender (at least 5 samples are taken).
    quick : bool
        Small shapes (``Case.quick_dims``) and at least 3 samples: a smoke run.
    seed : int
        Seed of the inputs.
    timeout : float
        Seconds after which a worker process is abandoned (reported as an error).
    progress : callable, optional
        Called with a line of text as each worker starts.
    corrupt : sequence of str
        Test hook: these contenders' first output of every case is damaged (+5 on 1 % of the
        elements) before the check, which must then flag them.
    rounds : int
        Run every (thread count, contender) worker this many times, in turn, and keep for each
        case the round with the shortest median: on a shared machine a slow period then costs
        one round of one contender, not the comparison.

    Returns
    -------
    list of dict
        One dict per case, thread count and contender: ``case``, ``op``, ``layout``, ``shape``,
        ``macs``, ``threads``, ``contender``, ``status`` (``"ok"``, ``"skipped"`` when the peer
        does not import, ``"unsupported"`` for a case it does not run, ``"error"``), ``note``,
        ``version``, ``isa`` (fixedq's dispatched path), ``seconds`` (median per call),
        ``min_seconds``, ``samples``, ``calls_per_sample``, ``gops``, ``us_per_call``,
        ``max_diff``, ``tolerance`` and ``agrees``.

    Raises
    ------
    ValueError
        Unknown case patterns or contenders, thread counts below 1, ``min_time`` not positive.
    """
    chosen = select_cases(cases)
    names = _contender_list(contenders, isas)
    threads = [int(t) for t in threads]
    if not threads or min(threads) < 1:
        msg = f"threads: expected thread counts >= 1, got {threads}"
        raise ValueError(msg)
    if not min_time > 0:
        msg = f"min_time: expected a positive number of seconds, got {min_time}"
        raise ValueError(msg)
    if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
        msg = f"rounds: expected an int >= 1, got {rounds!r}"
        raise ValueError(msg)
    say = progress or (lambda line: None)
    best: Dict[Tuple[str, int, str], Dict[str, Any]] = {}
    order: List[Tuple[str, int, str]] = []
    references: Dict[str, np.ndarray] = {}
    with tempfile.TemporaryDirectory(prefix="fixedq-bench-") as outdir:
        for nthreads, index, name, rnd in ((t, i, n, r) for r in range(rounds) for t in threads
                                           for i, n in enumerate(names)):
            tag = f"w{nthreads}-{index}-r{rnd}"
            spec = {"contender": name, "threads": nthreads, "cases": [c.key for c in chosen], "quick": quick,
                    "seed": seed, "min_time": min_time, "min_samples": 3 if quick else _MIN_SAMPLES,
                    "outdir": outdir, "tag": tag, "corrupt": list(corrupt)}
            env = {"FIXEDQ_ISA": name[len("fixedq["):-1]} if name.startswith("fixedq[") else {}
            say(f"{name}, {nthreads} thread(s): {len(chosen)} case(s)" + (f", round {rnd + 1}/{rounds}"
                                                                        if rounds > 1 else ""))
            report = _run_worker(spec, env, timeout)
            info = report.get("info", {})
            for case in chosen:
                row: Dict[str, Any] = {
                    "case": case.key, "op": case.op, "layout": case.layout, "description": case.describe(quick),
                    "shape": list(case.shape(quick)), "macs": case.macs(quick), "overhead": case.overhead,
                    "threads": nthreads, "contender": name, "version": info.get("version"),
                    "isa": info.get("isa"), "status": "error", "note": "", "seconds": None,
                    "min_seconds": None, "samples": None, "calls_per_sample": None, "gops": None,
                    "us_per_call": None, "max_diff": None, "tolerance": None, "agrees": None}
                if "skipped" in report:
                    row.update(status="skipped", note=report["skipped"])
                elif "error" in report:
                    row["note"] = report["error"]
                else:
                    res = report["results"][case.key]
                    row.update({k: v for k, v in res.items() if k != "outputs"})
                    if res["status"] == "ok":
                        if case.key not in references:
                            references[case.key] = reference_output(case, case_inputs(case, quick, seed))
                        row.update(_compare(case, name, references[case.key], res["outputs"]))
                        row["gops"] = 2.0 * row["macs"] / row["seconds"] / 1e9
                        row["us_per_call"] = row["seconds"] * 1e6
                if name.startswith("fixedq[") and row["isa"] and row["isa"] != name[len("fixedq["):-1]:
                    row["note"] = (row["note"] + "; " if row["note"] else "") + f"ran on {row['isa']} (not available)"
                key = (case.key, nthreads, name)
                old_row = best.get(key)
                if old_row is None:
                    order.append(key)
                if (old_row is None or (row["status"] == "ok" and (old_row["status"] != "ok"
                                                                    or row["seconds"] < old_row["seconds"]))):
                    if old_row is not None and old_row["status"] == "ok" and old_row["agrees"] is False:
                        row["agrees"] = False  # a disagreement in any round stands
                    best[key] = row
                elif row["status"] == "ok" and row["agrees"] is False:
                    old_row["agrees"] = False
    rows = [best[k] for k in order]
    for r in rows:
        r["rounds"] = rounds
    return rows


# ------------------------------------------------------------------------------------------
# Tables
# ------------------------------------------------------------------------------------------
def _speed(row: Dict[str, Any]) -> float:
    """Higher is better: GOPS, or calls per microsecond for the overhead case."""
    return 1.0 / row["us_per_call"] if row["overhead"] else row["gops"]


def summarize(results: Sequence[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """One dict per case and thread count: fixedq's result, the best agreeing peer, the ratio.

    Parameters
    ----------
    results : sequence of dict
        As returned by :func:`run_comparison`.

    Returns
    -------
    list of dict
        ``case``, ``threads``, ``overhead``, ``fixedq`` (GOPS, or microseconds per call for the
        overhead case), ``fixedq_isa``, ``best_peer`` (the fastest peer whose output agreed; None
        if none ran), ``best_peer_value``, ``ratio`` (fixedq's speed over the best peer's: > 1
        means fixedq is faster), ``max_diff`` (contender -> max difference seen) and
        ``flagged`` (contenders that disagreed).
    """
    out = []
    keys = []
    for r in results:
        if (r["case"], r["threads"]) not in keys:
            keys.append((r["case"], r["threads"]))
    for case, threads in keys:
        rows = [r for r in results if r["case"] == case and r["threads"] == threads]
        ok = [r for r in rows if r["status"] == "ok"]
        value = "us_per_call" if rows[0]["overhead"] else "gops"
        mine = next((r for r in ok if r["contender"] == "fixedq"), None)
        peers = [r for r in ok if not r["contender"].startswith("fixedq") and r["agrees"]]
        best = max(peers, key=_speed) if peers else None
        ratio = _speed(mine) / _speed(best) if mine is not None and best is not None else None
        out.append({"case": case, "threads": threads, "overhead": rows[0]["overhead"],
                    "fixedq": mine[value] if mine else None, "fixedq_isa": mine["isa"] if mine else None,
                    "best_peer": best["contender"] if best else None, "best_peer_value": best[value] if best else None,
                    "ratio": ratio, "max_diff": {r["contender"]: r["max_diff"] for r in ok},
                    "flagged": [r["contender"] for r in ok if not r["agrees"]]})
    return out


def _number(v: float, overhead: bool) -> str:
    if overhead or v < 10:
        return f"{v:.2f}"
    return f"{v:.0f}" if v >= 100 else f"{v:.1f}"


def _cell(row: Optional[Dict[str, Any]]) -> str:
    if row is None:
        return ""
    if row["status"] != "ok":
        return {"skipped": "skip", "unsupported": "-", "error": "ERR"}[row["status"]]
    text = _number(row["us_per_call"] if row["overhead"] else row["gops"], row["overhead"])
    if not row["agrees"]:
        return text + (f" !{row['max_diff']}" if row["max_diff"] is not None else " !shape")
    return text + (f" ~{row['max_diff']}" if row["max_diff"] else "")


def _grid(results: Sequence[Dict[str, Any]]) -> List[List[str]]:
    contenders: List[str] = []
    for r in results:
        if r["contender"] not in contenders:
            contenders.append(r["contender"])
    head = ["case", "thr", "unit", *contenders, "fixedq isa", "best peer", "fixedq/best"]
    grid = [head]
    for s in summarize(results):
        by = {r["contender"]: r for r in results if r["case"] == s["case"] and r["threads"] == s["threads"]}
        grid.append([s["case"], str(s["threads"]), "us/call" if s["overhead"] else "GOPS",
                     *[_cell(by.get(c)) for c in contenders], s["fixedq_isa"] or "",
                     s["best_peer"] or "", f"{s['ratio']:.2f}" if s["ratio"] is not None else ""])
    return grid


def _notes(results: Sequence[Dict[str, Any]]) -> List[str]:
    """One line per distinct remark: unsupported cases, skipped or failed contenders,
    disagreements (with the cases and thread counts where they were seen)."""
    groups: Dict[Tuple[str, str, str], Dict[str, List[Any]]] = {}
    for r in results:
        if r["status"] == "ok" and r["agrees"] and not r["note"]:
            continue
        note = r["note"] if r["status"] in ("ok", "unsupported") else f"{r['status']}: {r['note']}"
        where = groups.setdefault((r["contender"], r["status"], note), {"cases": [], "threads": []})
        if r["case"] not in where["cases"]:
            where["cases"].append(r["case"])
        if r["threads"] not in where["threads"]:
            where["threads"].append(r["threads"])
    by_note: Dict[Tuple[str, str], List[str]] = {}
    for (contender, status, note), where in groups.items():
        if status == "ok":
            threads = ", ".join(map(str, where["threads"]))
            by_note.setdefault((f"on {', '.join(where['cases'])} ({threads} thread(s))", note), []).append(contender)
        elif status == "unsupported":
            by_note.setdefault(("", note), []).append(contender)
        else:
            by_note.setdefault((f"({', '.join(map(str, where['threads']))} thread(s))", note), []).append(contender)
    return [f"{', '.join(names)}{' ' + where if where else ''}: {note}" for (where, note), names in by_note.items()]


_LEGEND = ("Cells: GOPS (2 x multiply-adds / median time; us/call for the overhead case), higher "
           "GOPS is better. '~d': output within d steps of the reference (peers' own rounding, "
           "tolerance 1); '!d': DISAGREES by d steps, not counted as best peer; '-': the contender "
           "does not run this case; 'skip': not installed. MatMulInteger and fixedq must match "
           "exactly. fixedq/best: fixedq's speed over the best agreeing peer's.")


def collect_header(threads: Sequence[int], results: Sequence[Dict[str, Any]] = (),
                   command: Optional[str] = None, load_before: Optional[Tuple[float, float, float]] = None) -> Dict[str, Any]:
    """The run's context: date, CPU, versions, threads, load averages, command.

    Parameters
    ----------
    threads : sequence of int
    results : sequence of dict
        From :func:`run_comparison`: the versions the workers reported (a peer that did not
        import is listed as such).
    command : str, optional
        The command line to print.
    load_before : tuple of float, optional
        ``os.getloadavg()`` taken before the run.

    Returns
    -------
    dict
        ``date`` (UTC), ``cpu``, ``cpu_flags`` (the int8-relevant ones), ``versions``,
        ``threads``, ``load_before``, ``load_after``, ``environment`` (those of
        ``FIXEDQ_ISA``, ``ONEDNN_MAX_CPU_ISA``, ``ATEN_CPU_CAPABILITY``, ``OMP_WAIT_POLICY`` that
        are set: every worker inherits them), ``command``.
    """
    import fixedq

    model, flags = "unknown CPU", set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name") and model == "unknown CPU":
                    model = line.split(":", 1)[1].strip()
                elif line.startswith(("flags", "Features")) and not flags:
                    flags = set(line.split(":", 1)[1].split())
    except OSError:
        model = platform.processor() or model
    wanted = ("avx2", "avx_vnni", "avx512f", "avx512_vnni", "amx_int8", "asimddp", "i8mm")
    versions = {"python": platform.python_version(), "numpy": np.__version__, "fixedq": fixedq.__version__}
    for r in results:
        name = "torch" if r["contender"].startswith("torch-") else r["contender"].split("[")[0]
        if r["version"]:
            versions[name] = r["version"]
        elif r["status"] == "skipped":
            versions.setdefault(name, "not importable")
    environment = {k: os.environ[k] for k in _REPORTED_ENV if os.environ.get(k)}
    return {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "cpu": f"{model}, {os.cpu_count()} logical CPUs", "cpu_flags": [f for f in wanted if f in flags],
            "versions": versions, "threads": list(threads),
            "load_before": list(load_before) if load_before else None, "load_after": list(os.getloadavg()),
            "environment": environment, "command": command}


def _header_lines(header: Dict[str, Any]) -> List[str]:
    load = ", ".join(f"{x:.2f}" for x in header["load_after"])
    before = ", ".join(f"{x:.2f}" for x in header["load_before"]) if header.get("load_before") else "?"
    return [f"date: {header['date']}",
            f"CPU: {header['cpu']}; int8 flags: {' '.join(header['cpu_flags']) or 'none'}",
            "versions: " + ", ".join(f"{k} {v}" for k, v in header["versions"].items()),
            f"threads: {', '.join(map(str, header['threads']))}; load average (1/5/15 min) before: {before}; after: {load}",
            *([f"environment: {' '.join(f'{k}={v}' for k, v in header['environment'].items())}"]
              if header.get("environment") else []),
            *([f"command: {header['command']}"] if header.get("command") else [])]


def format_table(results: Sequence[Dict[str, Any]], header: Optional[Dict[str, Any]] = None,
                 markdown: bool = False) -> str:
    """The table, one row per case and thread count, with the header, legend and notes.

    Parameters
    ----------
    results : sequence of dict
        From :func:`run_comparison`.
    header : dict, optional
        From :func:`collect_header`.
    markdown : bool
        A Markdown table (for the README) instead of aligned plain text.

    Returns
    -------
    str
    """
    grid = _grid(results)
    left = [i == 0 or i >= len(grid[0]) - 3 for i in range(len(grid[0]))]  # text columns; numbers go right
    lines = [line + ("  " if markdown else "") for line in _header_lines(header)] + [""] if header else []
    if markdown:
        lines.append("| " + " | ".join(grid[0]) + " |")
        lines.append("|" + "|".join("---" if lft else "---:" for lft in left) + "|")
        lines += ["| " + " | ".join(row) + " |" for row in grid[1:]]
    else:
        widths = [max(len(row[i]) for row in grid) for i in range(len(grid[0]))]
        for j, row in enumerate(grid):
            lines.append("  ".join(c.ljust(w) if lft else c.rjust(w) for c, w, lft in zip(row, widths, left)).rstrip())
            if j == 0:
                lines.append("  ".join("-" * w for w in widths))
    lines += [""] + ([_LEGEND] if markdown else textwrap.wrap(_LEGEND, 100))
    notes = _notes(results)
    if notes:
        lines += [""] + ([] if markdown else ["Notes:"])
        lines += [f"- {n}" if markdown else textwrap.fill(n, 100, initial_indent="- ", subsequent_indent="  ")
                  for n in notes]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------
# Command line
# ------------------------------------------------------------------------------------------
def _csv(text: str) -> List[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _parser(prog: str) -> argparse.ArgumentParser:
    doc = __doc__ or ""
    parser = argparse.ArgumentParser(prog=prog, description=doc.split("\n\n")[0],
                                     epilog="Cases (--list): " + ", ".join(c.key for c in CASES))
    parser.add_argument("--cases", type=_csv, default=None,
                        help="comma-separated case keys or shell patterns, e.g. 'qlinearmatmul-*,conv*-nhwc'")
    parser.add_argument("--threads", type=_csv, default=["1", "2"], help="comma-separated thread counts (default 1,2)")
    parser.add_argument("--contenders", type=_csv, default=None,
                        help=f"comma-separated among fixedq,{','.join(PEERS)} (default all)")
    parser.add_argument("--isa", type=_csv, default=[],
                        help="also run fixedq with FIXEDQ_ISA forced to each of these paths, e.g. avx512_vnni,avx2")
    parser.add_argument("--min-time", type=float, default=None,
                        help="seconds of timed calls per case and contender (default 0.3; 0.02 with --quick)")
    parser.add_argument("--quick", action="store_true", help="small shapes and few repetitions: a smoke run")
    parser.add_argument("--seed", type=int, default=_DEFAULT_SEED, help="seed of the random inputs")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds before a worker is abandoned")
    parser.add_argument("--rounds", type=int, default=1,
                        help="run every worker this many times in turn and keep each case's fastest round (1)")
    out = parser.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print JSON: header, results, summary")
    out.add_argument("--markdown", action="store_true", help="print the table in Markdown")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    parser.add_argument("--corrupt", type=_csv, default=[], help=argparse.SUPPRESS)  # test hook: damage outputs
    parser.add_argument("--worker", nargs=2, default=None, help=argparse.SUPPRESS)  # internal: SPEC RESULT paths
    return parser


def main(argv: Optional[List[str]] = None, prog: str = "python -m fixedq.benchmarks.kernels") -> int:
    """Run the comparison from the command line and print the table.

    Parameters
    ----------
    argv : list of str, optional
        The arguments (default ``sys.argv[1:]``); ``--help`` lists them.
    prog : str
        The command named in the usage message and in the table's header (``fixedq bench``
        when called from there).

    Returns
    -------
    int
        0; 1 when a fixedq contender disagrees with the reference or fails (a peer that
        disagrees is flagged in the table but does not change the status); 2 for bad arguments.
    """
    parser = _parser(prog)
    args = parser.parse_args(argv)
    if args.worker:
        with open(args.worker[0], encoding="utf-8") as fh:
            report = _worker(json.load(fh))
        with open(args.worker[1], "w", encoding="utf-8") as fh:
            json.dump(report, fh)
        return 0
    if args.list:
        for case in CASES:
            print(f"{case.key:32} {case.describe()}")
        return 0
    try:
        threads = [int(t) for t in args.threads]
    except ValueError:
        parser.error(f"--threads: expected comma-separated integers, got {','.join(args.threads)}")
    min_time = args.min_time if args.min_time is not None else (_QUICK_MIN_TIME if args.quick else 0.3)
    load_before = os.getloadavg()
    try:
        results = run_comparison(args.cases, threads, args.contenders, args.isa, min_time, args.quick, args.seed,
                                 args.timeout, progress=lambda line: print(line, file=sys.stderr, flush=True),
                                 corrupt=args.corrupt, rounds=args.rounds)
    except ValueError as exc:
        parser.error(str(exc))
    command = prog + " " + " ".join(sys.argv[1:] if argv is None else argv)
    header = collect_header(threads, results, command.strip(), load_before)
    if args.json:
        print(json.dumps({"header": header, "results": results, "summary": summarize(results)}, indent=1))
    elif args.markdown:
        print(format_table(results, header, markdown=True))
    else:
        print(format_table(results, header))
    bad = [r for r in results if r["contender"].startswith("fixedq") and (r["status"] == "error" or r["agrees"] is False)]
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
