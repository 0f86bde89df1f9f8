// fixedq tests: std::numeric_limits and std::hash of every tested type agree with its values
// and policies (fpm#73 is the bug when they don't): lowest/min/max/epsilon raws, is_modulo only
// for wrap, round_style from the rounding policy; equal values hash equal, also across the
// policies of one format.
#include <algorithm>
#include <unordered_set>

#include "test_support.hpp"

namespace fqt {
namespace {

/// What numeric_limits<T> says, gathered per type; checked by type-independent code.
struct LimitsFacts {
  bool is_specialized, is_signed, is_integer, is_exact, is_bounded, is_modulo, has_infinity,
      has_quiet_NaN, has_signaling_NaN, is_iec559, traps;
  int digits, digits10, radix;
  std::float_round_style round_style;
  i128 lowest, min, max, epsilon;
  double round_error;
  bool type_is_signed, raw_is_signed;
  std::size_t raw_bits, type_size;
  i128 from_plus_inf, from_minus_inf;  // T(+-inf), when not checked
};

template <class T>
LimitsFacts limits_facts() {
  using L = std::numeric_limits<T>;
  using Raw = typename T::raw_type;
  LimitsFacts f{};
  f.is_specialized = L::is_specialized;
  f.is_signed = L::is_signed;
  f.is_integer = L::is_integer;
  f.is_exact = L::is_exact;
  f.is_bounded = L::is_bounded;
  f.is_modulo = L::is_modulo;
  f.has_infinity = L::has_infinity;
  f.has_quiet_NaN = L::has_quiet_NaN;
  f.has_signaling_NaN = L::has_signaling_NaN;
  f.is_iec559 = L::is_iec559;
  f.traps = L::traps;
  f.digits = L::digits;
  f.digits10 = L::digits10;
  f.radix = L::radix;
  f.round_style = L::round_style;
  f.lowest = L::lowest().raw();
  f.min = L::min().raw();
  f.max = L::max().raw();
  f.epsilon = L::epsilon().raw();
  f.round_error = static_cast<double>(L::round_error());
  f.type_is_signed = T::is_signed;
  f.raw_is_signed = std::is_signed_v<Raw>;
  f.raw_bits = 8 * sizeof(Raw);
  f.type_size = sizeof(T);
  if constexpr (!info<T>::checked) {
    f.from_plus_inf = T(HUGE_VAL).raw();
    f.from_minus_inf = T(-HUGE_VAL).raw();
  } else {
    f.from_plus_inf = f.max;
    f.from_minus_inf = f.lowest;
  }
  return f;
}

void check_limits(const LimitsFacts& f, const ref::Format& fmt, ref::Rounding r, ref::Overflow o) {
  SCOPED_TRACE(type_name(fmt, r, o));
  const i128 lo = ref::lowest_raw<i128>(fmt);
  const i128 hi = ref::highest_raw<i128>(fmt);
  const int bits = fmt.total_bits();
  EXPECT_TRUE(f.is_specialized);
  EXPECT_TRUE(f.lowest == lo) << hex(f.lowest, fmt);
  EXPECT_TRUE(f.min == lo) << hex(f.min, fmt);  // as for integer types: no denormals
  EXPECT_TRUE(f.max == hi) << hex(f.max, fmt);
  EXPECT_TRUE(f.epsilon == 1) << hex(f.epsilon, fmt);
  EXPECT_EQ(f.is_signed, fmt.is_signed);
  EXPECT_EQ(f.type_is_signed, fmt.is_signed);
  EXPECT_EQ(f.raw_is_signed, fmt.is_signed);
  EXPECT_EQ(f.raw_bits, static_cast<std::size_t>(bits));
  EXPECT_EQ(f.type_size * 8, static_cast<std::size_t>(bits));
  EXPECT_EQ(f.digits, bits - (fmt.is_signed ? 1 : 0));
  EXPECT_EQ(f.is_integer, fmt.fraction_bits == 0);
  EXPECT_TRUE(f.is_exact);
  EXPECT_TRUE(f.is_bounded);
  EXPECT_EQ(f.radix, 2);
  EXPECT_EQ(f.is_modulo, o == ref::Overflow::wrap);
  const bool nearest = r == ref::Rounding::half_up || r == ref::Rounding::half_away || r == ref::Rounding::half_even;
  const std::float_round_style style = nearest ? std::round_to_nearest
                                       : r == ref::Rounding::floor ? std::round_toward_neg_infinity
                                       : r == ref::Rounding::ceil ? std::round_toward_infinity
                                                                  : std::round_toward_zero;
  EXPECT_EQ(f.round_style, style);
  EXPECT_FALSE(f.has_infinity);
  EXPECT_FALSE(f.has_quiet_NaN);
  EXPECT_FALSE(f.has_signaling_NaN);
  EXPECT_FALSE(f.is_iec559);
  EXPECT_FALSE(f.traps);
  // round_error(): the largest rounding error in units of epsilon, as a value: 1/2 for the
  // to-nearest policies, 1 for the directed ones (max() where 1 is not representable), 0 for
  // integer formats.
  const double max_value = std::ldexp(static_cast<double>(hi), -fmt.fraction_bits);
  const bool one_fits = fmt.integer_bits - (fmt.is_signed ? 1 : 0) >= 1;
  const double want = fmt.fraction_bits == 0 ? 0.0 : nearest ? 0.5 : one_fits ? 1.0 : max_value;
  EXPECT_EQ(f.round_error, want);
  // max()/lowest() are what the non-checked conversions of +-inf give.
  EXPECT_TRUE(f.from_plus_inf == hi && f.from_minus_inf == lo);
}

using AllTypes = with_tested_policies<all_formats>;


FQT_TYPED_TEST(Limits, AgreeWithFormatAndPolicies, AllTypes) {
  using I = info<T>;
  check_limits(limits_facts<T>(), I::format(), I::rmode, I::omode);
}

/// hash(x) for each raw, in T and in the same format under other policies.
template <class T>
void hashes(const std::vector<i128>& raws, std::vector<std::size_t>& h, std::vector<std::size_t>& h_other) {
  using Other = typename T::template with_policy<rnd::floor, ovf::wrap>;
  using Raw = typename T::raw_type;
  for (const i128 r : raws) {
    h.push_back(std::hash<T>{}(T::from_raw(static_cast<Raw>(r))));
    h_other.push_back(std::hash<Other>{}(Other::from_raw(static_cast<Raw>(r))));
  }
}

FQT_TYPED_TEST(Limits, EqualValuesHashEqual, AllTypes) {
  using I = info<T>;
  Rng rng = rng_for_this_test();
  std::vector<i128> raws = edge_raws(I::format());
  for (int i = 0; i < 1000; ++i) raws.push_back(random_raw(rng, I::format()));
  std::vector<std::size_t> h1, h2, h1_again, h2_again;
  hashes<T>(raws, h1, h2);
  hashes<T>(raws, h1_again, h2_again);  // the same values built again
  EXPECT_EQ(h1, h1_again) << I::name();
  EXPECT_EQ(h1, h2) << I::name() << ": hash depends on the policies";
  // Equal raws, equal hashes (raws repeat in the list).
  for (std::size_t i = 0; i < raws.size(); ++i) {
    for (std::size_t j = i + 1; j < raws.size(); ++j) {
      if (raws[i] == raws[j]) {
        ASSERT_EQ(h1[i], h1[j]) << I::name() << " " << hex(raws[i], I::format());
      }
    }
  }
}

// std::hash<T> works as the hasher of standard containers.
template <class T>
void check_unordered_set() {
  std::unordered_set<T> set;
  for (const auto r : edge_raws<T>()) {
    set.insert(T::from_raw(r));
    set.insert(T::from_raw(r));
  }
  EXPECT_EQ(set.size(), edge_raws<T>().size()) << info<T>::name();
  for (const auto r : edge_raws<T>()) EXPECT_EQ(set.count(T::from_raw(r)), 1u);
}

TEST(Hash, UnorderedSet) {
  check_unordered_set<fixedq::Q7>();
  check_unordered_set<fixedq::UFixed<8, 8, rnd::floor, ovf::wrap>>();
  check_unordered_set<fixedq::Fixed16_16>();
  check_unordered_set<fixedq::Fixed<1, 63, rnd::ceil, ovf::checked>>();
  check_unordered_set<fixedq::UFixed<0, 64>>();
}

}  // namespace
}  // namespace fqt
