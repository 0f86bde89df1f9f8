// fixedq int8 kernels, path "avx512_vnni": 512-bit VPDPBUSD (u8 x s8, four products summed
// into each s32 lane without saturation). Flags (CMakeLists.txt): -mavx512f -mavx512bw
// -mavx512vl -mavx512dq -mavx512vnni. Micro-kernel: 8 rows x 2 panels (32 columns), 16 zmm
// accumulators; per k group: 2 loads of B, 8 broadcasts of A, 16 VPDPBUSD.
#include "int8_internal.hpp"

#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#define FIXEDQ_INT8_ISA_NAME "avx512_vnni"
#define FIXEDQ_DW_512 1
#include "int8_depthwise_x86.inc"  // dw_ops: the depthwise convolution's vector operations

namespace fixedq::kernels::int8::avx512_vnni {
namespace {

constexpr int kMR = 8;
constexpr int kNP = 2;

#include <fixedq/kernels/int8/micro_support.inc>

struct kernel {
  static constexpr int max_rows = kMR;
  static constexpr int max_panels = kNP;
  template <bool ASigned, int Rows, int NP>
  static void run(const std::uint8_t* a, std::ptrdiff_t lda, int k, const std::int8_t* panel,
                  std::ptrdiff_t panel_bytes, std::int32_t* acc) {
    constexpr std::uint32_t flip = ASigned ? 0x80808080u : 0u;
    __m512i c[Rows][NP];
    for (int r = 0; r < Rows; ++r)
      for (int q = 0; q < NP; ++q) c[r][q] = _mm512_setzero_si512();
    const int full = k / 4;
    const std::int8_t* b0 = panel;
    const std::int8_t* b1 = panel + panel_bytes;
    for (int g = 0; g < full; ++g) {
      const __m512i w0 = _mm512_loadu_si512(b0 + g * 64);
      const __m512i w1 = NP > 1 ? _mm512_loadu_si512(b1 + g * 64) : w0;
      for (int r = 0; r < Rows; ++r) {
        const __m512i x = _mm512_set1_epi32(static_cast<int>(load_word(a + r * lda + 4 * g) ^ flip));
        c[r][0] = _mm512_dpbusd_epi32(c[r][0], x, w0);
        if (NP > 1) c[r][NP - 1] = _mm512_dpbusd_epi32(c[r][NP - 1], x, w1);
      }
    }
    if (k & 3) {  // the last, partial group: padded B rows are zero, so A's padding is free
      const __m512i w0 = _mm512_loadu_si512(b0 + full * 64);
      const __m512i w1 = NP > 1 ? _mm512_loadu_si512(b1 + full * 64) : w0;
      for (int r = 0; r < Rows; ++r) {
        const __m512i x = _mm512_set1_epi32(static_cast<int>(tail_word(a + r * lda, k) ^ flip));
        c[r][0] = _mm512_dpbusd_epi32(c[r][0], x, w0);
        if (NP > 1) c[r][NP - 1] = _mm512_dpbusd_epi32(c[r][NP - 1], x, w1);
      }
    }
    for (int r = 0; r < Rows; ++r)
      for (int q = 0; q < NP; ++q) _mm512_store_si512(acc + r * kNP * panel_width + q * panel_width, c[r][q]);
  }
};

}  // namespace

#include <fixedq/kernels/int8/impl.inc>

}  // namespace fixedq::kernels::int8::avx512_vnni
