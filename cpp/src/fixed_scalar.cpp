// fixedq kernels: the elementwise fixed-point kernels compiled for the "scalar" instruction set.
// The flags of this file are set in CMakeLists.txt (set_source_files_properties); the body is
// cpp/include/fixedq/kernels/fixed/impl.inc, compiled here into fixedq::kernels::scalar.
#include <fixedq/kernels/fixed/kernels.hpp>

#include <cstddef>
#include <cstdint>
#include <utility>

#define FIXEDQ_KERNEL_ISA_NAME "scalar"

namespace fixedq::kernels::scalar {
#define FIXEDQ_KERNEL_NS scalar
#include <fixedq/kernels/fixed/impl.inc>
#undef FIXEDQ_KERNEL_NS
}  // namespace fixedq::kernels::scalar
