// fixedq microbenchmarks: is fixed point faster than float on this CPU?
//
// Every operation is written once, as a small struct in "The operations" below, and is
// instantiated for every number type in the one list kNumbers ("The registry"): fixedq's
// named formats next to float, double and the native integers of the same widths, in the
// same run, on the same kind of data. Adding a type or an operation is one line in a list.
//
// Two shapes of measurement:
//   BM_<op><T>       throughput: out[i] = op(a[i], b[i]) over kN elements held in L1
//                    (hot cache). The compiler may vectorise the loop where it can; that is
//                    part of the answer for array code.
//   BM_mul_chain<T>  latency: x = x * a[i] + b[i], every step depending on the previous
//                    one, so neither vectorisation nor overlapping hides the cost of one
//                    multiply-add.
// Each reports items_per_second (operations per second) and two custom counters: op_time,
// the time of one operation (seconds, printed with SI prefixes: 1.2n = 1.2 ns), and cycles,
// op_time times the core clock measured at start-up (context line measured_clock).
//
// Inputs come from a fixed seed (kSeed, also in the context lines) and are loaded through
// pointers hidden from the optimiser (hide() below, the job of benchmark::DoNotOptimize), so
// the compiler cannot fold or hoist them; outputs go to memory made observable with
// benchmark::ClobberMemory.
//
// The same source built with -DFIXEDQ_FORCE_EMULATED_WIDE is fixedq_bench_emulated: the
// 64-bit formats then use the portable two-word 128-bit emulation instead of __int128. It is
// a separate executable, never a second TU of this one: fixedq's templates compiled with and
// without that macro would be two different definitions of one entity (an ODR violation).
#include <benchmark/benchmark.h>

#include <fixedq/fixedq.hpp>

#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <limits>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace {

// ------------------------------------------------------------------------------------------
// The registry: every number type benchmarked, in report order, with its printed name.
// ------------------------------------------------------------------------------------------
template <class T>
struct Number {
  using type = T;
  const char* name;
};

#if FIXEDQ_HAS_INT128
// Peers first (float, double, then the native integers of 16, 32 and 64 bits), then fixedq
// formats from narrow to wide; Q15 and Fixed8_8 pair with int16, Fixed16_16 and Fixed24_8
// with int32 and float, Fixed32_32 with int64 and double.
const auto kNumbers = std::make_tuple(
    Number<float>{"float"}, Number<double>{"double"}, Number<std::int16_t>{"int16"},
    Number<std::int32_t>{"int32"}, Number<std::int64_t>{"int64"},
    Number<fixedq::Q15>{"Q15"}, Number<fixedq::Fixed8_8>{"Fixed8_8"},
    Number<fixedq::Fixed16_16>{"Fixed16_16"}, Number<fixedq::Fixed24_8>{"Fixed24_8"},
    Number<fixedq::Fixed32_32>{"Fixed32_32"});
#else
// The emulated 128-bit path only changes formats whose exact intermediates need more than 64
// bits: Fixed32_32 (multiply, divide, sqrt). Its peers stay beside it.
const auto kNumbers = std::make_tuple(Number<float>{"float"}, Number<double>{"double"},
                                      Number<std::int64_t>{"int64"},
                                      Number<fixedq::Fixed32_32>{"Fixed32_32"});
#endif

/// Elements per array: 1024 x (2 inputs + 1 output) x 8 bytes = 24 KiB at most, in L1d.
constexpr std::size_t kN = 1024;
/// The seed of every input array (each benchmark restarts the generator from it).
constexpr std::uint64_t kSeed = 0x5EED'F1C5'0000'0001u;

// ------------------------------------------------------------------------------------------
// Inputs
// ------------------------------------------------------------------------------------------

/// splitmix64: tiny, and gives the same numbers with every standard library.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : s_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (s_ += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
  }
  /// Uniform in [lo, hi).
  double uniform(double lo, double hi) {
    return lo + (hi - lo) * (static_cast<double>(next() >> 11) * 0x1p-53);
  }
  /// Uniform magnitude in [lo, hi) with a random sign.
  double signed_magnitude(double lo, double hi) {
    const double m = uniform(lo, hi);
    return (next() & 1u) != 0 ? -m : m;
  }

 private:
  std::uint64_t s_;
};

