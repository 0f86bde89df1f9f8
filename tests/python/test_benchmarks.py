"""fixedq.benchmarks.kernels: the side-by-side int8 benchmark (bench/python/compare_kernels.py).

The end-to-end runs use ``--quick`` (tiny shapes, a few milliseconds of timing) on two cases and
one thread, in subprocesses as a user runs them. They check the data and the table, that the
agreement check catches a wrong output (the ``--corrupt`` test hook damages one contender's
output after it ran), and that a peer which does not import is reported, not fatal. The
reference the benchmark checks against is itself checked against plain loops.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fixedq.benchmarks import kernels

CASES = "matmulinteger-256,qlinearmatmul-256"
# The path a worker process dispatches: the workers are plain child processes, so under an
# emulator (qemu-user runs only this process) they see the real CPU, not the emulated one.
WORKER_ISA = subprocess.run([sys.executable, "-c", "import fixedq.ops; print(fixedq.ops.isa())"], capture_output=True,
                            text=True, check=True, env=dict(os.environ, PYTHONPATH=os.pathsep.join(
                                p for p in sys.path if p))).stdout.strip()
HAVE_ORT = importlib.util.find_spec("onnxruntime") is not None and importlib.util.find_spec("onnx") is not None


def _run(args: list[str], extra_path: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    paths = [p for p in sys.path if p]
    env["PYTHONPATH"] = os.pathsep.join(([extra_path] if extra_path else []) + paths)
    cmd = [sys.executable, "-m", "fixedq.benchmarks.kernels", "--quick", "--threads", "1", "--min-time", "0.005",
           "--cases", CASES, *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def quick_run() -> dict:
    proc = _run(["--contenders", "fixedq,onnxruntime", "--isa", "scalar", "--json"])
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def broken_run(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess:
    """fixedq and onnxruntime with damaged outputs, and torch made unimportable."""
    fake = tmp_path_factory.mktemp("fake_torch")
    (fake / "torch").mkdir()
    (fake / "torch" / "__init__.py").write_text("raise ImportError('simulated: torch is not installed')\n")
    return _run(["--contenders", "fixedq,onnxruntime,torch-x86", "--corrupt", "fixedq,onnxruntime"], str(fake))


def test_quick_run_data(quick_run: dict) -> None:
    header, results, summary = quick_run["header"], quick_run["results"], quick_run["summary"]
    assert header["threads"] == [1]
    assert header["versions"]["fixedq"] and header["versions"]["numpy"] == np.__version__
    assert header["cpu"] and header["date"].endswith("UTC")
    assert [(r["case"], r["contender"]) for r in results] == [
        (c, n) for n in ("fixedq", "fixedq[scalar]", "onnxruntime") for c in CASES.split(",")]
    for r in results:
        case = next(c for c in kernels.CASES if c.key == r["case"])
        assert r["macs"] == 32**3 == case.macs(quick=True)
        if r["contender"].startswith("fixedq"):
            # fixedq's documented contract: bit for bit the reference, on the dispatched path and
            # on the plain loops (FIXEDQ_ISA=scalar reached the worker process)
            assert (r["status"], r["max_diff"], r["agrees"], r["tolerance"]) == ("ok", 0, True, 0)
            assert r["isa"] == (WORKER_ISA if r["contender"] == "fixedq" else "scalar")
        elif HAVE_ORT:
            assert r["status"] == "ok"
            assert r["tolerance"] == (0 if r["op"] == "MatMulInteger" else 1)
            assert r["agrees"] == (r["max_diff"] <= r["tolerance"])
        else:
            assert r["status"] == "skipped"
        if r["status"] == "ok":
            assert r["gops"] == pytest.approx(2 * r["macs"] / r["seconds"] / 1e9)
            assert 0 < r["min_seconds"] <= r["seconds"] and r["samples"] >= 3
    for s in summary:
        mine, peer = (next(r for r in results if r["case"] == s["case"] and r["contender"] == n)
                      for n in ("fixedq", "onnxruntime"))
        assert s["fixedq"] == mine["gops"] and s["fixedq_isa"] == WORKER_ISA
        if peer["status"] == "ok" and peer["agrees"]:
            assert s["best_peer"] == "onnxruntime"
            assert s["ratio"] == pytest.approx(mine["gops"] / peer["gops"])
        else:
            assert s["best_peer"] is None and s["ratio"] is None


def test_table_is_aligned_and_complete(quick_run: dict) -> None:
    text = kernels.format_table(quick_run["results"], quick_run["header"])
    lines = text.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("case "))
    assert "fixedq[scalar]" in lines[head]
    table = lines[head:head + 2 + len(quick_run["summary"])]
    gaps = [m.start() for m in re.finditer("  ", table[1])]  # the separator: dashes per column, 2 spaces between
    assert len(gaps) == len(table[0].split()) - 1 - 2  # "fixedq isa", "best peer", "fixedq/best" hold a space
    for line in table:
        assert all(line[g:g + 2] == "  " for g in gaps if g < len(line)), line
    for s in quick_run["summary"]:
        row = next(line for line in table if line.startswith(s["case"] + " "))
        assert WORKER_ISA in row
        if s["ratio"] is not None:
            assert row.rstrip().endswith(f"{s['ratio']:.2f}")
    assert "CPU: " in text and f"fixedq {quick_run['header']['versions']['fixedq']}" in text
    markdown = kernels.format_table(quick_run["results"], quick_run["header"], markdown=True).splitlines()
    rows = [line for line in markdown if line.startswith("|")]
    assert len(rows) == 2 + len(quick_run["summary"])
    assert len({line.count("|") for line in rows}) == 1


def test_wrong_outputs_are_flagged_and_missing_peer_reported(broken_run: subprocess.CompletedProcess) -> None:
    assert broken_run.returncode == 1, broken_run.stderr  # fixedq disagreeing is a failure of the run
    out = broken_run.stdout
    rows = {line.split()[0]: line for line in out.splitlines() if line.startswith(tuple(CASES.split(",")))}
    assert set(rows) == set(CASES.split(","))
    for key, line in rows.items():
        cells = re.findall(r"\d+(?:\.\d+)? !(\d+)", line)
        assert len(cells) == (2 if HAVE_ORT else 1), line  # fixedq and onnxruntime both flagged
        assert all(int(d) >= 5 for d in cells)
        assert "skip" in line  # torch-x86
        assert line.rstrip().endswith(WORKER_ISA), line  # no best peer, no ratio: the only peer disagreed
    assert re.search(r"torch-x86 \(1 thread\(s\)\): skipped: .*simulated: torch is not installed", out)
    assert "fixedq on matmulinteger-256, qlinearmatmul-256 (1 thread(s)): disagrees by up to 5 (tolerance 0)" in out


def test_reference_against_plain_loops() -> None:
    rng = np.random.default_rng(3)
    for key in ("conv7x7s2-3to64-224-nchw", "dwconv3x3-128-56-nhwc", "conv3x3-b8-32to64-32-nchw"):
        case = next(c for c in kernels.CASES if c.key == key)
        inputs = kernels.case_inputs(case, True, int(rng.integers(1 << 30)))
        batch, cin, size, cout, k, stride, pad, groups = case.shape(quick=True)
        x = inputs["x"].astype(np.int64) - int(inputs["x_zero_point"])
        w = inputs["w"].astype(np.int64)
        out = case.conv_out(quick=True)
        acc = np.zeros((batch, cout, out, out), np.int64)
        cg, mg = cin // groups, cout // groups
        for m in range(cout):
            g = m // mg
            for oy in range(out):
                for ox in range(out):
                    for i in range(k):
                        for j in range(k):
                            y, xx = oy * stride + i - pad, ox * stride + j - pad
                            if 0 <= y < size and 0 <= xx < size:
                                acc[:, m, oy, ox] += x[:, g * cg:(g + 1) * cg, y, xx] @ w[m, :, i, j]
        acc += inputs["bias"][None, :, None, None]
        mult = np.float32(np.float32(inputs["x_scale"] * inputs["w_scale"]) / inputs["y_scale"])
        expect = np.array([min(255, max(0, int(np.rint(np.float32(v) * mult)) + 128)) for v in acc.reshape(-1)],
                          np.uint8).reshape(acc.shape)
        if case.layout == "NHWC":
            expect = expect.transpose(0, 2, 3, 1)
        got = kernels.reference_output(case, inputs)
        np.testing.assert_array_equal(got, expect, err_msg=key)
        assert 0.05 < np.mean((got > 0) & (got < 255)) and len(np.unique(got)) > 20  # not all saturated
    case = next(c for c in kernels.CASES if c.key == "matmulinteger-64x4096x1024")
    inputs = kernels.case_inputs(case, True, 7)
    expect = (inputs["x"].astype(np.int64) - 128) @ inputs["w"].astype(np.int64)
    np.testing.assert_array_equal(kernels.reference_output(case, inputs), expect)


def test_case_selection_and_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert [c.key for c in kernels.select_cases(["conv3x3-256*", "overhead-*"])] == [
        "conv3x3-256to256-14-nhwc", "conv3x3-256to256-14-nchw", "overhead-qlinearmatmul-1x4x4"]
    with pytest.raises(ValueError, match="'nope' matches no case"):
        kernels.select_cases(["nope"])
    with pytest.raises(ValueError, match="unknown contender 'mkl'"):
        kernels.run_comparison(CASES.split(","), contenders=["fixedq", "mkl"])
    with pytest.raises(ValueError, match="threads: expected thread counts >= 1"):
        kernels.run_comparison(CASES.split(","), threads=[0])
    for argv, error in ((["--threads", "one"], "--threads: expected comma-separated integers, got one"),
                        (["--cases", "conv9x9*"], "cases: 'conv9x9*' matches no case"),
                        (["--contenders", "torch"], "contenders: unknown contender 'torch'")):
        with pytest.raises(SystemExit) as exc:
            kernels.main(argv, prog="fixedq bench")
        assert exc.value.code == 2
        assert f"fixedq bench: error: {error}" in capsys.readouterr().err


def test_case_table_matches_the_cpp_benchmark_shapes() -> None:
    """The GEMM and convolution shapes are those of bench/cpp/bench_int8.cpp (M x N x K)."""
    source = Path(__file__).resolve().parents[2] / "bench" / "cpp" / "bench_int8.cpp"
    text = source.read_text()
    gemms = {tuple(int(v) for v in m) for m in re.findall(r"\{(\d+), (\d+), (\d+)\}", text)}
    assert {c.dims for c in kernels.CASES if c.op == "MatMulInteger"} == gemms
    convs = {tuple(int(v) for v in m) for m in re.findall(r"conv_shape\(([\d, ]+)\)", text) for m in [m.split(",")]}
    mine = {(n, c, s, s, k, kk, st, p, g) for case in kernels.CASES if case.is_conv
            for (n, c, s, k, kk, st, p, g) in [case.dims]}
    assert mine == convs


def test_header_names_the_environment_the_workers_inherit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    monkeypatch.delenv("FIXEDQ_ISA", raising=False)
    header = kernels.collect_header([1, 2], command="x")
    assert header["environment"] == {"ONEDNN_MAX_CPU_ISA": "AVX2"}
    assert header["threads"] == [1, 2] and len(header["load_after"]) == 3
    assert "environment: ONEDNN_MAX_CPU_ISA=AVX2" in kernels.format_table([], header)


def test_rounds_keep_each_case_fastest_round_and_any_disagreement() -> None:
    seconds = iter([3e-3, 1e-3, 2e-3, 5e-3])  # fixedq round 1, 2 for case A; round 1, 2 for case B
    calls = []

    def fake_worker(spec, env, timeout):  # type: ignore[no-untyped-def]
        calls.append(spec["tag"])
        results = {}
        for key in spec["cases"]:
            results[key] = {"status": "ok", "seconds": next(seconds), "min_seconds": 0, "samples": 5,
                            "calls_per_sample": 1, "outputs": None}
        return {"info": {"version": "x", "isa": "scalar"}, "results": results}

    verdicts = iter([True, False, True, True])

    def fake_compare(case, name, ref, out):  # type: ignore[no-untyped-def]
        return {"max_diff": 0, "tolerance": 0, "agrees": next(verdicts)}

    mp = pytest.MonkeyPatch()
    mp.setattr(kernels, "_run_worker", fake_worker)
    mp.setattr(kernels, "_compare", fake_compare)
    mp.setattr(kernels, "reference_output", lambda case, inputs: None)
    mp.setattr(kernels, "case_inputs", lambda case, quick, seed: None)
    try:
        rows = kernels.run_comparison(["matmulinteger-256", "qlinearmatmul-256"], threads=[1], contenders=["fixedq"],
                                      quick=True, rounds=2)
    finally:
        mp.undo()
    assert calls == ["w1-0-r0", "w1-0-r1"]
    by_case = {r["case"]: r for r in rows}
    # round 1: A 3 ms (agrees), B 1 ms (disagrees); round 2: A 2 ms (agrees), B 5 ms (agrees)
    assert by_case["matmulinteger-256"]["seconds"] == 2e-3 and by_case["matmulinteger-256"]["agrees"]
    assert by_case["qlinearmatmul-256"]["seconds"] == 1e-3 and by_case["qlinearmatmul-256"]["agrees"] is False
    assert all(r["rounds"] == 2 for r in rows)
    with pytest.raises(ValueError, match="rounds"):
        kernels.run_comparison(["matmulinteger-256"], rounds=0)
