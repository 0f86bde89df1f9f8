// fixedq private: exact unsigned integers wider than 64 bits.
//
// fixedq computes every intermediate result exactly, in an unsigned magnitude type wide
// enough for it: `std::uint64_t` when 64 bits suffice, otherwise a 128-bit type. That
// 128-bit type is `unsigned __int128` where the compiler has it, and `u128_emulated`
// (two 64-bit words, exact, portable) everywhere else. Defining
// FIXEDQ_FORCE_EMULATED_WIDE before including fixedq selects the emulation even where
// `__int128` exists, so tests can prove both give the same bits.
#pragma once

#include <cstdint>
#include <type_traits>

#if defined(__SIZEOF_INT128__) && !defined(FIXEDQ_FORCE_EMULATED_WIDE)
#define FIXEDQ_HAS_INT128 1
#else
#define FIXEDQ_HAS_INT128 0
#endif

namespace fixedq::detail {

/// Portable exact unsigned 128-bit integer with modular (mod 2^128) arithmetic.
struct u128_emulated {
  std::uint64_t hi = 0;
  std::uint64_t lo = 0;

  constexpr u128_emulated() noexcept = default;
  constexpr u128_emulated(std::uint64_t v) noexcept : hi(0), lo(v) {}  // NOLINT: implicit, like integers
  constexpr u128_emulated(std::uint64_t h, std::uint64_t l) noexcept : hi(h), lo(l) {}
  explicit constexpr operator std::uint64_t() const noexcept { return lo; }
  explicit constexpr operator bool() const noexcept { return (hi | lo) != 0; }

  friend constexpr bool operator==(u128_emulated a, u128_emulated b) noexcept {
    return a.hi == b.hi && a.lo == b.lo;
  }
  friend constexpr bool operator!=(u128_emulated a, u128_emulated b) noexcept { return !(a == b); }
  friend constexpr bool operator<(u128_emulated a, u128_emulated b) noexcept {
    return a.hi < b.hi || (a.hi == b.hi && a.lo < b.lo);
  }
  friend constexpr bool operator>(u128_emulated a, u128_emulated b) noexcept { return b < a; }
  friend constexpr bool operator<=(u128_emulated a, u128_emulated b) noexcept { return !(b < a); }
  friend constexpr bool operator>=(u128_emulated a, u128_emulated b) noexcept { return !(a < b); }

  friend constexpr u128_emulated operator+(u128_emulated a, u128_emulated b) noexcept {
    const std::uint64_t lo = a.lo + b.lo;
    return {a.hi + b.hi + (lo < a.lo ? 1u : 0u), lo};
  }
  friend constexpr u128_emulated operator-(u128_emulated a, u128_emulated b) noexcept {
    return {a.hi - b.hi - (a.lo < b.lo ? 1u : 0u), a.lo - b.lo};
  }
  friend constexpr u128_emulated operator&(u128_emulated a, u128_emulated b) noexcept {
    return {a.hi & b.hi, a.lo & b.lo};
  }
  friend constexpr u128_emulated operator|(u128_emulated a, u128_emulated b) noexcept {
    return {a.hi | b.hi, a.lo | b.lo};
  }
  friend constexpr u128_emulated operator~(u128_emulated a) noexcept { return {~a.hi, ~a.lo}; }
  // Shifts take 0 <= s < 128, as for built-in integers.
  friend constexpr u128_emulated operator<<(u128_emulated a, int s) noexcept {
    if (s == 0) return a;
    if (s >= 64) return {a.lo << (s - 64), 0};
    return {(a.hi << s) | (a.lo >> (64 - s)), a.lo << s};
  }
  friend constexpr u128_emulated operator>>(u128_emulated a, int s) noexcept {
    if (s == 0) return a;
    if (s >= 64) return {0, a.hi >> (s - 64)};
    return {a.hi >> s, (a.lo >> s) | (a.hi << (64 - s))};
  }
  friend constexpr u128_emulated operator*(u128_emulated a, u128_emulated b) noexcept {
    u128_emulated r = mul_64x64(a.lo, b.lo);
    r.hi += a.hi * b.lo + a.lo * b.hi;
    return r;
  }
  friend constexpr u128_emulated operator/(u128_emulated a, u128_emulated b) noexcept {
    u128_emulated q, r;
    divmod(a, b, q, r);
    return q;
  }
  friend constexpr u128_emulated operator%(u128_emulated a, u128_emulated b) noexcept {
    u128_emulated q, r;
    divmod(a, b, q, r);
    return r;
  }

