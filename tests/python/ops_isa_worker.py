"""Runs a representative fixedq.ops workload under one instruction set, for test_ops_isa.py.

Run as ``FIXEDQ_ISA=<path> python ops_isa_worker.py SEED OUT.pickle`` (the int8 path is chosen
once per process). Writes a pickled dict: ``"isa"`` (what ``fixedq.ops.isa()`` reports: a CPU
without the requested path falls back to a lower one) and ``"results"``, ``{case name: array}``.

The cases (``cases(seed)``) are built here and by the parent from the same seed: each is
``(name, run, reference)`` where ``run(ops)`` calls fixedq.ops and ``reference()`` is the NumPy
int64 reference of ops_reference.py. They cover the shapes where vector code has edges: M around
the micro-kernels' rows (3, 4, 8), N around one and two 16-column panels, K around the 4-byte
groups and the vector widths, 1x1 (direct), im2col, grouped and depthwise convolutions in both
layouts, clamped outputs (``y_clamp``, against the reference clipped), and element counts that
are not multiples of any vector width; each with 1 and 2 threads.
"""

from __future__ import annotations

import pickle
import sys

import numpy as np

import ops_reference as ref

U8, S8 = np.dtype(np.uint8), np.dtype(np.int8)


def _data(rng, shape, dtype):
    lo, hi = ref.QRANGE[np.dtype(dtype)]
    v = rng.integers(lo, hi, size=shape, endpoint=True)
    v = np.where(rng.integers(0, 5, size=shape) == 0, np.where(rng.integers(0, 2, size=shape) == 1, lo, hi), v)
    return v.astype(dtype)


def _zp(rng, dtype, size=None):
    lo, hi = ref.QRANGE[np.dtype(dtype)]
    return np.asarray(rng.integers(lo, hi, size=size, endpoint=True)).astype(dtype)


def _scale(rng, size=None):
    return np.asarray(np.ldexp(rng.uniform(0.5, 1, size=size), rng.integers(-10, -3, size=size))).astype(np.float32)


def _clamp(rng, zy):
    """A fused Relu (zero point to the top) or a window around the zero point (Clip)."""
    lo, hi = ref.QRANGE[np.asarray(zy).dtype]
    z = int(zy)
    if rng.integers(0, 2):
        return (z, hi)
    return (max(lo, z - int(rng.integers(0, 40))), min(hi, z + int(rng.integers(0, 40))))


