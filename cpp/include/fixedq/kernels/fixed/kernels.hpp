// fixedq kernels: elementwise fixed-point array arithmetic on contiguous raw integers.
//
// The contract of every kernel here is the C++ core (<fixedq/fixed.hpp>): for each element
// the result is bit-identical to the scalar operation of
//   fixedq::Fixed<Bits - F, F, Rounding, Overflow>
// (checked: to the `overflow::saturate` value, with the overflow reported in the returned
// flags). The kernels are written branch-free so that compilers vectorise them; each
// instruction set gets its own translation unit (cpp/src/fixed_<isa>.cpp) compiled from
// the one body (impl.inc) into its own namespace, and dispatch.cpp picks one at run time.
//
// Kernels exist for the signed formats of at most 32 bits (the products and scaled
// numerators fit 64 bits); other formats use the generic scalar path of the core.
#pragma once

#include <cstddef>
#include <cstdint>

namespace fixedq::kernels {

/// Flags a kernel returns: what happened to at least one element.
enum kernel_flags : int {
  flag_overflow = 1,        ///< a result overflowed (saturated, wrapped, or must raise)
  flag_divide_by_zero = 2,  ///< a division by zero
  flag_nan = 4,             ///< a NaN input (the element is set to 0)
  flag_out_of_kernel = 8,   ///< an input the kernel does not handle: use the generic path
};

/// Rounding and overflow codes, as in the Python layer: policy = rounding * 3 + overflow.
enum rounding_code : int { floor_code, toward_zero_code, ceil_code, half_up_code, half_away_code, half_even_code };
enum overflow_code : int { wrap_code, saturate_code, raise_code };
inline constexpr int num_policies = 18;

/// The formats with kernels: (total bits, fraction bits).
enum fixed_format : int { q7_format, q15_format, fixed8_8_format, q31_format, fixed16_16_format, fixed24_8_format, num_fixed_formats };

using binary_fn = int (*)(const void* a, const void* b, void* out, std::ptrdiff_t n);
using from_double_fn = int (*)(const double* x, void* out, std::ptrdiff_t n);
using to_double_fn = void (*)(const void* x, double* out, std::ptrdiff_t n);

/// One instruction set's kernels, indexed [format][policy] (add/subtract ignore rounding).
struct fixed_kernel_table {
  const char* isa;
  binary_fn add[num_fixed_formats][num_policies];
  binary_fn subtract[num_fixed_formats][num_policies];
  binary_fn multiply[num_fixed_formats][num_policies];
  binary_fn divide[num_fixed_formats][num_policies];
  from_double_fn from_double[num_fixed_formats][num_policies];
  to_double_fn to_double[num_fixed_formats];
};

/// The kernels of the best instruction set this CPU has (or the one FIXEDQ_ISA names:
/// "scalar", "avx2", "avx512"), chosen once. Defined in cpp/src/dispatch.cpp.
const fixed_kernel_table& fixed_kernels() noexcept;

/// The kernels of one instruction set, or nullptr when this CPU (or build) lacks it.
const fixed_kernel_table* fixed_kernels_for(const char* isa) noexcept;

}  // namespace fixedq::kernels
