// fixedq int8 kernels: the baseline half shared by every path: packing, the GEMM and
// convolution drivers (blocking, im2col, layout changes, threads), the fixed-point output
// stages, pooling. Compiled with the baseline flags only; the per-path work goes through the
// table of the dispatched path (int8_dispatch.cpp).
#include "int8_internal.hpp"

#include <fixedq/kernels/int8/ref.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <memory>
#include <new>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace fixedq::kernels::int8 {

// ------------------------------------------------------------------------------------------
// Threads
// ------------------------------------------------------------------------------------------
namespace {
// Atomic: set_num_threads may run on one thread while kernels on others read the setting (from
// Python, a thread calls fixedq.set_num_threads while another runs a kernel without the GIL).
std::atomic<int>& thread_setting() {
  static std::atomic<int> n{0};  // 0: the default
  return n;
}
}  // namespace

int num_threads() noexcept {
  const int n = thread_setting().load(std::memory_order_relaxed);
  if (n > 0) return n;
#if defined(_OPENMP)
  return std::max(1, omp_get_max_threads());
#else
  return 1;
#endif
}

void set_num_threads(int n) noexcept { thread_setting().store(n > 0 ? n : 0, std::memory_order_relaxed); }

// ------------------------------------------------------------------------------------------
// Packing
// ------------------------------------------------------------------------------------------
namespace {

/// pack_b, with row kk of B stored at row (kk / run) * seg + kk % run (run <= seg): zero rows
/// after each run of `run` rows (the segments of an implicit-GEMM convolution; run == seg: none).
packed_b pack_b_runs(const void* b, dtype b_type, int k, int n, std::ptrdiff_t ldb, const std::int32_t* zb,
                     bool zb_per_column, int run, int seg) {
  packed_b p;
  p.k = k;
  p.n = n;
  const int stored_k = (k / run) * seg + k % run;
  p.kgroups = (stored_k + k_group - 1) / k_group;
  p.panels = (n + panel_width - 1) / panel_width;
  const std::size_t cols = static_cast<std::size_t>(p.panels) * panel_width;
  p.data.assign(static_cast<std::size_t>(p.panels) * p.kgroups * k_group * panel_width, 0);
  p.col_sum.assign(cols, 0);
  p.zero_point.assign(cols, 0);
  const int flip = b_type == dtype::u8 ? 128 : 0;  // u8 -> s8: b - 128
  for (int j = 0; j < n; ++j) {
    const std::int32_t z = zb ? zb[zb_per_column ? j : 0] : 0;
    p.zero_point[j] = z - flip;
    p.has_zero_point = p.has_zero_point || p.zero_point[j] != 0;
  }
  for (int kk = 0; kk < k; ++kk) {
    const int row = (kk / run) * seg + kk % run;
    for (int j = 0; j < n; ++j) {
      const std::int32_t v = ref::load(b, b_type, kk * ldb + j) - flip;
      const std::size_t panel = static_cast<std::size_t>(j / panel_width);
      const std::size_t idx = ((panel * p.kgroups + row / k_group) * panel_width + j % panel_width) * k_group +
                              row % k_group;
      p.data[idx] = static_cast<std::int8_t>(v);
      p.col_sum[j] += v;
    }
  }
  return p;
}

}  // namespace

packed_b pack_b(const void* b, dtype b_type, int k, int n, std::ptrdiff_t ldb, const std::int32_t* zb,
                bool zb_per_column) {
  return pack_b_runs(b, b_type, k, n, ldb, zb, zb_per_column, std::max(k, 1), std::max(k, 1));
}

packed_conv pack_conv(const conv_shape& s, const void* w, dtype w_type, const std::int32_t* zw, bool zw_per_channel) {
  packed_conv pc;
  pc.shape = s;
  const int cg = s.in_channels / s.groups, ocg = s.out_channels / s.groups;
  const int kk = s.kernel_h * s.kernel_w * cg;
  const int flip = w_type == dtype::u8 ? 128 : 0;
  pc.is_depthwise = cg == 1 && s.groups > 1;
  if (pc.is_depthwise) {
    const int oc_n = s.out_channels, taps = s.kernel_h * s.kernel_w;
    pc.depthwise.assign(static_cast<std::size_t>(taps) * oc_n, 0);
    pc.depthwise_zp.assign(static_cast<std::size_t>(oc_n), 0);
    for (int oc = 0; oc < oc_n; ++oc) {
      pc.depthwise_zp[oc] = (zw ? zw[zw_per_channel ? oc : 0] : 0) - flip;
      for (int t = 0; t < taps; ++t) {
        pc.depthwise[static_cast<std::size_t>(t) * oc_n + oc] =
            static_cast<std::int8_t>(ref::load(w, w_type, std::ptrdiff_t{oc} * taps + t) - flip);
      }
    }
    return pc;
  }
  // Per group: B (kk x ocg) with rows in (kh, kw, c) order, the order of im2col's columns.
  std::vector<std::uint8_t> b(static_cast<std::size_t>(kk) * ocg);
  std::vector<std::int32_t> z(static_cast<std::size_t>(ocg));
  for (int g = 0; g < s.groups; ++g) {
    for (int oc = 0; oc < ocg; ++oc) {
      const int o = g * ocg + oc;
      z[oc] = zw ? zw[zw_per_channel ? o : 0] : 0;
      for (int c = 0; c < cg; ++c)
        for (int kh = 0; kh < s.kernel_h; ++kh)
          for (int kw = 0; kw < s.kernel_w; ++kw) {
            const std::ptrdiff_t src = ((std::ptrdiff_t{o} * cg + c) * s.kernel_h + kh) * s.kernel_w + kw;
            const std::size_t row = (static_cast<std::size_t>(kh) * s.kernel_w + kw) * cg + c;
            b[row * ocg + oc] = w_type == dtype::u8 ? static_cast<const std::uint8_t*>(w)[src]
                                                    : static_cast<std::uint8_t>(static_cast<const std::int8_t*>(w)[src]);
          }
    }
    pc.groups.push_back(pack_b(b.data(), w_type, kk, ocg, ocg, z.data(), true));
  }
  if (s.groups == 1 && kk > 0) {
    const int run = s.kernel_w * cg;
    pc.segment = (run + k_group - 1) / k_group * k_group;
    if (pc.segment != run) pc.segmented = pack_b_runs(b.data(), w_type, kk, ocg, ocg, z.data(), true, run, pc.segment);
  }
  return pc;
}