template <class T>
inline constexpr bool is_float_v = std::is_floating_point_v<T>;
template <class T>
inline constexpr bool is_int_v = std::is_integral_v<T>;
template <class T>
inline constexpr bool is_fixed_v = fixedq::is_fixed_v<T>;

/// The magnitude the inputs of T are scaled to: its largest value. float and double use
/// Fixed16_16's range, so that Fixed16_16, float and double see the same numbers.
template <class T>
double range_of() {
  if constexpr (is_float_v<T>) {
    return static_cast<double>(std::numeric_limits<fixedq::Fixed16_16>::max());
  } else {
    return static_cast<double>(std::numeric_limits<T>::max());
  }
}

/// v as a T: rounded to nearest for integers, T's own rounding for fixedq.
template <class T>
T make(double v) {
  if constexpr (is_int_v<T>) {
    return static_cast<T>(std::llround(v));
  } else {
    return static_cast<T>(v);
  }
}

template <class A, class B = A>
struct Inputs {
  std::vector<A> a;
  std::vector<B> b;
};

/// kN pairs (a[i], b[i]) with a[i] = make<T>(fa(rng)), b[i] = make<T>(fb(rng)).
template <class T, class FA, class FB>
Inputs<T> generate(FA fa, FB fb) {
  Rng rng(kSeed);
  Inputs<T> in;
  in.a.reserve(kN);
  in.b.reserve(kN);
  for (std::size_t i = 0; i < kN; ++i) {
    in.a.push_back(make<T>(fa(rng)));
    in.b.push_back(make<T>(fb(rng)));
  }
  return in;
}

// ------------------------------------------------------------------------------------------
// The operations: a name, the loop shape that times it, the types it applies to, its inputs
// (results stay in range, so saturation is not what is measured; divisors stay away from
// zero) and the operation itself.
// ------------------------------------------------------------------------------------------

/// binary: out[i] = apply(a[i], b[i]); unary: out[i] = apply<T>(a[i]); chain: x = step(x, ...).
enum class Shape { binary, unary, chain };

struct Add {
  static constexpr const char* name = "add";
  static constexpr Shape shape = Shape::binary;
  template <class T>
  static constexpr bool applies = true;
  template <class T>
  static Inputs<T> inputs() {
    const double r = range_of<T>() / 4;  // |a + b| <= range / 2
    return generate<T>([r](Rng& g) { return g.uniform(-r, r); },
                       [r](Rng& g) { return g.uniform(-r, r); });
  }
  template <class T>
  static T apply(T a, T b) {
    return static_cast<T>(a + b);
  }
};

struct Mul {
  static constexpr const char* name = "mul";
  static constexpr Shape shape = Shape::binary;
  template <class T>
  static constexpr bool applies = true;
  template <class T>
  static Inputs<T> inputs() {
    const double r = std::sqrt(range_of<T>()) / 2;  // |a * b| <= range / 4
    return generate<T>([r](Rng& g) { return g.uniform(-r, r); },
                       [r](Rng& g) { return g.uniform(-r, r); });
  }
  template <class T>
  static T apply(T a, T b) {
    return static_cast<T>(a * b);
  }
};

struct Div {
  static constexpr const char* name = "div";
  static constexpr Shape shape = Shape::binary;
  template <class T>
  static constexpr bool applies = true;
  template <class T>
  static Inputs<T> inputs() {
    // |a| <= range / 4 and sqrt(range) / 2 <= |b|: |a / b| <= sqrt(range) / 2 (Q15: 0.5).
    const double r = range_of<T>();
    const double s = std::sqrt(r);
    return generate<T>([r](Rng& g) { return g.uniform(-r / 4, r / 4); },
                       [s](Rng& g) { return g.signed_magnitude(s / 2, s); });
  }
  template <class T>
  static T apply(T a, T b) {
    return static_cast<T>(a / b);
  }
};

