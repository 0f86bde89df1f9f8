// fixedq int8 kernels, path "avx2": exact u8 x s8 products on AVX2 without VNNI. VPMADDUBSW
// would saturate its s16 pair sums for full-range data (255 * 127 * 2 > 32767), so both
// operands are widened to s16 and multiplied with VPMADDWD, whose s32 pair sums are exact.
// Flags (CMakeLists.txt): -mavx2 -mbmi2.
//
// One k group of a packed panel is 16 columns x 4 bytes; 16 of those bytes (4 columns) widen
// to one ymm of s16 [c0k0 c0k1 c0k2 c0k3 c1k0 ...]; VPMADDWD against A's four bytes repeated
// gives [c0(k0+k1) c0(k2+k3) c1(..) c1(..) ...], accumulated as pairs and folded at the end.
// Micro-kernel: 3 rows x 1 panel, 12 ymm accumulators.
#include "int8_internal.hpp"

#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#define FIXEDQ_INT8_ISA_NAME "avx2"
#include "int8_depthwise_x86.inc"  // dw_ops: the depthwise convolution's vector operations

namespace fixedq::kernels::int8::avx2 {
namespace {

#define FIXEDQ_INT8_SEGMENTED 1  // the micro-kernel has run_segments: implicit-GEMM convolution
#include <fixedq/kernels/int8/micro_support.inc>

constexpr int kMR = 3;
constexpr int kNP = 1;

inline __m256i widen_a(std::uint32_t w) { return _mm256_cvtepu8_epi16(_mm_set1_epi32(static_cast<int>(w))); }

/// [c0 c0' c1 c1' c2 c2' c3 c3'] pairs of quarter q -> eight column sums in order.
inline __m256i fold(__m256i q0, __m256i q1) {
  // hadd within 128-bit lanes: [q0 c0, q0 c1, q1 c0, q1 c1 | q0 c2, q0 c3, q1 c2, q1 c3]
  return _mm256_permute4x64_epi64(_mm256_hadd_epi32(q0, q1), 0xD8);
}

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
    (void)panel_bytes;  // one panel per call
    constexpr std::uint32_t flip = ASigned ? 0x80808080u : 0u;
    __m256i c[Rows][4];
    for (int r = 0; r < Rows; ++r)
      for (int q = 0; q < 4; ++q) c[r][q] = _mm256_setzero_si256();
    const int groups = (k + 3) / 4;
    const int full = k / 4;
    for (int sg = 0; sg < segs; ++sg, a += seg_stride, panel += groups * 64) {
      for (int g = 0; g < groups; ++g) {
        __m256i x[Rows];
        for (int r = 0; r < Rows; ++r) {
          const std::uint32_t w = g < full ? load_word(a + r * lda + 4 * g) : tail_word(a + r * lda, k);
          x[r] = widen_a(w ^ flip);
        }
        const std::int8_t* bg = panel + g * 64;
        for (int q = 0; q < 4; ++q) {
          const __m256i wq =
              _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(bg + 16 * q)));
          for (int r = 0; r < Rows; ++r) c[r][q] = _mm256_add_epi32(c[r][q], _mm256_madd_epi16(wq, x[r]));
        }
      }
    }
    for (int r = 0; r < Rows; ++r) {
      std::int32_t* o = acc + r * kNP * panel_width;
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(o), fold(c[r][0], c[r][1]));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(o + 8), fold(c[r][2], c[r][3]));
    }
  }
};

}  // namespace

#include <fixedq/kernels/int8/impl.inc>

}  // namespace fixedq::kernels::int8::avx2
