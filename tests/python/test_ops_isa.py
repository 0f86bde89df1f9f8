"""fixedq.ops gives the reference's bits on every int8 instruction-set path.

``ops_isa_worker.py`` runs in one subprocess per path (``FIXEDQ_ISA=scalar``, ``avx2``,
``avx_vnni``, ``avx512_vnni``, ``neon``, ``neon_dotprod``: the path is chosen once per process)
on the same seeded cases, with 1 and 2 threads; here each result is compared with the NumPy
reference (ops_reference.py) and with the other paths. A path this CPU or build lacks is skipped,
never failed.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import ops_isa_worker
from fixedq import ops

WORKER = Path(__file__).with_name("ops_isa_worker.py")
SEED = int(os.environ.get("FIXEDQ_TEST_SEED", np.random.SeedSequence().entropy % 2**32))
REPEAT = f"FIXEDQ_TEST_SEED={SEED} python -m pytest {__file__}"
ISAS = tuple(ops.isa_names())


def env_with_isa(isa: str | None) -> dict:
    env = dict(os.environ)
    env.pop("FIXEDQ_ISA", None)
    if isa is not None:
        env["FIXEDQ_ISA"] = isa
    return env


def run_worker(isa: str, tmp: Path) -> dict:
    out = tmp / f"ops-{isa}.pickle"
    proc = subprocess.run([sys.executable, str(WORKER), str(SEED), str(out)], env=env_with_isa(isa),
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, f"worker under FIXEDQ_ISA={isa} failed:\n{proc.stderr}"
    with open(out, "rb") as fh:
        return pickle.load(fh)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """isa -> the worker's results, for the paths this CPU and build have."""
    tmp = tmp_path_factory.mktemp("ops-isa")
    print(f"random seed {SEED}; repeat with {REPEAT}")
    found = {}
    for isa in ops.available_isas():
        data = run_worker(isa, tmp)
        assert data["isa"] == isa, f"FIXEDQ_ISA={isa} is available but the worker ran {data['isa']}"
        found[isa] = data["results"]
    assert "scalar" in found
    return found


@pytest.fixture(scope="module")
def reference() -> dict:
    return {name: np.asarray(want()) for name, _, want in ops_isa_worker.cases(SEED)}


def need(runs: dict, isa: str) -> dict:
    if isa not in runs:
        pytest.skip(f"this CPU (or build) has no {isa}")
    return runs[isa]


@pytest.mark.parametrize("isa", ISAS)
def test_every_path_gives_the_reference(runs: dict, reference: dict, isa: str) -> None:
    results = need(runs, isa)
    assert {name for name, _ in results} == set(reference)
    bad = []
    for (name, threads), got in results.items():
        want = reference[name]
        if got.dtype != want.dtype or got.shape != want.shape or got.tobytes() != want.tobytes():
            diff = np.flatnonzero(got.reshape(-1) != want.reshape(-1)) if got.shape == want.shape else []
            where = f"; first at flat index {diff[0]}: {got.reshape(-1)[diff[0]]!r} vs {want.reshape(-1)[diff[0]]!r}" \
                if len(diff) else ""
            bad.append(f"{name} ({threads} threads): {got.dtype}{got.shape} vs {want.dtype}{want.shape}{where}")
    assert not bad, f"{isa} differs from the reference in {len(bad)} of {len(results)} ({REPEAT}):\n" + "\n".join(
        bad[:15])


def test_paths_agree_with_each_other(runs: dict) -> None:
    base = runs["scalar"]
    for isa, results in runs.items():
        for key, got in results.items():
            assert got.tobytes() == base[key].tobytes(), f"{isa} vs scalar: {key} ({REPEAT})"


def test_fixedq_isa_selects_the_path(tmp_path: Path) -> None:
    """FIXEDQ_ISA=scalar always gives scalar; an unknown name gives the best path, which is what
    runs without the variable; a forced path is never above the best."""
    code = "from fixedq import ops; print(ops.isa())"

    def isa_under(value: str | None) -> str:
        proc = subprocess.run([sys.executable, "-c", code], env=env_with_isa(value), capture_output=True, text=True,
                              timeout=120, check=True)
        return proc.stdout.strip()

    best = isa_under(None)
    assert best == ops.available_isas()[-1]
    assert isa_under("scalar") == "scalar"
    assert isa_under("no-such-path") == best
    for isa in ops.available_isas():
        assert isa_under(isa) == isa
