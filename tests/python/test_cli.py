"""`python -m fixedq` and the `fixedq` console script."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys

import fixedq
import fixedq.__main__ as cli


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fixedq", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_report() -> None:
    result = run_cli()
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    out = result.stdout
    assert out.startswith(f"fixedq {fixedq.__version__}\n")
    info = fixedq.build_info()
    assert info["compiler"] in out
    assert info["cxx_standard"] in out
    lines = out.splitlines()
    for f in fixedq.formats():
        # One table row per format carrying every value the C++ core computed.
        rows = [line.split() for line in lines if line.split()[:1] == [f["name"]]]
        assert len(rows) == 1, f["name"]
        assert rows[0] == [
            f["name"],
            str(f["integer_bits"]),
            str(f["fraction_bits"]),
            str(f["total_bits"]),
            f["raw_dtype"],
            f["min"],
            f["max"],
            f["resolution"],
            f["rounding"],
            f["overflow"],
        ]
    assert "32767.9999847412109375" in out


def test_include_flag() -> None:
    result = run_cli("--include")
    assert result.returncode == 0, result.stderr
    include = result.stdout.strip()
    assert include == fixedq.get_include()
    assert os.path.isfile(os.path.join(include, "fixedq", "fixedq.hpp"))


def test_cmake_dir_flag() -> None:
    result = run_cli("--cmake-dir")
    assert result.returncode == 0, result.stderr
    cmake_dir = result.stdout.strip()
    assert cmake_dir == fixedq.get_cmake_dir()
    assert os.path.isfile(os.path.join(cmake_dir, "fixedqConfig.cmake"))


def test_version_flag() -> None:
    result = run_cli("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"fixedq {fixedq.__version__}"


def test_bad_flag_fails() -> None:
    result = run_cli("--no-such-flag")
    assert result.returncode == 2
    assert "usage: fixedq" in result.stderr


def test_console_script_entry_point() -> None:
    eps = importlib.metadata.entry_points()
    if hasattr(eps, "select"):  # Python >= 3.10
        scripts = list(eps.select(group="console_scripts"))
    else:  # Python 3.9: a dict of groups
        scripts = list(eps.get("console_scripts", []))  # type: ignore[attr-defined]
    (entry,) = [ep for ep in scripts if ep.name == "fixedq"]
    assert entry.value == "fixedq.__main__:main"
    assert entry.load() is cli.main


def test_main_in_process(capsys) -> None:  # type: ignore[no-untyped-def]
    assert cli.main(["--include"]) == 0
    assert capsys.readouterr().out.strip() == fixedq.get_include()


def test_closed_stdout_is_not_a_traceback() -> None:
    """`python -m fixedq | head -1` must not end in a BrokenPipeError traceback."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # every write to the pipe now fails with EPIPE
    try:
        result = subprocess.run(
            [sys.executable, "-m", "fixedq"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
            timeout=120,
        )
    finally:
        os.close(write_end)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 1
