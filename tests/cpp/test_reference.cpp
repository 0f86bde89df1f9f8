// fixedq tests: the reference checked on its own. Hand-computed cases from the contract, an
// independent floating-point cross-check of its rounding, and agreement between its three
// integer types. A wrong reference would make every other test meaningless.
#include <cmath>

#include "batteries.hpp"

namespace fqt {
namespace {

using ref::Rounding;

TEST(Reference, RoundDivHandTable) {
  struct Case {
    long n, d;
    long floor, toward_zero, ceil, half_up, half_away, half_even;
  };
  const Case cases[] = {
      {5, 2, 2, 2, 3, 3, 3, 2},         {-5, 2, -3, -2, -2, -2, -3, -2},
      {7, 2, 3, 3, 4, 4, 4, 4},         {-7, 2, -4, -3, -3, -3, -4, -4},
      {1, 2, 0, 0, 1, 1, 1, 0},         {-1, 2, -1, 0, 0, 0, -1, 0},
      {1, 3, 0, 0, 1, 0, 0, 0},         {-1, 3, -1, 0, 0, 0, 0, 0},
      {2, 3, 0, 0, 1, 1, 1, 1},         {-2, 3, -1, 0, 0, -1, -1, -1},
      {6, 3, 2, 2, 2, 2, 2, 2},         {-6, -3, 2, 2, 2, 2, 2, 2},
      {5, -2, -3, -2, -2, -2, -3, -2},  {0, 7, 0, 0, 0, 0, 0, 0},
      {-3, 4, -1, 0, 0, -1, -1, -1},    {-128, 256, -1, 0, 0, 0, -1, 0},
      {383, 256, 1, 1, 2, 1, 1, 1},     {384, 256, 1, 1, 2, 2, 2, 2},
  };
  for (const Case& c : cases) {
    const long want[6] = {c.floor, c.toward_zero, c.ceil, c.half_up, c.half_away, c.half_even};
    for (int r = 0; r < 6; ++r) {
      const auto mode = ref::all_roundings[r];
      EXPECT_EQ(ref::round_div<std::int64_t>(c.n, c.d, mode), want[r])
          << c.n << "/" << c.d << " " << ref::name(mode);
      EXPECT_EQ(ref::round_div<big>(c.n, c.d, mode), want[r]) << c.n << "/" << c.d << " " << ref::name(mode);
    }
  }
}

// For small n and d the double n/d is within far less than 1/(2d) of the exact quotient and is
// exact at ties, so the C library's rounding functions give the same integers.
TEST(Reference, RoundDivAgreesWithLibm) {
  for (long n = -300; n <= 300; ++n) {
    for (long d = -20; d <= 20; ++d) {
      if (d == 0) continue;
      const double x = static_cast<double>(n) / static_cast<double>(d);
      const double want[6] = {std::floor(x), std::trunc(x), std::ceil(x), std::floor(x + 0.5),
                              std::round(x), std::nearbyint(x)};
      for (int r = 0; r < 6; ++r) {
        ASSERT_EQ(static_cast<double>(ref::round_div<std::int64_t>(n, d, ref::all_roundings[r])), want[r])
            << n << "/" << d << " " << ref::name(ref::all_roundings[r]);
      }
    }
  }
}

TEST(Reference, IntegerTypesAgree) {
  Rng rng = rng_for_this_test();
  for (int i = 0; i < 20000; ++i) {
    const auto n = static_cast<std::int64_t>(rng.next() >> (1 + rng.below(63))) * ((rng.next() & 1) ? 1 : -1);
    // |n| < 2^63 and 0 < d < 2^61: 2 * remainder must fit the int64_t reference too.
    auto d = static_cast<std::int64_t>(rng.next() >> (3 + rng.below(61)));
    if (d == 0) d = 1;
    for (const Rounding r : ref::all_roundings) {
      const i128 a = ref::round_div<i128>(n, d, r);
      const big b = ref::round_div<big>(n, d, r);
      ASSERT_EQ(ref::round_div<std::int64_t>(n, d, r), a) << n << "/" << d << " " << ref::name(r) << "; " << rerun_command();
      ASSERT_TRUE(big(a) == b) << n << "/" << d << " " << ref::name(r) << "; " << rerun_command();
    }
  }
}

TEST(Reference, ResolveOverflowPolicies) {
  const ref::Format q7{true, 1, 7};
  const ref::Format u8{false, 0, 8};
  const auto value = [](const ref::Result<std::int64_t>& r) {
    EXPECT_EQ(r.status, ref::Status::value);
    return r.raw;
  };
  using E = ref::Exact<std::int64_t>;
  EXPECT_EQ(value(ref::resolve(ref::finite<std::int64_t>(128), q7, ref::Overflow::wrap)), -128);
  EXPECT_EQ(value(ref::resolve(ref::finite<std::int64_t>(256), q7, ref::Overflow::wrap)), 0);
  EXPECT_EQ(value(ref::resolve(ref::finite<std::int64_t>(-129), q7, ref::Overflow::wrap)), 127);
  EXPECT_EQ(value(ref::resolve(ref::finite<std::int64_t>(-1), u8, ref::Overflow::wrap)), 255);
  EXPECT_EQ(value(ref::resolve(ref::finite<std::int64_t>(-1), u8, ref::Overflow::saturate)), 0);
  EXPECT_EQ(value(ref::resolve(ref::finite<std::int64_t>(1000), q7, ref::Overflow::saturate)), 127);
  EXPECT_EQ(value(ref::resolve(ref::finite<std::int64_t>(-1000), q7, ref::Overflow::saturate)), -128);
  EXPECT_EQ(ref::resolve(ref::finite<std::int64_t>(128), q7, ref::Overflow::checked).status, ref::Status::overflow);
  EXPECT_EQ(value(ref::resolve(ref::finite<std::int64_t>(127), q7, ref::Overflow::checked)), 127);
  // Division by zero, NaN, infinities.
  const E pos_div0 = ref::special<std::int64_t>(E::divided_by_zero, 1);
  EXPECT_EQ(value(ref::resolve(pos_div0, q7, ref::Overflow::saturate)), 127);
  EXPECT_EQ(value(ref::resolve(pos_div0, q7, ref::Overflow::wrap)), 0);
  EXPECT_EQ(ref::resolve(pos_div0, q7, ref::Overflow::checked).status, ref::Status::division_by_zero);
  EXPECT_EQ(value(ref::resolve(ref::special<std::int64_t>(E::divided_by_zero, 0), q7, ref::Overflow::saturate)), 0);
  EXPECT_EQ(value(ref::resolve(ref::special<std::int64_t>(E::not_a_number), q7, ref::Overflow::saturate)), 0);
  EXPECT_EQ(value(ref::resolve(ref::special<std::int64_t>(E::minus_infinity), q7, ref::Overflow::wrap)), -128);
  EXPECT_EQ(ref::resolve(ref::special<std::int64_t>(E::plus_infinity), q7, ref::Overflow::checked).status,
            ref::Status::overflow);
  EXPECT_EQ(ref::resolve(ref::special<std::int64_t>(E::not_a_number), q7, ref::Overflow::checked).status,
            ref::Status::domain);
}

TEST(Reference, Operations) {
  using ref::Rounding;
  // Q7 0.5 * 0.5 = 0.25 (raw 32); (1/128) * (1/128) rounds to 0 or 1/128.
  EXPECT_EQ(ref::mul<std::int64_t>(64, 7, 64, 7, 7, Rounding::half_even).raw, 32);
  EXPECT_EQ(ref::mul<std::int64_t>(1, 7, 1, 7, 7, Rounding::ceil).raw, 1);
  EXPECT_EQ(ref::mul<std::int64_t>(-1, 7, 1, 7, 7, Rounding::floor).raw, -1);
  EXPECT_EQ(ref::mul<std::int64_t>(-1, 7, 1, 7, 7, Rounding::toward_zero).raw, 0);
  // Fixed16_16 1/3 -> 21845.33.
  EXPECT_EQ(ref::div<std::int64_t>(65536, 16, 3 * 65536, 16, 16, Rounding::half_even).raw, 21845);
  EXPECT_EQ(ref::div<std::int64_t>(65536, 16, 3 * 65536, 16, 16, Rounding::ceil).raw, 21846);
  EXPECT_EQ(ref::div<std::int64_t>(5, 0, 0, 0, 0, Rounding::ceil).kind, ref::Exact<std::int64_t>::divided_by_zero);
  EXPECT_EQ(ref::fmod<std::int64_t>(-7, 2).raw, -1);
  EXPECT_EQ(ref::fmod<std::int64_t>(7, -2).raw, 1);
  EXPECT_EQ(ref::fmod<std::int64_t>(-128, -1).raw, 0);
  // sqrt(2) in Fixed16_16: 92681.9...
  EXPECT_EQ(ref::sqrt<std::int64_t>(131072, 16, Rounding::floor).raw, 92681);
  EXPECT_EQ(ref::sqrt<std::int64_t>(131072, 16, Rounding::half_even).raw, 92682);
  EXPECT_EQ(ref::sqrt<std::int64_t>(4 * 65536, 16, Rounding::ceil).raw, 2 * 65536);
  EXPECT_EQ(ref::sqrt<std::int64_t>(-1, 16, Rounding::ceil).kind, ref::Exact<std::int64_t>::undefined);
  EXPECT_EQ(ref::to_integral<std::int64_t>(-384, 8, Rounding::half_away).raw, -512);  // round(-1.5) = -2
  EXPECT_EQ(ref::rescale<std::int64_t>(3, 2, 0, Rounding::half_even).raw, 1);          // 0.75 -> 1
}

TEST(Reference, FromDouble) {
  using E = ref::Exact<i128>;
  for (int r = 0; r < 6; ++r) {
    const long want[6] = {-3, -2, -2, -2, -3, -2};  // -2.5 into Fixed<8,0>
    EXPECT_EQ(ref::from_double<i128>(-2.5, 0, 8, ref::all_roundings[r]).raw, want[r]);
  }
  EXPECT_EQ(ref::from_double<i128>(0.1, 8, 16, Rounding::floor).raw, 25);  // 0.1 * 256 = 25.6
  EXPECT_EQ(ref::from_double<i128>(0.1, 8, 16, Rounding::half_even).raw, 26);
  EXPECT_EQ(ref::from_double<i128>(std::nan(""), 8, 16, Rounding::floor).kind, E::not_a_number);
  EXPECT_EQ(ref::from_double<i128>(-HUGE_VAL, 8, 16, Rounding::floor).kind, E::minus_infinity);
  // 2^70 + 2^18 into Fixed<8,8>: the residue modulo 2^16 of (2^70 + 2^18) * 2^8 is 0.
  const ref::Exact<i128> huge = ref::from_double<i128>(std::ldexp(1.0, 70) + std::ldexp(1.0, 18), 8, 16, Rounding::floor);
  EXPECT_EQ(ref::resolve(huge, ref::Format{true, 8, 8}, ref::Overflow::wrap).raw, 0);
  // 3 * 2^-1100 (subnormal) rounds like any tiny positive number.
  EXPECT_EQ(ref::from_double<i128>(std::ldexp(3.0, -1074), 64, 64, Rounding::ceil).raw, 1);
  EXPECT_EQ(ref::from_double<i128>(-std::ldexp(3.0, -1074), 64, 64, Rounding::floor).raw, -1);
  EXPECT_EQ(ref::from_double<i128>(-std::ldexp(3.0, -1074), 64, 64, Rounding::half_away).raw, 0);
}

TEST(Reference, ToBinaryFloat) {
  const i128 two53 = ref::pow2<i128>(53);
  EXPECT_EQ(ref::to_binary_float<i128>(two53 + 1, 0, 53), std::ldexp(1.0, 53));  // tie to even
  EXPECT_EQ(ref::to_binary_float<i128>(two53 + 3, 0, 53), std::ldexp(1.0, 53) + 4);
  EXPECT_EQ(ref::to_binary_float<i128>(-(two53 + 3), 0, 53), -(std::ldexp(1.0, 53) + 4));
  EXPECT_EQ(ref::to_binary_float<i128>((1 << 24) + 1, 0, 24), std::ldexp(1.0, 24));
  EXPECT_EQ(ref::to_binary_float<i128>(-1, 64, 53), -std::ldexp(1.0, -64));
  EXPECT_EQ(ref::to_binary_float<i128>(ref::pow2<i128>(64) - 1, 64, 53), 1.0);  // UFixed<0,64> max
}

TEST(Reference, ToString) {
  EXPECT_EQ(ref::to_string<std::int64_t>(384, 8), "1.5");
  EXPECT_EQ(ref::to_string<std::int64_t>(-1, 8), "-0.00390625");
  EXPECT_EQ(ref::to_string<std::int64_t>(768, 8), "3.0");
  EXPECT_EQ(ref::to_string<std::int64_t>(0, 8), "0.0");
  EXPECT_EQ(ref::to_string<std::int64_t>(3, 0), "3");
  EXPECT_EQ(ref::to_string<std::int64_t>(-128, 7), "-1.0");
  EXPECT_EQ(ref::to_string<big>(big(std::numeric_limits<std::int64_t>::min()), 0), "-9223372036854775808");
  EXPECT_EQ(ref::to_string<big>(big(1), 64),
            "0.0000000000000000000542101086242752217003726400434970855712890625");
  EXPECT_EQ(ref::to_string<big>(big(std::numeric_limits<std::uint64_t>::max()), 64),
            "0.9999999999999999999457898913757247782996273599565029144287109375");
}

}  // namespace
}  // namespace fqt
