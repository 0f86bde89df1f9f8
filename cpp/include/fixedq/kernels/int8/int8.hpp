// fixedq int8 kernels: dot products, GEMM, convolution, requantization, quantize/dequantize,
// pooling and elementwise add, for u8/s8 data with s32 accumulation.
//
// The contract of every kernel is its reference in <fixedq/kernels/int8/ref.hpp>: plain loops
// that define the result bit for bit. Every instruction-set path returns exactly those bits for
// every input (no saturating shortcuts such as AVX2 vpmaddubsw on full-range data).
//
// Arithmetic of the accumulators: sums of products are computed modulo 2^32 (the ONNX rule:
// "accumulation may overflow if and only if in 32 bits"), identically on every path; no
// product overflows (|(a - za)(b - zb)| <= 255 * 255), and the sum of up to 33,025 of them is
// exact.
//
// Layout of a packed right-hand side (one layout for every path): B (K x N) is stored as
// panels of `panel_width` = 16 columns; inside a panel, k runs in groups of 4 and each group
// holds the 4 bytes k..k+3 of column 0, then of column 1, ... (64 bytes per k group):
//   data[((panel * kgroups) + g) * 64 + col * 4 + j] = B[4g + j][16 panel + col]
// zero-padded past K and N. This is the operand shape of x86 VPDPBUSD (one zmm row per
// k group), of AMX TDPBUSD B tiles and of ARM SDOT (four 4-column vectors).
// u8 right-hand sides are stored as s8 by flipping the sign bit (b - 128), their zero points
// moved by -128, so the kernels see u8 x s8 only; s8 left-hand sides are flipped to u8 the
// same way (a + 128, zero point + 128) as they are loaded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace fixedq::kernels::int8 {

/// Element types of int8 tensors.
enum class dtype : int { u8, s8 };

/// Columns per packed panel and k values per group (see the layout above).
inline constexpr int panel_width = 16;
inline constexpr int k_group = 4;

/// A packed s8 right-hand side B (K x N) with its per-column zero points and column sums.
/// Built once by pack_b(); immutable afterwards, shareable between threads.
struct packed_b {
  int k = 0;                         ///< rows of B (the reduction length)
  int n = 0;                         ///< columns of B
  int kgroups = 0;                   ///< ceil(k / 4)
  int panels = 0;                    ///< ceil(n / 16)
  std::vector<std::int8_t> data;     ///< panels * kgroups * 64 bytes (layout above), 64-byte aligned use not required
  std::vector<std::int32_t> col_sum; ///< panels * 16: sum over k of the stored (s8) values
  std::vector<std::int32_t> zero_point;  ///< panels * 16: the s8-domain zero point of each column
  bool has_zero_point = false;       ///< any column has a non-zero s8-domain zero point
};

/// Packs B (K x N, row stride ldb elements, dtype u8 or s8) with zero points `zb` (one per
/// column when zb_per_column, else zb[0] for all; nullptr means 0, in B's own dtype domain).
packed_b pack_b(const void* b, dtype b_type, int k, int n, std::ptrdiff_t ldb,
                const std::int32_t* zb, bool zb_per_column);

/// How s32 accumulators become u8/s8 outputs.
enum class requant_kind : int {
  none,              ///< keep s32 (MatMulInteger, ConvInteger)
  float_half_even,   ///< ONNX/ONNX Runtime: clamp(nearbyint(float(acc + bias) * m) + zp), ties to even
  fixed_double,      ///< gemmlowp/TFLite: RDBPOT(SRDHM(acc * 2^max(s,0), M), max(-s,0)) + zp
  fixed_single,      ///< ruy/TFLITE_SINGLE_ROUNDING: (acc * M + 2^(t-1)) >> t, t = 31 - s, + zp
};

