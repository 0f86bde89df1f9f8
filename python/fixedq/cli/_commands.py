"""The network subcommands of ``fixedq``: quantize, eval, compare, demo, inspect, bench.

Each takes the parsed arguments and returns an exit status; errors users can cause (missing
files, unsupported operators, bad data, bad options) raise :class:`CommandError` or the library's
own exceptions, which :func:`fixedq.__main__.main` prints as one line ``fixedq CMD: error: ...``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any, Dict, Iterable, List, Optional

import numpy as np

import fixedq

from ._data import Dataset, load_data
from ._demo import DEMO_ROWS, compare_table, format_table

__all__ = ["CommandError", "add_commands"]


class CommandError(Exception):
    """A user error of a command: printed as one line, exit status 2."""


# ---------------------------------------------------------------------------------------------
# Shared pieces
# ---------------------------------------------------------------------------------------------
def _progress(items: Iterable[Any], desc: str, enabled: bool, total: Optional[int] = None) -> Iterable[Any]:
    if not enabled:
        return items
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return items
    return tqdm(items, desc=desc, total=total, unit="batch", file=sys.stderr)


def load_model(path: str) -> Any:
    """An ONNX file (``.onnx``) as a float :class:`fixedq.nn.Model`, any other file as a model saved by
    ``QuantizedModel.save`` (read by :func:`fixedq.load`)."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such model file: {path}")
    if path.lower().endswith(".onnx"):
        return fixedq.nn.load_onnx(path)
    load = getattr(fixedq, "load", None)
    if load is None:
        raise CommandError(f"{path}: not an .onnx file, and this fixedq cannot read saved quantized models")
    return load(path)


def _float_model(model: Any) -> Any:
    return model if isinstance(model, fixedq.nn.Model) else model.float_model


def _data(path: str, model: Any) -> Dataset:
    fm = _float_model(model)
    return load_data(path, fm.input_shapes.get(fm.inputs[0]))


def _check_inputs(model: Any, x: np.ndarray, what: str) -> None:
    try:
        _float_model(model).check_input(x[:1])
    except ValueError as exc:
        raise CommandError(f"{what} does not fit the model: {exc}") from None


def _positive(args: argparse.Namespace, *names: str) -> None:
    for name in names:
        v = getattr(args, name, None)
        if v is not None and v < 1:
            raise CommandError(f"--{name.replace('_', '-')} must be >= 1, got {v}")


def _calibration(ds: Dataset) -> np.ndarray:
    return ds.calibration if ds.calibration is not None else ds.x


def _emit(args: argparse.Namespace, payload: Dict[str, Any], text: str) -> None:
    print(json.dumps(payload, indent=2, default=float) if args.json else text)


def _run_batches(model: Any, x: np.ndarray, batch_size: int, progress: bool) -> np.ndarray:
    starts = range(0, len(x), batch_size)
    outs = [model(x[i:i + batch_size]) for i in _progress(starts, "evaluating", progress, len(starts))]
    return np.concatenate(outs)


# ---------------------------------------------------------------------------------------------
# quantize
# ---------------------------------------------------------------------------------------------
def _option_value(v: str) -> Any:
    for conv in (int, float):
        try:
            return conv(v)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(v.lower(), v)


def _config(args: argparse.Namespace) -> "fixedq.QuantConfig":
    opts = {}
    for item in args.calibrator_option or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CommandError(f"--calibrator-option takes KEY=VALUE, got {item!r}")
        opts[key] = _option_value(value)
    abits: Optional[int]
    if args.activation_bits in ("float", "none"):
        abits = None
    else:
        try:
            abits = int(args.activation_bits)
        except ValueError:
            raise CommandError(f"--activation-bits takes an int or 'float', got {args.activation_bits!r}") from None
    overrides = {name: "float" for name in args.keep_float or []}
    try:
        return fixedq.QuantConfig(args.scheme, weight_bits=args.weight_bits, activation_bits=abits,
                                  per_channel=not args.per_tensor, calibrator=args.calibrator,
                                  calibrator_options=opts, num_batches=args.num_batches,
                                  batch_size=args.batch_size, overrides=overrides)
    except (TypeError, ValueError) as exc:
        raise CommandError(str(exc)) from None


