// fixedq int8 kernels, path "avx512_vnni": 512-bit VPDPBUSD (u8 x s8, four products summed
// into each s32 lane without saturation). Flags (CMakeLists.txt): -mavx512f -mavx512bw
// -mavx512vl -mavx512dq -mavx512vnni.
//
// Micro-kernel: up to 12 rows x 2 panels (32 columns), 24 zmm accumulators; per k group of
// 4: 2 loads of B, 12 VPBROADCASTDs of A straight from its rows, 24 VPDPBUSD. One
// VPDPBUSD zmm issues per cycle on Zen 4 (two 256-bit halves) and on Intel cores with two
// 512-bit FMA ports it issues two; 24 independent accumulators hide its latency either way,
// and 12 rows keep the bytes of B streamed from L2 to 64 / 12 per VPDPBUSD.
//
// The inner loop is inline assembly: GCC 12 compiled the same loop written with intrinsics
// into register copies and stack spills of the accumulators (303 GOPS instead of ~415 on
// 1024^3 on Zen 4). The row count and panel count are template constants that select the
// instructions with assembler `.if`s, so one text serves every tile shape.
#include "int8_internal.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include <immintrin.h>

#define FIXEDQ_INT8_ISA_NAME "avx512_vnni"
#define FIXEDQ_DW_512 1
#include "int8_depthwise_x86.inc"  // dw_ops: the depthwise convolution's vector operations

