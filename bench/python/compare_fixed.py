#!/usr/bin/env python3
"""fixedq beside its peers: Q16.16 array arithmetic, conversions and scalar multiplies.

The same operations on the same inputs, timed in one run, for every contender that imports
here (a missing one is skipped with the reason):

    fixedq        Fixed16_16 arrays and scalars, default policy (half_even, saturate)
    numpy int64   what a user writes by hand: int64 raw values, multiply then rounding shift
                  and clip, (a << 16) // b with rounding, np.rint(x * 2**16) + clip, raw / 2**16
    apytypes      APyFixedArray / APyFixed, int_bits=16, frac_bits=16, each result cast back
                  to Q16.16 with RND_CONV (half-even) and SAT
    fxpmath       Fxp(signed, n_word=32, n_frac=16, rounding='around', overflow='saturate',
                  op_sizing='same')
    numfi         numfi(s=1, w=32, f=16, RoundingMethod='Nearest', OverflowAction='Saturate',
                  FullPrecision=False): float64 storage, ties away from zero

Every contender's result is compared with fixedq's: bit for bit where the modes match (a
difference there is flagged UNEXPECTED and the exit status is 1), otherwise the count and the
largest difference in LSBs (2**-16) are reported with the reason.

Timing: one warm-up call, whose result is the one checked, then --repeats timed calls
(time.perf_counter, garbage collector off); the table shows the median and the minimum. The
contenders of one operation take turns call by call, so background load falls on all of them
alike. Inputs are reused between calls (warm caches at 10^4 elements, 4-8 MB streamed from L3
or memory at 10^6); outputs are allocated by every call, as in user code, from an allocator
primed once (see prime_allocator) so that no contender pays fresh-page faults that another
does not. Peers slower than
--budget seconds per measurement get fewer repeats (at least 3; the n column says how many).

Everything runs on one thread: the thread-count variables below are set before NumPy and
apytypes are imported.

    python bench/python/compare_fixed.py             # 10^6 elements, 10^5 scalar multiplies
    python bench/python/compare_fixed.py --quick     # seconds; CI smoke run
    python bench/python/compare_fixed.py --isa       # fixedq under each FIXEDQ_ISA, compared
"""

from __future__ import annotations

import os
import sys

# One thread for every library, before any of them starts a pool: NumPy's BLAS (unused by
# these element-wise operations, set for completeness) and apytypes, whose pool is otherwise
# sized to the CPU count. fixedq's ufuncs run on the calling thread.
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "APYTYPES_THREAD_COUNT",
)
for _variable in THREAD_VARIABLES:
    os.environ[_variable] = "1"

import argparse  # noqa: E402  (after the thread settings, on purpose)
import gc  # noqa: E402
import hashlib  # noqa: E402
import importlib  # noqa: E402
import importlib.metadata  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Any, Callable, Optional  # noqa: E402

import numpy as np  # noqa: E402

import fixedq  # noqa: E402

FRAC_BITS = 16
SCALE = 1 << FRAC_BITS
RAW_MIN, RAW_MAX = -(2**31), 2**31 - 1  # Q16.16 in int32
FIXEDQ = "fixedq"
ARRAY_OPS = ("add", "multiply", "divide", "float->fixed", "fixed->float")
ISAS = ("avx512", "avx2", "scalar")  # FIXEDQ_ISA values, best first
SEED = 20_240_611

# Targets from issue 3, at 10^6 elements (ms) and per scalar multiply (ns).
TARGETS_MS = {"multiply": 1.0, "divide": 3.0}
TARGET_SCALAR_NS = 100.0


class Skip(Exception):
    """The contender cannot run here; the message says why."""


# ----------------------------------------------------------------------------------------
# Inputs
# ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Inputs:
    """Q16.16 operands as int32 raw values and doubles for float->fixed; same for everyone."""

    a: np.ndarray  # int32 raws; values in [-128, 128) after the edge cases
    b: np.ndarray  # int32 raws, never zero
    x: np.ndarray  # float64, about N(0, 1000) after the edge cases
    seed: int

    def head(self, n: int) -> Inputs:
        return Inputs(self.a[:n], self.b[:n], self.x[:n], self.seed)


