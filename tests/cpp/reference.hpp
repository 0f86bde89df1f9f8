// fixedq tests: the exact reference, i.e. the specification written as plainly as possible.
//
// Every value is an exact rational num/den. An operation computes its exact result, rounds it
// to an integer raw with school arithmetic (fl = floor(n/d), rem = n - fl*d, compare 2*rem with
// d), and then applies the overflow policy to that integer. There are no shifts, masks or
// two's-complement tricks here on purpose: the header is optimised, this file is obvious, and
// the tests demand that the two agree bit for bit.
//
// `Int` is any exact signed integer type with + - * / (truncating) and comparisons:
// std::int64_t or __int128 when the intermediate values are known to fit (fast, used for the
// exhaustive 8/16-bit batteries), a Boost.Multiprecision cpp_int otherwise. `int_for<Bits>`
// picks one from the number of bits an operation needs. The cpp_int is a fixed 320-bit
// *checked* one: no heap allocation (fast, also under ASan) and it throws rather than wraps
// if an intermediate ever needed more bits (the most is ~215 bits, to_string of UFixed<0,64>).
#pragma once

#include <boost/multiprecision/cpp_int.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace fixedq_ref {

// The reference is instantiated for three integer types only, but called from batteries
// instantiated for ~350 fixed-point types: keeping its functions out of line keeps the tests'
// compile time down (and costs little at run time).
#define FIXEDQ_REF_API [[gnu::noinline]]

using big = boost::multiprecision::number<boost::multiprecision::cpp_int_backend<
    320, 320, boost::multiprecision::signed_magnitude, boost::multiprecision::checked, void>>;
__extension__ typedef __int128 i128;

/// The smallest exact signed integer type for magnitudes below 2^Bits.
template <int Bits>
using int_for = std::conditional_t<(Bits <= 62), std::int64_t,
                                   std::conditional_t<(Bits <= 126), i128, big>>;

enum class Rounding { floor, toward_zero, ceil, half_up, half_away, half_even };
enum class Overflow { wrap, saturate, checked };

inline constexpr Rounding all_roundings[] = {Rounding::floor,   Rounding::toward_zero,
                                             Rounding::ceil,    Rounding::half_up,
                                             Rounding::half_away, Rounding::half_even};

inline const char* name(Rounding r) {
  switch (r) {
    case Rounding::floor: return "floor";
    case Rounding::toward_zero: return "toward_zero";
    case Rounding::ceil: return "ceil";
    case Rounding::half_up: return "half_up";
    case Rounding::half_away: return "half_away";
    case Rounding::half_even: return "half_even";
  }
  return "?";
}
inline const char* name(Overflow o) {
  switch (o) {
    case Overflow::wrap: return "wrap";
    case Overflow::saturate: return "saturate";
    case Overflow::checked: return "checked";
  }
  return "?";
}

/// A binary fixed-point format: value = raw / 2^fraction_bits, raw an integer of
/// integer_bits + fraction_bits bits (two's complement when signed). Integers are formats
/// with fraction_bits == 0.
struct Format {
  bool is_signed;
  int integer_bits;
  int fraction_bits;
  int total_bits() const { return integer_bits + fraction_bits; }
};

// ---------------------------------------------------------------------------------------------
// Integer helpers
// ---------------------------------------------------------------------------------------------

/// 2^n, by repeated doubling, tabulated once per integer type.
template <class Int>
const Int& pow2(int n) {
  static const std::vector<Int> table = [] {
    const int count = std::is_same_v<Int, std::int64_t> ? 63 : std::is_same_v<Int, i128> ? 127 : 300;
    std::vector<Int> t;
    Int p = 1;
    for (int i = 0; i < count; ++i) {
      t.push_back(p);
      if (i + 1 < count) p = p + p;  // never form the power one past the type's range
    }
    return t;
  }();
  if (n < 0 || n >= static_cast<int>(table.size())) {
    throw std::logic_error("fixedq_ref::pow2: 2^" + std::to_string(n) +
                           " is out of range for this integer type (a test picked too small an Int)");
  }
  return table[static_cast<std::size_t>(n)];
}

/// floor(n / d) for d > 0.
template <class Int>
FIXEDQ_REF_API Int floor_div(const Int& n, const Int& d) {
  Int q = n / d;             // truncates toward zero
  const Int r = n - q * d;   // |q * d| <= |n|: never overflows
  if (r < 0) q = q - 1;
  return q;
}

