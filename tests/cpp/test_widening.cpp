// fixedq tests: the widening free functions. multiply(a, b) of one format is exact
// (Fixed<2I,2F> up to 32 bits, wide_product for 64-bit formats, whose narrow<To>() rounds once);
// multiply<To>(a, b) and divide<To>(a, b) take any two formats and round once with To's
// policies. Checked against the exact reference: all pairs of 8-bit inputs, edge values and
// random pairs for the wider ones.
#include <algorithm>

#include "batteries.hpp"

namespace fqt {
namespace {

// --- multiply(a, b): exact ---------------------------------------------------------------------

template <class T>
void check_exact_multiply(Report& rep, typename T::raw_type a, typename T::raw_type b) {
  using Wide = decltype(fixedq::multiply(T{}, T{}));
  static_assert(std::is_same_v<Wide, fixedq::basic_fixed<T::is_signed, 2 * T::integer_bits, 2 * T::fraction_bits,
                                                         typename T::rounding_policy, typename T::overflow_policy>>);
  const auto got = fixedq::multiply(T::from_raw(a), T::from_raw(b)).raw();
  rep.count();
  if (i128(got) != i128(a) * i128(b)) {
    rep.fail("multiply(a=" + hex(a) + ", b=" + hex(b) + "): expected " + hex_bits(i128(a) * i128(b), 2 * T::total_bits, T::is_signed) +
             ", got " + hex(got));
  }
}

using ExactMultiplyTypes = tlist<
    fixedq::Q7, fixedq::Fixed<4, 4, rnd::floor, ovf::wrap>, fixedq::Fixed<8, 0>, fixedq::UFixed<0, 8>,
    fixedq::UFixed<4, 4, rnd::ceil, ovf::checked>, fixedq::Q15, fixedq::Fixed8_8, fixedq::UFixed<0, 16>,
    fixedq::UFixed<8, 8>, fixedq::Fixed<16, 0>, fixedq::Q31, fixedq::Fixed16_16, fixedq::Fixed24_8,
    fixedq::UFixed<16, 16>, fixedq::UFixed<0, 32>>;

FQT_TYPED_TEST(ExactMultiply, AllOrSampledPairs, ExactMultiplyTypes) {
  Report rep(info<T>::name(), /*random=*/T::total_bits > 8);
  if constexpr (T::total_bits == 8) {
    for (const auto a : all_raws<T>()) {
      for (const auto b : all_raws<T>()) check_exact_multiply<T>(rep, a, b);
    }
  } else {
    const auto edges = edge_raws<T>();
    for (const auto a : edges) {
      for (const auto b : edges) check_exact_multiply<T>(rep, a, b);
    }
    Rng rng = rng_for_this_test();
    for (int i = 0; i < 50000; ++i) check_exact_multiply<T>(rep, random_raw<T>(rng), random_raw<T>(rng));
  }
}

// --- multiply(a, b) of 64-bit formats: wide_product -------------------------------------------

/// narrow<To>() of the product of a and b (raws of T) against the reference.
template <class To, class T>
void check_narrow(Report& rep, const fixedq::wide_product<T::is_signed, 2 * T::integer_bits, 2 * T::fraction_bits>& p,
                  typename T::raw_type a, typename T::raw_type b) {
  using I = info<To>;
  const ref::Exact<big> e = ref::mul(big(a), T::fraction_bits, big(b), T::fraction_bits, To::fraction_bits, I::rmode);
  const Expected<big> want = expect(e, I::format(), I::omode);
  if (!should_call(rep, I::omode, want)) return;
  Outcome got;
  FQT_RECORD(got, p.template narrow<To>());
  compare(rep, "multiply(a, b).narrow<To>()", [&] { return I::name() + " a=" + hex(a) + ", b=" + hex(b); },
          I::format(), want, got);
}

template <class T>
void check_wide_product(Report& rep, typename T::raw_type a, typename T::raw_type b) {
  const auto p = fixedq::multiply(T::from_raw(a), T::from_raw(b));
  static_assert(std::is_same_v<std::remove_const_t<decltype(p)>,
                               fixedq::wide_product<T::is_signed, 2 * T::integer_bits, 2 * T::fraction_bits>>);
  // The two's complement 128-bit raw integer of the exact product, split in words.
  const big exact = big(a) * big(b);
  const big two64 = ref::pow2<big>(64);
  const big residue = exact - ref::floor_div(exact, ref::pow2<big>(128)) * ref::pow2<big>(128);
  const auto want_hi = ref::convert_int<std::uint64_t>(big(residue / two64));
  const auto want_lo = ref::convert_int<std::uint64_t>(big(residue - (residue / two64) * two64));
  rep.count();
  if (p.hi() != want_hi || p.lo() != want_lo) {
    rep.fail("multiply(a=" + hex(a) + ", b=" + hex(b) + ") words: expected hi=" + hex(want_hi) + " lo=" + hex(want_lo) +
             ", got hi=" + hex(p.hi()) + " lo=" + hex(p.lo()));
  }
  // Narrowing back to the format itself must equal a * b, under every policy pair.
  for_each_type(tested_policies<fmt<T::is_signed, T::integer_bits, T::fraction_bits>>{},
                [&](auto to) { check_narrow<typename decltype(to)::type, T>(rep, p, a, b); });
  check_narrow<fixedq::Fixed<64, 0, rnd::half_away>, T>(rep, p, a, b);
  check_narrow<fixedq::UFixed<0, 64, rnd::floor, ovf::wrap>, T>(rep, p, a, b);
  check_narrow<fixedq::Fixed<16, 16, rnd::half_up, ovf::checked>, T>(rep, p, a, b);
}

using WideProductTypes = tlist<fixedq::Fixed32_32, fixedq::Fixed<1, 63>, fixedq::Fixed<64, 0>,
                                          fixedq::UFixed<32, 32>, fixedq::UFixed<0, 64>>;

FQT_TYPED_TEST(WideProduct, EdgeAndRandomPairs, WideProductTypes) {
  Report rep(info<T>::name(), /*random=*/true);
  const auto edges = edge_raws<T>();
  for (const auto a : edges) {
    for (const auto b : edges) check_wide_product<T>(rep, a, b);
  }
  Rng rng = rng_for_this_test();
  for (int i = 0; i < 1000; ++i) check_wide_product<T>(rep, random_raw<T>(rng), random_raw<T>(rng));
}

// --- multiply<To>(a, b) and divide<To>(a, b) of two formats -----------------------------------

template <class To, class A, class B>
using mixed_int = ref::int_for<A::total_bits + B::total_bits + To::fraction_bits + 66>;

/// Whether the header can form the exact product/quotient in 128 bits (otherwise it refuses to
/// compile the call, with a static_assert; see compile_fail/divide_too_wide.cpp).
template <class To, class A, class B>
constexpr bool product_fits = A::total_bits + B::total_bits +
                                  std::max(0, To::fraction_bits - A::fraction_bits - B::fraction_bits) <= 128;
template <class To, class A, class B>
constexpr bool quotient_fits =
    A::total_bits + std::max(0, To::fraction_bits + B::fraction_bits - A::fraction_bits) <= 128 &&
    B::total_bits + std::max(0, A::fraction_bits - To::fraction_bits - B::fraction_bits) <= 128;

template <class To, class A, class B>
void check_mixed(Report& rep, typename A::raw_type a, typename B::raw_type b) {
  static_assert(product_fits<To, A, B>);
  using I = info<To>;
  using Int = mixed_int<To, A, B>;
  Expected<Int> w[2];
  w[0] = expect(ref::mul(Int(a), A::fraction_bits, Int(b), B::fraction_bits, To::fraction_bits, I::rmode), I::format(), I::omode);
  w[1] = expect(ref::div(Int(a), A::fraction_bits, Int(b), B::fraction_bits, To::fraction_bits, I::rmode), I::format(), I::omode);
  Outcome g[2];
  const A x = A::from_raw(a);
  const B y = B::from_raw(b);
  if (should_call(rep, I::omode, w[0])) FQT_RECORD(g[0], fixedq::multiply<To>(x, y));
  if constexpr (quotient_fits<To, A, B>) {
    if (should_call(rep, I::omode, w[1])) FQT_RECORD(g[1], fixedq::divide<To>(x, y));
  }
  const auto in = [&] {
    return info<A>::format_name() + " a=" + hex(a) + ", " + info<B>::format_name() + " b=" + hex(b) + " into " + I::name();
  };
  compare(rep, "multiply<To>", in, I::format(), w[0], g[0]);
  compare(rep, "divide<To>", in, I::format(), w[1], g[1]);
}

template <class To, class A, class B>
void check_mixed_all_pairs(Report& rep) {
  for (const auto a : all_raws<A>()) {
    for (const auto b : all_raws<B>()) check_mixed<To, A, B>(rep, a, b);
  }
}

template <class To, class A, class B>
void check_mixed_sampled(Report& rep, Rng& rng) {
  const auto ea = edge_raws<A>();
  const auto eb = edge_raws<B>();
  for (const auto a : ea) {
    for (const auto b : eb) check_mixed<To, A, B>(rep, a, b);
  }
  for (int i = 0; i < 2000; ++i) check_mixed<To, A, B>(rep, random_raw<A>(rng), random_raw<B>(rng));
}

TEST(MixedFormats, EightBitPairsIntoEveryTestedPolicyOfFixed8_8) {
  Report rep("multiply/divide<Fixed<8,8>,*>(Q7, Fixed<4,4>)");
  for_each_type(tested_policies<S8_8>{}, [&](auto to) {
    check_mixed_all_pairs<typename decltype(to)::type, fixedq::Q7, fixedq::Fixed<4, 4>>(rep);
  });
}

TEST(MixedFormats, EightBitPairsIntoNarrowerAndUnsigned) {
  Report rep("multiply/divide of 8-bit formats");
  check_mixed_all_pairs<fixedq::Fixed<4, 4, rnd::half_up, ovf::wrap>, fixedq::UFixed<4, 4>, fixedq::Fixed<8, 0>>(rep);
  check_mixed_all_pairs<fixedq::UFixed<0, 8, rnd::ceil, ovf::saturate>, fixedq::Q7, fixedq::UFixed<0, 8>>(rep);
  check_mixed_all_pairs<fixedq::Fixed<8, 0, rnd::half_away, ovf::checked>, fixedq::UFixed<0, 8>, fixedq::Q7>(rep);
  check_mixed_all_pairs<fixedq::Q15, fixedq::Q7, fixedq::Q7>(rep);
  check_mixed_all_pairs<fixedq::Fixed<1, 31, rnd::floor, ovf::wrap>, fixedq::Fixed<4, 4>, fixedq::UFixed<4, 4>>(rep);
}

TEST(MixedFormats, WidePairs) {
  Report rep("multiply/divide of 32- and 64-bit formats", /*random=*/true);
  Rng rng = rng_for_this_test();
  check_mixed_sampled<fixedq::Q31, fixedq::Fixed16_16, fixedq::Q15>(rep, rng);
  check_mixed_sampled<fixedq::Fixed<8, 8, rnd::floor, ovf::wrap>, fixedq::Fixed16_16, fixedq::Q15>(rep, rng);
  check_mixed_sampled<fixedq::Fixed<64, 0, rnd::half_up>, fixedq::Fixed32_32, fixedq::Fixed<1, 63>>(rep, rng);
  check_mixed_sampled<fixedq::UFixed<0, 64, rnd::ceil, ovf::wrap>, fixedq::Fixed32_32, fixedq::Fixed<1, 63>>(rep, rng);
  check_mixed_sampled<fixedq::Q31, fixedq::UFixed<32, 32>, fixedq::Fixed<64, 0>>(rep, rng);
  check_mixed_sampled<fixedq::Fixed32_32, fixedq::UFixed<0, 64>, fixedq::Fixed<64, 0>>(rep, rng);
  check_mixed_sampled<fixedq::Fixed<16, 16, rnd::toward_zero, ovf::checked>, fixedq::UFixed<0, 64>,
                      fixedq::Fixed<64, 0>>(rep, rng);
  check_mixed_sampled<fixedq::Fixed<16, 16, rnd::half_even, ovf::saturate>, fixedq::Fixed<64, 0>,
                      fixedq::UFixed<0, 64>>(rep, rng);  // the product only: see quotient_fits
}

}  // namespace
}  // namespace fqt
