// fixedq int8 kernels: every registered path against the reference (ref.hpp), bit for bit.
//
// One parameterised suite over the registry (plus the avx_vnni kernel's EVEX test twin); a path
// the CPU lacks is skipped, never failed. The shape battery follows STYLE.md: K below, at,
// above and a multiple of the k group and of the vector widths; M from 1 past the micro-kernel
// rows; N from 1 past one and two panels; prime sizes; powers of two +-1; deep K with
// wrap-around; -128/127/0/255 extremes and long runs of them; zero points (per tensor, per
// row, per column); every output stage and clamp. Random inputs print their seed
// (FIXEDQ_TEST_SEED=<seed> repeats a run).
#include <gtest/gtest.h>

#include <fixedq/kernels/int8/int8.hpp>
#include <fixedq/kernels/int8/ref.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

namespace {

namespace q = fixedq::kernels::int8;

std::uint64_t test_seed() {
  static const std::uint64_t seed = [] {
    const char* env = std::getenv("FIXEDQ_TEST_SEED");
    const std::uint64_t s = env != nullptr ? std::strtoull(env, nullptr, 0) : std::random_device{}();
    std::printf("fixedq int8 kernel tests: seed %llu (repeat with FIXEDQ_TEST_SEED=%llu)\n",
                static_cast<unsigned long long>(s), static_cast<unsigned long long>(s));
    return s;
  }();
  return seed;
}

std::vector<std::string> all_paths() {
  std::vector<std::string> p = q::isa_names();
#if defined(__x86_64__) || defined(_M_X64)
  p.push_back("avx_vnni_evex");
#endif
  return p;
}

/// How a tensor's bytes are drawn.
enum class fill { random, extremes, low_high, runs };

std::vector<std::uint8_t> make_data(std::size_t n, q::dtype t, fill f, std::mt19937_64& rng) {
  std::vector<std::uint8_t> v(n);
  const std::uint8_t lo = t == q::dtype::u8 ? 0 : 0x80, hi = t == q::dtype::u8 ? 0xFF : 0x7F;
  for (std::size_t i = 0; i < n; ++i) {
    switch (f) {
      case fill::random: v[i] = static_cast<std::uint8_t>(rng()); break;
      case fill::extremes: v[i] = (rng() & 1) ? lo : hi; break;
      case fill::low_high: v[i] = (i % 7 == 3) ? lo : hi; break;
      case fill::runs: v[i] = ((i / 37) & 1) ? hi : lo; break;
    }
  }
  return v;
}

class Int8Path : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    saved_ = q::isa();
    if (!q::isa_available(GetParam())) GTEST_SKIP() << GetParam() << " does not run on this CPU/build";
    ASSERT_TRUE(q::set_isa(GetParam()));
    ASSERT_EQ(q::isa(), GetParam());
  }
  void TearDown() override { q::set_isa(saved_); }
  std::string saved_;
};

struct gemm_case {
  int m, n, k;
  q::dtype at, bt;
  fill f;
  int zp_mode;     // 0: none, 1: per tensor, 2: per column (B) and per row (A)
  int stage_mode;  // 0: s32, 1: float, 2: fixed double, 3: fixed single; + clamps
  q::dtype out;
};

std::string describe(const gemm_case& c) {
  char buf[200];
  std::snprintf(buf, sizeof buf, "M=%d N=%d K=%d A=%s B=%s fill=%d zp=%d stage=%d out=%s seed=%llu", c.m, c.n, c.k,
                c.at == q::dtype::u8 ? "u8" : "s8", c.bt == q::dtype::u8 ? "u8" : "s8", static_cast<int>(c.f),
                c.zp_mode, c.stage_mode, c.out == q::dtype::u8 ? "u8" : "s8",
                static_cast<unsigned long long>(test_seed()));
  return buf;
}

