// fixedq: the fixed-point number type.
//
//   fixedq::Fixed<I, F, Rounding, Overflow>   signed, two's complement, I integer bits
//                                             (the sign bit included) and F fraction bits
//   fixedq::UFixed<I, F, Rounding, Overflow>  unsigned
//
// The value of a number is raw() * 2^-F, where raw() is the native integer of I + F bits.
// Every operation computes its exact result, rounds it ONCE to the destination's
// resolution with the Rounding policy and then handles overflow with the Overflow policy
// (see policy.hpp). Nothing is undefined behaviour, whatever the input: division by zero,
// NaN and infinities have defined results (README "Specification").
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <type_traits>

#include "detail/core.hpp"
#include "detail/wide.hpp"
#include "policy.hpp"
#include "version.hpp"

namespace fixedq {

// The number type and its functions live in fixedq::core so that argument-dependent
// lookup finds `round(x)` and friends: `fixedq::round` is the namespace of the rounding
// policies. Everything but `round` is also reachable as fixedq::name.
namespace core {
template <bool Signed, int I, int F, class R = round::half_even, class O = overflow::saturate>
class basic_fixed;
}  // namespace core
using core::basic_fixed;

/// A signed fixed-point number with I integer bits (sign included) and F fraction bits.
template <int I, int F, class R = round::half_even, class O = overflow::saturate>
using Fixed = basic_fixed<true, I, F, R, O>;

/// An unsigned fixed-point number with I integer bits and F fraction bits.
template <int I, int F, class R = round::half_even, class O = overflow::saturate>
using UFixed = basic_fixed<false, I, F, R, O>;

using Fixed8_8 = Fixed<8, 8>;
using Fixed16_16 = Fixed<16, 16>;
using Fixed24_8 = Fixed<24, 8>;
using Fixed32_32 = Fixed<32, 32>;
using Q7 = Fixed<1, 7>;
using Q15 = Fixed<1, 15>;
using Q31 = Fixed<1, 31>;

namespace detail {
template <class T>
struct is_fixed : std::false_type {};
template <bool S, int I, int F, class R, class O>
struct is_fixed<basic_fixed<S, I, F, R, O>> : std::true_type {};
template <class T>
inline constexpr bool is_integer_v = std::is_integral_v<T> && !std::is_same_v<T, bool>;
constexpr bool is_valid_width(int bits) { return bits == 8 || bits == 16 || bits == 32 || bits == 64; }
}  // namespace detail

/// True for every fixedq fixed-point type.
template <class T>
inline constexpr bool is_fixed_v = detail::is_fixed<T>::value;

namespace detail {

/// Hands a result to the caller: a value, or under overflow::checked a report.
template <class T, class Raw>
constexpr Raw finish(result<Raw> r, const char* what) {
  if constexpr (overflow_traits<typename T::overflow_policy>::reports) {
    if (r.st != status::ok) report(r.st, what);
  }
  return r.raw;
}

template <class T>
using raw_result = result<typename T::raw_type>;

template <class T>
constexpr raw_result<T> add(T a, T b) noexcept {
  using Raw = typename T::raw_type;
  using O = typename T::overflow_policy;
  if constexpr (T::total_bits < 64) {
    const std::int64_t s = std::int64_t{a.raw()} + std::int64_t{b.raw()};
    return fit<Raw, O>(s < 0, magnitude(s), false);
  } else {
    const auto ua = static_cast<std::uint64_t>(a.raw()), ub = static_cast<std::uint64_t>(b.raw());
    const std::uint64_t us = ua + ub;
    const bool over = T::is_signed ? (((ua ^ us) & (ub ^ us)) >> 63) != 0 : us < ua;
    if (!over || std::is_same_v<O, overflow::wrap>) {
      return {from_bits<Raw>(us), over ? status::overflow : status::ok};
    }
    return fit_extreme<Raw, overflow::saturate>(is_negative(a.raw()), status::overflow);
  }
}

template <class T>
constexpr raw_result<T> subtract(T a, T b) noexcept {
  using Raw = typename T::raw_type;
  using O = typename T::overflow_policy;
  if constexpr (T::total_bits < 64) {
    const std::int64_t s = std::int64_t{a.raw()} - std::int64_t{b.raw()};
    return fit<Raw, O>(s < 0, magnitude(s), false);
  } else {
    const auto ua = static_cast<std::uint64_t>(a.raw()), ub = static_cast<std::uint64_t>(b.raw());
    const std::uint64_t us = ua - ub;
    const bool over = T::is_signed ? (((ua ^ ub) & (ua ^ us)) >> 63) != 0 : ua < ub;
    if (!over || std::is_same_v<O, overflow::wrap>) {
      return {from_bits<Raw>(us), over ? status::overflow : status::ok};
    }
    // Signed: the exact difference has the sign of a. Unsigned: it is negative.
    return fit_extreme<Raw, overflow::saturate>(T::is_signed ? is_negative(a.raw()) : true,
                                                status::overflow);
  }
}

template <class T>
constexpr raw_result<T> negate(T a) noexcept {
  return fit<typename T::raw_type, typename T::overflow_policy>(a.raw() > 0, magnitude(a.raw()),
                                                                false);
}

template <class T>
constexpr raw_result<T> absolute(T a) noexcept {
  return fit<typename T::raw_type, typename T::overflow_policy>(false, magnitude(a.raw()), false);
}

/// The exact product of any two formats, rounded once into To.
template <class To, class A, class B>
constexpr raw_result<To> multiply_into(A a, B b) noexcept {
  constexpr int shift = A::fraction_bits + B::fraction_bits - To::fraction_bits;
  constexpr int bits = A::total_bits + B::total_bits + (shift < 0 ? -shift : 0);
  static_assert(bits <= 128, "fixedq: this product needs more than 128 bits to be exact");
  using W = uwide_t<bits>;
  const bool negative = is_negative(a.raw()) != is_negative(b.raw());
  const W mag = mul_wide<W>(magnitude(a.raw()), magnitude(b.raw()));
  return round_shift_fit<typename To::raw_type, typename To::rounding_policy,
                         typename To::overflow_policy>(negative, mag, shift);
}

/// The exact quotient of any two formats, rounded once into To.
template <class To, class A, class B>
constexpr raw_result<To> divide_into(A a, B b) noexcept {
  using Raw = typename To::raw_type;
  using O = typename To::overflow_policy;
  if (b.raw() == 0) {
    if (a.raw() == 0) return {Raw(0), status::divide_by_zero};
    return fit_extreme<Raw, O>(is_negative(a.raw()), status::divide_by_zero);
  }
  constexpr int k = To::fraction_bits + B::fraction_bits - A::fraction_bits;
  constexpr int num_bits = A::total_bits + (k > 0 ? k : 0);
  constexpr int den_bits = B::total_bits + (k < 0 ? -k : 0);
  static_assert(num_bits <= 128 && den_bits <= 128,
                "fixedq: this quotient needs more than 128 bits to be exact");
  using W = uwide_t<(num_bits > den_bits ? num_bits : den_bits)>;
  const bool negative = is_negative(a.raw()) != is_negative(b.raw());
  const W num = W(magnitude(a.raw())) << (k > 0 ? k : 0);
  const W den = W(magnitude(b.raw())) << (k < 0 ? -k : 0);
  return round_divide_fit<Raw, typename To::rounding_policy, O>(negative, num, den);
}

template <class T, class Int>
constexpr raw_result<T> multiply_integer(T a, Int n) noexcept {
  using W = uwide_t<T::total_bits + 8 * static_cast<int>(sizeof(Int))>;
  const bool negative = is_negative(a.raw()) != is_negative(n);
  return fit<typename T::raw_type, typename T::overflow_policy>(
      negative, mul_wide<W>(magnitude(a.raw()), magnitude(n)), false);
}

template <class T, class Int>
constexpr raw_result<T> divide_integer(T a, Int n) noexcept {
  using Raw = typename T::raw_type;
  using O = typename T::overflow_policy;
  if (n == 0) {
    if (a.raw() == 0) return {Raw(0), status::divide_by_zero};
    return fit_extreme<Raw, O>(is_negative(a.raw()), status::divide_by_zero);
  }
  return round_divide_fit<Raw, typename T::rounding_policy, O>(
      is_negative(a.raw()) != is_negative(n), magnitude(a.raw()), magnitude(n));
}

/// A value of another fixed-point format, rounded once into To.
template <class To, class From>
constexpr raw_result<To> convert(From x) noexcept {
  constexpr int shift = From::fraction_bits - To::fraction_bits;
  using W = uwide_t<From::total_bits + (shift < 0 ? -shift : 0)>;
  return round_shift_fit<typename To::raw_type, typename To::rounding_policy,
                         typename To::overflow_policy>(is_negative(x.raw()),
                                                       W(magnitude(x.raw())), shift);
}

/// An integer, exactly scaled into To (no rounding can happen, only overflow).
template <class To, class Int>
constexpr raw_result<To> from_integer(Int v) noexcept {
  using W = uwide_t<8 * static_cast<int>(sizeof(Int)) + To::fraction_bits>;
  return round_shift_fit<typename To::raw_type, typename To::rounding_policy,
                         typename To::overflow_policy>(is_negative(v), W(magnitude(v)),
                                                       -To::fraction_bits);
}

/// The value of x rounded to an integer with T's rounding policy, fitted into Int.
template <class Int, class T>
constexpr result<Int> to_integer(T x) noexcept {
  return round_shift_fit<Int, typename T::rounding_policy, typename T::overflow_policy>(
      is_negative(x.raw()), magnitude(x.raw()), T::fraction_bits);
}

}  // namespace detail

namespace core {

template <bool Signed, int I, int F, class R, class O>
class basic_fixed {
  static_assert(detail::is_valid_width(I + F),
                "fixedq: the total width I + F (integer bits, sign bit included, plus fraction "
                "bits) must be 8, 16, 32 or 64, the width of a native integer");
  static_assert(F >= 0, "fixedq: the number of fraction bits F must be 0 or more");
  static_assert(!Signed || I >= 1,
                "fixedq: a signed Fixed<I, F> needs I >= 1, because I counts the sign bit");
  static_assert(Signed || I >= 0, "fixedq: an unsigned UFixed<I, F> needs I >= 0");
  static_assert(is_rounding_policy_v<R>,
                "fixedq: the rounding policy must be one of fixedq::round::floor, toward_zero, "
                "ceil, half_up, half_away, half_even");
  static_assert(is_overflow_policy_v<O>,
                "fixedq: the overflow policy must be one of fixedq::overflow::wrap, saturate, "
                "checked");