struct Sqrt {
  static constexpr const char* name = "sqrt";
  static constexpr Shape shape = Shape::unary;
  template <class T>
  static constexpr bool applies = !is_int_v<T>;
  template <class T>
  static Inputs<T> inputs() {
    const double r = range_of<T>();
    return generate<T>([r](Rng& g) { return g.uniform(0, r); }, [](Rng&) { return 0.0; });
  }
  template <class T>
  static T apply(T a) {
    if constexpr (is_fixed_v<T>) {
      return fixedq::sqrt(a);
    } else {
      return std::sqrt(a);  // without -ffast-math: sqrtss/sqrtsd plus an errno check
    }
  }
};

/// double -> T: the conversion a fixed-point pipeline pays at its input.
struct FromDouble {
  static constexpr const char* name = "from_double";
  static constexpr Shape shape = Shape::unary;
  template <class T>
  static constexpr bool applies = is_fixed_v<T> || std::is_same_v<T, float>;
  template <class T>
  static Inputs<double> inputs() {
    // Doubles that are not representable in T, so rounding is exercised.
    const double r = range_of<T>() / 2;
    return generate<double>([r](Rng& g) { return g.uniform(-r, r); }, [](Rng&) { return 0.0; });
  }
  template <class T>
  static T apply(double a) {
    return static_cast<T>(a);
  }
};

/// T -> double: the conversion a fixed-point pipeline pays at its output.
struct ToDouble {
  static constexpr const char* name = "to_double";
  static constexpr Shape shape = Shape::unary;
  template <class T>
  static constexpr bool applies = is_fixed_v<T> || std::is_same_v<T, float>;
  template <class T>
  static Inputs<T> inputs() {
    const double r = range_of<T>() / 2;
    return generate<T>([r](Rng& g) { return g.uniform(-r, r); }, [](Rng&) { return 0.0; });
  }
  template <class T>
  static double apply(T a) {
    return static_cast<double>(a);
  }
};

/// x = x * a[i] + b[i]: one dependent multiply-add per element.
struct MulChain {
  static constexpr const char* name = "mul_chain";
  static constexpr Shape shape = Shape::chain;
  template <class T>
  static constexpr bool applies = true;
  template <class T>
  static Inputs<T> inputs() {
    if constexpr (is_int_v<T>) {
      // Integers wrap (see step): any values give the same instruction latency.
      return generate<T>([](Rng& g) { return g.uniform(-8, 8); },
                         [](Rng& g) { return g.uniform(-100, 100); });
    } else {
      // |a| <= 1/2, |b| <= 0.4 keep |x| <= 0.8: in range for every format, Q15 included.
      return generate<T>([](Rng& g) { return g.uniform(-0.5, 0.5); },
                         [](Rng& g) { return g.uniform(-0.4, 0.4); });
    }
  }
  template <class T>
  static T step(T x, T a, T b) {
    if constexpr (is_int_v<T>) {
      // Modular, as the hardware does it: signed overflow would be undefined behaviour.
      return static_cast<T>(static_cast<std::uint64_t>(x) * static_cast<std::uint64_t>(a) +
                            static_cast<std::uint64_t>(b));
    } else {
      return static_cast<T>(x * a + b);
    }
  }
};

// ------------------------------------------------------------------------------------------
// The kernels: one loop shape per kind of operation.
// ------------------------------------------------------------------------------------------

// Why not benchmark::DoNotOptimize(p) here: google-benchmark 1.7.1 (Debian 12) implements it
// for GCC as asm("" : "+m,r"(p)). With GCC 12.2 -O2 that produced, in BM_div<Fixed32_32>, a
// loop reading the pointer from a stack slot that was never written (SIGSEGV); "+m" alone or
// "+r" alone gave correct code, and ASan/UBSan found nothing. One alternative, "+r" for a
// pointer, is what we mean anyway.

/// Makes the optimiser forget what p points to (and that memory may have changed).
template <class T>
inline void hide(T*& p) {
#if defined(__GNUC__) || defined(__clang__)
  asm volatile("" : "+r"(p) : : "memory");
#else
  benchmark::DoNotOptimize(p);
#endif
}

/// Makes v observable, so the computation of v cannot be removed.
template <class T>
inline void keep(const T& v) {
#if defined(__GNUC__) || defined(__clang__)
  asm volatile("" : : "m"(v) : "memory");
#else
  benchmark::DoNotOptimize(v);
#endif
}