/// Runs one GEMM through the dispatched path and the reference; returns the number of
/// differing outputs (and reports the first).
void check_gemm(const gemm_case& c, std::mt19937_64& rng, int threads) {
  SCOPED_TRACE(describe(c));
  const auto a = make_data(static_cast<std::size_t>(c.m) * c.k, c.at, c.f, rng);
  const auto b = make_data(static_cast<std::size_t>(c.k) * c.n, c.bt, c.f, rng);
  std::vector<std::int32_t> za(static_cast<std::size_t>(c.m)), zb(static_cast<std::size_t>(c.n));
  auto zero = [&](q::dtype t) {
    return c.zp_mode == 0 ? 0 : static_cast<std::int32_t>(t == q::dtype::u8 ? rng() % 256 : (rng() % 256) - 128);
  };
  for (auto& z : za) z = c.zp_mode == 2 ? zero(c.at) : 0;
  for (auto& z : zb) z = c.zp_mode == 2 ? zero(c.bt) : 0;
  if (c.zp_mode == 1) {
    za[0] = zero(c.at);
    zb[0] = zero(c.bt);
  }
  const int zstride = c.zp_mode == 2 ? 1 : 0;

  std::vector<std::int32_t> bias(static_cast<std::size_t>(c.n)), fm(static_cast<std::size_t>(c.n)),
      sh(static_cast<std::size_t>(c.n));
  std::vector<float> mult(static_cast<std::size_t>(c.n));
  for (int j = 0; j < c.n; ++j) {
    bias[j] = static_cast<std::int32_t>(rng() % 200001) - 100000;
    // scales from 2^-20 to 2: real requantization multipliers, ties included (powers of two)
    const double real = (j % 5 == 0) ? std::ldexp(1.0, -static_cast<int>(rng() % 18))
                                     : std::ldexp(1.0 + static_cast<double>(rng() % 1000) / 1000.0, -static_cast<int>(rng() % 20));
    mult[j] = static_cast<float>(real);
    ASSERT_TRUE(q::quantize_multiplier(real, fm[j], sh[j]));
  }
  q::output_stage st;
  st.kind = c.stage_mode == 0   ? q::requant_kind::none
            : c.stage_mode == 1 ? q::requant_kind::float_half_even
            : c.stage_mode == 2 ? q::requant_kind::fixed_double
                                : q::requant_kind::fixed_single;
  st.out_type = c.out;
  const bool per_col = (c.n % 2) == 1;
  if (st.kind != q::requant_kind::none || (c.k % 3) == 0) {
    st.bias = bias.data();
    st.bias_stride = per_col ? 1 : 0;
  }
  st.multiplier = mult.data();
  st.multiplier_stride = per_col ? 1 : 0;
  st.fixed_multiplier = fm.data();
  st.shift = sh.data();
  st.fixed_stride = per_col ? 1 : 0;
  st.zero_point = c.out == q::dtype::u8 ? static_cast<std::int32_t>(rng() % 256) : static_cast<std::int32_t>(rng() % 256) - 128;
  st.qmin = q::ref::qmin_of(c.out);
  st.qmax = q::ref::qmax_of(c.out);
  if (c.k % 2 == 0) st.qmin = st.zero_point;  // fused ReLU
  if (c.k % 4 == 1) st.qmax = std::min(st.qmax, st.zero_point + 60);

  const std::size_t out_bytes = st.kind == q::requant_kind::none ? 4 : 1;
  std::vector<std::uint8_t> got(static_cast<std::size_t>(c.m) * c.n * out_bytes + 7, 0xA5),
      want(static_cast<std::size_t>(c.m) * c.n * out_bytes + 7, 0xA5);
  const q::packed_b pb = q::pack_b(b.data(), c.bt, c.k, c.n, c.n, zb.data(), zstride == 1);
  q::gemm_args g;
  g.m = c.m;
  g.a = a.data();
  g.lda = c.k;
  g.a_type = c.at;
  g.za = za.data();
  g.za_stride = zstride;
  g.b = &pb;
  g.c = got.data();
  g.ldc = c.n;
  g.stage = st;
  q::set_num_threads(threads);
  q::gemm(g);
  q::set_num_threads(0);
  q::ref::gemm(c.m, c.n, c.k, a.data(), c.at, c.k, za.data(), zstride, b.data(), c.bt, c.n, zb.data(), zstride,
               want.data(), c.n, st);
  // Compare element by element, printing the first difference.
  for (int i = 0; i < c.m; ++i)
    for (int j = 0; j < c.n; ++j) {
      std::int32_t x, y;
      if (out_bytes == 4) {
        std::memcpy(&x, got.data() + (static_cast<std::size_t>(i) * c.n + j) * 4, 4);
        std::memcpy(&y, want.data() + (static_cast<std::size_t>(i) * c.n + j) * 4, 4);
      } else {
        x = q::ref::load(got.data(), c.out, static_cast<std::ptrdiff_t>(i) * c.n + j);
        y = q::ref::load(want.data(), c.out, static_cast<std::ptrdiff_t>(i) * c.n + j);
      }
      if (x != y) {
        ADD_FAILURE() << "C[" << i << "][" << j << "] = " << x << ", reference " << y;
        return;
      }
    }
  // Nothing written past the output.
  for (std::size_t i = got.size() - 7; i < got.size(); ++i) ASSERT_EQ(got[i], 0xA5);
}

TEST_P(Int8Path, GemmShapeBattery) {
  std::mt19937_64 rng(test_seed());
  // Every row count of the micro-kernels up to 14 (tails of every tile height), and several blocks.
  const int ms[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16, 17, 25, 33, 50};
  const int ns[] = {1, 2, 3, 15, 16, 17, 31, 32, 33, 47, 48, 64, 65};
  const int ks[] = {1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 256, 257, 1000};
  int idx = 0;
  for (int m : ms)
    for (int n : ns) {
      for (int k : {1, 4, 5, 17, 64}) {
        const int v = idx++;
        check_gemm({m, n, k, (v & 1) ? q::dtype::s8 : q::dtype::u8, (v & 2) ? q::dtype::u8 : q::dtype::s8,
                    static_cast<fill>(v % 4), v % 3, v % 4, (v / 4) % 2 ? q::dtype::s8 : q::dtype::u8},
                   rng, 1);
      }
    }
  for (int k : ks)
    for (auto mn : {std::pair<int, int>{1, 1}, {9, 33}, {17, 16}, {6, 50}}) {
      const int v = idx++;
      check_gemm({mn.first, mn.second, k, (v & 1) ? q::dtype::s8 : q::dtype::u8, (v & 2) ? q::dtype::u8 : q::dtype::s8,
                  static_cast<fill>(v % 4), v % 3, v % 4, (v / 4) % 2 ? q::dtype::s8 : q::dtype::u8},
                 rng, 1);
    }
}