namespace fixedq::kernels::int8::avx512_vnni {
namespace {

#define FIXEDQ_INT8_SEGMENTED 1  // the micro-kernel has run_segments: implicit-GEMM convolution
// ... also for kernel rows padded to whole k groups: the 7x7 stem on 3 channels computes 24
// bytes per kernel row for 21 and still runs 1.3x faster than with im2col (the AVX2 kernels,
// compute-bound, ran it 10 % slower).
#define FIXEDQ_INT8_CONV_ROWS_PADDED true
#define FIXEDQ_INT8_DIRECT_OUT 1  // run_segments can store corrected s32 results itself (impl.inc)
constexpr int kMR = 12;
constexpr int kNP = 2;

/// What run_segments stores itself when given an output (impl.inc: whole-panel tiles without
/// row terms): mode 0, the s32 sums + cterm (MatMulInteger); 1 and 2, impl.inc's float output
/// stage (fused_float_tile: + cterm, times the multiplier, clamped to [lo, hi], rounded to even,
/// + zp) narrowed to u8 and s8.
struct tile_out {
  const std::uint32_t* cterm;  ///< NP * 16 column terms (bias included for the float stage)
  const float* multiplier;     ///< NP * 16 multipliers, or one for all (mstride 0)
  float lo, hi;
  std::int32_t zp, mode, mstride;
};
static_assert(offsetof(tile_out, multiplier) == 8 && offsetof(tile_out, lo) == 16 && offsetof(tile_out, hi) == 20 &&
                  offsetof(tile_out, zp) == 24 && offsetof(tile_out, mode) == 28 && offsetof(tile_out, mstride) == 32,
              "the assembly below reads tile_out at these offsets");

inline tile_out make_tile_out(const output_stage& st, const std::uint32_t* cterm, int col0) {
  const bool s32 = st.kind == requant_kind::none;
  return {cterm,
          s32 ? nullptr : st.multiplier + col0 * st.multiplier_stride,
          static_cast<float>(st.qmin - st.zero_point),
          static_cast<float>(st.qmax - st.zero_point),
          st.zero_point,
          s32 ? 0 : (st.out_type == dtype::u8 ? 1 : 2),
          st.multiplier_stride};
}

#include <fixedq/kernels/int8/micro_support.inc>

// One row r of a k group: broadcast A's 4 bytes (addressed by `addr`) into zmm26, flip them
// for s8 A, and accumulate against B's two panels (zmm24, zmm25) into zmm(2r), zmm(2r + 1).
#define FIXEDQ_VNNI_ROW(r, c0, c1, addr)                 \
  ".if " #r " < %c[rows]\n\t"                           \
  "vpbroadcastd " addr ", %%zmm26\n\t"                  \
  ".if %c[flip]\n\t"                                    \
  "vpxord %%zmm31, %%zmm26, %%zmm26\n\t"                \
  ".endif\n\t"                                          \
  "vpdpbusd %%zmm24, %%zmm26, %%zmm" #c0 "\n\t"         \
  ".if %c[np] > 1\n\t"                                  \
  "vpdpbusd %%zmm25, %%zmm26, %%zmm" #c1 "\n\t"         \
  ".endif\n\t"                                          \
  ".endif\n\t"

// A k group for rows 0..11, A's rows at p0 + {0, 1, 2, 3} lda, p4 + ..., p8 + ... (plus `off`).
#define FIXEDQ_VNNI_GROUP(off)                                  \
  FIXEDQ_VNNI_ROW(0, 0, 1, off "(%[p0])")                       \
  FIXEDQ_VNNI_ROW(1, 2, 3, off "(%[p0],%[lda],1)")              \
  FIXEDQ_VNNI_ROW(2, 4, 5, off "(%[p0],%[lda],2)")              \
  FIXEDQ_VNNI_ROW(3, 6, 7, off "(%[p0],%[lda3],1)")             \
  FIXEDQ_VNNI_ROW(4, 8, 9, off "(%[p4])")                       \
  FIXEDQ_VNNI_ROW(5, 10, 11, off "(%[p4],%[lda],1)")            \
  FIXEDQ_VNNI_ROW(6, 12, 13, off "(%[p4],%[lda],2)")            \
  FIXEDQ_VNNI_ROW(7, 14, 15, off "(%[p4],%[lda3],1)")           \
  FIXEDQ_VNNI_ROW(8, 16, 17, off "(%[p8])")                     \
  FIXEDQ_VNNI_ROW(9, 18, 19, off "(%[p8],%[lda],1)")            \
  FIXEDQ_VNNI_ROW(10, 20, 21, off "(%[p8],%[lda],2)")           \
  FIXEDQ_VNNI_ROW(11, 22, 23, off "(%[p8],%[lda3],1)")

// One k group at byte offset 64 i of the panels and 4 i of A's rows (i = 0..3 of an unrolled
// iteration).
#define FIXEDQ_VNNI_STEP(boff, aoff)                     \
  "vmovdqu64 " boff "(%[b]), %%zmm24\n\t"               \
  ".if %c[np] > 1\n\t"                                  \
  "vmovdqu64 " boff "(%[b],%[pb],1), %%zmm25\n\t"       \
  ".endif\n\t" FIXEDQ_VNNI_GROUP(aoff)

// Prefetches row r of A `ahead` bytes on (12 streams of A are more than the L1 prefetcher
// follows; the panels of B are two sequential streams and need none).
#define FIXEDQ_VNNI_PREFETCH(r, addr) ".if " #r " < %c[rows]\n\tprefetcht0 " addr "\n\t.endif\n\t"
#define FIXEDQ_VNNI_PREFETCH_A(ahead)                                                                      \
  FIXEDQ_VNNI_PREFETCH(0, ahead "(%[p0])") FIXEDQ_VNNI_PREFETCH(1, ahead "(%[p0],%[lda],1)")               \
  FIXEDQ_VNNI_PREFETCH(2, ahead "(%[p0],%[lda],2)") FIXEDQ_VNNI_PREFETCH(3, ahead "(%[p0],%[lda3],1)")     \
  FIXEDQ_VNNI_PREFETCH(4, ahead "(%[p4])") FIXEDQ_VNNI_PREFETCH(5, ahead "(%[p4],%[lda],1)")               \
  FIXEDQ_VNNI_PREFETCH(6, ahead "(%[p4],%[lda],2)") FIXEDQ_VNNI_PREFETCH(7, ahead "(%[p4],%[lda3],1)")     \
  FIXEDQ_VNNI_PREFETCH(8, ahead "(%[p8])") FIXEDQ_VNNI_PREFETCH(9, ahead "(%[p8],%[lda],1)")               \
  FIXEDQ_VNNI_PREFETCH(10, ahead "(%[p8],%[lda],2)") FIXEDQ_VNNI_PREFETCH(11, ahead "(%[p8],%[lda3],1)")

// Stores accumulator pair r to acc + r * 32 lanes.
#define FIXEDQ_VNNI_STORE(r, c0, c1)                              \
  ".if " #r " < %c[rows]\n\t"                                     \
  "vmovdqa32 %%zmm" #c0 ", " #r "*128(%[acc])\n\t"                \
  ".if %c[np] > 1\n\t"                                            \
  "vmovdqa32 %%zmm" #c1 ", " #r "*128+64(%[acc])\n\t"             \
  ".endif\n\t"                                                    \
  ".endif\n\t"

// M(r, c0, c1) for the 12 rows and their accumulator pairs.
#define FIXEDQ_VNNI_EACH_ROW(M)                                                                          \
  M(0, 0, 1) M(1, 2, 3) M(2, 4, 5) M(3, 6, 7) M(4, 8, 9) M(5, 10, 11) M(6, 12, 13) M(7, 14, 15) M(8, 16, 17) \
  M(9, 18, 19) M(10, 20, 21) M(11, 22, 23)

// Row r's corrected results to memory: accumulator pair r plus the column terms (zmm27,
// zmm28), stored at p0, which then moves on by lda (here the output's row stride in bytes).
#define FIXEDQ_VNNI_OUT(r, c0, c1)                                \
  ".if " #r " < %c[rows]\n\t"                                     \
  "vpaddd %%zmm27, %%zmm" #c0 ", %%zmm" #c0 "\n\t"                 \
  "vmovdqu32 %%zmm" #c0 ", (%[p0])\n\t"                           \
  ".if %c[np] > 1\n\t"                                            \
  "vpaddd %%zmm28, %%zmm" #c1 ", %%zmm" #c1 "\n\t"                 \
  "vmovdqu32 %%zmm" #c1 ", 64(%[p0])\n\t"                         \
  ".endif\n\t"                                                    \
  "add %[lda], %[p0]\n\t"                                         \
  ".endif\n\t"

// Row r through the float output stage (cterm zmm27/28, multipliers zmm29/30, lo zmm24, hi
// zmm25, zero point zmm26), narrowed by `narrow` (VPMOVUSDB / VPMOVSDB: the clamped values fit,
// so it never saturates) and stored, 16 bytes per panel, at p0, which moves on by lda.
#define FIXEDQ_VNNI_STAGE_HALF(c, ct, m, narrow, off)            \
  "vpaddd %%zmm" #ct ", %%zmm" #c ", %%zmm" #c "\n\t"          \
  "vcvtdq2ps %%zmm" #c ", %%zmm" #c "\n\t"                     \
  "vmulps %%zmm" #m ", %%zmm" #c ", %%zmm" #c "\n\t"           \
  "vmaxps %%zmm24, %%zmm" #c ", %%zmm" #c "\n\t"               \
  "vminps %%zmm25, %%zmm" #c ", %%zmm" #c "\n\t"               \
  "vcvtps2dq %%zmm" #c ", %%zmm" #c "\n\t"                     \
  "vpaddd %%zmm26, %%zmm" #c ", %%zmm" #c "\n\t"               \
  narrow " %%zmm" #c ", %%xmm31\n\t"                            \
  "vmovdqu32 %%xmm31, " off "(%[p0])\n\t"
#define FIXEDQ_VNNI_STAGE_ROW(r, c0, c1, narrow)                 \
  ".if " #r " < %c[rows]\n\t"                                   \
  FIXEDQ_VNNI_STAGE_HALF(c0, 27, 29, narrow, "")                \
  ".if %c[np] > 1\n\t"                                          \
  FIXEDQ_VNNI_STAGE_HALF(c1, 28, 30, narrow, "16")              \
  ".endif\n\t"                                                  \
  "add %[lda], %[p0]\n\t"                                       \
  ".endif\n\t"
#define FIXEDQ_VNNI_STAGE_U8(r, c0, c1) FIXEDQ_VNNI_STAGE_ROW(r, c0, c1, "vpmovusdb")
#define FIXEDQ_VNNI_STAGE_S8(r, c0, c1) FIXEDQ_VNNI_STAGE_ROW(r, c0, c1, "vpmovsdb")

struct kernel {
  static constexpr int max_rows = kMR;
  static constexpr int max_panels = kNP;
  static_assert(kMR == 12 && kNP == 2, "the assembly below names 12 x 2 accumulators zmm0..zmm23");

