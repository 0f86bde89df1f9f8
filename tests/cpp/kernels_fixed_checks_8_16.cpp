// fixedq kernel tests: the checks of the 8- and 16-bit formats with kernels (Q7, Q15,
// Fixed8_8), compiled here once for fixedq_kernel_tests (see kernels_fixed_checks.hpp).
#include "kernels_fixed_checks.hpp"

namespace fixedq_kernel_tests {

FIXEDQ_KERNEL_TEST_CHECKS(/* definition */, 8, 7)
FIXEDQ_KERNEL_TEST_CHECKS(/* definition */, 16, 15)
FIXEDQ_KERNEL_TEST_CHECKS(/* definition */, 16, 8)

}  // namespace fixedq_kernel_tests
