// fixedq tests: format conversions into the 32-bit formats. For every destination type (format x
// 18 policy pairs), To(x) and try_convert<To>(x) from every tested format: every raw of the 8-
// and 16-bit sources, edge values and random raws of the 32- and 64-bit ones. The sources
// carry policies other than the destination's, which must not matter.
#include "conversions.hpp"

namespace fqt {
namespace {

using Types = with_tested_policies<formats32>;


FQT_TYPED_TEST(ConvertTo32, FromEveryRawOf8And16BitFormats, Types) {
  Report rep(info<T>::name());
  check_conversions_from_small<T>(rep);
}

FQT_TYPED_TEST(ConvertTo32, FromEdgeAndRandomRawsOfWideFormats, Types) {
  Report rep(info<T>::name(), /*random=*/true);
  Rng rng = rng_for_this_test();
  check_conversions_from_wide<T>(rep, rng);
}

}  // namespace
}  // namespace fqt