// ------------------------------------------------------------------------------------------
// Output stages
// ------------------------------------------------------------------------------------------
std::int32_t requantize_one(const output_stage& st, std::int32_t acc, int col) noexcept {
  return ref::requantize(st, acc, col);
}

void requantize_row_generic(const output_stage& st, const std::int32_t* acc, int col0, int ncols,
                            void* out_row) noexcept {
  for (int j = 0; j < ncols; ++j) {
    const std::int32_t r = ref::requantize(st, acc[j], col0 + j);
    if (st.kind == requant_kind::none) {
      static_cast<std::int32_t*>(out_row)[col0 + j] = r;
    } else {
      ref::store(out_row, st.out_type, col0 + j, r);
    }
  }
}

bool quantize_multiplier(double real, std::int32_t& fixed_multiplier, std::int32_t& shift) noexcept {
  fixed_multiplier = 0;
  shift = 0;
  if (!(real >= 0.0) || !std::isfinite(real)) return false;
  if (real == 0.0) return true;
  int e = 0;
  const double q = std::frexp(real, &e);  // q in [0.5, 1)
  auto q_fixed = static_cast<std::int64_t>(std::llround(q * 2147483648.0));
  if (q_fixed == (std::int64_t{1} << 31)) {
    q_fixed /= 2;
    ++e;
  }
  if (e < -31) return true;  // flushes to zero, as TFLite
  if (e > 30) {              // TFLite clamps; a real multiplier >= 2^30 is not a requantization scale
    fixed_multiplier = INT32_MAX;
    shift = 30;
    return true;
  }
  fixed_multiplier = static_cast<std::int32_t>(q_fixed);
  shift = e;
  return true;
}

// ------------------------------------------------------------------------------------------
// GEMM driver
// ------------------------------------------------------------------------------------------
namespace {

/// Bytes of packed B one block keeps hot: a block's panels are re-read from the core's L2 by
/// every row strip of the block, so they must stay there (1 MB on Zen 4, 1-2 MB on recent
/// Intel cores; half of it leaves room for A and the outputs).
constexpr std::ptrdiff_t kBlockBytesB = 384 * 1024;

/// Multiply-adds each thread must get before threads pay off: a parallel region costs
/// microseconds to start and much more when other processes hold the cores (4M multiply-adds
/// are ~10 us on one AVX-512 VNNI core); smaller GEMMs and convs run on the caller.
constexpr double kMinParallelMacs = 1 << 22;

/// Threads for `macs` multiply-adds split into `tasks` pieces: at most one per
/// kMinParallelMacs, one per task, and num_threads().
int threads_for(double macs, int tasks) {
  const int useful = static_cast<int>(std::min<double>(tasks, std::max(1.0, macs / kMinParallelMacs)));
  return std::max(1, std::min(num_threads(), useful));
}

}  // namespace

void gemm(const gemm_args& g) {
  if (g.m <= 0 || g.b == nullptr || g.b->n <= 0) return;
  const int8_table& t = active_table();
  const int mr = t.mr, np = t.np;
  const packed_b& b = *g.b;
  // Blocks of panels whose packed bytes fit kBlockBytesB (a multiple of the micro-kernel's
  // panel count), by blocks of rows (a multiple of its row count), panel block major: each
  // block's panels are streamed from L2 by every row strip, only the strip's A rows (mr x K
  // bytes, L1) come from further away.
  const std::ptrdiff_t panel_bytes = std::ptrdiff_t{b.kgroups} * k_group * panel_width;
  int panel_step = static_cast<int>(std::max<std::ptrdiff_t>(1, kBlockBytesB / std::max<std::ptrdiff_t>(1, panel_bytes)));
  panel_step = std::max(np, panel_step / np * np);
  const int row_step = mr * 4;
  auto run = [&](int pa, int pz, int ma, int mz) {  // panels [pa, pz) x rows [ma, mz)
    for (int p0 = pa; p0 < pz; p0 += panel_step)
      for (int m0 = ma; m0 < mz; m0 += row_step) t.gemm_rows(g, m0, std::min(mz, m0 + row_step), p0, std::min(pz, p0 + panel_step));
  };
  const int panel_tiles = (b.panels + np - 1) / np, row_tiles = (g.m + mr - 1) / mr;
  const int threads = threads_for(static_cast<double>(g.m) * b.n * b.k, std::max(panel_tiles, row_tiles));
  if (threads > 1) {
#if defined(_OPENMP)
    // One contiguous share per thread: of the panels when there are enough (each thread keeps
    // its own panels in its own core's L2 and reads all of A), else of the rows.
    const bool by_panels = panel_tiles >= 2 * threads;
    const int tiles = by_panels ? panel_tiles : row_tiles;
    const int share = (tiles + threads - 1) / threads;
#pragma omp parallel num_threads(threads)
    {
      const int i = omp_get_thread_num();
      const int lo = std::min(tiles, i * share), hi = std::min(tiles, lo + share);
      if (by_panels) {
        run(lo * np, std::min(b.panels, hi * np), 0, g.m);
      } else {
        run(0, b.panels, lo * mr, std::min(g.m, hi * mr));
      }
    }
    return;
#endif
  }
  run(0, b.panels, 0, g.m);
}