  /// The exact 128-bit product of two 64-bit words (schoolbook on 32-bit halves).
  static constexpr u128_emulated mul_64x64(std::uint64_t a, std::uint64_t b) noexcept {
    const std::uint64_t a0 = a & 0xFFFFFFFFu, a1 = a >> 32;
    const std::uint64_t b0 = b & 0xFFFFFFFFu, b1 = b >> 32;
    const std::uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
    const std::uint64_t mid = (p00 >> 32) + (p01 & 0xFFFFFFFFu) + (p10 & 0xFFFFFFFFu);
    return {p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32), (mid << 32) | (p00 & 0xFFFFFFFFu)};
  }

  /// Exact quotient and remainder; the divisor must not be zero.
  static constexpr void divmod(u128_emulated n, u128_emulated d, u128_emulated& q,
                               u128_emulated& r) noexcept {
    if (n.hi == 0 && d.hi == 0) {
      q = n.lo / d.lo;
      r = n.lo % d.lo;
      return;
    }
    q = 0;
    r = 0;
    if (n < d) {
      r = n;
      return;
    }
    // Restoring long division, one bit at a time, from the highest set bit of n.
    int top = 127;
    while (!((n >> top).lo & 1u)) --top;
    for (int i = top; i >= 0; --i) {
      r = (r << 1) | u128_emulated{0, (n >> i).lo & 1u};
      q = q << 1;
      if (r >= d) {
        r = r - d;
        q.lo |= 1u;
      }
    }
  }
};

#if FIXEDQ_HAS_INT128
__extension__ typedef unsigned __int128 u128;
#else
using u128 = u128_emulated;
#endif

/// The narrowest exact unsigned type for Bits bits of magnitude (Bits <= 128).
template <int Bits>
using uwide_t = std::conditional_t<(Bits <= 64), std::uint64_t, u128>;

template <class W>
inline constexpr int width_v = std::is_same_v<W, std::uint64_t> ? 64 : 128;

/// x << s for 0 <= s; zero once every bit is shifted out.
template <class W>
constexpr W shl(W x, int s) noexcept {
  return s >= width_v<W> ? W(0) : W(x << s);
}
/// x >> s for 0 <= s; zero once every bit is shifted out.
template <class W>
constexpr W shr(W x, int s) noexcept {
  return s >= width_v<W> ? W(0) : W(x >> s);
}
/// The low 64 bits.
template <class W>
constexpr std::uint64_t low64(W x) noexcept {
  return static_cast<std::uint64_t>(x);
}
/// The exact product of two 64-bit words in W (W must be wide enough for the operands).
template <class W>
constexpr W mul_wide(std::uint64_t a, std::uint64_t b) noexcept {
  if constexpr (std::is_same_v<W, u128_emulated>) {
    return u128_emulated::mul_64x64(a, b);
  } else {
    return W(a) * W(b);
  }
}

/// floor(sqrt(n)) and the remainder n - floor(sqrt(n))^2, digit by digit (exact).
template <class W>
constexpr W isqrt_digits(W n, W& remainder) noexcept {
  W result = 0;
  W bit = W(1) << (width_v<W> - 2);
  while (bit > n) bit = bit >> 2;
  while (bit != W(0)) {
    if (n >= result + bit) {
      n = n - (result + bit);
      result = (result >> 1) + bit;
    } else {
      result = result >> 1;
    }
    bit = bit >> 2;
  }
  remainder = n;
  return result;
}

/// floor(sqrt(n)) and its remainder, exact. At run time a double square root gives a
/// first guess (within a few units for n < 2^106) that integer steps then correct; in
/// constant expressions, and for larger n, the digit-by-digit method runs.
template <class W>
constexpr W isqrt(W n, W& remainder) noexcept {
#if defined(__GNUC__) || defined(__clang__)
  const bool runtime = !__builtin_is_constant_evaluated();
#else
  const bool runtime = false;
#endif
  if (runtime && shr(n, 104) == W(0)) {
    // n < 2^104: the guess s = round(sqrt(double(n))) < 2^52 is exact as a double and
    // off by at most a few units; s*s and (s+1)^2 fit 128 bits.
    const double approx = static_cast<double>(low64(shr(n, 52))) * 4503599627370496.0 +
                          static_cast<double>(low64(n) & 0xFFFFFFFFFFFFFull);
    double guess = approx;  // Newton-free: one hardware square root
#if defined(__GNUC__) || defined(__clang__)
    guess = __builtin_sqrt(approx);
#endif
    // Squares are formed in a 128-bit type: W itself when it is one (native or emulated).
    using P = std::conditional_t<width_v<W> == 128, W, u128>;
    std::uint64_t s = static_cast<std::uint64_t>(guess);
    const P nn = P(low64(shr(n, 64))) << 64 | P(low64(n));
    while (s > 0 && mul_wide<P>(s, s) > nn) --s;
    while (mul_wide<P>(s + 1, s + 1) <= nn) ++s;
    remainder = W(low64(nn - mul_wide<P>(s, s)));
    return W(s);
  }
  return isqrt_digits(n, remainder);
}

}  // namespace fixedq::detail