TEST_P(Int8Path, GemmExtremesEveryTypeAndStage) {
  std::mt19937_64 rng(test_seed() + 1);
  for (q::dtype at : {q::dtype::u8, q::dtype::s8})
    for (q::dtype bt : {q::dtype::u8, q::dtype::s8})
      for (int stage = 0; stage < 4; ++stage)
        for (int zp = 0; zp < 3; ++zp)
          for (fill f : {fill::extremes, fill::low_high, fill::runs})
            check_gemm({11, 35, 301, at, bt, f, zp, stage, stage % 2 ? q::dtype::s8 : q::dtype::u8}, rng, 1);
}

TEST_P(Int8Path, GemmDeepKWrapsModulo2To32) {
  // 255 * -128 * 70000 and (0 - 255) * (-128 - 127) * 70000 leave the int32 range: the sums
  // wrap identically on every path.
  std::mt19937_64 rng(test_seed() + 2);
  check_gemm({2, 17, 70000, q::dtype::u8, q::dtype::s8, fill::extremes, 1, 0, q::dtype::u8}, rng, 1);
  check_gemm({3, 20, 4099, q::dtype::s8, q::dtype::u8, fill::runs, 2, 1, q::dtype::s8}, rng, 1);
}

TEST_P(Int8Path, GemmThreadsGiveTheSameBits) {
  std::mt19937_64 rng(test_seed() + 3);
  check_gemm({67, 129, 77, q::dtype::u8, q::dtype::s8, fill::random, 2, 1, q::dtype::u8}, rng, 2);
  check_gemm({200, 40, 33, q::dtype::s8, q::dtype::s8, fill::random, 1, 0, q::dtype::u8}, rng, 3);
  // Small work runs on one thread whatever the setting (int8_common.cpp, kMacsPerThread); these
  // are large enough for 2 threads: split by panels (counts that do not split evenly), then by
  // rows (one panel).
  check_gemm({150, 257, 300, q::dtype::s8, q::dtype::u8, fill::random, 1, 1, q::dtype::s8}, rng, 2);
  check_gemm({61, 1000, 160, q::dtype::u8, q::dtype::s8, fill::random, 0, 0, q::dtype::u8}, rng, 2);
  check_gemm({401, 15, 1500, q::dtype::u8, q::dtype::s8, fill::random, 2, 1, q::dtype::u8}, rng, 2);
}

// set_num_threads may be called while kernels run on other threads (fixedq.set_num_threads on one
// Python thread while another runs a kernel without the GIL). The setting was a plain int: a data
// race, undefined behaviour (ThreadSanitizer's business); it is atomic now. Results never depend
// on the setting, whenever it changes.
TEST_P(Int8Path, ThreadSettingMayChangeWhileKernelsRun) {
  std::mt19937_64 rng(test_seed() + 11);
  std::atomic<bool> stop{false};
  std::thread toggler([&stop] {
    for (int i = 0; !stop.load(); ++i) {
      q::set_num_threads(i % 3);
      std::this_thread::yield();
    }
  });
  for (int r = 0; r < 4; ++r) {
    check_gemm({37, 70, 61, q::dtype::u8, q::dtype::s8, fill::random, 2, 1, q::dtype::u8}, rng, 2);
  }
  stop = true;
  toggler.join();
  q::set_num_threads(0);
}

struct conv_case {
  q::conv_shape s;
  q::layout in, out;
  q::dtype xt, wt;
  int stage_mode;  ///< 0: s32, 1: float_half_even, 2: fixed_double, 3: fixed_single
  /// Weight zero points: random per channel, or all the type's "no offset" value (0 for s8,
  /// 128 for u8: the flipped domain's 0, the common case a kernel may specialise).
  bool weight_zp_random = true;
  double multiplier_exp = -10;  ///< float multipliers in [1, 2) * 2^(exp - 0..7)
  bool relu = false;            ///< clamp below at the output zero point (fused ReLU)
  int zx = 1000;                ///< the input zero point; 1000: random
};

