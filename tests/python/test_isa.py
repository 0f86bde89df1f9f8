"""The vectorised kernels make no difference to results: every instruction set, bit for bit.

``isa_worker.py`` runs in one subprocess per instruction set (``FIXEDQ_ISA=scalar``,
``avx2``, ``avx512``; the kernels are chosen once per process) on the same seeded inputs:
add, subtract, multiply, true_divide, float64 -> fixed and fixed -> float64, for every format
and all 18 policies, on contiguous arrays (the kernels, whole and as odd-length prefixes for
the tails) and on strided views (the generic C++ loop). Here the raw bytes are compared across
instruction sets, contiguous against strided, and the casts against the scalar types' own
conversions. Under 'raise' the outcome compared is which exception, if any, is raised.

An instruction set the CPU lacks is skipped (never failed): the worker then reports another
one from ``fixedq.isa()``.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import fixedq

ISAS = ("scalar", "avx2", "avx512")
WORKER = Path(__file__).with_name("isa_worker.py")
SEED = int(os.environ.get("FIXEDQ_TEST_SEED", np.random.SeedSequence().entropy % 2**32))
REPEAT = f"FIXEDQ_TEST_SEED={SEED} python -m pytest {__file__}"
FORMATS = {f["name"]: f for f in fixedq.formats()}


def run_worker(isa: str | None, tmp: Path, seed: int = SEED) -> dict:
    env = dict(os.environ)
    env.pop("FIXEDQ_ISA", None)
    if isa is not None:
        env["FIXEDQ_ISA"] = isa
    out = tmp / f"isa-{isa}.pickle"
    proc = subprocess.run([sys.executable, str(WORKER), str(seed), str(out)], env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, f"worker under FIXEDQ_ISA={isa} failed:\n{proc.stderr}"
    with open(out, "rb") as fh:
        return pickle.load(fh)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """isa -> the worker's output, for the instruction sets this CPU has."""
    tmp = tmp_path_factory.mktemp("isa")
    print(f"random seed {SEED}; repeat with {REPEAT}")
    found = {}
    for isa in ISAS:
        data = run_worker(isa, tmp)
        if data["isa"] == isa:
            found[isa] = data
    assert "scalar" in found, "FIXEDQ_ISA=scalar must always be honoured"
    return found


def need(runs: dict, isa: str) -> dict:
    if isa not in runs:
        pytest.skip(f"this CPU (or build) has no {isa}")
    return runs[isa]


# ------------------------------------------------------------------------------------------
# Which path runs
# ------------------------------------------------------------------------------------------
def test_isa_names_a_known_path() -> None:
    assert fixedq.isa() in ISAS
    assert fixedq.isa() == fixedq.isa()  # chosen once


def test_isa_override(tmp_path: Path) -> None:
    """FIXEDQ_ISA=scalar always gives 'scalar'; an unknown name falls back to the best set,
    which is what runs when the variable is unset."""
    code = "import fixedq; print(fixedq.isa())"

    def isa_under(value: str | None) -> str:
        env = dict(os.environ)
        env.pop("FIXEDQ_ISA", None)
        if value is not None:
            env["FIXEDQ_ISA"] = value
        proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                              text=True, timeout=120, check=True)
        return proc.stdout.strip()

    best = isa_under(None)
    assert best in ISAS
    assert isa_under("scalar") == "scalar"
    assert isa_under("no-such-isa") == best
    assert isa_under("") == best
    # A forced set is never above the best one.
    assert ISAS.index(isa_under("avx512")) <= ISAS.index(best)
    assert ISAS.index(isa_under("avx2")) <= ISAS.index(best)


# ------------------------------------------------------------------------------------------
# Bit for bit
# ------------------------------------------------------------------------------------------
def describe(data: dict, key: tuple, got: object, want: object) -> str:
    """A failure line: the key, and the first differing elements with their inputs in hex."""
    name, op, pol, dname, layout = key
    info = FORMATS[name]
    bits = info["total_bits"]
    head = f"{name} {op} [{pol}] {dname}/{layout}"
    if isinstance(got, str) or isinstance(want, str):
        def show(v: object) -> str:
            return v if isinstance(v, str) else "a value"

        return f"{head}: {show(got)} vs {show(want)}"
    dtype = np.float64 if op == "to_float64" else np.dtype(info["raw_dtype"])
    g, w = np.frombuffer(got, dtype=dtype), np.frombuffer(want, dtype=dtype)
    if g.size != w.size:
        return f"{head}: {g.size} vs {w.size} elements"
    utype = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}[g.itemsize]
    bad = np.flatnonzero(g.view(utype) != w.view(utype))  # bitwise: -0.0 differs from 0.0
    a, b, d = data["inputs"][(name, dname)]  # prefixes and strided views: same positions
    mask = 2**bits - 1
    parts = []
    for i in bad[:4]:
        if op in ("from_float64",):
            src = f"x={float(d[i]).hex()}"
        elif op == "to_float64":
            src = f"x={int(a[i]) & mask:#x}"
        else:
            src = f"a={int(a[i]) & mask:#x} b={int(b[i]) & mask:#x}"
        gi = float(g[i]).hex() if op == "to_float64" else f"{int(g[i]) & mask:#x}"
        wi = float(w[i]).hex() if op == "to_float64" else f"{int(w[i]) & mask:#x}"
        parts.append(f"[{i}] {src}: {gi} vs {wi}")
    return f"{head}: {bad.size} differ; " + "; ".join(parts)