def cases(seed: int) -> list:
    rng = np.random.default_rng(seed)
    out = []
    pairs = [(U8, S8), (U8, U8), (S8, S8), (S8, U8)]
    # GEMM: around the tiles of every path (scalar 4x16, avx2 3x16, vnni 8x32).
    shapes = [(1, 1, 1), (3, 16, 4), (4, 17, 5), (8, 32, 63), (9, 33, 64), (17, 65, 65), (2, 48, 129), (7, 31, 300),
              (24, 80, 33)]
    for i, (m, n, k) in enumerate(shapes):
        at, bt = pairs[i % 4]
        a, b = _data(rng, (m, k), at), _data(rng, (k, n), bt)
        za, zb = _zp(rng, at, m), _zp(rng, bt, n)
        out.append((f"matmul_integer {m}x{n}x{k} {at}x{bt}",
                    lambda o, a=a, b=b, za=za, zb=zb: o.matmul_integer(a, b, za, zb),
                    lambda a=a, b=b, za=za, zb=zb: ref.matmul_integer(a, b, za, zb)))
        sa, sb, sy = _scale(rng), _scale(rng, n), _scale(rng) * 64
        za1, zy = _zp(rng, at), _zp(rng, [U8, S8][i % 2])
        out.append((f"qlinear_matmul {m}x{n}x{k} {at}x{bt}",
                    lambda o, a=a, b=b, sa=sa, za1=za1, sb=sb, zb=zb, sy=sy, zy=zy: o.QLinearMatMul(
                        b, sb, zb, sa, za1, sy, zy)(a),
                    lambda a=a, b=b, sa=sa, za1=za1, sb=sb, zb=zb, sy=sy, zy=zy: ref.qlinear_matmul(
                        a, sa, za1, b, sb, zb, sy, zy)))
        clamp = _clamp(rng, zy)
        out.append((f"qlinear_matmul {m}x{n}x{k} {at}x{bt} y_clamp={clamp}",
                    lambda o, a=a, b=b, sa=sa, za1=za1, sb=sb, zb=zb, sy=sy, zy=zy, c=clamp: o.QLinearMatMul(
                        b, sb, zb, sa, za1, sy, zy, y_clamp=c)(a),
                    lambda a=a, b=b, sa=sa, za1=za1, sb=sb, zb=zb, sy=sy, zy=zy, c=clamp: np.clip(
                        ref.qlinear_matmul(a, sa, za1, b, sb, zb, sy, zy), *c)))
    # Convolutions: direct 1x1, im2col, grouped, depthwise (with a channel multiplier).
    convs = [((1, 16, 5, 7), (24, 16, 1, 1), {}),
             ((2, 3, 9, 8), (5, 3, 3, 3), {"pads": (1, 1, 1, 1), "strides": (2, 1)}),
             ((1, 8, 7, 7), (6, 4, 3, 3), {"group": 2, "pads": (1, 0, 1, 2)}),
             ((1, 19, 6, 9), (19, 1, 3, 3), {"group": 19, "pads": (1, 1, 1, 1)}),
             ((1, 5, 8, 8), (10, 1, 3, 3), {"group": 5, "dilations": (2, 2), "pads": (2, 2, 2, 2)}),
             ((1, 40, 9, 9), (17, 40, 3, 3), {"auto_pad": "SAME_UPPER", "strides": (2, 2)})]
    for i, (xs, ws, attrs) in enumerate(convs):
        xt, wt = pairs[i % 4]
        for layout in ("NCHW", "NHWC"):
            x, w = _data(rng, xs, xt), _data(rng, ws, wt)
            if layout == "NHWC":
                x = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
            m = ws[0]
            sx, sw, sy = _scale(rng), _scale(rng, m), _scale(rng) * 64
            zx, zw, zy = _zp(rng, xt), _zp(rng, wt, m), _zp(rng, [S8, U8][i % 2])
            bias = rng.integers(-(2**18), 2**18, size=m).astype(np.int32)
            full = {"strides": (1, 1), "pads": (0, 0, 0, 0), "dilations": (1, 1), "group": 1, "auto_pad": "NOTSET",
                    **attrs, "layout": layout}
            api = dict(full)
            if api["auto_pad"] != "NOTSET":
                api["pads"] = None
            out.append((f"conv_integer {xs} {ws} {attrs} {layout}",
                        lambda o, x=x, w=w, zx=zx, zw=zw, api=api: o.conv_integer(x, w, zx, zw, **api),
                        lambda x=x, w=w, zx=zx, zw=zw, full=full: ref.conv_integer(x, w, zx, zw, **full)))
            out.append((f"qlinear_conv {xs} {ws} {attrs} {layout}",
                        lambda o, x=x, w=w, a=(sx, zx, sw, zw, sy, zy, bias), api=api: o.QLinearConv(
                            w, a[2], a[3], a[0], a[1], a[4], a[5], a[6], **api)(x),
                        lambda x=x, w=w, a=(sx, zx, sw, zw, sy, zy, bias), full=full: ref.qlinear_conv(
                            x, a[0], a[1], w, a[2], a[3], a[4], a[5], a[6], **full)))
            clamp = _clamp(rng, zy)
            out.append((f"qlinear_conv {xs} {ws} {attrs} {layout} y_clamp={clamp}",
                        lambda o, x=x, w=w, a=(sx, zx, sw, zw, sy, zy, bias), api=api, c=clamp: o.QLinearConv(
                            w, a[2], a[3], a[0], a[1], a[4], a[5], a[6], **api, y_clamp=c)(x),
                        lambda x=x, w=w, a=(sx, zx, sw, zw, sy, zy, bias), full=full, c=clamp: np.clip(
                            ref.qlinear_conv(x, a[0], a[1], w, a[2], a[3], a[4], a[5], a[6], **full), *c)))
    # Element-wise and dot: lengths off every vector width.
    for n in (1, 15, 17, 63, 65, 1037):
        x = np.ldexp(rng.uniform(-1, 1, n), rng.integers(-4, 10, n)).astype(np.float32)
        s, z = _scale(rng), _zp(rng, S8)
        out.append((f"quantize_linear {n}", lambda o, x=x, s=s, z=z: o.quantize_linear(x, s, z),
                    lambda x=x, s=s, z=z: ref.quantize(x, s, z, S8)))
        q = _data(rng, (n,), U8)
        zq = _zp(rng, U8)
        out.append((f"dequantize_linear {n}", lambda o, q=q, s=s, z=zq: o.dequantize_linear(q, s, z),
                    lambda q=q, s=s, z=zq: ref.dequantize(q, s, z)))
        out.append((f"dynamic_quantize_linear {n}", lambda o, x=x: o.dynamic_quantize_linear(x)[0],
                    lambda x=x: ref.dynamic_quantize(x)[0]))
        for at, bt in [(S8, S8), (U8, S8)]:
            a, b = _data(rng, (n,), at), _data(rng, (n,), bt)
            out.append((f"dot {n} {at}x{bt}", lambda o, a=a, b=b: np.asarray(o.dot(a, b)),
                        lambda a=a, b=b: np.asarray(ref.dot(a, b))))
    return out


def main() -> None:
    seed, path = int(sys.argv[1]), sys.argv[2]
    import fixedq
    from fixedq import ops

    results = {}
    for threads in (1, 2):
        fixedq.set_num_threads(threads)
        for name, run, _ in cases(seed):
            results[(name, threads)] = np.asarray(run(ops))
    with open(path, "wb") as fh:
        pickle.dump({"isa": ops.isa(), "results": results}, fh)


if __name__ == "__main__":
    main()
