// fixedq tests: conversions into one destination type from every tested format.
#pragma once

#include "batteries.hpp"

namespace fqt {

/// Every raw of the 8- and 16-bit formats, converted into To.
template <class To>
void check_conversions_from_small(Report& rep) {
  for_each_type(concat_t<formats8, formats16>{}, [&](auto format) {
    using From = source_for<typename decltype(format)::type, To>;
    check_conversions<To, From>(rep, all_raws<From>());
  });
}

/// Edge values and random raws of the 32- and 64-bit formats, converted into To.
template <class To>
void check_conversions_from_wide(Report& rep, Rng& rng, int random_count = 400) {
  for_each_type(concat_t<formats32, formats64>{}, [&](auto format) {
    using From = source_for<typename decltype(format)::type, To>;
    std::vector<typename From::raw_type> raws = edge_raws<From>();
    for (int i = 0; i < random_count; ++i) raws.push_back(random_raw<From>(rng));
    check_conversions<To, From>(rep, raws);
  });
}

}  // namespace fqt