void check_conv(const conv_case& c, std::mt19937_64& rng, int threads) {
  const q::conv_shape& s = c.s;
  char buf[300];
  std::snprintf(buf, sizeof buf,
                "N=%d C=%d H=%d W=%d OC=%d k=%dx%d s=%dx%d pads=%d,%d,%d,%d d=%dx%d g=%d in=%s out=%s stage=%d "
                "x=%s w=%s zw_random=%d mult_exp=%g relu=%d zx=%d seed=%llu",
                s.batch, s.in_channels, s.in_h, s.in_w, s.out_channels, s.kernel_h, s.kernel_w, s.stride_h,
                s.stride_w, s.pad_top, s.pad_left, s.pad_bottom, s.pad_right, s.dilation_h, s.dilation_w, s.groups,
                c.in == q::layout::nchw ? "NCHW" : "NHWC", c.out == q::layout::nchw ? "NCHW" : "NHWC", c.stage_mode,
                c.xt == q::dtype::u8 ? "u8" : "s8", c.wt == q::dtype::u8 ? "u8" : "s8", int{c.weight_zp_random},
                c.multiplier_exp, int{c.relu}, c.zx, static_cast<unsigned long long>(test_seed()));
  SCOPED_TRACE(buf);
  const std::size_t xn = static_cast<std::size_t>(s.batch) * s.in_channels * s.in_h * s.in_w;
  const std::size_t wn = static_cast<std::size_t>(s.out_channels) * (s.in_channels / s.groups) * s.kernel_h * s.kernel_w;
  const auto x = make_data(xn, c.xt, fill::random, rng);
  const auto w = make_data(wn, c.wt, (rng() & 1) ? fill::random : fill::extremes, rng);
  std::vector<std::int32_t> zw(static_cast<std::size_t>(s.out_channels)), bias(zw.size());
  for (auto& z : zw)
    z = c.weight_zp_random ? static_cast<std::int32_t>(rng() % 256) - (c.wt == q::dtype::s8 ? 128 : 0)
                           : (c.wt == q::dtype::s8 ? 0 : 128);
  for (auto& b : bias) b = static_cast<std::int32_t>(rng() % 20001) - 10000;
  const std::int32_t zx =
      c.zx != 1000 ? c.zx : static_cast<std::int32_t>(rng() % 256) - (c.xt == q::dtype::s8 ? 128 : 0);
  std::vector<float> mult(zw.size());
  std::vector<std::int32_t> fm(zw.size()), sh(zw.size());
  for (std::size_t i = 0; i < mult.size(); ++i) {
    const double real = std::ldexp(1.0 + static_cast<double>(rng() % 1000) / 1000.0,
                                   static_cast<int>(c.multiplier_exp) - static_cast<int>(rng() % 8));
    mult[i] = static_cast<float>(real);
    ASSERT_TRUE(q::quantize_multiplier(real, fm[i], sh[i]));
  }
  q::output_stage st;
  st.kind = c.stage_mode == 0 ? q::requant_kind::none
            : c.stage_mode == 1 ? q::requant_kind::float_half_even
            : c.stage_mode == 2 ? q::requant_kind::fixed_double
                                : q::requant_kind::fixed_single;
  if (st.kind != q::requant_kind::none) st.bias = bias.data();
  st.multiplier = mult.data();
  st.multiplier_stride = 1;
  st.fixed_multiplier = fm.data();
  st.shift = sh.data();
  st.fixed_stride = 1;
  st.out_type = c.xt;
  st.zero_point = static_cast<std::int32_t>(rng() % 100) - (c.xt == q::dtype::s8 ? 50 : 0);
  st.qmin = c.relu ? st.zero_point : q::ref::qmin_of(c.xt);
  st.qmax = q::ref::qmax_of(c.xt);
  const std::size_t out_bytes = st.kind == q::requant_kind::none ? 4 : 1;
  const std::size_t yn = static_cast<std::size_t>(s.batch) * s.out_channels * s.out_h() * s.out_w();
  std::vector<std::uint8_t> got(yn * out_bytes + 5, 0x5A), want(yn * out_bytes + 5, 0x5A);
  const q::packed_conv pc = q::pack_conv(s, w.data(), c.wt, zw.data(), true);
  q::set_num_threads(threads);
  q::conv(pc, x.data(), c.xt, zx, c.in, got.data(), c.out, st);
  q::set_num_threads(0);
  q::ref::conv(s, x.data(), c.xt, zx, c.in, w.data(), c.wt, zw.data(), 1, want.data(), c.out, st);
  for (std::size_t i = 0; i < yn * out_bytes; ++i) {
    if (got[i] != want[i]) {
      ADD_FAILURE() << "output byte " << i << " (element " << i / out_bytes << ") = " << int(got[i]) << ", reference "
                    << int(want[i]);
      return;
    }
  }
  for (std::size_t i = yn * out_bytes; i < got.size(); ++i) ASSERT_EQ(got[i], 0x5A);
}

q::conv_shape shape(int n, int c, int h, int w, int oc, int kh, int kw, int stride, int pad, int dil, int groups) {
  q::conv_shape s;
  s.batch = n;
  s.in_channels = c;
  s.in_h = h;
  s.in_w = w;
  s.out_channels = oc;
  s.kernel_h = kh;
  s.kernel_w = kw;
  s.stride_h = s.stride_w = stride;
  s.pad_top = s.pad_left = s.pad_bottom = s.pad_right = pad;
  s.dilation_h = s.dilation_w = dil;
  s.groups = groups;
  return s;
}

