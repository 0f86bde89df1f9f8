"""The README's C++ example compiles without warnings and prints exactly what the README says.

Each example is a fenced ```cpp block placed after the marker ``<!-- readme-example: cpp -->``;
the fenced ```text block that follows it is the program's exact standard output.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import fixedq

README = Path(__file__).resolve().parents[2] / "README.md"
MARKER = "<!-- readme-example: cpp -->"
EXAMPLE = re.compile(
    re.escape(MARKER) + r"\s*```cpp\n(?P<code>.*?)^```\s*?\n.*?^```text\n(?P<output>.*?)^```",
    re.DOTALL | re.MULTILINE,
)


def readme_examples() -> list[tuple[str, str]]:
    text = README.read_text(encoding="utf-8")
    examples = [(m["code"], m["output"]) for m in EXAMPLE.finditer(text)]
    assert len(examples) == text.count(MARKER), "every marker needs a ```cpp block then a ```text block"
    return examples


def find_cxx() -> str | None:
    for candidate in (os.environ.get("CXX"), "c++", "g++", "clang++"):
        if candidate and shutil.which(candidate):
            return shutil.which(candidate)
    return None


def test_readme_has_examples() -> None:
    assert readme_examples(), f"no {MARKER} example in {README}"


@pytest.mark.parametrize("std", ["c++17", "c++20"])
def test_readme_cpp_example(std: str, tmp_path: Path) -> None:
    cxx = find_cxx()
    if cxx is None:
        pytest.skip("no C++ compiler found (tried $CXX, c++, g++, clang++)")
    for index, (code, expected) in enumerate(readme_examples()):
        source = tmp_path / f"example{index}.cpp"
        binary = tmp_path / f"example{index}"
        source.write_text(code, encoding="utf-8")
        command = [
            cxx,
            f"-std={std}",
            "-Wall",
            "-Wextra",
            "-Werror",
            f"-I{fixedq.get_include()}",
            str(source),
            "-o",
            str(binary),
        ]
        build = subprocess.run(command, capture_output=True, text=True, check=False, timeout=300)
        assert build.returncode == 0, f"{' '.join(command)}\n{build.stdout}{build.stderr}"
        run = subprocess.run([str(binary)], capture_output=True, text=True, check=False, timeout=60)
        assert run.returncode == 0, run.stderr
        assert run.stdout == expected


PY_MARKER = "<!-- readme-example: python -->"
PY_EXAMPLE = re.compile(re.escape(PY_MARKER) + r"\s*```python\n(?P<code>.*?)^```", re.DOTALL | re.MULTILINE)


def test_readme_python_examples() -> None:
    """Every Python example of the README runs and prints what the README shows (doctest)."""
    import doctest

    text = README.read_text(encoding="utf-8")
    blocks = [m["code"] for m in PY_EXAMPLE.finditer(text)]
    assert blocks and len(blocks) == text.count(PY_MARKER)
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for index, block in enumerate(blocks):
        runner.run(parser.get_doctest(block, {}, f"README python example {index}", str(README), 0))
    result = runner.summarize(verbose=False)
    assert result.attempted > 0
    assert result.failed == 0, f"{result.failed} README example lines differ (doctest output above)"


def test_readme_spec_table_matches_the_core() -> None:
    """The README's table of named formats states what the C++ core computes."""
    text = README.read_text(encoding="utf-8")
    for f in fixedq.formats():
        row = f"| `{f['name']}` | `Fixed<{f['integer_bits']}, {f['fraction_bits']}>` | {f['raw_dtype']} | {f['min']} | {f['max']} |"
        assert row in text, f"README specification row for {f['name']} should read: {row}"
        assert f"= {f['resolution']} |" in text
