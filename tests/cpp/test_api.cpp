// fixedq tests: API facts that are not arithmetic: the exception hierarchy and what the checked
// policy throws, noexcept-ness of the try_* forms, streams of other character types, and the
// Specification examples of the contract.
#include <sstream>
#include <stdexcept>
#include <type_traits>

#include "test_support.hpp"

namespace fqt {
namespace {

using Checked8_8 = fixedq::Fixed<8, 8, rnd::half_even, ovf::checked>;

TEST(Api, ExceptionHierarchy) {
  static_assert(std::is_base_of_v<std::overflow_error, fixedq::overflow_error>);
  static_assert(std::is_base_of_v<std::domain_error, fixedq::domain_error>);
  static_assert(std::is_base_of_v<fixedq::domain_error, fixedq::division_by_zero>);
  static_assert(std::is_base_of_v<std::domain_error, fixedq::division_by_zero>);
  const Checked8_8 one(1), zero(0), big = std::numeric_limits<Checked8_8>::max();
  EXPECT_THROW((void)(big + one), fixedq::overflow_error);
  EXPECT_THROW((void)(big * big), std::overflow_error);
  EXPECT_THROW((void)(one / zero), fixedq::division_by_zero);
  EXPECT_THROW((void)(zero / zero), std::domain_error);
  EXPECT_THROW((void)(one / 0), fixedq::division_by_zero);
  EXPECT_THROW((void)Checked8_8(std::nan("")), fixedq::domain_error);
  EXPECT_THROW((void)Checked8_8(HUGE_VAL), fixedq::overflow_error);
  EXPECT_THROW((void)Checked8_8(1000), fixedq::overflow_error);
  EXPECT_THROW((void)fixedq::sqrt(-one), fixedq::domain_error);
  EXPECT_THROW((void)fixedq::fmod(one, zero), fixedq::domain_error);
  EXPECT_THROW((void)static_cast<std::int8_t>(big), fixedq::overflow_error);
  try {
    (void)(big + one);
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()), "");
  }
}

TEST(Api, NonThrowingForms) {
  const Checked8_8 one(1), zero(0), big = std::numeric_limits<Checked8_8>::max();
  static_assert(noexcept(fixedq::try_add(one, one)) && noexcept(fixedq::try_sub(one, one)) &&
                noexcept(fixedq::try_mul(one, one)) && noexcept(fixedq::try_div(one, one)) &&
                noexcept(fixedq::try_neg(one)) && noexcept(fixedq::try_convert<Checked8_8>(1.0)) &&
                noexcept(fixedq::try_convert<Checked8_8>(one)) && noexcept(fixedq::try_convert<Checked8_8>(7)));
  EXPECT_FALSE(fixedq::try_add(big, one).has_value());
  EXPECT_FALSE(fixedq::try_div(one, zero).has_value());
  EXPECT_FALSE(fixedq::try_div(zero, zero).has_value());
  EXPECT_FALSE(fixedq::try_convert<Checked8_8>(std::nan("")).has_value());
  EXPECT_EQ(fixedq::try_add(one, one), Checked8_8(2));
}

TEST(Api, StreamsOfOtherCharacterTypes) {
  std::wostringstream w;
  w << fixedq::Q7(-0.5) << L" " << fixedq::Fixed<16, 0>(-32768) << L" " << fixedq::UFixed<0, 8>::from_raw(1);
  EXPECT_EQ(w.str(), L"-0.5 -32768 0.00390625");
  std::ostringstream n;
  n << fixedq::Fixed8_8(3) << ' ' << fixedq::Fixed8_8::from_raw(-1);
  EXPECT_EQ(n.str(), "3.0 -0.00390625");
}

// The examples the contract (API.md) gives.
TEST(Api, ContractExamples) {
  EXPECT_EQ(fixedq::to_string(fixedq::Fixed8_8(1.5)), "1.5");
  EXPECT_EQ(fixedq::to_string(fixedq::Fixed8_8::from_raw(-1)), "-0.00390625");
  EXPECT_EQ(fixedq::to_string(fixedq::Fixed8_8(3)), "3.0");
  EXPECT_EQ(fixedq::to_string(fixedq::Fixed<8, 0>(3)), "3");
  EXPECT_EQ(fixedq::to_string(std::numeric_limits<fixedq::Fixed<64, 0>>::lowest()), "-9223372036854775808");
  EXPECT_EQ(fixedq::to_string(std::numeric_limits<fixedq::Q31>::lowest()), "-1.0");
  // Division by zero: saturate -> max/lowest/0, wrap -> 0 (as ARM SDIV).
  using W = fixedq::Fixed16_16::with_policy<rnd::half_even, ovf::wrap>;
  EXPECT_EQ(fixedq::Fixed16_16(-3) / fixedq::Fixed16_16(0), std::numeric_limits<fixedq::Fixed16_16>::lowest());
  EXPECT_EQ((W(5) / W(0)).raw(), 0);
  // NaN -> 0; +-inf -> max/lowest under saturate and wrap.
  EXPECT_EQ(W(std::nan("")).raw(), 0);
  EXPECT_EQ(W(-HUGE_VAL), std::numeric_limits<W>::lowest());
  // wrap: the exact rounded result modulo 2^(I+F).
  EXPECT_EQ((fixedq::Q7::with_policy<rnd::half_even, ovf::wrap>(0.75) + fixedq::Q7::with_policy<rnd::half_even, ovf::wrap>(0.5)).raw(),
            -96);  // 1.25 -> -0.75
}

}  // namespace
}  // namespace fqt