TEST_P(Int8Path, ConvShapeBattery) {
  std::mt19937_64 rng(test_seed() + 4);
  std::vector<q::conv_shape> shapes = {
      shape(1, 3, 9, 11, 5, 3, 3, 1, 1, 1, 1),    // small, odd everything
      shape(2, 8, 7, 7, 16, 1, 1, 1, 0, 1, 1),    // 1x1: the direct (no im2col) path
      shape(1, 16, 12, 10, 33, 3, 3, 2, 1, 1, 1), // stride 2, N above two panels
      shape(1, 4, 13, 13, 8, 5, 3, 1, 2, 1, 1),   // non-square kernel
      shape(1, 6, 15, 14, 12, 3, 3, 1, 2, 2, 1),  // dilation 2
      shape(1, 8, 9, 9, 8, 3, 3, 1, 1, 1, 2),     // 2 groups
      shape(1, 12, 8, 8, 24, 3, 3, 2, 1, 1, 4),   // 4 groups, stride 2
      shape(1, 17, 10, 9, 17, 3, 3, 1, 1, 1, 17), // depthwise, prime channel count
      shape(2, 32, 7, 6, 32, 3, 3, 2, 1, 1, 32),  // depthwise, stride 2
      shape(1, 8, 9, 9, 16, 3, 3, 1, 1, 1, 8),    // depthwise with multiplier 2
      shape(1, 5, 3, 3, 7, 5, 5, 1, 2, 1, 1),     // kernel larger than the input (all padding)
      shape(1, 3, 20, 20, 9, 7, 7, 2, 3, 1, 1),   // the 7x7 stride-2 stem, small
      shape(3, 1, 28, 28, 8, 3, 3, 1, 1, 1, 1),   // one input channel: column-wise im2col, rows across output rows
      shape(2, 2, 11, 13, 6, 3, 3, 2, 2, 2, 1),   // 2 channels, stride 2, dilation 2, pads: taps in the padding
      shape(1, 4, 9, 10, 6, 3, 2, 3, 1, 1, 2),    // 2 groups of 2 channels, stride 3
      shape(300, 20, 1, 1, 10, 1, 1, 1, 0, 1, 1), // a dense layer as 1x1 conv: GEMM blocks span images
      shape(2, 32, 24, 24, 32, 3, 3, 1, 1, 1, 1), // above the threading threshold (10.6M MACs)
      // The implicit-GEMM convolution (one group, dilation_w 1, weights without zero points):
      shape(1, 4, 9, 9, 8, 3, 3, 1, 0, 1, 1),     // kernel rows of whole k groups, no pads: input read in place
      shape(2, 8, 9, 30, 20, 1, 1, 2, 0, 1, 1),   // 1x1 stride 2 (not the direct path), in place
      shape(1, 5, 11, 13, 7, 2, 3, 1, 0, 1, 1),   // rows of 15 bytes (16-byte segments), 13 = 7 + 6 pixel tiles
      shape(1, 2, 12, 40, 16, 5, 1, 1, 3, 1, 1),  // 5x1, pads beyond the kernel, 40 = 4 x 10 pixel tiles
  };
  shapes[3].pad_bottom = 0;  // asymmetric pads
  shapes[3].pad_right = 1;
  shapes[18].stride_h = 3;   // unequal strides and dilations (dilation_w 1: still implicit)
  shapes[18].dilation_h = 2;
  shapes[20].pad_top = 0;
  shapes[20].pad_left = 2;
  int v = 0;
  for (const auto& s : shapes)
    for (int layouts = 0; layouts < 4; ++layouts) {
      const q::layout in = (layouts & 1) ? q::layout::nhwc : q::layout::nchw;
      const q::layout out = (layouts & 2) ? q::layout::nhwc : q::layout::nchw;
      ++v;
      conv_case c{s, in, out, (v & 1) ? q::dtype::s8 : q::dtype::u8, (v & 2) ? q::dtype::u8 : q::dtype::s8, v % 4};
      check_conv(c, rng, 1 + (v % 3 == 0));
      c.weight_zp_random = false;  // weights without zero points: no row sums
      check_conv(c, rng, 1 + (v % 3 == 1));
    }
}