def cmd_quantize(args: argparse.Namespace) -> int:
    _positive(args, "num_batches", "batch_size")
    cfg = _config(args)
    model = load_model(args.model)
    if not isinstance(model, fixedq.nn.Model):
        raise CommandError(f"{args.model}: already quantized; quantize takes a float ONNX model")
    cal = _calibration(_data(args.calibration, model))
    _check_inputs(model, cal, f"calibration data {args.calibration}")
    t0 = time.perf_counter()
    q = fixedq.quantize(model, cal, cfg, progress=not args.no_progress)
    secs = time.perf_counter() - t0
    q.save(args.output)
    layers = [{"name": li.name, "op": li.op, "scheme": li.scheme, "weight_bits": li.weight_bits,
               "activation_bits": li.activation_bits, "weights": li.weight_count,
               "storage_bytes": li.storage_bits / 8} for li in q.layers]
    payload = {"model": args.model, "output": args.output, "mode": q.mode, "calibration_inputs": int(len(cal)),
               "seconds": secs, "size_bytes": q.size_bytes, "float_size_bytes": q.float_size_bytes,
               "float_islands": q.float_islands, "layers": layers}
    rows = [["layer", "op", "scheme", "W bits", "A bits", "weights", "storage"]]
    rows += [[d["name"], d["op"], d["scheme"], str(d["weight_bits"]),
              "float" if d["activation_bits"] is None else str(d["activation_bits"]), str(d["weights"]),
              f"{d['storage_bytes']:.0f} B"] for d in layers]
    text = (f"{q!r}\ncalibrated on {len(cal)} inputs in {secs:.2f} s; wrote {args.output}\n" + _table(rows))
    _emit(args, payload, text)
    return 0