  template <bool ASigned, int Rows, int NP>
  static void run(const std::uint8_t* a, std::ptrdiff_t lda, int k, const std::int8_t* panel,
                  std::ptrdiff_t panel_bytes, std::int32_t* acc) {
    run_segments<ASigned, Rows, NP>(a, lda, k, 1, 0, panel, panel_bytes, acc);
  }

  /// The same over `segs` segments of k bytes of each row, segment s of row r at
  /// a + r lda + s seg_stride, against consecutive k / 4 groups of the panels each: the
  /// implicit-GEMM convolution (one segment per kernel row; k % 4 == 0 when segs > 1).
  ///
  /// With `out`: the tile's finished results are stored there instead of the sums in acc, row r
  /// at out + r ldc_bytes, all NP * 16 columns, as `to` says (tile_out).
  template <bool ASigned, int Rows, int NP>
  static void run_segments(const std::uint8_t* a, std::ptrdiff_t lda, int k, int segs, std::ptrdiff_t seg_stride,
                           const std::int8_t* panel, std::ptrdiff_t panel_bytes, std::int32_t* acc,
                           void* out = nullptr, std::ptrdiff_t ldc_bytes = 0, const tile_out* to = nullptr) {
    // The last, partial k group (k % 4 != 0) goes through the same code: its words, zero
    // padded (padded B rows are zero, so the padding of A is free), one row after another.
    alignas(16) std::uint32_t tail[kMR] = {};
    const std::int64_t full = k / 4;
    for (int r = 0; r < Rows && (k & 3); ++r) tail[r] = tail_word(a + r * lda, k);
    const std::uint8_t* p0 = a;
    const std::uint8_t* p4 = a + 4 * lda;
    const std::uint8_t* p8 = a + 8 * lda;
    const std::int8_t* b = panel;
    const std::int64_t g4n = full / 4, g1n = full % 4;
    std::int64_t groups4 = g4n, groups1 = g1n, segs_ = segs;
    // After a segment the row pointers have moved by 4 full; the next segment starts seg_stride on.
    const std::int64_t seg_step = seg_stride - 4 * full;
    const std::uint32_t* tailp = (k & 3) ? tail : nullptr;
    std::int64_t lda_ = lda, lda3 = 3 * lda;
    // clang-format off
    __asm__ volatile(
        ".if %c[flip]\n\t"  // zmm31 = 0x80 in every byte: |-1| = 1 per byte, words 0x0101 << 7
        "vpternlogd $0xff, %%zmm31, %%zmm31, %%zmm31\n\t"
        "vpabsb %%zmm31, %%zmm31\n\t"
        "vpsllw $7, %%zmm31, %%zmm31\n\t"
        ".endif\n\t"
        "vpxord %%xmm0, %%xmm0, %%xmm0\n\t"
        "vmovdqa64 %%zmm0, %%zmm1\n\t" "vmovdqa64 %%zmm0, %%zmm2\n\t" "vmovdqa64 %%zmm0, %%zmm3\n\t"
        "vmovdqa64 %%zmm0, %%zmm4\n\t" "vmovdqa64 %%zmm0, %%zmm5\n\t" "vmovdqa64 %%zmm0, %%zmm6\n\t"
        "vmovdqa64 %%zmm0, %%zmm7\n\t" "vmovdqa64 %%zmm0, %%zmm8\n\t" "vmovdqa64 %%zmm0, %%zmm9\n\t"
        "vmovdqa64 %%zmm0, %%zmm10\n\t" "vmovdqa64 %%zmm0, %%zmm11\n\t" "vmovdqa64 %%zmm0, %%zmm12\n\t"
        "vmovdqa64 %%zmm0, %%zmm13\n\t" "vmovdqa64 %%zmm0, %%zmm14\n\t" "vmovdqa64 %%zmm0, %%zmm15\n\t"
        "vmovdqa64 %%zmm0, %%zmm16\n\t" "vmovdqa64 %%zmm0, %%zmm17\n\t" "vmovdqa64 %%zmm0, %%zmm18\n\t"
        "vmovdqa64 %%zmm0, %%zmm19\n\t" "vmovdqa64 %%zmm0, %%zmm20\n\t" "vmovdqa64 %%zmm0, %%zmm21\n\t"
        "vmovdqa64 %%zmm0, %%zmm22\n\t" "vmovdqa64 %%zmm0, %%zmm23\n\t"
        // Per segment: four k groups per iteration, then one at a time.
        "6:\n\t"
        "mov %[g4n], %[groups4]\n\t"
        "mov %[g1n], %[groups1]\n\t"
        "test %[groups4], %[groups4]\n\t"
        "jz 5f\n\t"
        "4:\n\t"
        FIXEDQ_VNNI_PREFETCH_A("128")
        FIXEDQ_VNNI_STEP("0", "0")
        FIXEDQ_VNNI_STEP("64", "4")
        FIXEDQ_VNNI_STEP("128", "8")
        FIXEDQ_VNNI_STEP("192", "12")
        "add $256, %[b]\n\t"
        "add $16, %[p0]\n\t"
        "add $16, %[p4]\n\t"
        "add $16, %[p8]\n\t"
        "dec %[groups4]\n\t"
        "jnz 4b\n\t"
        "5:\n\t"
        "test %[groups1], %[groups1]\n\t"
        "jz 2f\n\t"
        "1:\n\t"
        FIXEDQ_VNNI_STEP("0", "0")
        "add $64, %[b]\n\t"
        "add $4, %[p0]\n\t"
        "add $4, %[p4]\n\t"
        "add $4, %[p8]\n\t"
        "dec %[groups1]\n\t"
        "jnz 1b\n\t"
        "2:\n\t"
        "add %[seg_step], %[p0]\n\t"
        "add %[seg_step], %[p4]\n\t"
        "add %[seg_step], %[p8]\n\t"
        "dec %[segs]\n\t"
        "jnz 6b\n\t"
        "cmpq $0, %[tailp]\n\t"
        "je 3f\n\t"
        // The tail: A's words come from `tail`, row r at tail + 4 r, which the addressing
        // of the rows finds with p0 = tail, p4 = tail + 16, p8 = tail + 32, lda = 4.
        "mov %[tailp], %[p0]\n\t"
        "lea 16(%[p0]), %[p4]\n\t"
        "lea 32(%[p0]), %[p8]\n\t"
        "mov $4, %[lda]\n\t"
        "mov $12, %[lda3]\n\t"
        FIXEDQ_VNNI_STEP("", "")
        "3:\n\t"
        "cmpq $0, %[out]\n\t"
        "je 7f\n\t"
        // Finished results to out (tile_out at p4): the column terms, then by mode.
        "mov %[out], %[p0]\n\t"
        "mov %[ldc], %[lda]\n\t"
        "mov %[to], %[p4]\n\t"
        "mov (%[p4]), %[p8]\n\t"
        "vmovdqu32 (%[p8]), %%zmm27\n\t"
        ".if %c[np] > 1\n\t"
        "vmovdqu32 64(%[p8]), %%zmm28\n\t"
        ".endif\n\t"
        "cmpl $0, 28(%[p4])\n\t"
        "jne 9f\n\t"
        FIXEDQ_VNNI_EACH_ROW(FIXEDQ_VNNI_OUT)
        "jmp 8f\n\t"
        "9:\n\t"  // the float stage: multipliers (per column or one), lo, hi, zero point
        "mov 8(%[p4]), %[p8]\n\t"
        "cmpl $0, 32(%[p4])\n\t"
        "je 10f\n\t"
        "vmovups (%[p8]), %%zmm29\n\t"
        ".if %c[np] > 1\n\t"
        "vmovups 64(%[p8]), %%zmm30\n\t"
        ".endif\n\t"
        "jmp 11f\n\t"
        "10:\n\t"
        "vbroadcastss (%[p8]), %%zmm29\n\t"
        "vmovaps %%zmm29, %%zmm30\n\t"
        "11:\n\t"
        "vbroadcastss 16(%[p4]), %%zmm24\n\t"
        "vbroadcastss 20(%[p4]), %%zmm25\n\t"
        "vpbroadcastd 24(%[p4]), %%zmm26\n\t"
        "cmpl $1, 28(%[p4])\n\t"
        "jne 12f\n\t"
        FIXEDQ_VNNI_EACH_ROW(FIXEDQ_VNNI_STAGE_U8)
        "jmp 8f\n\t"
        "12:\n\t"
        FIXEDQ_VNNI_EACH_ROW(FIXEDQ_VNNI_STAGE_S8)
        "jmp 8f\n\t"
        "7:\n\t"
        FIXEDQ_VNNI_EACH_ROW(FIXEDQ_VNNI_STORE)
        "8:\n\t"
        // Eleven registers (the rest in memory): a frame pointer (sanitizer builds) must fit.
        : [p0] "+r"(p0), [p4] "+r"(p4), [p8] "+r"(p8), [b] "+r"(b), [groups4] "+r"(groups4),
          [groups1] "+r"(groups1), [lda] "+r"(lda_), [lda3] "+r"(lda3), [segs] "+r"(segs_)
        : [pb] "r"(panel_bytes), [acc] "r"(acc), [tailp] "m"(tailp), [g4n] "m"(g4n), [g1n] "m"(g1n),
          [seg_step] "m"(seg_step), [out] "m"(out), [ldc] "m"(ldc_bytes), [to] "m"(to),
          [rows] "i"(Rows), [np] "i"(NP), [flip] "i"(ASigned ? 1 : 0)
        : "cc", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
          "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21",
          "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31");
    // clang-format on
  }
};

/// impl.inc's fused_float_tile (the zero-point terms, bias and float output stage of the rows
/// of a tile) on 16 lanes at a time, the column terms and multipliers loaded once per tile: GCC
/// made a 256-bit loop with a byte-repacking epilogue of it that cost as much as a quarter of
/// a 7x7 stem convolution. The same operations in the same order (VCVTDQ2PS and VCVTPS2DQ
/// round to nearest even, as static_cast<float> and nearbyintf do under the default MXCSR);
/// the clamped values fit the output type, so the saturation of the narrowing never acts.
#define FIXEDQ_INT8_FUSED_TILE_VEC 1
template <bool HasZp, int MStride, class Out>
inline void fused_float_tile_vec(float lo, float hi, const float* m, std::int32_t zp, const std::int32_t* zb,
                                 const std::uint32_t* rowsum, const std::uint32_t* cterm, const std::int32_t* raw,
                                 int rows, int ncols, char* out, std::ptrdiff_t row_bytes) {
  static_assert(kNP == 2, "a tile row is two 16-lane vectors");
  const __m512 vlo = _mm512_set1_ps(lo), vhi = _mm512_set1_ps(hi);
  const __m512i vzp = _mm512_set1_epi32(zp);
  const int n1 = ncols < 16 ? ncols : 16, n2 = ncols - n1;  // lanes of the two vectors
  const __mmask16 k1 = static_cast<__mmask16>((1u << n1) - 1), k2 = static_cast<__mmask16>((1u << n2) - 1);
  const __m512i c1 = _mm512_maskz_loadu_epi32(k1, cterm), c2 = _mm512_maskz_loadu_epi32(k2, cterm + 16);
  const __m512 m1 = MStride ? _mm512_maskz_loadu_ps(k1, m) : _mm512_set1_ps(m[0]);
  const __m512 m2 = MStride ? _mm512_maskz_loadu_ps(k2, m + 16) : _mm512_set1_ps(m[0]);
  __m512i z1 = _mm512_setzero_si512(), z2 = _mm512_setzero_si512();
  if (HasZp) {
    z1 = _mm512_maskz_loadu_epi32(k1, zb);
    z2 = _mm512_maskz_loadu_epi32(k2, zb + 16);
  }
  auto lane16 = [&](__m512i v, __m512i c, __m512i z, __m512 mv, std::uint32_t rs) {
    v = _mm512_add_epi32(v, c);
    if (HasZp) v = _mm512_sub_epi32(v, _mm512_mullo_epi32(z, _mm512_set1_epi32(static_cast<std::int32_t>(rs))));
    const __m512 f = _mm512_min_ps(_mm512_max_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(v), mv), vlo), vhi);
    const __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(f), vzp);
    // Narrowed in a register, then stored (VPMOVUSDB to memory is microcoded on Zen 4).
    return std::is_same_v<Out, std::uint8_t> ? _mm512_cvtusepi32_epi8(q) : _mm512_cvtsepi32_epi8(q);
  };
  for (int r = 0; r < rows; ++r, raw += kNP * panel_width, out += row_bytes) {
    const std::uint32_t rs = HasZp ? rowsum[r] : 0u;
    const __m128i b1 = lane16(_mm512_load_si512(raw), c1, z1, m1, rs);
    const __m128i b2 = lane16(_mm512_load_si512(raw + 16), c2, z2, m2, rs);
    if (ncols == 32) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), _mm256_set_m128i(b2, b1));
    } else {
      _mm_mask_storeu_epi8(out, k1, b1);
      _mm_mask_storeu_epi8(out + 16, k2, b2);
    }
  }
}

