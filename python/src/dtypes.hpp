// fixedq._core: registration of the fixed-point scalar types and NumPy dtypes.
#pragma once

#include <Python.h>

/// Adds Fixed8_8 ... Q31 (scalar types registered as NumPy dtypes, with casts and ufunc
/// loops) and the policy hooks to `module`. Returns 0, or -1 with a Python error set.
int fixedq_register_dtypes(PyObject* module);
