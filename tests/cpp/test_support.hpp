// fixedq tests: shared machinery. Which types are tested (format lists x the 18 policy
// pairs), how a fixedq type maps onto the reference's Format/Rounding/Overflow, replicable
// random numbers, edge values, and how a mismatch is reported (raw values in hex, the
// operation, the policies, and for random inputs the command that repeats the run).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <fixedq/fixedq.hpp>

#include "reference.hpp"

namespace fqt {

namespace ref = fixedq_ref;
using ref::big;
using ref::i128;

// ---------------------------------------------------------------------------------------------
// Type lists
// ---------------------------------------------------------------------------------------------

template <class... Ts>
struct tlist {};

template <class... Ls>
struct concat;
template <>
struct concat<> {
  using type = tlist<>;
};
template <class... A>
struct concat<tlist<A...>> {
  using type = tlist<A...>;
};
template <class... A, class... B, class... Rest>
struct concat<tlist<A...>, tlist<B...>, Rest...> {
  using type = typename concat<tlist<A..., B...>, Rest...>::type;
};
template <class... Ls>
using concat_t = typename concat<Ls...>::type;

/// Calls f(T{}) ... for every T of a tlist (T is passed as a value of an empty tag).
template <class T>
struct tag {
  using type = T;
};
template <class... Ts, class Fn>
void for_each_type(tlist<Ts...>, Fn&& fn) {
  (fn(tag<Ts>{}), ...);
}

/// A format without policies.
template <bool S, int I, int F>
struct fmt {
  template <class R, class O>
  using with = fixedq::basic_fixed<S, I, F, R, O>;
};

namespace rnd = fixedq::round;
namespace ovf = fixedq::overflow;

template <class Fmt, class R>
using over_all_overflows =
    tlist<typename Fmt::template with<R, ovf::wrap>, typename Fmt::template with<R, ovf::saturate>,
          typename Fmt::template with<R, ovf::checked>>;

/// The 18 (rounding, overflow) variants of one format.
template <class Fmt>
using all_policies =
    concat_t<over_all_overflows<Fmt, rnd::floor>, over_all_overflows<Fmt, rnd::toward_zero>,
             over_all_overflows<Fmt, rnd::ceil>, over_all_overflows<Fmt, rnd::half_up>,
             over_all_overflows<Fmt, rnd::half_away>, over_all_overflows<Fmt, rnd::half_even>>;

/// Six variants in which every rounding policy appears once and every overflow policy twice.
template <class Fmt>
using diagonal_policies =
    tlist<typename Fmt::template with<rnd::floor, ovf::wrap>, typename Fmt::template with<rnd::toward_zero, ovf::saturate>,
          typename Fmt::template with<rnd::ceil, ovf::checked>, typename Fmt::template with<rnd::half_up, ovf::wrap>,
          typename Fmt::template with<rnd::half_away, ovf::saturate>, typename Fmt::template with<rnd::half_even, ovf::checked>>;

/// The policy pairs the batteries run under: all 18, or, in the build with the emulated
/// 128-bit arithmetic (FIXEDQ_TESTS_DIAGONAL_POLICIES), the six diagonal ones. The emulation
/// only computes exact magnitudes, which the policies then round and fit in code shared by
/// both builds; a third of the instantiations keeps that second build affordable.
#if defined(FIXEDQ_TESTS_DIAGONAL_POLICIES)
template <class Fmt>
using tested_policies = diagonal_policies<Fmt>;
#else
template <class Fmt>
using tested_policies = all_policies<Fmt>;
#endif

// The tested formats.
using Q7f = fmt<true, 1, 7>;
using S4_4 = fmt<true, 4, 4>;
using S8_0 = fmt<true, 8, 0>;
using U0_8 = fmt<false, 0, 8>;
using U4_4 = fmt<false, 4, 4>;

using Q15f = fmt<true, 1, 15>;
using S8_8 = fmt<true, 8, 8>;
using S16_0 = fmt<true, 16, 0>;
using U8_8 = fmt<false, 8, 8>;
using U0_16 = fmt<false, 0, 16>;

using S16_16 = fmt<true, 16, 16>;
using S24_8 = fmt<true, 24, 8>;
using Q31f = fmt<true, 1, 31>;
using U16_16 = fmt<false, 16, 16>;

using S32_32 = fmt<true, 32, 32>;
using Q63f = fmt<true, 1, 63>;
using S64_0 = fmt<true, 64, 0>;
using U32_32 = fmt<false, 32, 32>;
using U0_64 = fmt<false, 0, 64>;

using formats8 = tlist<Q7f, S4_4, S8_0, U0_8, U4_4>;
using formats16 = tlist<Q15f, S8_8, S16_0, U8_8, U0_16>;
using formats32 = tlist<S16_16, S24_8, Q31f, U16_16>;
using formats64 = tlist<S32_32, Q63f, S64_0, U32_32, U0_64>;
using all_formats = concat_t<formats8, formats16, formats32, formats64>;

template <class L>
struct expand_policies;
template <class... Fmts>
struct expand_policies<tlist<Fmts...>> {
  using type = concat_t<tested_policies<Fmts>...>;
};
/// Every format of the tlist L under every tested policy pair.
template <class L>
using with_tested_policies = typename expand_policies<L>::type;

// ---------------------------------------------------------------------------------------------
// A fixedq type seen by the reference
// ---------------------------------------------------------------------------------------------

template <class R>
constexpr ref::Rounding rounding_of() {
  if constexpr (std::is_same_v<R, rnd::floor>) return ref::Rounding::floor;
  if constexpr (std::is_same_v<R, rnd::toward_zero>) return ref::Rounding::toward_zero;
  if constexpr (std::is_same_v<R, rnd::ceil>) return ref::Rounding::ceil;
  if constexpr (std::is_same_v<R, rnd::half_up>) return ref::Rounding::half_up;
  if constexpr (std::is_same_v<R, rnd::half_away>) return ref::Rounding::half_away;
  if constexpr (std::is_same_v<R, rnd::half_even>) return ref::Rounding::half_even;
}
template <class O>
constexpr ref::Overflow overflow_of() {
  if constexpr (std::is_same_v<O, ovf::wrap>) return ref::Overflow::wrap;
  if constexpr (std::is_same_v<O, ovf::saturate>) return ref::Overflow::saturate;
  if constexpr (std::is_same_v<O, ovf::checked>) return ref::Overflow::checked;
}

// Names, written once (not once per instantiated type).
std::string format_name(const ref::Format& f);  // "Fixed<1,7>"
std::string type_name(const ref::Format& f, ref::Rounding r, ref::Overflow o);
std::string type_id(const ref::Format& f, ref::Rounding r, ref::Overflow o);
std::string integer_input(const char* type, i128 v);  // "int8_t -128"

template <class T>
struct info;
template <bool S, int I, int F, class R, class O>
struct info<fixedq::basic_fixed<S, I, F, R, O>> {
  using type = fixedq::basic_fixed<S, I, F, R, O>;
  using raw_type = typename type::raw_type;
  using rounding = R;
  using overflow = O;
  static constexpr bool is_signed = S;
  static constexpr int integer_bits = I;
  static constexpr int fraction_bits = F;
  static constexpr int total_bits = I + F;
  static constexpr ref::Rounding rmode = rounding_of<R>();
  static constexpr ref::Overflow omode = overflow_of<O>();
  static constexpr bool checked = std::is_same_v<O, ovf::checked>;
  static ref::Format format() { return {S, I, F}; }
  static std::string format_name() { return fqt::format_name(format()); }
  /// "Fixed<1,7> rounding=half_even overflow=saturate"
  static std::string name() { return type_name(format(), rmode, omode); }
  /// An identifier for test names: "Fixed1_7_half_even_saturate".
  static std::string id() { return type_id(format(), rmode, omode); }
};

// ---------------------------------------------------------------------------------------------
// Tests per type
// ---------------------------------------------------------------------------------------------
//
// FQT_TYPED_TEST(Suite, Name, List) { ... T ... } registers one gtest test per type T of the
// tlist `List`, named "Suite/<type id>.Name" (for example "Pairs8/Fixed1_7_floor_wrap.EveryPair").
// It does what TYPED_TEST does, through ::testing::RegisterTest and a fold expression: gtest's
// own typed tests recurse over their type list, which for the ~350 types here costs minutes of
// compile time.

void register_one(const char* suite, const char* test, const char* file, int line,
                  const std::string& type_id, const std::string& type_name, void (*body)());

template <template <class> class Body, class... Ts>
bool register_per_type(const char* suite, const char* test, const char* file, int line, tlist<Ts...>) {
  (register_one(suite, test, file, line, info<Ts>::id(), info<Ts>::name(), &Body<Ts>::run), ...);
  return true;
}

#define FQT_TYPED_TEST(Suite, Name, List)                                                   \
  template <class T>                                                                        \
  struct Suite##_##Name {                                                                   \
    static void run();                                                                      \
  };                                                                                        \
  [[maybe_unused]] const bool Suite##_##Name##_registered =                                 \
      ::fqt::register_per_type<Suite##_##Name>(#Suite, #Name, __FILE__, __LINE__, List{}); \
  template <class T>                                                                        \
  void Suite##_##Name<T>::run()

