// fixedq int8 microbenchmarks: every registered path (registry.inc) that runs on this CPU, on
// the shapes used across fixedq's benchmarks (bench/README.md):
//   GEMM M x N x K: 256^3, 1024^3, 64 x 4096 x 1024 (u8 x s8 -> s32, and -> u8 requantized)
//   conv (N, C, H, W, K, kernel, stride, pad): (1,64,56,56,64,3,1,1), (1,3,224,224,64,7,2,3),
//     (1,256,14,14,256,3,1,1), (8,32,32,32,64,3,1,1), depthwise (1,128,56,56, groups=128, 3,1,1)
// Names spell the contract: BM_<op>/<path>/<shape>. Each reports ops_per_second as the GOPS
// counter "ops" (one multiply-add = 2 ops) and the path in the label. Weights are packed once
// outside the timed loop (the prepacked use), inputs are warm in cache after the first
// iteration, threads = 1 unless FIXEDQ_BENCH_THREADS says otherwise.
//
// BM_peak_vpdpbusd_zmm is the roofline of the avx512_vnni path: one core issuing nothing but
// independent 512-bit VPDPBUSDs (24 accumulators, as the micro-kernel), counted the same way
// (64 multiply-adds = 128 ops each). GEMM GOPS divided by it is the fraction of peak.
#include <benchmark/benchmark.h>

#include <fixedq/kernels/int8/int8.hpp>

#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

