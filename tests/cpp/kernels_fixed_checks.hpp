// fixedq kernel tests: the checks of one format's elementwise kernels against the scalar core
// (see test_kernels_fixed.cpp, which runs them for every instruction set).
//
// The checks are templates over the format; each is instantiated in exactly one of the
// kernels_fixed_checks_*.cpp files (the extern declarations at the end say which), not in
// test_kernels_fixed.cpp: 6 formats x 18 policies of them made that one translation unit the
// last to finish of the sanitizer build (200 s, most of it alone on one core of two); split,
// the halves compile in parallel.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <fixedq/fixedq.hpp>
#include <fixedq/kernels/fixed/kernels.hpp>

namespace fixedq_kernel_tests {

namespace k = fixedq::kernels;
namespace d = fixedq::detail;

inline std::uint64_t test_seed() {  // one seed for the whole program
  static const std::uint64_t seed = [] {
    const char* env = std::getenv("FIXEDQ_TEST_SEED");
    return env != nullptr ? std::strtoull(env, nullptr, 0) : std::random_device{}();
  }();
  return seed;
}

template <int Bits>
struct raw_int;
template <> struct raw_int<8> { using type = std::int8_t; };
template <> struct raw_int<16> { using type = std::int16_t; };
template <> struct raw_int<32> { using type = std::int32_t; };

template <class Fn>
void with_policy(int code, Fn&& fn) {
  namespace r = fixedq::round;
  namespace o = fixedq::overflow;
  auto with_o = [&](auto rt) {
    switch (code % 3) {
      case 0: fn(rt, o::wrap{}); break;
      case 1: fn(rt, o::saturate{}); break;
      default: fn(rt, o::checked{}); break;
    }
  };
  switch (code / 3) {
    case 0: with_o(r::floor{}); break;
    case 1: with_o(r::toward_zero{}); break;
    case 2: with_o(r::ceil{}); break;
    case 3: with_o(r::half_up{}); break;
    case 4: with_o(r::half_away{}); break;
    default: with_o(r::half_even{}); break;
  }
}

template <class Raw>
std::vector<Raw> inputs(std::mt19937_64& gen, std::size_t n) {
  const Raw lo = std::numeric_limits<Raw>::lowest(), hi = std::numeric_limits<Raw>::max();
  std::vector<Raw> v = {lo, Raw(lo + 1), hi, Raw(hi - 1), 0, 1, -1, 2, -2, 3, -3};
  for (int s = 0; s < static_cast<int>(8 * sizeof(Raw)) - 1; ++s) {
    v.push_back(static_cast<Raw>(Raw{1} << s));
    v.push_back(static_cast<Raw>(-(Raw{1} << s)));
  }
  std::uniform_int_distribution<long long> dist(lo, hi);
  while (v.size() < n) {
    // Mix full-range values with small ones (ties and exact results are common there).
    const long long x = dist(gen);
    v.push_back(static_cast<Raw>(v.size() % 3 == 0 ? x >> (gen() % (8 * sizeof(Raw))) : x));
  }
  return v;
}

template <int Bits, int F>
void check_format(const k::fixed_kernel_table& t, int fmt, const char* name) {
  using Raw = typename raw_int<Bits>::type;
  std::mt19937_64 gen(test_seed() ^ static_cast<std::uint64_t>(fmt * 7919));
  const std::size_t n = 4099;  // not a multiple of any vector width
  std::vector<Raw> a = inputs<Raw>(gen, n), b = inputs<Raw>(gen, n);
  std::shuffle(b.begin(), b.end(), gen);
  // Doubles near the representable values, at midpoints, and out of range.
  std::vector<double> x;
  std::uniform_int_distribution<int> quarter(-2, 2);
  for (std::size_t i = 0; i < n; ++i) {
    const double v = std::ldexp(static_cast<double>(a[i]) + 0.25 * quarter(gen), -F);
    x.push_back(i % 97 == 0 ? v * 3.0 : v);
  }
  x.push_back(std::numeric_limits<double>::quiet_NaN());
  x.push_back(std::numeric_limits<double>::infinity());
  x.push_back(-1e300);
  x.push_back(1e-300);
  std::vector<Raw> out(n), expect(n), outx(x.size()), expectx(x.size());
  for (int policy = 0; policy < k::num_policies; ++policy) {
    with_policy(policy, [&](auto rt, auto ot) {
      using T = fixedq::Fixed<Bits - F, F, decltype(rt), decltype(ot)>;
      const auto run = [&](const char* op, k::binary_fn fn, auto ref) {
        int want = 0;
        for (std::size_t i = 0; i < n; ++i) {
          const auto r = ref(T::from_raw(a[i]), T::from_raw(b[i]));
          expect[i] = r.raw;
          if (r.st == d::status::overflow) want |= k::flag_overflow;
          if (r.st == d::status::divide_by_zero) want |= k::flag_divide_by_zero;
        }
        const int got = fn(a.data(), b.data(), out.data(), static_cast<std::ptrdiff_t>(n));
        ASSERT_EQ(got & ~k::flag_out_of_kernel, want) << name << " " << op << " policy " << policy << " isa " << t.isa;
        if (got & k::flag_out_of_kernel) return;  // the caller redoes it on the scalar path
        for (std::size_t i = 0; i < n; ++i) {
          ASSERT_EQ(out[i], expect[i])
              << t.isa << " " << name << " " << op << " policy " << policy << ": a=0x" << std::hex
              << +a[i] << " b=0x" << +b[i] << " (FIXEDQ_TEST_SEED=" << std::dec << test_seed() << ")";
        }
      };
      run("add", t.add[fmt][policy], [](T p, T q) { return d::add(p, q); });
      run("subtract", t.subtract[fmt][policy], [](T p, T q) { return d::subtract(p, q); });
      run("multiply", t.multiply[fmt][policy], [](T p, T q) { return d::multiply_into<T>(p, q); });
      run("divide", t.divide[fmt][policy], [](T p, T q) { return d::divide_into<T>(p, q); });
      // from double: elements the kernel does not take (NaN, huge) are flagged, not wrong.
      const int got = t.from_double[fmt][policy](x.data(), outx.data(), static_cast<std::ptrdiff_t>(x.size()));
      ASSERT_NE(got & k::flag_out_of_kernel, 0) << "NaN/inf/huge inputs must be handed back";
      const int part = t.from_double[fmt][policy](x.data(), outx.data(), static_cast<std::ptrdiff_t>(n));
      int want = 0;
      for (std::size_t i = 0; i < n; ++i) {
        const auto r = d::from_double<Raw, decltype(rt), decltype(ot)>(x[i], F);
        if (r.st == d::status::overflow) want |= k::flag_overflow;
        if ((part & k::flag_out_of_kernel) == 0) {
          ASSERT_EQ(outx[i], r.raw) << t.isa << " " << name << " from_double policy " << policy
                                    << " x=" << x[i];
        }
      }
      if ((part & k::flag_out_of_kernel) == 0) {
        ASSERT_EQ(part, want) << name << " from_double flags";
      }
    });
  }
  std::vector<double> dbl(n);
  t.to_double[fmt](a.data(), dbl.data(), static_cast<std::ptrdiff_t>(n));
  for (std::size_t i = 0; i < n; ++i) {
    ASSERT_EQ(dbl[i], static_cast<double>(fixedq::Fixed<Bits - F, F>::from_raw(a[i]))) << t.isa << " " << name;
  }
}

/// The divide kernel on inputs chosen for it (where it computes in doubles, the quotient
/// rounded to an integer is one too large about half the time and must be corrected): the
/// 8-bit format on every pair; the others on edge values crossed (denominators +-1, +-2^k,
/// 2^k +- 1, the extremes, 0), every numerator of the 16-bit formats over a few denominators,
/// quotients just beside an integer, and exact ties k + 1/2 of both parities; also in place.
template <int Bits, int F>
void check_divide(const k::fixed_kernel_table& t, int fmt, const char* name) {
  using Raw = typename raw_int<Bits>::type;
  constexpr long long lo = std::numeric_limits<Raw>::lowest(), hi = std::numeric_limits<Raw>::max();
  std::mt19937_64 gen(test_seed() ^ static_cast<std::uint64_t>(fmt * 104729 + 1));
  std::vector<Raw> a, b;
  const auto add = [&](long long x, long long y) {
    if (x >= lo && x <= hi && y >= lo && y <= hi) {
      a.push_back(static_cast<Raw>(x));
      b.push_back(static_cast<Raw>(y));
    }
  };
  if constexpr (Bits == 8) {
    for (long long x = lo; x <= hi; ++x) {
      for (long long y = lo; y <= hi; ++y) add(x, y);
    }
  } else {
    std::vector<long long> edges = {lo, lo + 1, lo + 2, hi, hi - 1, hi - 2, 0, 1, -1, 2, -2, 3, -3, 5, -5, 7, -7};
    for (int s = 2; s < Bits - 1; ++s) {
      const long long p = 1LL << s;
      for (long long v : {p, p - 1, p + 1}) {
        edges.push_back(v);
        edges.push_back(-v);
      }
    }
    for (long long x : edges) {
      for (long long y : edges) add(x, y);
    }
    std::uniform_int_distribution<long long> any(lo, hi);
    const auto nonzero = [&] {  // full range or shifted down, never 0
      long long y = 0;
      while (y == 0) y = any(gen) >> (gen() % Bits);
      return y;
    };
    if constexpr (Bits == 16) {
      std::vector<long long> dens = {1, -1, 2, -2, 3, -3, 0, lo, hi, 255, -256, 1LL << F};
      for (int j = 0; j < 8; ++j) dens.push_back(nonzero());
      for (long long y : dens) {
        for (long long x = lo; x <= hi; ++x) add(x, y);
      }
    }
    for (int j = 0; j < 20000; ++j) {
      // a * 2^F / b next to an integer: a = round(near * b / 2^F) + {-1, 0, 1}.
      const long long y = nonzero();
      const long long near = any(gen) >> (gen() % Bits);
      const long long x = static_cast<long long>(std::llround(std::ldexp(static_cast<double>(near * y), -F)));
      for (long long dx = -1; dx <= 1; ++dx) add(x + dx, y);
      // a * 2^F / b = k + 1/2 exactly: b = 2^(F+1) * c, a = (2k + 1) * c.
      const long long c = nonzero() >> (F + 1);
      if (c != 0) {
        const long long odd = 2 * (any(gen) >> (gen() % Bits)) + 1;
        for (long long sgn : {1LL, -1LL}) add(sgn * odd * c, c * (1LL << (F + 1)));
      }
    }
  }
  const std::size_t n = a.size();
  std::vector<Raw> out(n);
  for (int policy = 0; policy < k::num_policies; ++policy) {
    with_policy(policy, [&](auto rt, auto ot) {
      using T = fixedq::Fixed<Bits - F, F, decltype(rt), decltype(ot)>;
      int want = 0;
      const int got = t.divide[fmt][policy](a.data(), b.data(), out.data(), static_cast<std::ptrdiff_t>(n));
      for (std::size_t i = 0; i < n; ++i) {
        const auto r = d::divide_into<T>(T::from_raw(a[i]), T::from_raw(b[i]));
        if (r.st == d::status::overflow) want |= k::flag_overflow;
        if (r.st == d::status::divide_by_zero) want |= k::flag_divide_by_zero;
        ASSERT_EQ(out[i], r.raw) << t.isa << " " << name << " divide policy " << policy << ": a=0x" << std::hex
                                 << +a[i] << " b=0x" << +b[i] << " (FIXEDQ_TEST_SEED=" << std::dec << test_seed()
                                 << ")";
      }
      ASSERT_EQ(got, want) << t.isa << " " << name << " divide flags, policy " << policy;
      // In place (out is a, then out is b): the same bits and flags.
      std::vector<Raw> in_place = a;
      ASSERT_EQ(t.divide[fmt][policy](in_place.data(), b.data(), in_place.data(), static_cast<std::ptrdiff_t>(n)), want);
      ASSERT_TRUE(in_place == out) << t.isa << " " << name << " divide in place of a, policy " << policy;
      in_place = b;
      ASSERT_EQ(t.divide[fmt][policy](a.data(), in_place.data(), in_place.data(), static_cast<std::ptrdiff_t>(n)), want);
      ASSERT_TRUE(in_place == out) << t.isa << " " << name << " divide in place of b, policy " << policy;
    });
  }
}

// Where each check is compiled (explicit instantiations): the 8- and 16-bit formats in
// kernels_fixed_checks_8_16.cpp, the 32-bit ones in kernels_fixed_checks_32.cpp.
#define FIXEDQ_KERNEL_TEST_CHECKS(prefix, Bits, F)                                            \
  prefix template void check_format<Bits, F>(const k::fixed_kernel_table&, int, const char*); \
  prefix template void check_divide<Bits, F>(const k::fixed_kernel_table&, int, const char*);
FIXEDQ_KERNEL_TEST_CHECKS(extern, 8, 7)
FIXEDQ_KERNEL_TEST_CHECKS(extern, 16, 15)
FIXEDQ_KERNEL_TEST_CHECKS(extern, 16, 8)
FIXEDQ_KERNEL_TEST_CHECKS(extern, 32, 31)
FIXEDQ_KERNEL_TEST_CHECKS(extern, 32, 16)
FIXEDQ_KERNEL_TEST_CHECKS(extern, 32, 8)

}  // namespace fixedq_kernel_tests