/// The format of a built-in integer type, for conversions to integers.
template <class Int>
ref::Format integer_format() {
  return {std::is_signed_v<Int>, 8 * static_cast<int>(sizeof(Int)), 0};
}
template <class Int>
constexpr const char* integer_name() {
  if constexpr (std::is_same_v<Int, std::int8_t>) return "int8_t";
  if constexpr (std::is_same_v<Int, std::uint8_t>) return "uint8_t";
  if constexpr (std::is_same_v<Int, std::int16_t>) return "int16_t";
  if constexpr (std::is_same_v<Int, std::uint16_t>) return "uint16_t";
  if constexpr (std::is_same_v<Int, std::int32_t>) return "int32_t";
  if constexpr (std::is_same_v<Int, std::uint32_t>) return "uint32_t";
  if constexpr (std::is_same_v<Int, std::int64_t>) return "int64_t";
  if constexpr (std::is_same_v<Int, std::uint64_t>) return "uint64_t";
  if constexpr (std::is_same_v<Int, long long>) return "long long";
  if constexpr (std::is_same_v<Int, unsigned long long>) return "unsigned long long";
  return "integer";
}
template <class Int>
constexpr const char* cast_name() {
  if constexpr (std::is_same_v<Int, std::int8_t>) return "static_cast<int8_t>";
  if constexpr (std::is_same_v<Int, std::uint8_t>) return "static_cast<uint8_t>";
  if constexpr (std::is_same_v<Int, std::int16_t>) return "static_cast<int16_t>";
  if constexpr (std::is_same_v<Int, std::uint16_t>) return "static_cast<uint16_t>";
  if constexpr (std::is_same_v<Int, std::int32_t>) return "static_cast<int32_t>";
  if constexpr (std::is_same_v<Int, std::uint32_t>) return "static_cast<uint32_t>";
  if constexpr (std::is_same_v<Int, std::int64_t>) return "static_cast<int64_t>";
  if constexpr (std::is_same_v<Int, std::uint64_t>) return "static_cast<uint64_t>";
  return "static_cast<integer>";
}

