// fixedq: exact decimal text of fixed-point numbers.
#pragma once

#include <ostream>
#include <string>

#include "fixed.hpp"

namespace fixedq {
namespace core {

/// The exact decimal value: every fixed-point number is a finite decimal fraction with at
/// most F digits after the point. "1.5", "-0.00390625", "3.0"; integer formats (F == 0)
/// print no point: "3".
template <bool S, int I, int F, class R, class O>
std::string to_string(basic_fixed<S, I, F, R, O> x) {
  using W = detail::uwide_t<F + 4>;  // the fraction times 10 stays exact
  const std::uint64_t mag = detail::magnitude(x.raw());
  std::string s;
  if (detail::is_negative(x.raw())) s += '-';
  s += std::to_string(detail::shr(mag, F));
  if constexpr (F > 0) {
    const W mask = W(detail::shl(W(1), F) - W(1));
    W frac = W(W(mag) & mask);
    s += '.';
    if (frac == W(0)) s += '0';
    while (frac != W(0)) {
      frac = frac * W(10u);
      s += static_cast<char>('0' + detail::low64(detail::shr(frac, F)));
      frac = frac & mask;
    }
  }
  return s;
}

/// Writes to_string(x).
template <class CharT, class Traits, bool S, int I, int F, class R, class O>
std::basic_ostream<CharT, Traits>& operator<<(std::basic_ostream<CharT, Traits>& os,
                                              basic_fixed<S, I, F, R, O> x) {
  return os << to_string(x).c_str();
}

}  // namespace core

using core::to_string;

}  // namespace fixedq
