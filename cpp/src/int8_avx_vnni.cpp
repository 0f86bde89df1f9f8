// fixedq int8 kernels, path "avx_vnni": 256-bit VPDPBUSD in its VEX encoding (AVX-VNNI, on
// CPUs with VNNI but without AVX-512, such as Alder Lake). Flags (CMakeLists.txt): -mavx2
// -mbmi2 -mavxvnni. Micro-kernel: 3 rows x 2 panels (32 columns), 12 ymm accumulators.
//
// With FIXEDQ_AVX_VNNI_AS_EVEX the same code is built with the EVEX form (AVX512-VL + VNNI)
// into namespace avx_vnni_evex: the tests run that twin on CPUs that have AVX-512 VNNI but not
// AVX-VNNI (such as AMD Zen 4), so the kernel's logic is proven where its encoding cannot run.
#include "int8_internal.hpp"

#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(FIXEDQ_AVX_VNNI_AS_EVEX)
#define FIXEDQ_INT8_ISA_NAME "avx_vnni_evex"
#define FIXEDQ_DPBUSD256 _mm256_dpbusd_epi32
#define FIXEDQ_AVX_VNNI_NS avx_vnni_evex
#else
#define FIXEDQ_INT8_ISA_NAME "avx_vnni"
#define FIXEDQ_DPBUSD256 _mm256_dpbusd_avx_epi32
#define FIXEDQ_AVX_VNNI_NS avx_vnni
#endif
#define FIXEDQ_DW_DPBUSD256 FIXEDQ_DPBUSD256
#include "int8_depthwise_x86.inc"  // dw_ops: the depthwise convolution's vector operations

namespace fixedq::kernels::int8::FIXEDQ_AVX_VNNI_NS {
namespace {

#define FIXEDQ_INT8_SEGMENTED 1  // the micro-kernel has run_segments: implicit-GEMM convolution
#include <fixedq/kernels/int8/micro_support.inc>

constexpr int kMR = 3;
constexpr int kNP = 2;

struct kernel {
  static constexpr int max_rows = kMR;
  static constexpr int max_panels = kNP;
  template <bool ASigned, int Rows, int NP>
  static void run(const std::uint8_t* a, std::ptrdiff_t lda, int k, const std::int8_t* panel,
                  std::ptrdiff_t panel_bytes, std::int32_t* acc) {
    run_segments<ASigned, Rows, NP>(a, lda, k, 1, 0, panel, panel_bytes, acc);
  }

  /// The same over `segs` segments of k bytes, segment s of row r at a + r lda + s seg_stride
  /// (the implicit-GEMM convolution; k % 4 == 0 when segs > 1).
  template <bool ASigned, int Rows, int NP>
  static void run_segments(const std::uint8_t* a, std::ptrdiff_t lda, int k, int segs, std::ptrdiff_t seg_stride,
                           const std::int8_t* panel, std::ptrdiff_t panel_bytes, std::int32_t* acc) {
    constexpr std::uint32_t flip = ASigned ? 0x80808080u : 0u;
    constexpr int H = 2 * NP;  // ymm halves: panel 0 cols 0-7, 8-15, panel 1 ...
    __m256i c[Rows][H];
    for (int r = 0; r < Rows; ++r)
      for (int h = 0; h < H; ++h) c[r][h] = _mm256_setzero_si256();
    const int groups = (k + 3) / 4, full = k / 4;
    for (int sg = 0; sg < segs; ++sg, a += seg_stride, panel += groups * 64) {
      for (int g = 0; g < groups; ++g) {
        __m256i x[Rows];
        for (int r = 0; r < Rows; ++r) {
          const std::uint32_t w = g < full ? load_word(a + r * lda + 4 * g) : tail_word(a + r * lda, k);
          x[r] = _mm256_set1_epi32(static_cast<int>(w ^ flip));
        }
        for (int h = 0; h < H; ++h) {
          const std::int8_t* bp = panel + (h / 2) * panel_bytes + g * 64 + (h % 2) * 32;
          const __m256i wv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bp));
          for (int r = 0; r < Rows; ++r) c[r][h] = FIXEDQ_DPBUSD256(c[r][h], x[r], wv);
        }
      }
    }
    for (int r = 0; r < Rows; ++r)
      for (int h = 0; h < H; ++h)
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(acc + r * kNP * panel_width + h * 8), c[r][h]);
  }
};

}  // namespace

#include <fixedq/kernels/int8/impl.inc>

}  // namespace fixedq::kernels::int8::FIXEDQ_AVX_VNNI_NS
