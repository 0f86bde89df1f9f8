// fixedq._core: the private binding module.
//
// For now it exposes what the package knows about itself: its version, how this extension was
// built, and the table of named formats with every number (range, resolution) computed by the
// C++ core itself, so Python never re-derives a value the C++ type defines.
#include <fixedq/fixedq.hpp>
#include <fixedq/version.hpp>

#include <numpy/numpyconfig.h>  // header version macros only; no NumPy C-API calls here
#include <pybind11/pybind11.h>

#include "dtypes.hpp"
#include "ops_module.hpp"

#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>

#if defined(__FAST_MATH__)
#error "fixedq must not be compiled with -ffast-math: conversions to and from float must follow IEEE rules"
#endif

#ifndef FIXEDQ_HAS_INT128
#error "<fixedq/fixedq.hpp> is expected to define FIXEDQ_HAS_INT128 (0 or 1)"
#endif

// Set by CMakeLists.txt; defaults keep the file compilable by hand.
#ifndef FIXEDQ_PROJECT_VERSION
#define FIXEDQ_PROJECT_VERSION FIXEDQ_VERSION_STRING
#endif
#ifndef FIXEDQ_BUILD_TYPE
#define FIXEDQ_BUILD_TYPE ""
#endif
#ifndef FIXEDQ_CXX_FLAGS
#define FIXEDQ_CXX_FLAGS ""
#endif
#ifndef FIXEDQ_NUMPY_HEADERS_VERSION
#define FIXEDQ_NUMPY_HEADERS_VERSION ""
#endif
#ifndef FIXEDQ_SYSTEM_PROCESSOR
#define FIXEDQ_SYSTEM_PROCESSOR ""
#endif

#define FIXEDQ_STR_IMPL(x) #x
#define FIXEDQ_STR(x) FIXEDQ_STR_IMPL(x)

namespace py = pybind11;

// Defined in quant_module.cpp: the submodule _core.quant (calibration kernels).
void fixedq_register_quant(py::module_& parent);

namespace {

constexpr bool same_string(const char* a, const char* b) {
    while (*a != '\0' && *a == *b) {
        ++a;
        ++b;
    }
    return *a == *b;
}
static_assert(same_string(FIXEDQ_VERSION_STRING, FIXEDQ_PROJECT_VERSION),
              "FIXEDQ_VERSION_STRING in <fixedq/version.hpp> must equal the CMake project version "
              "(and so the pyproject.toml version).");

std::string compiler_description() {
#if defined(__clang__)
    return std::string("Clang ") + __clang_version__;
#elif defined(__GNUC__)
    return std::string("GCC ") + __VERSION__;
#elif defined(_MSC_VER)
    return std::string("MSVC ") + FIXEDQ_STR(_MSC_FULL_VER);
#else
    return "unknown compiler";
#endif
}

std::string cxx_standard_name(long cplusplus) {
    if (cplusplus > 202302L) return "C++26";
    if (cplusplus > 202002L) return "C++23";
    if (cplusplus > 201703L) return "C++20";
    if (cplusplus > 201402L) return "C++17";
    return "pre-C++17";
}

// The architecture the compiler targeted (predefined macros), not the one the module runs on.
const char* target_architecture() {
#if defined(__x86_64__) || defined(_M_X64)
    return "x86_64";
#elif defined(__i386__) || defined(_M_IX86)
    return "x86";
#elif defined(__aarch64__) || defined(_M_ARM64)
    return "aarch64";
#elif defined(__arm__) || defined(_M_ARM)
    return "arm";
#elif defined(__powerpc64__)
    return "ppc64";
#elif defined(__s390x__)
    return "s390x";
#elif defined(__riscv) && (__riscv_xlen == 64)
    return "riscv64";
#else
    return "unknown";
#endif
}

#if defined(_MSVC_LANG)
constexpr long cplusplus_value = _MSVC_LANG;  // MSVC keeps __cplusplus at 199711L without /Zc:__cplusplus
#else
constexpr long cplusplus_value = __cplusplus;
#endif

py::dict build_info() {
    py::dict info;
    info["version"] = FIXEDQ_VERSION_STRING;
    info["compiler"] = compiler_description();
    info["cplusplus"] = cplusplus_value;
    info["cxx_standard"] = cxx_standard_name(cplusplus_value);
    info["build_type"] = FIXEDQ_BUILD_TYPE;
    info["cxx_flags"] = FIXEDQ_CXX_FLAGS;
    info["int128"] = static_cast<bool>(FIXEDQ_HAS_INT128);
    info["pybind11"] = FIXEDQ_STR(PYBIND11_VERSION_MAJOR) "." FIXEDQ_STR(PYBIND11_VERSION_MINOR) "." FIXEDQ_STR(
        PYBIND11_VERSION_PATCH);
    info["numpy_headers"] = FIXEDQ_NUMPY_HEADERS_VERSION;
    info["numpy_c_api"] = static_cast<unsigned long>(NPY_API_VERSION);
    info["architecture"] = target_architecture();
    info["system_processor"] = FIXEDQ_SYSTEM_PROCESSOR;
    return info;
}

// Recover the policies of a named format from the one template they all alias.
template <class T>
struct format_traits;
template <bool Signed, int I, int F, class R, class O>
struct format_traits<fixedq::basic_fixed<Signed, I, F, R, O>> {
    using rounding = R;
    using overflow = O;
};

template <class Raw>
std::string raw_dtype_name() {
    static_assert(std::is_integral_v<Raw>, "raw_type of a fixedq format must be an integer type.");
    return std::string(std::is_signed_v<Raw> ? "int" : "uint") + std::to_string(8 * sizeof(Raw));
}

template <class T>
py::dict describe_format(const char* name) {
    using limits = std::numeric_limits<T>;
    using traits = format_traits<T>;
    py::dict d;
    d["name"] = name;
    d["signed"] = T::is_signed;
    d["integer_bits"] = T::integer_bits;
    d["fraction_bits"] = T::fraction_bits;
    d["total_bits"] = T::total_bits;
    d["raw_dtype"] = raw_dtype_name<typename T::raw_type>();
    d["min"] = fixedq::to_string(limits::lowest());
    d["max"] = fixedq::to_string(limits::max());
    d["resolution"] = fixedq::to_string(limits::epsilon());
    d["rounding"] = std::string(fixedq::rounding_name<typename traits::rounding>());
    d["overflow"] = std::string(fixedq::overflow_name<typename traits::overflow>());
    return d;
}

py::list formats() {
    py::list table;
    table.append(describe_format<fixedq::Fixed8_8>("Fixed8_8"));
    table.append(describe_format<fixedq::Fixed16_16>("Fixed16_16"));
    table.append(describe_format<fixedq::Fixed24_8>("Fixed24_8"));
    table.append(describe_format<fixedq::Fixed32_32>("Fixed32_32"));
    table.append(describe_format<fixedq::Q7>("Q7"));
    table.append(describe_format<fixedq::Q15>("Q15"));
    table.append(describe_format<fixedq::Q31>("Q31"));
    return table;
}

}  // namespace