 public:
  /// The native integer that stores the number.
  using raw_type = typename detail::raw_int<Signed, detail::is_valid_width(I + F) ? I + F : 64>::type;
  using rounding_policy = R;
  using overflow_policy = O;
  /// The same format under other policies.
  template <class R2, class O2 = O>
  using with_policy = basic_fixed<Signed, I, F, R2, O2>;

  static constexpr bool is_signed = Signed;
  static constexpr int integer_bits = I;
  static constexpr int fraction_bits = F;
  static constexpr int total_bits = I + F;

  /// Zero.
  constexpr basic_fixed() noexcept = default;

  /// The number whose raw integer is `r`: the value r * 2^-F.
  static constexpr basic_fixed from_raw(raw_type r) noexcept {
    basic_fixed x;
    x.raw_ = r;
    return x;
  }
  /// The raw integer: the value times 2^F.
  constexpr raw_type raw() const noexcept { return raw_; }

  /// An integer, exactly scaled; out of range follows the overflow policy.
  template <class Int, std::enable_if_t<detail::is_integer_v<Int>, int> = 0>
  explicit constexpr basic_fixed(Int v)
      : raw_(detail::finish<basic_fixed>(detail::from_integer<basic_fixed>(v),
                                         "fixedq: integer out of the fixed-point range")) {}