std::int32_t dot_s8s8(const std::int8_t* a, const std::int8_t* b, std::ptrdiff_t n) noexcept {
  return active_table().dot_s8s8(a, b, n);
}
std::int32_t dot_u8s8(const std::uint8_t* a, const std::int8_t* b, std::ptrdiff_t n) noexcept {
  return active_table().dot_u8s8(a, b, n);
}
void quantize_linear(const float* x, std::ptrdiff_t n, const float* scale, const std::int32_t* zp,
                     std::ptrdiff_t channels, std::ptrdiff_t inner, void* y, dtype y_type) noexcept {
  active_table().quantize_linear(x, n, scale, zp, channels, inner, y, y_type);
}
void dequantize_linear(const void* x, dtype x_type, std::ptrdiff_t n, const float* scale, const std::int32_t* zp,
                       std::ptrdiff_t channels, std::ptrdiff_t inner, float* y) noexcept {
  active_table().dequantize_linear(x, x_type, n, scale, zp, channels, inner, y);
}
void add_requantized(const void* a, std::int32_t za, float ma, const void* b, std::int32_t zb, float mb, dtype t,
                     std::ptrdiff_t n, std::int32_t zy, std::int32_t qmin, std::int32_t qmax, void* y) noexcept {
  active_table().add_requantized(a, za, ma, b, zb, mb, t, n, zy, qmin, qmax, y);
}

// ------------------------------------------------------------------------------------------
// Convolution driver
// ------------------------------------------------------------------------------------------
namespace {

/// NCHW -> NHWC (or back) for one image of int32 elements, in tiles so that both sides stay in cache.
template <typename T>
void transpose_typed(const T* src, T* dst, int c, int hw, bool to_nhwc) noexcept {
  constexpr int tile = 32;
  for (int i0 = 0; i0 < hw; i0 += tile) {
    const int i1 = std::min(hw, i0 + tile);
    for (int ch = 0; ch < c; ++ch) {
      const std::size_t plane = static_cast<std::size_t>(ch) * hw;
      if (to_nhwc) {
        for (int i = i0; i < i1; ++i) dst[static_cast<std::size_t>(i) * c + ch] = src[plane + i];
      } else {
        for (int i = i0; i < i1; ++i) dst[plane + i] = src[static_cast<std::size_t>(i) * c + ch];
      }
    }
  }
}

#if defined(__SSE2__)
/// Transposes a 16 x 16 block of bytes: dst[j * ld_dst + i] = src[i * ld_src + j].
/// Cols = 8: a 16 x 8 block (8-byte loads, 8 rows stored), for tensors of 8 to 15 channels.
template <int Cols = 16>
inline void transpose16x16(const std::uint8_t* src, std::ptrdiff_t ld_src, std::uint8_t* dst,
                           std::ptrdiff_t ld_dst) noexcept {
  static_assert(Cols == 16 || Cols == 8, "16 x 16 or 16 x 8 blocks");
  __m128i r[16], t[16];
  for (int i = 0; i < 16; ++i) {
    r[i] = Cols == 16 ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i * ld_src))
                      : _mm_loadl_epi64(reinterpret_cast<const __m128i*>(src + i * ld_src));
  }
  // Four rounds of interleaving (8-, 16-, 32-, 64-bit lanes): after round k, element (i, j)
  // sits where (j, i) belongs.
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm_unpacklo_epi8(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm_unpackhi_epi8(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; ++i)
    for (int h = 0; h < 2; ++h) {
      r[4 * i + 2 * h] = _mm_unpacklo_epi16(t[4 * i + h], t[4 * i + 2 + h]);
      r[4 * i + 2 * h + 1] = _mm_unpackhi_epi16(t[4 * i + h], t[4 * i + 2 + h]);
    }
  for (int i = 0; i < 2; ++i)
    for (int h = 0; h < 4; ++h) {
      t[8 * i + 2 * h] = _mm_unpacklo_epi32(r[8 * i + h], r[8 * i + 4 + h]);
      t[8 * i + 2 * h + 1] = _mm_unpackhi_epi32(r[8 * i + h], r[8 * i + 4 + h]);
    }
  for (int h = 0; h < 8; ++h) {
    r[2 * h] = _mm_unpacklo_epi64(t[h], t[8 + h]);
    r[2 * h + 1] = _mm_unpackhi_epi64(t[h], t[8 + h]);
  }
  for (int j = 0; j < Cols; ++j) _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + j * ld_dst), r[j]);
}
#endif

/// Interleaves R rows of bytes (R channels into pixels): dst[c * R + r] = src[r * ld_src + c],
/// with R known to the compiler, which vectorises it (the generic loops ran a byte at a time:
/// a tenth of a 7x7 stem convolution on NCHW input).
template <int R>
void interleave_rows(const std::uint8_t* __restrict src, std::ptrdiff_t ld_src, std::uint8_t* __restrict dst,
                     int cols) noexcept {
  for (int c = 0; c < cols; ++c)
    for (int r = 0; r < R; ++r) dst[std::ptrdiff_t{c} * R + r] = src[r * ld_src + c];
}