def make_inputs(n: int, seed: int) -> Inputs:
    rng = np.random.default_rng(seed)
    a = rng.integers(-(2**23), 2**23, n, dtype=np.int32)
    b = rng.integers(-(2**23), 2**23, n, dtype=np.int32)
    b[b == 0] = SCALE
    x = rng.standard_normal(n) * 1000.0
    # Edge cases up front, so that every size checks them: saturation of each operation and
    # exact ties, positive and negative, with even and odd neighbours.
    one, half = SCALE, SCALE // 2
    edges = [
        (RAW_MAX, RAW_MAX),  # add, multiply saturate high
        (RAW_MIN, RAW_MIN),  # add saturates low, multiply high
        (RAW_MIN, -one),  # -32768 * -1 and / -1: 32768 saturates
        (1, half),  # multiply: 0.5 LSB, a tie -> 0
        (3, half),  # multiply: 1.5 LSB -> 2
        (-1, half),  # multiply: -0.5 LSB -> 0
        (-5, half),  # multiply: -2.5 LSB -> -2
        (1, 2 * one),  # divide: 0.5 LSB -> 0
        (3, 2 * one),  # divide: 1.5 LSB -> 2
        (-5, 2 * one),  # divide: -2.5 LSB -> -2
        (100 * one, 1),  # divide saturates high
        (-100 * one, 1),  # divide saturates low
    ]
    k = min(len(edges), n)
    a[:k] = [e[0] for e in edges[:k]]
    b[:k] = [e[1] for e in edges[:k]]
    lsb = 1.0 / SCALE
    x_edges = [1e6, -1e6, 32767.99999, -32768.5, 0.5 * lsb, 1.5 * lsb, -0.5 * lsb, -2.5 * lsb]
    x[: min(len(x_edges), n)] = x_edges[: min(len(x_edges), n)]
    return Inputs(a=a, b=b, x=x, seed=seed)


# ----------------------------------------------------------------------------------------
# Contenders
# ----------------------------------------------------------------------------------------
@dataclass
class Case:
    """One operation of one contender."""

    run: Callable[[], Any]  # the timed call; returns the result
    raws: Callable[[Any], np.ndarray]  # result -> int64 raws (float64 for fixed->float)
    exact: bool  # expected to equal fixedq bit for bit
    note: str = ""  # the mode or the known defect behind an expected difference


@dataclass
class ScalarCase:
    """n scalar multiplies in a Python loop."""

    run: Callable[[], None]
    n: int
    results: Callable[[], np.ndarray]  # int64 raws of the n products (float64 for floats)
    exact: bool
    note: str = ""


def _raws_int32(arr: np.ndarray) -> np.ndarray:
    return np.asarray(arr).view(np.int32).astype(np.int64)


def _mul_loop(xs: list, ys: list) -> None:
    for p, q in zip(xs, ys):
        p * q  # noqa: B018  (the statement is the work being timed)


class Contender:
    name = ""

    def load(self) -> str:
        """Import lazily; return the version text or raise Skip."""
        raise NotImplementedError

    def array_cases(self, inp: Inputs) -> dict[str, Case]:
        return {}

    def scalar_case(self, inp: Inputs, n: int) -> Optional[ScalarCase]:
        return None


class Fixedq(Contender):
    name = FIXEDQ

    def load(self) -> str:
        # The build time tells apart the builds of an edit-build loop (editable installs).
        built = time.strftime("%Y-%m-%d %H:%M:%S",
                              time.localtime(os.path.getmtime(fixedq._core.__file__)))
        return f"{fixedq.__version__}, ISA {fixedq._core.isa()}, _core built {built}"

    def array_cases(self, inp: Inputs) -> dict[str, Case]:
        t = fixedq.Fixed16_16
        x, y, xf = inp.a.view(t), inp.b.view(t), inp.x
        return {
            "add": Case(lambda: x + y, _raws_int32, True),
            "multiply": Case(lambda: x * y, _raws_int32, True),
            "divide": Case(lambda: x / y, _raws_int32, True),
            "float->fixed": Case(lambda: xf.astype(t), _raws_int32, True),
            "fixed->float": Case(lambda: x.astype(np.float64), np.asarray, True),
        }

    def scalar_case(self, inp: Inputs, n: int) -> ScalarCase:
        t = fixedq.Fixed16_16
        xs, ys = inp.a[:n].view(t).tolist(), inp.b[:n].view(t).tolist()
        return ScalarCase(
            run=lambda: _mul_loop(xs, ys),
            n=n,
            results=lambda: np.array([(p * q).raw for p, q in zip(xs, ys)], dtype=np.int64),
            exact=True,
        )