/// The output stage of a GEMM or convolution. Per-column arrays are indexed by the output
/// column (output channel); a stride of 0 means one value for all columns.
struct output_stage {
  requant_kind kind = requant_kind::none;
  const std::int32_t* bias = nullptr;       ///< s32 bias added to each accumulator (nullptr: none)
  int bias_stride = 1;
  const float* multiplier = nullptr;        ///< float_half_even: real multiplier per column
  int multiplier_stride = 0;
  const std::int32_t* fixed_multiplier = nullptr;  ///< fixed_*: Q31 multiplier M in [0, 2^31)
  const std::int32_t* shift = nullptr;             ///< fixed_*: left shift s (negative: right)
  int fixed_stride = 0;
  std::int32_t zero_point = 0;   ///< output zero point
  std::int32_t qmin = 0;         ///< clamp (fused ReLU: qmin = zero_point)
  std::int32_t qmax = 255;
  dtype out_type = dtype::u8;
};

/// Arguments of one GEMM: C (M x N) = (A - za) x (B - zb), then the output stage.
struct gemm_args {
  int m = 0;
  const void* a = nullptr;        ///< M x K, row stride lda (elements)
  std::ptrdiff_t lda = 0;
  dtype a_type = dtype::u8;
  const std::int32_t* za = nullptr;  ///< A's zero point(s) in A's own domain; nullptr: 0
  int za_stride = 0;                 ///< 0: one for all rows; 1: one per row
  const packed_b* b = nullptr;
  void* c = nullptr;              ///< M x N: s32 when stage.kind == none, else u8/s8
  std::ptrdiff_t ldc = 0;         ///< row stride of C in elements
  output_stage stage;
};

/// Requantizes one s32 value exactly as the output stage `st` does for column `col`.
std::int32_t requantize_one(const output_stage& st, std::int32_t acc, int col) noexcept;

/// The gemmlowp/TFLite representation of a positive real multiplier: M (Q31) and shift
/// (QuantizeMultiplier, NOTES A.3). Returns false for a non-finite or negative value.
bool quantize_multiplier(double real, std::int32_t& fixed_multiplier, std::int32_t& shift) noexcept;

/// 2-D convolution of u8/s8 data with s8/u8 weights (ONNX ConvInteger / QLinearConv).
struct conv_shape {
  int batch = 1, in_channels = 0, in_h = 0, in_w = 0;
  int out_channels = 0, kernel_h = 0, kernel_w = 0;
  int stride_h = 1, stride_w = 1;
  int pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  int dilation_h = 1, dilation_w = 1;
  int groups = 1;
  int out_h() const noexcept { return (in_h + pad_top + pad_bottom - dilation_h * (kernel_h - 1) - 1) / stride_h + 1; }
  int out_w() const noexcept { return (in_w + pad_left + pad_right - dilation_w * (kernel_w - 1) - 1) / stride_w + 1; }
};

enum class layout : int { nchw, nhwc };

/// Weights of a convolution, packed once: one packed_b per group, B = (KH*KW*Cg) x OCg with
/// rows in (kh, kw, c) order; depthwise weights (Cg == 1) are also kept as s8 [kh][kw][C*mult]
/// for the direct depthwise kernel.
struct packed_conv {
  conv_shape shape;
  std::vector<packed_b> groups;
  std::vector<std::int8_t> depthwise;          ///< KH*KW*OC, s8 domain (empty unless depthwise)
  std::vector<std::int32_t> depthwise_zp;      ///< OC, s8-domain weight zero points
  bool is_depthwise = false;
  /// groups == 1: the length in bytes of one kernel row of B (KW*C) rounded up to whole k
  /// groups, the segment of the implicit-GEMM convolution; 0 otherwise.
  int segment = 0;
  /// When segment > KW*C: B again with segment - KW*C zero rows after each kernel row (the
  /// implicit-GEMM convolution reads its A rows in runs of `segment` bytes). Else empty (groups[0] serves).
  packed_b segmented;
};

