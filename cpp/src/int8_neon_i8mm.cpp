// fixedq int8 kernels, path "neon_i8mm": the int8 matrix multiply extension (FEAT_I8MM),
// USMMLA: a 2x8 u8 block of A times an 8x2 s8 block of B into a 2x2 s32 block, without
// saturation. Unsigned x signed, like x86 VPDPBUSD, so A's u8-domain bytes a' go in as they
// are: no correction. Flags (CMakeLists.txt): -march=armv8.2-a+dotprod+i8mm, exactly what the
// dispatcher checks (HWCAP_ASIMDDP and HWCAP2_I8MM); not armv8.6-a, which would also let the
// compiler use every other ARMv8.3-8.6 feature in the plain C++ of impl.inc.
//
// USMMLA wants each column's 8 consecutive k, where a packed k group holds 4: two groups
// (k 8s..8s+7) are interleaved word by word in registers. With G0, G1 the 16-byte quarter q
// (columns 4q..4q+3) of groups 2s and 2s+1:
//   ZIP1.4S(G0, G1) = [c0 k0-3 | c0 k4-7 | c1 k0-3 | c1 k4-7]   columns 4q, 4q+1
//   ZIP2.4S(G0, G1) = the same for columns 4q+2, 4q+3
// and A's operand is rows 2p and 2p+1, eight bytes each. The 2x2 results [r0c0 r0c1 r1c0 r1c1]
// are put back into rows by ZIP1/ZIP2 on 64-bit lanes at the end. Whole steps of 8 k run
// without a branch; a last step of 1-7 k reads A like tail_word, and a lone last group pairs
// with zeros (nothing is read past the panel).
//
// Micro-kernel: 4 rows (2 row pairs) x 1 panel, 16 accumulators; 8 ZIPs per 8 k shared by the rows.
#include "int8_internal.hpp"

#include <arm_neon.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#define FIXEDQ_INT8_ISA_NAME "neon_i8mm"

namespace fixedq::kernels::int8::neon_i8mm {
namespace {

#include <fixedq/kernels/int8/micro_support.inc>

constexpr int kMR = 4;
constexpr int kNP = 1;

/// Bytes p..p+7 of a row of length k (p < k) as a little-endian word pair, zero past k.
inline std::uint64_t load8(const std::uint8_t* row, int p, int k) {
  if (p + 8 <= k) {
    std::uint64_t v;
    std::memcpy(&v, row + p, 8);
    return v;
  }
  const std::uint32_t lo = p + 4 <= k ? load_word(row + p) : tail_word(row, k);
  const std::uint32_t hi = p + 4 < k ? tail_word(row, k) : 0u;
  return std::uint64_t{lo} | (std::uint64_t{hi} << 32);
}

/// One step of 8 k: c[p][column pair] += rows 2p, 2p+1 (x[p]) times groups g0 and g0 + 64
/// (zeros when !pair) of the panel, 16 columns.
template <int Pairs>
inline void mmla_step(int32x4_t (&c)[Pairs][8], const uint8x16_t (&x)[Pairs], const std::int8_t* g0, bool pair) {
  for (int q = 0; q < 4; ++q) {
    const int32x4_t b0 = vreinterpretq_s32_s8(vld1q_s8(g0 + 16 * q));
    const int32x4_t b1 = pair ? vreinterpretq_s32_s8(vld1q_s8(g0 + 64 + 16 * q)) : vdupq_n_s32(0);
    const int8x16_t lo = vreinterpretq_s8_s32(vzip1q_s32(b0, b1));  // columns 4q, 4q+1
    const int8x16_t hi = vreinterpretq_s8_s32(vzip2q_s32(b0, b1));  // columns 4q+2, 4q+3
    for (int p = 0; p < Pairs; ++p) {
      c[p][2 * q] = vusmmlaq_s32(c[p][2 * q], x[p], lo);
      c[p][2 * q + 1] = vusmmlaq_s32(c[p][2 * q + 1], x[p], hi);
    }
  }
}

template <bool ASigned, int Rows>
void micro_fixed(const std::uint8_t* a, std::ptrdiff_t lda, int k, const std::int8_t* panel, std::int32_t* acc) {
  constexpr int Pairs = (Rows + 1) / 2;
  constexpr std::uint64_t flip = ASigned ? 0x8080808080808080u : 0u;
  const uint8x8_t flip8 = vcreate_u8(flip);
  int32x4_t c[Pairs][8];  // [row pair][column pair]
  for (int p = 0; p < Pairs; ++p)
    for (int j = 0; j < 8; ++j) c[p][j] = vdupq_n_s32(0);
  const int steps = k / 8;  // whole steps: two whole k groups, 8 bytes of each row
  for (int s = 0; s < steps; ++s) {
    uint8x16_t x[Pairs];
    for (int p = 0; p < Pairs; ++p) {
      const std::uint8_t* r0 = a + 2 * p * lda + 8 * s;
      const uint8x8_t lo = veor_u8(vld1_u8(r0), flip8);
      const uint8x8_t hi = (2 * p + 1 < Rows) ? veor_u8(vld1_u8(r0 + lda), flip8) : vdup_n_u8(0);
      x[p] = vcombine_u8(lo, hi);
    }
    mmla_step<Pairs>(c, x, panel + s * 128, true);
  }
  if (k & 7) {  // 1 to 7 k left: one or two groups, the last partial (B is zero past K)
    uint8x16_t x[Pairs];
    for (int p = 0; p < Pairs; ++p) {
      const std::uint8_t* r0 = a + 2 * p * lda;
      const std::uint64_t lo = load8(r0, 8 * steps, k) ^ flip;
      const std::uint64_t hi = (2 * p + 1 < Rows) ? load8(r0 + lda, 8 * steps, k) ^ flip : 0u;
      x[p] = vcombine_u8(vcreate_u8(lo), vcreate_u8(hi));
    }
    mmla_step<Pairs>(c, x, panel + steps * 128, (k & 7) > 4);
  }
  for (int p = 0; p < Pairs; ++p)
    for (int q = 0; q < 4; ++q) {
      const int64x2_t u = vreinterpretq_s64_s32(c[p][2 * q]), v = vreinterpretq_s64_s32(c[p][2 * q + 1]);
      vst1q_s32(acc + 2 * p * kNP * panel_width + 4 * q, vreinterpretq_s32_s64(vzip1q_s64(u, v)));
      if (2 * p + 1 < Rows) {
        vst1q_s32(acc + (2 * p + 1) * kNP * panel_width + 4 * q, vreinterpretq_s32_s64(vzip2q_s64(u, v)));
      }
    }
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

}  // namespace fixedq::kernels::int8::neon_i8mm
