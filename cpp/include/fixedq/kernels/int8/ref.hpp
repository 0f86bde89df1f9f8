// fixedq int8 kernels: the reference. Plain loops over unpacked data, no intrinsics, no
// packing, no blocking: this file is the specification every instruction-set path must match
// bit for bit (tests/cpp/test_kernels_int8.cpp). It is header-only and used by the tests and
// benchmarks only; the run-time fallback is the "scalar" path of the registry.
//
// Conventions: 32-bit accumulation is modulo 2^32 (computed in uint32_t, so it is defined
// behaviour in C++); requantization follows <fixedq/kernels/int8/int8.hpp> output_stage.
#pragma once

#include <fixedq/fixed.hpp>
#include <fixedq/kernels/int8/int8.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>

namespace fixedq::kernels::int8::ref {

inline std::int32_t load(const void* p, dtype t, std::ptrdiff_t i) noexcept {
  return t == dtype::u8 ? std::int32_t{static_cast<const std::uint8_t*>(p)[i]}
                        : std::int32_t{static_cast<const std::int8_t*>(p)[i]};
}
inline void store(void* p, dtype t, std::ptrdiff_t i, std::int32_t v) noexcept {
  if (t == dtype::u8) {
    static_cast<std::uint8_t*>(p)[i] = static_cast<std::uint8_t>(v);
  } else {
    static_cast<std::int8_t*>(p)[i] = static_cast<std::int8_t>(v);
  }
}
inline std::int32_t qmin_of(dtype t) noexcept { return t == dtype::u8 ? 0 : -128; }
inline std::int32_t qmax_of(dtype t) noexcept { return t == dtype::u8 ? 255 : 127; }
inline std::int32_t wrap32(std::uint32_t u) noexcept {
  return u <= 0x7FFFFFFFu ? static_cast<std::int32_t>(u) : -static_cast<std::int32_t>(~u) - 1;
}
inline std::int32_t clamp(std::int32_t v, std::int32_t lo, std::int32_t hi) noexcept {
  return v < lo ? lo : (v > hi ? hi : v);
}

/// Float requantization, as ONNX Runtime's MlasRequantizeOutput: float(acc) (rounded to
/// nearest even by the conversion) times the float multiplier, clamped to the output range
/// shifted by the zero point, rounded half to even, plus the zero point.
inline std::int32_t requantize_float(std::int32_t acc, float multiplier, std::int32_t zp, std::int32_t qmin,
                                     std::int32_t qmax) noexcept {
  float v = static_cast<float>(acc) * multiplier;
  const float lo = static_cast<float>(qmin - zp), hi = static_cast<float>(qmax - zp);
  v = v < lo ? lo : v;  // NaN cannot occur: acc is finite and the multiplier is checked
  v = v > hi ? hi : v;
  return static_cast<std::int32_t>(std::nearbyint(v)) + zp;
}

/// SaturatingRoundingDoublingHighMul(a, b): a * b / 2^31 rounded half up (ties to +inf),
/// INT32_MIN * INT32_MIN saturating: the product of the integer a and the Q31 number b
/// rounded into an integer, which is what fixedq's multiply<To> does with half_up.
inline std::int32_t srdhm(std::int32_t a, std::int32_t b) noexcept {
  using Int = fixedq::Fixed<32, 0, fixedq::round::half_up, fixedq::overflow::saturate>;
  return fixedq::multiply<Int>(Int::from_raw(a), fixedq::Q31::from_raw(b)).raw();
}

/// RoundingDivideByPOT(x, e): x / 2^e rounded half away from zero.
inline std::int32_t rdbpot(std::int32_t x, int e) noexcept {
  const bool neg = x < 0;
  const std::uint32_t mag = neg ? 0u - static_cast<std::uint32_t>(x) : static_cast<std::uint32_t>(x);
  return fixedq::detail::round_shift_fit<std::int32_t, fixedq::round::half_away, fixedq::overflow::saturate>(
             neg, std::uint64_t{mag}, e)
      .raw;
}

/// gemmlowp/TFLite MultiplyByQuantizedMultiplier, double rounding (NOTES A.3).
inline std::int32_t multiply_fixed_double(std::int32_t x, std::int32_t m, std::int32_t shift) noexcept {
  const int left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
  // x * 2^left saturates in int32 as gemmlowp's SaturatingLeftShift... TFLite multiplies
  // without saturation; callers keep shift <= 0 for scales below 1. Here: saturate.
  std::int64_t xl = std::int64_t{x} * (std::int64_t{1} << left);
  xl = xl > INT32_MAX ? INT32_MAX : (xl < INT32_MIN ? INT32_MIN : xl);
  return rdbpot(srdhm(static_cast<std::int32_t>(xl), m), right);
}

/// ruy/TFLite single rounding: (x * M + 2^(t-1)) >> t with t = 31 - shift (ties to +inf).
inline std::int32_t multiply_fixed_single(std::int32_t x, std::int32_t m, std::int32_t shift) noexcept {
  const int total = 31 - shift;
  const std::int64_t p = std::int64_t{x} * std::int64_t{m};
  const bool neg = p < 0;
  const std::uint64_t mag = neg ? 0u - static_cast<std::uint64_t>(p) : static_cast<std::uint64_t>(p);
  return fixedq::detail::round_shift_fit<std::int32_t, fixedq::round::half_up, fixedq::overflow::saturate>(
             neg, mag, total)
      .raw;
}

/// The output stage of <int8.hpp> on one accumulator (column `col`).
inline std::int32_t requantize(const output_stage& st, std::int32_t acc, int col) noexcept {
  const std::int32_t biased =
      st.bias ? wrap32(static_cast<std::uint32_t>(acc) + static_cast<std::uint32_t>(st.bias[col * st.bias_stride]))
              : acc;
  switch (st.kind) {
    case requant_kind::none:
      return biased;
    case requant_kind::float_half_even:
      return requantize_float(biased, st.multiplier[col * st.multiplier_stride], st.zero_point, st.qmin, st.qmax);
    case requant_kind::fixed_double:
      return clamp(multiply_fixed_double(biased, st.fixed_multiplier[col * st.fixed_stride],
                                         st.shift[col * st.fixed_stride]) + st.zero_point,
                   st.qmin, st.qmax);
    case requant_kind::fixed_single:
      return clamp(multiply_fixed_single(biased, st.fixed_multiplier[col * st.fixed_stride],
                                         st.shift[col * st.fixed_stride]) + st.zero_point,
                   st.qmin, st.qmax);
  }
  return 0;
}

/// C = (A - za) x (B - zb) modulo 2^32, then the output stage. B is unpacked: K x N, row
/// stride ldb, zero point zb[n * zb_stride] (nullptr: 0).
inline void gemm(int m, int n, int k, const void* a, dtype at, std::ptrdiff_t lda, const std::int32_t* za,
                 int za_stride, const void* b, dtype bt, std::ptrdiff_t ldb, const std::int32_t* zb, int zb_stride,
                 void* c, std::ptrdiff_t ldc, const output_stage& st) {
  for (int i = 0; i < m; ++i) {
    const std::int32_t zai = za ? za[i * za_stride] : 0;
    for (int j = 0; j < n; ++j) {
      const std::int32_t zbj = zb ? zb[j * zb_stride] : 0;
      std::uint32_t acc = 0;
      for (int p = 0; p < k; ++p) {
        const std::int32_t x = load(a, at, i * lda + p) - zai;
        const std::int32_t w = load(b, bt, p * ldb + j) - zbj;
        acc += static_cast<std::uint32_t>(x * w);
      }
      const std::int32_t r = requantize(st, wrap32(acc), j);
      if (st.kind == requant_kind::none) {
        static_cast<std::int32_t*>(c)[i * ldc + j] = r;
      } else {
        store(c, st.out_type, i * ldc + j, r);
      }
    }
  }
}

/// 2-D convolution, the definition: y[n][oc][oh][ow] = sum over the group's input channels and
/// the kernel window of (x - zx) * (w[oc] - zw[oc]), padding contributing 0, then the output
/// stage with col = oc. Weights W are OC x Cg x KH x KW (ONNX order).
inline void conv(const conv_shape& s, const void* x, dtype xt, std::int32_t zx, layout xl, const void* w, dtype wt,
                 const std::int32_t* zw, int zw_stride, void* y, layout yl, const output_stage& st) {
  const int oh_n = s.out_h(), ow_n = s.out_w();
  const int cg = s.in_channels / s.groups, ocg = s.out_channels / s.groups;
  auto x_index = [&](int b, int c, int h, int wd) -> std::ptrdiff_t {
    return xl == layout::nchw ? ((std::ptrdiff_t{b} * s.in_channels + c) * s.in_h + h) * s.in_w + wd
                              : ((std::ptrdiff_t{b} * s.in_h + h) * s.in_w + wd) * s.in_channels + c;
  };
  for (int b = 0; b < s.batch; ++b)
    for (int oc = 0; oc < s.out_channels; ++oc) {
      const int g = oc / ocg;
      const std::int32_t zwo = zw ? zw[oc * zw_stride] : 0;
      for (int oh = 0; oh < oh_n; ++oh)
        for (int ow = 0; ow < ow_n; ++ow) {
          std::uint32_t acc = 0;
          for (int c = 0; c < cg; ++c)
            for (int kh = 0; kh < s.kernel_h; ++kh)
              for (int kw = 0; kw < s.kernel_w; ++kw) {
                const int ih = oh * s.stride_h - s.pad_top + kh * s.dilation_h;
                const int iw = ow * s.stride_w - s.pad_left + kw * s.dilation_w;
                if (ih < 0 || ih >= s.in_h || iw < 0 || iw >= s.in_w) continue;
                const std::int32_t xv = load(x, xt, x_index(b, g * cg + c, ih, iw)) - zx;
                const std::int32_t wv =
                    load(w, wt, ((std::ptrdiff_t{oc} * cg + c) * s.kernel_h + kh) * s.kernel_w + kw) - zwo;
                acc += static_cast<std::uint32_t>(xv * wv);
              }
          const std::int32_t r = requantize(st, wrap32(acc), oc);
          const std::ptrdiff_t yi = yl == layout::nchw
                                        ? ((std::ptrdiff_t{b} * s.out_channels + oc) * oh_n + oh) * ow_n + ow
                                        : ((std::ptrdiff_t{b} * oh_n + oh) * ow_n + ow) * s.out_channels + oc;
          if (st.kind == requant_kind::none) {
            static_cast<std::int32_t*>(y)[yi] = r;
          } else {
            store(y, st.out_type, yi, r);
          }
        }
    }
}

}  // namespace fixedq::kernels::int8::ref