/// Packs weights W (OC x Cg x KH x KW, ONNX order) with zero point(s) zw (one per output
/// channel when zw_per_channel).
packed_conv pack_conv(const conv_shape& shape, const void* w, dtype w_type, const std::int32_t* zw,
                      bool zw_per_channel);

/// Runs a packed convolution. x: input in `in_layout`; y: output in `out_layout` (s32 when
/// stage.kind == none). zx: the input zero point (padding reads as zx, so it contributes 0).
/// Threads: fixedq::kernels::int8::num_threads().
void conv(const packed_conv& w, const void* x, dtype x_type, std::int32_t zx, layout in_layout, void* y,
          layout out_layout, const output_stage& stage);
/// The same with the geometry of this call: batch, input size, pads, strides and dilations come
/// from `geometry` (the packing does not depend on them), whose channels, kernel size and groups
/// must be w.shape's. One packed_conv thus serves inputs of any size, from any thread.
void conv(const packed_conv& w, const conv_shape& geometry, const void* x, dtype x_type, std::int32_t zx,
          layout in_layout, void* y, layout out_layout, const output_stage& stage);

/// Dot products into s32 (mod 2^32): s8 x s8 and u8 x s8.
std::int32_t dot_s8s8(const std::int8_t* a, const std::int8_t* b, std::ptrdiff_t n) noexcept;
std::int32_t dot_u8s8(const std::uint8_t* a, const std::int8_t* b, std::ptrdiff_t n) noexcept;

/// GEMM with the dispatched path (threads: num_threads()).
void gemm(const gemm_args& args);

/// QuantizeLinear: y = saturate(nearbyint(x / scale) + zp), the division in float (ties to even).
/// `scale` and `zp` have `channels` entries indexed by (i / inner) % channels (per-axis), or 1.
void quantize_linear(const float* x, std::ptrdiff_t n, const float* scale, const std::int32_t* zp,
                     std::ptrdiff_t channels, std::ptrdiff_t inner, void* y, dtype y_type) noexcept;
/// DequantizeLinear: y = float(x - zp) * scale.
void dequantize_linear(const void* x, dtype x_type, std::ptrdiff_t n, const float* scale, const std::int32_t* zp,
                       std::ptrdiff_t channels, std::ptrdiff_t inner, float* y) noexcept;

/// Pooling on u8/s8 NCHW or NHWC tensors (shape from conv_shape: batch, in_channels, in_h,
/// in_w, kernel, strides, pads, dilations; out_channels ignored). Max pooling ignores padding;
/// average pooling divides by the window count (count_include_pad: all kernel positions)
/// and rounds half to even.
void max_pool(const conv_shape& s, const void* x, dtype t, layout l, void* y) noexcept;
void avg_pool(const conv_shape& s, const void* x, dtype t, layout l, bool count_include_pad, void* y) noexcept;

/// Requantized elementwise add (QLinearAdd): y = saturate(nearbyint((a - za) * sa / sy +
/// (b - zb) * sb / sy) + zy), computed in float as (a - za) * (sa/sy) + (b - zb) * (sb/sy).
void add_requantized(const void* a, std::int32_t za, float ma, const void* b, std::int32_t zb, float mb,
                     dtype t, std::ptrdiff_t n, std::int32_t zy, std::int32_t qmin, std::int32_t qmax,
                     void* y) noexcept;

/// The instruction-set paths, best last. A path is usable when the build has it and the CPU
/// has (and the OS enables) its instructions.
const std::vector<std::string>& isa_names();          ///< every path this build knows
bool isa_available(const std::string& name) noexcept; ///< built and supported by this CPU
/// The path in use: the best available, or FIXEDQ_ISA's when available (read once).
const std::string& isa() noexcept;
/// Forces a path for this process (tests and benchmarks); false if unavailable.
bool set_isa(const std::string& name) noexcept;

/// Threads used by gemm/conv (default: 1 per core, at most what OpenMP offers).
int num_threads() noexcept;
void set_num_threads(int n) noexcept;

}  // namespace fixedq::kernels::int8