// ---------------------------------------------------------------------------------------------
// Printing
// ---------------------------------------------------------------------------------------------

/// "0x80 (-128)": a raw of `bits` bits in hex (two's complement, full width) and in decimal.
std::string hex_bits(i128 v, int bits, bool is_signed);

template <class Raw>
std::string hex(Raw r) {
  static_assert(std::is_integral_v<Raw>);
  return hex_bits(i128(r), 8 * static_cast<int>(sizeof(Raw)), std::is_signed_v<Raw>);
}
inline std::string hex(i128 v, const ref::Format& f) { return hex_bits(v, f.total_bits(), f.is_signed); }

/// "0.1 (0x1.999999999999ap-4)"
std::string describe_double(double d);

// ---------------------------------------------------------------------------------------------
// Replicable random numbers
// ---------------------------------------------------------------------------------------------

/// The run's seed: $FIXEDQ_TEST_SEED if set, else fresh. Printed by main() and with failures.
std::uint64_t global_seed();
void set_program_name(const char* argv0);
/// "FIXEDQ_TEST_SEED=<seed> <argv0> --gtest_filter=<this test>"
std::string rerun_command();

/// splitmix64: fully specified, so a seed means the same inputs on every platform.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  /// Uniform in [0, n), n > 0 (the tiny modulo bias is irrelevant here).
  std::uint64_t below(std::uint64_t n) { return next() % n; }
  int below(int n) { return static_cast<int>(next() % static_cast<std::uint64_t>(n)); }

 private:
  std::uint64_t state_;
};