// Depthwise convolution (one input channel per group), whose vector kernels block channels by
// 32 or 64 (the chunk), output pixels by column tiles sized to the cache, and specialise 3x3
// kernels, weight zero points of 0 and float multipliers below 1: channel counts around the
// chunks, widths below a tile and across several, pads beyond the kernel, strides, dilations,
// kernel widths past 4 taps, channel multipliers, both input and weight types, every output
// stage with and without a fused ReLU, multipliers below and above 1, extreme zero points.
TEST_P(Int8Path, DepthwiseBattery) {
  std::mt19937_64 rng(test_seed() + 7);
  std::vector<q::conv_shape> shapes;
  for (int c : {1, 15, 16, 17, 63, 64, 65, 128, 130}) shapes.push_back(shape(1, c, 5, 13, c, 3, 3, 1, 1, 1, c));
  shapes.push_back(shape(1, 16, 3, 150, 16, 3, 3, 1, 1, 1, 16));   // several column tiles, few channels
  shapes.push_back(shape(1, 200, 4, 30, 200, 3, 3, 1, 1, 1, 200)); // several tiles, partial chunk
  shapes.push_back(shape(1, 40, 4, 40, 40, 3, 3, 1, 1, 1, 40));    // NCHW transposes: whole and partial 16 x 16 blocks
  shapes.push_back(shape(2, 64, 3, 1, 64, 3, 3, 1, 1, 1, 64));     // one pixel wide, batch 2
  shapes.push_back(shape(1, 65, 2, 2, 65, 3, 3, 1, 1, 1, 65));     // 2x2 input, all taps near padding
  shapes.push_back(shape(1, 8, 4, 4, 8, 3, 3, 1, 4, 1, 8));        // pads (4) beyond the kernel (3)
  shapes.push_back(shape(1, 17, 5, 9, 34, 3, 3, 1, 1, 1, 17));     // channel multiplier 2
  shapes.push_back(shape(1, 6, 6, 7, 18, 3, 3, 2, 1, 1, 6));       // multiplier 3, stride 2
  shapes.push_back(shape(1, 64, 9, 12, 64, 3, 3, 2, 1, 1, 64));    // stride 2, whole chunks
  shapes.push_back(shape(1, 24, 9, 11, 24, 5, 5, 1, 2, 2, 24));    // 5 taps wide (two tap groups), dilation 2
  shapes.push_back(shape(2, 20, 12, 13, 20, 7, 7, 2, 3, 1, 20));   // 7x7 stride 2
  shapes.push_back(shape(1, 32, 4, 5, 32, 1, 1, 1, 0, 1, 32));     // 1x1
  shapes.push_back(shape(1, 40, 7, 8, 40, 3, 5, 1, 0, 3, 40));     // 3x5, dilation 3
  shapes.back().pad_top = 2;                                       // asymmetric pads
  shapes.back().pad_right = 1;
  shapes.back().stride_w = 3;
  int v = 0;
  for (const auto& s : shapes)
    for (int variant = 0; variant < 6; ++variant) {
      ++v;
      conv_case c{s, q::layout::nhwc, q::layout::nhwc, (v & 1) ? q::dtype::s8 : q::dtype::u8,
                  (v & 2) ? q::dtype::u8 : q::dtype::s8, 1};
      switch (variant) {
        case 0: c.weight_zp_random = false; break;                        // the fast float path
        case 1: c.weight_zp_random = false; c.relu = true; c.in = q::layout::nchw; break;
        case 2: c.weight_zp_random = false; c.multiplier_exp = 3; break;  // multipliers above 1
        case 3: c.stage_mode = static_cast<int>(rng() % 4); c.out = q::layout::nchw; break;
        case 4: c.weight_zp_random = false; c.stage_mode = 0; break;
        default:
          c.weight_zp_random = false;
          c.stage_mode = 2 + static_cast<int>(rng() % 2);
          c.zx = (v & 1) ? ((v & 4) ? -128 : 127) : ((v & 4) ? 0 : 255);  // the extreme codes
      }
      check_conv(c, rng, 1 + (v % 5 == 0));
    }
}

// Above the work threshold for threads (kMacsPerThread): GEMM convolution blocks and depthwise
// rows are split between 2 threads, in both layouts.
TEST_P(Int8Path, ConvThreadsGiveTheSameBits) {
  std::mt19937_64 rng(test_seed() + 12);
  check_conv({shape(2, 32, 20, 20, 40, 3, 3, 1, 1, 1, 1), q::layout::nchw, q::layout::nchw, q::dtype::u8, q::dtype::s8, 1},
             rng, 2);
  check_conv({shape(2, 32, 20, 20, 40, 3, 3, 1, 1, 1, 1), q::layout::nhwc, q::layout::nhwc, q::dtype::s8, q::dtype::s8, 3},
             rng, 2);
  check_conv({shape(1, 64, 122, 122, 64, 3, 3, 1, 1, 1, 64), q::layout::nhwc, q::layout::nhwc, q::dtype::u8,
              q::dtype::s8, 0},
             rng, 2);
  conv_case implicit{shape(2, 32, 20, 20, 40, 3, 3, 1, 1, 1, 1), q::layout::nhwc, q::layout::nchw, q::dtype::u8,
                     q::dtype::s8, 1};
  implicit.weight_zp_random = false;  // the implicit-GEMM convolution: output rows split between threads
  check_conv(implicit, rng, 2);
  implicit.s = shape(3, 3, 40, 40, 24, 7, 7, 2, 3, 1, 1);  // a stem: padded copy, 24-byte segments
  implicit.in = q::layout::nchw;
  check_conv(implicit, rng, 2);
}

