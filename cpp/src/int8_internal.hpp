// fixedq int8 kernels: what the per-instruction-set translation units and the dispatcher
// share (private to cpp/src).
#pragma once

#include <fixedq/kernels/int8/int8.hpp>

#include <cstddef>
#include <cstdint>

namespace fixedq::kernels::int8 {

/// An implicit-GEMM convolution (groups == 1, dilation_w == 1): output
/// pixel (oh, ow) of image bi reads its kernel window in place from a padded NHWC copy of the
/// input, kernel row kh as one run of `seg` bytes (kernel_w * C, rounded up to whole k groups;
/// the packed weights have matching zero rows) at
///   x + bi image_bytes + ((oh stride_h + kh dilation_h) row_bytes) + ow stride_w C.
/// Reads may run up to seg - kernel_w * C bytes past a window: the buffer has that slack.
struct implicit_conv {
  const std::uint8_t* x = nullptr;
  std::ptrdiff_t image_bytes = 0, row_bytes = 0;
  int channels = 0, stride_h = 1, stride_w = 1, dilation_h = 1, kernel_h = 1, seg = 0;
  int run = 0;  ///< kernel_w * channels: the bytes of a segment that are the window's (row sums)
  int out_h = 0, out_w = 0;
  dtype a_type = dtype::u8;
  std::int32_t za = 0;
  const packed_b* b = nullptr;  ///< rows in (kh, kw, c) order, kernel row kh from row kh * seg on
  void* y = nullptr;            ///< NHWC output, pixel stride ldc elements
  std::ptrdiff_t ldc = 0;
  output_stage stage;
};

/// One path's kernels. gemm_rows computes rows [m0, m1) x panels [pb, pe) of a GEMM serially; depthwise_rows
/// output rows [oh0, oh1) of image bi (whole tensors x and y in layouts xl and yl; geometry s); the rest are
/// whole operations.
struct int8_table {
  const char* name;
  int mr;  ///< rows per micro-kernel
  int np;  ///< panels per micro-kernel
  void (*gemm_rows)(const gemm_args& g, int m0, int m1, int pb, int pe);
  void (*depthwise_rows)(const packed_conv& w, const conv_shape& s, const void* x, layout xl, dtype xt, std::int32_t zx,
                         int bi, int oh0, int oh1, void* y, layout yl, const output_stage& st);
  std::int32_t (*dot_s8s8)(const std::int8_t* a, const std::int8_t* b, std::ptrdiff_t n);
  std::int32_t (*dot_u8s8)(const std::uint8_t* a, const std::int8_t* b, std::ptrdiff_t n);
  void (*quantize_linear)(const float* x, std::ptrdiff_t n, const float* scale, const std::int32_t* zp,
                          std::ptrdiff_t channels, std::ptrdiff_t inner, void* y, dtype t);
  void (*dequantize_linear)(const void* x, dtype t, std::ptrdiff_t n, const float* scale, const std::int32_t* zp,
                            std::ptrdiff_t channels, std::ptrdiff_t inner, float* y);
  void (*add_requantized)(const void* a, std::int32_t za, float ma, const void* b, std::int32_t zb, float mb,
                          dtype t, std::ptrdiff_t n, std::int32_t zy, std::int32_t qmin, std::int32_t qmax,
                          void* y);
  /// Output rows [oh0, oh1) of image bi of an implicit-GEMM convolution; nullptr on paths whose
  /// micro-kernel does not read segmented rows (they use im2col).
  void (*conv_rows)(const implicit_conv& j, int bi, int oh0, int oh1);
  /// conv_rows pays also when kernel rows are padded to whole k groups (the extra products cost
  /// less than im2col: avx512_vnni); else only rows of whole groups take it.
  bool conv_rows_padded;
};

/// The fixed-point output stages (and any other), one row: bias, requantization, store.
/// Baseline code (cpp/src/int8_common.cpp), shared by every path.
void requantize_row_generic(const output_stage& st, const std::int32_t* acc, int col0, int ncols,
                            void* out_row) noexcept;

/// The table of the path in use (int8_dispatch.cpp).
const int8_table& active_table() noexcept;

#if defined(FIXEDQ_KERNELS_X86)
/// The avx_vnni kernels built with the EVEX encoding (AVX512-VL + VNNI): a test twin, not a
/// registered path; set_isa("avx_vnni_evex") selects it where AVX-512 VNNI runs.
namespace avx_vnni_evex {
const int8_table& table() noexcept;
}
#endif

#define FIXEDQ_INT8_PATH(name, arch, what) \
  namespace name {                         \
  const int8_table& table() noexcept;      \
  }
#include <fixedq/kernels/int8/registry.inc>
#undef FIXEDQ_INT8_PATH

}  // namespace fixedq::kernels::int8