  /// A double, rounded with R; out of range follows O. NaN gives 0 (checked: domain_error),
  /// +-inf give max()/lowest() (checked: overflow_error).
  explicit constexpr basic_fixed(double v)
      : raw_(detail::finish<basic_fixed>(detail::from_double<raw_type, R, O>(v, F),
                                         "fixedq: floating-point value not representable")) {}
  /// A float, as the double of the same value.
  explicit constexpr basic_fixed(float v) : basic_fixed(static_cast<double>(v)) {}

  /// A number of another format, rounded with this type's R and fitted with its O.
  template <bool S2, int I2, int F2, class R2, class O2>
  explicit constexpr basic_fixed(basic_fixed<S2, I2, F2, R2, O2> other)
      : raw_(detail::finish<basic_fixed>(detail::convert<basic_fixed>(other),
                                         "fixedq: format conversion overflows")) {}

  /// The nearest double (ties to even, as IEEE conversions do). Exact for <= 53-bit raws.
  explicit constexpr operator double() const noexcept {
    return static_cast<double>(raw_) * detail::pow2(-F);
  }
  /// The nearest float (ties to even).
  explicit constexpr operator float() const noexcept {
    return static_cast<float>(raw_) * static_cast<float>(detail::pow2(-F));
  }
  /// The value rounded to an integer with R, fitted into Int with O.
  template <class Int, std::enable_if_t<detail::is_integer_v<Int>, int> = 0>
  explicit constexpr operator Int() const {
    return detail::finish<basic_fixed>(detail::to_integer<Int>(*this),
                                       "fixedq: value out of the integer's range");
  }
  /// True unless zero.
  explicit constexpr operator bool() const noexcept { return raw_ != 0; }

