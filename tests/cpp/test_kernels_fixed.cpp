// fixedq kernels: every instruction set's elementwise kernels against the scalar core.
//
// The specification of a kernel is the core's scalar operation on
// fixedq::Fixed<Bits - F, F, R, O> (detail::add/subtract/multiply_into/divide_into/
// from_double and the conversion to double). For every instruction set this CPU has,
// every format with kernels and all 18 policies, the kernel must give the same bits and
// the same flags on edge values and random data. Lengths are not multiples of any vector
// width, so tails are exercised (and checked by ASan in the sanitizer build). An ISA the
// CPU lacks is skipped, never failed.
#include "kernels_fixed_checks.hpp"

namespace {

using namespace fixedq_kernel_tests;  // NOLINT: the checks and k::

class FixedKernels : public ::testing::TestWithParam<const char*> {};

TEST_P(FixedKernels, MatchTheScalarCoreBitForBit) {
  const k::fixed_kernel_table* t = k::fixed_kernels_for(GetParam());
  if (t == nullptr) GTEST_SKIP() << "this CPU (or build) lacks " << GetParam();
  std::printf("kernel seed %" PRIu64 " (repeat with FIXEDQ_TEST_SEED=%" PRIu64 ")\n", test_seed(), test_seed());
  check_format<8, 7>(*t, k::q7_format, "Q7");
  check_format<16, 15>(*t, k::q15_format, "Q15");
  check_format<16, 8>(*t, k::fixed8_8_format, "Fixed8_8");
  check_format<32, 31>(*t, k::q31_format, "Q31");
  check_format<32, 16>(*t, k::fixed16_16_format, "Fixed16_16");
  check_format<32, 8>(*t, k::fixed24_8_format, "Fixed24_8");
}

TEST_P(FixedKernels, DivideEdgesMatchTheScalarCoreBitForBit) {
  const k::fixed_kernel_table* t = k::fixed_kernels_for(GetParam());
  if (t == nullptr) GTEST_SKIP() << "this CPU (or build) lacks " << GetParam();
  std::printf("kernel seed %" PRIu64 " (repeat with FIXEDQ_TEST_SEED=%" PRIu64 ")\n", test_seed(), test_seed());
  check_divide<8, 7>(*t, k::q7_format, "Q7");
  check_divide<16, 15>(*t, k::q15_format, "Q15");
  check_divide<16, 8>(*t, k::fixed8_8_format, "Fixed8_8");
  check_divide<32, 31>(*t, k::q31_format, "Q31");
  check_divide<32, 16>(*t, k::fixed16_16_format, "Fixed16_16");
  check_divide<32, 8>(*t, k::fixed24_8_format, "Fixed24_8");
}

INSTANTIATE_TEST_SUITE_P(Isa, FixedKernels, ::testing::Values("scalar", "avx2", "avx512"),
                         [](const auto& info) { return std::string(info.param); });

TEST(FixedKernels, DispatchNamesTheChosenSet) {
  const char* isa = k::fixed_kernels().isa;
  EXPECT_TRUE(k::fixed_kernels_for(isa) != nullptr) << isa;
  const char* forced = std::getenv("FIXEDQ_ISA");
  if (forced != nullptr && k::fixed_kernels_for(forced) != nullptr) {
    EXPECT_STREQ(isa, forced);
  }
}

}  // namespace
