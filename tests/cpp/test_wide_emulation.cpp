// fixedq tests: the portable 128-bit emulation (fixedq::detail::u128_emulated) against the
// compiler's unsigned __int128, operation by operation, on edge and random operands; and which
// of the two the header selected in this build (FIXEDQ_FORCE_EMULATED_WIDE).
#include <fixedq/fixedq.hpp>

#include "test_support.hpp"

namespace fqt {
namespace {

using fixedq::detail::u128_emulated;
__extension__ typedef unsigned __int128 u128n;

u128n native(u128_emulated x) { return (u128n(x.hi) << 64) | x.lo; }
u128_emulated emulated(u128n x) { return {static_cast<std::uint64_t>(x >> 64), static_cast<std::uint64_t>(x)}; }

std::string hex128(u128n x) {
  return hex(static_cast<std::uint64_t>(x >> 64)) + ":" + hex(static_cast<std::uint64_t>(x));
}

std::vector<u128n> edge_operands() {
  std::vector<u128n> v;
  const u128n one = 1;
  for (const int p : {0, 1, 2, 31, 32, 33, 52, 53, 63, 64, 65, 95, 96, 126, 127}) {
    const u128n x = one << p;
    v.insert(v.end(), {x, x - 1, x + 1, ~x, ~(x - 1)});
  }
  v.insert(v.end(), {u128n(0), ~u128n(0), u128n(0xFFFFFFFFFFFFFFFFull), u128n(0xFFFFFFFFFFFFFFFFull) << 64,
                     (u128n(0x8000000000000000ull) << 64) | 1u, u128n(0x123456789abcdefull) * 0xfedcba987654321ull});
  return v;
}

/// Random operands of random length, so that both words and the divmod fast paths are used.
u128n random_operand(Rng& rng) {
  const u128n x = (u128n(rng.next()) << 64) | rng.next();
  const int length = rng.below(129);
  return length == 128 ? x : length == 0 ? u128n(0) : (x >> (128 - length));
}

void check_ops(Report& rep, u128n a, u128n b) {
  const u128_emulated ea = emulated(a);
  const u128_emulated eb = emulated(b);
  const auto expect_same = [&](const char* op, u128_emulated got, u128n want) {
    rep.count();
    if (native(got) != want) {
      rep.fail(std::string(op) + "(a=" + hex128(a) + ", b=" + hex128(b) + "): expected " + hex128(want) + ", got " +
               hex128(native(got)));
    }
  };
  const auto expect_bool = [&](const char* op, bool got, bool want) {
    rep.count();
    if (got != want) rep.fail(std::string(op) + "(a=" + hex128(a) + ", b=" + hex128(b) + ")");
  };
  expect_same("+", ea + eb, a + b);
  expect_same("-", ea - eb, a - b);
  expect_same("*", ea * eb, a * b);
  expect_same("&", ea & eb, a & b);
  expect_same("|", ea | eb, a | b);
  expect_same("~", ~ea, ~a);
  if (b != 0) {
    expect_same("/", ea / eb, a / b);
    expect_same("%", ea % eb, a % b);
    u128_emulated q, r;
    u128_emulated::divmod(ea, eb, q, r);
    expect_same("divmod quotient", q, a / b);
    expect_same("divmod remainder", r, a % b);
  }
  const int s = static_cast<int>(b % 128);
  expect_same("<<", ea << s, a << s);
  expect_same(">>", ea >> s, a >> s);
  expect_same("shl", fixedq::detail::shl(ea, s + 1), s + 1 >= 128 ? 0 : a << (s + 1));
  expect_same("shr", fixedq::detail::shr(ea, s + 1), s + 1 >= 128 ? 0 : a >> (s + 1));
  expect_bool("==", ea == eb, a == b);
  expect_bool("!=", ea != eb, a != b);
  expect_bool("<", ea < eb, a < b);
  expect_bool("<=", ea <= eb, a <= b);
  expect_bool(">", ea > eb, a > b);
  expect_bool(">=", ea >= eb, a >= b);
  expect_bool("bool", static_cast<bool>(ea), a != 0);
  expect_same("mul_64x64", u128_emulated::mul_64x64(static_cast<std::uint64_t>(a), static_cast<std::uint64_t>(b)),
              u128n(static_cast<std::uint64_t>(a)) * static_cast<std::uint64_t>(b));
  expect_same("mul_wide", fixedq::detail::mul_wide<u128_emulated>(static_cast<std::uint64_t>(a), static_cast<std::uint64_t>(b)),
              u128n(static_cast<std::uint64_t>(a)) * static_cast<std::uint64_t>(b));
  u128_emulated rem_e;
  u128n rem_n;
  const u128_emulated root_e = fixedq::detail::isqrt(ea, rem_e);
  const u128n root_n = fixedq::detail::isqrt(a, rem_n);
  expect_same("isqrt", root_e, root_n);
  expect_same("isqrt remainder", rem_e, rem_n);
  rep.count();
  if (root_n * root_n + rem_n != a || rem_n > 2 * root_n) rep.fail("isqrt(" + hex128(a) + ") is not floor(sqrt)");
}

TEST(WideEmulation, EdgeOperandsCrossed) {
  Report rep("u128_emulated vs unsigned __int128");
  const auto v = edge_operands();
  for (const u128n a : v) {
    for (const u128n b : v) check_ops(rep, a, b);
  }
}

TEST(WideEmulation, RandomOperands) {
  Report rep("u128_emulated vs unsigned __int128", /*random=*/true);
  Rng rng = rng_for_this_test();
  for (int i = 0; i < 200000; ++i) check_ops(rep, random_operand(rng), random_operand(rng));
}

TEST(WideEmulation, SelectedPath) {
#if defined(FIXEDQ_FORCE_EMULATED_WIDE)
  static_assert(std::is_same_v<fixedq::detail::u128, u128_emulated>);
  static_assert(FIXEDQ_HAS_INT128 == 0);
  RecordProperty("wide_path", "emulated");
#else
  static_assert(std::is_same_v<fixedq::detail::u128, u128n>);
  static_assert(FIXEDQ_HAS_INT128 == 1);
  RecordProperty("wide_path", "__int128");
#endif
  SUCCEED();
}

}  // namespace
}  // namespace fqt