TEST_P(Int8Path, DotProducts) {
  std::mt19937_64 rng(test_seed() + 5);
  for (std::ptrdiff_t n : {0, 1, 3, 4, 15, 16, 17, 31, 63, 64, 65, 127, 1000, 70001, 140000}) {
    for (fill f : {fill::random, fill::extremes, fill::runs}) {
      const auto a = make_data(static_cast<std::size_t>(n), q::dtype::s8, f, rng);
      const auto au = make_data(static_cast<std::size_t>(n), q::dtype::u8, f, rng);
      const auto b = make_data(static_cast<std::size_t>(n), q::dtype::s8, f, rng);
      std::uint32_t s8 = 0, u8 = 0;
      for (std::ptrdiff_t i = 0; i < n; ++i) {
        s8 += static_cast<std::uint32_t>(std::int32_t{static_cast<std::int8_t>(a[i])} * static_cast<std::int8_t>(b[i]));
        u8 += static_cast<std::uint32_t>(std::int32_t{au[i]} * static_cast<std::int8_t>(b[i]));
      }
      EXPECT_EQ(q::dot_s8s8(reinterpret_cast<const std::int8_t*>(a.data()), reinterpret_cast<const std::int8_t*>(b.data()), n),
                q::ref::wrap32(s8))
          << "n=" << n;
      EXPECT_EQ(q::dot_u8s8(au.data(), reinterpret_cast<const std::int8_t*>(b.data()), n), q::ref::wrap32(u8)) << "n=" << n;
    }
  }
}

