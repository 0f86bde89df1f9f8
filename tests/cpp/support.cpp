// fixedq tests: the non-template half of the test machinery (see test_support.hpp and
// batteries.hpp): names, printing, seeds, reports, and the reference's expectations for the
// batteries whose inputs do not depend on the tested type (doubles, integers).
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <tuple>
#include <random>
#include <sstream>
#include <string>

#include "batteries.hpp"

namespace fqt {
namespace {

std::string g_program = "fixedq_tests";

std::uint64_t fresh_or_env_seed() {
  if (const char* s = std::getenv("FIXEDQ_TEST_SEED"); s != nullptr && *s != '\0') {
    return std::strtoull(s, nullptr, 0);
  }
  std::random_device rd;
  return (std::uint64_t{rd()} << 32) ^ std::uint64_t{rd()};
}

std::string current_test_name() {
  const ::testing::TestInfo* t = ::testing::UnitTest::GetInstance()->current_test_info();
  if (t == nullptr) return "*";
  return std::string(t->test_suite_name()) + "." + t->name();
}

}  // namespace

// --- names -----------------------------------------------------------------------------------

std::string format_name(const ref::Format& f) {
  return std::string(f.is_signed ? "Fixed<" : "UFixed<") + std::to_string(f.integer_bits) + "," +
         std::to_string(f.fraction_bits) + ">";
}

std::string type_name(const ref::Format& f, ref::Rounding r, ref::Overflow o) {
  return format_name(f) + " rounding=" + ref::name(r) + " overflow=" + ref::name(o);
}

std::string type_id(const ref::Format& f, ref::Rounding r, ref::Overflow o) {
  return std::string(f.is_signed ? "Fixed" : "UFixed") + std::to_string(f.integer_bits) + "_" +
         std::to_string(f.fraction_bits) + "_" + ref::name(r) + "_" + ref::name(o);
}

std::string integer_input(const char* type, i128 v) {
  const bool negative = v < 0;
  return std::string(type) + " " + (negative ? "-" : "") + ref::decimal(negative ? i128(-v) : v);
}

const char* name(Got g) {
  switch (g) {
    case Got::not_called: return "(not called)";
    case Got::value: return "value";
    case Got::nullopt: return "nullopt";
    case Got::overflow_error: return "fixedq::overflow_error";
    case Got::division_by_zero: return "fixedq::division_by_zero";
    case Got::domain_error: return "fixedq::domain_error";
    case Got::other_exception: return "an unexpected exception";
  }
  return "?";
}

// --- tests per type ----------------------------------------------------------------------------

namespace {
class FunctionTest : public ::testing::Test {
 public:
  explicit FunctionTest(void (*body)()) : body_(body) {}
  void TestBody() override { body_(); }