/// impl.inc's s32 output (MatMulInteger: corrected sums, no stage) of the rows of a tile, by
/// hand: GCC peeled the loop to align the stores, which left the loads of the sums unaligned.
#define FIXEDQ_INT8_S32_TILE_VEC 1
template <bool HasZp>
inline void s32_tile_vec(const std::int32_t* zb, const std::uint32_t* rowsum, const std::uint32_t* cterm,
                         const std::int32_t* raw, int rows, int ncols, char* out, std::ptrdiff_t row_bytes) {
  const int n1 = ncols < 16 ? ncols : 16, n2 = ncols - n1;
  const __mmask16 k1 = static_cast<__mmask16>((1u << n1) - 1), k2 = static_cast<__mmask16>((1u << n2) - 1);
  const __m512i c1 = _mm512_maskz_loadu_epi32(k1, cterm), c2 = _mm512_maskz_loadu_epi32(k2, cterm + 16);
  __m512i z1 = _mm512_setzero_si512(), z2 = _mm512_setzero_si512();
  if (HasZp) {
    z1 = _mm512_maskz_loadu_epi32(k1, zb);
    z2 = _mm512_maskz_loadu_epi32(k2, zb + 16);
  }
  for (int r = 0; r < rows; ++r, raw += kNP * panel_width, out += row_bytes) {
    __m512i v1 = _mm512_add_epi32(_mm512_load_si512(raw), c1), v2 = _mm512_add_epi32(_mm512_load_si512(raw + 16), c2);
    if (HasZp) {
      const __m512i rs = _mm512_set1_epi32(static_cast<std::int32_t>(rowsum[r]));
      v1 = _mm512_sub_epi32(v1, _mm512_mullo_epi32(z1, rs));
      v2 = _mm512_sub_epi32(v2, _mm512_mullo_epi32(z2, rs));
    }
    _mm512_mask_storeu_epi32(out, k1, v1);
    _mm512_mask_storeu_epi32(out + 64, k2, v2);
  }
}

}  // namespace

#include <fixedq/kernels/int8/impl.inc>

}  // namespace fixedq::kernels::int8::avx512_vnni