class NumpyInt64(Contender):
    """Hand-written NumPy on int64 raw values, rounding half to even and saturating."""

    name = "numpy int64"

    def load(self) -> str:
        return np.__version__

    def array_cases(self, inp: Inputs) -> dict[str, Case]:
        a, b, xf = inp.a.astype(np.int64), inp.b.astype(np.int64), inp.x

        def add() -> np.ndarray:
            return np.clip(a + b, RAW_MIN, RAW_MAX)

        def multiply() -> np.ndarray:
            p = a * b  # exact: |p| < 2**62
            # floor((p + 2**15 - 1 + lsb(p >> 16)) / 2**16) rounds half to even.
            return np.clip((p + (0x7FFF + ((p >> 16) & 1))) >> 16, RAW_MIN, RAW_MAX)

        def divide() -> np.ndarray:
            q, r = np.divmod(a << 16, b)  # floor division; r has the sign of b
            twice, d = 2 * np.abs(r), np.abs(b)
            up = (twice > d) | ((twice == d) & (q & 1).astype(bool))  # half to even
            return np.clip(q + up, RAW_MIN, RAW_MAX)

        def from_float() -> np.ndarray:
            return np.clip(np.rint(xf * SCALE), RAW_MIN, RAW_MAX).astype(np.int64)

        def to_float() -> np.ndarray:
            return a / SCALE

        return {
            "add": Case(add, np.asarray, True),
            "multiply": Case(multiply, np.asarray, True),
            "divide": Case(divide, np.asarray, True),
            "float->fixed": Case(from_float, np.asarray, True),
            "fixed->float": Case(to_float, np.asarray, True),
        }


class PythonFloat(Contender):
    """Python floats: the speed a scalar type is measured against (no rounding at all)."""

    name = "python float"

    def load(self) -> str:
        return platform.python_version()

    def scalar_case(self, inp: Inputs, n: int) -> ScalarCase:
        xs, ys = (inp.a[:n] / SCALE).tolist(), (inp.b[:n] / SCALE).tolist()
        return ScalarCase(
            run=lambda: _mul_loop(xs, ys),
            n=n,
            results=lambda: np.array([p * q for p, q in zip(xs, ys)]),
            exact=False,
            note="unrounded double, clipped to the range to compare",
        )


class LoopOverhead(Contender):
    """The bare `for p, q in zip(xs, ys)` loop: part of every scalar row."""

    name = "(empty loop)"

    def load(self) -> str:
        return platform.python_version()

    def scalar_case(self, inp: Inputs, n: int) -> ScalarCase:
        xs, ys = (inp.a[:n] / SCALE).tolist(), (inp.b[:n] / SCALE).tolist()

        def run() -> None:
            for _p, _q in zip(xs, ys):
                pass

        return ScalarCase(run=run, n=n, results=lambda: np.array([]), exact=False,
                          note="no work")


