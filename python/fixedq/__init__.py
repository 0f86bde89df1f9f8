"""fixedq: exact fixed-point numbers.

The C++ core is the header-only template ``fixedq::Fixed<I, F, Rounding, Overflow>``. This
package exposes its named formats as NumPy scalar types and dtypes (``Fixed8_8``,
``Fixed16_16``, ``Fixed24_8``, ``Fixed32_32``, ``Q7``, ``Q15``, ``Q31``) computed by that
core, the rounding/overflow policy controls (:func:`policy`, :func:`add`, :func:`multiply`,
:func:`cast`, ...), and the headers themselves (:func:`get_include`, :func:`get_cmake_dir`).

:mod:`fixedq.ops` runs the ONNX quantization operators (QuantizeLinear, QLinearMatMul,
QLinearConv, ...) on NumPy arrays with the int8 kernels; :func:`set_num_threads` and
:func:`get_num_threads` control the threads of those kernels. (:func:`isa` names the path of the
fixed-point array kernels; ``fixedq.ops.isa()`` that of the int8 kernels.)
"""

from __future__ import annotations

from pathlib import Path

from . import _core
from ._core import Q7, Q15, Q31, Fixed8_8, Fixed16_16, Fixed24_8, Fixed32_32, __version__, build_info, formats, isa
from ._ops import add, cast, divide, multiply, subtract, sum  # noqa: A004 - fixedq.sum
from ._policy import OVERFLOWS, ROUNDINGS, Policy, get_policy, policy
from . import nn, ops, quant  # noqa: E402 - subpackages after the core names they use
from .nn import QuantConfig, load, quantize
from .ops import get_num_threads, set_num_threads

__all__ = [
    "OVERFLOWS",
    "ROUNDINGS",
    "Fixed8_8",
    "Fixed16_16",
    "Fixed24_8",
    "Fixed32_32",
    "Policy",
    "Q7",
    "Q15",
    "Q31",
    "QuantConfig",
    "__version__",
    "add",
    "build_info",
    "cast",
    "divide",
    "formats",
    "get_cmake_dir",
    "get_include",
    "get_num_threads",
    "get_policy",
    "isa",
    "load",
    "multiply",
    "nn",
    "ops",
    "policy",
    "quant",
    "quantize",
    "set_num_threads",
    "subtract",
    "sum",
]

# The scalar types are defined in fixedq._core but belong to the public namespace.
for _t in (Fixed8_8, Fixed16_16, Fixed24_8, Fixed32_32, Q7, Q15, Q31):
    assert _t.__module__ == __name__, _t
del _t

# A wheel puts include/, share/ and _core beside this file. An editable install
# (pip install -e .) leaves this file in the source tree and puts them beside _core in
# site-packages.
_PACKAGE_DIR = Path(__file__).resolve().parent
_CORE_DIR = Path(_core.__file__).resolve().parent


def get_include() -> str:
    """Return the directory holding the fixedq C++ headers.

    Add it to the compiler's include path and write ``#include <fixedq/fixedq.hpp>``.

    Returns
    -------
    str
        ``<site-packages>/fixedq/include`` for an installed package; for an editable
        install, the source tree's ``cpp/include`` (the headers being edited).

    Raises
    ------
    FileNotFoundError
        If neither location holds ``fixedq/fixedq.hpp``.

    Examples
    --------
    >>> import os, fixedq
    >>> os.path.isfile(os.path.join(fixedq.get_include(), "fixedq", "fixedq.hpp"))
    True
    """
    for candidate in (
        _PACKAGE_DIR / "include",
        _PACKAGE_DIR.parent.parent / "cpp" / "include",  # editable: python/fixedq -> cpp/include
        _CORE_DIR / "include",
    ):
        if (candidate / "fixedq" / "fixedq.hpp").is_file():
            return str(candidate)
    msg = f"fixedq C++ headers not found next to {_PACKAGE_DIR}; reinstall fixedq"
    raise FileNotFoundError(msg)


def get_cmake_dir() -> str:
    """Return the directory holding ``fixedqConfig.cmake``.

    Pass it to CMake as ``-Dfixedq_DIR=...`` so that ``find_package(fixedq CONFIG)`` finds the
    headers that came with this package.

    Returns
    -------
    str
        ``<site-packages>/fixedq/share/cmake/fixedq``.

    Raises
    ------
    FileNotFoundError
        If the package was installed without its CMake files.
    """
    for package_dir in (_PACKAGE_DIR, _CORE_DIR):
        candidate = package_dir / "share" / "cmake" / "fixedq"
        if (candidate / "fixedqConfig.cmake").is_file():
            return str(candidate)
    msg = f"fixedq CMake package files not found beside {_CORE_DIR}; reinstall fixedq"
    raise FileNotFoundError(msg)
