// fixedq kernels: run-time choice of the instruction set, made once.
//
// The best set the CPU supports is used unless the environment variable FIXEDQ_ISA names
// a lower one ("scalar", "avx2", "avx512"); a name the CPU or the build lacks falls back
// to the best available one, and fixed_kernels().isa always tells which set runs.
#include <fixedq/kernels/fixed/kernels.hpp>

#include <cstdlib>
#include <cstring>
#include <initializer_list>

namespace fixedq::kernels {

namespace scalar {
const fixed_kernel_table& table() noexcept;
}
#if defined(FIXEDQ_KERNELS_X86)
namespace avx2 {
const fixed_kernel_table& table() noexcept;
}
namespace avx512 {
const fixed_kernel_table& table() noexcept;
}
#endif

namespace {

bool cpu_has(const char* isa) noexcept {
  if (std::strcmp(isa, "scalar") == 0) return true;
#if defined(FIXEDQ_KERNELS_X86) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  if (std::strcmp(isa, "avx2") == 0) return __builtin_cpu_supports("avx2");
  if (std::strcmp(isa, "avx512") == 0) {
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
  }
#endif
  return false;
}

const fixed_kernel_table* choose() noexcept {
  const char* forced = std::getenv("FIXEDQ_ISA");
  if (forced != nullptr && *forced != '\0') {
    if (const fixed_kernel_table* t = fixed_kernels_for(forced)) return t;
  }
  for (const char* isa : {"avx512", "avx2", "scalar"}) {
    if (const fixed_kernel_table* t = fixed_kernels_for(isa)) return t;
  }
  return &scalar::table();
}

}  // namespace

const fixed_kernel_table* fixed_kernels_for(const char* isa) noexcept {
  if (isa == nullptr || !cpu_has(isa)) return nullptr;
  if (std::strcmp(isa, "scalar") == 0) return &scalar::table();
#if defined(FIXEDQ_KERNELS_X86)
  if (std::strcmp(isa, "avx2") == 0) return &avx2::table();
  if (std::strcmp(isa, "avx512") == 0) return &avx512::table();
#endif
  return nullptr;
}

const fixed_kernel_table& fixed_kernels() noexcept {
  static const fixed_kernel_table* chosen = choose();
  return *chosen;
}

}  // namespace fixedq::kernels
