// fixedq kernels: the elementwise fixed-point kernels compiled for the "avx512" instruction set.
// The flags of this file are set in CMakeLists.txt (set_source_files_properties); the body is
// cpp/include/fixedq/kernels/fixed/impl.inc, compiled here into fixedq::kernels::avx512.
#include <fixedq/kernels/fixed/kernels.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>

#define FIXEDQ_KERNEL_ISA_NAME "avx512"

namespace fixedq::kernels::avx512 {
// Divide through doubles: vectorised here (see divide_kernel_double in impl.inc).
#define FIXEDQ_KERNEL_DIVIDE_IN_DOUBLE 1
#define FIXEDQ_KERNEL_NS avx512
#include <fixedq/kernels/fixed/impl.inc>
#undef FIXEDQ_KERNEL_NS
#undef FIXEDQ_KERNEL_DIVIDE_IN_DOUBLE
}  // namespace fixedq::kernels::avx512