  constexpr basic_fixed operator+() const noexcept { return *this; }
  constexpr basic_fixed operator-() const {
    return from_raw(detail::finish<basic_fixed>(detail::negate(*this), "fixedq: negation overflows"));
  }

  friend constexpr basic_fixed operator+(basic_fixed a, basic_fixed b) {
    return from_raw(detail::finish<basic_fixed>(detail::add(a, b), "fixedq: addition overflows"));
  }
  friend constexpr basic_fixed operator-(basic_fixed a, basic_fixed b) {
    return from_raw(
        detail::finish<basic_fixed>(detail::subtract(a, b), "fixedq: subtraction overflows"));
  }
  friend constexpr basic_fixed operator*(basic_fixed a, basic_fixed b) {
    return from_raw(detail::finish<basic_fixed>(detail::multiply_into<basic_fixed>(a, b),
                                                "fixedq: multiplication overflows"));
  }
  /// Division by zero: saturate gives max()/lowest() (0/0 gives 0), wrap gives 0,
  /// checked throws fixedq::division_by_zero.
  friend constexpr basic_fixed operator/(basic_fixed a, basic_fixed b) {
    return from_raw(detail::finish<basic_fixed>(detail::divide_into<basic_fixed>(a, b),
                                                "fixedq: division by zero or overflow"));
  }
  /// Exact product with an integer, then overflow policy.
  template <class Int, std::enable_if_t<detail::is_integer_v<Int>, int> = 0>
  friend constexpr basic_fixed operator*(basic_fixed a, Int n) {
    return from_raw(detail::finish<basic_fixed>(detail::multiply_integer(a, n),
                                                "fixedq: multiplication overflows"));
  }
  template <class Int, std::enable_if_t<detail::is_integer_v<Int>, int> = 0>
  friend constexpr basic_fixed operator*(Int n, basic_fixed a) {
    return a * n;
  }
  /// Exact quotient by an integer, rounded once with R.
  template <class Int, std::enable_if_t<detail::is_integer_v<Int>, int> = 0>
  friend constexpr basic_fixed operator/(basic_fixed a, Int n) {
    return from_raw(detail::finish<basic_fixed>(detail::divide_integer(a, n),
                                                "fixedq: division by zero or overflow"));
  }

  constexpr basic_fixed& operator+=(basic_fixed b) { return *this = *this + b; }
  constexpr basic_fixed& operator-=(basic_fixed b) { return *this = *this - b; }
  constexpr basic_fixed& operator*=(basic_fixed b) { return *this = *this * b; }
  constexpr basic_fixed& operator/=(basic_fixed b) { return *this = *this / b; }
  template <class Int, std::enable_if_t<detail::is_integer_v<Int>, int> = 0>
  constexpr basic_fixed& operator*=(Int n) {
    return *this = *this * n;
  }
  template <class Int, std::enable_if_t<detail::is_integer_v<Int>, int> = 0>
  constexpr basic_fixed& operator/=(Int n) {
    return *this = *this / n;
  }

  friend constexpr bool operator==(basic_fixed a, basic_fixed b) noexcept { return a.raw_ == b.raw_; }
  friend constexpr bool operator!=(basic_fixed a, basic_fixed b) noexcept { return a.raw_ != b.raw_; }
  friend constexpr bool operator<(basic_fixed a, basic_fixed b) noexcept { return a.raw_ < b.raw_; }
  friend constexpr bool operator<=(basic_fixed a, basic_fixed b) noexcept { return a.raw_ <= b.raw_; }
  friend constexpr bool operator>(basic_fixed a, basic_fixed b) noexcept { return a.raw_ > b.raw_; }
  friend constexpr bool operator>=(basic_fixed a, basic_fixed b) noexcept { return a.raw_ >= b.raw_; }

 private:
  raw_type raw_ = 0;
};

}  // namespace core

/// The exact 128-bit product of two 64-bit fixed-point numbers: a two's-complement (or
/// unsigned) 128-bit raw integer, split in words, with F fraction bits. Narrow it with
/// `narrow<To>()`, which rounds once.
template <bool Signed, int I, int F>
struct wide_product {
  static constexpr bool is_signed = Signed;
  static constexpr int integer_bits = I;
  static constexpr int fraction_bits = F;
  bool negative = false;
  detail::u128 magnitude = 0;