/// A generator seeded from the run's seed and the current test's full name, so a single test
/// rerun with --gtest_filter sees the same inputs as in the full run.
Rng rng_for_this_test();

// ---------------------------------------------------------------------------------------------
// Mismatch reports
// ---------------------------------------------------------------------------------------------

/// Collects mismatches of one test: prints the first few in full, then a count.
class Report {
 public:
  explicit Report(std::string subject, bool random = false)
      : subject_(std::move(subject)), random_(random) {}
  Report(const Report&) = delete;
  Report& operator=(const Report&) = delete;
  ~Report();

  /// Marks the inputs as random: failures then print the seed and the rerun command.
  void set_random() { random_ = true; }
  void fail(const std::string& what);
  long failures() const { return failures_; }
  long checks() const { return checks_; }
  void count() { ++checks_; }

  /// Under overflow::checked most overflowing inputs are checked only through the try_*
  /// forms (nullopt <=> overflow), and the throwing operator on one in `period` of them:
  /// a thrown exception costs microseconds, and there are millions of overflowing pairs.
  bool probe_throw() { return (++throw_probes_ % period) == 0; }
  static constexpr long period = 16;

 private:
  std::string subject_;
  bool random_;
  long failures_ = 0;
  long checks_ = 0;
  long throw_probes_ = 0;
  static constexpr long printed = 20;
};

// ---------------------------------------------------------------------------------------------
// Observing the header, and comparing with the reference
// ---------------------------------------------------------------------------------------------
//
// The header is called inline, in one function per tested type, and each outcome is recorded
// in an `Outcome`; the expected outcomes come from the reference and the comparison is done
// by code that does not depend on the tested type. (One small function per operation and type
// would mean tens of thousands of functions for ~350 types, and a very slow build.)

enum class Got : std::uint8_t {
  not_called,  // skipped: see Report::probe_throw
  value,
  nullopt,
  overflow_error,
  division_by_zero,
  domain_error,
  other_exception
};
const char* name(Got g);

/// What the header did: a value (a raw or an integer, exact in i128) or a report.
struct Outcome {
  Got kind = Got::not_called;
  i128 raw = 0;
};

/// What the reference says it must do.
template <class Int>
struct Expected {
  Got kind = Got::value;
  Int raw = 0;
};

template <class Int>
Expected<Int> expect(const ref::Exact<Int>& e, const ref::Format& f, ref::Overflow o) {
  const ref::Result<Int> r = ref::resolve(e, f, o);
  switch (r.status) {
    case ref::Status::value: return {Got::value, r.raw};
    case ref::Status::overflow: return {Got::overflow_error, 0};
    case ref::Status::division_by_zero: return {Got::division_by_zero, 0};
    case ref::Status::domain: return {Got::domain_error, 0};
  }
  return {Got::other_exception, 0};
}
/// What a try_* form must return: the raw, or nullopt.
template <class Int>
Expected<Int> expect_try(const ref::Exact<Int>& e, const ref::Format& f) {
  const std::optional<Int> r = ref::resolve_try(e, f);
  return r ? Expected<Int>{Got::value, *r} : Expected<Int>{Got::nullopt, 0};
}

template <class Int>
i128 to_i128(const Int& v) {
  return ref::convert_int<i128>(v);
}