def _import(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise Skip(f"not installed ({e})") from None
    except Exception as e:  # noqa: BLE001  (e.g. numfi 0.4/0.5: SyntaxError on Python 3.11)
        raise Skip(f"does not import on Python {platform.python_version()}: "
                   f"{type(e).__name__}: {e}") from None


def _dist_version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "?"


class Apytypes(Contender):
    name = "apytypes"

    def load(self) -> str:
        self.apy = apy = _import("apytypes")
        threads = apy.n_threads() if hasattr(apy, "n_threads") else "?"
        simd = ""
        getter = getattr(getattr(apy, "_apytypes", None), "_get_simd_version_str", None)
        if getter is not None:  # a multi-line text: "APyTypes SIMD:\n * SIMD runtime target: ..."
            lines = [ln.strip(" *") for ln in str(getter()).splitlines()[1:]]
            simd = "; " + "; ".join(ln for ln in lines if ln)
        return f"{apy.__version__}, {threads} thread(s){simd}"

    def _cast(self) -> Callable[[Any], Any]:
        q, o = self.apy.QuantizationMode.RND_CONV, self.apy.OverflowMode.SAT
        return lambda r: r.cast(16, 16, q, o)

    @staticmethod
    def _raws(r: Any) -> np.ndarray:
        bits = np.asarray(r.to_bits(numpy=True))  # unsigned two's complement patterns
        return bits.astype(np.uint32).view(np.int32).astype(np.int64)

    def array_cases(self, inp: Inputs) -> dict[str, Case]:
        apy, cast = self.apy, self._cast()
        # Signed int64 bit patterns: apytypes 0.5.1 does not sign-extend unsigned arrays.
        pa = apy.APyFixedArray(inp.a.astype(np.int64), int_bits=16, frac_bits=16)
        pb = apy.APyFixedArray(inp.b.astype(np.int64), int_bits=16, frac_bits=16)
        xf = inp.x
        # from_float rounds half away and wraps; to get half-even and saturation, quantize to
        # a wide format (|x| < 2**21, 42 fraction bits: the false-tie risk is ~2**-26 per
        # element) and cast from there.
        return {
            "add": Case(lambda: cast(pa + pb), self._raws, True),
            "multiply": Case(lambda: cast(pa * pb), self._raws, True),
            "divide": Case(lambda: cast(pa / pb), self._raws, False,
                           "rounds twice: apytypes 0.5.1 defect"),
            "float->fixed": Case(
                lambda: cast(apy.APyFixedArray.from_float(xf, int_bits=22, frac_bits=42)),
                self._raws, True, "via Q22.42"),
            "fixed->float": Case(lambda: pa.to_numpy(), np.asarray, True),
        }

    def scalar_case(self, inp: Inputs, n: int) -> ScalarCase:
        apy = self.apy
        q, o = apy.QuantizationMode.RND_CONV, apy.OverflowMode.SAT
        xs = [apy.APyFixed(int(v), int_bits=16, frac_bits=16) for v in inp.a[:n]]
        ys = [apy.APyFixed(int(v), int_bits=16, frac_bits=16) for v in inp.b[:n]]

        def run() -> None:
            for p, r in zip(xs, ys):
                (p * r).cast(16, 16, q, o)

        def results() -> np.ndarray:
            bits = [int((p * r).cast(16, 16, q, o).to_bits()) for p, r in zip(xs, ys)]
            return np.array(bits, dtype=np.uint64).astype(np.uint32).view(np.int32).astype(np.int64)

        return ScalarCase(run=run, n=n, results=results, exact=True, note="with cast")


class Fxpmath(Contender):
    name = "fxpmath"
    SCALAR_SHARE = 100  # Fxp scalars take ~100 us each: time n / 100 of them

    def load(self) -> str:
        self.Fxp = _import("fxpmath").Fxp
        return _dist_version("fxpmath")

    def _kw(self) -> dict[str, Any]:
        return dict(signed=True, n_word=32, n_frac=16, rounding="around",
                    overflow="saturate", op_sizing="same", const_op_sizing="same")

    def array_cases(self, inp: Inputs) -> dict[str, Case]:
        fxp, kw = self.Fxp, self._kw()
        fa = fxp(inp.a.astype(np.int64), raw=True, **kw)
        fb = fxp(inp.b.astype(np.int64), raw=True, **kw)
        xf = inp.x

        def raws(r: Any) -> np.ndarray:
            return np.asarray(r.val).astype(np.int64)

        return {
            "add": Case(lambda: fa + fb, raws, True),
            "multiply": Case(lambda: fa * fb, raws, True),
            "divide": Case(lambda: fa / fb, raws, False, "'/' floors: fxpmath defect"),
            "float->fixed": Case(lambda: fxp(xf, **kw), raws, True),
            "fixed->float": Case(lambda: fa.get_val(), np.asarray, True),
        }

    def scalar_case(self, inp: Inputs, n: int) -> ScalarCase:
        fxp, kw = self.Fxp, self._kw()
        m = min(n, max(10, n // self.SCALAR_SHARE))
        xs = [fxp(int(v), raw=True, **kw) for v in inp.a[:m]]
        ys = [fxp(int(v), raw=True, **kw) for v in inp.b[:m]]
        return ScalarCase(
            run=lambda: _mul_loop(xs, ys),
            n=m,
            results=lambda: np.array([int((p * q).val) for p, q in zip(xs, ys)], dtype=np.int64),
            exact=True,
            note=f"{m} ops timed",
        )


class Numfi(Contender):
    name = "numfi"

    def load(self) -> str:
        module = _import("numfi")
        # numfi replaces its module in sys.modules by the class of the same name.
        self.numfi = getattr(module, "numfi", module) if not isinstance(module, type) else module
        return _dist_version("numfi")

    def array_cases(self, inp: Inputs) -> dict[str, Case]:
        fi = self.numfi
        kw = dict(s=1, w=32, f=16, RoundingMethod="Nearest", OverflowAction="Saturate",
                  FullPrecision=False)
        na, nb, xf = fi(inp.a / SCALE, **kw), fi(inp.b / SCALE, **kw), inp.x

        def raws(r: Any) -> np.ndarray:
            return np.asarray(r.int).astype(np.int64)

        ties = "ties away from zero"
        return {
            "add": Case(lambda: na + nb, raws, True),
            "multiply": Case(lambda: na * nb, raws, False, ties),
            "divide": Case(lambda: na / nb, raws, False, ties),
            "float->fixed": Case(lambda: fi(xf, **kw), raws, False, ties),
            "fixed->float": Case(lambda: na.double, np.asarray, True, "a view: stores float64"),
        }


CONTENDERS: tuple[Contender, ...] = (
    Fixedq(), NumpyInt64(), PythonFloat(), LoopOverhead(), Apytypes(), Fxpmath(), Numfi(),
)


# ----------------------------------------------------------------------------------------
# Timing and checking
# ----------------------------------------------------------------------------------------
@dataclass
class Row:
    contender: str
    times: list[float] = field(default_factory=list)  # wall clock, time.perf_counter
    cpu_times: list[float] = field(default_factory=list)  # this thread's CPU, time.thread_time
    check: str = ""
    unexpected: bool = False
    digest: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def best(self) -> float:
        return min(self.times)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu_times)


def _timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """Wall time, CPU time of this thread (which excludes waiting while preempted) and result."""
    c0, t0 = time.thread_time(), time.perf_counter()
    result = fn()
    t1, c1 = time.perf_counter(), time.thread_time()
    return t1 - t0, c1 - c0, result


def measure_round_robin(calls: dict[str, Callable[[], Any]], repeats: int, budget: float,
                        ) -> tuple[dict[str, list[tuple[float, float]]], dict[str, Any]]:
    """Warm each call up once (keeping its result), then time the calls in turn.

    Returns (wall, cpu) seconds per timed call, and the warm-up results.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        warm, results, counts = {}, {}, {}
        for name, fn in calls.items():
            warm[name], _, results[name] = _timed(fn)
            counts[name] = repeats if warm[name] * repeats <= budget else max(
                3, min(repeats, int(budget / max(warm[name], 1e-9))))
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in calls}
        for i in range(repeats):
            for name, fn in calls.items():
                if i < counts[name]:
                    times[name].append(_timed(fn)[:2])
    finally:
        if was_enabled:
            gc.enable()
    return times, results


def compare(got: np.ndarray, ref: np.ndarray, exact: bool, note: str, floats: bool,
            ) -> tuple[str, bool]:
    """Describe how got differs from fixedq's ref; True if it should have been equal."""
    if got.shape != ref.shape:
        return f"shape {got.shape} vs {ref.shape}", True
    diff = np.abs(got.astype(np.float64) - ref.astype(np.float64))
    if floats:
        diff = diff * SCALE
    bad = int(np.count_nonzero(diff))
    if bad == 0:
        if not exact and note:
            return f"exact on these inputs (may differ: {note})", False
        return "exact" + (f" ({note})" if note else ""), False
    worst = float(diff.max())
    text = f"{bad:,} of {got.size:,} differ, max {worst:g} LSB"
    if exact:
        return text + " UNEXPECTED", True
    return text + (f" ({note})" if note else ""), False


def digest(arr: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(arr).tobytes()).hexdigest()[:16]


def prime_allocator(size: int) -> None:
    """Allocate and free one block larger than any result or temporary of the benchmark.

    glibc's malloc serves large blocks with fresh mmap pages, zero-filled on first touch,
    until a freed block raises its threshold: without this, whichever operation runs first
    pays page faults on every call (4x slower add at 10^6 elements) and the figures depend on
    which contenders ran before. Afterwards every contender's outputs come from reused heap
    memory, as in a long-running program. Elsewhere this is harmless.
    """
    block = np.empty(min(16 * size, 32 * 2**20), dtype=np.uint8)  # glibc caps at 32 MiB
    del block


def run_arrays(contenders: list[Contender], inp: Inputs, repeats: int, budget: float,
               ) -> dict[str, list[Row]]:
    cases = {c.name: c.array_cases(inp) for c in contenders}
    table: dict[str, list[Row]] = {}
    for op in ARRAY_OPS:
        calls = {name: cs[op].run for name, cs in cases.items() if op in cs}
        if FIXEDQ not in calls:
            continue
        times, results = measure_round_robin(calls, repeats, budget)
        ref = cases[FIXEDQ][op].raws(results[FIXEDQ])
        rows = []
        for name in calls:
            case = cases[name][op]
            row = Row(name, [w for w, _ in times[name]], [c for _, c in times[name]])
            if name == FIXEDQ:
                row.check, row.digest = "reference", digest(results[name])
            else:
                got = case.raws(results[name])
                row.check, row.unexpected = compare(got, ref, case.exact, case.note,
                                                    op == "fixed->float")
            rows.append(row)
        del results
        table[op] = rows
    return table


def run_scalars(contenders: list[Contender], inp: Inputs, n: int, repeats: int,
                budget: float) -> list[Row]:
    cases = {c.name: sc for c in contenders if (sc := c.scalar_case(inp, n)) is not None}
    if FIXEDQ not in cases:
        return []
    times, _ = measure_round_robin({k: v.run for k, v in cases.items()}, repeats, budget)
    ref = cases[FIXEDQ].results()
    rows = []
    for name, case in cases.items():
        row = Row(name, [w / case.n for w, _ in times[name]],
                  [c / case.n for _, c in times[name]])
        if name == FIXEDQ:
            row.check, row.digest = "reference", digest(ref)
        elif name == LoopOverhead.name:
            row.check = "loop overhead, included in every row"
        else:
            got = case.results()
            want = ref[: case.n]
            if got.dtype.kind == "f":  # unrounded products against fixedq's values
                got = np.clip(got * SCALE, RAW_MIN, RAW_MAX)
            row.check, row.unexpected = compare(got, want, case.exact, case.note, False)
        rows.append(row)
    return rows


# ----------------------------------------------------------------------------------------
# Reporting
# ----------------------------------------------------------------------------------------
def cpu_description() -> dict[str, str]:
    info = {"model": platform.processor() or platform.machine(), "mhz": "?", "logical": "?",
            "simd": ""}
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return info
    lines = [ln.split(":", 1) for ln in text.splitlines() if ":" in ln]
    fields: dict[str, str] = {}
    for k, v in lines:
        fields.setdefault(k.strip(), v.strip())
    info["model"] = fields.get("model name", info["model"])
    info["mhz"] = fields.get("cpu MHz", "?")
    info["logical"] = str(sum(1 for k, _ in lines if k.strip() == "processor"))
    flags = set(fields.get("flags", "").split())
    wanted = ("avx2", "avx512f", "avx512bw", "avx512dq", "avx512vl")
    info["simd"] = " ".join(f for f in wanted if f in flags)
    return info


def thread_description() -> str:
    parts = [", ".join(f"{v}={os.environ[v]}" for v in THREAD_VARIABLES)]
    try:
        from threadpoolctl import threadpool_info  # optional
        pools = [f"{p.get('internal_api')}:{p.get('num_threads')}" for p in threadpool_info()]
        parts.append("threadpoolctl: " + (", ".join(pools) or "no native pools loaded"))
    except ImportError:
        parts.append("threadpoolctl not installed")
    return "1 (" + "; ".join(parts) + ")"


def fmt_time(seconds: float, unit: str) -> str:
    return f"{seconds * 1e3:10.3f}" if unit == "ms" else f"{seconds * 1e9:10.1f}"


def print_table(title: str, groups: dict[str, list[Row]], unit: str) -> None:
    print(f"\n{title}")
    head = (f"{'operation':<13} {'contender':<13} {'median ' + unit:>10} {'min ' + unit:>10}"
            f" {'cpu ' + unit:>10} {'vs fixedq':>10} {'n':>3}  result check")
    print(head)
    print("-" * (len(head) + 40))
    for op, rows in groups.items():
        ref = next((r.median for r in rows if r.contender == FIXEDQ), None)
        for i, r in enumerate(rows):
            ratio = f"{r.median / ref:9.2f}x" if ref else f"{'':>10}"
            label = op if i == 0 else ""
            print(f"{label:<13} {r.contender:<13} {fmt_time(r.median, unit)} "
                  f"{fmt_time(r.best, unit)} {fmt_time(r.cpu_median, unit)} {ratio} "
                  f"{len(r.times):>3}  {r.check}")


def print_header(args: argparse.Namespace, loaded: dict[str, str], skipped: dict[str, str],
                 inp: Inputs) -> None:
    cpu = cpu_description()
    print("fixedq compare_fixed: Q16.16 (fixedq.Fixed16_16) beside hand-written NumPy and peers")
    print(f"cpu        {cpu['model']}, {cpu['logical']} logical CPUs, {cpu['mhz']} MHz "
          f"(/proc/cpuinfo), SIMD flags: {cpu['simd'] or 'none found'}")
    print(f"load       {' '.join(f'{v:.2f}' for v in os.getloadavg())} (1/5/15 min, at start)")
    print(f"python     {platform.python_version()} ({platform.python_implementation()}), "
          f"numpy {np.__version__}")
    print(f"fixedq     {loaded.get(FIXEDQ)}; policy {fixedq.get_policy()}"
          + (f"; FIXEDQ_ISA={os.environ['FIXEDQ_ISA']}" if os.environ.get("FIXEDQ_ISA") else ""))
    for name, version in loaded.items():
        if name not in (FIXEDQ, NumpyInt64.name, PythonFloat.name, LoopOverhead.name):
            print(f"{name:<10} {version}")
    for name, reason in skipped.items():
        print(f"{name:<10} skipped: {reason}")
    print(f"threads    {thread_description()}")
    print(f"inputs     {args.size:,} elements, seed {inp.seed}; a, b raw uniform in "
          f"[-2^23, 2^23) (values +-128), x ~ N(0, 1000); saturating and tie cases first")
    print(f"timing     1 warm-up (its result is checked) + median of {args.repeats} "
          "(time.perf_counter, gc off, contenders interleaved); cpu = median CPU time of the "
          "thread (time.thread_time: excludes time preempted by other load); vs fixedq = "
          "median / fixedq's (>1: slower than fixedq); LSB = 2^-16")


def print_targets(arrays: dict[str, list[Row]], scalars: list[Row], size: int) -> None:
    lines = []
    if size == 10**6:
        for op, target in TARGETS_MS.items():
            rows = [r for r in arrays.get(op, []) if r.contender == FIXEDQ]
            if rows:
                ms = rows[0].median * 1e3
                lines.append(f"{op} {ms:.2f} ms (target <= {target:g} ms: "
                             f"{'met' if ms <= target else 'MISSED'})")
    rows = [r for r in scalars if r.contender == FIXEDQ]
    if rows:
        ns = rows[0].median * 1e9
        lines.append(f"scalar multiply {ns:.0f} ns (target <= {TARGET_SCALAR_NS:g} ns: "
                     f"{'met' if ns <= TARGET_SCALAR_NS else 'MISSED'})")
    if lines:
        print("\nissue 3 targets, fixedq medians: " + "; ".join(lines))


# ----------------------------------------------------------------------------------------
# --isa: the same benchmark of fixedq under each FIXEDQ_ISA, one subprocess per ISA
# ----------------------------------------------------------------------------------------
def run_isa_comparison(args: argparse.Namespace) -> int:
    cpu = cpu_description()
    print("fixedq compare_fixed --isa: fixedq under each FIXEDQ_ISA (one subprocess each)")
    print(f"cpu        {cpu['model']}, {cpu['logical']} logical CPUs, SIMD flags: "
          f"{cpu['simd'] or 'none found'}")
    print(f"load       {' '.join(f'{v:.2f}' for v in os.getloadavg())} (1/5/15 min, at start)")
    print(f"inputs     {args.size:,} elements, {args.scalar_size:,} scalar multiplies, seed "
          f"{args.seed}; median of {args.repeats} after 1 warm-up, 1 thread")
    reports = {}
    for isa in ISAS:
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
            path = f.name
        cmd = [sys.executable, os.path.abspath(__file__), "--size", str(args.size),
               "--scalar-size", str(args.scalar_size), "--repeats", str(args.repeats),
               "--budget", str(args.budget), "--seed", str(args.seed),
               "--only", f"{FIXEDQ},numpy", "--json", path]
        env = dict(os.environ, FIXEDQ_ISA=isa)
        proc = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, check=False)
        try:
            with open(path, encoding="utf-8") as f:
                reports[isa] = json.load(f)
        except (OSError, ValueError):
            print(f"FIXEDQ_ISA={isa}: run failed (exit status {proc.returncode})")
        finally:
            os.unlink(path)
        if isa in reports and proc.returncode != 0:
            reports[isa]["failed"] = proc.returncode
    if not reports:
        return 1
    isas = list(reports)
    actual = {isa: reports[isa]["isa"] for isa in isas}
    for isa in isas:
        if actual[isa] != isa:
            print(f"FIXEDQ_ISA={isa}: not available here, fixedq fell back to {actual[isa]}")
    print("\neach cell: median wall time / median CPU time of the thread (excludes time "
          "preempted by other load);\nscalar/fastest compares CPU times")
    head = (f"\n{'operation':<14}" + "".join(f"{'fixedq ' + actual[i]:>22}" for i in isas)
            + f"{'numpy int64':>22}  {'scalar/fastest':>14}  same results on every ISA")
    print(head + "\n" + "-" * (len(head) + 4))
    status = 0
    for op in (*ARRAY_OPS, "scalar multiply"):
        unit, scale, digits = ("ns", 1e9, 1) if op == "scalar multiply" else ("ms", 1e3, 3)
        cells, digests, medians = [], set(), {}
        for isa in isas:
            entry = reports[isa]["results"].get(op, {})
            fq = entry.get(FIXEDQ)
            if fq is None:
                cells.append(f"{'-':>22}")
                continue
            medians[actual[isa]] = fq["cpu"]
            digests.add(fq["digest"])
            cells.append(f"{fq['median'] * scale:>10.{digits}f} /"
                         f"{fq['cpu'] * scale:>7.{digits}f} {unit}")
        numpy_row = reports[isas[0]]["results"].get(op, {}).get(NumpyInt64.name)
        np_cell = (f"{numpy_row['median'] * scale:>10.3f} /{numpy_row['cpu'] * scale:>7.3f} "
                   f"{unit}" if numpy_row else f"{'-':>22}")
        speedup = (f"{medians['scalar'] / min(medians.values()):>13.2f}x"
                   if "scalar" in medians else f"{'-':>14}")
        same = "yes (identical bytes)" if len(digests) == 1 else "NO: results differ"
        if len(digests) > 1:
            status = 1
        print(f"{op:<14}" + "".join(cells) + np_cell + "  " + speedup + "  " + same)
    if any(r.get("unexpected") or r.get("failed") for r in reports.values()):
        print("a subprocess reported an unexpected result difference or failed")
        status = 1
    return status


# ----------------------------------------------------------------------------------------
def parse_args(argv: Optional[list[str]]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, default=None, help="array elements (default 10^6)")
    p.add_argument("--scalar-size", type=int, default=None,
                   help="scalar multiplies per timed call (default 10^5)")
    p.add_argument("--repeats", type=int, default=None, help="timed calls after the warm-up "
                   "(default 9); the median is reported")
    p.add_argument("--budget", type=float, default=None, help="seconds per measurement above "
                   "which a slow peer gets fewer repeats (default 6)")
    p.add_argument("--quick", action="store_true",
                   help="10^4 elements, 10^3 scalars, 3 repeats: a smoke run of seconds")
    p.add_argument("--isa", action="store_true", help="re-run fixedq (and the NumPy baseline) "
                   "with FIXEDQ_ISA set to each of " + ", ".join(ISAS) + " and compare")
    p.add_argument("--only", default=None, help="comma-separated contenders to run, by name "
                   "or first word (fixedq always runs): " + ", ".join(c.name for c in CONTENDERS))
    p.add_argument("--seed", type=int, default=SEED, help=f"input seed (default {SEED})")
    p.add_argument("--json", default=None, metavar="PATH", help="also write the results as JSON")
    args = p.parse_args(argv)
    quick = args.quick
    for name, full, small in (("size", 10**6, 10**4), ("scalar_size", 10**5, 10**3),
                              ("repeats", 9, 3), ("budget", 6.0, 0.5)):
        if getattr(args, name) is None:
            setattr(args, name, small if quick else full)
    if args.size < 1 or args.scalar_size < 1 or args.repeats < 1:
        p.error("--size, --scalar-size and --repeats must be positive")
    return args


def main(argv: Optional[list[str]] = None) -> int:
    args = parse_args(argv)
    if args.isa:
        return run_isa_comparison(args)
    # A contender is named in full ("numpy int64") or by its first word ("numpy", "empty").
    names = {key: c.name for c in CONTENDERS for key in (c.name, c.name.strip("()").split()[0])}
    wanted = None
    if args.only is not None:
        tokens = {t.strip() for t in args.only.split(",") if t.strip()}
        if unknown := tokens - set(names):
            print(f"unknown contender(s) {sorted(unknown)}; choose from "
                  f"{[c.name for c in CONTENDERS]}", file=sys.stderr)
            return 2
        wanted = {names[t] for t in tokens} | {FIXEDQ}
    if fixedq.get_policy() != fixedq.Policy("half_even", "saturate"):
        print(f"warning: fixedq's policy is {fixedq.get_policy()}, not the default",
              file=sys.stderr)
    loaded, skipped, active = {}, {}, []
    for c in CONTENDERS:
        if wanted is not None and c.name not in wanted:
            continue
        try:
            loaded[c.name] = c.load()
            active.append(c)
        except Skip as e:
            skipped[c.name] = str(e)
    inp = make_inputs(max(args.size, args.scalar_size), args.seed)  # edge cases first
    print_header(args, loaded, skipped, inp)
    t0 = time.perf_counter()
    prime_allocator(args.size)
    arrays = run_arrays(active, inp.head(args.size), args.repeats, args.budget)
    scalars = run_scalars(active, inp, args.scalar_size, args.repeats, args.budget)
    elapsed = time.perf_counter() - t0
    print_table(f"arrays: {args.size:,} Q16.16 elements, time per call", arrays, "ms")
    print_table(f"scalars: Python loop of {args.scalar_size:,} multiplies (fxpmath: fewer), "
                "time per multiply", {"multiply": scalars}, "ns")
    print_targets(arrays, scalars, args.size)
    unexpected = [f"{op}/{r.contender}" for op, rows in (*arrays.items(), ("scalar", scalars))
                  for r in rows if r.unexpected]
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print("\nagreement: every contender was checked against fixedq: "
          + ("all matching modes agree bit for bit" if not unexpected
             else "UNEXPECTED differences in " + ", ".join(unexpected)))
    print(f"run took {elapsed:.1f} s; load average at end {load}")
    if args.json:
        results: dict[str, Any] = {
            op: {r.contender: {"median": r.median, "min": r.best, "cpu": r.cpu_median,
                               "n": len(r.times),
                               "check": r.check, "digest": r.digest} for r in rows}
            for op, rows in arrays.items()}
        results["scalar multiply"] = {r.contender: {"median": r.median, "min": r.best,
                                                    "cpu": r.cpu_median,
                                                    "n": len(r.times), "check": r.check,
                                                    "digest": r.digest} for r in scalars}
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"isa": fixedq._core.isa(), "size": args.size, "results": results,
                       "unexpected": unexpected}, f, indent=1)
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(main())