/// Byte matrix transpose: dst (cols x rows, row stride ld_dst) = src (rows x cols, row stride
/// ld_src).
void transpose_bytes(const std::uint8_t* src, std::ptrdiff_t ld_src, std::uint8_t* dst, std::ptrdiff_t ld_dst, int rows,
                     int cols) noexcept {
  if (ld_dst == rows) {
    switch (rows) {  // few channels (first layers): one pass
      case 1: std::memcpy(dst, src, static_cast<std::size_t>(cols)); return;
      case 2: interleave_rows<2>(src, ld_src, dst, cols); return;
      case 3: interleave_rows<3>(src, ld_src, dst, cols); return;
      case 4: interleave_rows<4>(src, ld_src, dst, cols); return;
      default: break;
    }
  }
  int r0 = 0;
#if defined(__SSE2__)
  for (; r0 + 16 <= rows; r0 += 16) {
    int c0 = 0;
    for (; c0 + 16 <= cols; c0 += 16)
      transpose16x16(src + std::ptrdiff_t{r0} * ld_src + c0, ld_src, dst + std::ptrdiff_t{c0} * ld_dst + r0, ld_dst);
    if (c0 + 8 <= cols) {
      transpose16x16<8>(src + std::ptrdiff_t{r0} * ld_src + c0, ld_src, dst + std::ptrdiff_t{c0} * ld_dst + r0, ld_dst);
      c0 += 8;
    }
    for (int c = c0; c < cols; ++c)
      for (int r = r0; r < r0 + 16; ++r) dst[std::ptrdiff_t{c} * ld_dst + r] = src[std::ptrdiff_t{r} * ld_src + c];
  }
#endif
  for (int c = 0; c < cols; ++c)
    for (int r = r0; r < rows; ++r) dst[std::ptrdiff_t{c} * ld_dst + r] = src[std::ptrdiff_t{r} * ld_src + c];
}

/// NCHW -> NHWC (or back) for one image of `bytes`-sized elements (1: int8 codes, 4: int32).
void transpose_image(const char* src, char* dst, int c, int hw, std::size_t bytes, bool to_nhwc) noexcept {
  if (bytes == 1) {
    const auto* s8 = reinterpret_cast<const std::uint8_t*>(src);
    auto* d8 = reinterpret_cast<std::uint8_t*>(dst);
    if (to_nhwc) {
      transpose_bytes(s8, hw, d8, c, c, hw);  // (c x hw) -> (hw x c)
    } else {
      transpose_bytes(s8, c, d8, hw, hw, c);  // (hw x c) -> (c x hw)
    }
    return;
  }
  transpose_typed(reinterpret_cast<const std::int32_t*>(src), reinterpret_cast<std::int32_t*>(dst), c, hw, to_nhwc);
}

/// The stage of one group: per-channel arrays moved to the group's first channel.
output_stage group_stage(const output_stage& st, int first) {
  output_stage gs = st;
  if (gs.bias) gs.bias += first * gs.bias_stride;
  if (gs.multiplier) gs.multiplier += first * gs.multiplier_stride;
  if (gs.fixed_multiplier) gs.fixed_multiplier += first * gs.fixed_stride;
  if (gs.shift) gs.shift += first * gs.fixed_stride;
  return gs;
}

constexpr int kConvRows = 64;  // output pixels per im2col block, at least (rounded up to the micro-kernel's rows)


/// A growable byte buffer that is not zero-filled (64-byte aligned, for int32 views too).
class scratch {
 public:
  void reserve(std::size_t n) {
    if (n > size_) {
      data_.reset(static_cast<std::uint8_t*>(::operator new[](n, std::align_val_t{64})));
      size_ = n;
    }
  }
  std::uint8_t* data() const noexcept { return data_.get(); }

 private:
  struct release {
    void operator()(std::uint8_t* p) const noexcept { ::operator delete[](p, std::align_val_t{64}); }
  };
  std::unique_ptr<std::uint8_t, release> data_;
  std::size_t size_ = 0;
};

// im2col copies runs of a few bytes when a layer has few channels (3 for a 3x3 kernel on one
// channel): a call into libc's memcpy per run costs more than the copy.
inline void copy_bytes(std::uint8_t* dst, const std::uint8_t* src, std::size_t n) noexcept {
  // Two fixed-size (inlined) copies that overlap cover any length between the size and twice it.
  if (n > 32) {
    std::memcpy(dst, src, n);
  } else if (n >= 16) {
    std::memcpy(dst, src, 16);
    std::memcpy(dst + n - 16, src + n - 16, 16);
  } else if (n >= 8) {
    std::memcpy(dst, src, 8);
    std::memcpy(dst + n - 8, src + n - 8, 8);
  } else if (n >= 4) {
    std::memcpy(dst, src, 4);
    std::memcpy(dst + n - 4, src + n - 4, 4);
  } else if (n > 0) {
    dst[0] = src[0];
    dst[n / 2] = src[n / 2];
    dst[n - 1] = src[n - 1];
  }
}