/// Whether to call an operation whose expected outcome is `w` (see Report::probe_throw).
template <class Int>
bool should_call(Report& rep, ref::Overflow o, const Expected<Int>& w) {
  return o != ref::Overflow::checked || w.kind == Got::value || w.kind == Got::nullopt ||
         rep.probe_throw();
}

std::string describe(const Outcome& g, const ref::Format& f);

/// Compares; on a mismatch reports "op(inputs): expected ..., got ..." (inputs formatted
/// only then).
template <class Int, class Inputs>
void compare(Report& rep, const char* op, const Inputs& inputs, const ref::Format& f,
             const Expected<Int>& w, const Outcome& g) {
  if (g.kind == Got::not_called) return;
  rep.count();
  if (g.kind == w.kind && (w.kind != Got::value || to_i128(w.raw) == g.raw)) return;
  rep.fail(std::string(op) + "(" + inputs() + "): expected " +
           describe(Outcome{w.kind, w.kind == Got::value ? to_i128(w.raw) : 0}, f) + ", got " +
           describe(g, f));
}

/// Inside a catch block: which fixedq exception is in flight (the "exception dispatcher"
/// idiom: one small landing pad per call site, the catch clauses compiled once).
Got classify_current_exception() noexcept;

/// Records the outcome of a call of the header into `slot` (an Outcome).
#define FQT_RECORD(slot, expr)                                    \
  do {                                                            \
    try {                                                         \
      (slot).raw = static_cast<::fqt::i128>(::fqt::raw_of(expr)); \
      (slot).kind = ::fqt::Got::value;                            \
    } catch (...) {                                               \
      (slot).kind = ::fqt::classify_current_exception();          \
    }                                                             \
  } while (false)

/// Records the outcome of a try_* form (a std::optional of a fixed-point type).
#define FQT_RECORD_OPTIONAL(slot, expr)                      \
  do {                                                       \
    const auto fqt_optional_ = (expr);                       \
    (slot).kind = fqt_optional_ ? ::fqt::Got::value : ::fqt::Got::nullopt; \
    if (fqt_optional_) (slot).raw = static_cast<::fqt::i128>(fqt_optional_->raw()); \
  } while (false)

template <class V>
auto raw_of(const V& v) {
  if constexpr (fixedq::is_fixed_v<V>) {
    return v.raw();
  } else {
    static_assert(std::is_integral_v<V>);
    return v;
  }
}

// ---------------------------------------------------------------------------------------------
// Input values
// ---------------------------------------------------------------------------------------------

/// Every raw pattern of a type of at most 16 bits, lowest to highest (one shared copy per
/// raw type).
template <class Raw>
const std::vector<Raw>& every_raw_of() {
  static_assert(sizeof(Raw) <= 2, "all_raws: only for 8- and 16-bit formats");
  static const std::vector<Raw> raws = [] {
    std::vector<Raw> v;
    for (long r = std::numeric_limits<Raw>::lowest(); r <= std::numeric_limits<Raw>::max(); ++r) {
      v.push_back(static_cast<Raw>(r));
    }
    return v;
  }();
  return raws;
}
template <class T>
const std::vector<typename T::raw_type>& all_raws() {
  return every_raw_of<typename T::raw_type>();
}

/// The raws where fixed-point code goes wrong: the extremes and their neighbours, -1, 0, 1,
/// one half (ties of both signs in products and quotients), one, powers of two around the
/// middle of the word, and small integers.
std::vector<i128> edge_raws(const ref::Format& f);

/// A random raw from a mixture: uniform bits; a random magnitude of random length (so that
/// products and quotients often stay in range); a value near an edge; or an integer value
/// plus a fraction of 0, 1/2 or 1/4 (ties).
i128 random_raw(Rng& rng, const ref::Format& f);

template <class T>
std::vector<typename T::raw_type> edge_raws() {
  std::vector<typename T::raw_type> out;
  for (const i128 v : edge_raws(info<T>::format())) out.push_back(static_cast<typename T::raw_type>(v));
  return out;
}

template <class T>
typename T::raw_type random_raw(Rng& rng) {
  return static_cast<typename T::raw_type>(random_raw(rng, info<T>::format()));
}

}  // namespace fqt