/// The core clock in Hz, measured once before the benchmarks run (0 where not measured).
double g_clock_hz = 0;

/// Measures the core clock: a chain of dependent integer adds retires one add per cycle on
/// every x86-64 core of the last fifteen years. The best of a few trials, as turbo and other
/// work on the machine move it. 0 where not implemented.
double measure_clock_hz() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  constexpr long kLoops = 10'000'000;  // x 10 adds: about 30 ms at 3 GHz
  double best = 0;
  for (int trial = 0; trial < 3; ++trial) {
    std::uint64_t x = 0;
    const auto t0 = std::chrono::steady_clock::now();
    for (long i = 0; i < kLoops; ++i) {
      asm volatile(
          "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\t"
          "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0"
          : "+r"(x));
    }
    const std::chrono::duration<double> dt = std::chrono::steady_clock::now() - t0;
    keep(x);
    const double hz = 10.0 * static_cast<double>(kLoops) / dt.count();
    if (hz > best) best = hz;
  }
  return best;
#else
  return 0;
#endif
}

/// Process CPU time since construction, to turn the benchmark loop into clock cycles.
class CpuTimer {
 public:
  double seconds() const { return static_cast<double>(std::clock() - start_) / CLOCKS_PER_SEC; }

 private:
  std::clock_t start_ = std::clock();
};

/// Operations per second, and two custom counters: op_time (seconds per operation) and,
/// where the clock was measured, cycles (core clock cycles per operation). cycles is a plain
/// counter computed here, not a kInvert rate, which the console would print as "5.9s".
void report(benchmark::State& state, const CpuTimer& timer) {
  const double cpu_seconds = timer.seconds();
  const auto ops = static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(kN);
  state.SetItemsProcessed(ops);
  state.counters["op_time"] =
      benchmark::Counter(static_cast<double>(kN), benchmark::Counter::kIsIterationInvariantRate |
                                                      benchmark::Counter::kInvert);
  if (g_clock_hz > 0 && ops > 0) {
    state.counters["cycles"] = cpu_seconds * g_clock_hz / static_cast<double>(ops);
  }
}

template <class Op, class T>
void run_binary(benchmark::State& state) {
  const Inputs<T> in = Op::template inputs<T>();
  std::vector<T> out(kN);
  const CpuTimer timer;
  for (auto _ : state) {
    const T* a = in.a.data();
    const T* b = in.b.data();
    T* c = out.data();
    hide(a);
    hide(b);
    hide(c);
    for (std::size_t i = 0; i < kN; ++i) c[i] = Op::apply(a[i], b[i]);
    benchmark::ClobberMemory();
  }
  report(state, timer);
}

template <class Op, class T>
void run_unary(benchmark::State& state) {
  const auto in = Op::template inputs<T>();
  using In = typename decltype(in.a)::value_type;
  using Out = decltype(Op::template apply<T>(std::declval<In>()));
  std::vector<Out> out(kN);
  const CpuTimer timer;
  for (auto _ : state) {
    const In* a = in.a.data();
    Out* c = out.data();
    hide(a);
    hide(c);
    for (std::size_t i = 0; i < kN; ++i) c[i] = Op::template apply<T>(a[i]);
    benchmark::ClobberMemory();
  }
  report(state, timer);
}

template <class Op, class T>
void run_chain(benchmark::State& state) {
  const Inputs<T> in = Op::template inputs<T>();
  T x = T(in.b[0]);
  const CpuTimer timer;
  for (auto _ : state) {
    const T* a = in.a.data();
    const T* b = in.b.data();
    hide(a);
    hide(b);
    for (std::size_t i = 0; i < kN; ++i) x = Op::step(x, a[i], b[i]);
    keep(x);
  }
  report(state, timer);
}

template <class Op, class T>
void run(benchmark::State& state) {
  if constexpr (Op::shape == Shape::binary) {
    run_binary<Op, T>(state);
  } else if constexpr (Op::shape == Shape::unary) {
    run_unary<Op, T>(state);
  } else {
    run_chain<Op, T>(state);
  }
}

/// The operations, in report order.
using Ops = std::tuple<Add, Mul, Div, Sqrt, FromDouble, ToDouble, MulChain>;