def _table(rows: List[List[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


# ---------------------------------------------------------------------------------------------
# eval
# ---------------------------------------------------------------------------------------------
def cmd_eval(args: argparse.Namespace) -> int:
    _positive(args, "limit", "batch_size")
    model = load_model(args.model)
    ds = _data(args.data, model)
    x = ds.x[:args.limit]
    _check_inputs(model, x, f"data {args.data}")
    model(x[:1])  # warm-up (first-call costs)
    t0 = time.perf_counter()
    out = _run_batches(model, x, args.batch_size, not args.no_progress)
    secs = time.perf_counter() - t0
    mode = getattr(model, "mode", "float")
    payload: Dict[str, Any] = {"model": args.model, "data": args.data, "mode": mode, "inputs": int(len(x)),
                               "seconds": secs, "inputs_per_second": len(x) / secs, "threads": fixedq.ops.get_num_threads()}
    text = f"{args.model}: {mode}, {len(x)} inputs in {secs:.3f} s ({len(x) / secs:.0f}/s, " \
           f"{payload['threads']} threads)"
    if ds.y is not None:
        acc = 100.0 * float((out.argmax(1) == ds.y[:args.limit]).mean())
        payload["accuracy"] = acc
        text += f"\naccuracy {acc:.2f}%"
    if args.report:
        if isinstance(model, fixedq.nn.Model):
            raise CommandError("--report needs a quantized model (a file written by `fixedq quantize`)")
        rep = model.report(x, None if ds.y is None else ds.y[:args.limit], calibration_data=_calibration(ds),
                           progress=not args.no_progress)
        payload["report"] = rep.to_dict()
        text += "\n" + str(rep)
    _emit(args, payload, text)
    return 0


# ---------------------------------------------------------------------------------------------
# compare / demo
# ---------------------------------------------------------------------------------------------
def _select_rows(spec: Optional[str]) -> List[Any]:
    if not spec:
        return DEMO_ROWS
    try:
        idx = [int(i) for i in spec.split(",")]
        return [DEMO_ROWS[0]] + [DEMO_ROWS[i] for i in idx if i != 0]
    except (ValueError, IndexError):
        raise CommandError(f"--rows takes indices 0..{len(DEMO_ROWS) - 1}, got {spec!r}") from None


def _compare(args: argparse.Namespace, rows: List[Any], model_path: str, model: Any, cal: np.ndarray,
             x: np.ndarray, y: np.ndarray, title: str) -> int:
    x, y = x[:args.limit], y[:args.limit]
    results = compare_table(model, cal, x, y, rows=rows, progress=not args.no_progress)
    if not args.no_peers:
        from ._ort import ort_rows

        results += ort_rows(model_path, cal, x, y, threads=fixedq.ops.get_num_threads(), base=results[0])
    plots: List[str] = []
    if args.plot:
        from ._plots import plot_accuracy_vs_bits

        plots.append(plot_accuracy_vs_bits(os.path.join(args.plot, "accuracy_vs_bits.png"), results))
        plots += _distribution_plots(args.plot, model, cal)
    header = (f"{title} ({model.num_parameters()} parameters), {len(x)} test inputs, {len(cal)} calibration "
              f"inputs, {fixedq.ops.get_num_threads()} threads, int8 kernels: {fixedq.ops.isa()}")
    payload = {"model": model_path, "test_images": int(len(x)), "calibration_images": int(len(cal)),
               "threads": fixedq.ops.get_num_threads(), "isa": fixedq.ops.isa(), "rows": results, "plots": plots}
    text = header + "\n" + format_table(results) + "".join(f"\nwrote {p}" for p in plots)
    _emit(args, payload, text)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    rows = _select_rows(args.rows)
    _positive(args, "limit")
    data = fixedq.nn.embedded_data()
    return _compare(args, rows, fixedq.nn.embedded_model_path(), fixedq.nn.load_embedded(), data["calibration"],
                    data["x"], data["y"], "fixedq demo: embedded digit CNN")


def cmd_compare(args: argparse.Namespace) -> int:
    rows = _select_rows(args.rows)
    _positive(args, "limit")
    model = load_model(args.model)
    if not isinstance(model, fixedq.nn.Model):
        raise CommandError(f"{args.model}: compare takes a float ONNX model")
    ds = _data(args.data, model)
    if ds.y is None:
        raise CommandError(f"{args.data}: compare needs labels ('y' or 'labels' key, or class folders)")
    cal = _calibration(_data(args.calibration, model))
    _check_inputs(model, cal, f"calibration data {args.calibration}")
    _check_inputs(model, ds.x, f"data {args.data}")
    return _compare(args, rows, args.model, model, cal, ds.x, ds.y, f"fixedq compare: {args.model}")


# ---------------------------------------------------------------------------------------------
# inspect
# ---------------------------------------------------------------------------------------------
def _activation_ranges(model: Any, cal: np.ndarray, batch_size: int = 100) -> Dict[str, np.ndarray]:
    """The calibration values entering each weighted layer (up to 10^6 per layer, for plots and ranges)."""
    wanted = {n.inputs[0] for n in model.weighted_nodes()}
    seen: Dict[str, List[np.ndarray]] = {t: [] for t in wanted}
    for i in range(0, len(cal), batch_size):
        env = model.run({model.inputs[0]: cal[i:i + batch_size]}, keep=wanted)
        for t in wanted:
            if sum(a.size for a in seen[t]) < 1_000_000:
                seen[t].append(env[t].ravel())
    return {t: np.concatenate(v) for t, v in seen.items()}


def _distribution_plots(directory: str, model: Any, cal: Optional[np.ndarray]) -> List[str]:
    from ._plots import plot_layer_distributions

    tensors: Dict[str, np.ndarray] = {}
    marks: Dict[str, Dict[str, float]] = {}
    acts = _activation_ranges(model, cal) if cal is not None else {}
    for n in model.weighted_nodes():
        w = model.params[n.inputs[1]]
        tensors[f"{n.name} weights"] = w
        marks[f"{n.name} weights"] = {"max |w|": float(np.abs(w).max())}
        if n.inputs[0] in acts:
            a = acts[n.inputs[0]]
            tensors[f"{n.name} input"] = a
            marks[f"{n.name} input"] = _thresholds(a)
    return plot_layer_distributions(directory, tensors, marks)


def _thresholds(a: np.ndarray) -> Dict[str, float]:
    """The int8 thresholds the calibrators choose for ``a``: minmax, percentile, entropy, mse."""
    from ..quant import Calibrator

    out = {}
    for method in ("minmax", "percentile", "entropy", "mse"):
        cal = Calibrator(method)
        cal.collect(a)
        out[method] = float(cal.compute().threshold)
    return out


def cmd_inspect(args: argparse.Namespace) -> int:
    model = load_model(args.model)
    fm = _float_model(model)
    cal = None
    if args.calibration:
        cal = _calibration(_data(args.calibration, fm))
        _check_inputs(fm, cal, f"calibration data {args.calibration}")
    acts = _activation_ranges(fm, cal) if cal is not None else {}
    quant = {li.name: li for li in getattr(model, "layers", [])}
    layers = []
    for n in fm.weighted_nodes():
        w = fm.params[n.inputs[1]]
        d: Dict[str, Any] = {"name": n.name, "op": n.op, "weight_shape": list(w.shape), "weights": int(w.size),
                             "weight_min": float(w.min()), "weight_max": float(w.max()),
                             "float_bytes": 4 * sum(fm.params[t].size for t in n.inputs[1:] if t in fm.params)}
        if n.name in quant:
            li = quant[n.name]
            d.update(scheme=li.scheme, weight_bits=li.weight_bits, activation_bits=li.activation_bits,
                     storage_bytes=li.storage_bits / 8)
        if n.inputs[0] in acts:
            a = acts[n.inputs[0]]
            d.update(input_min=float(a.min()), input_max=float(a.max()))
        layers.append(d)
    plots = _distribution_plots(args.plot, fm, cal) if args.plot else []
    head = ["layer", "op", "weight shape", "weight range"]
    if quant:
        head += ["format", "storage"]
    if acts:
        head += ["input range"]
    rows = [head]
    for d in layers:
        r = [d["name"], d["op"], "x".join(map(str, d["weight_shape"])), f"[{d['weight_min']:.4g}, {d['weight_max']:.4g}]"]
        if quant:
            fmt = f"{d.get('scheme', 'float')} W{d.get('weight_bits', 32)}"
            fmt += "" if d.get("activation_bits") is None else f" A{d['activation_bits']}"
            r += [fmt, f"{d.get('storage_bytes', d['float_bytes']):.0f} B (float {d['float_bytes']} B)"]
        if acts:
            r += [f"[{d['input_min']:.4g}, {d['input_max']:.4g}]" if "input_min" in d else ""]
        rows.append(r)
    kind = repr(model) if quant else f"float model {fm.name!r}, {fm.num_parameters()} parameters"
    payload = {"model": args.model, "kind": getattr(model, "mode", "float"), "layers": layers, "plots": plots}
    _emit(args, payload, f"{args.model}: {kind}\n" + _table(rows) + "".join(f"\nwrote {p}" for p in plots))
    return 0


# ---------------------------------------------------------------------------------------------
# bench
# ---------------------------------------------------------------------------------------------
def cmd_bench(args: argparse.Namespace) -> int:
    try:
        from fixedq.benchmarks import kernels
    except ImportError as exc:
        raise CommandError(f"the kernel comparison is not available: {exc}") from None
    return int(kernels.main(args.bench_args, prog="fixedq bench"))


# ---------------------------------------------------------------------------------------------
# The parser
# ---------------------------------------------------------------------------------------------
def _common(p: argparse.ArgumentParser, *, progress: bool = True) -> None:
    p.add_argument("--json", action="store_true", help="machine-readable output")
    if progress:
        p.add_argument("--no-progress", action="store_true", help="no progress bars")


def _table_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--limit", type=int, default=None, metavar="N", help="evaluate on the first N test inputs")
    p.add_argument("--rows", default=None, metavar="I,J,...", help="only these rows of the table (0 is float32)")
    p.add_argument("--no-peers", action="store_true", help="leave out the onnxruntime rows")
    p.add_argument("--plot", default=None, metavar="DIR", help="write accuracy-vs-bits and distribution plots")


def add_commands(sub: Any) -> None:
    """Add the network subcommands to an argparse subparsers object."""
    p = sub.add_parser("demo", help="compare quantization methods on the embedded digit CNN")
    _common(p)
    _table_options(p)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("quantize", help="quantize an ONNX model and save it")
    p.add_argument("model", help="float ONNX model")
    p.add_argument("--calibration", required=True, metavar="DATA", help=".npz file or image folder")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="file to write (fixedq.load reads it)")
    p.add_argument("--scheme", default="symmetric", help="a fixedq.quant scheme (symmetric)")
    p.add_argument("--weight-bits", type=int, default=8)
    p.add_argument("--activation-bits", default="8", help="an int, or 'float' for weight-only")
    p.add_argument("--per-tensor", action="store_true", help="one weight scale per tensor (default per channel)")
    p.add_argument("--calibrator", default="minmax", help="minmax, moving_average, percentile, mse, entropy")
    p.add_argument("--calibrator-option", action="append", metavar="KEY=VALUE",
                   help="a fixedq.quant.Calibrator option, e.g. percentile=99.9 (repeatable)")
    p.add_argument("--num-batches", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--keep-float", action="append", metavar="LAYER", help="keep this layer in float (repeatable)")
    _common(p)
    p.set_defaults(func=cmd_quantize)

    p = sub.add_parser("eval", help="accuracy and speed of a model (ONNX or saved quantized) on data")
    p.add_argument("model")
    p.add_argument("--data", required=True, metavar="DATA", help=".npz file or image folder")
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--limit", type=int, default=None, metavar="N", help="the first N inputs")
    p.add_argument("--report", action="store_true",
                   help="quantized models: per-layer SQNR, saturation and sensitivity against the float model")
    _common(p)
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("compare", help="the demo's comparison table for any ONNX model")
    p.add_argument("model")
    p.add_argument("--calibration", required=True, metavar="DATA")
    p.add_argument("--data", required=True, metavar="DATA", help="test inputs with labels")
    _common(p)
    _table_options(p)
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("inspect", help="per-layer formats, ranges and sizes of a model")
    p.add_argument("model")
    p.add_argument("--calibration", default=None, metavar="DATA", help="also show the layers' input ranges")
    p.add_argument("--plot", default=None, metavar="DIR", help="write per-layer histograms")
    _common(p, progress=False)
    p.set_defaults(func=cmd_inspect)

    p = sub.add_parser("bench", help="int8 kernels against onnxruntime and PyTorch (arguments: see --help)",
                       add_help=False)
    p.add_argument("bench_args", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_bench)
