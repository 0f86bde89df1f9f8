"""Run by .ci/run under qemu-x86_64 -cpu Nehalem/Haswell: the package works on that CPU.

Every fixed-point ufunc and cast runs once on small arrays (vectorised kernels and the generic
core), and the results must equal a pure-Python Fraction computation, so a kernel path that
executed an instruction the emulated CPU lacks would die (SIGILL) or fail here. The int8
kernels (fixedq.ops) run a few small cases against the NumPy references of ops_reference.py. Not a pytest
module: under emulation a whole pytest run would be slow.
"""

from __future__ import annotations

import sys
from fractions import Fraction

import numpy as np

import fixedq

EXPECTED_ISA = {"Nehalem": "scalar", "Haswell": "avx2"}


def main() -> int:
    isa = fixedq.isa()
    print(f"fixedq {fixedq.__version__}: kernels {isa}")
    rng = np.random.default_rng(1)
    fraction_bits = {fixedq.Q7: 7, fixedq.Q15: 15, fixedq.Fixed8_8: 8, fixedq.Q31: 31,
                     fixedq.Fixed16_16: 16, fixedq.Fixed24_8: 8, fixedq.Fixed32_32: 32}
    for t, frac in fraction_bits.items():
        f = np.dtype(t)
        raw = np.dtype(f"i{f.itemsize}")
        info = np.iinfo(raw)
        a = rng.integers(info.min, info.max, 257, endpoint=True).astype(raw).view(t)
        b = rng.integers(info.min, info.max, 257, endpoint=True).astype(raw).view(t)
        b[b.view(raw) == 0] = t.from_raw(1)
        scale = 2**frac
        lo, hi = int(info.min), int(info.max)
        for name, op, exact in [
            ("add", np.add, lambda x, y: x + y),
            ("subtract", np.subtract, lambda x, y: x - y),
            ("multiply", np.multiply, lambda x, y: x * y),
            ("divide", np.true_divide, lambda x, y: x / y),
        ]:
            got = op(a, b).view(raw)
            for i in range(0, 257, 16):
                v = exact(Fraction(int(a.view(raw)[i]), scale), Fraction(int(b.view(raw)[i]), scale)) * scale
                fl = v.numerator // v.denominator
                r = v - fl
                n = fl + (1 if r > Fraction(1, 2) or (r == Fraction(1, 2) and fl % 2) else 0)
                n = min(max(n, lo), hi)
                if int(got[i]) != n:
                    print(f"FAIL {t.__name__} {name} element {i}: {int(got[i])} != {n}")
                    return 1
        x = a.astype(np.float64)  # exact for formats of at most 53 bits
        if f.itemsize <= 4 and not np.array_equal(x.astype(t).view(raw), a.view(raw)):
            print(f"FAIL {t.__name__} float64 round trip")
            return 1
        np.sqrt(np.abs(a)), np.floor(a), np.rint(a), a @ b, np.sum(a), a < b, a.astype(np.int32)
    if int8_ops(rng) != 0:
        return 1
    print("ok")
    return 0


def int8_ops(rng: np.random.Generator) -> int:
    """fixedq.ops (the int8 kernels) on small cases against the NumPy references."""
    import ops_reference as ref
    from fixedq import ops

    print(f"int8 kernels {ops.isa()} (available: {', '.join(ops.available_isas())})")
    u8, s8 = np.uint8, np.int8
    a = rng.integers(0, 256, (9, 37)).astype(u8)
    b = rng.integers(-128, 128, (37, 33)).astype(s8)
    x = rng.integers(0, 256, (1, 6, 7, 9)).astype(u8)
    w = rng.integers(-128, 128, (6, 3, 3, 3)).astype(s8)
    wd = rng.integers(-128, 128, (6, 1, 3, 3)).astype(s8)
    f = rng.normal(0, 2, 101).astype(np.float32)
    checks = [
        ("matmul_integer", ops.matmul_integer(a, b, u8(3), s8(-2)), ref.matmul_integer(a, b, 3, -2)),
        ("qlinear_matmul", ops.qlinear_matmul(a, 0.02, u8(3), b, 0.01, s8(0), 0.2, u8(128)),
         ref.qlinear_matmul(a, 0.02, u8(3), b, 0.01, s8(0), 0.2, u8(128))),
        ("qlinear_conv", ops.qlinear_conv(x, 0.02, u8(9), w, 0.01, s8(0), 0.3, u8(100), group=2, pads=[1, 1, 1, 1]),
         ref.qlinear_conv(x, 0.02, u8(9), w, 0.01, s8(0), 0.3, u8(100), group=2, pads=[1, 1, 1, 1])),
        ("depthwise", ops.conv_integer(x, wd, u8(9), group=6), ref.conv_integer(x, wd, 9, group=6)),
        ("quantize_linear", ops.quantize_linear(f, 0.01, s8(1)), ref.quantize(f, 0.01, 1, s8)),
        ("dot", np.asarray(ops.dot(b[0], b[1])), np.asarray(ref.dot(b[0], b[1]))),
    ]
    for name, got, want in checks:
        if got.dtype != want.dtype or not np.array_equal(got, want):
            print(f"FAIL int8 {name} on {ops.isa()}")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
