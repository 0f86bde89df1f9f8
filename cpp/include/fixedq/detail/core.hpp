// fixedq private: the one place where exact results are rounded and narrowed.
//
// Every operation of fixedq reduces to: an exact value, written as a sign and an unsigned
// magnitude (wide enough to be exact), possibly with some fraction bits to discard. It is
// rounded with the rounding policy (`rounding_traits<R>::increments`), and the rounded
// integer is then fitted to the destination's raw integer with the overflow policy.
// Sign-magnitude keeps one code path for signed and unsigned formats, 64-bit words
// included, without any signed overflow.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <type_traits>

#include "../policy.hpp"
#include "wide.hpp"

namespace fixedq {

/// Thrown by operations on `overflow::checked` types when the result does not fit
/// (and by conversions of +-inf).
class overflow_error : public std::overflow_error {
 public:
  using std::overflow_error::overflow_error;
};
/// Thrown by operations on `overflow::checked` types whose result is undefined:
/// NaN converted to a fixed type, the square root of a negative number, fmod(x, 0).
class domain_error : public std::domain_error {
 public:
  using std::domain_error::domain_error;
};
/// Thrown by division by zero on `overflow::checked` types.
class division_by_zero : public domain_error {
 public:
  using domain_error::domain_error;
};

namespace detail {

/// What happened to an operation, besides its value.
enum class status : unsigned char { ok, overflow, divide_by_zero, invalid };

template <class Raw>
struct result {
  Raw raw;
  status st;
};

/// The native signed/unsigned integer of Bits bits.
template <bool Signed, int Bits>
struct raw_int;
template <> struct raw_int<true, 8> { using type = std::int8_t; };
template <> struct raw_int<true, 16> { using type = std::int16_t; };
template <> struct raw_int<true, 32> { using type = std::int32_t; };
template <> struct raw_int<true, 64> { using type = std::int64_t; };
template <> struct raw_int<false, 8> { using type = std::uint8_t; };
template <> struct raw_int<false, 16> { using type = std::uint16_t; };
template <> struct raw_int<false, 32> { using type = std::uint32_t; };
template <> struct raw_int<false, 64> { using type = std::uint64_t; };

/// The two's-complement value of the low bits of `u` as the integer type Raw (no UB).
template <class Raw>
constexpr Raw from_bits(std::uint64_t u) noexcept {
  using U = std::make_unsigned_t<Raw>;
  const U v = static_cast<U>(u);
  if constexpr (std::is_signed_v<Raw>) {
    if (v > static_cast<U>(std::numeric_limits<Raw>::max())) {
      // v - 2^N, computed as -(~v) - 1 with ~v < 2^(N-1).
      return static_cast<Raw>(-static_cast<Raw>(static_cast<U>(~v)) - 1);
    }
  }
  return static_cast<Raw>(v);
}

/// |x| as a 64-bit magnitude (no overflow, INT64_MIN included).
template <class Int>
constexpr std::uint64_t magnitude(Int x) noexcept {
  if constexpr (std::is_signed_v<Int>) {
    return x < 0 ? std::uint64_t{0} - static_cast<std::uint64_t>(x) : static_cast<std::uint64_t>(x);
  } else {
    return static_cast<std::uint64_t>(x);
  }
}

template <class Int>
constexpr bool is_negative(Int x) noexcept {
  if constexpr (std::is_signed_v<Int>) {
    return x < 0;
  } else {
    return false;
  }
}

/// Fits the exact integer (negative ? -(t + inc) : t + inc) into Raw with overflow policy O.
/// `t` is a magnitude of any width; `inc` is the rounding increment (0 or 1).
template <class Raw, class O, class W>
constexpr result<Raw> fit(bool negative, W t, bool inc) noexcept {
  using U = std::make_unsigned_t<Raw>;
  constexpr W max_pos = W(static_cast<std::uint64_t>(std::numeric_limits<Raw>::max()));
  constexpr W max_neg =
      std::is_signed_v<Raw> ? W(max_pos + W(1)) : W(0);  // |lowest()| as a magnitude
  const W limit = negative ? max_neg : max_pos;
  // Overflow iff t + inc > limit, tested without forming t + inc (it may not fit W).
  const bool over = inc ? !(t < limit) : (limit < t);
  if (!over) {
    const U m = static_cast<U>(low64(t) + (inc ? 1u : 0u));
    return {negative ? from_bits<Raw>(static_cast<U>(U(0) - m)) : static_cast<Raw>(m), status::ok};
  }
  if constexpr (std::is_same_v<O, overflow::wrap>) {
    // The exact result modulo 2^N: only the low bits of the magnitude matter.
    const std::uint64_t m = low64(t) + (inc ? 1u : 0u);
    return {from_bits<Raw>(negative ? std::uint64_t{0} - m : m), status::overflow};
  } else {
    return {negative ? std::numeric_limits<Raw>::lowest() : std::numeric_limits<Raw>::max(),
            status::overflow};
  }
}

/// The value a zero-width/invalid result takes (division by zero, NaN, ...).
template <class Raw, class O>
constexpr result<Raw> fit_extreme(bool negative, status st) noexcept {
  if constexpr (std::is_same_v<O, overflow::wrap>) {
    return {Raw(0), st};
  } else {
    return {negative ? std::numeric_limits<Raw>::lowest() : std::numeric_limits<Raw>::max(), st};
  }
}

/// Splits `mag` into its integer part `mag >> s` and the class of the discarded fraction.
template <class W>
constexpr W split(W mag, int s, fraction_class& cls) noexcept {
  if (s <= 0) {
    cls = fraction_class::zero;
    return mag;
  }
  if (s > width_v<W>) {
    // Any magnitude is below half of 2^s when s exceeds the width.
    cls = mag == W(0) ? fraction_class::zero : fraction_class::below_half;
    return W(0);
  }
  const W t = shr(mag, s);
  const W rem = s == width_v<W> ? mag : W(mag & W((W(1) << s) - W(1)));
  const W half = W(1) << (s - 1);
  cls = rem == W(0)   ? fraction_class::zero
        : rem < half  ? fraction_class::below_half
        : rem == half ? fraction_class::half
                      : fraction_class::above_half;
  return t;
}

/// Classifies remainder/denominator (0 <= rem < den) against one half.
template <class W>
constexpr fraction_class classify_quotient(W rem, W den) noexcept {
  if (rem == W(0)) return fraction_class::zero;
  const W other = den - rem;  // compare 2*rem with den without overflow
  return rem < other ? fraction_class::below_half
         : rem == other ? fraction_class::half
                        : fraction_class::above_half;
}

/// Rounds (negative ? -1 : 1) * t.cls  with R, then fits it into Raw with O.
template <class Raw, class R, class O, class W>
constexpr result<Raw> round_fit(bool negative, W t, fraction_class cls) noexcept {
  const bool inc = rounding_traits<R>::increments(negative, (low64(t) & 1u) != 0, cls);
  if (!inc && t == W(0)) negative = false;  // -0 is 0
  return fit<Raw, O>(negative, t, inc);
}

/// Rounds (negative ? -1 : 1) * mag / 2^shift with R and fits it into Raw with O.
/// A negative shift multiplies by 2^-shift (the caller picks W wide enough).
template <class Raw, class R, class O, class W>
constexpr result<Raw> round_shift_fit(bool negative, W mag, int shift) noexcept {
  if (shift < 0) return round_fit<Raw, R, O>(negative, W(mag << -shift), fraction_class::zero);
  fraction_class cls{};
  const W t = split(mag, shift, cls);
  return round_fit<Raw, R, O>(negative, t, cls);
}

/// Rounds (negative ? -1 : 1) * num / den with R and fits it into Raw with O (den != 0).
template <class Raw, class R, class O, class W>
constexpr result<Raw> round_divide_fit(bool negative, W num, W den) noexcept {
  const W q = num / den;
  const W rem = num - q * den;
  return round_fit<Raw, R, O>(negative, q, classify_quotient(rem, den));
}

/// Reports a failed operation of a checked type. In a constant expression the throw makes
/// the expression ill-formed, so checked overflow at compile time is a compile error.
[[noreturn]] inline void report(status st, const char* what) {
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS) || defined(_CPPUNWIND)
  switch (st) {
    case status::divide_by_zero:
      throw division_by_zero(what);
    case status::invalid:
      throw domain_error(what);
    default:
      throw overflow_error(what);
  }
#else
  (void)st;
  (void)what;
  std::abort();
#endif
}

/// Powers of two as doubles, exactly (constexpr, no <cmath>). The exponents fixedq uses,
/// -64..64, come from a table so that run-time conversions do not loop.
struct pow2_table {
  double v[129];
};
constexpr pow2_table make_pow2_table() noexcept {
  pow2_table t{};
  double p = 1.0;
  for (int i = 0; i <= 64; ++i, p *= 2.0) t.v[64 + i] = p;
  p = 1.0;
  for (int i = 0; i <= 64; ++i, p *= 0.5) t.v[64 - i] = p;
  return t;
}
inline constexpr pow2_table kPow2 = make_pow2_table();

constexpr double pow2(int e) noexcept {
  if (e >= -64 && e <= 64) return kPow2.v[e + 64];
  double r = 1.0;
  for (; e > 0; --e) r *= 2.0;
  for (; e < 0; ++e) r *= 0.5;
  return r;
}

/// Converts a double to the raw integer nearest x * 2^F under R, then fits with O.
/// NaN gives 0 (status invalid); +-inf give the extremes (status overflow), also under wrap.
template <class Raw, class R, class O>
constexpr result<Raw> from_double(double x, int frac_bits) noexcept {
  if (x != x) return {Raw(0), status::invalid};
  if (x == std::numeric_limits<double>::infinity() || x == -std::numeric_limits<double>::infinity()) {
    return {x < 0 ? std::numeric_limits<Raw>::lowest() : std::numeric_limits<Raw>::max(),
            status::overflow};
  }
  const bool negative = x < 0;
  const double ax = negative ? -x : x;
  // |x| * 2^F >= 2^64: out of every 64-bit range. Tested before scaling, so that no
  // floating-point overflow is ever raised. Under wrap only the residue of |x| * 2^F
  // modulo 2^64 matters: with M = 2^(64-F), |x| = q * M + r exactly, and the residue is
  // r * 2^F (r is a multiple of ulp(x); when ulp(x) >= M the residue is 0).
  const double m = pow2(64 - frac_bits);
  if (ax >= m) {
    std::uint64_t r = 0;
    if (ax < m * 9007199254740992.0) {  // |x| < M * 2^53
      const double q = static_cast<double>(static_cast<std::uint64_t>(ax / m));
      r = static_cast<std::uint64_t>((ax - q * m) * pow2(frac_bits));
    }
    if constexpr (std::is_same_v<O, overflow::wrap>) {
      return {from_bits<Raw>(negative ? std::uint64_t{0} - r : r), status::overflow};
    } else {
      return fit_extreme<Raw, O>(negative, status::overflow);
    }
  }
  const double a = ax * pow2(frac_bits);  // exact: a power-of-two scaling, below 2^64
  const std::uint64_t t = static_cast<std::uint64_t>(a);  // truncation, a < 2^64
  const double frac = a - static_cast<double>(t);          // exact, in [0, 1)
  const fraction_class cls = frac == 0.0   ? fraction_class::zero
                             : frac < 0.5  ? fraction_class::below_half
                             : frac == 0.5 ? fraction_class::half
                                           : fraction_class::above_half;
  return round_fit<Raw, R, O>(negative, t, cls);
}

}  // namespace detail
}  // namespace fixedq
