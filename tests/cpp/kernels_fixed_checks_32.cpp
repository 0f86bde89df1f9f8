// fixedq kernel tests: the checks of the 32-bit formats with kernels (Q31, Fixed16_16,
// Fixed24_8), compiled here once for fixedq_kernel_tests (see kernels_fixed_checks.hpp).
#include "kernels_fixed_checks.hpp"

namespace fixedq_kernel_tests {

FIXEDQ_KERNEL_TEST_CHECKS(/* definition */, 32, 31)
FIXEDQ_KERNEL_TEST_CHECKS(/* definition */, 32, 16)
FIXEDQ_KERNEL_TEST_CHECKS(/* definition */, 32, 8)

}  // namespace fixedq_kernel_tests