/// im2col of `rows` output pixels from `pix0` of one NHWC image, group `g`: row r of `col` holds
/// the kernel window in (kh, kw, c) order, padding as `pad`. The geometry is copied into locals:
/// the byte stores could alias a struct's fields, which would make the compiler reload them.
void im2col(const conv_shape& shape, const std::uint8_t* __restrict ximg, int g, std::ptrdiff_t pix0, int rows,
            std::uint8_t pad, std::uint8_t* __restrict col) noexcept {
  const int in_h = shape.in_h, in_w = shape.in_w, c_n = shape.in_channels, cg = c_n / shape.groups;
  const int kh_n = shape.kernel_h, kw_n = shape.kernel_w, sh = shape.stride_h, sw = shape.stride_w;
  const int dh = shape.dilation_h, dw = shape.dilation_w, pt = shape.pad_top, pl = shape.pad_left;
  const int ow_n = shape.out_w();
  const std::size_t kk = static_cast<std::size_t>(kh_n) * kw_n * cg;
  const std::size_t run = static_cast<std::size_t>(kw_n) * cg;  // one kernel row, when contiguous
  const bool contiguous = cg == c_n && dw == 1;
  const std::uint8_t* xg = ximg + std::ptrdiff_t{g} * cg;
  int oh = static_cast<int>(pix0 / ow_n), ow = static_cast<int>(pix0 % ow_n);
  if (cg * kw_n < 8) {
    // Few channels (a first layer: 1 or 3): kernel rows of a few bytes, where copying row by
    // row costs branches per byte. Column by column instead: for one output row and one tap
    // (kh, kw, c), the values for consecutive output pixels are input bytes `sw * c_n` apart,
    // stored `kk` apart; the pixels whose tap falls into the padding are found once per tap.
    for (int r0 = 0; r0 < rows;) {
      const int seg = std::min(rows - r0, ow_n - ow);  // pixels left in this output row
      std::uint8_t* base = col + static_cast<std::size_t>(r0) * kk;
      std::size_t pos = 0;
      for (int kh = 0; kh < kh_n; ++kh) {
        const int ih = oh * sh - pt + kh * dh;
        for (int kw = 0; kw < kw_n; ++kw) {
          // Output pixels ow + j, j in [lo, hi), read inside the row: 0 <= (ow + j) sw - pl + kw dw < in_w.
          const int first = kw * dw - pl;  // input column of output pixel 0
          int lo = 0, hi = 0;
          if (ih >= 0 && ih < in_h) {
            const int a = first < 0 ? (-first + sw - 1) / sw : 0;                   // first valid pixel
            const int b = first < in_w ? (in_w - 1 - first) / sw + 1 : 0;           // one past the last
            lo = std::min(std::max(a - ow, 0), seg);
            hi = std::max(std::min(b - ow, seg), lo);
          }
          for (int c = 0; c < cg; ++c, ++pos) {
            std::uint8_t* d = base + pos;
            for (int j = 0; j < lo; ++j) d[static_cast<std::size_t>(j) * kk] = pad;
            if (hi > lo) {
              const std::uint8_t* src = xg + (std::ptrdiff_t{ih} * in_w + std::ptrdiff_t{ow + lo} * sw + first) * c_n + c;
              const std::ptrdiff_t step = std::ptrdiff_t{sw} * c_n;
              for (int j = lo; j < hi; ++j, src += step) d[static_cast<std::size_t>(j) * kk] = *src;
            }
            for (int j = hi; j < seg; ++j) d[static_cast<std::size_t>(j) * kk] = pad;
          }
        }
      }
      r0 += seg;
      ow += seg;
      if (ow == ow_n) {
        ow = 0;
        ++oh;
      }
    }
    return;
  }
  for (int r = 0; r < rows; ++r) {
    std::uint8_t* dst = col + static_cast<std::size_t>(r) * kk;
    const int ih0 = oh * sh - pt, iw0 = ow * sw - pl;
    const bool inside_w = iw0 >= 0 && iw0 + (kw_n - 1) * dw < in_w;
    for (int kh = 0; kh < kh_n; ++kh) {
      const int ih = ih0 + kh * dh;
      if (ih < 0 || ih >= in_h) {
        std::memset(dst, pad, run);
        dst += run;
        continue;
      }
      const std::uint8_t* src = xg + (std::ptrdiff_t{ih} * in_w) * c_n;
      if (contiguous && inside_w) {  // one group, no dilation: the kernel row is adjacent pixels
        copy_bytes(dst, src + std::ptrdiff_t{iw0} * c_n, run);
        dst += run;
        continue;
      }
      for (int kw = 0; kw < kw_n; ++kw, dst += cg) {
        const int iw = iw0 + kw * dw;
        if (iw < 0 || iw >= in_w) {
          std::memset(dst, pad, static_cast<std::size_t>(cg));
        } else {
          copy_bytes(dst, src + std::ptrdiff_t{iw} * c_n, static_cast<std::size_t>(cg));
        }
      }
    }
    if (++ow == ow_n) {
      ow = 0;
      ++oh;
    }
  }
}