/// n / d (d != 0) rounded to an integer with the rounding mode r.
template <class Int>
FIXEDQ_REF_API Int round_div(Int n, Int d, Rounding r) {
  if (d == 0) throw std::logic_error("fixedq_ref::round_div: division by zero");
  if (d < 0) {
    n = -n;
    d = -d;
  }
  Int fl = n / d;              // truncates toward zero
  Int rem = n - fl * d;        // |fl * d| <= |n|: never overflows
  if (rem < 0) {               // floor: one step down, remainder into [0, d)
    fl = fl - 1;
    rem = rem + d;
  }
  if (rem == 0) return fl;     // exact: every mode agrees
  const Int other = d - rem;   // 2 * rem compared with d, without forming 2 * rem
  switch (r) {
    case Rounding::floor: return fl;
    case Rounding::ceil: return fl + 1;
    case Rounding::toward_zero: return n < 0 ? fl + 1 : fl;
    case Rounding::half_up:
    case Rounding::half_away:
    case Rounding::half_even:
      if (rem < other) return fl;
      if (rem > other) return fl + 1;
      // An exact tie: the value is fl + 1/2.
      if (r == Rounding::half_up) return fl + 1;
      if (r == Rounding::half_away) return fl >= 0 ? fl + 1 : fl;
      return floor_div(fl, Int(2)) * 2 == fl ? fl : fl + 1;  // even stays
  }
  throw std::logic_error("fixedq_ref::round_div: unknown rounding");
}

template <class Int>
Int lowest_raw(const Format& f) {
  return f.is_signed ? Int(-pow2<Int>(f.total_bits() - 1)) : Int(0);
}
template <class Int>
Int highest_raw(const Format& f) {
  return f.is_signed ? Int(pow2<Int>(f.total_bits() - 1) - 1) : Int(pow2<Int>(f.total_bits()) - 1);
}

