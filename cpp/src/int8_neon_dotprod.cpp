// fixedq int8 kernels, path "neon_dotprod": ARMv8.2 SDOT (FEAT_DotProd), four s8 x s8
// products summed into each s32 lane, without saturation. Flags (CMakeLists.txt):
// -march=armv8.2-a+dotprod.
//
// A packed k group (16 columns x 4 bytes) is SDOT's operand shape as it stands: four vectors
// of 4 columns x 4 k. SDOT is signed x signed, while the micro-kernel must return the sums of
// the u8-domain a' (impl.inc's contract), so A enters as a' - 128 (a' xor 0x80, a valid s8)
// and 128 * (column sum of the stored B) is added back at the end:
//   sum a' b = sum (a' - 128) b + 128 sum b      (all modulo 2^32, exact)
// For an s8 A, a' - 128 is A's own byte: no flip at all. The column sums are taken from the
// panel by SDOT against a vector of ones, once per call for all eight rows (4 SDOTs per k
// group next to the rows' 32: the price of keeping impl.inc's u8-domain contract).
//
// Micro-kernel: 8 rows x 1 panel, as two passes of 4 rows with 16 accumulators each. A is
// loaded 16 bytes (four k groups) at a time and SDOT by element picks each group's word.
#include "int8_internal.hpp"

#include <arm_neon.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#define FIXEDQ_INT8_ISA_NAME "neon_dotprod"

namespace fixedq::kernels::int8::neon_dotprod {
namespace {

#include <fixedq/kernels/int8/micro_support.inc>

constexpr int kMR = 8;
constexpr int kNP = 1;
constexpr int kPassRows = 4;

/// The sums over k of the panel's 16 columns (the stored s8 values), as four 4-column vectors.
inline void column_sums(const std::int8_t* panel, int groups, int32x4_t (&cs)[4]) {
  const int8x16_t ones = vdupq_n_s8(1);
  for (int q = 0; q < 4; ++q) cs[q] = vdupq_n_s32(0);
  for (int g = 0; g < groups; ++g)
    for (int q = 0; q < 4; ++q) cs[q] = vdotq_s32(cs[q], vld1q_s8(panel + g * 64 + 16 * q), ones);
}

/// c[r][q] += dot of B's columns 4q..4q+3 (one k group at bg) with word `Lane` of x[r].
template <int Lane, int Rows>
inline void sdot_group(int32x4_t (&c)[Rows][4], const std::int8_t* bg, const int8x16_t (&x)[Rows]) {
  for (int q = 0; q < 4; ++q) {
    const int8x16_t b = vld1q_s8(bg + 16 * q);
    for (int r = 0; r < Rows; ++r) c[r][q] = vdotq_laneq_s32(c[r][q], b, x[r], Lane);
  }
}

/// Rows rows of A against one panel whose column sums are cs: A's bytes enter SDOT as
/// a' - 128, and 128 * cs is added back.
template <bool ASigned, int Rows>
void pass(const std::uint8_t* a, std::ptrdiff_t lda, int k, const std::int8_t* panel, const int32x4_t (&cs)[4],
          std::int32_t* acc) {
  // a' = a ^ 0x80 for s8 A, a for u8 A; a' - 128 = a' ^ 0x80 as s8.
  constexpr std::uint32_t flip = ASigned ? 0u : 0x80808080u;
  const uint8x16_t flip16 = vreinterpretq_u8_u32(vdupq_n_u32(flip));
  int32x4_t c[Rows][4];
  for (int r = 0; r < Rows; ++r)
    for (int q = 0; q < 4; ++q) c[r][q] = vdupq_n_s32(0);
  const int groups = (k + 3) / 4;
  const int full = k / 4;
  int g = 0;
  for (; g + 4 <= full; g += 4) {  // four whole k groups: 16 bytes of each row of A
    int8x16_t x[Rows];
    for (int r = 0; r < Rows; ++r) x[r] = vreinterpretq_s8_u8(veorq_u8(vld1q_u8(a + r * lda + 4 * g), flip16));
    const std::int8_t* bg = panel + g * 64;
    sdot_group<0, Rows>(c, bg, x);
    sdot_group<1, Rows>(c, bg + 64, x);
    sdot_group<2, Rows>(c, bg + 128, x);
    sdot_group<3, Rows>(c, bg + 192, x);
  }
  for (; g < groups; ++g) {  // up to three whole groups and the partial one (B is zero past K)
    int8x16_t x[Rows];
    for (int r = 0; r < Rows; ++r) {
      const std::uint32_t w = g < full ? load_word(a + r * lda + 4 * g) : tail_word(a + r * lda, k);
      x[r] = vreinterpretq_s8_u32(vdupq_n_u32(w ^ flip));
    }
    sdot_group<0, Rows>(c, panel + g * 64, x);
  }
  for (int q = 0; q < 4; ++q) {
    // 128 * column sum, wrapping modulo 2^32 like the sums themselves.
    const int32x4_t back = vreinterpretq_s32_u32(vshlq_n_u32(vreinterpretq_u32_s32(cs[q]), 7));
    for (int r = 0; r < Rows; ++r) vst1q_s32(acc + r * kNP * panel_width + 4 * q, vaddq_s32(c[r][q], back));
  }
}

/// Column sums once per call, then the rows in passes of at most kPassRows.
struct kernel {
  static constexpr int max_rows = kMR;
  static constexpr int max_panels = kNP;
  template <bool ASigned, int Rows, int NP>
  static void run(const std::uint8_t* a, std::ptrdiff_t lda, int k, const std::int8_t* panel,
                  std::ptrdiff_t /*panel_bytes: one panel per call*/, std::int32_t* acc) {
    int32x4_t cs[4];
    column_sums(panel, (k + 3) / 4, cs);
    constexpr int first = Rows < kPassRows ? Rows : kPassRows;
    pass<ASigned, first>(a, lda, k, panel, cs, acc);
    if constexpr (Rows > kPassRows) {
      pass<ASigned, Rows - kPassRows>(a + kPassRows * lda, lda, k, panel, cs, acc + kPassRows * kNP * panel_width);
    }
  }
};

}  // namespace

#include <fixedq/kernels/int8/impl.inc>

}  // namespace fixedq::kernels::int8::neon_dotprod