 private:
  void (*body_)();
};
}  // namespace

void register_one(const char* suite, const char* test, const char* file, int line,
                  const std::string& type_id, const std::string& type_name, void (*body)()) {
  ::testing::RegisterTest((std::string(suite) + "/" + type_id).c_str(), test, type_name.c_str(), nullptr,
                          file, line, [body]() -> ::testing::Test* { return new FunctionTest(body); });
}

Got classify_current_exception() noexcept {
  try {
    throw;
  } catch (const fixedq::division_by_zero&) {
    return Got::division_by_zero;
  } catch (const fixedq::domain_error&) {
    return Got::domain_error;
  } catch (const fixedq::overflow_error&) {
    return Got::overflow_error;
  } catch (...) {
    return Got::other_exception;
  }
}

// --- printing --------------------------------------------------------------------------------

std::string hex_bits(i128 v, int bits, bool is_signed) {
  // The low `bits` bits of v's two's complement, as hex digits.
  const i128 modulus = ref::pow2<i128>(bits);
  i128 u = v % modulus;
  if (u < 0) u += modulus;
  std::string digits;
  for (int i = 0; i < bits / 4; ++i) {
    digits.insert(digits.begin(), "0123456789abcdef"[static_cast<int>(u % 16)]);
    u /= 16;
  }
  (void)is_signed;
  return "0x" + digits + " (" + (v < 0 ? "-" : "") + ref::decimal(v < 0 ? i128(-v) : v) + ")";
}

std::string describe_double(double d) {
  std::ostringstream os;
  os.precision(17);
  os << d;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%a", d);
  return os.str() + " (" + buf + ")";
}

std::string describe(const Outcome& g, const ref::Format& f) {
  if (g.kind == Got::value) return hex(g.raw, f);
  return name(g.kind);
}

// --- seeds and reports -----------------------------------------------------------------------

void set_program_name(const char* argv0) { g_program = argv0; }

std::uint64_t global_seed() {
  static const std::uint64_t seed = fresh_or_env_seed();
  return seed;
}

std::string rerun_command() {
  return "FIXEDQ_TEST_SEED=" + std::to_string(global_seed()) + " " + g_program + " --gtest_filter='" +
         current_test_name() + "'";
}

Rng rng_for_this_test() {
  std::uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a of the test's full name
  for (const char c : current_test_name()) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
  Rng mix(global_seed() ^ h);
  return Rng(mix.next());
}

void Report::fail(const std::string& what) {
  ++failures_;
  if (failures_ > printed) return;
  std::string msg = subject_ + ": " + what;
  if (random_) msg += "\n  (random inputs; repeat with: " + rerun_command() + ")";
  ADD_FAILURE() << msg;
}

Report::~Report() {
  // How much was verified shows in the XML/JSON output (--gtest_output=xml): checks="...".
  ::testing::Test::RecordProperty("checks", std::to_string(checks_));
  if (failures_ > printed) {
    ADD_FAILURE() << subject_ << ": " << failures_ << " mismatches in total (the first " << printed
                  << " shown) in " << checks_ << " checks";
  }
}

// --- inputs ----------------------------------------------------------------------------------

std::vector<i128> edge_raws(const ref::Format& f) {
  const int F = f.fraction_bits;
  const int bits = f.total_bits();
  const i128 lo = ref::lowest_raw<i128>(f);
  const i128 hi = ref::highest_raw<i128>(f);
  std::vector<i128> c = {lo, lo + 1, lo + 2, hi, hi - 1, hi - 2, 0, 1, -1, 2, -2, 3, -3,
                         lo / 2, hi / 2, hi / 2 + 1, lo / 2 - 1};
  for (const int p : {F - 2, F - 1, F, F + 1, bits / 2 - 1, bits / 2, bits / 2 + 1, bits - 2}) {
    if (p < 0 || p >= 64) continue;
    const i128 v = ref::pow2<i128>(p);
    for (const i128 d : {v, v - 1, v + 1, 3 * v, 5 * v}) c.insert(c.end(), {d, -d});
  }
  if (F + 3 < 64) {
    const i128 one = ref::pow2<i128>(F);
    for (int k = 2; k <= 5; ++k) {  // small integer values k, -k and k + 1/2, -(k + 1/2)
      c.insert(c.end(), {k * one, -k * one, k * one + one / 2, -(k * one + one / 2)});
    }
  }
  std::vector<i128> out;
  for (const i128 v : c) {
    if (v < lo || v > hi) continue;
    bool seen = false;
    for (const i128 o : out) seen = seen || o == v;
    if (!seen) out.push_back(v);
  }
  return out;
}

namespace {
const std::vector<i128>& cached_edge_raws(const ref::Format& f) {
  static std::map<std::tuple<bool, int, int>, std::vector<i128>> cache;
  const auto key = std::make_tuple(f.is_signed, f.integer_bits, f.fraction_bits);
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, edge_raws(f)).first;
  return it->second;
}
}  // namespace

i128 random_raw(Rng& rng, const ref::Format& f) {
  const int bits = f.total_bits();
  const int F = f.fraction_bits;
  const i128 lo = ref::lowest_raw<i128>(f);
  const i128 modulus = ref::pow2<i128>(bits);
  // Any integer, brought into [lo, hi] modulo 2^bits (the raw with those low bits).
  const auto to_raw = [&](i128 v) {
    i128 r = (v - lo) % modulus;
    if (r < 0) r += modulus;
    return r + lo;
  };
  const auto sign = [&](i128 v) { return f.is_signed && (rng.next() & 1) ? -v : v; };
  const auto bits_below = [&](int length) {  // uniform in [0, 2^length), length <= 64
    const i128 u = rng.next();
    return length == 0 ? i128(0) : u % ref::pow2<i128>(length);
  };
  switch (rng.below(4)) {
    case 0:  // uniform
      return to_raw(bits_below(bits));
    case 1:  // a magnitude of random length
      return to_raw(sign(bits_below(rng.below(bits + 1 - (f.is_signed ? 1 : 0)))));
    case 2: {  // near an edge
      const std::vector<i128>& edges = cached_edge_raws(f);
      return to_raw(edges[rng.below(static_cast<std::uint64_t>(edges.size()))] + rng.below(7) - 3);
    }
    default: {  // an integer of random length plus 0, 1/2 or 1/4
      if (F == 0 || F >= 62) return to_raw(bits_below(bits));
      const i128 whole = bits_below(rng.below(bits - F + 1)) * ref::pow2<i128>(F);
      const int kind = rng.below(3);
      const i128 frac = kind == 0 ? 0 : kind == 1 ? ref::pow2<i128>(F - 1) : F >= 2 ? ref::pow2<i128>(F - 2) : 0;
      return to_raw(sign(whole + frac));
    }
  }
}

// --- batteries: the type-independent parts ---------------------------------------------------

ref::Format unary_result_format(const ref::Format& f, int op) {
  switch (op) {
    case kBool: return {false, 8, 0};
    case kToInt8: return {true, 8, 0};
    case kToUInt8: return {false, 8, 0};
    case kToInt16: return {true, 16, 0};
    case kToUInt32: return {false, 32, 0};
    case kToInt64: return {true, 64, 0};
    case kToUInt64: return {false, 64, 0};
    default: return f;
  }
}

