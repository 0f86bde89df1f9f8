// fixedq tests: compile-time facts. Almost everything here is a static_assert: if this file
// compiles, it passes (the one TEST below only lets ctest list it). Constant-expression
// arithmetic, the named formats, raw types, numeric_limits and the policy traits.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <type_traits>

#include <fixedq/fixedq.hpp>

namespace {

using namespace fixedq;  // NOLINT: a test of the public names
namespace rnd = fixedq::round;
namespace ovf = fixedq::overflow;

constexpr bool same_text(const char* a, const char* b) {
  for (; *a != '\0' && *a == *b; ++a, ++b) {
  }
  return *a == *b;
}

// --- version -----------------------------------------------------------------------------------
static_assert(FIXEDQ_VERSION_MAJOR == 0 && FIXEDQ_VERSION_MINOR == 1 && FIXEDQ_VERSION_PATCH == 0);
static_assert(same_text(FIXEDQ_VERSION_STRING, "0.1.0"));

// --- named formats are aliases of the one template, with the documented defaults ----------------
static_assert(std::is_same_v<Q7, Fixed<1, 7>>);
static_assert(std::is_same_v<Q15, Fixed<1, 15>>);
static_assert(std::is_same_v<Q31, Fixed<1, 31>>);
static_assert(std::is_same_v<Fixed8_8, Fixed<8, 8>>);
static_assert(std::is_same_v<Fixed16_16, Fixed<16, 16>>);
static_assert(std::is_same_v<Fixed24_8, Fixed<24, 8>>);
static_assert(std::is_same_v<Fixed32_32, Fixed<32, 32>>);
static_assert(std::is_same_v<Fixed<8, 8>, basic_fixed<true, 8, 8, rnd::half_even, ovf::saturate>>);
static_assert(std::is_same_v<UFixed<4, 4>, basic_fixed<false, 4, 4, rnd::half_even, ovf::saturate>>);
static_assert(std::is_same_v<Q15::rounding_policy, rnd::half_even>);
static_assert(std::is_same_v<Q15::overflow_policy, ovf::saturate>);
static_assert(std::is_same_v<Q15::with_policy<rnd::floor, ovf::wrap>, Fixed<1, 15, rnd::floor, ovf::wrap>>);
static_assert(std::is_same_v<Q15::with_policy<rnd::floor>, Fixed<1, 15, rnd::floor, ovf::saturate>>);

static_assert(Fixed24_8::integer_bits == 24 && Fixed24_8::fraction_bits == 8 && Fixed24_8::total_bits == 32);
static_assert(Q31::integer_bits == 1 && Q31::fraction_bits == 31 && Q31::total_bits == 32);
static_assert(UFixed<0, 64>::integer_bits == 0 && UFixed<0, 64>::total_bits == 64);

// --- raw types and layout ----------------------------------------------------------------------
static_assert(std::is_same_v<Q7::raw_type, std::int8_t>);
static_assert(std::is_same_v<Fixed8_8::raw_type, std::int16_t>);
static_assert(std::is_same_v<Fixed16_16::raw_type, std::int32_t>);
static_assert(std::is_same_v<Fixed32_32::raw_type, std::int64_t>);
static_assert(std::is_same_v<UFixed<0, 8>::raw_type, std::uint8_t>);
static_assert(std::is_same_v<UFixed<8, 8>::raw_type, std::uint16_t>);
static_assert(std::is_same_v<UFixed<16, 16>::raw_type, std::uint32_t>);
static_assert(std::is_same_v<UFixed<32, 32>::raw_type, std::uint64_t>);
static_assert(sizeof(Q7) == 1 && sizeof(Q15) == 2 && sizeof(Q31) == 4 && sizeof(Fixed32_32) == 8);
static_assert(std::is_trivially_copyable_v<Fixed16_16> && std::is_standard_layout_v<Fixed16_16>);
static_assert(Q7::is_signed && !UFixed<4, 4>::is_signed);
static_assert(is_fixed_v<Q7> && is_fixed_v<UFixed<0, 64>> && !is_fixed_v<int> && !is_fixed_v<double>);

// --- conversions are explicit --------------------------------------------------------------------
static_assert(!std::is_convertible_v<double, Q15> && std::is_constructible_v<Q15, double>);
static_assert(!std::is_convertible_v<float, Q15> && std::is_constructible_v<Q15, float>);
static_assert(!std::is_convertible_v<int, Q15> && std::is_constructible_v<Q15, int>);
static_assert(!std::is_convertible_v<Q15, double> && std::is_constructible_v<double, Q15>);
static_assert(!std::is_convertible_v<Q15, int> && std::is_constructible_v<int, Q15>);
static_assert(!std::is_convertible_v<Q7, Q15> && std::is_constructible_v<Q15, Q7>);
static_assert(!std::is_convertible_v<Q15, Q15::with_policy<rnd::floor>>);

// --- constant-expression arithmetic ------------------------------------------------------------
static_assert(Q7{}.raw() == 0);
static_assert((Q7::from_raw(64) + Q7::from_raw(32)).raw() == 96);
static_assert((Q7::from_raw(64) * Q7::from_raw(64)).raw() == 32);  // 0.5 * 0.5
static_assert(Fixed8_8(1.5).raw() == 384);
static_assert(Fixed8_8(-1.5).raw() == -384);
static_assert(Fixed8_8(2) * Fixed8_8(1.5) == Fixed8_8(3));
static_assert(Fixed16_16(1.0f).raw() == 65536);
static_assert((Fixed16_16(1) / Fixed16_16(3)).raw() == 21845);                            // 21845.33
static_assert((Fixed<16, 16, rnd::ceil>(1) / Fixed<16, 16, rnd::ceil>(3)).raw() == 21846);
static_assert(Fixed16_16(1) / 4 == Fixed16_16(0.25));
static_assert(Fixed16_16(0.25) * 4 == Fixed16_16(1) && 4 * Fixed16_16(0.25) == Fixed16_16(1));
static_assert(-Fixed8_8(1.5) == Fixed8_8(-1.5) && +Fixed8_8(1.5) == Fixed8_8(1.5));
static_assert(Fixed8_8(1) < Fixed8_8(2) && Fixed8_8(2) >= Fixed8_8(2) && Fixed8_8(1) != Fixed8_8(2));

// Round first, then overflow, and ties of both signs under each rounding policy: -2.5, 2.5.
static_assert(Fixed<8, 0, rnd::floor>(-2.5).raw() == -3 && Fixed<8, 0, rnd::floor>(2.5).raw() == 2);
static_assert(Fixed<8, 0, rnd::toward_zero>(-2.5).raw() == -2 && Fixed<8, 0, rnd::toward_zero>(2.5).raw() == 2);
static_assert(Fixed<8, 0, rnd::ceil>(-2.5).raw() == -2 && Fixed<8, 0, rnd::ceil>(2.5).raw() == 3);
static_assert(Fixed<8, 0, rnd::half_up>(-2.5).raw() == -2 && Fixed<8, 0, rnd::half_up>(2.5).raw() == 3);
static_assert(Fixed<8, 0, rnd::half_away>(-2.5).raw() == -3 && Fixed<8, 0, rnd::half_away>(2.5).raw() == 3);
static_assert(Fixed<8, 0, rnd::half_even>(-2.5).raw() == -2 && Fixed<8, 0, rnd::half_even>(2.5).raw() == 2);
static_assert(Fixed<8, 0, rnd::half_even>(-3.5).raw() == -4 && Fixed<8, 0, rnd::half_even>(3.5).raw() == 4);
static_assert(Fixed<8, 0, rnd::half_up>(127.5).raw() == 127);  // rounds to 128, then saturates

// Overflow policies.
constexpr auto q7_max = Q7::from_raw(127);
constexpr auto q7_eps = Q7::from_raw(1);
static_assert(q7_max + q7_eps == std::numeric_limits<Q7>::max());                            // saturate
static_assert((Fixed<1, 7, rnd::half_even, ovf::wrap>::from_raw(127) +
               Fixed<1, 7, rnd::half_even, ovf::wrap>::from_raw(1)).raw() == -128);           // wrap
static_assert(!try_add(q7_max, q7_eps).has_value() && try_add(q7_eps, q7_eps)->raw() == 2);
static_assert(!try_neg(Q7::from_raw(-128)).has_value() && try_neg(q7_max)->raw() == -127);
static_assert((-Q7::from_raw(-128)).raw() == 127);
static_assert(Q7(1.0) == q7_max && Q7(-2.0) == std::numeric_limits<Q7>::lowest());
static_assert(UFixed<4, 4>(-1.0).raw() == 0 && UFixed<4, 4, rnd::floor, ovf::wrap>(-1.0).raw() == 0xF0);

// Division by zero: saturate -> max/lowest/0, wrap -> 0.
static_assert(Fixed8_8(1) / Fixed8_8(0) == std::numeric_limits<Fixed8_8>::max());
static_assert(Fixed8_8(-1) / Fixed8_8(0) == std::numeric_limits<Fixed8_8>::lowest());
static_assert((Fixed8_8(0) / Fixed8_8(0)).raw() == 0);
static_assert((Fixed<8, 8, rnd::half_even, ovf::wrap>(1) / Fixed<8, 8, rnd::half_even, ovf::wrap>(0)).raw() == 0);
static_assert(!try_div(Fixed8_8(1), Fixed8_8(0)).has_value());

// Conversions out and between formats.
static_assert(static_cast<int>(Fixed8_8(2.5)) == 2 && static_cast<int>(Fixed8_8(-2.5)) == -2);
static_assert(static_cast<int>(Fixed<8, 8, rnd::floor>(-2.5)) == -3);
static_assert(static_cast<std::uint8_t>(Fixed16_16(300)) == 255);  // saturates into the integer
static_assert(static_cast<double>(Q15::from_raw(-16384)) == -0.5);
static_assert(static_cast<float>(Fixed8_8(1.25)) == 1.25f);
static_assert(Q15(Q7::from_raw(64)).raw() == 16384);
static_assert(Q7(Q15::from_raw(16448)).raw() == 64);    // 0.501953125 -> 0.5
static_assert(Q7(Fixed8_8(5)) == q7_max);                // saturates
static_assert(try_convert<Q7>(Fixed8_8(5)) == std::nullopt);
static_assert(try_convert<Q7>(0.5)->raw() == 64 && try_convert<Q7>(3) == std::nullopt);

// NaN gives 0 and infinities the extremes, under saturate and wrap alike.
constexpr double nan = std::numeric_limits<double>::quiet_NaN();
constexpr double inf = std::numeric_limits<double>::infinity();
static_assert(Q7(nan).raw() == 0 && Fixed<1, 7, rnd::floor, ovf::wrap>(nan).raw() == 0);
static_assert(Q7(inf) == q7_max && Fixed<1, 7, rnd::floor, ovf::wrap>(-inf).raw() == -128);
static_assert(!try_convert<Q7>(nan).has_value() && !try_convert<Q7>(-inf).has_value());

// math.hpp in constant expressions.
static_assert(fixedq::abs(Fixed8_8(-1.5)) == Fixed8_8(1.5));
static_assert(fixedq::floor(Fixed8_8(-1.5)) == Fixed8_8(-2) && fixedq::ceil(Fixed8_8(-1.5)) == Fixed8_8(-1));
static_assert(fixedq::trunc(Fixed8_8(-1.5)) == Fixed8_8(-1) && fixedq::core::round(Fixed8_8(-1.5)) == Fixed8_8(-2));
static_assert(fixedq::core::round(Fixed8_8(2.5)) == Fixed8_8(3) && fixedq::rint(Fixed8_8(2.5)) == Fixed8_8(2));
static_assert(fixedq::sqrt(Fixed16_16(2)).raw() == 92682 && fixedq::sqrt(Fixed16_16(4)) == Fixed16_16(2));
static_assert(fixedq::fmod(Fixed8_8(-7), Fixed8_8(2)) == Fixed8_8(-1));

// Widening multiply is exact.
static_assert(std::is_same_v<decltype(multiply(Q7{}, Q7{})), Fixed<2, 14>>);
static_assert(multiply(Q7::from_raw(-128), Q7::from_raw(-128)).raw() == 16384);  // (-1)^2 = 1.0
static_assert(std::is_same_v<decltype(multiply(UFixed<8, 8>{}, UFixed<8, 8>{})), UFixed<16, 16>>);
static_assert(multiply<Fixed8_8>(Q7(0.5), Fixed<4, 4>(3)) == Fixed8_8(1.5));
static_assert(divide<Fixed8_8>(Q7(0.5), Fixed<4, 4>(0.25)) == Fixed8_8(2));

// --- numeric_limits ------------------------------------------------------------------------------
using L15 = std::numeric_limits<Q15>;
static_assert(L15::is_specialized && L15::is_signed && !L15::is_integer && L15::is_exact && L15::radix == 2);
static_assert(L15::max().raw() == 32767 && L15::lowest().raw() == -32768 && L15::min() == L15::lowest());
static_assert(L15::epsilon().raw() == 1 && L15::digits == 15 && !L15::is_modulo && L15::is_bounded);
static_assert(std::numeric_limits<Fixed<16, 16, rnd::floor, ovf::wrap>>::is_modulo);
static_assert(!std::numeric_limits<Fixed<16, 16, rnd::floor, ovf::checked>>::is_modulo);
static_assert(std::numeric_limits<Fixed<16, 0>>::is_integer && !std::numeric_limits<UFixed<8, 8>>::is_signed);
static_assert(std::numeric_limits<UFixed<0, 64>>::max().raw() == 0xFFFFFFFFFFFFFFFFu);
static_assert(std::numeric_limits<Fixed<1, 63>>::lowest().raw() == std::numeric_limits<std::int64_t>::lowest());
static_assert(std::numeric_limits<Fixed<8, 8, rnd::floor>>::round_style == std::round_toward_neg_infinity);
static_assert(std::numeric_limits<Fixed<8, 8, rnd::half_up>>::round_style == std::round_to_nearest);

// --- policies --------------------------------------------------------------------------------------
static_assert(is_rounding_policy_v<rnd::floor> && is_rounding_policy_v<rnd::half_even> && !is_rounding_policy_v<int>);
static_assert(is_overflow_policy_v<ovf::wrap> && !is_overflow_policy_v<rnd::floor> && !is_rounding_policy_v<ovf::wrap>);
static_assert(same_text(rounding_name<rnd::toward_zero>(), "toward_zero"));
static_assert(same_text(rounding_name<rnd::half_away>(), "half_away"));
static_assert(same_text(overflow_name<ovf::checked>(), "checked"));
static_assert(std::is_empty_v<rnd::half_up> && std::is_empty_v<ovf::saturate>);

TEST(Static, CompileTimeFactsHold) { SUCCEED() << "test_static.cpp compiled, so its static_asserts hold"; }

}  // namespace
