"""Computes fixedq array results under one instruction set, for test_isa.py.

Run as ``FIXEDQ_ISA=<isa> python isa_worker.py SEED OUT.pickle`` (the kernels are chosen
once per process, so each instruction set needs a process of its own). Writes a pickled dict:

* ``"isa"``: what ``fixedq.isa()`` reports (a CPU without the requested set falls back);
* ``"inputs"``: ``{(format, dataset): (a_raws, b_raws, doubles)}``, the same for every run;
* ``"results"``: ``{(format, op, policy, dataset, layout): bytes or "raise:<Exception>"}``
  for the ops add, subtract, multiply, true_divide (fixed op fixed), from_float64
  (``doubles.astype(format)``) and to_float64 (``a.astype(float64)``), under all 18
  policies, on contiguous arrays (the vectorised kernels) and on strided views (layout
  ``"strided"``: the generic C++ loop for the ufuncs), whole and as prefixes of odd lengths
  (the kernels' tails).

Only NumPy and fixedq are imported: the inputs depend on SEED alone.
"""

from __future__ import annotations

import pickle
import sys
import warnings

import numpy as np

import fixedq

N = 1037  # not a multiple of any vector width
TAILS = (1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 33, 63, 65, 127, 129)
OPS = ("add", "subtract", "multiply", "true_divide")
POLICIES = [(r, o) for r in fixedq.ROUNDINGS for o in fixedq.OVERFLOWS]


def raw_dtype(info: dict) -> np.dtype:
    return np.dtype(info["raw_dtype"])


def random_raws(info: dict, rng: np.random.Generator, n: int) -> np.ndarray:
    """Uniform raws, every magnitude, small values and runs of the extremes."""
    bits, f = info["total_bits"], info["fraction_bits"]
    lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    k = n // 4
    uniform = rng.integers(lo, hi, size=k, endpoint=True, dtype=np.int64)
    mags = rng.integers(0, 2**62, size=k, dtype=np.int64) >> (62 - rng.integers(0, bits, size=k))
    logu = np.where(rng.integers(0, 2, size=k) == 1, -mags - 1, mags)
    small = rng.integers(-4 * 2**f, 4 * 2**f, size=k, endpoint=True, dtype=np.int64)
    edges = np.array([lo, lo + 1, hi, hi - 1, 0, 1, -1, 2**f, -(2**f), 2 ** (f - 1) if f else 0])
    near = edges[rng.integers(0, edges.size, size=n - 3 * k)]
    out = np.concatenate([uniform, logu, small, near])
    rng.shuffle(out)
    return np.clip(out, lo, hi)


def datasets(info: dict, rng: np.random.Generator) -> dict:
    bits, f = info["total_bits"], info["fraction_bits"]
    a = random_raws(info, rng, N)
    b = random_raws(info, rng, N)
    b[rng.integers(0, N, size=5)] = 0  # some divisions by zero
    # 'tame': nothing overflows (small a; b away from zero), so 'raise' gives values too.
    ta = random_raws(info, rng, N) >> (bits // 2 + 1)
    tb = random_raws(info, rng, N)
    tb = np.where(tb < 0, -1, 1) * ((2 ** (bits - 2)) + (np.abs(tb) >> 3))
    tmul = random_raws(info, rng, N) >> (bits // 2 + 1)
    # doubles: on the grid, between grid points (ties), of every magnitude, out of range.
    eighths = rng.integers(0, 8, size=N) / 8.0
    grid = np.ldexp(random_raws(info, rng, N).astype(np.float64) + eighths, -f)
    anymag = np.ldexp(rng.uniform(-1, 1, size=N), rng.integers(-f - 3, bits - f + 3, size=N))
    doubles = np.where(rng.integers(0, 2, size=N) == 1, grid, anymag)
    doubles[rng.integers(0, N, size=9)] = [np.inf, -np.inf, 1e300, -1e300, 2.0**63, -(2.0**64),
                                           2.0 ** (bits - f), -(2.0 ** (bits - f)) - 1, 0.0]
    quarters = rng.integers(0, 4, size=N) / 4.0
    in_range = np.ldexp(random_raws(info, rng, N).astype(np.float64) + quarters, -f)
    shift = max(bits - 53, 0)  # the largest double <= max(), exactly
    top = float(((2 ** (bits - 1) - 1) >> shift) << shift) / 2.0**f
    in_range = np.clip(in_range, -(2.0 ** (bits - f - 1)), top)
    with_nan = doubles.copy()
    with_nan[N // 2] = np.nan
    return {
        "random": (a, b, doubles),
        "tame": (ta, tb, in_range),
        "tame-mul": (ta, tmul, in_range),
        "nan": (a, b, with_nan),
    }


def outcome(fn) -> object:
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            out = fn()
    except (OverflowError, ZeroDivisionError, ValueError) as exc:
        return f"raise:{type(exc).__name__}"
    return np.ascontiguousarray(out).tobytes()


def strided(arr: np.ndarray) -> np.ndarray:
    """The same values as a non-contiguous view (every other element of a larger array)."""
    wide = np.zeros(2 * arr.size, dtype=arr.dtype)
    wide[::2] = arr
    view = wide[::2]
    assert not view.flags.c_contiguous or view.size <= 1
    return view


def main() -> None:
    seed, path = int(sys.argv[1]), sys.argv[2]
    rng = np.random.default_rng(seed)
    inputs, results = {}, {}
    for info in fixedq.formats():
        name = info["name"]
        t = getattr(fixedq, name)
        for dname, (a_raw, b_raw, doubles) in datasets(info, rng).items():
            inputs[(name, dname)] = (a_raw, b_raw, doubles)
            a = a_raw.astype(raw_dtype(info)).view(t)
            b = b_raw.astype(raw_dtype(info)).view(t)
            layouts = {"contig": (a, b, doubles),
                       "strided": (strided(a), strided(b), strided(doubles))}
            for k in TAILS:
                layouts[f"contig-{k}"] = (a[:k].copy(), b[:k].copy(), doubles[:k].copy())
                layouts[f"strided-{k}"] = (strided(a[:k]), strided(b[:k]), strided(doubles[:k]))
            for rounding, overflow in POLICIES:
                pol = f"{rounding}-{overflow}"
                with fixedq.policy(rounding=rounding, overflow=overflow):
                    for layout, (x, y, d) in layouts.items():
                        for op in OPS if dname != "nan" else ():
                            ufunc = getattr(np, op)
                            results[(name, op, pol, dname, layout)] = outcome(lambda: ufunc(x, y))
                        results[(name, "from_float64", pol, dname, layout)] = outcome(
                            lambda: d.astype(t))
                        results[(name, "to_float64", pol, dname, layout)] = outcome(
                            lambda: x.astype(np.float64))
    with open(path, "wb") as fh:
        pickle.dump({"isa": fixedq.isa(), "inputs": inputs, "results": results}, fh)


if __name__ == "__main__":
    main()
