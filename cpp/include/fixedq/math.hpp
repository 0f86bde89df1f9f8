// fixedq: mathematical functions of fixed-point numbers.
//
// Each result is the exact mathematical result rounded once (with the type's rounding
// policy unless the function's name says otherwise) and then fitted with the type's
// overflow policy. Undefined results (sqrt of a negative number, fmod by zero) give 0,
// and throw fixedq::domain_error under overflow::checked.
#pragma once

#include "fixed.hpp"

namespace fixedq {
namespace detail {

/// x rounded to an integer value with rounding policy R2, in x's own format.
template <class R2, class T>
constexpr raw_result<T> round_integral(T x) noexcept {
  constexpr int F = T::fraction_bits;
  const bool negative = is_negative(x.raw());
  fraction_class cls{};
  const std::uint64_t t = split(magnitude(x.raw()), F, cls);
  const bool inc = rounding_traits<R2>::increments(negative, (t & 1u) != 0, cls);
  using W = uwide_t<(T::total_bits < 64 ? 64 : 128)>;
  const W mag = W(W(t) + W(inc ? 1u : 0u)) << F;  // exact: at most 2^N
  return fit<typename T::raw_type, typename T::overflow_policy>(negative && mag != W(0), mag,
                                                                false);
}

template <class T>
constexpr raw_result<T> fmod(T a, T b) noexcept {
  if (b.raw() == 0) return {typename T::raw_type(0), status::invalid};
  // |a| mod |b| with the sign of a: always representable.
  return fit<typename T::raw_type, typename T::overflow_policy>(
      is_negative(a.raw()), magnitude(a.raw()) % magnitude(b.raw()), false);
}

template <class T>
constexpr raw_result<T> sqrt(T x) noexcept {
  if (is_negative(x.raw())) return {typename T::raw_type(0), status::invalid};
  // sqrt(raw * 2^-F) * 2^F = sqrt(raw * 2^F): an integer square root with its remainder.
  using W = uwide_t<T::total_bits + T::fraction_bits>;
  W rem = 0;
  const W s = isqrt(W(W(magnitude(x.raw())) << T::fraction_bits), rem);
  // sqrt(n) lies in [s, s + 1) and is never exactly s + 1/2 for integer n; it is above
  // s + 1/2 iff n - s^2 > s.
  const fraction_class cls = rem == W(0) ? fraction_class::zero
                             : s < rem   ? fraction_class::above_half
                                         : fraction_class::below_half;
  return round_fit<typename T::raw_type, typename T::rounding_policy,
                   typename T::overflow_policy>(false, s, cls);
}

}  // namespace detail

namespace core {

/// |x|; abs(lowest()) overflows (saturate: max(), wrap: lowest()).
template <bool S, int I, int F, class R, class O>
constexpr basic_fixed<S, I, F, R, O> abs(basic_fixed<S, I, F, R, O> x) {
  using T = basic_fixed<S, I, F, R, O>;
  return T::from_raw(detail::finish<T>(detail::absolute(x), "fixedq: abs overflows"));
}

/// The largest integer value not greater than x.
template <bool S, int I, int F, class R, class O>
constexpr basic_fixed<S, I, F, R, O> floor(basic_fixed<S, I, F, R, O> x) {
  using T = basic_fixed<S, I, F, R, O>;
  return T::from_raw(detail::finish<T>(detail::round_integral<round::floor>(x),
                                       "fixedq: floor overflows"));
}

/// The smallest integer value not less than x (ceil(max()) overflows when F > 0).
template <bool S, int I, int F, class R, class O>
constexpr basic_fixed<S, I, F, R, O> ceil(basic_fixed<S, I, F, R, O> x) {
  using T = basic_fixed<S, I, F, R, O>;
  return T::from_raw(detail::finish<T>(detail::round_integral<round::ceil>(x),
                                       "fixedq: ceil overflows"));
}

/// x with its fraction discarded (toward zero).
template <bool S, int I, int F, class R, class O>
constexpr basic_fixed<S, I, F, R, O> trunc(basic_fixed<S, I, F, R, O> x) {
  using T = basic_fixed<S, I, F, R, O>;
  return T::from_raw(detail::finish<T>(detail::round_integral<round::toward_zero>(x),
                                       "fixedq: trunc overflows"));
}

/// The nearest integer value, ties away from zero, as std::round. Pass another rounding
/// policy as the template argument to choose the ties: round<fixedq::round::half_even>(x).
template <class Rounding = round::half_away, bool S, int I, int F, class R, class O>
constexpr basic_fixed<S, I, F, R, O> round(basic_fixed<S, I, F, R, O> x) {
  using T = basic_fixed<S, I, F, R, O>;
  return T::from_raw(detail::finish<T>(detail::round_integral<Rounding>(x),
                                       "fixedq: round overflows"));
}

/// The integer value given by the type's own rounding policy (as std::rint follows the
/// current rounding mode).
template <bool S, int I, int F, class R, class O>
constexpr basic_fixed<S, I, F, R, O> rint(basic_fixed<S, I, F, R, O> x) {
  using T = basic_fixed<S, I, F, R, O>;
  return T::from_raw(detail::finish<T>(detail::round_integral<R>(x), "fixedq: rint overflows"));
}

/// a - trunc(a / b) * b, exactly (the sign of a, magnitude below |b|). fmod(a, 0) is 0
/// (checked: domain_error).
template <bool S, int I, int F, class R, class O>
constexpr basic_fixed<S, I, F, R, O> fmod(basic_fixed<S, I, F, R, O> a,
                                          basic_fixed<S, I, F, R, O> b) {
  using T = basic_fixed<S, I, F, R, O>;
  return T::from_raw(detail::finish<T>(detail::fmod(a, b), "fixedq: fmod by zero"));
}

/// The square root, correctly rounded with the type's rounding policy (it can round up to
/// a value above max() only in formats with I <= 1, where it saturates or wraps). The
/// square root of a negative number is 0 (checked: domain_error).
template <bool S, int I, int F, class R, class O>
constexpr basic_fixed<S, I, F, R, O> sqrt(basic_fixed<S, I, F, R, O> x) {
  using T = basic_fixed<S, I, F, R, O>;
  return T::from_raw(detail::finish<T>(detail::sqrt(x), "fixedq: sqrt of a negative number"));
}

}  // namespace core

using core::abs;
using core::ceil;
using core::floor;
using core::fmod;
using core::rint;
using core::sqrt;
using core::trunc;
// core::round is not brought into fixedq: that name is the namespace of rounding
// policies. Call round(x) unqualified (argument-dependent lookup) or fixedq::core::round(x).

}  // namespace fixedq
