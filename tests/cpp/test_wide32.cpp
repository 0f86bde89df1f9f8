// fixedq tests: 32-bit formats. Edge values (extremes and their neighbours, -1, 0, 1, ties of
// both signs, powers of two) crossed with each other, plus random raws and pairs, against the
// exact reference, under all 18 policy pairs.
#include "batteries.hpp"

namespace fqt {
namespace {

// Sample sizes: the whole suite stays well under a minute in Release.
constexpr int kUnarySamples = 3000;
constexpr int kPairSamples = 5000;

using Types32 = with_tested_policies<formats32>;


FQT_TYPED_TEST(Unary32, EdgeRaws, Types32) {
  Report rep(info<T>::name());
  for (const auto a : edge_raws<T>()) check_unary<T>(rep, a, /*thorough=*/true);
  check_special_floating<T>(rep);
  check_from_integers<T>(rep);
}

FQT_TYPED_TEST(Unary32, RandomRaws, Types32) {
  Report rep(info<T>::name(), /*random=*/true);
  Rng rng = rng_for_this_test();
  for (int i = 0; i < kUnarySamples; ++i) {
    check_unary<T>(rep, random_raw<T>(rng), /*thorough=*/(i % 16) == 0);
  }
  check_random_floating<T>(rep, rng, 2000);
}


FQT_TYPED_TEST(Pairs32, EdgePairs, Types32) {
  Report rep(info<T>::name());
  const auto edges = edge_raws<T>();
  for (const auto a : edges) {
    for (const auto b : edges) check_pair<T>(rep, a, b);
  }
}

FQT_TYPED_TEST(Pairs32, RandomPairs, Types32) {
  Report rep(info<T>::name(), /*random=*/true);
  Rng rng = rng_for_this_test();
  for (int i = 0; i < kPairSamples; ++i) check_pair<T>(rep, random_raw<T>(rng), random_raw<T>(rng));
}

}  // namespace
}  // namespace fqt
