"""The package imports, its metadata agrees with itself, and the format table is exact."""

from __future__ import annotations

import importlib.metadata
import os
from fractions import Fraction

import pytest

import fixedq

# name -> (signed, I, F): the named formats of <fixedq/fixed.hpp>; I counts the sign bit.
NAMED_FORMATS = {
    "Fixed8_8": (True, 8, 8),
    "Fixed16_16": (True, 16, 16),
    "Fixed24_8": (True, 24, 8),
    "Fixed32_32": (True, 32, 32),
    "Q7": (True, 1, 7),
    "Q15": (True, 1, 15),
    "Q31": (True, 1, 31),
}

BUILD_INFO_KEYS = {
    "version": str,
    "compiler": str,
    "cplusplus": int,
    "cxx_standard": str,
    "build_type": str,
    "cxx_flags": str,
    "int128": bool,
    "pybind11": str,
    "numpy_headers": str,
    "numpy_c_api": int,
    "architecture": str,
    "system_processor": str,
}


def exact_decimal(value: Fraction, fraction_bits: int) -> str:
    """Exact decimal of a multiple of 2**-fraction_bits, as fixedq::to_string writes it.

    Shortest digits, at least one after the point ("3.0"); no point when fraction_bits == 0.
    """
    assert (value * 2**fraction_bits).denominator == 1
    sign = "-" if value < 0 else ""
    value = abs(value)
    whole = value.numerator // value.denominator
    if fraction_bits == 0:
        return f"{sign}{whole}"
    # 2**-F == 5**F / 10**F, so F decimal digits hold the fraction exactly.
    digits = str(int((value - whole) * 10**fraction_bits)).rjust(fraction_bits, "0")
    return f"{sign}{whole}.{digits.rstrip('0') or '0'}"


def test_exact_decimal_helper() -> None:
    assert exact_decimal(Fraction(3, 2), 8) == "1.5"
    assert exact_decimal(Fraction(-1, 256), 8) == "-0.00390625"
    assert exact_decimal(Fraction(3), 8) == "3.0"
    assert exact_decimal(Fraction(3), 0) == "3"


def test_version_matches_metadata() -> None:
    assert fixedq.__version__ == importlib.metadata.version("fixedq")
    assert fixedq.build_info()["version"] == fixedq.__version__


# The public namespace, by kind: a name added to or dropped from fixedq.__all__ must be
# added here too, on purpose.
PUBLIC_TYPES = ["Fixed8_8", "Fixed16_16", "Fixed24_8", "Fixed32_32", "Q7", "Q15", "Q31"]
PUBLIC_FUNCTIONS = ["add", "build_info", "cast", "divide", "formats", "get_cmake_dir",
                    "get_include", "get_num_threads", "get_policy", "isa", "load", "multiply", "policy", "quantize",
                    "set_num_threads", "subtract", "sum"]
PUBLIC_CLASSES = ["Policy", "QuantConfig"]
PUBLIC_MODULES = ["nn", "ops", "quant"]
PUBLIC_CONSTANTS = ["OVERFLOWS", "ROUNDINGS", "__version__"]


def test_public_names() -> None:
    intended = PUBLIC_TYPES + PUBLIC_FUNCTIONS + PUBLIC_CLASSES + PUBLIC_CONSTANTS + PUBLIC_MODULES
    assert len(set(fixedq.__all__)) == len(fixedq.__all__), "a name is listed twice"
    assert sorted(fixedq.__all__) == sorted(intended)
    assert set(NAMED_FORMATS) == set(PUBLIC_TYPES)
    for name in fixedq.__all__:
        assert hasattr(fixedq, name), name
    # from fixedq import * gives exactly these names.
    namespace: dict = {}
    exec("from fixedq import *", namespace)
    assert set(namespace) - {"__builtins__"} == set(intended)


def own_doc(obj: object) -> str:
    """The docstring written for obj itself (a class must not just inherit one)."""
    if isinstance(obj, type):
        return obj.__dict__.get("__doc__") or ""
    return obj.__doc__ or ""


@pytest.mark.parametrize("name", PUBLIC_TYPES + PUBLIC_FUNCTIONS + PUBLIC_CLASSES + PUBLIC_MODULES)
def test_public_names_are_documented(name: str) -> None:
    obj = getattr(fixedq, name)
    doc = own_doc(obj)
    # A summary line that says something (the text signature of a builtin does not count).
    lines = [ln.strip() for ln in doc.strip().splitlines() if ln.strip()]
    summary = next((ln for ln in lines if not ln.startswith(f"{name}(")), "")
    assert len(summary) >= 20, f"fixedq.{name} needs a docstring, got {doc!r}"
    if name in PUBLIC_TYPES:
        signed, integer_bits, fraction_bits = NAMED_FORMATS[name]
        assert str(fraction_bits) in doc and "fraction" in doc, (name, doc)
    if name in ("add", "multiply", "cast", "sum", "policy", "get_include", "get_cmake_dir"):
        # numpydoc sections (the others refer to these).
        assert "Parameters\n" in doc or name in ("get_include", "get_cmake_dir"), name
        assert "Returns\n" in doc or "Yields\n" in doc, name


