// fixedq int8 kernels: run-time choice of the path, made once (expanded from registry.inc).
//
// The best path this build has and this CPU supports is used, unless the environment variable
// FIXEDQ_ISA names another available one: then the best path not above it is used (so
// FIXEDQ_ISA=avx2 gives avx2, FIXEDQ_ISA=scalar the plain loops, and the fixed-point kernels'
// name "avx512" means avx512_vnni here). isa() always names the path that runs.
#include "int8_internal.hpp"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
#ifndef HWCAP2_I8MM
#define HWCAP2_I8MM (1 << 13)
#endif
#endif

namespace fixedq::kernels::int8 {
namespace {

struct path {
  const char* name;
  const char* arch;
  const int8_table* (*table)();
};

// The table of a registered path, or nullptr when this build does not compile its architecture.
#define FIXEDQ_INT8_TABLE_any(name) (&::fixedq::kernels::int8::name::table())
#if defined(FIXEDQ_KERNELS_X86)
#define FIXEDQ_INT8_TABLE_x86(name) (&::fixedq::kernels::int8::name::table())
#else
#define FIXEDQ_INT8_TABLE_x86(name) nullptr
#endif
#if defined(FIXEDQ_KERNELS_ARM)
#define FIXEDQ_INT8_TABLE_arm(name) (&::fixedq::kernels::int8::name::table())
#else
#define FIXEDQ_INT8_TABLE_arm(name) nullptr
#endif

#define FIXEDQ_INT8_PATH(name, arch, what) \
  const int8_table* name##_table() { return FIXEDQ_INT8_TABLE_##arch(name); }
#include <fixedq/kernels/int8/registry.inc>
#undef FIXEDQ_INT8_PATH

const std::vector<path>& paths() {
  static const std::vector<path> p = {
#define FIXEDQ_INT8_PATH(name, arch, what) {#name, #arch, &name##_table},
#include <fixedq/kernels/int8/registry.inc>
#undef FIXEDQ_INT8_PATH
  };
  return p;
}

bool cpu_supports(const std::string& name) noexcept {
  if (name == "scalar") return true;
#if defined(FIXEDQ_KERNELS_X86) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi2");
  if (name == "avx2") return avx2;
  if (name == "avx_vnni") return avx2 && __builtin_cpu_supports("avxvnni");
  if (name == "avx512_vnni") {
    return avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512vnni");
  }
#endif
#if defined(FIXEDQ_KERNELS_ARM) && defined(__linux__)
  if (name == "neon") return true;  // Advanced SIMD is mandatory on AArch64
  const bool dotprod = (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
  if (name == "neon_dotprod") return dotprod;
  // Built with +dotprod+i8mm (the compiler may use SDOT in the plain loops): both required.
  if (name == "neon_i8mm") return dotprod && (getauxval(AT_HWCAP2) & HWCAP2_I8MM) != 0;
#endif
  return false;
}

const int8_table* table_of(const std::string& name) noexcept {
#if defined(FIXEDQ_KERNELS_X86)
  if (name == "avx_vnni_evex") return cpu_supports("avx512_vnni") ? &avx_vnni_evex::table() : nullptr;
#endif
  for (const path& p : paths()) {
    if (name == p.name) return p.table() != nullptr && cpu_supports(name) ? p.table() : nullptr;
  }
  return nullptr;
}

/// The best available path not above `limit` in the registry order (limit empty: any).
const int8_table* best_up_to(const std::string& limit) noexcept {
  const int8_table* best = nullptr;
  for (const path& p : paths()) {
    if (const int8_table* t = table_of(p.name)) best = t;
    if (!limit.empty() && limit == p.name) break;
  }
  return best;
}

const int8_table* initial() noexcept {
  const char* forced = std::getenv("FIXEDQ_ISA");
  std::string f = forced ? forced : "";
  if (f == "avx512") f = "avx512_vnni";
  bool known = false;
  for (const path& p : paths()) known = known || f == p.name;
  const int8_table* t = best_up_to(known ? f : std::string());
  return t ? t : &scalar::table();
}

std::atomic<const int8_table*>& current() {
  static std::atomic<const int8_table*> c{initial()};
  return c;
}

}  // namespace

const int8_table& active_table() noexcept { return *current().load(std::memory_order_acquire); }

const std::vector<std::string>& isa_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const path& p : paths()) n.emplace_back(p.name);
    return n;
  }();
  return names;
}

bool isa_available(const std::string& name) noexcept { return table_of(name) != nullptr; }

const std::string& isa() noexcept {
  static thread_local std::string name;
  name = active_table().name;
  return name;
}

bool set_isa(const std::string& name) noexcept {
  const int8_table* t = table_of(name);
  if (t == nullptr) return false;
  current().store(t, std::memory_order_release);
  return true;
}

}  // namespace fixedq::kernels::int8