TEST_P(Int8Path, QuantizeDequantizeAdd) {
  std::mt19937_64 rng(test_seed() + 6);
  std::uniform_real_distribution<float> dist(-300.0f, 300.0f);
  for (std::ptrdiff_t n : {1, 7, 16, 33, 1001}) {
    std::vector<float> x(static_cast<std::size_t>(n));
    for (auto& v : x) v = dist(rng);
    x[0] = 2.5f;  // ties to even at scale 1
    if (n > 1) x[1] = -3.5f;
    for (q::dtype t : {q::dtype::u8, q::dtype::s8}) {
      const float scales[3] = {1.0f, 0.37f, 2.0f};
      const std::int32_t zps[3] = {t == q::dtype::u8 ? 128 : 0, t == q::dtype::u8 ? 3 : -7, t == q::dtype::u8 ? 250 : 100};
      for (std::ptrdiff_t channels : {1, 3}) {
        std::vector<std::uint8_t> y(static_cast<std::size_t>(n));
        const std::ptrdiff_t inner = 2;
        q::quantize_linear(x.data(), n, scales, zps, channels, inner, y.data(), t);
        std::vector<float> back(static_cast<std::size_t>(n));
        q::dequantize_linear(y.data(), t, n, scales, zps, channels, inner, back.data());
        for (std::ptrdiff_t i = 0; i < n; ++i) {
          const std::ptrdiff_t ch = channels > 1 ? (i / inner) % channels : 0;
          const float r = std::nearbyint(x[i] / scales[ch]) + static_cast<float>(zps[ch]);
          const std::int32_t want = std::max(q::ref::qmin_of(t), std::min(q::ref::qmax_of(t), static_cast<std::int32_t>(r)));
          ASSERT_EQ(q::ref::load(y.data(), t, i), want) << "x=" << x[i] << " i=" << i;
          ASSERT_EQ(back[i], static_cast<float>(want - zps[ch]) * scales[ch]);
        }
      }
      // Requantized add against its definition.
      const auto a = make_data(static_cast<std::size_t>(n), t, fill::random, rng);
      const auto b = make_data(static_cast<std::size_t>(n), t, fill::random, rng);
      std::vector<std::uint8_t> y(static_cast<std::size_t>(n));
      const std::int32_t za = zps[1], zb = zps[2], zy = zps[0];
      const std::int32_t lo = q::ref::qmin_of(t), hi = q::ref::qmax_of(t);
      q::add_requantized(a.data(), za, 0.75f, b.data(), zb, 0.3f, t, n, zy, lo, hi, y.data());
      for (std::ptrdiff_t i = 0; i < n; ++i) {
        const float v = static_cast<float>(q::ref::load(a.data(), t, i) - za) * 0.75f +
                        static_cast<float>(q::ref::load(b.data(), t, i) - zb) * 0.3f;
        const float c = std::min(std::max(v, static_cast<float>(lo - zy)), static_cast<float>(hi - zy));
        ASSERT_EQ(q::ref::load(y.data(), t, i), static_cast<std::int32_t>(std::nearbyint(c)) + zy) << "i=" << i;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Registry, Int8Path, ::testing::ValuesIn(all_paths()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

// --- requantization rules (path independent) -------------------------------------------------

TEST(Int8Requantize, QuantizeMultiplierMatchesTFLiteWorkedValues) {
  std::int32_t m = 0, s = 0;
  ASSERT_TRUE(q::quantize_multiplier(0.5, m, s));
  EXPECT_EQ(m, 1 << 30);
  EXPECT_EQ(s, 0);
  ASSERT_TRUE(q::quantize_multiplier(0.75, m, s));
  EXPECT_EQ(m, 1610612736);
  EXPECT_EQ(s, 0);
  ASSERT_TRUE(q::quantize_multiplier(1.0, m, s));
  EXPECT_EQ(m, 1 << 30);
  EXPECT_EQ(s, 1);
  EXPECT_FALSE(q::quantize_multiplier(-1.0, m, s));
  EXPECT_FALSE(q::quantize_multiplier(std::nan(""), m, s));
}

TEST(Int8Requantize, GemmlowpRoundingRules) {
  // SRDHM ties toward +inf; RDBPOT ties away from zero (NOTES A.3 worked values).
  EXPECT_EQ(q::ref::srdhm(1, 1 << 30), 1);   // 0.5 -> 1
  EXPECT_EQ(q::ref::srdhm(-1, 1 << 30), 0);  // -0.5 -> 0
  EXPECT_EQ(q::ref::srdhm(-3, 1 << 30), -1); // -1.5 -> -1
  EXPECT_EQ(q::ref::srdhm(INT32_MIN, INT32_MIN), INT32_MAX);
  EXPECT_EQ(q::ref::rdbpot(5, 1), 3);
  EXPECT_EQ(q::ref::rdbpot(-5, 1), -3);
  EXPECT_EQ(q::ref::rdbpot(3, 1), 2);
  EXPECT_EQ(q::ref::rdbpot(-3, 1), -2);
  // -10 * 0.25 = -2.5 exactly: double rounding (SRDHM exact, then RDBPOT away from zero) gives
  // -3, single rounding -2 (ties to +inf).
  EXPECT_EQ(q::ref::multiply_fixed_double(-10, 1 << 30, -1), -3);
  EXPECT_EQ(q::ref::multiply_fixed_single(-10, 1 << 30, -1), -2);
  // Against the integer definitions on random values.
  std::mt19937_64 rng(test_seed() + 7);
  for (int i = 0; i < 200000; ++i) {
    const std::int32_t x = static_cast<std::int32_t>(rng());
    const std::int32_t m = static_cast<std::int32_t>(rng() >> 33);  // [0, 2^31)
    const std::int64_t ab = std::int64_t{x} * m;
    const std::int64_t nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
    const std::int32_t srdhm = static_cast<std::int32_t>((ab + nudge) / (std::int64_t{1} << 31));
    ASSERT_EQ(q::ref::srdhm(x, m), srdhm) << x << " " << m;
    const int e = static_cast<int>(rng() % 32);
    const std::int32_t mask = static_cast<std::int32_t>((std::int64_t{1} << e) - 1);
    const std::int32_t rem = x & mask, threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    ASSERT_EQ(q::ref::rdbpot(x, e), (x >> e) + (rem > threshold ? 1 : 0)) << x << " " << e;
    const int shift = -static_cast<int>(rng() % 31);
    const int total = 31 - shift;
    ASSERT_EQ(q::ref::multiply_fixed_single(x, m, shift),
              static_cast<std::int32_t>((ab + (std::int64_t{1} << (total - 1))) >> total));
  }
}

TEST(Int8Pooling, MaxAndAverageAgainstDefinition) {
  q::conv_shape s = shape(1, 2, 5, 4, 2, 3, 2, 2, 1, 1, 1);
  std::vector<std::uint8_t> x(40);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<std::uint8_t>(i * 37 % 256);
  const int oh = s.out_h(), ow = s.out_w();
  std::vector<std::uint8_t> ymax(static_cast<std::size_t>(2 * oh * ow)), yavg(ymax.size());
  q::max_pool(s, x.data(), q::dtype::u8, q::layout::nchw, ymax.data());
  q::avg_pool(s, x.data(), q::dtype::u8, q::layout::nchw, false, yavg.data());
  for (int c = 0; c < 2; ++c)
    for (int i = 0; i < oh; ++i)
      for (int j = 0; j < ow; ++j) {
        int best = -1, sum = 0, cnt = 0;
        for (int kh = 0; kh < 3; ++kh)
          for (int kw = 0; kw < 2; ++kw) {
            const int ih = i * 2 - 1 + kh, iw = j * 2 - 1 + kw;
            if (ih < 0 || ih >= 5 || iw < 0 || iw >= 4) continue;
            const int v = x[static_cast<std::size_t>((c * 5 + ih) * 4 + iw)];
            best = std::max(best, v);
            sum += v;
            ++cnt;
          }
        const std::size_t o = static_cast<std::size_t>((c * oh + i) * ow + j);
        EXPECT_EQ(ymax[o], best);
        const double avg = static_cast<double>(sum) / cnt;
        EXPECT_EQ(yavg[o], static_cast<int>(std::nearbyint(avg))) << sum << "/" << cnt;
      }
}

}  // namespace