  /// The high and low 64-bit words of the 128-bit raw integer (two's complement).
  constexpr std::uint64_t hi() const noexcept { return detail::low64(detail::shr(raw128(), 64)); }
  constexpr std::uint64_t lo() const noexcept { return detail::low64(raw128()); }

  /// The product rounded once into To with To's policies.
  template <class To>
  constexpr To narrow() const {
    constexpr int shift = F - To::fraction_bits;
    static_assert(shift >= -64, "fixedq: narrow<To>() target has too many fraction bits");
    return To::from_raw(detail::finish<To>(
        detail::round_shift_fit<typename To::raw_type, typename To::rounding_policy,
                                typename To::overflow_policy>(negative, magnitude, shift),
        "fixedq: narrowing a wide product overflows"));
  }

 private:
  constexpr detail::u128 raw128() const noexcept {
    return negative ? detail::u128(detail::u128(0) - magnitude) : magnitude;
  }
};

/// The exact product of two numbers of one format. For formats of at most 32 bits the
/// result is the format with twice the integer and fraction bits (Fixed<2I, 2F>), which
/// holds every product exactly; for 64-bit formats it is a wide_product.
template <bool S, int I, int F, class R, class O>
constexpr auto multiply(basic_fixed<S, I, F, R, O> a, basic_fixed<S, I, F, R, O> b) noexcept {
  if constexpr (I + F <= 32) {
    using Wide = basic_fixed<S, 2 * I, 2 * F, R, O>;
    using WR = typename Wide::raw_type;
    return Wide::from_raw(static_cast<WR>(static_cast<WR>(a.raw()) * static_cast<WR>(b.raw())));
  } else {
    wide_product<S, 2 * I, 2 * F> p;
    p.negative = detail::is_negative(a.raw()) != detail::is_negative(b.raw());
    p.magnitude = detail::mul_wide<detail::u128>(detail::magnitude(a.raw()), detail::magnitude(b.raw()));
    if (p.magnitude == detail::u128(0)) p.negative = false;
    return p;
  }
}

/// The exact product of any two formats, rounded once into To with To's policies.
template <class To, class A, class B,
          std::enable_if_t<is_fixed_v<To> && is_fixed_v<A> && is_fixed_v<B>, int> = 0>
constexpr To multiply(A a, B b) {
  return To::from_raw(detail::finish<To>(detail::multiply_into<To>(a, b),
                                         "fixedq: multiplication overflows"));
}

/// The exact quotient of any two formats, rounded once into To with To's policies.
/// (The exact quotient of two binary fractions is in general an infinite binary fraction:
/// a "wide divide" is a divide into a wider To, with one rounding.)
template <class To, class A, class B,
          std::enable_if_t<is_fixed_v<To> && is_fixed_v<A> && is_fixed_v<B>, int> = 0>
constexpr To divide(A a, B b) {
  return To::from_raw(detail::finish<To>(detail::divide_into<To>(a, b),
                                         "fixedq: division by zero or overflow"));
}

/// Non-throwing forms for every policy: nullopt when the result overflows, on division by
/// zero, on NaN; otherwise the value the operator would give.
template <class T, std::enable_if_t<is_fixed_v<T>, int> = 0>
constexpr std::optional<T> try_add(T a, T b) noexcept {
  const auto r = detail::add(a, b);
  return r.st == detail::status::ok ? std::optional<T>(T::from_raw(r.raw)) : std::nullopt;
}
template <class T, std::enable_if_t<is_fixed_v<T>, int> = 0>
constexpr std::optional<T> try_sub(T a, T b) noexcept {
  const auto r = detail::subtract(a, b);
  return r.st == detail::status::ok ? std::optional<T>(T::from_raw(r.raw)) : std::nullopt;
}
template <class T, std::enable_if_t<is_fixed_v<T>, int> = 0>
constexpr std::optional<T> try_mul(T a, T b) noexcept {
  const auto r = detail::multiply_into<T>(a, b);
  return r.st == detail::status::ok ? std::optional<T>(T::from_raw(r.raw)) : std::nullopt;
}
template <class T, std::enable_if_t<is_fixed_v<T>, int> = 0>
constexpr std::optional<T> try_div(T a, T b) noexcept {
  const auto r = detail::divide_into<T>(a, b);
  return r.st == detail::status::ok ? std::optional<T>(T::from_raw(r.raw)) : std::nullopt;
}
template <class T, std::enable_if_t<is_fixed_v<T>, int> = 0>
constexpr std::optional<T> try_neg(T a) noexcept {
  const auto r = detail::negate(a);
  return r.st == detail::status::ok ? std::optional<T>(T::from_raw(r.raw)) : std::nullopt;
}
/// Converts a fixed-point number, an integer or a floating-point value into To.
template <class To, class From, std::enable_if_t<is_fixed_v<To>, int> = 0>
constexpr std::optional<To> try_convert(From x) noexcept {
  detail::raw_result<To> r{};
  if constexpr (is_fixed_v<From>) {
    r = detail::convert<To>(x);
  } else if constexpr (detail::is_integer_v<From>) {
    r = detail::from_integer<To>(x);
  } else {
    static_assert(std::is_floating_point_v<From>,
                  "fixedq: try_convert takes a fixed-point, integer or floating-point value");
    r = detail::from_double<typename To::raw_type, typename To::rounding_policy,
                            typename To::overflow_policy>(static_cast<double>(x), To::fraction_bits);
  }
  return r.st == detail::status::ok ? std::optional<To>(To::from_raw(r.raw)) : std::nullopt;
}

}  // namespace fixedq

