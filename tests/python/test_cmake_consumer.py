"""A separate CMake project finds the installed package with find_package(fixedq CONFIG)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CONSUMER = Path(__file__).resolve().parents[1] / "cmake_consumer"


def run(command: list[str]) -> str:
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)
    assert result.returncode == 0, f"{' '.join(command)}\n{result.stdout}{result.stderr}"
    return result.stdout


@pytest.mark.skipif(shutil.which("cmake") is None, reason="cmake is not on PATH")
def test_find_package_from_python_package(tmp_path: Path) -> None:
    cmake_dir = run([sys.executable, "-m", "fixedq", "--cmake-dir"]).strip()
    build = tmp_path / "build"
    configure = ["cmake", "-S", str(CONSUMER), "-B", str(build), f"-Dfixedq_DIR={cmake_dir}"]
    if shutil.which("ninja"):
        configure += ["-G", "Ninja"]
    run(configure)
    run(["cmake", "--build", str(build)])
    binary = build / "fixedq_consumer"
    assert binary.is_file()
    out = run([str(binary)])
    assert out.startswith("fixedq_consumer: fixedq 0.1.0")
    assert out.rstrip().endswith("ok")
    # fixedq::kernels: the static kernels library shipped in the wheel, through find_package.
    out = run([str(build / "fixedq_consumer_kernels")])
    assert out.startswith("fixedq_consumer_kernels: int8 path ")
    assert out.rstrip().endswith("ok")