PYBIND11_MODULE(_core, m, py::mod_gil_not_used()) {
    m.doc() = "fixedq._core: private C++ core of fixedq. Use the public names in ``fixedq``.";
    m.attr("__version__") = FIXEDQ_VERSION_STRING;
    // The scalar types / NumPy dtypes Fixed8_8 ... Q31 and the policy hooks (raw C API).
    if (fixedq_register_dtypes(m.ptr()) < 0) throw py::error_already_set();
    fixedq_register_quant(m);
    // fixedq._core.ops: the int8 kernels on NumPy arrays (ops_module.cpp; public face fixedq.ops).
    fixedq_register_ops(m);

    m.def("build_info", &build_info, R"doc(
Describe how this extension module was built.

Returns
-------
dict
    ``version`` (str), ``compiler`` (str, e.g. ``"GCC 12.2.0"``), ``cplusplus`` (int, the value
    of ``__cplusplus``), ``cxx_standard`` (str, e.g. ``"C++17"``), ``build_type`` (str, CMake
    build type), ``cxx_flags`` (str, compile flags given by CMake), ``int128`` (bool, whether the
    core uses the compiler's ``__int128`` for wide products), ``pybind11`` (str),
    ``numpy_headers`` (str, version of the NumPy headers compiled against), ``numpy_c_api``
    (int, ``NPY_API_VERSION`` of those headers), ``architecture`` (str, target of the compiler)
    and ``system_processor`` (str, CMake's ``CMAKE_SYSTEM_PROCESSOR``).
)doc");

    m.def("formats", &formats, R"doc(
Describe the named fixed-point formats.

Every number is computed by the C++ core (``std::numeric_limits`` and ``fixedq::to_string``).

Returns
-------
list of dict
    One dict per format, in the order Fixed8_8, Fixed16_16, Fixed24_8, Fixed32_32, Q7, Q15, Q31,
    with keys ``name`` (str), ``signed`` (bool), ``integer_bits``, ``fraction_bits``,
    ``total_bits`` (int; ``integer_bits`` includes the sign bit), ``raw_dtype`` (str, the NumPy
    name of the raw integer, e.g. ``"int32"``), ``min``, ``max``, ``resolution`` (str, exact
    decimals of the lowest value, the largest value and one raw step) and ``rounding``,
    ``overflow`` (str, names of the default policies).
)doc");
}