namespace {

namespace q = fixedq::kernels::int8;

std::vector<std::uint8_t> random_bytes(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::uint8_t> v(n);
  for (auto& x : v) x = static_cast<std::uint8_t>(rng());
  return v;
}

int bench_threads() {
  const char* env = std::getenv("FIXEDQ_BENCH_THREADS");
  return env ? std::atoi(env) : 1;
}

void gemm_bench(benchmark::State& state, std::string path, int m, int n, int k, bool requantize) {
  if (!q::set_isa(path)) {
    state.SkipWithError(("path " + path + " does not run on this CPU").c_str());
    return;
  }
  q::set_num_threads(bench_threads());
  const auto a = random_bytes(static_cast<std::size_t>(m) * static_cast<std::size_t>(k), 1);
  const auto b = random_bytes(static_cast<std::size_t>(k) * static_cast<std::size_t>(n), 2);
  const std::int32_t zb = 0, za = 128;
  const q::packed_b pb = q::pack_b(b.data(), q::dtype::s8, k, n, n, &zb, false);
  std::vector<std::int32_t> c32(static_cast<std::size_t>(m) * static_cast<std::size_t>(n));
  std::vector<std::uint8_t> c8(c32.size());
  const float mult = 1.0f / 4096.0f;
  q::gemm_args g;
  g.m = m;
  g.a = a.data();
  g.lda = k;
  g.a_type = q::dtype::u8;
  g.za = &za;
  g.b = &pb;
  g.ldc = n;
  if (requantize) {
    g.c = c8.data();
    g.stage.kind = q::requant_kind::float_half_even;
    g.stage.multiplier = &mult;
    g.stage.zero_point = 128;
  } else {
    g.c = c32.data();
  }
  for (auto _ : state) {
    q::gemm(g);
    benchmark::ClobberMemory();
  }
  const double ops = 2.0 * m * n * static_cast<double>(k);
  state.counters["ops"] = benchmark::Counter(ops * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.SetLabel(q::isa() + ", " + std::to_string(q::num_threads()) + " thread(s)");
  q::set_num_threads(0);
}

void conv_bench(benchmark::State& state, std::string path, q::conv_shape s, q::layout l) {
  if (!q::set_isa(path)) {
    state.SkipWithError(("path " + path + " does not run on this CPU").c_str());
    return;
  }
  q::set_num_threads(bench_threads());
  const std::size_t xn = static_cast<std::size_t>(s.batch) * s.in_channels * s.in_h * s.in_w;
  const std::size_t wn = static_cast<std::size_t>(s.out_channels) * (s.in_channels / s.groups) * s.kernel_h * s.kernel_w;
  const auto x = random_bytes(xn, 3);
  const auto w = random_bytes(wn, 4);
  const std::int32_t zw = 0;
  const q::packed_conv pc = q::pack_conv(s, w.data(), q::dtype::s8, &zw, false);
  std::vector<std::uint8_t> y(static_cast<std::size_t>(s.batch) * s.out_channels * s.out_h() * s.out_w());
  const float mult = 1.0f / 4096.0f;
  q::output_stage st;
  st.kind = q::requant_kind::float_half_even;
  st.multiplier = &mult;
  st.zero_point = 128;
  for (auto _ : state) {
    q::conv(pc, x.data(), q::dtype::u8, 128, l, y.data(), l, st);
    benchmark::ClobberMemory();
  }
  const double ops = 2.0 * s.batch * s.out_channels * s.out_h() * s.out_w() * (s.in_channels / s.groups) *
                     s.kernel_h * s.kernel_w;
  state.counters["ops"] = benchmark::Counter(ops * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.SetLabel(q::isa() + ", " + std::to_string(q::num_threads()) + " thread(s)");
  q::set_num_threads(0);
}

q::conv_shape conv_shape(int n, int c, int h, int w, int k, int kernel, int stride, int pad, int groups) {
  q::conv_shape s;
  s.batch = n;
  s.in_channels = c;
  s.in_h = h;
  s.in_w = w;
  s.out_channels = k;
  s.kernel_h = s.kernel_w = kernel;
  s.stride_h = s.stride_w = stride;
  s.pad_top = s.pad_left = s.pad_bottom = s.pad_right = pad;
  s.groups = groups;
  return s;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define FIXEDQ_BENCH_VNNI_PEAK 1
// 24 VPDPBUSD zmm on 24 independent accumulators per iteration (the operands never change:
// throughput only, no memory). Returns nothing; the assembly is volatile.
__attribute__((target("avx512f,avx512vnni"))) void vpdpbusd_zmm_loop(std::int64_t iters) {
  __asm__ volatile(
      "vpxord %%xmm0, %%xmm0, %%xmm0\n\t"
      "vpternlogd $0xff, %%zmm30, %%zmm30, %%zmm30\n\t"
      "vpternlogd $0xff, %%zmm31, %%zmm31, %%zmm31\n\t"
      "1:\n\t"
      ".irp r, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm\\r\n\t"
      ".endr\n\t"
      "dec %[n]\n\t"
      "jnz 1b\n\t"
      : [n] "+r"(iters)
      :
      : "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
        "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23",
        "xmm30", "xmm31");
}

void peak_bench(benchmark::State& state) {
  constexpr std::int64_t iters = 100000;
  for (auto _ : state) vpdpbusd_zmm_loop(iters);
  const double ops = 24.0 * 64 * 2 * iters;
  state.counters["ops"] = benchmark::Counter(ops * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.SetLabel("VPDPBUSD zmm, 1 thread");
}
#endif

const int registered = [] {
#if defined(FIXEDQ_BENCH_VNNI_PEAK)
  if (q::isa_available("avx512_vnni")) benchmark::RegisterBenchmark("BM_peak_vpdpbusd_zmm", peak_bench);  // CPU time: 1 thread
#endif

  struct gemm_shape {
    int m, n, k;
  };
  const gemm_shape gemms[] = {{256, 256, 256}, {1024, 1024, 1024}, {64, 4096, 1024}};
  struct conv_entry {
    const char* name;
    q::conv_shape s;
  };
  const conv_entry convs[] = {
      {"1x64x56x56_k64_3x3", conv_shape(1, 64, 56, 56, 64, 3, 1, 1, 1)},
      {"1x3x224x224_k64_7x7s2", conv_shape(1, 3, 224, 224, 64, 7, 2, 3, 1)},
      {"1x256x14x14_k256_3x3", conv_shape(1, 256, 14, 14, 256, 3, 1, 1, 1)},
      {"8x32x32x32_k64_3x3", conv_shape(8, 32, 32, 32, 64, 3, 1, 1, 1)},
      {"1x128x56x56_depthwise_3x3", conv_shape(1, 128, 56, 56, 128, 3, 1, 1, 128)},
  };
  for (const std::string& path : q::isa_names()) {
    if (!q::isa_available(path)) continue;  // only what runs here (the registry lists all)
    for (const auto& g : gemms) {
      const std::string shape = std::to_string(g.m) + "x" + std::to_string(g.n) + "x" + std::to_string(g.k);
      benchmark::RegisterBenchmark(("BM_gemm_u8s8_s32/" + path + "/" + shape).c_str(), gemm_bench, path, g.m, g.n,
                                   g.k, false)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
      benchmark::RegisterBenchmark(("BM_gemm_u8s8_u8_fp32requant/" + path + "/" + shape).c_str(), gemm_bench, path,
                                   g.m, g.n, g.k, true)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
    }
    for (const auto& c : convs)
      for (q::layout l : {q::layout::nhwc, q::layout::nchw}) {
        benchmark::RegisterBenchmark(
            ("BM_conv_u8s8_u8/" + path + "/" + c.name + (l == q::layout::nhwc ? "_NHWC" : "_NCHW")).c_str(),
            conv_bench, path, c.s, l)
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
      }
  }
  return 0;
}();

}  // namespace

BENCHMARK_MAIN();
