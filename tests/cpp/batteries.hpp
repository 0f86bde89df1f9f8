// fixedq tests: the batteries. Each checks one input (a raw, a pair of raws, a double, an
// integer) of one type against the exact reference, for every operation of the contract. The
// test files decide which inputs: every raw pattern, every pair, edge values or random samples.
//
// Shape of every battery: (1) the reference computes the expected outcomes, in code that
// depends only on the reference's integer type; (2) one function per tested type calls the
// header and records the outcomes; (3) type-independent code compares and reports.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstring>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "test_support.hpp"

namespace fqt {

/// Exact integer types for the reference, from the number of bits an operation needs.
template <class T>  // a * b * 2^F, a * 2^(2F): products and quotients of one format
using pair_int = ref::int_for<2 * T::total_bits + T::fraction_bits + 2>;
template <class T>  // sqrt(a * 2^F), a * 5^F (to_string); integer results up to uint64_t max
using unary_int = ref::int_for<std::max(T::total_bits + 3 * T::fraction_bits, 64) + 2>;
template <class T>  // x * n for a 64-bit integer n
using intop_int = ref::int_for<T::total_bits + 66>;
template <class To, class From>  // a * 2^F_to, and To's range
using convert_int = ref::int_for<std::max(From::total_bits + To::fraction_bits, To::total_bits) + 2>;

/// Decides for each operation whether to call it (see Report::probe_throw).
template <class Int, std::size_t N>
void plan(Report& rep, ref::Overflow o, const Expected<Int> (&w)[N], bool (&call)[N]) {
  for (std::size_t k = 0; k < N; ++k) call[k] = should_call(rep, o, w[k]);
}

// ---------------------------------------------------------------------------------------------
// Pairs: + - * / fmod, try_*, compound assignment, comparisons
// ---------------------------------------------------------------------------------------------

enum PairOp : int {
  kAdd, kAddAssign, kTryAdd, kSub, kSubAssign, kTrySub, kMul, kMulAssign, kTryMul,
  kDiv, kDivAssign, kTryDiv, kFmod, kPairOps
};
inline constexpr const char* pair_op_names[kPairOps] = {
    "a + b", "a += b", "try_add", "a - b", "a -= b", "try_sub", "a * b", "a *= b", "try_mul",
    "a / b", "a /= b", "try_div", "fmod"};

template <class Int>
[[gnu::noinline]] void expect_pair(const ref::Format& f, ref::Rounding r, ref::Overflow o,
                                   const Int& A, const Int& B, Expected<Int> (&w)[kPairOps]) {
  const int F = f.fraction_bits;
  const ref::Exact<Int> sum = ref::add(A, B);
  w[kAdd] = w[kAddAssign] = expect(sum, f, o);
  w[kTryAdd] = expect_try(sum, f);
  const ref::Exact<Int> difference = ref::sub(A, B);
  w[kSub] = w[kSubAssign] = expect(difference, f, o);
  w[kTrySub] = expect_try(difference, f);
  const ref::Exact<Int> product = ref::mul(A, F, B, F, F, r);
  w[kMul] = w[kMulAssign] = expect(product, f, o);
  w[kTryMul] = expect_try(product, f);
  const ref::Exact<Int> quotient = ref::div(A, F, B, F, F, r);
  w[kDiv] = w[kDivAssign] = expect(quotient, f, o);
  w[kTryDiv] = expect_try(quotient, f);
  w[kFmod] = expect(ref::fmod(A, B), f, o);
}

template <class Int>
[[gnu::noinline]] void compare_pair(Report& rep, const ref::Format& f, i128 a, i128 b,
                                    const Expected<Int> (&w)[kPairOps], const Outcome (&g)[kPairOps],
                                    const bool (&cmp)[6]) {
  const auto in = [&] { return "a=" + hex(a, f) + ", b=" + hex(b, f); };
  for (int k = 0; k < kPairOps; ++k) compare(rep, pair_op_names[k], in, f, w[k], g[k]);
  const bool want[6] = {a == b, a != b, a < b, a <= b, a > b, a >= b};
  static const char* const names[6] = {"==", "!=", "<", "<=", ">", ">="};
  for (int i = 0; i < 6; ++i) {
    rep.count();
    if (cmp[i] != want[i]) {
      rep.fail(std::string("a ") + names[i] + " b (" + in() + "): expected " + (want[i] ? "true" : "false"));
    }
  }
}

template <class T>
void check_pair(Report& rep, typename T::raw_type a, typename T::raw_type b) {
  using I = info<T>;
  using Int = pair_int<T>;
  Expected<Int> w[kPairOps];
  expect_pair(I::format(), I::rmode, I::omode, Int(a), Int(b), w);
  bool call[kPairOps];
  plan(rep, I::omode, w, call);
  Outcome g[kPairOps];
  const T x = T::from_raw(a);
  const T y = T::from_raw(b);
  if (call[kAdd]) FQT_RECORD(g[kAdd], x + y);
  if (call[kAddAssign]) FQT_RECORD(g[kAddAssign], T(x) += y);
  FQT_RECORD_OPTIONAL(g[kTryAdd], fixedq::try_add(x, y));
  if (call[kSub]) FQT_RECORD(g[kSub], x - y);
  if (call[kSubAssign]) FQT_RECORD(g[kSubAssign], T(x) -= y);
  FQT_RECORD_OPTIONAL(g[kTrySub], fixedq::try_sub(x, y));
  if (call[kMul]) FQT_RECORD(g[kMul], x * y);
  if (call[kMulAssign]) FQT_RECORD(g[kMulAssign], T(x) *= y);
  FQT_RECORD_OPTIONAL(g[kTryMul], fixedq::try_mul(x, y));
  if (call[kDiv]) FQT_RECORD(g[kDiv], x / y);
  if (call[kDivAssign]) FQT_RECORD(g[kDivAssign], T(x) /= y);
  FQT_RECORD_OPTIONAL(g[kTryDiv], fixedq::try_div(x, y));
  if (call[kFmod]) FQT_RECORD(g[kFmod], fixedq::fmod(x, y));
  const bool cmp[6] = {x == y, x != y, x < y, x <= y, x > y, x >= y};
  compare_pair(rep, I::format(), a, b, w, g, cmp);
}

// ---------------------------------------------------------------------------------------------
// Floating point into fixed point: T(d), T(float), try_convert<T>(d), try_convert<T>(float)
// ---------------------------------------------------------------------------------------------

void expect_from_floating(const ref::Format& f, ref::Rounding r, ref::Overflow o, double d,
                          Expected<i128> (&w)[4]);
void compare_from_floating(Report& rep, const ref::Format& f, double d, const Expected<i128> (&w)[4],
                           const Outcome (&g)[4]);

template <class T>
[[gnu::noinline]] void check_from_floating(Report& rep, double d) {
  using I = info<T>;
  Expected<i128> w[4];
  expect_from_floating(I::format(), I::rmode, I::omode, d, w);
  bool call[4];
  plan(rep, I::omode, w, call);
  Outcome g[4];
  const auto f = static_cast<float>(d);
  if (call[0]) FQT_RECORD(g[0], T(d));
  FQT_RECORD_OPTIONAL(g[1], fixedq::try_convert<T>(d));
  if (call[2]) FQT_RECORD(g[2], T(f));
  FQT_RECORD_OPTIONAL(g[3], fixedq::try_convert<T>(f));
  compare_from_floating(rep, I::format(), d, w, g);
}

/// (4a + k) / 2^(F + 2), rounded to double if it is not exact.
double quarter_point(i128 a, int k, int fraction_bits);

/// The doubles at a quarter, a half and three quarters of the way from raw a to raw a + 1
/// (and, below the lowest raw, from a - 1 to a), rounded to double if they are not exact.
template <class T>
void check_from_floating_between(Report& rep, typename T::raw_type a) {
  const bool lowest = a == std::numeric_limits<typename T::raw_type>::lowest();
  for (int k = lowest ? -3 : 1; k <= 3; ++k) {
    if (k != 0) check_from_floating<T>(rep, quarter_point(i128(a), k, T::fraction_bits));
  }
}

/// Special and far-away doubles for a format: NaN, infinities, zeros, subnormals, the
/// extremes, powers of two around the range and beyond 2^64, points around the range's ends.
std::vector<double> special_doubles(const ref::Format& f);

template <class T>
void check_special_floating(Report& rep) {
  for (const double d : special_doubles(info<T>::format())) check_from_floating<T>(rep, d);
}

/// Random finite doubles: random sign, 53-bit mantissa and binary exponent in [-133, 87].
double random_double(Rng& rng);

template <class T>
void check_random_floating(Report& rep, Rng& rng, int count) {
  for (int i = 0; i < count; ++i) check_from_floating<T>(rep, random_double(rng));
}

// ---------------------------------------------------------------------------------------------
// One raw: unary operators, math.hpp, conversions to integers, floating point and text
// ---------------------------------------------------------------------------------------------

enum UnaryOp : int {
  kPlus, kBool, kNeg, kTryNeg, kAbs, kFloor, kCeil, kTrunc, kRound, kRoundHalfEven, kRint, kSqrt,
  kToInt8, kToUInt8, kToInt16, kToUInt32, kToInt64, kToUInt64, kUnaryOps
};
inline constexpr const char* unary_op_names[kUnaryOps] = {
    "+x", "static_cast<bool>", "-x", "try_neg", "abs", "floor", "ceil", "trunc", "round",
    "round<half_even>", "rint", "sqrt", "static_cast<int8_t>", "static_cast<uint8_t>",
    "static_cast<int16_t>", "static_cast<uint32_t>", "static_cast<int64_t>", "static_cast<uint64_t>"};

/// The format a unary operation's result has (T's own, or an integer's).
ref::Format unary_result_format(const ref::Format& f, int op);

template <class Int>
[[gnu::noinline]] void expect_unary(const ref::Format& f, ref::Rounding r, ref::Overflow o,
                                    const Int& A, Expected<Int> (&w)[kUnaryOps]) {
  const int F = f.fraction_bits;
  w[kPlus] = {Got::value, A};
  w[kBool] = {Got::value, Int(A != 0 ? 1 : 0)};
  w[kNeg] = expect(ref::neg(A), f, o);
  w[kTryNeg] = expect_try(ref::neg(A), f);
  w[kAbs] = expect(ref::abs(A), f, o);
  w[kFloor] = expect(ref::to_integral(A, F, ref::Rounding::floor), f, o);
  w[kCeil] = expect(ref::to_integral(A, F, ref::Rounding::ceil), f, o);
  w[kTrunc] = expect(ref::to_integral(A, F, ref::Rounding::toward_zero), f, o);
  w[kRound] = expect(ref::to_integral(A, F, ref::Rounding::half_away), f, o);
  w[kRoundHalfEven] = expect(ref::to_integral(A, F, ref::Rounding::half_even), f, o);
  w[kRint] = expect(ref::to_integral(A, F, r), f, o);
  w[kSqrt] = expect(ref::sqrt(A, F, r), f, o);
  const ref::Exact<Int> integer = ref::finite(ref::round_div(A, ref::pow2<Int>(F), r));
  for (int k = kToInt8; k <= kToUInt64; ++k) w[k] = expect(integer, unary_result_format(f, k), o);
}

template <class Int>
[[gnu::noinline]] void compare_unary(Report& rep, const ref::Format& f, i128 a,
                                     const Expected<Int> (&w)[kUnaryOps], const Outcome (&g)[kUnaryOps]) {
  const auto in = [&] { return "x=" + hex(a, f); };
  for (int k = 0; k < kUnaryOps; ++k) compare(rep, unary_op_names[k], in, unary_result_format(f, k), w[k], g[k]);
}

/// The nearest double and float to the raw, ties to even, compared bit for bit; to_string and
/// operator<< (when `streamed` is not null) against the exact decimal.
template <class Int>
[[gnu::noinline]] void compare_conversions_out(Report& rep, const ref::Format& f, const Int& A,
                                               double d, float fl, const std::string& text,
                                               const std::string* streamed) {
  const auto in = [&] { return "x=" + hex(to_i128(A), f); };
  const double want_d = ref::to_binary_float(A, f.fraction_bits, 53);
  const auto want_f = static_cast<float>(ref::to_binary_float(A, f.fraction_bits, 24));
  rep.count();
  if (std::memcmp(&d, &want_d, sizeof d) != 0) {
    rep.fail("static_cast<double>(" + in() + "): expected " + describe_double(want_d) + ", got " + describe_double(d));
  }
  rep.count();
  if (std::memcmp(&fl, &want_f, sizeof fl) != 0) {
    rep.fail("static_cast<float>(" + in() + "): expected " + describe_double(double(want_f)) + ", got " +
             describe_double(double(fl)));
  }
  const std::string want_text = ref::to_string(A, f.fraction_bits);
  rep.count();
  if (text != want_text) rep.fail("to_string(" + in() + "): expected \"" + want_text + "\", got \"" + text + "\"");
  if (streamed != nullptr) {
    rep.count();
    if (*streamed != want_text) {
      rep.fail("operator<<(" + in() + "): expected \"" + want_text + "\", got \"" + *streamed + "\"");
    }
  }
}

/// x * n, n * x, x *= n, x / n and x /= n for an integer n (exact product or quotient, one
/// rounding, then overflow).
enum IntegerOp : int { kTimesN, kNTimes, kTimesAssignN, kOverN, kOverAssignN, kIntegerOps };

template <class Int>
[[gnu::noinline]] void expect_integer_ops(const ref::Format& f, ref::Rounding r, ref::Overflow o,
                                          const Int& A, const Int& N, Expected<Int> (&w)[kIntegerOps]) {
  w[kTimesN] = w[kNTimes] = w[kTimesAssignN] = expect(ref::mul_int(A, N), f, o);
  w[kOverN] = w[kOverAssignN] = expect(ref::div_int(A, N, r), f, o);
}

template <class Int>
[[gnu::noinline]] void compare_integer_ops(Report& rep, const ref::Format& f, i128 a, const char* type, i128 n,
                                           const Expected<Int> (&w)[kIntegerOps], const Outcome (&g)[kIntegerOps]) {
  const auto in = [&] { return "x=" + hex(a, f) + ", n=" + integer_input(type, n); };
  static const char* const names[kIntegerOps] = {"x * n", "n * x", "x *= n", "x / n", "x /= n"};
  for (int k = 0; k < kIntegerOps; ++k) compare(rep, names[k], in, f, w[k], g[k]);
}

template <class T, class N>
void check_integer_ops(Report& rep, typename T::raw_type a, N n) {
  using I = info<T>;
  using Int = intop_int<T>;
  Expected<Int> w[kIntegerOps];
  expect_integer_ops(I::format(), I::rmode, I::omode, Int(a), Int(n), w);
  bool call[kIntegerOps];
  plan(rep, I::omode, w, call);
  Outcome g[kIntegerOps];
  const T x = T::from_raw(a);
  if (call[kTimesN]) FQT_RECORD(g[kTimesN], x * n);
  if (call[kNTimes]) FQT_RECORD(g[kNTimes], n * x);
  if (call[kTimesAssignN]) FQT_RECORD(g[kTimesAssignN], T(x) *= n);
  if (call[kOverN]) FQT_RECORD(g[kOverN], x / n);
  if (call[kOverAssignN]) FQT_RECORD(g[kOverAssignN], T(x) /= n);
  compare_integer_ops(rep, I::format(), a, integer_name<N>(), i128(n), w, g);
}

/// Integer operands: a few for every raw, many more for the `thorough` ones.
inline constexpr int core_int_operands[] = {0, 1, -1, 2, -3, 7};
inline constexpr int more_int_operands[] = {-2, 3, 5, -128, 127, 255, 256, 1000, 2147483647, -2147483647 - 1};
inline constexpr std::int64_t int64_operands[] = {-9223372036854775807 - 1, -1, 9223372036854775807, 3};
inline constexpr std::uint64_t uint64_operands[] = {0, 3, 9223372036854775808u, 18446744073709551615u};

/// Everything about one raw. `thorough` adds the less central checks (operator<<, integer
/// operands of every width), which the exhaustive 16-bit battery runs on a subset.
template <class T>
void check_unary(Report& rep, typename T::raw_type a, bool thorough) {
  using I = info<T>;
  using Int = unary_int<T>;
  Expected<Int> w[kUnaryOps];
  expect_unary(I::format(), I::rmode, I::omode, Int(a), w);
  bool call[kUnaryOps];
  plan(rep, I::omode, w, call);
  Outcome g[kUnaryOps];
  const T x = T::from_raw(a);
  FQT_RECORD(g[kPlus], +x);
  FQT_RECORD(g[kBool], static_cast<bool>(x) ? 1 : 0);
  if (call[kNeg]) FQT_RECORD(g[kNeg], -x);
  FQT_RECORD_OPTIONAL(g[kTryNeg], fixedq::try_neg(x));
  if (call[kAbs]) FQT_RECORD(g[kAbs], fixedq::abs(x));
  if (call[kFloor]) FQT_RECORD(g[kFloor], fixedq::floor(x));
  if (call[kCeil]) FQT_RECORD(g[kCeil], fixedq::ceil(x));
  if (call[kTrunc]) FQT_RECORD(g[kTrunc], fixedq::trunc(x));
  if (call[kRound]) FQT_RECORD(g[kRound], fixedq::core::round(x));
  if (call[kRoundHalfEven]) FQT_RECORD(g[kRoundHalfEven], fixedq::core::round<fixedq::round::half_even>(x));
  if (call[kRint]) FQT_RECORD(g[kRint], fixedq::rint(x));
  if (call[kSqrt]) FQT_RECORD(g[kSqrt], fixedq::sqrt(x));
  if (call[kToInt8]) FQT_RECORD(g[kToInt8], static_cast<std::int8_t>(x));
  if (call[kToUInt8]) FQT_RECORD(g[kToUInt8], static_cast<std::uint8_t>(x));
  if (call[kToInt16]) FQT_RECORD(g[kToInt16], static_cast<std::int16_t>(x));
  if (call[kToUInt32]) FQT_RECORD(g[kToUInt32], static_cast<std::uint32_t>(x));
  if (call[kToInt64]) FQT_RECORD(g[kToInt64], static_cast<std::int64_t>(x));
  if (call[kToUInt64]) FQT_RECORD(g[kToUInt64], static_cast<std::uint64_t>(x));
  compare_unary(rep, I::format(), a, w, g);

  std::string streamed;
  if (thorough) {
    std::ostringstream os;
    os << x;
    streamed = os.str();
  }
  compare_conversions_out(rep, I::format(), Int(a), static_cast<double>(x), static_cast<float>(x),
                          fixedq::to_string(x), thorough ? &streamed : nullptr);

  // Doubles and floats at the value itself (exact in a double when the raw has at most 53
  // bits) and between it and the next value.
  check_from_floating<T>(rep, ref::to_binary_float(Int(a), I::fraction_bits, 53));
  check_from_floating_between<T>(rep, a);

  for (const int n : core_int_operands) check_integer_ops<T>(rep, a, n);
  if (thorough) {
    for (const int n : more_int_operands) check_integer_ops<T>(rep, a, n);
    for (const std::int64_t n : int64_operands) check_integer_ops<T>(rep, a, n);
    for (const std::uint64_t n : uint64_operands) check_integer_ops<T>(rep, a, n);
  }
}

// ---------------------------------------------------------------------------------------------
// Integers into fixed point: T(v), try_convert<T>(v)
// ---------------------------------------------------------------------------------------------

/// Integers worth converting into a format with `integer_bits`, within [lo, hi].
std::vector<i128> integer_candidates(int integer_bits, i128 lo, i128 hi);
void expect_from_integer(const ref::Format& f, ref::Overflow o, i128 v, Expected<big> (&w)[2]);
void compare_from_integer(Report& rep, const ref::Format& f, const char* type, i128 v,
                          const Expected<big> (&w)[2], const Outcome (&g)[2]);

template <class T, class IntT>
void check_from_integers_of(Report& rep) {
  using I = info<T>;
  using L = std::numeric_limits<IntT>;
  for (const i128 c : integer_candidates(T::integer_bits, L::lowest(), L::max())) {
    const auto v = static_cast<IntT>(c);
    Expected<big> w[2];
    expect_from_integer(I::format(), I::omode, c, w);
    Outcome g[2];
    if (should_call(rep, I::omode, w[0])) FQT_RECORD(g[0], T(v));
    FQT_RECORD_OPTIONAL(g[1], fixedq::try_convert<T>(v));
    compare_from_integer(rep, I::format(), integer_name<IntT>(), c, w, g);
  }
}

template <class T>
void check_from_integers(Report& rep) {
  check_from_integers_of<T, std::int8_t>(rep);
  check_from_integers_of<T, std::uint8_t>(rep);
  check_from_integers_of<T, std::int32_t>(rep);
  check_from_integers_of<T, std::uint32_t>(rep);
  check_from_integers_of<T, std::int64_t>(rep);
  check_from_integers_of<T, std::uint64_t>(rep);
}

// ---------------------------------------------------------------------------------------------
// Format conversions: To(x) and try_convert<To>(x)
// ---------------------------------------------------------------------------------------------

template <class Int>
[[gnu::noinline]] void expect_conversion(const ref::Format& from, const ref::Format& to, ref::Rounding r,
                                         ref::Overflow o, const Int& A, Expected<Int> (&w)[2]) {
  const ref::Exact<Int> e = ref::rescale(A, from.fraction_bits, to.fraction_bits, r);
  w[0] = expect(e, to, o);
  w[1] = expect_try(e, to);
}

template <class Int>
[[gnu::noinline]] void compare_conversion(Report& rep, const ref::Format& from, const ref::Format& to,
                                          i128 a, const Expected<Int> (&w)[2], const Outcome (&g)[2]) {
  const auto in = [&] { return format_name(from) + " x=" + hex(a, from); };
  compare(rep, "To(x)", in, to, w[0], g[0]);
  compare(rep, "try_convert<To>(x)", in, to, w[1], g[1]);
}

/// To(x) and try_convert<To>(x) for every given raw of From.
template <class To, class From>
[[gnu::noinline]] void check_conversions(Report& rep, const std::vector<typename From::raw_type>& raws) {
  using Int = convert_int<To, From>;
  using I = info<To>;
  for (const auto a : raws) {
    Expected<Int> w[2];
    expect_conversion(info<From>::format(), I::format(), I::rmode, I::omode, Int(a), w);
    Outcome g[2];
    const From x = From::from_raw(a);
    if (should_call(rep, I::omode, w[0])) FQT_RECORD(g[0], To(x));
    FQT_RECORD_OPTIONAL(g[1], fixedq::try_convert<To>(x));
    compare_conversion(rep, info<From>::format(), I::format(), a, w, g);
  }
}

/// Policies of a conversion's source: never the destination's own, so that a conversion that
/// used the source's policies instead of the destination's is caught.
using rounding_list = std::tuple<rnd::floor, rnd::toward_zero, rnd::ceil, rnd::half_up, rnd::half_away, rnd::half_even>;
using overflow_list = std::tuple<ovf::wrap, ovf::saturate, ovf::checked>;
template <class R>
constexpr std::size_t rounding_index = static_cast<std::size_t>(rounding_of<R>());
template <class O>
constexpr std::size_t overflow_index = static_cast<std::size_t>(overflow_of<O>());
template <class Fmt, class To>
using source_for = typename Fmt::template with<
    std::tuple_element_t<(rounding_index<typename To::rounding_policy> + 1) % 6, rounding_list>,
    std::tuple_element_t<(overflow_index<typename To::overflow_policy> + 1) % 3, overflow_list>>;

}  // namespace fqt