def test_public_constants() -> None:
    assert fixedq.ROUNDINGS == ("floor", "toward_zero", "ceil", "half_up", "half_away", "half_even")
    assert fixedq.OVERFLOWS == ("wrap", "saturate", "raise")
    assert isinstance(fixedq.__version__, str) and fixedq.__version__[0].isdigit()
    assert fixedq.__doc__ and "fixed-point" in fixedq.__doc__


def test_stubs_declare_the_compiled_names() -> None:
    """fixedq/_core.pyi declares every name the compiled module exports (and py.typed ships),
    so that type checkers see the public names that come from _core."""
    import ast
    from pathlib import Path

    package = Path(fixedq.__file__).resolve().parent
    assert (package / "py.typed").is_file()
    tree = ast.parse((package / "_core.pyi").read_text(encoding="utf-8"))
    declared = {node.name for node in tree.body
                if isinstance(node, (ast.ClassDef, ast.FunctionDef))}
    declared |= {node.target.id for node in tree.body
                 if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)}
    exported = {name for name in dir(fixedq._core) if not name.startswith("__")} | {"__version__"}
    assert exported <= declared, sorted(exported - declared)
    # The submodule fixedq._core.ops is described by the stub class `ops`.
    ops_stub = next(node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == "ops")
    declared_ops = {node.name for node in ops_stub.body if isinstance(node, (ast.ClassDef, ast.FunctionDef))}
    exported_ops = {name for name in dir(fixedq._core.ops) if not name.startswith("__")}
    assert exported_ops <= declared_ops, sorted(exported_ops - declared_ops)


def test_scalar_types_belong_to_fixedq() -> None:
    for name in PUBLIC_TYPES:
        t = getattr(fixedq, name)
        assert t.__module__ == "fixedq" and t.__name__ == name


def test_build_info() -> None:
    info = fixedq.build_info()
    assert set(info) == set(BUILD_INFO_KEYS)
    for key, kind in BUILD_INFO_KEYS.items():
        assert isinstance(info[key], kind), (key, info[key])
    assert info["cplusplus"] >= 201703
    assert info["cxx_standard"].startswith("C++")
    assert info["compiler"]
    assert info["pybind11"].split(".")[0] >= "3"
    assert int(info["numpy_headers"].split(".")[0]) >= 2, "build against NumPy 2 headers"
    assert "fast-math" not in info["cxx_flags"]
    assert "-Ofast" not in info["cxx_flags"]


@pytest.mark.parametrize("name", NAMED_FORMATS)
def test_format_table_is_exact(name: str) -> None:
    table = {f["name"]: f for f in fixedq.formats()}
    signed, integer_bits, fraction_bits = NAMED_FORMATS[name]
    total_bits = integer_bits + fraction_bits
    lowest = Fraction(-(2 ** (total_bits - 1)) if signed else 0, 2**fraction_bits)
    highest = Fraction(2 ** (total_bits - 1 if signed else total_bits) - 1, 2**fraction_bits)
    expected = {
        "name": name,
        "signed": signed,
        "integer_bits": integer_bits,
        "fraction_bits": fraction_bits,
        "total_bits": total_bits,
        "raw_dtype": f"{'int' if signed else 'uint'}{total_bits}",
        "min": exact_decimal(lowest, fraction_bits),
        "max": exact_decimal(highest, fraction_bits),
        "resolution": exact_decimal(Fraction(1, 2**fraction_bits), fraction_bits),
        "rounding": "half_even",
        "overflow": "saturate",
    }
    assert table[name] == expected


def test_format_table_spot_values() -> None:
    """A few values written out by hand, so the helper above is not the only witness."""
    table = {f["name"]: f for f in fixedq.formats()}
    assert [f["name"] for f in fixedq.formats()] == list(NAMED_FORMATS)
    assert table["Fixed16_16"]["max"] == "32767.9999847412109375"
    assert table["Fixed16_16"]["min"] == "-32768.0"
    assert table["Fixed16_16"]["resolution"] == "0.0000152587890625"
    assert table["Fixed8_8"]["max"] == "127.99609375"
    assert table["Q7"]["min"] == "-1.0"
    assert table["Q7"]["max"] == "0.9921875"
    assert table["Q15"]["max"] == "0.999969482421875"
    assert table["Q31"]["resolution"] == "0.0000000004656612873077392578125"
    assert table["Fixed32_32"]["max"] == "2147483647.99999999976716935634613037109375"
    assert table["Fixed24_8"]["raw_dtype"] == "int32"


def test_get_include_has_headers() -> None:
    include = fixedq.get_include()
    for header in ("fixedq.hpp", "fixed.hpp", "policy.hpp", "math.hpp", "io.hpp", "version.hpp"):
        assert os.path.isfile(os.path.join(include, "fixedq", header)), header


def test_get_cmake_dir_has_config() -> None:
    cmake_dir = fixedq.get_cmake_dir()
    for name in ("fixedqConfig.cmake", "fixedqConfigVersion.cmake", "fixedqTargets.cmake"):
        assert os.path.isfile(os.path.join(cmake_dir, name)), name
