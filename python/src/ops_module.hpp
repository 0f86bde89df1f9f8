// fixedq._core.ops: the int8 kernels on NumPy arrays (python/src/ops_module.cpp).
#pragma once

#include <pybind11/pybind11.h>

/// Adds the submodule `ops` to the extension module `core` (called from core_module.cpp).
void fixedq_register_ops(pybind11::module_& core);