/// floor(sqrt(n)) for n >= 0, by bisection.
template <class Int>
FIXEDQ_REF_API Int isqrt_floor(const Int& n) {
  Int lo = 0;  // lo^2 <= n
  Int hi = 1;  // hi^2 > n
  while (hi * hi <= n) hi = hi + hi;
  while (hi - lo > 1) {
    const Int mid = (lo + hi) / 2;
    if (mid * mid <= n) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return lo;
}

template <class To, class Int>
To convert_int(const Int& v) {
  if constexpr (std::is_same_v<Int, big>) {
    return v.template convert_to<To>();
  } else {
    return static_cast<To>(v);
  }
}

/// Decimal digits of v >= 0, by repeated division by ten.
template <class Int>
FIXEDQ_REF_API std::string decimal(Int v) {
  if (v == 0) return "0";
  std::string digits;
  while (v > 0) {
    const Int q = v / 10;
    digits.insert(digits.begin(), static_cast<char>('0' + convert_int<int>(v - q * 10)));
    v = q;
  }
  return digits;
}

// ---------------------------------------------------------------------------------------------
// Results
// ---------------------------------------------------------------------------------------------

/// An exact result before the overflow policy: a finite integer raw (already rounded), or
/// one of the special cases the contract names.
template <class Int>
struct Exact {
  enum Kind { finite, plus_infinity, minus_infinity, not_a_number, divided_by_zero, undefined };
  Kind kind = finite;
  Int raw = 0;            // finite: the rounded raw; divided_by_zero: the sign of the dividend
};

/// What an operation must produce: a raw, or the report a checked type makes.
enum class Status { value, overflow, division_by_zero, domain };

inline const char* name(Status s) {
  switch (s) {
    case Status::value: return "value";
    case Status::overflow: return "overflow_error";
    case Status::division_by_zero: return "division_by_zero";
    case Status::domain: return "domain_error";
  }
  return "?";
}

template <class Int>
struct Result {
  Status status = Status::value;
  Int raw = 0;  // meaningful when status == value
};

/// Applies the overflow policy to an exact (rounded) result.
template <class Int>
FIXEDQ_REF_API Result<Int> resolve(const Exact<Int>& e, const Format& f, Overflow o) {
  const Int lo = lowest_raw<Int>(f);
  const Int hi = highest_raw<Int>(f);
  switch (e.kind) {
    case Exact<Int>::finite: {
      if (lo <= e.raw && e.raw <= hi) return {Status::value, e.raw};
      if (o == Overflow::checked) return {Status::overflow, 0};
      if (o == Overflow::saturate) return {Status::value, e.raw < lo ? lo : hi};
      // wrap: the representative of e.raw modulo 2^bits inside [lo, hi].
      const Int m = pow2<Int>(f.total_bits());
      return {Status::value, e.raw - floor_div(Int(e.raw - lo), m) * m};
    }
    case Exact<Int>::plus_infinity:
      if (o == Overflow::checked) return {Status::overflow, 0};
      return {Status::value, hi};
    case Exact<Int>::minus_infinity:
      if (o == Overflow::checked) return {Status::overflow, 0};
      return {Status::value, lo};
    case Exact<Int>::not_a_number:
      if (o == Overflow::checked) return {Status::domain, 0};
      return {Status::value, 0};
    case Exact<Int>::undefined:
      if (o == Overflow::checked) return {Status::domain, 0};
      return {Status::value, 0};
    case Exact<Int>::divided_by_zero:
      if (o == Overflow::checked) return {Status::division_by_zero, 0};
      if (o == Overflow::wrap) return {Status::value, 0};
      return {Status::value, e.raw > 0 ? hi : e.raw < 0 ? lo : Int(0)};
  }
  throw std::logic_error("fixedq_ref::resolve: unknown kind");
}

/// What the non-throwing try_* forms return: the raw if the exact rounded result fits.
template <class Int>
FIXEDQ_REF_API std::optional<Int> resolve_try(const Exact<Int>& e, const Format& f) {
  if (e.kind != Exact<Int>::finite) return std::nullopt;
  if (e.raw < lowest_raw<Int>(f) || e.raw > highest_raw<Int>(f)) return std::nullopt;
  return e.raw;
}

template <class Int>
Exact<Int> finite(Int raw) {
  Exact<Int> e;
  e.raw = raw;
  return e;
}
template <class Int>
Exact<Int> special(typename Exact<Int>::Kind k, Int raw = 0) {
  Exact<Int> e;
  e.kind = k;
  e.raw = raw;
  return e;
}

// ---------------------------------------------------------------------------------------------
// Operations. Raws are exact integers; a raw r of format f has the value r / 2^f.F.
// ---------------------------------------------------------------------------------------------

/// The rational num/den (den != 0) as a raw of a format with `fraction_bits`, rounded with r.
template <class Int>
FIXEDQ_REF_API Exact<Int> quantize(const Int& num, const Int& den, int fraction_bits, Rounding r) {
  return finite(round_div(Int(num * pow2<Int>(fraction_bits)), den, r));
}

template <class Int>
Exact<Int> add(const Int& a, const Int& b) { return finite(Int(a + b)); }
template <class Int>
Exact<Int> sub(const Int& a, const Int& b) { return finite(Int(a - b)); }
template <class Int>
Exact<Int> neg(const Int& a) { return finite(Int(-a)); }
template <class Int>
Exact<Int> abs(const Int& a) { return finite(a < 0 ? Int(-a) : a); }

/// a (F_a fraction bits) * b (F_b) into a format with F_to fraction bits.
template <class Int>
FIXEDQ_REF_API Exact<Int> mul(const Int& a, int fa, const Int& b, int fb, int fto, Rounding r) {
  return quantize(Int(a * b), pow2<Int>(fa + fb), fto, r);
}

/// a (F_a) / b (F_b) into F_to: (a / 2^fa) / (b / 2^fb) = a * 2^fb / (b * 2^fa).
template <class Int>
FIXEDQ_REF_API Exact<Int> div(const Int& a, int fa, const Int& b, int fb, int fto, Rounding r) {
  if (b == 0) return special<Int>(Exact<Int>::divided_by_zero, a > 0 ? Int(1) : a < 0 ? Int(-1) : Int(0));
  return quantize(Int(a * pow2<Int>(fb)), Int(b * pow2<Int>(fa)), fto, r);
}

/// fmod for one format: a - trunc(a / b) * b, exact (never rounds, never overflows).
template <class Int>
FIXEDQ_REF_API Exact<Int> fmod(const Int& a, const Int& b) {
  if (b == 0) return special<Int>(Exact<Int>::undefined);
  return finite(Int(a - round_div(a, b, Rounding::toward_zero) * b));
}

/// An integer times an exact integer factor (x * n), or divided by one (x / n).
template <class Int>
Exact<Int> mul_int(const Int& a, const Int& n) { return finite(Int(a * n)); }
template <class Int>
FIXEDQ_REF_API Exact<Int> div_int(const Int& a, const Int& n, Rounding r) {
  if (n == 0) return special<Int>(Exact<Int>::divided_by_zero, a > 0 ? Int(1) : a < 0 ? Int(-1) : Int(0));
  return finite(round_div(a, n, r));
}

/// A raw with `from` fraction bits converted to `to` fraction bits.
template <class Int>
FIXEDQ_REF_API Exact<Int> rescale(const Int& a, int from, int to, Rounding r) {
  return quantize(a, pow2<Int>(from), to, r);
}

/// The value rounded to an integer with r, as a raw of the same format (floor, ceil, ...).
template <class Int>
FIXEDQ_REF_API Exact<Int> to_integral(const Int& a, int fraction_bits, Rounding r) {
  return finite(Int(round_div(a, pow2<Int>(fraction_bits), r) * pow2<Int>(fraction_bits)));
}

/// sqrt(a / 2^F) as a raw with F fraction bits: sqrt(a * 2^F), rounded with r.
/// sqrt(N) for an integer N is never exactly halfway between two integers, so the three
/// to-nearest modes agree: round up iff N > s^2 + s, s = floor(sqrt(N)).
template <class Int>
FIXEDQ_REF_API Exact<Int> sqrt(const Int& a, int fraction_bits, Rounding r) {
  if (a < 0) return special<Int>(Exact<Int>::undefined);
  const Int n = a * pow2<Int>(fraction_bits);
  const Int s = isqrt_floor(n);
  if (s * s == n) return finite(s);
  switch (r) {
    case Rounding::floor:
    case Rounding::toward_zero: return finite(s);
    case Rounding::ceil: return finite(Int(s + 1));
    default: return finite(n > s * s + s ? Int(s + 1) : s);
  }
}

/// A double's exact value rounded to a raw with `fraction_bits`. NaN and infinities are
/// kept as special kinds; huge or tiny values are clamped to an equivalent exponent (one that
/// gives the same rounded result, the same side of every range, and the same residue modulo
/// 2^bits), so that Int needs only 53 + bits + 2 bits.
template <class Int>
FIXEDQ_REF_API Exact<Int> from_double(double d, int fraction_bits, int total_bits, Rounding r) {
  if (std::isnan(d)) return special<Int>(Exact<Int>::not_a_number);
  if (std::isinf(d)) return special<Int>(d > 0 ? Exact<Int>::plus_infinity : Exact<Int>::minus_infinity);
  if (d == 0) return finite(Int(0));
  int e = 0;
  const double m = std::frexp(d, &e);  // d = m * 2^e, 0.5 <= |m| < 1
  const auto mant = static_cast<std::int64_t>(std::ldexp(m, 53));  // exact: d = mant * 2^(e-53)
  int shift = e - 53 + fraction_bits;  // raw = mant * 2^shift
  if (shift >= 0) {
    // Beyond total_bits + 1 every candidate is out of range and is 0 modulo 2^bits.
    if (shift > total_bits + 1) shift = total_bits + 1;
    return finite(Int(Int(mant) * pow2<Int>(shift)));
  }
  // |mant| < 2^53: dividing by 2^55 or more leaves a magnitude below 1/2 that rounds like any
  // other magnitude below 1/2 of the same sign.
  if (shift < -55) shift = -55;
  return finite(round_div(Int(mant), pow2<Int>(-shift), r));
}

/// The raw a / 2^F as the nearest double (mantissa_bits = 53) or float (24), ties to even.
template <class Int>
FIXEDQ_REF_API double to_binary_float(const Int& a, int fraction_bits, int mantissa_bits) {
  if (a == 0) return 0.0;
  const bool negative = a < 0;
  const Int mag = negative ? Int(-a) : a;
  int length = 0;  // the number of binary digits of mag
  while (pow2<Int>(length) <= mag) ++length;
  int exponent = 0;
  Int mant = mag;
  if (length > mantissa_bits) {
    exponent = length - mantissa_bits;
    mant = round_div(mag, pow2<Int>(exponent), Rounding::half_even);  // may become 2^bits: fine
  }
  const double v = std::ldexp(static_cast<double>(convert_int<std::int64_t>(mant)),
                              exponent - fraction_bits);
  return negative ? -v : v;
}

/// Exact decimal text of a / 2^F: "-1.5", "3.0", "0.00390625"; F == 0 gives "3".
template <class Int>
FIXEDQ_REF_API std::string to_string(const Int& a, int fraction_bits) {
  const bool negative = a < 0;
  const Int mag = negative ? Int(-a) : a;
  std::string s = negative ? "-" : "";
  if (fraction_bits == 0) return s + decimal(mag);
  // a / 2^F = a * 5^F / 10^F.
  Int five = 1, ten = 1;
  for (int i = 0; i < fraction_bits; ++i) {
    five = five * 5;
    ten = ten * 10;
  }
  const Int scaled = mag * five;
  const Int whole = scaled / ten;
  std::string frac = decimal(Int(scaled - whole * ten));
  frac.insert(frac.begin(), static_cast<std::size_t>(fraction_bits) - frac.size(), '0');
  while (frac.size() > 1 && frac.back() == '0') frac.pop_back();
  return s + decimal(whole) + "." + frac;
}

}  // namespace fixedq_ref