/// A convolution as GEMMs on im2col blocks (or, `direct`: a pointwise convolution, one GEMM on
/// the NHWC input). x, y: NHWC.
void im2col_conv(const packed_conv& w, const conv_shape& s, const int8_table& t, const std::uint8_t* x, dtype xt,
                 std::int32_t zx, char* y, const output_stage& st, bool direct) {
  const int cg = s.in_channels / s.groups, ocg = s.out_channels / s.groups;
  const int kk = s.kernel_h * s.kernel_w * cg;
  const std::size_t out_bytes = st.kind == requant_kind::none ? 4 : 1;
  const std::ptrdiff_t in_image = std::ptrdiff_t{s.in_channels} * s.in_h * s.in_w;
  const std::ptrdiff_t out_pixels = std::ptrdiff_t{s.out_h()} * s.out_w();
  // A pointwise conv on NHWC data is one GEMM over all images' pixels: blocks may cross images
  // (a fully connected layer run as a 1x1 conv has one pixel per image).
  const std::ptrdiff_t rows_total = direct ? out_pixels * s.batch : out_pixels;
  const int conv_rows = (kConvRows + t.mr - 1) / t.mr * t.mr;  // whole micro-kernel tiles
  const int block_rows = direct ? 4 * conv_rows : conv_rows;
  const int blocks_per_image = static_cast<int>((rows_total + block_rows - 1) / block_rows);
  const int tasks = (direct ? 1 : s.batch) * s.groups * blocks_per_image;
  const std::uint8_t pad_byte = static_cast<std::uint8_t>(zx);
  auto run = [&](int task, std::vector<std::uint8_t>& col) {
    const int b = task / (s.groups * blocks_per_image);
    const int rest = task % (s.groups * blocks_per_image);
    const int g = rest / blocks_per_image, blk = rest % blocks_per_image;
    const std::ptrdiff_t pix0 = std::ptrdiff_t{blk} * block_rows;
    const int rows = static_cast<int>(std::min<std::ptrdiff_t>(block_rows, rows_total - pix0));
    const std::uint8_t* ximg = x + b * in_image;
    gemm_args ga;
    ga.m = rows;
    ga.a_type = xt;
    ga.za = &zx;
    ga.za_stride = 0;
    ga.b = &w.groups[static_cast<std::size_t>(g)];
    ga.c = y + ((b * out_pixels + pix0) * s.out_channels + std::ptrdiff_t{g} * ocg) * static_cast<std::ptrdiff_t>(out_bytes);
    ga.ldc = s.out_channels;
    ga.stage = group_stage(st, g * ocg);
    if (direct) {
      ga.a = ximg + pix0 * s.in_channels;
      ga.lda = s.in_channels;
    } else {
      col.resize(static_cast<std::size_t>(conv_rows) * kk);
      im2col(s, ximg, g, pix0, rows, pad_byte, col.data());
      ga.a = col.data();
      ga.lda = kk;
    }
    t.gemm_rows(ga, 0, rows, 0, ga.b->panels);
  };
  const double macs = static_cast<double>(rows_total) * (direct ? 1 : s.batch) * kk * s.out_channels;
  const int threads = threads_for(macs, tasks);
  if (threads > 1) {
#if defined(_OPENMP)
#pragma omp parallel num_threads(threads)
    {
      std::vector<std::uint8_t> col;
#pragma omp for schedule(static)
      for (int task = 0; task < tasks; ++task) run(task, col);
    }
#else
    std::vector<std::uint8_t> col;
    for (int task = 0; task < tasks; ++task) run(task, col);
#endif
  } else {
    std::vector<std::uint8_t> col;
    for (int task = 0; task < tasks; ++task) run(task, col);
  }
}

/// The implicit-GEMM convolution (implicit_conv): the input read in place (NHWC, no padding,
/// kernel rows of whole k groups), else from a padded NHWC copy. y: NHWC.
void implicit_gemm_conv(const packed_conv& w, const conv_shape& s, const int8_table& t, const std::uint8_t* x,
                        layout xl, dtype xt, std::int32_t zx, char* y, const output_stage& st) {
  const int c_n = s.in_channels, oh_n = s.out_h(), ow_n = s.out_w();
  const int run = s.kernel_w * c_n;
  implicit_conv j;
  j.channels = c_n;
  j.stride_h = s.stride_h;
  j.stride_w = s.stride_w;
  j.dilation_h = s.dilation_h;
  j.kernel_h = s.kernel_h;
  j.seg = w.segment;
  j.run = run;
  j.out_h = oh_n;
  j.out_w = ow_n;
  j.a_type = xt;
  j.za = zx;
  j.b = w.segment != run ? &w.segmented : &w.groups[0];
  j.y = y;
  j.ldc = s.out_channels;
  j.stage = st;
  const bool copy = s.pad_top > 0 || s.pad_left > 0 || s.pad_bottom > 0 || s.pad_right > 0 || w.segment != run ||
                    (xl == layout::nchw && c_n > 1);
  // The calling thread's padded copy (see the scratch of conv()), with w.segment bytes of slack
  // after the last image for the reads past a window.
  thread_local scratch x_pad;
  const int hp = s.pad_top + s.in_h + s.pad_bottom, wp = s.pad_left + s.in_w + s.pad_right;
  if (copy) {
    j.row_bytes = std::ptrdiff_t{wp} * c_n;
    j.image_bytes = j.row_bytes * hp;
    x_pad.reserve(static_cast<std::size_t>(j.image_bytes * s.batch + w.segment));
    std::memset(x_pad.data() + j.image_bytes * s.batch, static_cast<std::uint8_t>(zx), static_cast<std::size_t>(w.segment));
    j.x = x_pad.data();
  } else {
    j.row_bytes = std::ptrdiff_t{s.in_w} * c_n;
    j.image_bytes = j.row_bytes * s.in_h;
    j.x = x;
  }
  // Rows [lo, hi) of share i of n of the padded copy (over all images): padding, or the input
  // row between its pads (an NCHW row's C planes interleaved into pixels). The threads write the
  // calling thread's buffer (a thread_local named in the lambda would be each thread's own).
  std::uint8_t* const pad_base = copy ? x_pad.data() : nullptr;
  auto fill = [&](int i, int n) {
    const int rows = s.batch * hp;
    const int lo = static_cast<int>(std::int64_t{rows} * i / n), hi = static_cast<int>(std::int64_t{rows} * (i + 1) / n);
    const std::uint8_t pad_byte = static_cast<std::uint8_t>(zx);
    const std::size_t in_row = static_cast<std::size_t>(s.in_w) * c_n;
    const std::size_t left = static_cast<std::size_t>(s.pad_left) * c_n, right = static_cast<std::size_t>(s.pad_right) * c_n;
    const std::ptrdiff_t plane = std::ptrdiff_t{s.in_h} * s.in_w;  // NCHW: a channel's plane
    for (int r = lo; r < hi; ++r) {
      const int b = r / hp, h = r % hp - s.pad_top;
      std::uint8_t* d = pad_base + r * j.row_bytes;
      if (h < 0 || h >= s.in_h) {
        std::memset(d, pad_byte, static_cast<std::size_t>(j.row_bytes));
        continue;
      }
      const std::uint8_t* img = x + std::ptrdiff_t{b} * s.in_h * static_cast<std::ptrdiff_t>(in_row);
      std::memset(d, pad_byte, left);
      if (xl == layout::nhwc) {
        std::memcpy(d + left, img + h * static_cast<std::ptrdiff_t>(in_row), in_row);
      } else {
        transpose_bytes(img + std::ptrdiff_t{h} * s.in_w, plane, d + left, c_n, c_n, s.in_w);
      }
      std::memset(d + left + in_row, pad_byte, right);
    }
  };
  // Tasks are output rows; each thread takes one contiguous share of them (and of the copy's rows).
  const int tasks = s.batch * oh_n;
  const double macs = static_cast<double>(tasks) * ow_n * s.kernel_h * run * s.out_channels;
  const int threads = threads_for(macs, tasks);
  auto share = [&](int i, int n) {
    const int lo = static_cast<int>(std::int64_t{tasks} * i / n), hi = static_cast<int>(std::int64_t{tasks} * (i + 1) / n);
    for (int task = lo; task < hi;) {
      const int b = task / oh_n, oh0 = task % oh_n, oh1 = std::min(oh_n, oh0 + (hi - task));
      t.conv_rows(j, b, oh0, oh1);
      task += oh1 - oh0;
    }
  };
  if (threads > 1) {
#if defined(_OPENMP)
#pragma omp parallel num_threads(threads)
    {
      const int i = omp_get_thread_num();
      if (copy) fill(i, threads);
#pragma omp barrier
      share(i, threads);
    }
    return;
#endif
  }
  if (copy) fill(0, 1);
  share(0, 1);
}

}  // namespace

