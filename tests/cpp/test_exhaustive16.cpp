// fixedq tests: 16-bit formats. Every raw pattern through every unary operation and
// conversion; pairs of edge values crossed with each other plus random pairs for the binary
// operations. Formats Q15, Fixed8_8, Fixed<16,0>, UFixed<8,8>, UFixed<0,16>, 18 policy pairs.
#include "batteries.hpp"

namespace fqt {
namespace {

using Types16 = with_tested_policies<formats16>;


FQT_TYPED_TEST(Unary16, EveryRaw, Types16) {
  Report rep(info<T>::name());
  // The rarer checks (operator<<, integer operands of every width) on every 61st raw.
  long i = 0;
  for (const auto a : all_raws<T>()) check_unary<T>(rep, a, /*thorough=*/(i++ % 61) == 0);
  for (const auto a : edge_raws<T>()) check_unary<T>(rep, a, /*thorough=*/true);
}

FQT_TYPED_TEST(Unary16, SpecialDoublesAndIntegers, Types16) {
  Report rep(info<T>::name());
  check_special_floating<T>(rep);
  check_from_integers<T>(rep);
}

FQT_TYPED_TEST(Unary16, RandomDoubles, Types16) {
  Report rep(info<T>::name(), /*random=*/true);
  Rng rng = rng_for_this_test();
  check_random_floating<T>(rep, rng, 3000);
}


FQT_TYPED_TEST(Pairs16, EdgePairs, Types16) {
  Report rep(info<T>::name());
  const auto edges = edge_raws<T>();
  for (const auto a : edges) {
    for (const auto b : edges) check_pair<T>(rep, a, b);
  }
}

FQT_TYPED_TEST(Pairs16, RandomPairs, Types16) {
  Report rep(info<T>::name(), /*random=*/true);
  Rng rng = rng_for_this_test();
  for (int i = 0; i < 20000; ++i) check_pair<T>(rep, random_raw<T>(rng), random_raw<T>(rng));
}

}  // namespace
}  // namespace fqt
