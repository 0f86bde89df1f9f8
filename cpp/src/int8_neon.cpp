// fixedq int8 kernels, path "neon": exact u8 x s8 products with plain ARMv8 Advanced SIMD
// (every AArch64 CPU). No saturating instruction touches the data: both operands are widened
// to s16 (u8 fits), and SMLAL/SMLAL2 by element multiply-accumulate them into s32 lanes,
// which wrap modulo 2^32 like the reference. Flags: the AArch64 baseline.
//
// One k group of a packed panel is 16 columns x 4 bytes ([c0k0 c0k1 c0k2 c0k3 c1k0 ...]);
// LD4 de-interleaves it into four vectors, one per k, each holding that k of the 16 columns.
// Each widens to two s16x8 (columns 0-7, 8-15), and SMLAL/SMLAL2 by element against A's
// byte for that k (an s16 lane) add it into four s32x4 accumulators per row.
// Micro-kernel: 4 rows x 1 panel, 16 accumulators.
#include "int8_internal.hpp"

#include <arm_neon.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#define FIXEDQ_INT8_ISA_NAME "neon"

namespace fixedq::kernels::int8::neon {
namespace {

#include <fixedq/kernels/int8/micro_support.inc>

constexpr int kMR = 4;
constexpr int kNP = 1;

/// A's four bytes of one k group as s16 lanes (values 0..255).
inline int16x4_t widen_a(std::uint32_t w) {
  return vreinterpret_s16_u16(vget_low_u16(vmovl_u8(vcreate_u8(std::uint64_t{w}))));
}

/// acc[r][0..3] += B[k][cols 0-15] * a[r][k], k = lane L of the group.
template <int L, int Rows>
inline void madd_k(int32x4_t (&c)[Rows][4], const int8x16_t bk, const int16x4_t (&x)[Rows]) {
  const int16x8_t lo = vmovl_s8(vget_low_s8(bk));
  const int16x8_t hi = vmovl_high_s8(bk);
  for (int r = 0; r < Rows; ++r) {
    c[r][0] = vmlal_lane_s16(c[r][0], vget_low_s16(lo), x[r], L);
    c[r][1] = vmlal_high_lane_s16(c[r][1], lo, x[r], L);
    c[r][2] = vmlal_lane_s16(c[r][2], vget_low_s16(hi), x[r], L);
    c[r][3] = vmlal_high_lane_s16(c[r][3], hi, x[r], L);
  }
}

template <bool ASigned, int Rows>
void micro_fixed(const std::uint8_t* a, std::ptrdiff_t lda, int k, const std::int8_t* panel, std::int32_t* acc) {
  constexpr std::uint32_t flip = ASigned ? 0x80808080u : 0u;
  int32x4_t c[Rows][4];
  for (int r = 0; r < Rows; ++r)
    for (int q = 0; q < 4; ++q) c[r][q] = vdupq_n_s32(0);
  const int groups = (k + 3) / 4;
  const int full = k / 4;
  for (int g = 0; g < groups; ++g) {
    int16x4_t x[Rows];
    for (int r = 0; r < Rows; ++r) {
      const std::uint32_t w = g < full ? load_word(a + r * lda + 4 * g) : tail_word(a + r * lda, k);
      x[r] = widen_a(w ^ flip);
    }
    const int8x16x4_t bg = vld4q_s8(panel + g * 64);  // .val[j] = k 4g+j of columns 0..15
    madd_k<0>(c, bg.val[0], x);
    madd_k<1>(c, bg.val[1], x);
    madd_k<2>(c, bg.val[2], x);
    madd_k<3>(c, bg.val[3], x);
  }
  for (int r = 0; r < Rows; ++r)
    for (int q = 0; q < 4; ++q) vst1q_s32(acc + r * kNP * panel_width + 4 * q, c[r][q]);
}

struct kernel {
  static constexpr int max_rows = kMR;
  static constexpr int max_panels = kNP;
  template <bool ASigned, int Rows, int NP>
  static void run(const std::uint8_t* a, std::ptrdiff_t lda, int k, const std::int8_t* panel,
                  std::ptrdiff_t /*panel_bytes: one panel per call*/, std::int32_t* acc) {
    micro_fixed<ASigned, Rows>(a, lda, k, panel, acc);
  }
};

}  // namespace

#include <fixedq/kernels/int8/impl.inc>

}  // namespace fixedq::kernels::int8::neon