void conv(const packed_conv& w, const void* x, dtype xt, std::int32_t zx, layout in_layout, void* y,
          layout out_layout, const output_stage& st) {
  conv(w, w.shape, x, xt, zx, in_layout, y, out_layout, st);
}

void conv(const packed_conv& w, const conv_shape& s, const void* x, dtype xt, std::int32_t zx, layout in_layout,
          void* y, layout out_layout, const output_stage& st) {
  const int oh_n = s.out_h(), ow_n = s.out_w();
  if (s.batch <= 0 || oh_n <= 0 || ow_n <= 0) return;
  const int8_table& t = active_table();
  const std::size_t out_bytes = st.kind == requant_kind::none ? 4 : 1;
  const std::ptrdiff_t in_image = std::ptrdiff_t{s.in_channels} * s.in_h * s.in_w;
  const std::ptrdiff_t out_pixels = std::ptrdiff_t{oh_n} * ow_n;
  const std::ptrdiff_t out_image = out_pixels * s.out_channels;

  // NHWC views of the input and output (transposed copies when the layouts are NCHW; the
  // depthwise kernels read and write either layout themselves).
  // The calling thread's scratch (not zero-filled, kept between calls: a fresh vector per call
  // costs page faults and a memset as large as the data).
  thread_local scratch x_nhwc, y_nhwc;
  bool y_transposed = false;
  const char* xin = static_cast<const char*>(x);
  const bool direct = s.groups == 1 && s.kernel_h == 1 && s.kernel_w == 1 && s.stride_h == 1 && s.stride_w == 1 &&
                      s.pad_top == 0 && s.pad_left == 0 && s.pad_bottom == 0 && s.pad_right == 0;
  // The implicit-GEMM convolution makes its own (padded, NHWC) copy of an NCHW input.
  const bool implicit = !w.is_depthwise && !direct && t.conv_rows != nullptr && w.segment > 0 && s.groups == 1 &&
                        s.dilation_w == 1 && (t.conv_rows_padded || w.segment == s.kernel_w * s.in_channels);
  if (in_layout == layout::nchw && s.in_channels > 1 && !w.is_depthwise && !implicit) {
    x_nhwc.reserve(static_cast<std::size_t>(in_image * s.batch));
    for (int b = 0; b < s.batch; ++b)
      transpose_image(xin + b * in_image, reinterpret_cast<char*>(x_nhwc.data()) + b * in_image, s.in_channels,
                      s.in_h * s.in_w, 1, true);
    xin = reinterpret_cast<const char*>(x_nhwc.data());
  }
  char* yout = static_cast<char*>(y);
  if (out_layout == layout::nchw && s.out_channels > 1 && !w.is_depthwise) {
    y_nhwc.reserve(static_cast<std::size_t>(out_image * s.batch) * out_bytes);
    yout = reinterpret_cast<char*>(y_nhwc.data());
    y_transposed = true;
  }

  if (w.is_depthwise) {
    // Tasks are bands of output rows: a path keeps the input rows a band reads (interleaved
    // once per band), so one band per image and thread.
    const int threads = threads_for(static_cast<double>(s.batch) * out_pixels * s.out_channels * s.kernel_h * s.kernel_w,
                                    s.batch * oh_n);
    const int bands = std::max(1, std::min(oh_n, threads));
    const int tasks = s.batch * bands;
    auto run = [&](int task) {
      const int b = task / bands, band = task % bands;
      const int oh0 = static_cast<int>(std::int64_t{oh_n} * band / bands);
      const int oh1 = static_cast<int>(std::int64_t{oh_n} * (band + 1) / bands);
      t.depthwise_rows(w, s, x, in_layout, xt, zx, b, oh0, oh1, y, out_layout, st);
    };
#if defined(_OPENMP)
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
#endif
    for (int task = 0; task < tasks; ++task) run(task);
  } else {
    const std::uint8_t* xbytes = reinterpret_cast<const std::uint8_t*>(xin);
    if (implicit) {
      implicit_gemm_conv(w, s, t, xbytes, in_layout, xt, zx, yout, st);
    } else {
      im2col_conv(w, s, t, xbytes, xt, zx, yout, st, direct);
    }
  }
  if (y_transposed && out_bytes == 1) {
    // NHWC -> NCHW in shares of each image's pixels (whole 16 x 16 blocks), on the threads the
    // convolution had.
    const int threads = threads_for(static_cast<double>(s.batch) * out_image * s.kernel_h * s.kernel_w *
                                        (s.in_channels / s.groups),
                                    s.batch * oh_n);
    const int tasks = s.batch * threads;
    auto run = [&](int task) {
      const int b = task / threads, i = task % threads;
      const std::ptrdiff_t blocks = (out_pixels + 15) / 16;
      const std::ptrdiff_t p0 = std::min(out_pixels, blocks * i / threads * 16);
      const std::ptrdiff_t p1 = std::min(out_pixels, blocks * (i + 1) / threads * 16);
      if (p1 <= p0) return;
      transpose_bytes(reinterpret_cast<const std::uint8_t*>(yout) + (b * out_pixels + p0) * s.out_channels,
                      s.out_channels, static_cast<std::uint8_t*>(y) + b * out_image + p0, out_pixels,
                      static_cast<int>(p1 - p0), s.out_channels);
    };
#if defined(_OPENMP)
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
#endif
    for (int task = 0; task < tasks; ++task) run(task);
  } else if (y_transposed) {
    for (int b = 0; b < s.batch; ++b)
      transpose_image(yout + b * out_image * static_cast<std::ptrdiff_t>(out_bytes),
                      static_cast<char*>(y) + b * out_image * static_cast<std::ptrdiff_t>(out_bytes), s.out_channels,
                      static_cast<int>(out_pixels), out_bytes, false);
  }
}