namespace std {

template <bool S, int I, int F, class R, class O>
class numeric_limits<fixedq::basic_fixed<S, I, F, R, O>> {
  using T = fixedq::basic_fixed<S, I, F, R, O>;
  using raw = typename T::raw_type;
  static constexpr bool nearest = fixedq::rounding_traits<R>::to_nearest;

 public:
  static constexpr bool is_specialized = true;
  /// As for integer types, min() is the most negative value (there are no denormals).
  static constexpr T min() noexcept { return T::from_raw(numeric_limits<raw>::lowest()); }
  static constexpr T max() noexcept { return T::from_raw(numeric_limits<raw>::max()); }
  static constexpr T lowest() noexcept { return min(); }
  static constexpr int digits = numeric_limits<raw>::digits;
  static constexpr int digits10 = numeric_limits<raw>::digits10;
  static constexpr int max_digits10 = 0;
  static constexpr bool is_signed = S;
  static constexpr bool is_integer = F == 0;
  static constexpr bool is_exact = true;
  static constexpr int radix = 2;
  /// The resolution: one unit of the raw integer, 2^-F.
  static constexpr T epsilon() noexcept { return T::from_raw(1); }
  /// The largest rounding error in units of epsilon(), following the rounding policy:
  /// 0.5 for the to-nearest policies, 1 for the directed ones (max() where 1 is not
  /// representable, as in Q formats), 0 for integer formats (F == 0), as for integers.
  static constexpr T round_error() noexcept {
    if constexpr (F == 0) {
      return T();
    } else if constexpr (nearest) {
      return T::from_raw(static_cast<raw>(raw{1} << (F - 1)));
    } else if constexpr (F < numeric_limits<raw>::digits) {
      return T::from_raw(static_cast<raw>(raw{1} << F));
    } else {
      return max();
    }
  }
  static constexpr int min_exponent = 0;
  static constexpr int min_exponent10 = 0;
  static constexpr int max_exponent = 0;
  static constexpr int max_exponent10 = 0;
  static constexpr bool has_infinity = false;
  static constexpr bool has_quiet_NaN = false;
  static constexpr bool has_signaling_NaN = false;
  static constexpr float_denorm_style has_denorm = denorm_absent;
  static constexpr bool has_denorm_loss = false;
  static constexpr T infinity() noexcept { return T(); }
  static constexpr T quiet_NaN() noexcept { return T(); }
  static constexpr T signaling_NaN() noexcept { return T(); }
  static constexpr T denorm_min() noexcept { return T(); }
  static constexpr bool is_iec559 = false;
  static constexpr bool is_bounded = true;
  static constexpr bool is_modulo = fixedq::overflow_traits<O>::is_modulo;
  static constexpr bool traps = false;
  static constexpr bool tinyness_before = false;
  static constexpr float_round_style round_style = fixedq::rounding_traits<R>::round_style;
};

/// Equal values hash equal (the raw integer identifies the value within one type).
template <bool S, int I, int F, class R, class O>
struct hash<fixedq::basic_fixed<S, I, F, R, O>> {
  std::size_t operator()(fixedq::basic_fixed<S, I, F, R, O> x) const noexcept {
    return std::hash<typename fixedq::basic_fixed<S, I, F, R, O>::raw_type>{}(x.raw());
  }
};

}  // namespace std
