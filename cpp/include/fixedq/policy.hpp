// fixedq: rounding and overflow policies.
//
// Policies are empty tag types. Their behaviour lives in one place each: the
// `rounding_traits<R>` and `overflow_traits<O>` specialisations below. Every operation
// of fixedq follows one order: the exact result is first ROUNDED to the destination's
// resolution with the rounding policy, and only then is OVERFLOW handled with the
// overflow policy.
#pragma once

#include <limits>
#include <type_traits>

namespace fixedq {

/// Rounding policies: how an exact result between two representable values is resolved.
namespace round {
struct floor {};        ///< toward -inf: what a plain arithmetic right shift does
struct toward_zero {};  ///< truncation: what C++ integer division does
struct ceil {};         ///< toward +inf
struct half_up {};      ///< to nearest, ties toward +inf (gemmlowp SRDHM, ruy single rounding)
struct half_away {};    ///< to nearest, ties away from zero (C `round()`, gemmlowp RDBPOT)
struct half_even {};    ///< to nearest, ties to even (IEEE 754 default, ONNX QuantizeLinear)
}  // namespace round

/// Overflow policies: what happens when a rounded result does not fit the format.
namespace overflow {
struct wrap {};      ///< two's complement: the result is reduced modulo 2^(I+F)
struct saturate {};  ///< clamp to the nearest of lowest() and max()
struct checked {};   ///< report: operators throw fixedq::overflow_error, try_* return nullopt
}  // namespace overflow

/// Where the discarded part of an exact value lies, relative to one unit of the result.
enum class fraction_class : unsigned char { zero, below_half, half, above_half };

template <class R>
struct rounding_traits;  // only the six policies above have traits

namespace detail {
template <class Derived, std::float_round_style Style, bool Nearest>
struct rounding_traits_base {
  static constexpr std::float_round_style round_style = Style;
  static constexpr bool to_nearest = Nearest;
};
}  // namespace detail

// `increments(negative, odd, cls)`: given the sign of the exact value, whether its
// truncated magnitude is odd and where the discarded fraction lies, returns whether the
// truncated MAGNITUDE must grow by one unit. This is the only definition of each policy.
template <>
struct rounding_traits<round::floor>
    : detail::rounding_traits_base<round::floor, std::round_toward_neg_infinity, false> {
  static constexpr const char* name = "floor";
  static constexpr bool increments(bool negative, bool, fraction_class c) noexcept {
    return negative && c != fraction_class::zero;
  }
};
template <>
struct rounding_traits<round::toward_zero>
    : detail::rounding_traits_base<round::toward_zero, std::round_toward_zero, false> {
  static constexpr const char* name = "toward_zero";
  static constexpr bool increments(bool, bool, fraction_class) noexcept { return false; }
};
template <>
struct rounding_traits<round::ceil>
    : detail::rounding_traits_base<round::ceil, std::round_toward_infinity, false> {
  static constexpr const char* name = "ceil";
  static constexpr bool increments(bool negative, bool, fraction_class c) noexcept {
    return !negative && c != fraction_class::zero;
  }
};
template <>
struct rounding_traits<round::half_up>
    : detail::rounding_traits_base<round::half_up, std::round_to_nearest, true> {
  static constexpr const char* name = "half_up";
  static constexpr bool increments(bool negative, bool, fraction_class c) noexcept {
    return c == fraction_class::above_half || (c == fraction_class::half && !negative);
  }
};
template <>
struct rounding_traits<round::half_away>
    : detail::rounding_traits_base<round::half_away, std::round_to_nearest, true> {
  static constexpr const char* name = "half_away";
  static constexpr bool increments(bool, bool, fraction_class c) noexcept {
    return c == fraction_class::above_half || c == fraction_class::half;
  }
};
template <>
struct rounding_traits<round::half_even>
    : detail::rounding_traits_base<round::half_even, std::round_to_nearest, true> {
  static constexpr const char* name = "half_even";
  static constexpr bool increments(bool, bool odd, fraction_class c) noexcept {
    return c == fraction_class::above_half || (c == fraction_class::half && odd);
  }
};

template <class O>
struct overflow_traits;  // only the three policies above have traits

template <>
struct overflow_traits<overflow::wrap> {
  static constexpr const char* name = "wrap";
  static constexpr bool is_modulo = true;
  static constexpr bool reports = false;
};
template <>
struct overflow_traits<overflow::saturate> {
  static constexpr const char* name = "saturate";
  static constexpr bool is_modulo = false;
  static constexpr bool reports = false;
};
template <>
struct overflow_traits<overflow::checked> {
  static constexpr const char* name = "checked";
  static constexpr bool is_modulo = false;
  static constexpr bool reports = true;
};

namespace detail {
template <class T, class = void>
struct has_rounding_traits : std::false_type {};
template <class T>
struct has_rounding_traits<T, std::void_t<decltype(rounding_traits<T>::name)>> : std::true_type {};
template <class T, class = void>
struct has_overflow_traits : std::false_type {};
template <class T>
struct has_overflow_traits<T, std::void_t<decltype(overflow_traits<T>::name)>> : std::true_type {};
}  // namespace detail

template <class T>
inline constexpr bool is_rounding_policy_v = detail::has_rounding_traits<T>::value;
template <class T>
inline constexpr bool is_overflow_policy_v = detail::has_overflow_traits<T>::value;

/// The policy's name as used by the Python layer ("half_even", "saturate", ...).
template <class R>
constexpr const char* rounding_name() noexcept {
  return rounding_traits<R>::name;
}
template <class O>
constexpr const char* overflow_name() noexcept {
  return overflow_traits<O>::name;
}

}  // namespace fixedq