template <class Op>
void register_op() {
  std::apply(
      [](auto... number) {
        (
            [&] {
              using T = typename decltype(number)::type;
              if constexpr (Op::template applies<T>) {
                const std::string bm = std::string("BM_") + Op::name + "<" + number.name + ">";
                benchmark::RegisterBenchmark(bm.c_str(), &run<Op, T>);
              }
            }(),
            ...);
      },
      kNumbers);
}

template <class... Op>
void register_all(std::tuple<Op...>*) {
  (register_op<Op>(), ...);
}

// ------------------------------------------------------------------------------------------
// Context lines: what was measured, and how it was built.
// ------------------------------------------------------------------------------------------

std::string compiler() {
#if defined(__clang__)
  return std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
  return std::string("GCC ") + __VERSION__;
#elif defined(_MSC_VER)
  return "MSVC " + std::to_string(_MSC_FULL_VER);
#else
  return "unknown";
#endif
}

/// The widest vector ISA the compiler was allowed to use (-m/-march flags), not the CPU's.
const char* compiled_isa() {
#if defined(__AVX512F__)
  return "AVX-512F";
#elif defined(__AVX2__)
  return "AVX2";
#elif defined(__AVX__)
  return "AVX";
#elif defined(__SSE4_2__)
  return "SSE4.2";
#elif defined(__x86_64__) || defined(_M_X64)
  return "x86-64 baseline (SSE2)";
#elif defined(__ARM_NEON)
  return "NEON";
#else
  return "scalar";
#endif
}

/// What the CPU running the benchmark offers (x86 with GCC/Clang only).
std::string cpu_isa() {
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  std::string s;
  if (__builtin_cpu_supports("sse4.2")) s += "SSE4.2 ";
  if (__builtin_cpu_supports("avx2")) s += "AVX2 ";
  if (__builtin_cpu_supports("fma")) s += "FMA ";
  if (__builtin_cpu_supports("bmi2")) s += "BMI2 ";
  if (__builtin_cpu_supports("avx512f")) s += "AVX-512F ";
  if (!s.empty()) s.pop_back();
  return s;
#else
  return "not detected";
#endif
}

void add_context() {
  benchmark::AddCustomContext("fixedq_version", FIXEDQ_VERSION_STRING);
  benchmark::AddCustomContext(
      "fixedq_wide_path",
      FIXEDQ_HAS_INT128 ? "unsigned __int128 (FIXEDQ_HAS_INT128=1)"
                        : "emulated two-word u128 (FIXEDQ_HAS_INT128=0)");
  benchmark::AddCustomContext("compiler", compiler());
#ifdef FIXEDQ_BENCH_CXX_FLAGS
  benchmark::AddCustomContext("cxx_flags", FIXEDQ_BENCH_CXX_FLAGS);
#else
  benchmark::AddCustomContext("cxx_flags", "unknown (built outside CMake)");
#endif
#ifdef NDEBUG
  benchmark::AddCustomContext("assertions", "off (NDEBUG)");
#else
  benchmark::AddCustomContext("assertions", "on (no NDEBUG: not a release build)");
#endif
  benchmark::AddCustomContext("compiled_isa", compiled_isa());
  benchmark::AddCustomContext("cpu_isa", cpu_isa());
  benchmark::AddCustomContext(
      "data", "kN=" + std::to_string(kN) + " elements per array (L1-resident), seed=" +
                  std::to_string(kSeed));
  benchmark::AddCustomContext(
      "counters", "op_time = seconds per operation (SI prefixes: 1.2n = 1.2 ns); cycles = CPU "
                  "time of the loop x measured_clock / operations (SI prefixes: 750m = 0.75)");
  benchmark::AddCustomContext(
      "measured_clock",
      g_clock_hz > 0 ? std::to_string(static_cast<int>(g_clock_hz / 1e6)) +
                           " MHz (dependent integer adds, best of 3; the MHz above is nominal)"
                     : "not measured on this platform (no cycles counter)");
}

}  // namespace

int main(int argc, char** argv) {
  register_all(static_cast<Ops*>(nullptr));
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  g_clock_hz = measure_clock_hz();
  add_context();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