// ------------------------------------------------------------------------------------------
// Pooling (plain loops; memory-bound)
// ------------------------------------------------------------------------------------------
namespace {
template <class F>
void pool(const conv_shape& s, layout l, F&& window) {
  const int oh_n = s.out_h(), ow_n = s.out_w();
  for (int b = 0; b < s.batch; ++b)
    for (int c = 0; c < s.in_channels; ++c)
      for (int oh = 0; oh < oh_n; ++oh)
        for (int ow = 0; ow < ow_n; ++ow) {
          auto in_index = [&](int ih, int iw) -> std::ptrdiff_t {
            return l == layout::nchw ? ((std::ptrdiff_t{b} * s.in_channels + c) * s.in_h + ih) * s.in_w + iw
                                     : ((std::ptrdiff_t{b} * s.in_h + ih) * s.in_w + iw) * s.in_channels + c;
          };
          const std::ptrdiff_t out = l == layout::nchw
                                         ? ((std::ptrdiff_t{b} * s.in_channels + c) * oh_n + oh) * ow_n + ow
                                         : ((std::ptrdiff_t{b} * oh_n + oh) * ow_n + ow) * s.in_channels + c;
          window(oh, ow, in_index, out);
        }
}
}  // namespace

void max_pool(const conv_shape& s, const void* x, dtype t, layout l, void* y) noexcept {
  pool(s, l, [&](int oh, int ow, auto in_index, std::ptrdiff_t out) {
    std::int32_t best = t == dtype::u8 ? 0 : -128;
    bool any = false;
    for (int kh = 0; kh < s.kernel_h; ++kh)
      for (int kw = 0; kw < s.kernel_w; ++kw) {
        const int ih = oh * s.stride_h - s.pad_top + kh * s.dilation_h;
        const int iw = ow * s.stride_w - s.pad_left + kw * s.dilation_w;
        if (ih < 0 || ih >= s.in_h || iw < 0 || iw >= s.in_w) continue;
        const std::int32_t v = ref::load(x, t, in_index(ih, iw));
        best = any ? std::max(best, v) : v;
        any = true;
      }
    ref::store(y, t, out, best);
  });
}

void avg_pool(const conv_shape& s, const void* x, dtype t, layout l, bool count_include_pad, void* y) noexcept {
  pool(s, l, [&](int oh, int ow, auto in_index, std::ptrdiff_t out) {
    std::int64_t sum = 0, count = 0;
    for (int kh = 0; kh < s.kernel_h; ++kh)
      for (int kw = 0; kw < s.kernel_w; ++kw) {
        const int ih = oh * s.stride_h - s.pad_top + kh * s.dilation_h;
        const int iw = ow * s.stride_w - s.pad_left + kw * s.dilation_w;
        const bool inside = ih >= 0 && ih < s.in_h && iw >= 0 && iw < s.in_w;
        if (inside) sum += ref::load(x, t, in_index(ih, iw));
        count += (inside || count_include_pad) ? 1 : 0;
      }
    if (count == 0) count = 1;
    // sum / count rounded half to even, exactly.
    const bool neg = sum < 0;
    const std::uint64_t mag = static_cast<std::uint64_t>(neg ? -sum : sum);
    std::uint64_t q = mag / static_cast<std::uint64_t>(count);
    const std::uint64_t r = mag - q * static_cast<std::uint64_t>(count);
    const std::uint64_t twice = 2 * r;
    if (twice > static_cast<std::uint64_t>(count) || (twice == static_cast<std::uint64_t>(count) && (q & 1))) ++q;
    const std::int64_t v = neg ? -static_cast<std::int64_t>(q) : static_cast<std::int64_t>(q);
    ref::store(y, t, out, static_cast<std::int32_t>(v));
  });
}

}  // namespace fixedq::kernels::int8
