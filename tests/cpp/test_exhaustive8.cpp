// fixedq tests: 8-bit formats, exhaustively. Every raw pattern through every unary operation
// and conversion, every pair of raw patterns through every binary operation, for the 5 formats
// Q7 = Fixed<1,7>, Fixed<4,4>, Fixed<8,0>, UFixed<0,8>, UFixed<4,4> under all 18 policy pairs.
#include "batteries.hpp"

namespace fqt {
namespace {

using Types8 = with_tested_policies<formats8>;


FQT_TYPED_TEST(Unary8, EveryRaw, Types8) {
  Report rep(info<T>::name());
  for (const auto a : all_raws<T>()) check_unary<T>(rep, a, /*thorough=*/true);
}

FQT_TYPED_TEST(Unary8, SpecialDoublesAndIntegers, Types8) {
  Report rep(info<T>::name());
  check_special_floating<T>(rep);
  check_from_integers<T>(rep);
}

FQT_TYPED_TEST(Unary8, RandomDoubles, Types8) {
  Report rep(info<T>::name(), /*random=*/true);
  Rng rng = rng_for_this_test();
  check_random_floating<T>(rep, rng, 3000);
}


FQT_TYPED_TEST(Pairs8, EveryPair, Types8) {
  Report rep(info<T>::name());
  const auto raws = all_raws<T>();
  for (const auto a : raws) {
    for (const auto b : raws) check_pair<T>(rep, a, b);
  }
}

}  // namespace
}  // namespace fqt
