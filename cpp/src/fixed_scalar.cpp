// fixedq kernels: the elementwise fixed-point kernels compiled for the "scalar" instruction set.
// The flags of this file are set in CMakeLists.txt (set_source_files_properties); the body is
// cpp/include/fixedq/kernels/fixed/impl.inc, compiled here into fixedq::kernels::scalar.
#include <fixedq/kernels/fixed/kernels.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>

#define FIXEDQ_KERNEL_ISA_NAME "scalar"

namespace fixedq::kernels::scalar {
// Divide in int64: without 64-bit vector compares (SSE2) the double version runs one element
// at a time, and measured slower than int64 division on Zen 4 (see divide_kernel in impl.inc).
#define FIXEDQ_KERNEL_DIVIDE_IN_DOUBLE 0
#define FIXEDQ_KERNEL_NS scalar
#include <fixedq/kernels/fixed/impl.inc>
#undef FIXEDQ_KERNEL_NS
#undef FIXEDQ_KERNEL_DIVIDE_IN_DOUBLE
}  // namespace fixedq::kernels::scalar
