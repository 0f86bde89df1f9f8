// fixedq int8 kernels, path "scalar": plain C++ loops over the packed layout, compiled with
// the baseline flags. The run-time fallback on every CPU.
#include "int8_internal.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>

#define FIXEDQ_INT8_ISA_NAME "scalar"

namespace fixedq::kernels::int8::scalar {
namespace {

#include <fixedq/kernels/int8/micro_support.inc>

constexpr int kMR = 4;
constexpr int kNP = 1;

/// Plain loops, row by row (the row count need not be a compile-time constant here).
template <bool ASigned>
void rows_loop(const std::uint8_t* a, std::ptrdiff_t lda, int rows, int k, const std::int8_t* panel,
               std::int32_t* acc) {
  const int groups = (k + 3) / 4;
  for (int r = 0; r < rows; ++r) {
    std::uint32_t s[panel_width] = {};
    const std::uint8_t* row = a + r * lda;
    for (int g = 0; g < groups; ++g) {
      const std::int8_t* bg = panel + g * k_group * panel_width;
      for (int i = 0; i < k_group; ++i) {
        const int p = g * k_group + i;
        if (p >= k) break;
        const std::int32_t av = std::int32_t{static_cast<std::uint8_t>(row[p] ^ (ASigned ? 0x80u : 0u))};
        for (int j = 0; j < panel_width; ++j) s[j] += static_cast<std::uint32_t>(av * bg[j * k_group + i]);
      }
    }
    for (int j = 0; j < panel_width; ++j) acc[r * kNP * panel_width + j] = static_cast<std::int32_t>(s[j]);
  }
}

struct kernel {
  static constexpr int max_rows = kMR;
  static constexpr int max_panels = kNP;
  template <bool ASigned, int Rows, int NP>
  static void run(const std::uint8_t* a, std::ptrdiff_t lda, int k, const std::int8_t* panel,
                  std::ptrdiff_t /*panel_bytes: one panel per call*/, std::int32_t* acc) {
    rows_loop<ASigned>(a, lda, Rows, k, panel, acc);
  }
};

}  // namespace

#include <fixedq/kernels/int8/impl.inc>

}  // namespace fixedq::kernels::int8::scalar