@pytest.mark.parametrize("isa", ["avx2", "avx512"])
def test_vector_kernels_match_the_scalar_build(runs: dict, isa: str) -> None:
    data = need(runs, isa)
    ref = runs["scalar"]
    assert data["inputs"].keys() == ref["inputs"].keys()
    for key in ref["inputs"]:
        for a, b in zip(data["inputs"][key], ref["inputs"][key]):
            assert a.tobytes() == b.tobytes(), "the workers must see the same inputs"
    assert data["results"].keys() == ref["results"].keys()
    bad = [describe(ref, k, data["results"][k], ref["results"][k])
           for k in ref["results"] if data["results"][k] != ref["results"][k]]
    assert not bad, (f"{isa} differs from scalar in {len(bad)} of {len(ref['results'])} "
                     f"results ({REPEAT}):\n" + "\n".join(bad[:15]))


@pytest.mark.parametrize("isa", ISAS)
def test_contiguous_matches_strided(runs: dict, isa: str) -> None:
    """The kernels (contiguous) against the generic loop (strided views), in one process.

    Under 'raise' both must raise or neither; which error comes first may differ (NumPy
    hands strided casts to the loop in pieces, so with both a NaN and an out-of-range value
    the one met first wins, where a contiguous array reports the NaN)."""
    data = need(runs, isa)
    res = data["results"]
    bad = []
    for key, got in res.items():
        name, op, pol, dname, layout = key
        if not layout.startswith("contig"):
            continue
        other = res[(name, op, pol, dname, layout.replace("contig", "strided"))]
        if isinstance(got, str) and isinstance(other, str):
            continue
        if got != other:
            bad.append(describe(data, key, got, other))
    assert not bad, (f"{isa}: contiguous and strided differ in {len(bad)} results ({REPEAT}):\n"
                     + "\n".join(bad[:15]))


@pytest.mark.parametrize("isa", ISAS)
def test_prefixes_match_the_whole(runs: dict, isa: str) -> None:
    """A prefix of odd length (a kernel's tail) gives the prefix of the whole result."""
    data = need(runs, isa)
    res = data["results"]
    bad = []
    for key, got in res.items():
        name, op, pol, dname, layout = key
        if not layout.startswith("contig-") or isinstance(got, str):
            continue
        whole = res[(name, op, pol, dname, "contig")]
        if isinstance(whole, str):
            continue  # the whole raised (an element beyond the prefix may be the cause)
        size = 8 if op == "to_float64" else np.dtype(FORMATS[name]["raw_dtype"]).itemsize
        k = int(layout.split("-")[1])
        if got != whole[: k * size]:
            bad.append(describe(data, key, got, whole[: k * size]))
    assert not bad, f"{isa} ({REPEAT}):\n" + "\n".join(bad[:15])


@pytest.mark.parametrize("isa", ISAS)
def test_casts_match_the_scalar_types(runs: dict, isa: str) -> None:
    """float64 -> fixed and fixed -> float64 of arrays against the scalar constructors and
    float(), which never use the kernels."""
    data = need(runs, isa)
    res = data["results"]
    bad = []
    for (name, dname), (a, _, d) in data["inputs"].items():
        info = FORMATS[name]
        t = getattr(fixedq, name)
        raw_t = np.dtype(info["raw_dtype"])
        want_float = np.array([float(t.from_raw(int(r))) for r in a], dtype=np.float64)
        for pol_r, pol_o in [(r, o) for r in fixedq.ROUNDINGS for o in fixedq.OVERFLOWS]:
            pol = f"{pol_r}-{pol_o}"
            got = res[(name, "to_float64", pol, dname, "contig")]
            if got != want_float.tobytes():
                bad.append(describe(data, (name, "to_float64", pol, dname, "contig"), got,
                                    want_float.tobytes()))
            raws, error = [], None
            with fixedq.policy(rounding=pol_r, overflow=pol_o):
                for v in d.tolist():
                    try:
                        raws.append(t(v).raw)
                    except (OverflowError, ValueError) as exc:
                        error = error if isinstance(error, ValueError) else exc
            want = (f"raise:{type(error).__name__}" if error is not None
                    else np.array(raws, dtype=raw_t).tobytes())
            got = res[(name, "from_float64", pol, dname, "contig")]
            if got != want:
                bad.append(describe(data, (name, "from_float64", pol, dname, "contig"), got, want))
    assert not bad, f"{isa} ({REPEAT}):\n" + "\n".join(bad[:15])


def test_the_worker_sees_what_the_oracle_sees(tmp_path: Path) -> None:
    """A spot check that the worker's results are the exact ones (so that the comparisons above
    are not between equally wrong answers): one policy, against Fraction."""
    data = run_worker(None, tmp_path, seed=SEED ^ 1)
    name, pol = "Q15", "floor-saturate"
    a, b, d = data["inputs"][(name, "tame")]
    got = np.frombuffer(data["results"][(name, "multiply", pol, "tame", "contig")], dtype=np.int16)
    for i in range(0, a.size, 37):
        exact = Fraction(int(a[i]) * int(b[i]), 2**30)
        want = max(-(2**15), min(2**15 - 1, (exact * 2**15).__floor__()))
        assert int(got[i]) == want, (hex(int(a[i])), hex(int(b[i])))