void expect_from_floating(const ref::Format& f, ref::Rounding r, ref::Overflow o, double d,
                          Expected<i128> (&w)[4]) {
  const ref::Exact<i128> ed = ref::from_double<i128>(d, f.fraction_bits, f.total_bits(), r);
  const ref::Exact<i128> ef =
      ref::from_double<i128>(static_cast<double>(static_cast<float>(d)), f.fraction_bits, f.total_bits(), r);
  w[0] = expect(ed, f, o);
  w[1] = expect_try(ed, f);
  w[2] = expect(ef, f, o);
  w[3] = expect_try(ef, f);
}

void compare_from_floating(Report& rep, const ref::Format& f, double d, const Expected<i128> (&w)[4],
                           const Outcome (&g)[4]) {
  const auto in_d = [&] { return "double " + describe_double(d); };
  const auto in_f = [&] { return "float " + describe_double(static_cast<double>(static_cast<float>(d))); };
  compare(rep, "T(double)", in_d, f, w[0], g[0]);
  compare(rep, "try_convert<T>(double)", in_d, f, w[1], g[1]);
  compare(rep, "T(float)", in_f, f, w[2], g[2]);
  compare(rep, "try_convert<T>(float)", in_f, f, w[3], g[3]);
}

double quarter_point(i128 a, int k, int fraction_bits) {
  return std::ldexp(static_cast<double>(4 * a + k), -(fraction_bits + 2));
}

std::vector<double> special_doubles(const ref::Format& f) {
  using D = std::numeric_limits<double>;
  std::vector<double> v = {D::quiet_NaN(), -D::quiet_NaN(), D::infinity(), -D::infinity(), 0.0, -0.0,
                           D::max(), -D::max(), D::min(), -D::min(), D::denorm_min(), -D::denorm_min(),
                           1e300, -1e300, 1e-300, 0.1, -0.1, 1.0 / 3, -1.0 / 3};
  for (const int e : {-70, -66, -65, -64, -63, -8, -1, 0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 52, 53,
                      54, 62, 63, 64, 65, 66, 70, 100, 116, 117, 118, 119, 200, 1023}) {
    for (const double m : {1.0, 1.5, 1.75, 1.25, 0.75, 3.0 + std::ldexp(1.0, -50), 2.0 - std::ldexp(1.0, -52)}) {
      v.push_back(std::ldexp(m, e));
      v.push_back(-std::ldexp(m, e));
    }
  }
  // Around the ends of the range, in quarters of a unit.
  for (const i128 r : {ref::highest_raw<i128>(f), ref::lowest_raw<i128>(f)}) {
    for (int k = -6; k <= 6; ++k) v.push_back(quarter_point(r, k, f.fraction_bits));
  }
  // Out of range by whole multiples of 2^bits plus a little: wrap keeps the residue.
  for (const int k : {1, 3, 255}) {
    const i128 m = ref::pow2<i128>(f.total_bits());
    for (const i128 r : {i128(1), i128(-1), ref::highest_raw<i128>(f)}) {
      v.push_back(quarter_point(4 * (k * m + r), 2, f.fraction_bits + 2));
      v.push_back(-quarter_point(4 * (k * m + r), 2, f.fraction_bits + 2));
    }
  }
  return v;
}

double random_double(Rng& rng) {
  const auto mant = static_cast<double>(rng.next() >> 11);  // 53 random bits
  const int e = rng.below(221) - 80 - 53;
  const double d = std::ldexp(mant, e);
  return (rng.next() & 1) ? -d : d;
}

std::vector<i128> integer_candidates(int integer_bits, i128 lo, i128 hi) {
  std::vector<i128> c = {0,   1,    -1,  2,   -2,    3,      100,   -100,  127,   -128, 128, -129,
                         255, 256, 32767, -32768, 32768, 65535, 65536, hi,   hi - 1, lo,  lo + 1};
  for (const int p : {integer_bits - 2, integer_bits - 1, integer_bits, integer_bits + 1}) {
    if (p < 0 || p > 64) continue;
    const i128 v = ref::pow2<i128>(p);
    c.insert(c.end(), {v, v - 1, v + 1, -v, -v - 1, -v + 1});
  }
  std::vector<i128> out;
  for (const i128 v : c) {
    if (v >= lo && v <= hi) out.push_back(v);
  }
  return out;
}

void expect_from_integer(const ref::Format& f, ref::Overflow o, i128 v, Expected<big> (&w)[2]) {
  const ref::Exact<big> e = ref::finite(big(big(v) * ref::pow2<big>(f.fraction_bits)));
  w[0] = expect(e, f, o);
  w[1] = expect_try(e, f);
}

void compare_from_integer(Report& rep, const ref::Format& f, const char* type, i128 v,
                          const Expected<big> (&w)[2], const Outcome (&g)[2]) {
  const auto in = [&] { return integer_input(type, v); };
  compare(rep, "T(integer)", in, f, w[0], g[0]);
  compare(rep, "try_convert<T>(integer)", in, f, w[1], g[1]);
}

}  // namespace fqt
