// fixedq._core: the fixed-point scalar types and their NumPy dtypes.
//
// This is the one file that speaks NumPy's C API (as ml_dtypes does): each named format
// of the C++ core becomes a NumPy scalar type (a subclass of numpy.generic) registered as
// a legacy user dtype, with casts and ufunc loops. Every value is computed by the C++ core
// (<fixedq/fixedq.hpp>), so results are bit-identical to the C++ type under the same
// policies. The current policy (rounding, overflow) comes from a contextvars.ContextVar
// owned by fixedq._policy and read once per call; no global mutable state.
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#define NPY_NO_DEPRECATED_API NPY_2_0_API_VERSION
#define PY_ARRAY_UNIQUE_SYMBOL fixedq_ARRAY_API
#define PY_UFUNC_UNIQUE_SYMBOL fixedq_UFUNC_API
#include <numpy/arrayobject.h>
#include <numpy/ufuncobject.h>

#include <fixedq/fixedq.hpp>
#include <fixedq/kernels/fixed/kernels.hpp>

#include <cfenv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>

#include "dtypes.hpp"

namespace fixedq_py {
namespace {

using fixedq::fraction_class;
using fixedq::detail::status;
using fixedq::detail::u128;
namespace detail = fixedq::detail;

// ------------------------------------------------------------------------------------------
// Policies
// ------------------------------------------------------------------------------------------
// Codes shared with fixedq/_policy.py: code = rounding * 3 + overflow.
enum Rounding : int { kFloor, kTowardZero, kCeil, kHalfUp, kHalfAway, kHalfEven, kNumRoundings };
enum Overflow : int { kWrap, kSaturate, kRaise, kNumOverflows };
constexpr int kDefaultPolicy = kHalfEven * 3 + kSaturate;
const char* const kRoundingNames[] = {"floor", "toward_zero", "ceil", "half_up", "half_away", "half_even"};
const char* const kOverflowNames[] = {"wrap", "saturate", "raise"};

PyObject* g_policy_var = nullptr;  // contextvars.ContextVar[int], set by fixedq._policy

constexpr int kRoundingOf(int policy) { return policy / 3; }

/// The current policy code; -1 with a Python error set on failure.
int current_policy() {
  if (g_policy_var == nullptr) return kDefaultPolicy;
  PyObject* value = nullptr;
  if (PyContextVar_Get(g_policy_var, nullptr, &value) < 0) return -1;
  if (value == nullptr) return kDefaultPolicy;
  const long code = PyLong_AsLong(value);
  Py_DECREF(value);
  if (code < 0 || code >= kNumRoundings * kNumOverflows) {
    if (!PyErr_Occurred()) PyErr_SetString(PyExc_RuntimeError, "fixedq: corrupt policy state");
    return -1;
  }
  return static_cast<int>(code);
}

/// Calls fn(R{}, O{}) with the policy tag types of `code`.
template <class Fn>
decltype(auto) with_policy(int code, Fn&& fn) {
  namespace r = fixedq::round;
  namespace o = fixedq::overflow;
  switch (code) {
#define FIXEDQ_POLICY_CASE(RI, OI, R, O) \
  case RI * 3 + OI:                      \
    return fn(R{}, O{});
#define FIXEDQ_POLICY_ROW(RI, R)                    \
  FIXEDQ_POLICY_CASE(RI, kWrap, R, o::wrap)         \
  FIXEDQ_POLICY_CASE(RI, kSaturate, R, o::saturate) \
  FIXEDQ_POLICY_CASE(RI, kRaise, R, o::checked)
    FIXEDQ_POLICY_ROW(kFloor, r::floor)
    FIXEDQ_POLICY_ROW(kTowardZero, r::toward_zero)
    FIXEDQ_POLICY_ROW(kCeil, r::ceil)
    FIXEDQ_POLICY_ROW(kHalfUp, r::half_up)
    FIXEDQ_POLICY_ROW(kHalfAway, r::half_away)
    FIXEDQ_POLICY_CASE(kHalfEven, kWrap, r::half_even, o::wrap)
    FIXEDQ_POLICY_CASE(kHalfEven, kRaise, r::half_even, o::checked)
#undef FIXEDQ_POLICY_ROW
#undef FIXEDQ_POLICY_CASE
    default:
      return fn(r::half_even{}, o::saturate{});
  }
}

/// Calls fn(O{}) with the overflow tag type of `code` (for exact operations).
template <class Fn>
decltype(auto) with_overflow(int code, Fn&& fn) {
  switch (code % 3) {
    case kWrap: return fn(fixedq::overflow::wrap{});
    case kRaise: return fn(fixedq::overflow::checked{});
    default: return fn(fixedq::overflow::saturate{});
  }
}

// ------------------------------------------------------------------------------------------
// The formats
// ------------------------------------------------------------------------------------------
struct FormatInfo;  // type-erased view of one format, for conversions between formats

template <class Base>
struct Fmt {
  using raw_t = typename Base::raw_type;
  struct Object {
    PyObject_HEAD
    raw_t raw;
  };
  static inline PyTypeObject type{};  // filled by register_format
  static inline PyArray_ArrFuncs funcs{};
  static inline PyArray_DescrProto proto{};
  static inline int typenum = -1;
  static inline const char* name = nullptr;        // "Fixed16_16"
  static inline const char* qualified = nullptr;   // "fixedq.Fixed16_16"
  static inline const char* dtype_name = nullptr;  // "fixed16_16"
  static inline const char* doc = nullptr;
  static inline const FormatInfo* info = nullptr;

  template <class R, class O>
  using T = typename Base::template with_policy<R, O>;
};

/// An exact value of any format: (negative ? -1 : 1) * magnitude * 2^-frac_bits.
struct Exact {
  bool negative;
  std::uint64_t magnitude;
  int frac_bits;
};

struct FormatInfo {
  PyTypeObject* type;
  int index;
  int frac_bits;
  Exact (*exact)(PyObject*);  // value of a scalar of this type
  int (*typenum)();
};

constexpr int kNumFormats = 7;
const FormatInfo* g_formats[kNumFormats] = {};

const FormatInfo* format_of(PyObject* obj) {
  for (const FormatInfo* f : g_formats) {
    if (f != nullptr && PyObject_TypeCheck(obj, f->type)) return f;
  }
  return nullptr;
}

template <class Raw>
Exact exact_of_raw(Raw raw, int frac_bits) {
  return {detail::is_negative(raw), detail::magnitude(raw), frac_bits};
}

/// The vectorised kernel format of Base, or -1 (fixedq/kernels/fixed/kernels.hpp).
template <class Base>
constexpr int kernel_format() {
  namespace k = fixedq::kernels;
  if constexpr (std::is_same_v<Base, fixedq::Q7>) return k::q7_format;
  if constexpr (std::is_same_v<Base, fixedq::Q15>) return k::q15_format;
  if constexpr (std::is_same_v<Base, fixedq::Fixed8_8>) return k::fixed8_8_format;
  if constexpr (std::is_same_v<Base, fixedq::Q31>) return k::q31_format;
  if constexpr (std::is_same_v<Base, fixedq::Fixed16_16>) return k::fixed16_16_format;
  if constexpr (std::is_same_v<Base, fixedq::Fixed24_8>) return k::fixed24_8_format;
  return -1;
}

status status_of_flags(int flags) {
  if (flags & fixedq::kernels::flag_divide_by_zero) return status::divide_by_zero;
  if (flags & fixedq::kernels::flag_overflow) return status::overflow;
  return status::ok;
}

// ------------------------------------------------------------------------------------------
// Errors
// ------------------------------------------------------------------------------------------
template <class Base>
void set_status_error(status st, const char* what) {
  switch (st) {
    case status::divide_by_zero:
      PyErr_Format(PyExc_ZeroDivisionError, "fixedq: %s division by zero", Fmt<Base>::name);
      break;
    case status::invalid:
      PyErr_Format(PyExc_ValueError, "fixedq: %s %s is undefined (NaN or negative argument)",
                   Fmt<Base>::name, what);
      break;
    default:
      PyErr_Format(PyExc_OverflowError,
                   "fixedq: %s %s overflows (overflow='raise'; use overflow='saturate' or "
                   "'wrap' to get a value)",
                   Fmt<Base>::name, what);
  }
}

/// Raises the floating-point flag NumPy turns into its usual warnings for arrays.
void flag_status(status st) {
  if (st == status::divide_by_zero) std::feraiseexcept(FE_DIVBYZERO);
  if (st == status::invalid) std::feraiseexcept(FE_INVALID);
}

// ------------------------------------------------------------------------------------------
// Conversions from Python objects
// ------------------------------------------------------------------------------------------
PyObject* g_fraction_type = nullptr;  // fractions.Fraction

/// The exact raw value for (negative ? -1 : 1) * (num / den), den > 0, num >= 0 as Python
/// ints, under policy (R, O). Returns false with a Python error set on failure.
template <class Base, class R, class O>
bool raw_from_ratio(bool negative, PyObject* num, PyObject* den,
                    detail::result<typename Fmt<Base>::raw_t>& out) {
  using raw_t = typename Fmt<Base>::raw_t;
  PyObject* shift = PyLong_FromLong(Base::fraction_bits);
  if (shift == nullptr) return false;
  PyObject* scaled = PyNumber_Lshift(num, shift);
  Py_DECREF(shift);
  if (scaled == nullptr) return false;
  PyObject* qr = PyNumber_Divmod(scaled, den);
  Py_DECREF(scaled);
  if (qr == nullptr) return false;
  PyObject* q = PyTuple_GET_ITEM(qr, 0);
  PyObject* rem = PyTuple_GET_ITEM(qr, 1);
  // Where the remainder lies: compare 2 * rem with den.
  fraction_class cls = fraction_class::zero;
  const int rem_zero = PyObject_Not(rem);
  if (rem_zero < 0) {
    Py_DECREF(qr);
    return false;
  }
  if (!rem_zero) {
    PyObject* twice = PyNumber_Add(rem, rem);
    if (twice == nullptr) {
      Py_DECREF(qr);
      return false;
    }
    const int lt = PyObject_RichCompareBool(twice, den, Py_LT);
    const int eq = lt == 0 ? PyObject_RichCompareBool(twice, den, Py_EQ) : 0;
    Py_DECREF(twice);
    if (lt < 0 || eq < 0) {
      Py_DECREF(qr);
      return false;
    }
    cls = lt ? fraction_class::below_half : eq ? fraction_class::half : fraction_class::above_half;
  }
  const unsigned long long t = PyLong_AsUnsignedLongLong(q);
  if (t == static_cast<unsigned long long>(-1) && PyErr_Occurred()) {
    // At least 2^64: out of every range. Under wrap only the low bits matter.
    PyErr_Clear();
    const unsigned long long low = PyLong_AsUnsignedLongLongMask(q);
    Py_DECREF(qr);
    if (low == static_cast<unsigned long long>(-1) && PyErr_Occurred()) return false;
    const u128 big = (u128(1) << 64) | u128(static_cast<std::uint64_t>(low));
    out = detail::round_fit<raw_t, R, O>(negative, big, cls);
    return true;
  }
  Py_DECREF(qr);
  out = detail::round_fit<raw_t, R, O>(negative, static_cast<std::uint64_t>(t), cls);
  return true;
}

/// Converts a Python number (or str) into a raw value of Base under policy code `policy`.
/// Returns false with a Python error set (TypeError, ValueError, OverflowError).
template <class Base>
bool raw_from_object(PyObject* obj, int policy, typename Fmt<Base>::raw_t* raw_out,
                     const char* context) {
  using raw_t = typename Fmt<Base>::raw_t;
  detail::result<raw_t> res{raw_t(0), status::ok};
  bool ok = with_policy(policy, [&](auto rtag, auto otag) -> bool {
    using R = decltype(rtag);
    using O = decltype(otag);
    using T = typename Fmt<Base>::template T<R, O>;
    if (PyObject_TypeCheck(obj, &Fmt<Base>::type)) {
      res = {reinterpret_cast<typename Fmt<Base>::Object*>(obj)->raw, status::ok};
      return true;
    }
    if (const FormatInfo* f = format_of(obj)) {
      const Exact e = f->exact(obj);
      const int shift = e.frac_bits - Base::fraction_bits;
      res = detail::round_shift_fit<raw_t, R, O>(e.negative, u128(e.magnitude), shift);
      return true;
    }
    if (PyLong_Check(obj) || PyObject_TypeCheck(obj, &PyIntegerArrType_Type) ||
        PyObject_TypeCheck(obj, &PyBoolArrType_Type)) {
      PyObject* as_int = PyNumber_Index(obj);
      if (as_int == nullptr) return false;
      int overflow = 0;
      const long long v = PyLong_AsLongLongAndOverflow(as_int, &overflow);
      if (v == -1 && PyErr_Occurred()) {
        Py_DECREF(as_int);
        return false;
      }
      if (overflow == 0) {
        Py_DECREF(as_int);
        res = detail::from_integer<T>(v);
        return true;
      }
      const unsigned long long low = PyLong_AsUnsignedLongLongMask(as_int);
      Py_DECREF(as_int);
      if (low == static_cast<unsigned long long>(-1) && PyErr_Occurred()) return false;
      // |v| >= 2^63: (v << F) mod 2^64 keeps the low bits that wrap needs.
      const std::uint64_t bits =
          Base::fraction_bits >= 64 ? 0 : static_cast<std::uint64_t>(low) << Base::fraction_bits;
      if constexpr (std::is_same_v<O, fixedq::overflow::wrap>) {
        res = {detail::from_bits<raw_t>(bits), status::overflow};
      } else {
        res = detail::fit_extreme<raw_t, fixedq::overflow::saturate>(overflow < 0,
                                                                      status::overflow);
      }
      return true;
    }
    if (PyFloat_Check(obj) || PyObject_TypeCheck(obj, &PyFloatingArrType_Type)) {
      double d = PyFloat_AsDouble(obj);
      if (d == -1.0 && PyErr_Occurred()) return false;
      if (std::isnan(d)) {
        PyErr_Format(PyExc_ValueError, "fixedq: cannot convert NaN to %s%s", Fmt<Base>::name,
                     context);
        return false;
      }
      res = detail::from_double<raw_t, R, O>(d, Base::fraction_bits);
      return true;
    }
    // Exact rationals: str (decimal or fraction text), fractions.Fraction, decimal.Decimal,
    // and anything else with as_integer_ratio().
    PyObject* ratio = nullptr;
    if (PyUnicode_Check(obj)) {
      PyObject* frac = PyObject_CallOneArg(g_fraction_type, obj);
      if (frac == nullptr) {
        if (PyErr_ExceptionMatches(PyExc_ValueError) ||
            PyErr_ExceptionMatches(PyExc_ZeroDivisionError)) {
          PyErr_Clear();
          PyErr_Format(PyExc_ValueError,
                       "fixedq: could not convert string to %s: %R (expected a decimal such as "
                       "'1.25', '-3e-2' or a fraction such as '1/3')",
                       Fmt<Base>::name, obj);
        }
        return false;
      }
      ratio = PyObject_CallMethod(frac, "as_integer_ratio", nullptr);
      Py_DECREF(frac);
    } else if (PyObject_HasAttrString(obj, "as_integer_ratio")) {
      ratio = PyObject_CallMethod(obj, "as_integer_ratio", nullptr);
    } else {
      PyErr_Format(PyExc_TypeError,
                   "fixedq: %s%s expected a number (int, float, a fixedq scalar, Fraction, "
                   "Decimal) or a str, not '%.200s'",
                   Fmt<Base>::name, context, Py_TYPE(obj)->tp_name);
      return false;
    }
    if (ratio == nullptr) {
      if (PyErr_ExceptionMatches(PyExc_ValueError)) {  // Decimal('NaN')
        PyErr_Clear();
        PyErr_Format(PyExc_ValueError, "fixedq: cannot convert %R to %s%s", obj, Fmt<Base>::name,
                     context);
      } else if (PyErr_ExceptionMatches(PyExc_OverflowError)) {  // Decimal('Infinity')
        PyErr_Clear();
        PyObject* zero = PyLong_FromLong(0);
        const int neg = zero == nullptr ? -1 : PyObject_RichCompareBool(obj, zero, Py_LT);
        Py_XDECREF(zero);
        if (neg < 0) return false;
        res = detail::fit_extreme<raw_t, fixedq::overflow::saturate>(neg != 0, status::overflow);
        return true;
      }
      return false;
    }
    if (!PyTuple_Check(ratio) || PyTuple_GET_SIZE(ratio) != 2) {
      Py_DECREF(ratio);
      PyErr_SetString(PyExc_TypeError, "fixedq: as_integer_ratio() must return a pair of ints");
      return false;
    }
    PyObject* num = PyTuple_GET_ITEM(ratio, 0);
    PyObject* den = PyTuple_GET_ITEM(ratio, 1);
    PyObject* zero = PyLong_FromLong(0);
    const int is_neg = PyObject_RichCompareBool(num, zero, Py_LT);
    Py_DECREF(zero);
    if (is_neg < 0) {
      Py_DECREF(ratio);
      return false;
    }
    PyObject* abs_num = PyNumber_Absolute(num);
    if (abs_num == nullptr) {
      Py_DECREF(ratio);
      return false;
    }
    const bool done = raw_from_ratio<Base, R, O>(is_neg != 0, abs_num, den, res);
    Py_DECREF(abs_num);
    Py_DECREF(ratio);
    return done;
  });
  if (!ok) return false;
  if (res.st != status::ok && policy % 3 == kRaise) {
    PyErr_Format(PyExc_OverflowError,
                 "fixedq: %R is out of the range of %s%s (overflow='raise')", obj, Fmt<Base>::name,
                 context);
    return false;
  }
  *raw_out = res.raw;
  return true;
}

// ------------------------------------------------------------------------------------------
// Exact arithmetic with integer operands
// ------------------------------------------------------------------------------------------
/// (negative ? -1 : 1) * magnitude, exact sum of two such values.
inline void signed_sum(bool& neg, u128& mag, bool neg2, u128 mag2) {
  if (neg == neg2) {
    mag = mag + mag2;
  } else if (mag2 > mag) {
    mag = mag2 - mag;
    neg = neg2;
  } else {
    mag = mag - mag2;
  }
  if (mag == u128(0)) neg = false;
}

template <class T, class Int>
detail::raw_result<T> add_integer(T x, Int n, bool subtract) {
  bool neg = detail::is_negative(x.raw());
  u128 mag = u128(detail::magnitude(x.raw()));
  const bool nneg = detail::is_negative(n) != subtract && n != 0;
  signed_sum(neg, mag, nneg, u128(detail::magnitude(n)) << T::fraction_bits);
  return detail::fit<typename T::raw_type, typename T::overflow_policy>(neg, mag, false);
}

/// n - x, exactly, then the overflow policy.
template <class T, class Int>
detail::raw_result<T> integer_minus(Int n, T x) {
  bool neg = detail::is_negative(n);
  u128 mag = u128(detail::magnitude(n)) << T::fraction_bits;
  signed_sum(neg, mag, !detail::is_negative(x.raw()) && x.raw() != 0, u128(detail::magnitude(x.raw())));
  return detail::fit<typename T::raw_type, typename T::overflow_policy>(neg, mag, false);
}

/// n / x, exactly rounded once.
template <class T, class Int>
detail::raw_result<T> integer_divide(Int n, T x) {
  using raw_t = typename T::raw_type;
  using O = typename T::overflow_policy;
  if (x.raw() == 0) {
    if (n == 0) return {raw_t(0), status::divide_by_zero};
    return detail::fit_extreme<raw_t, O>(detail::is_negative(n), status::divide_by_zero);
  }
  const u128 num = u128(detail::magnitude(n)) << (2 * T::fraction_bits);
  return detail::round_divide_fit<raw_t, typename T::rounding_policy, O>(
      detail::is_negative(n) != detail::is_negative(x.raw()), num, u128(detail::magnitude(x.raw())));
}

// ------------------------------------------------------------------------------------------
// Scalars
// ------------------------------------------------------------------------------------------
template <class Base>
PyObject* new_scalar(typename Fmt<Base>::raw_t raw) {
  PyTypeObject* tp = &Fmt<Base>::type;
  PyObject* obj = tp->tp_alloc(tp, 0);
  if (obj != nullptr) reinterpret_cast<typename Fmt<Base>::Object*>(obj)->raw = raw;
  return obj;
}

template <class Base>
typename Fmt<Base>::raw_t raw_of(PyObject* obj) {
  return reinterpret_cast<typename Fmt<Base>::Object*>(obj)->raw;
}

template <class Base>
Exact scalar_exact(PyObject* obj) {
  return exact_of_raw(raw_of<Base>(obj), Base::fraction_bits);
}

template <class Base>
std::string decimal(typename Fmt<Base>::raw_t raw) {
  return fixedq::to_string(Base::from_raw(raw));
}

template <class Base>
PyObject* scalar_new(PyTypeObject* type, PyObject* args, PyObject* kwds) {
  static const char* kwlist[] = {"value", nullptr};
  PyObject* value = nullptr;
  if (!PyArg_ParseTupleAndKeywords(args, kwds, "|O", const_cast<char**>(kwlist), &value)) {
    return nullptr;
  }
  typename Fmt<Base>::raw_t raw = 0;
  if (value != nullptr) {
    const int policy = current_policy();
    if (policy < 0 || !raw_from_object<Base>(value, policy, &raw, "()")) return nullptr;
  }
  PyObject* obj = type->tp_alloc(type, 0);
  if (obj != nullptr) reinterpret_cast<typename Fmt<Base>::Object*>(obj)->raw = raw;
  return obj;
}

template <class Base>
PyObject* scalar_str(PyObject* self) {
  return PyUnicode_FromString(decimal<Base>(raw_of<Base>(self)).c_str());
}

template <class Base>
PyObject* scalar_repr(PyObject* self) {
  const auto raw = raw_of<Base>(self);
  const std::string text = decimal<Base>(raw);
  // A decimal literal that is exactly a double round-trips through float; wider values
  // (Fixed32_32 with more than 53 significant bits) are spelled as an exact string.
  std::uint64_t significant = detail::magnitude(raw);
  while (significant != 0 && (significant & 1u) == 0) significant >>= 1;
  const bool exact_double = significant < (std::uint64_t{1} << 53);
  if (exact_double) return PyUnicode_FromFormat("%s(%s)", Fmt<Base>::name, text.c_str());
  return PyUnicode_FromFormat("%s('%s')", Fmt<Base>::name, text.c_str());
}

// Python's numeric hash of the rational raw * 2^-F, so that hash(x) == hash(float(x)) ==
// hash(Fraction(x)) whenever they are equal (sys.hash_info: modulus 2^61 - 1).
template <class Base>
Py_hash_t scalar_hash(PyObject* self) {
  constexpr std::uint64_t P = (std::uint64_t{1} << 61) - 1;
  const auto raw = raw_of<Base>(self);
  const std::uint64_t mag = detail::magnitude(raw);
  std::uint64_t h = mag % P;
  // times 2^-F mod P: since 2^61 == 1 (mod P), 2^-F == 2^(61 - F mod 61).
  const int e = (61 - Base::fraction_bits % 61) % 61;
  h = static_cast<std::uint64_t>((u128(h) << e) % u128(P));
  auto result = static_cast<Py_hash_t>(h);
  if (detail::is_negative(raw)) result = -result;
  if (result == -1) result = -2;
  return result;
}

template <class Base>
PyObject* m_as_integer_ratio(PyObject* self, PyObject*);

/// Three-way exact comparison of a and b: -1, 0, 1.
int compare_exact(const Exact& a, const Exact& b) {
  const bool a_zero = a.magnitude == 0, b_zero = b.magnitude == 0;
  const int sa = a_zero ? 0 : (a.negative ? -1 : 1);
  const int sb = b_zero ? 0 : (b.negative ? -1 : 1);
  if (sa != sb) return sa < sb ? -1 : 1;
  if (sa == 0) return 0;
  // Same sign: compare magnitudes a.m * 2^b.f vs b.m * 2^a.f in 128 bits.
  const u128 ma = u128(a.magnitude) << (b.frac_bits > a.frac_bits ? b.frac_bits - a.frac_bits : 0);
  const u128 mb = u128(b.magnitude) << (a.frac_bits > b.frac_bits ? a.frac_bits - b.frac_bits : 0);
  const int c = ma < mb ? -1 : (mb < ma ? 1 : 0);
  return sa < 0 ? -c : c;
}

/// Exact comparison with a finite double.
int compare_with_double(const Exact& a, double d) {
  const int sa = a.magnitude == 0 ? 0 : (a.negative ? -1 : 1);
  const int sd = d == 0.0 ? 0 : (d < 0 ? -1 : 1);
  if (sa != sd) return sa < sd ? -1 : 1;
  if (sa == 0) return 0;
  // |d| * 2^F >= 2^64 exceeds every magnitude; tested before scaling (no FP overflow).
  const bool huge = std::fabs(d) >= detail::pow2(64 - a.frac_bits);
  const double y = huge ? 0.0 : std::fabs(d) * detail::pow2(a.frac_bits);  // exact scaling
  int c;
  if (huge) {
    c = -1;
  } else {
    const auto t = static_cast<std::uint64_t>(y);
    c = a.magnitude < t ? -1 : a.magnitude > t ? 1 : (y > static_cast<double>(t) ? -1 : 0);
  }
  return sa < 0 ? -c : c;
}

bool cmp_result(int c, int op) {
  switch (op) {
    case Py_LT: return c < 0;
    case Py_LE: return c <= 0;
    case Py_EQ: return c == 0;
    case Py_NE: return c != 0;
    case Py_GT: return c > 0;
    default: return c >= 0;
  }
}

template <class Base>
PyObject* scalar_richcompare(PyObject* self, PyObject* other, int op) {
  if (!PyObject_TypeCheck(self, &Fmt<Base>::type)) Py_RETURN_NOTIMPLEMENTED;
  const Exact a = scalar_exact<Base>(self);
  int c = 0;
  if (const FormatInfo* f = format_of(other)) {
    c = compare_exact(a, f->exact(other));
  } else if (PyLong_Check(other)) {
    int overflow = 0;
    const long long v = PyLong_AsLongLongAndOverflow(other, &overflow);
    if (v == -1 && PyErr_Occurred()) return nullptr;
    if (overflow != 0) {
      c = overflow > 0 ? -1 : 1;
    } else {
      c = compare_exact(a, exact_of_raw(v, 0));
    }
  } else if (PyFloat_Check(other)) {
    const double d = PyFloat_AS_DOUBLE(other);
    if (std::isnan(d)) return PyBool_FromLong(op == Py_NE);
    if (std::isinf(d)) {
      c = d > 0 ? -1 : 1;
    } else {
      c = compare_with_double(a, d);
    }
  } else if (PyArray_Check(other) || PyArray_IsScalar(other, Generic)) {
    // NumPy arrays and scalars: NumPy's generic comparison (ufuncs).
    return PyGenericArrType_Type.tp_richcompare(self, other, op);
  } else {
    // Fractions, Decimals, ...: compare the exact Fraction of self.
    PyObject* ratio = m_as_integer_ratio<Base>(self, nullptr);
    if (ratio == nullptr) return nullptr;
    PyObject* frac = PyObject_Call(g_fraction_type, ratio, nullptr);
    Py_DECREF(ratio);
    if (frac == nullptr) return nullptr;
    PyObject* result = PyObject_RichCompare(frac, other, op);
    Py_DECREF(frac);
    return result;
  }
  return PyBool_FromLong(cmp_result(c, op));
}

/// Binary operators of scalars: both of this type, or one a Python/NumPy number that is
/// converted with the current policy (NEP 50: Python numbers are weak).
enum class BinOp { add, sub, mul, div };

template <class Base>
PyObject* scalar_binop(PyObject* a, PyObject* b, BinOp op) {
  using raw_t = typename Fmt<Base>::raw_t;
  PyTypeObject* tp = &Fmt<Base>::type;
  const bool a_mine = PyObject_TypeCheck(a, tp), b_mine = PyObject_TypeCheck(b, tp);
  PyObject* other = a_mine ? b : a;
  const bool other_mine = a_mine && b_mine;
  const bool other_number =
      PyLong_Check(other) || PyFloat_Check(other) ||
      PyObject_TypeCheck(other, &PyIntegerArrType_Type) ||
      PyObject_TypeCheck(other, &PyFloatingArrType_Type) ||
      PyObject_TypeCheck(other, &PyBoolArrType_Type);
  if (!other_mine && !other_number) {
    if (format_of(other) != nullptr) {
      PyErr_Format(PyExc_TypeError,
                   "fixedq: cannot mix %s and %s in arithmetic; convert one explicitly, e.g. "
                   "%s(x)",
                   Py_TYPE(a)->tp_name, Py_TYPE(b)->tp_name, Fmt<Base>::name);
      return nullptr;
    }
    // Arrays and everything else: NumPy's generic scalar arithmetic (ufuncs).
    PyNumberMethods* nm = PyGenericArrType_Type.tp_as_number;
    switch (op) {
      case BinOp::add: return nm->nb_add(a, b);
      case BinOp::sub: return nm->nb_subtract(a, b);
      case BinOp::mul: return nm->nb_multiply(a, b);
      default: return nm->nb_true_divide(a, b);
    }
  }
  const int policy = current_policy();
  if (policy < 0) return nullptr;
  raw_t ra = 0, rb = 0;
  if (!other_mine) {
    const bool is_int = PyLong_Check(other) || PyObject_TypeCheck(other, &PyIntegerArrType_Type) ||
                        PyObject_TypeCheck(other, &PyBoolArrType_Type);
    if (is_int) {
      // Integers take part exactly (as C++ x * n does), as in the array loops.
      long long n = 0;
      if (PyObject_TypeCheck(other, &PyBoolArrType_Type)) {
        const int truth = PyObject_IsTrue(other);
        if (truth < 0) return nullptr;
        n = truth;
      } else {
        PyObject* as_int = PyNumber_Index(other);
        if (as_int == nullptr) return nullptr;
        n = PyLong_AsLongLong(as_int);
        Py_DECREF(as_int);
        if (n == -1 && PyErr_Occurred()) return nullptr;
      }
      const raw_t xr = raw_of<Base>(a_mine ? a : b);
      const auto res = with_policy(policy, [&](auto rtag, auto otag) {
        using T = typename Fmt<Base>::template T<decltype(rtag), decltype(otag)>;
        const T x = T::from_raw(xr);
        switch (op) {
          case BinOp::add: return add_integer(x, n, false);
          case BinOp::sub:
            return a_mine ? add_integer(x, n, true) : integer_minus(n, x);
          case BinOp::mul: return detail::multiply_integer(x, static_cast<std::int64_t>(n));
          default:
            return a_mine ? detail::divide_integer(x, static_cast<std::int64_t>(n))
                          : integer_divide(static_cast<std::int64_t>(n), x);
        }
      });
      if (res.st == status::divide_by_zero || (res.st != status::ok && policy % 3 == kRaise)) {
        set_status_error<Base>(res.st, op == BinOp::add   ? "addition"
                                       : op == BinOp::sub ? "subtraction"
                                       : op == BinOp::mul ? "multiplication"
                                                          : "division");
        return nullptr;
      }
      return new_scalar<Base>(res.raw);
    }
    // A float operand is converted with the policy; out of range it raises.
    if (!raw_from_object<Base>(other, kRoundingOf(policy) * 3 + kRaise, a_mine ? &rb : &ra,
                               " operand")) {
      if (PyErr_ExceptionMatches(PyExc_OverflowError)) {
        PyErr_Clear();
        PyErr_Format(PyExc_OverflowError,
                     "fixedq: the operand %R is out of the range of %s; convert it explicitly "
                     "(fixedq.cast) or use an int, which takes part exactly",
                     other, Fmt<Base>::name);
      }
      return nullptr;
    }
  }
  if (a_mine) ra = raw_of<Base>(a);
  if (b_mine) rb = raw_of<Base>(b);
  const char* what = "addition";
  const auto res = with_policy(policy, [&](auto rtag, auto otag) {
    using T = typename Fmt<Base>::template T<decltype(rtag), decltype(otag)>;
    const T x = T::from_raw(ra), y = T::from_raw(rb);
    switch (op) {
      case BinOp::add: return detail::add(x, y);
      case BinOp::sub: what = "subtraction"; return detail::subtract(x, y);
      case BinOp::mul: what = "multiplication"; return detail::multiply_into<T>(x, y);
      default: what = "division"; return detail::divide_into<T>(x, y);
    }
  });
  if (res.st == status::divide_by_zero ||
      (res.st != status::ok && policy % 3 == kRaise)) {
    set_status_error<Base>(res.st, what);
    return nullptr;
  }
  return new_scalar<Base>(res.raw);
}

template <class Base>
PyObject* nb_add(PyObject* a, PyObject* b) { return scalar_binop<Base>(a, b, BinOp::add); }
template <class Base>
PyObject* nb_sub(PyObject* a, PyObject* b) { return scalar_binop<Base>(a, b, BinOp::sub); }
template <class Base>
PyObject* nb_mul(PyObject* a, PyObject* b) { return scalar_binop<Base>(a, b, BinOp::mul); }
template <class Base>
PyObject* nb_div(PyObject* a, PyObject* b) { return scalar_binop<Base>(a, b, BinOp::div); }

template <class Base, class Fn>
PyObject* scalar_unary(PyObject* self, Fn&& fn, const char* what) {
  const int policy = current_policy();
  if (policy < 0) return nullptr;
  const auto res = with_policy(policy, [&](auto rtag, auto otag) {
    using T = typename Fmt<Base>::template T<decltype(rtag), decltype(otag)>;
    return fn(T::from_raw(raw_of<Base>(self)));
  });
  if (res.st != status::ok && (policy % 3 == kRaise || res.st == status::invalid)) {
    set_status_error<Base>(res.st, what);
    return nullptr;
  }
  return new_scalar<Base>(res.raw);
}

template <class Base>
PyObject* nb_neg(PyObject* self) {
  return scalar_unary<Base>(self, [](auto x) { return detail::negate(x); }, "negation");
}
template <class Base>
PyObject* nb_pos(PyObject* self) {
  Py_INCREF(self);
  return self;
}
template <class Base>
PyObject* nb_abs(PyObject* self) {
  return scalar_unary<Base>(self, [](auto x) { return detail::absolute(x); }, "abs");
}
template <class Base>
int nb_bool(PyObject* self) {
  return raw_of<Base>(self) != 0;
}
template <class Base>
PyObject* nb_float(PyObject* self) {
  return PyFloat_FromDouble(static_cast<double>(Base::from_raw(raw_of<Base>(self))));
}
/// int(x) truncates toward zero, as int(float) does in Python.
template <class Base>
PyObject* nb_int(PyObject* self) {
  const auto raw = raw_of<Base>(self);
  const std::uint64_t whole = detail::shr(detail::magnitude(raw), Base::fraction_bits);
  if (detail::is_negative(raw)) {
    if (whole > 0) return PyNumber_Negative(PyLong_FromUnsignedLongLong(whole));
  }
  return PyLong_FromUnsignedLongLong(whole);
}

template <class Base, class R>
PyObject* round_method(PyObject* self) {
  using raw_t = typename Fmt<Base>::raw_t;
  // The integer nearest to x under R, as a Python int (never overflows).
  const auto raw = raw_of<Base>(self);
  const bool negative = detail::is_negative(raw);
  fraction_class cls{};
  const std::uint64_t t = detail::split(detail::magnitude(raw), Base::fraction_bits, cls);
  const bool inc = fixedq::rounding_traits<R>::increments(negative, (t & 1u) != 0, cls);
  PyObject* mag = PyLong_FromUnsignedLongLong(t);
  if (mag == nullptr) return nullptr;
  if (inc) {
    PyObject* one = PyLong_FromLong(1);
    PyObject* sum = PyNumber_Add(mag, one);
    Py_DECREF(one);
    Py_DECREF(mag);
    mag = sum;
    if (mag == nullptr) return nullptr;
  }
  (void)sizeof(raw_t);
  if (negative) {
    PyObject* neg = PyNumber_Negative(mag);
    Py_DECREF(mag);
    return neg;
  }
  return mag;
}

template <class Base>
PyObject* m_floor(PyObject* self, PyObject*) { return round_method<Base, fixedq::round::floor>(self); }
template <class Base>
PyObject* m_ceil(PyObject* self, PyObject*) { return round_method<Base, fixedq::round::ceil>(self); }
template <class Base>
PyObject* m_trunc(PyObject* self, PyObject*) {
  return round_method<Base, fixedq::round::toward_zero>(self);
}
/// round(x) -> int (ties to even, as Python's round); round(x, ndigits) -> same type.
template <class Base>
PyObject* m_round(PyObject* self, PyObject* args) {
  PyObject* ndigits = Py_None;
  if (!PyArg_ParseTuple(args, "|O:__round__", &ndigits)) return nullptr;
  if (ndigits == Py_None) return round_method<Base, fixedq::round::half_even>(self);
  // Round the exact value to ndigits decimals (ties to even), then convert back.
  PyObject* frac = PyObject_CallMethod(self, "as_integer_ratio", nullptr);
  if (frac == nullptr) return nullptr;
  PyObject* fr = PyObject_Call(g_fraction_type, frac, nullptr);
  Py_DECREF(frac);
  if (fr == nullptr) return nullptr;
  PyObject* rounded = PyObject_CallMethod(fr, "__round__", "O", ndigits);
  Py_DECREF(fr);
  if (rounded == nullptr) return nullptr;
  PyObject* result = PyObject_CallOneArg(reinterpret_cast<PyObject*>(Py_TYPE(self)), rounded);
  Py_DECREF(rounded);
  return result;
}

template <class Base>
PyObject* m_as_integer_ratio(PyObject* self, PyObject*) {
  const auto raw = raw_of<Base>(self);
  std::uint64_t mag = detail::magnitude(raw);
  int f = Base::fraction_bits;
  while (f > 0 && mag != 0 && (mag & 1u) == 0) {
    mag >>= 1;
    --f;
  }
  if (mag == 0) f = 0;
  PyObject* num = PyLong_FromUnsignedLongLong(mag);
  if (num == nullptr) return nullptr;
  if (detail::is_negative(raw) && mag != 0) {
    PyObject* neg = PyNumber_Negative(num);
    Py_DECREF(num);
    if (neg == nullptr) return nullptr;
    num = neg;
  }
  PyObject* one = PyLong_FromLong(1);
  PyObject* shift = PyLong_FromLong(f);
  PyObject* den = (one && shift) ? PyNumber_Lshift(one, shift) : nullptr;
  Py_XDECREF(one);
  Py_XDECREF(shift);
  if (den == nullptr) {
    Py_DECREF(num);
    return nullptr;
  }
  return Py_BuildValue("(NN)", num, den);
}

template <class Base>
PyObject* m_from_raw(PyObject* cls, PyObject* arg) {
  using raw_t = typename Fmt<Base>::raw_t;
  PyObject* as_int = PyNumber_Index(arg);
  if (as_int == nullptr) {
    PyErr_Format(PyExc_TypeError, "fixedq: %s.from_raw(raw) expects an int, not '%.200s'",
                 Fmt<Base>::name, Py_TYPE(arg)->tp_name);
    return nullptr;
  }
  int overflow = 0;
  long long v = 0;
  unsigned long long uv = 0;
  bool in_range;
  if constexpr (std::is_signed_v<raw_t>) {
    v = PyLong_AsLongLongAndOverflow(as_int, &overflow);
    in_range = overflow == 0 && !(v == -1 && PyErr_Occurred()) &&
               v >= std::numeric_limits<raw_t>::lowest() && v <= std::numeric_limits<raw_t>::max();
  } else {
    uv = PyLong_AsUnsignedLongLong(as_int);
    in_range = !PyErr_Occurred() && uv <= std::numeric_limits<raw_t>::max();
    v = static_cast<long long>(uv);
  }
  if (!in_range) {
    PyErr_Clear();
    PyErr_Format(PyExc_OverflowError,
                 "fixedq: %s.from_raw(raw): %R is out of the raw range [%lld, %lld] of a %d-bit "
                 "integer",
                 Fmt<Base>::name, as_int,
                 static_cast<long long>(std::numeric_limits<raw_t>::lowest()),
                 static_cast<long long>(std::numeric_limits<raw_t>::max()), Base::total_bits);
    Py_DECREF(as_int);
    return nullptr;
  }
  Py_DECREF(as_int);
  PyTypeObject* tp = reinterpret_cast<PyTypeObject*>(cls);
  PyObject* obj = tp->tp_alloc(tp, 0);
  if (obj != nullptr) reinterpret_cast<typename Fmt<Base>::Object*>(obj)->raw = static_cast<raw_t>(v);
  return obj;
}

template <class Base>
PyObject* m_reduce(PyObject* self, PyObject*) {
  PyObject* from_raw = PyObject_GetAttrString(reinterpret_cast<PyObject*>(Py_TYPE(self)), "from_raw");
  if (from_raw == nullptr) return nullptr;
  const auto raw = raw_of<Base>(self);
  PyObject* raw_obj = std::is_signed_v<decltype(raw)>
                          ? PyLong_FromLongLong(static_cast<long long>(raw))
                          : PyLong_FromUnsignedLongLong(static_cast<unsigned long long>(raw));
  return Py_BuildValue("(N(N))", from_raw, raw_obj);
}

template <class Base>
PyObject* get_raw(PyObject* self, void*) {
  const auto raw = raw_of<Base>(self);
  if constexpr (std::is_signed_v<decltype(raw)>) {
    return PyLong_FromLongLong(static_cast<long long>(raw));
  } else {
    return PyLong_FromUnsignedLongLong(static_cast<unsigned long long>(raw));
  }
}

template <class Base>
PyObject* get_class_const(PyObject* cls, const char* which) {
  using L = std::numeric_limits<Base>;
  const Base v = std::strcmp(which, "max") == 0 ? L::max()
                 : std::strcmp(which, "min") == 0 ? L::lowest()
                                                   : L::epsilon();
  return new_scalar<Base>(v.raw());
  (void)cls;
}

// ------------------------------------------------------------------------------------------
// Array functions (PyArray_ArrFuncs)
// ------------------------------------------------------------------------------------------
template <class Base>
PyObject* arr_getitem(void* data, void*) {
  typename Fmt<Base>::raw_t raw;
  std::memcpy(&raw, data, sizeof raw);
  return new_scalar<Base>(raw);
}

template <class Base>
int arr_setitem(PyObject* item, void* data, void*) {
  typename Fmt<Base>::raw_t raw = 0;
  if (PyObject_TypeCheck(item, &Fmt<Base>::type)) {
    raw = raw_of<Base>(item);
  } else {
    const int policy = current_policy();
    if (policy < 0 || !raw_from_object<Base>(item, policy, &raw, " array element")) return -1;
  }
  std::memcpy(data, &raw, sizeof raw);
  return 0;
}

template <class Raw>
void byteswap(Raw* p) {
  auto* b = reinterpret_cast<unsigned char*>(p);
  for (std::size_t i = 0; i < sizeof(Raw) / 2; ++i) std::swap(b[i], b[sizeof(Raw) - 1 - i]);
}

template <class Base>
void arr_copyswapn(void* dst, npy_intp dstride, void* src, npy_intp sstride, npy_intp n, int swap,
                   void*) {
  using raw_t = typename Fmt<Base>::raw_t;
  auto* d = static_cast<char*>(dst);
  auto* s = static_cast<char*>(src);
  if (src != nullptr) {
    if (sstride == static_cast<npy_intp>(sizeof(raw_t)) &&
        dstride == static_cast<npy_intp>(sizeof(raw_t))) {
      std::memcpy(d, s, static_cast<std::size_t>(n) * sizeof(raw_t));
    } else {
      for (npy_intp i = 0; i < n; ++i) std::memcpy(d + i * dstride, s + i * sstride, sizeof(raw_t));
    }
  }
  if (swap) {
    for (npy_intp i = 0; i < n; ++i) byteswap(reinterpret_cast<raw_t*>(d + i * dstride));
  }
}

template <class Base>
void arr_copyswap(void* dst, void* src, int swap, void*) {
  using raw_t = typename Fmt<Base>::raw_t;
  if (src != nullptr) std::memcpy(dst, src, sizeof(raw_t));
  if (swap) byteswap(static_cast<raw_t*>(dst));
}

template <class Base>
npy_bool arr_nonzero(void* data, void*) {
  typename Fmt<Base>::raw_t raw;
  std::memcpy(&raw, data, sizeof raw);
  return raw != 0;
}

template <class Base>
int arr_compare(const void* a, const void* b, void*) {
  typename Fmt<Base>::raw_t x, y;
  std::memcpy(&x, a, sizeof x);
  std::memcpy(&y, b, sizeof y);
  return x < y ? -1 : (y < x ? 1 : 0);
}

template <class Base>
int arr_argmax(void* data, npy_intp n, npy_intp* index, void*) {
  const auto* p = static_cast<const typename Fmt<Base>::raw_t*>(data);
  npy_intp best = 0;
  for (npy_intp i = 1; i < n; ++i) {
    if (p[i] > p[best]) best = i;
  }
  *index = best;
  return 0;
}

template <class Base>
int arr_argmin(void* data, npy_intp n, npy_intp* index, void*) {
  const auto* p = static_cast<const typename Fmt<Base>::raw_t*>(data);
  npy_intp best = 0;
  for (npy_intp i = 1; i < n; ++i) {
    if (p[i] < p[best]) best = i;
  }
  *index = best;
  return 0;
}

/// arange: data[0], data[1] given; fill the rest with data[0] + i * (data[1] - data[0]).
template <class Base>
int arr_fill(void* data, npy_intp n, void*) {
  using raw_t = typename Fmt<Base>::raw_t;
  auto* p = static_cast<raw_t*>(data);
  if (n < 2) return 0;
  const long double start = static_cast<long double>(p[0]);
  const long double delta = static_cast<long double>(p[1]) - start;
  for (npy_intp i = 2; i < n; ++i) {
    const long double v = start + delta * static_cast<long double>(i);
    if (v < static_cast<long double>(std::numeric_limits<raw_t>::lowest()) ||
        v > static_cast<long double>(std::numeric_limits<raw_t>::max())) {
      PyErr_Format(PyExc_OverflowError, "fixedq: arange leaves the range of %s", Fmt<Base>::name);
      return -1;
    }
    p[i] = static_cast<raw_t>(v);
  }
  return 0;
}

// ------------------------------------------------------------------------------------------
// Exact dot products (np.dot, np.matmul, sum): a signed 192-bit accumulator of exact raw
// products, rounded once at the end.
// ------------------------------------------------------------------------------------------
struct Acc192 {
  std::uint64_t w[3] = {0, 0, 0};  // two's complement, little-endian words

  void add_signed(bool negative, u128 mag) {
    std::uint64_t v0 = detail::low64(mag), v1 = detail::low64(detail::shr(mag, 64)), v2 = 0;
    if (negative) {  // two's complement of the 192-bit magnitude
      v0 = ~v0;
      v1 = ~v1;
      v2 = ~v2;
      v0 += 1;
      if (v0 == 0) {
        v1 += 1;
        if (v1 == 0) v2 += 1;
      }
    }
    std::uint64_t c = 0;
    const std::uint64_t s0 = w[0] + v0;
    c = s0 < w[0];
    const std::uint64_t t1 = w[1] + v1;
    const std::uint64_t c1 = t1 < w[1];
    const std::uint64_t s1 = t1 + c;
    c = c1 | (s1 < t1);
    w[0] = s0;
    w[1] = s1;
    w[2] = w[2] + v2 + c;
  }
  bool negative() const { return (w[2] >> 63) != 0; }
  /// |value| as (high word, low 128 bits).
  void magnitude(std::uint64_t& high, u128& low) const {
    std::uint64_t v0 = w[0], v1 = w[1], v2 = w[2];
    if (negative()) {
      v0 = ~v0;
      v1 = ~v1;
      v2 = ~v2;
      v0 += 1;
      if (v0 == 0) {
        v1 += 1;
        if (v1 == 0) v2 += 1;
      }
    }
    high = v2;
    low = (u128(v1) << 64) | u128(v0);
  }
};

/// The exact sum of products, rounded once with (R, O) into T (whose raws are products of
/// `shift` + F fraction bits, shift = F for a dot product of two T, 0 for a sum).
template <class T>
detail::raw_result<T> finish_acc(const Acc192& acc, int shift) {
  using raw_t = typename T::raw_type;
  std::uint64_t high = 0;
  u128 low = 0;
  acc.magnitude(high, low);
  const bool negative = acc.negative();
  if (high == 0) {
    return detail::round_shift_fit<raw_t, typename T::rounding_policy,
                                   typename T::overflow_policy>(negative, low, shift);
  }
  // Beyond 128 bits: shift right (<= 64) with rounding information, then fit.
  fraction_class cls{};
  u128 t = detail::split(low, shift, cls);
  if (shift > 0) t = t | (u128(high) << (128 - shift));
  const bool still_big = shift == 0 || (high >> shift) != 0;
  if (still_big) {
    // Certainly out of range; under wrap only the low bits matter.
    const u128 big = (u128(1) << 100) | u128(detail::low64(t));
    return detail::round_fit<raw_t, typename T::rounding_policy, typename T::overflow_policy>(
        negative, big, cls);
  }
  return detail::round_fit<raw_t, typename T::rounding_policy, typename T::overflow_policy>(
      negative, t, cls);
}

template <class Base>
void arr_dot(void* ip1, npy_intp is1, void* ip2, npy_intp is2, void* op, npy_intp n, void*) {
  using raw_t = typename Fmt<Base>::raw_t;
  const int policy = current_policy();
  if (policy < 0) return;
  Acc192 acc;
  const char* a = static_cast<const char*>(ip1);
  const char* b = static_cast<const char*>(ip2);
  for (npy_intp i = 0; i < n; ++i) {
    raw_t x, y;
    std::memcpy(&x, a + i * is1, sizeof x);
    std::memcpy(&y, b + i * is2, sizeof y);
    acc.add_signed(detail::is_negative(x) != detail::is_negative(y),
                   detail::mul_wide<u128>(detail::magnitude(x), detail::magnitude(y)));
  }
  const auto res = with_policy(policy, [&](auto rtag, auto otag) {
    using T = typename Fmt<Base>::template T<decltype(rtag), decltype(otag)>;
    return finish_acc<T>(acc, Base::fraction_bits);
  });
  if (res.st != status::ok && policy % 3 == kRaise) set_status_error<Base>(res.st, "dot product");
  std::memcpy(op, &res.raw, sizeof res.raw);
}

// ------------------------------------------------------------------------------------------
// Ufunc loops
// ------------------------------------------------------------------------------------------
/// Runs a loop body under the current policy and reports its worst status.
template <class Base, class Body>
void run_loop(const char* what, Body&& body) {
  const int policy = current_policy();
  if (policy < 0) return;
  status worst = status::ok;
  with_policy(policy, [&](auto rtag, auto otag) {
    using T = typename Fmt<Base>::template T<decltype(rtag), decltype(otag)>;
    body(static_cast<T*>(nullptr), worst);
  });
  if (worst == status::ok) return;
  if (policy % 3 == kRaise) {
    set_status_error<Base>(worst, what);
  } else {
    flag_status(worst);
  }
}

inline void note(status& worst, status st) {
  if (st != status::ok && (worst == status::ok || st == status::divide_by_zero)) worst = st;
}

enum class KernelOp { none, add, subtract, multiply, divide };

/// Reports the result of a vectorised kernel like run_loop does.
template <class Base>
void report_kernel(int policy, int flags, const char* what) {
  const status st = status_of_flags(flags);
  if (st == status::ok) return;
  if (policy % 3 == kRaise) {
    set_status_error<Base>(st, what);
  } else {
    flag_status(st);
  }
}

template <class Base, class Op>
void binary_loop(char** args, const npy_intp* dims, const npy_intp* steps, const char* what,
                 Op op, KernelOp kop = KernelOp::none) {
  using raw_t = typename Fmt<Base>::raw_t;
  const npy_intp n = dims[0];
  constexpr int kf = kernel_format<Base>();
  if constexpr (kf >= 0) {
    constexpr npy_intp sz = sizeof(raw_t);
    if (kop != KernelOp::none && steps[0] == sz && steps[1] == sz && steps[2] == sz) {
      const int policy = current_policy();
      if (policy < 0) return;
      const auto& t = fixedq::kernels::fixed_kernels();
      const fixedq::kernels::binary_fn fn = kop == KernelOp::add        ? t.add[kf][policy]
                                            : kop == KernelOp::subtract ? t.subtract[kf][policy]
                                            : kop == KernelOp::multiply ? t.multiply[kf][policy]
                                                                        : t.divide[kf][policy];
      const int flags = fn(args[0], args[1], args[2], n);
      if ((flags & fixedq::kernels::flag_out_of_kernel) == 0) {
        report_kernel<Base>(policy, flags, what);
        return;
      }
      // Some element needs the exact generic path (e.g. a huge quotient under wrap).
    }
  }
  char *a = args[0], *b = args[1], *out = args[2];
  const npy_intp sa = steps[0], sb = steps[1], so = steps[2];
  run_loop<Base>(what, [&](auto* tag, status& worst) {
    using T = std::remove_pointer_t<decltype(tag)>;
    for (npy_intp i = 0; i < n; ++i) {
      raw_t x, y;
      std::memcpy(&x, a + i * sa, sizeof x);
      std::memcpy(&y, b + i * sb, sizeof y);
      const auto r = op(T::from_raw(x), T::from_raw(y));
      note(worst, r.st);
      std::memcpy(out + i * so, &r.raw, sizeof r.raw);
    }
  });
}

template <class Base>
void add_loop(char** args, const npy_intp* dims, const npy_intp* steps, void*) {
  using raw_t = typename Fmt<Base>::raw_t;
  // A reduction (np.sum, np.add.reduce): accumulate exactly, fit once at the end.
  if (steps[0] == 0 && steps[2] == 0 && args[0] == args[2]) {
    run_loop<Base>("sum", [&](auto* tag, status& worst) {
      using T = std::remove_pointer_t<decltype(tag)>;
      Acc192 acc;
      raw_t start;
      std::memcpy(&start, args[0], sizeof start);
      acc.add_signed(detail::is_negative(start), u128(detail::magnitude(start)));
      for (npy_intp i = 0; i < dims[0]; ++i) {
        raw_t x;
        std::memcpy(&x, args[1] + i * steps[1], sizeof x);
        acc.add_signed(detail::is_negative(x), u128(detail::magnitude(x)));
      }
      const auto r = finish_acc<T>(acc, 0);
      note(worst, r.st);
      std::memcpy(args[2], &r.raw, sizeof r.raw);
    });
    return;
  }
  binary_loop<Base>(args, dims, steps, "addition", [](auto x, auto y) { return detail::add(x, y); },
                    KernelOp::add);
}
template <class Base>
void subtract_loop(char** args, const npy_intp* dims, const npy_intp* steps, void*) {
  binary_loop<Base>(args, dims, steps, "subtraction",
                    [](auto x, auto y) { return detail::subtract(x, y); }, KernelOp::subtract);
}
template <class Base>
void multiply_loop(char** args, const npy_intp* dims, const npy_intp* steps, void*) {
  binary_loop<Base>(
      args, dims, steps, "multiplication",
      [](auto x, auto y) { return detail::multiply_into<decltype(x)>(x, y); }, KernelOp::multiply);
}
template <class Base>
void divide_loop(char** args, const npy_intp* dims, const npy_intp* steps, void*) {
  binary_loop<Base>(
      args, dims, steps, "division",
      [](auto x, auto y) { return detail::divide_into<decltype(x)>(x, y); }, KernelOp::divide);
}
template <class Base>
void minimum_loop(char** args, const npy_intp* dims, const npy_intp* steps, void*) {
  binary_loop<Base>(args, dims, steps, "minimum", [](auto x, auto y) {
    return detail::result<typename Fmt<Base>::raw_t>{(y < x ? y : x).raw(), status::ok};
  });
}
template <class Base>
void maximum_loop(char** args, const npy_intp* dims, const npy_intp* steps, void*) {
  binary_loop<Base>(args, dims, steps, "maximum", [](auto x, auto y) {
    return detail::result<typename Fmt<Base>::raw_t>{(x < y ? y : x).raw(), status::ok};
  });
}

template <class Base, class Op>
void unary_loop(char** args, const npy_intp* dims, const npy_intp* steps, const char* what, Op op) {
  using raw_t = typename Fmt<Base>::raw_t;
  const npy_intp n = dims[0];
  char *a = args[0], *out = args[1];
  const npy_intp sa = steps[0], so = steps[1];
  run_loop<Base>(what, [&](auto* tag, status& worst) {
    using T = std::remove_pointer_t<decltype(tag)>;
    for (npy_intp i = 0; i < n; ++i) {
      raw_t x;
      std::memcpy(&x, a + i * sa, sizeof x);
      const auto r = op(T::from_raw(x));
      note(worst, r.st);
      std::memcpy(out + i * so, &r.raw, sizeof r.raw);
    }
  });
}

#define FIXEDQ_UNARY_LOOP(NAME, WHAT, EXPR)                                                  \
  template <class Base>                                                                      \
  void NAME(char** args, const npy_intp* dims, const npy_intp* steps, void*) {               \
    unary_loop<Base>(args, dims, steps, WHAT, [](auto x) { return EXPR; });                  \
  }
FIXEDQ_UNARY_LOOP(negative_loop, "negation", detail::negate(x))
FIXEDQ_UNARY_LOOP(positive_loop, "positive",
                  (detail::result<typename Fmt<Base>::raw_t>{x.raw(), status::ok}))
FIXEDQ_UNARY_LOOP(absolute_loop, "absolute", detail::absolute(x))
FIXEDQ_UNARY_LOOP(sqrt_loop, "sqrt", detail::sqrt(x))
FIXEDQ_UNARY_LOOP(floor_loop, "floor", detail::round_integral<fixedq::round::floor>(x))
FIXEDQ_UNARY_LOOP(ceil_loop, "ceil", detail::round_integral<fixedq::round::ceil>(x))
FIXEDQ_UNARY_LOOP(trunc_loop, "trunc", detail::round_integral<fixedq::round::toward_zero>(x))
FIXEDQ_UNARY_LOOP(rint_loop, "rint", detail::round_integral<typename decltype(x)::rounding_policy>(x))
FIXEDQ_UNARY_LOOP(sign_loop, "sign",
                  (detail::from_integer<decltype(x)>(x.raw() > 0 ? 1 : (x.raw() < 0 ? -1 : 0))))
#undef FIXEDQ_UNARY_LOOP

template <class Base, class Cmp>
void compare_loop(char** args, const npy_intp* dims, const npy_intp* steps, Cmp cmp) {
  using raw_t = typename Fmt<Base>::raw_t;
  for (npy_intp i = 0; i < dims[0]; ++i) {
    raw_t x, y;
    std::memcpy(&x, args[0] + i * steps[0], sizeof x);
    std::memcpy(&y, args[1] + i * steps[1], sizeof y);
    *reinterpret_cast<npy_bool*>(args[2] + i * steps[2]) = cmp(x, y) ? 1 : 0;
  }
}
#define FIXEDQ_COMPARE_LOOP(NAME, OP)                                                    \
  template <class Base>                                                                  \
  void NAME(char** args, const npy_intp* dims, const npy_intp* steps, void*) {           \
    compare_loop<Base>(args, dims, steps, [](auto x, auto y) { return x OP y; });        \
  }
FIXEDQ_COMPARE_LOOP(equal_loop, ==)
FIXEDQ_COMPARE_LOOP(not_equal_loop, !=)
FIXEDQ_COMPARE_LOOP(less_loop, <)
FIXEDQ_COMPARE_LOOP(less_equal_loop, <=)
FIXEDQ_COMPARE_LOOP(greater_loop, >)
FIXEDQ_COMPARE_LOOP(greater_equal_loop, >=)
#undef FIXEDQ_COMPARE_LOOP

template <class Base>
void isfinite_loop(char** args, const npy_intp* dims, const npy_intp* steps, void*) {
  for (npy_intp i = 0; i < dims[0]; ++i) *reinterpret_cast<npy_bool*>(args[1] + i * steps[1]) = 1;
}
template <class Base>
void isnan_loop(char** args, const npy_intp* dims, const npy_intp* steps, void*) {
  for (npy_intp i = 0; i < dims[0]; ++i) *reinterpret_cast<npy_bool*>(args[1] + i * steps[1]) = 0;
}

// ------------------------------------------------------------------------------------------
// Mixed loops: a fixed array with an int64 or float64 operand (Python numbers and NumPy
// arrays of other dtypes land here; NEP 50 weak scalars included).
//  - Integers take part exactly, as in C++ `x * n`: x + n, x - n, x * n, x / n and n / x
//    are computed exactly and rounded once; comparisons are exact.
//  - A float operand is first converted to the fixed format with the policy's rounding;
//    a float outside the format's range raises OverflowError (whatever the overflow
//    policy: it governs results, not operands) and NaN raises ValueError. Comparisons
//    with floats are exact.
// ------------------------------------------------------------------------------------------
enum class MixedOp { add, sub, mul, div };

/// args: fixed/integer or integer/fixed (FixedFirst says which), output fixed.
template <class Base, MixedOp Op, bool FixedFirst, class Int = std::int64_t>
void mixed_int_loop(char** args, const npy_intp* dims, const npy_intp* steps, void*) {
  using raw_t = typename Fmt<Base>::raw_t;
  const char* what = Op == MixedOp::add ? "addition" : Op == MixedOp::sub ? "subtraction"
                     : Op == MixedOp::mul ? "multiplication" : "division";
  run_loop<Base>(what, [&](auto* tag, status& worst) {
    using T = std::remove_pointer_t<decltype(tag)>;
    const int fi = FixedFirst ? 0 : 1, ii = FixedFirst ? 1 : 0;
    for (npy_intp i = 0; i < dims[0]; ++i) {
      raw_t xr;
      Int n;
      std::memcpy(&xr, args[fi] + i * steps[fi], sizeof xr);
      std::memcpy(&n, args[ii] + i * steps[ii], sizeof n);
      const T x = T::from_raw(xr);
      detail::raw_result<T> r;
      if constexpr (Op == MixedOp::add) {
        r = add_integer(x, n, false);
      } else if constexpr (Op == MixedOp::sub) {
        r = FixedFirst ? add_integer(x, n, true) : integer_minus(n, x);
      } else if constexpr (Op == MixedOp::mul) {
        r = detail::multiply_integer(x, n);
      } else {
        r = FixedFirst ? detail::divide_integer(x, n) : integer_divide(n, x);
      }
      note(worst, r.st);
      std::memcpy(args[2] + i * steps[2], &r.raw, sizeof r.raw);
    }
  });
}

/// args: fixed/float64 or float64/fixed; the float is converted with the policy first.
template <class Base, MixedOp Op, bool FixedFirst>
void mixed_float_loop(char** args, const npy_intp* dims, const npy_intp* steps, void*) {
  using raw_t = typename Fmt<Base>::raw_t;
  const char* what = Op == MixedOp::add ? "addition" : Op == MixedOp::sub ? "subtraction"
                     : Op == MixedOp::mul ? "multiplication" : "division";
  bool bad_operand = false, nan = false;
  double bad_value = 0;
  run_loop<Base>(what, [&](auto* tag, status& worst) {
    using T = std::remove_pointer_t<decltype(tag)>;
    const int fi = FixedFirst ? 0 : 1, di = FixedFirst ? 1 : 0;
    for (npy_intp i = 0; i < dims[0]; ++i) {
      raw_t xr;
      double d;
      std::memcpy(&xr, args[fi] + i * steps[fi], sizeof xr);
      std::memcpy(&d, args[di] + i * steps[di], sizeof d);
      const auto conv = detail::from_double<raw_t, typename T::rounding_policy,
                                            typename T::overflow_policy>(d, T::fraction_bits);
      if (conv.st != status::ok) {
        nan |= conv.st == status::invalid;
        if (!bad_operand) bad_value = d;
        bad_operand = true;
        break;
      }
      const T x = T::from_raw(xr), y = T::from_raw(conv.raw);
      const T a = FixedFirst ? x : y, b = FixedFirst ? y : x;
      detail::raw_result<T> r;
      if constexpr (Op == MixedOp::add) r = detail::add(a, b);
      if constexpr (Op == MixedOp::sub) r = detail::subtract(a, b);
      if constexpr (Op == MixedOp::mul) r = detail::multiply_into<T>(a, b);
      if constexpr (Op == MixedOp::div) r = detail::divide_into<T>(a, b);
      note(worst, r.st);
      std::memcpy(args[2] + i * steps[2], &r.raw, sizeof r.raw);
    }
  });
  if (bad_operand && !PyErr_Occurred()) {
    if (nan) {
      PyErr_Format(PyExc_ValueError, "fixedq: cannot convert NaN to %s", Fmt<Base>::name);
    } else {
      PyObject* value = PyFloat_FromDouble(bad_value);
      if (value != nullptr) {
        PyErr_Format(PyExc_OverflowError,
                     "fixedq: the operand %R is out of the range of %s; convert it explicitly "
                     "(fixedq.cast) or use an int, which takes part exactly",
                     value, Fmt<Base>::name);
        Py_DECREF(value);
      }
    }
  }
}

/// Exact comparisons of a fixed array with int64 or float64 values.
template <class Base, class Other, int Op, bool FixedFirst>
void mixed_compare_loop(char** args, const npy_intp* dims, const npy_intp* steps, void*) {
  using raw_t = typename Fmt<Base>::raw_t;
  const int fi = FixedFirst ? 0 : 1, oi = FixedFirst ? 1 : 0;
  // Comparing other OP x is comparing x (mirrored OP) other.
  constexpr int op = FixedFirst ? Op
                     : Op == Py_LT ? Py_GT
                     : Op == Py_LE ? Py_GE
                     : Op == Py_GT ? Py_LT
                     : Op == Py_GE ? Py_LE
                                   : Op;
  for (npy_intp i = 0; i < dims[0]; ++i) {
    raw_t xr;
    Other v;
    std::memcpy(&xr, args[fi] + i * steps[fi], sizeof xr);
    std::memcpy(&v, args[oi] + i * steps[oi], sizeof v);
    const Exact a = exact_of_raw(xr, Base::fraction_bits);
    bool result;
    if constexpr (std::is_same_v<Other, double>) {
      if (std::isnan(v)) {
        result = op == Py_NE;
      } else {
        const int c = std::isinf(v) ? (v > 0 ? -1 : 1) : compare_with_double(a, v);
        result = cmp_result(c, op);
      }
    } else {
      result = cmp_result(compare_exact(a, exact_of_raw(v, 0)), op);
    }
    *reinterpret_cast<npy_bool*>(args[2] + i * steps[2]) = result ? 1 : 0;
  }
}

template <class Base>
int register_ufunc(PyObject* numpy, const char* name, PyUFuncGenericFunction fn,
                   std::initializer_list<int> types);

template <class Base>
int register_mixed_loops(PyObject* numpy) {
  // (No uint64 loops: NEP 50 lets a Python int match any integer loop, and NumPy would pick
  // uint64 for negative ints. uint64 arrays promote through float64, as in NumPy.)
  const int T = Fmt<Base>::typenum, L = NPY_INT64, D = NPY_DOUBLE, B = NPY_BOOL;
  struct Entry {
    const char* name;
    PyUFuncGenericFunction fn;
    std::initializer_list<int> types;
  };
  const Entry entries[] = {
      {"add", mixed_int_loop<Base, MixedOp::add, true>, {T, L, T}},
      {"add", mixed_int_loop<Base, MixedOp::add, false>, {L, T, T}},
      {"subtract", mixed_int_loop<Base, MixedOp::sub, true>, {T, L, T}},
      {"subtract", mixed_int_loop<Base, MixedOp::sub, false>, {L, T, T}},
      {"multiply", mixed_int_loop<Base, MixedOp::mul, true>, {T, L, T}},
      {"multiply", mixed_int_loop<Base, MixedOp::mul, false>, {L, T, T}},
      {"true_divide", mixed_int_loop<Base, MixedOp::div, true>, {T, L, T}},
      {"true_divide", mixed_int_loop<Base, MixedOp::div, false>, {L, T, T}},
      {"add", mixed_float_loop<Base, MixedOp::add, true>, {T, D, T}},
      {"add", mixed_float_loop<Base, MixedOp::add, false>, {D, T, T}},
      {"subtract", mixed_float_loop<Base, MixedOp::sub, true>, {T, D, T}},
      {"subtract", mixed_float_loop<Base, MixedOp::sub, false>, {D, T, T}},
      {"multiply", mixed_float_loop<Base, MixedOp::mul, true>, {T, D, T}},
      {"multiply", mixed_float_loop<Base, MixedOp::mul, false>, {D, T, T}},
      {"true_divide", mixed_float_loop<Base, MixedOp::div, true>, {T, D, T}},
      {"true_divide", mixed_float_loop<Base, MixedOp::div, false>, {D, T, T}},
#define FIXEDQ_MIXED_CMP(NAME, OP)                                        \
  {NAME, mixed_compare_loop<Base, std::int64_t, OP, true>, {T, L, B}},   \
      {NAME, mixed_compare_loop<Base, std::int64_t, OP, false>, {L, T, B}}, \
      {NAME, mixed_compare_loop<Base, double, OP, true>, {T, D, B}},     \
      {NAME, mixed_compare_loop<Base, double, OP, false>, {D, T, B}},
      FIXEDQ_MIXED_CMP("equal", Py_EQ) FIXEDQ_MIXED_CMP("not_equal", Py_NE)
      FIXEDQ_MIXED_CMP("less", Py_LT) FIXEDQ_MIXED_CMP("less_equal", Py_LE)
      FIXEDQ_MIXED_CMP("greater", Py_GT) FIXEDQ_MIXED_CMP("greater_equal", Py_GE)
#undef FIXEDQ_MIXED_CMP
  };
  for (const Entry& e : entries) {
    if (register_ufunc<Base>(numpy, e.name, e.fn, e.types) < 0) return -1;
  }
  return 0;
}

/// np.matmul: (n?,k),(k,m?)->(n?,m?), each output an exact dot product rounded once.
template <class Base>
void matmul_loop(char** args, const npy_intp* dims, const npy_intp* steps, void*) {
  using raw_t = typename Fmt<Base>::raw_t;
  const npy_intp outer = dims[0], m = dims[1], k = dims[2], p = dims[3];
  const npy_intp s_outer_a = steps[0], s_outer_b = steps[1], s_outer_c = steps[2];
  const npy_intp a_m = steps[3], a_k = steps[4], b_k = steps[5], b_p = steps[6];
  const npy_intp c_m = steps[7], c_p = steps[8];
  run_loop<Base>("matmul", [&](auto* tag, status& worst) {
    using T = std::remove_pointer_t<decltype(tag)>;
    for (npy_intp o = 0; o < outer; ++o) {
      const char* A = args[0] + o * s_outer_a;
      const char* B = args[1] + o * s_outer_b;
      char* C = args[2] + o * s_outer_c;
      for (npy_intp i = 0; i < m; ++i) {
        for (npy_intp j = 0; j < p; ++j) {
          Acc192 acc;
          for (npy_intp l = 0; l < k; ++l) {
            raw_t x, y;
            std::memcpy(&x, A + i * a_m + l * a_k, sizeof x);
            std::memcpy(&y, B + l * b_k + j * b_p, sizeof y);
            acc.add_signed(detail::is_negative(x) != detail::is_negative(y),
                           detail::mul_wide<u128>(detail::magnitude(x), detail::magnitude(y)));
          }
          const auto r = finish_acc<T>(acc, Base::fraction_bits);
          note(worst, r.st);
          std::memcpy(C + i * c_m + j * c_p, &r.raw, sizeof r.raw);
        }
      }
    }
  });
}

// ------------------------------------------------------------------------------------------
// Casts
// ------------------------------------------------------------------------------------------
/// float16 <-> double, exactly / correctly rounded (ties to even), no npymath needed.
double half_to_double(npy_half h) {
  const int sign = (h >> 15) & 1, exp = (h >> 10) & 0x1F, mant = h & 0x3FF;
  double v;
  if (exp == 0) {
    v = std::ldexp(static_cast<double>(mant), -24);
  } else if (exp == 31) {
    v = mant ? std::numeric_limits<double>::quiet_NaN() : std::numeric_limits<double>::infinity();
  } else {
    v = std::ldexp(static_cast<double>(mant | 0x400), exp - 25);
  }
  return sign ? -v : v;
}

npy_half double_to_half(double d) {
  std::uint64_t bits;
  std::memcpy(&bits, &d, sizeof bits);
  const std::uint16_t sign = static_cast<std::uint16_t>((bits >> 48) & 0x8000u);
  const double a = std::fabs(d);
  if (std::isnan(d)) return static_cast<npy_half>(sign | 0x7E00u);
  if (a >= 65520.0) return static_cast<npy_half>(sign | 0x7C00u);  // rounds to inf
  // Scale so that the half's last mantissa bit is the unit, then round to nearest even.
  int e;
  std::frexp(a, &e);  // a = m * 2^e, m in [0.5, 1)
  const int unit_exp = e - 11 < -24 ? -24 : e - 11;  // subnormals have unit 2^-24
  const double scaled = std::ldexp(a, -unit_exp);     // exact
  double r = std::nearbyint(scaled);                  // default rounding mode: ties to even
  std::uint32_t m = static_cast<std::uint32_t>(r);
  int ue = unit_exp;
  if (m == 0x800u) {  // carried into the next binade
    m = 0x400u;
    ue += 1;
  }
  if (m < 0x400u) return static_cast<npy_half>(sign | m);  // subnormal (or zero)
  const int biased = ue + 10 + 15;
  if (biased >= 31) return static_cast<npy_half>(sign | 0x7C00u);
  return static_cast<npy_half>(sign | (biased << 10) | (m & 0x3FFu));
}

/// x as a double rounded to odd (sticky), so that a second rounding to a narrower float
/// (float16) gives the correctly rounded value.
template <class Raw>
double to_double_round_odd(Raw raw, int frac_bits) {
  std::uint64_t mag = detail::magnitude(raw);
  int drop = 0;
  while ((mag >> drop) >= (std::uint64_t{1} << 53)) ++drop;
  std::uint64_t kept = mag >> drop;
  if (drop > 0 && (mag & ((std::uint64_t{1} << drop) - 1)) != 0) kept |= 1u;
  const double v = std::ldexp(static_cast<double>(kept), drop - frac_bits);
  return detail::is_negative(raw) ? -v : v;
}

/// npy_bool is unsigned char (as npy_ubyte) and npy_half is npy_uint16 (as npy_ushort):
/// casts name those two by tag types so that they never collide with the integers.
struct BoolTag {};
struct HalfTag {};
template <class C>
struct storage {
  using type = C;
};
template <>
struct storage<BoolTag> {
  using type = npy_bool;
};
template <>
struct storage<HalfTag> {
  using type = npy_half;
};

template <class Base, class C>
void cast_to(void* from, void* to, npy_intp n, void*, void*) {
  using raw_t = typename Fmt<Base>::raw_t;
  using To = typename storage<C>::type;
  const auto* src = static_cast<const raw_t*>(from);
  auto* dst = static_cast<To*>(to);
  if constexpr (std::is_same_v<C, BoolTag>) {
    for (npy_intp i = 0; i < n; ++i) dst[i] = src[i] != 0;
  } else if constexpr (std::is_same_v<C, HalfTag>) {
    for (npy_intp i = 0; i < n; ++i) dst[i] = double_to_half(to_double_round_odd(src[i], Base::fraction_bits));
  } else if constexpr (std::is_same_v<To, double> && kernel_format<Base>() >= 0) {
    fixedq::kernels::fixed_kernels().to_double[kernel_format<Base>()](src, dst, n);
  } else if constexpr (std::is_floating_point_v<To>) {
    for (npy_intp i = 0; i < n; ++i) {
      if constexpr (std::is_same_v<To, long double>) {
        dst[i] = std::ldexp(static_cast<long double>(src[i]), -Base::fraction_bits);
      } else {
        dst[i] = static_cast<To>(Base::from_raw(src[i]));
      }
    }
  } else {
    // To an integer: truncation toward zero (as NumPy's float->int astype), then the
    // overflow policy against the integer's range.
    const int policy = current_policy();
    if (policy < 0) return;
    status worst = status::ok;
    with_overflow(policy, [&](auto otag) {
      using T = typename Base::template with_policy<fixedq::round::toward_zero, decltype(otag)>;
      for (npy_intp i = 0; i < n; ++i) {
        const auto r = detail::to_integer<To>(T::from_raw(src[i]));
        note(worst, r.st);
        dst[i] = r.raw;
      }
    });
    if (worst != status::ok && policy % 3 == kRaise) set_status_error<Base>(worst, "cast to integer");
  }
}

template <class Base, class C>
void cast_from(void* from, void* to, npy_intp n, void*, void*) {
  using raw_t = typename Fmt<Base>::raw_t;
  using From = typename storage<C>::type;
  const auto* src = static_cast<const From*>(from);
  auto* dst = static_cast<raw_t*>(to);
  const int policy = current_policy();
  if (policy < 0) return;
  status worst = status::ok;
  if constexpr (std::is_same_v<From, double> && kernel_format<Base>() >= 0) {
    const int flags = fixedq::kernels::fixed_kernels().from_double[kernel_format<Base>()][policy](src, dst, n);
    if ((flags & fixedq::kernels::flag_out_of_kernel) == 0) {
      report_kernel<Base>(policy, flags, "cast from another dtype");
      return;
    }
    // NaN, infinities or huge values: redo the whole buffer on the generic path below.
  }
  if constexpr (std::is_floating_point_v<From> || std::is_same_v<C, HalfTag>) {
    bool nan = false;
    with_policy(policy, [&](auto rtag, auto otag) {
      using R = decltype(rtag);
      using O = decltype(otag);
      for (npy_intp i = 0; i < n; ++i) {
        double d;
        if constexpr (std::is_same_v<C, HalfTag>) {
          d = half_to_double(src[i]);
        } else {
          // long double: values beyond double precision are first rounded to double.
          d = static_cast<double>(src[i]);
        }
        nan |= std::isnan(d);
        const auto r = detail::from_double<raw_t, R, O>(d, Base::fraction_bits);
        note(worst, r.st);
        dst[i] = r.raw;
      }
    });
    if (nan) {
      PyErr_Format(PyExc_ValueError, "fixedq: cannot convert NaN to %s", Fmt<Base>::name);
      return;
    }
  } else {
    // Integers scale exactly: only the overflow policy matters.
    with_overflow(policy, [&](auto otag) {
      using T = typename Base::template with_policy<fixedq::round::half_even, decltype(otag)>;
      for (npy_intp i = 0; i < n; ++i) {
        const auto r = std::is_same_v<C, BoolTag> ? detail::from_integer<T>(src[i] != 0 ? 1 : 0)
                                                  : detail::from_integer<T>(src[i]);
        note(worst, r.st);
        dst[i] = r.raw;
      }
    });
  }
  if (worst != status::ok && policy % 3 == kRaise) {
    set_status_error<Base>(worst, "cast from another dtype");
  }
}

template <class Base, class FromBase>
void cast_fixed(void* from, void* to, npy_intp n, void*, void*) {
  using raw_t = typename Fmt<Base>::raw_t;
  using from_t = typename Fmt<FromBase>::raw_t;
  const auto* src = static_cast<const from_t*>(from);
  auto* dst = static_cast<raw_t*>(to);
  const int policy = current_policy();
  if (policy < 0) return;
  status worst = status::ok;
  with_policy(policy, [&](auto rtag, auto otag) {
    using T = typename Fmt<Base>::template T<decltype(rtag), decltype(otag)>;
    for (npy_intp i = 0; i < n; ++i) {
      const auto r = detail::convert<T>(FromBase::from_raw(src[i]));
      note(worst, r.st);
      dst[i] = r.raw;
    }
  });
  if (worst != status::ok && policy % 3 == kRaise) set_status_error<Base>(worst, "cast");
}

// ------------------------------------------------------------------------------------------
// Registration
// ------------------------------------------------------------------------------------------
template <class Base>
int register_ufunc(PyObject* numpy, const char* name, PyUFuncGenericFunction fn,
                   std::initializer_list<int> types) {
  PyObject* ufunc = PyObject_GetAttrString(numpy, name);
  if (ufunc == nullptr) return -1;
  if (!PyObject_TypeCheck(ufunc, &PyUFunc_Type)) {
    Py_DECREF(ufunc);
    PyErr_Format(PyExc_TypeError, "numpy.%s is not a ufunc", name);
    return -1;
  }
  auto* uf = reinterpret_cast<PyUFuncObject*>(ufunc);
  if (static_cast<std::size_t>(uf->nargs) != types.size()) {
    Py_DECREF(ufunc);
    PyErr_Format(PyExc_RuntimeError, "fixedq: numpy.%s takes %d operands, not %d", name,
                 uf->nargs, static_cast<int>(types.size()));
    return -1;
  }
  int t[8];
  int i = 0;
  for (int x : types) t[i++] = x;
  const int rc = PyUFunc_RegisterLoopForType(uf, Fmt<Base>::typenum, fn, t, nullptr);
  Py_DECREF(ufunc);
  return rc;
}

template <class Base, class C>
int register_cast_pair(int other_typenum, bool safe_into_fixed) {
  PyArray_Descr* other = PyArray_DescrFromType(other_typenum);
  PyArray_Descr* mine = PyArray_DescrFromType(Fmt<Base>::typenum);
  if (other == nullptr || mine == nullptr) return -1;
  int rc = PyArray_RegisterCastFunc(other, Fmt<Base>::typenum, cast_from<Base, C>);
  if (rc == 0) rc = PyArray_RegisterCastFunc(mine, other_typenum, cast_to<Base, C>);
  if (rc == 0 && safe_into_fixed) rc = PyArray_RegisterCanCast(other, Fmt<Base>::typenum, NPY_NOSCALAR);
  Py_DECREF(other);
  Py_DECREF(mine);
  return rc;
}

template <class Base>
int register_builtin_casts() {
  // Every builtin number converts into a fixed format with the current policy; NumPy is
  // told these casts are "safe" so that NEP 50 promotion keeps the fixed dtype
  // (arr + 1, arr * 0.5, fixed and float arrays mixed): the fixed format always wins.
  if (register_cast_pair<Base, BoolTag>(NPY_BOOL, true) < 0) return -1;
  if (register_cast_pair<Base, npy_byte>(NPY_BYTE, true) < 0) return -1;
  if (register_cast_pair<Base, npy_ubyte>(NPY_UBYTE, true) < 0) return -1;
  if (register_cast_pair<Base, npy_short>(NPY_SHORT, true) < 0) return -1;
  if (register_cast_pair<Base, npy_ushort>(NPY_USHORT, true) < 0) return -1;
  if (register_cast_pair<Base, npy_int>(NPY_INT, true) < 0) return -1;
  if (register_cast_pair<Base, npy_uint>(NPY_UINT, true) < 0) return -1;
  if (register_cast_pair<Base, npy_long>(NPY_LONG, true) < 0) return -1;
  if (register_cast_pair<Base, npy_ulong>(NPY_ULONG, true) < 0) return -1;
  if (register_cast_pair<Base, npy_longlong>(NPY_LONGLONG, true) < 0) return -1;
  if (register_cast_pair<Base, npy_ulonglong>(NPY_ULONGLONG, true) < 0) return -1;
  if (register_cast_pair<Base, HalfTag>(NPY_HALF, true) < 0) return -1;
  if (register_cast_pair<Base, npy_float>(NPY_FLOAT, true) < 0) return -1;
  if (register_cast_pair<Base, npy_double>(NPY_DOUBLE, true) < 0) return -1;
  if (register_cast_pair<Base, npy_longdouble>(NPY_LONGDOUBLE, false) < 0) return -1;
  return 0;
}

template <class Base>
int register_ufuncs(PyObject* numpy) {
  const int T = Fmt<Base>::typenum, B = NPY_BOOL;
  struct Entry {
    const char* name;
    PyUFuncGenericFunction fn;
    std::initializer_list<int> types;
  };
  const Entry entries[] = {
      {"add", add_loop<Base>, {T, T, T}},
      {"subtract", subtract_loop<Base>, {T, T, T}},
      {"multiply", multiply_loop<Base>, {T, T, T}},
      {"true_divide", divide_loop<Base>, {T, T, T}},
      {"minimum", minimum_loop<Base>, {T, T, T}},
      {"maximum", maximum_loop<Base>, {T, T, T}},
      {"fmin", minimum_loop<Base>, {T, T, T}},
      {"fmax", maximum_loop<Base>, {T, T, T}},
      {"negative", negative_loop<Base>, {T, T}},
      {"positive", positive_loop<Base>, {T, T}},
      {"absolute", absolute_loop<Base>, {T, T}},
      {"sign", sign_loop<Base>, {T, T}},
      {"sqrt", sqrt_loop<Base>, {T, T}},
      {"floor", floor_loop<Base>, {T, T}},
      {"ceil", ceil_loop<Base>, {T, T}},
      {"trunc", trunc_loop<Base>, {T, T}},
      {"rint", rint_loop<Base>, {T, T}},
      {"isfinite", isfinite_loop<Base>, {T, B}},
      {"isnan", isnan_loop<Base>, {T, B}},
      {"isinf", isnan_loop<Base>, {T, B}},
      {"equal", equal_loop<Base>, {T, T, B}},
      {"not_equal", not_equal_loop<Base>, {T, T, B}},
      {"less", less_loop<Base>, {T, T, B}},
      {"less_equal", less_equal_loop<Base>, {T, T, B}},
      {"greater", greater_loop<Base>, {T, T, B}},
      {"greater_equal", greater_equal_loop<Base>, {T, T, B}},
      {"matmul", matmul_loop<Base>, {T, T, T}},
  };
  for (const Entry& e : entries) {
    if (register_ufunc<Base>(numpy, e.name, e.fn, e.types) < 0) return -1;
  }
  return 0;
}

template <class Base>
PyObject* class_max(PyObject* cls, PyObject*) { return get_class_const<Base>(cls, "max"); }
template <class Base>
PyObject* class_min(PyObject* cls, PyObject*) { return get_class_const<Base>(cls, "min"); }
template <class Base>
PyObject* class_eps(PyObject* cls, PyObject*) { return get_class_const<Base>(cls, "eps"); }

template <class Base>
int register_format(PyObject* module, int index, const char* name, const char* dtype_name,
                     const char* doc) {
  using F = Fmt<Base>;
  using raw_t = typename F::raw_t;
  static std::string qualified = std::string("fixedq.") + name;
  static FormatInfo info{&F::type, index, Base::fraction_bits, &scalar_exact<Base>,
                         [] { return Fmt<Base>::typenum; }};
  F::name = name;
  F::qualified = qualified.c_str();
  F::dtype_name = dtype_name;
  F::doc = doc;
  F::info = &info;
  g_formats[index] = &info;

  static PyNumberMethods number{};
  number.nb_add = nb_add<Base>;
  number.nb_subtract = nb_sub<Base>;
  number.nb_multiply = nb_mul<Base>;
  number.nb_true_divide = nb_div<Base>;
  number.nb_negative = nb_neg<Base>;
  number.nb_positive = nb_pos<Base>;
  number.nb_absolute = nb_abs<Base>;
  number.nb_bool = nb_bool<Base>;
  number.nb_int = nb_int<Base>;
  number.nb_float = nb_float<Base>;

  static PyMethodDef methods[] = {
      {"from_raw", reinterpret_cast<PyCFunction>(m_from_raw<Base>), METH_O | METH_CLASS,
       "from_raw(raw, /)\n--\n\nThe number whose raw integer is `raw` (its value is raw * 2**-F)."},
      {"as_integer_ratio", m_as_integer_ratio<Base>, METH_NOARGS,
       "as_integer_ratio()\n--\n\nThe exact value as a pair (numerator, denominator > 0) in lowest "
       "terms."},
      {"__floor__", m_floor<Base>, METH_NOARGS, "math.floor(x): the largest int <= x."},
      {"__ceil__", m_ceil<Base>, METH_NOARGS, "math.ceil(x): the smallest int >= x."},
      {"__trunc__", m_trunc<Base>, METH_NOARGS, "math.trunc(x): x rounded toward zero, an int."},
      {"__round__", m_round<Base>, METH_VARARGS,
       "round(x[, ndigits]): the nearest int (ties to even), or x rounded to ndigits decimals."},
      {"__reduce__", m_reduce<Base>, METH_NOARGS, "Pickle support."},
      {"max", reinterpret_cast<PyCFunction>(class_max<Base>), METH_NOARGS | METH_CLASS,
       "max()\n--\n\nThe largest value of the format."},
      {"min", reinterpret_cast<PyCFunction>(class_min<Base>), METH_NOARGS | METH_CLASS,
       "min()\n--\n\nThe most negative value of the format."},
      {"eps", reinterpret_cast<PyCFunction>(class_eps<Base>), METH_NOARGS | METH_CLASS,
       "eps()\n--\n\nThe resolution of the format: one raw unit, 2**-F."},
      {nullptr, nullptr, 0, nullptr}};
  static PyGetSetDef getset[] = {
      {"raw", get_raw<Base>, nullptr, "The raw two's-complement integer: the value times 2**F.",
       nullptr},
      {nullptr, nullptr, nullptr, nullptr, nullptr}};

  PyTypeObject& tp = F::type;
  tp.tp_name = F::qualified;
  tp.tp_basicsize = sizeof(typename F::Object);
  tp.tp_flags = Py_TPFLAGS_DEFAULT;
  tp.tp_doc = doc;
  tp.tp_new = scalar_new<Base>;
  tp.tp_repr = scalar_repr<Base>;
  tp.tp_str = scalar_str<Base>;
  tp.tp_hash = scalar_hash<Base>;
  tp.tp_richcompare = scalar_richcompare<Base>;
  tp.tp_as_number = &number;
  tp.tp_methods = methods;
  tp.tp_getset = getset;
  tp.tp_base = &PyGenericArrType_Type;
  if (PyType_Ready(&tp) < 0) return -1;

  PyArray_ArrFuncs& f = F::funcs;
  PyArray_InitArrFuncs(&f);
  f.getitem = arr_getitem<Base>;
  f.setitem = arr_setitem<Base>;
  f.copyswapn = arr_copyswapn<Base>;
  f.copyswap = arr_copyswap<Base>;
  f.nonzero = arr_nonzero<Base>;
  f.compare = arr_compare<Base>;
  f.argmax = arr_argmax<Base>;
  f.argmin = arr_argmin<Base>;
  f.dotfunc = arr_dot<Base>;
  f.fill = arr_fill<Base>;

  PyArray_DescrProto& d = F::proto;
  Py_SET_TYPE(&d, &PyArrayDescr_Type);
  d.typeobj = &tp;
  d.kind = 'V';
  d.type = static_cast<char>('a' + index);  // distinct type chars per format
  d.byteorder = '=';
  d.flags = NPY_NEEDS_PYAPI | NPY_USE_GETITEM | NPY_USE_SETITEM;
  d.type_num = 0;
  d.elsize = sizeof(raw_t);
  d.alignment = alignof(raw_t);
  d.f = &f;
  F::typenum = PyArray_RegisterDataType(&d);
  if (F::typenum < 0) return -1;

  // tp_dict["dtype"] for convenience: Fixed16_16.dtype is the numpy dtype.
  PyArray_Descr* descr = PyArray_DescrFromType(F::typenum);
  if (descr == nullptr) return -1;
  if (PyDict_SetItemString(tp.tp_dict, "dtype", reinterpret_cast<PyObject*>(descr)) < 0) {
    Py_DECREF(descr);
    return -1;
  }
  // The string name: np.dtype("fixed16_16").
  PyObject* sctype_dict = nullptr;
  {
    PyObject* numerictypes = PyImport_ImportModule("numpy");
    if (numerictypes == nullptr) return -1;
    sctype_dict = PyObject_GetAttrString(numerictypes, "sctypeDict");
    Py_DECREF(numerictypes);
  }
  if (sctype_dict == nullptr) {
    Py_DECREF(descr);
    return -1;
  }
  const int rc = PyDict_SetItemString(sctype_dict, dtype_name, reinterpret_cast<PyObject*>(&tp));
  Py_DECREF(sctype_dict);
  Py_DECREF(descr);
  if (rc < 0) return -1;
  PyType_Modified(&tp);

  if (register_builtin_casts<Base>() < 0) return -1;

  Py_INCREF(&tp);
  if (PyModule_AddObject(module, name, reinterpret_cast<PyObject*>(&tp)) < 0) {
    Py_DECREF(&tp);
    return -1;
  }
  return 0;
}

template <class To, class From>
int register_fixed_cast() {
  PyArray_Descr* from = PyArray_DescrFromType(Fmt<From>::typenum);
  if (from == nullptr) return -1;
  const int rc = PyArray_RegisterCastFunc(from, Fmt<To>::typenum, cast_fixed<To, From>);
  Py_DECREF(from);
  return rc;
}

template <class... Bases>
struct FormatList {
  template <class To>
  static int casts_into() {
    int rc = 0;
    ((rc = rc < 0 ? rc : (std::is_same_v<To, Bases> ? 0 : register_fixed_cast<To, Bases>())), ...);
    return rc;
  }
  static int all_casts() {
    int rc = 0;
    ((rc = rc < 0 ? rc : casts_into<Bases>()), ...);
    return rc;
  }
  static int all_ufuncs(PyObject* numpy) {
    int rc = 0;
    // Mixed loops first: NumPy's search takes the first registered loop the operands can
    // be cast to safely, and (fixed, fixed) would otherwise absorb every int and float.
    ((rc = rc < 0 ? rc : register_mixed_loops<Bases>(numpy)), ...);
    ((rc = rc < 0 ? rc : register_ufuncs<Bases>(numpy)), ...);
    return rc;
  }
};

using Formats = FormatList<fixedq::Fixed8_8, fixedq::Fixed16_16, fixedq::Fixed24_8,
                           fixedq::Fixed32_32, fixedq::Q7, fixedq::Q15, fixedq::Q31>;

// ------------------------------------------------------------------------------------------
// Stochastic rounding (explicit calls only): the exact result x rounds up to the next
// representable value with probability (x - floor(x)) / ulp, decided by caller-supplied
// uniform 64-bit random numbers, so a seed reproduces the result.
// ------------------------------------------------------------------------------------------
template <class Raw, class O, class W>
detail::result<Raw> stochastic_fit(bool negative, W t, std::uint64_t frac64, std::uint64_t u) {
  // In magnitude terms the rounding is up with probability frac for both signs.
  const bool inc = u < frac64;
  if (!inc && t == W(0)) negative = false;
  return detail::fit<Raw, O>(negative, t, inc);
}

template <class Base, class O>
detail::result<typename Fmt<Base>::raw_t> stochastic_mul(typename Fmt<Base>::raw_t a,
                                                        typename Fmt<Base>::raw_t b,
                                                        std::uint64_t u) {
  constexpr int F = Base::fraction_bits;
  const u128 mag = detail::mul_wide<u128>(detail::magnitude(a), detail::magnitude(b));
  const u128 t = detail::shr(mag, F);
  const std::uint64_t rem = detail::low64(F == 0 ? u128(0) : u128(mag & ((u128(1) << F) - u128(1))));
  const std::uint64_t frac64 = F == 0 ? 0 : rem << (64 - F);
  return stochastic_fit<typename Fmt<Base>::raw_t, O>(detail::is_negative(a) != detail::is_negative(b), t,
                                                      frac64, u);
}

template <class Base, class O>
detail::result<typename Fmt<Base>::raw_t> stochastic_div(typename Fmt<Base>::raw_t a,
                                                        typename Fmt<Base>::raw_t b,
                                                        std::uint64_t u) {
  using raw_t = typename Fmt<Base>::raw_t;
  if (b == 0) return {raw_t(0), status::divide_by_zero};
  const u128 num = u128(detail::magnitude(a)) << Base::fraction_bits;
  const u128 den = u128(detail::magnitude(b));
  const u128 q = num / den;
  const u128 rem = num - q * den;  // < den < 2^64
  const std::uint64_t frac64 = detail::low64((rem << 64) / den);
  return stochastic_fit<raw_t, O>(detail::is_negative(a) != detail::is_negative(b), q, frac64, u);
}

template <class Base, class O>
detail::result<typename Fmt<Base>::raw_t> stochastic_from_double(double d, std::uint64_t u) {
  using raw_t = typename Fmt<Base>::raw_t;
  if (std::isnan(d)) return {raw_t(0), status::invalid};
  if (std::isinf(d)) return detail::from_double<raw_t, fixedq::round::floor, O>(d, 0);
  const bool negative = d < 0;
  const double y = std::ldexp(std::fabs(d), Base::fraction_bits);
  if (y >= 18446744073709551616.0) return detail::from_double<raw_t, fixedq::round::floor, O>(d, Base::fraction_bits);
  const auto t = static_cast<std::uint64_t>(y);
  const double frac = y - static_cast<double>(t);
  const auto frac64 = static_cast<std::uint64_t>(std::ldexp(frac, 64));  // exact, frac < 1
  return stochastic_fit<raw_t, O>(negative, t, frac64, u);
}

template <class Base, class O, class FromBase>
detail::result<typename Fmt<Base>::raw_t> stochastic_convert(typename Fmt<FromBase>::raw_t x,
                                                            std::uint64_t u) {
  using raw_t = typename Fmt<Base>::raw_t;
  constexpr int shift = FromBase::fraction_bits - Base::fraction_bits;
  const bool negative = detail::is_negative(x);
  const u128 mag = u128(detail::magnitude(x));
  if constexpr (shift <= 0) {
    return detail::fit<raw_t, O>(negative, u128(mag << -shift), false);
  } else {
    const u128 t = detail::shr(mag, shift);
    const std::uint64_t rem = detail::low64(mag & ((u128(1) << shift) - u128(1)));
    return stochastic_fit<raw_t, O>(negative, t, rem << (64 - shift), u);
  }
}

/// Checks that `obj` is a C-contiguous aligned array of `typenum` with `size` elements.
PyArrayObject* checked_array(PyObject* obj, int typenum, npy_intp size, const char* what) {
  if (!PyArray_Check(obj)) {
    PyErr_Format(PyExc_TypeError, "fixedq: %s must be a numpy array", what);
    return nullptr;
  }
  auto* arr = reinterpret_cast<PyArrayObject*>(obj);
  if (PyArray_TYPE(arr) != typenum || !PyArray_IS_C_CONTIGUOUS(arr) || !PyArray_ISALIGNED(arr) ||
      (size >= 0 && PyArray_SIZE(arr) != size)) {
    PyErr_Format(PyExc_TypeError, "fixedq: internal: %s has the wrong dtype, layout or size", what);
    return nullptr;
  }
  return arr;
}

template <class Base, class FromBase>
bool stochastic_convert_fixed(PyArrayObject* xa, const std::uint64_t* bits, typename Fmt<Base>::raw_t* out,
                              npy_intp n, int overflow, status& worst, bool& handled) {
  if (PyArray_TYPE(xa) != Fmt<FromBase>::typenum) return false;
  handled = true;
  const auto* x = static_cast<const typename Fmt<FromBase>::raw_t*>(PyArray_DATA(xa));
  with_overflow(overflow, [&](auto otag) {
    for (npy_intp i = 0; i < n; ++i) {
      const auto r = stochastic_convert<Base, decltype(otag), FromBase>(x[i], bits[i]);
      note(worst, r.st);
      out[i] = r.raw;
    }
  });
  return true;
}

template <class Base>
PyObject* stochastic_impl(const std::string& op, PyObject* x_obj, PyObject* y_obj, PyObject* bits_obj,
                          int overflow) {
  using raw_t = typename Fmt<Base>::raw_t;
  const int T = Fmt<Base>::typenum;
  PyArrayObject* bits_arr = checked_array(bits_obj, NPY_UINT64, -1, "random bits");
  if (bits_arr == nullptr) return nullptr;
  const npy_intp n = PyArray_SIZE(bits_arr);
  const auto* bits = static_cast<const std::uint64_t*>(PyArray_DATA(bits_arr));
  PyObject* out_obj = PyArray_New(&PyArray_Type, PyArray_NDIM(bits_arr), PyArray_DIMS(bits_arr), T,
                                  nullptr, nullptr, 0, 0, nullptr);
  if (out_obj == nullptr) return nullptr;
  auto* out = static_cast<raw_t*>(PyArray_DATA(reinterpret_cast<PyArrayObject*>(out_obj)));
  status worst = status::ok;
  bool nan = false;
  if (op == "mul" || op == "div") {
    PyArrayObject* xa = checked_array(x_obj, T, n, "x");
    PyArrayObject* ya = xa ? checked_array(y_obj, T, n, "y") : nullptr;
    if (ya == nullptr) {
      Py_DECREF(out_obj);
      return nullptr;
    }
    const auto* x = static_cast<const raw_t*>(PyArray_DATA(xa));
    const auto* y = static_cast<const raw_t*>(PyArray_DATA(ya));
    const bool mul = op == "mul";
    with_overflow(overflow, [&](auto otag) {
      using O = decltype(otag);
      for (npy_intp i = 0; i < n; ++i) {
        const auto r = mul ? stochastic_mul<Base, O>(x[i], y[i], bits[i])
                           : stochastic_div<Base, O>(x[i], y[i], bits[i]);
        note(worst, r.st);
        out[i] = r.raw;
      }
    });
  } else if (op == "cast_float") {
    PyArrayObject* xa = checked_array(x_obj, NPY_DOUBLE, n, "x");
    if (xa == nullptr) {
      Py_DECREF(out_obj);
      return nullptr;
    }
    const auto* x = static_cast<const double*>(PyArray_DATA(xa));
    with_overflow(overflow, [&](auto otag) {
      for (npy_intp i = 0; i < n; ++i) {
        nan |= std::isnan(x[i]);
        const auto r = stochastic_from_double<Base, decltype(otag)>(x[i], bits[i]);
        note(worst, r.st);
        out[i] = r.raw;
      }
    });
  } else if (op == "cast_fixed") {
    if (!PyArray_Check(x_obj) || !PyArray_IS_C_CONTIGUOUS(reinterpret_cast<PyArrayObject*>(x_obj)) ||
        PyArray_SIZE(reinterpret_cast<PyArrayObject*>(x_obj)) != n) {
      Py_DECREF(out_obj);
      PyErr_SetString(PyExc_TypeError, "fixedq: internal: x must be a contiguous fixed-point array");
      return nullptr;
    }
    auto* xa = reinterpret_cast<PyArrayObject*>(x_obj);
    bool handled = false;
    stochastic_convert_fixed<Base, fixedq::Fixed8_8>(xa, bits, out, n, overflow, worst, handled) ||
        stochastic_convert_fixed<Base, fixedq::Fixed16_16>(xa, bits, out, n, overflow, worst, handled) ||
        stochastic_convert_fixed<Base, fixedq::Fixed24_8>(xa, bits, out, n, overflow, worst, handled) ||
        stochastic_convert_fixed<Base, fixedq::Fixed32_32>(xa, bits, out, n, overflow, worst, handled) ||
        stochastic_convert_fixed<Base, fixedq::Q7>(xa, bits, out, n, overflow, worst, handled) ||
        stochastic_convert_fixed<Base, fixedq::Q15>(xa, bits, out, n, overflow, worst, handled) ||
        stochastic_convert_fixed<Base, fixedq::Q31>(xa, bits, out, n, overflow, worst, handled);
    if (!handled) {
      Py_DECREF(out_obj);
      PyErr_SetString(PyExc_TypeError, "fixedq: internal: x is not a fixed-point array");
      return nullptr;
    }
  } else {
    Py_DECREF(out_obj);
    PyErr_Format(PyExc_ValueError, "fixedq: internal: unknown stochastic operation '%s'", op.c_str());
    return nullptr;
  }
  if (nan) {
    Py_DECREF(out_obj);
    PyErr_Format(PyExc_ValueError, "fixedq: cannot convert NaN to %s", Fmt<Base>::name);
    return nullptr;
  }
  if (worst == status::divide_by_zero || (worst != status::ok && overflow == kRaise)) {
    if (worst == status::divide_by_zero && overflow != kRaise) {
      flag_status(worst);
    } else {
      Py_DECREF(out_obj);
      set_status_error<Base>(worst, op == "mul" ? "multiplication" : op == "div" ? "division" : "cast");
      return nullptr;
    }
  }
  return out_obj;
}

/// _stochastic(op, type, x, y, bits, overflow_index)
PyObject* stochastic(PyObject*, PyObject* args) {
  const char* op = nullptr;
  PyObject *type = nullptr, *x = nullptr, *y = nullptr, *bits = nullptr;
  int overflow = kSaturate;
  if (!PyArg_ParseTuple(args, "sOOOOi:_stochastic", &op, &type, &x, &y, &bits, &overflow)) return nullptr;
  if (overflow < 0 || overflow >= kNumOverflows) {
    PyErr_SetString(PyExc_ValueError, "fixedq: internal: bad overflow index");
    return nullptr;
  }
  const std::string o(op);
  if (type == reinterpret_cast<PyObject*>(&Fmt<fixedq::Fixed8_8>::type)) return stochastic_impl<fixedq::Fixed8_8>(o, x, y, bits, overflow);
  if (type == reinterpret_cast<PyObject*>(&Fmt<fixedq::Fixed16_16>::type)) return stochastic_impl<fixedq::Fixed16_16>(o, x, y, bits, overflow);
  if (type == reinterpret_cast<PyObject*>(&Fmt<fixedq::Fixed24_8>::type)) return stochastic_impl<fixedq::Fixed24_8>(o, x, y, bits, overflow);
  if (type == reinterpret_cast<PyObject*>(&Fmt<fixedq::Fixed32_32>::type)) return stochastic_impl<fixedq::Fixed32_32>(o, x, y, bits, overflow);
  if (type == reinterpret_cast<PyObject*>(&Fmt<fixedq::Q7>::type)) return stochastic_impl<fixedq::Q7>(o, x, y, bits, overflow);
  if (type == reinterpret_cast<PyObject*>(&Fmt<fixedq::Q15>::type)) return stochastic_impl<fixedq::Q15>(o, x, y, bits, overflow);
  if (type == reinterpret_cast<PyObject*>(&Fmt<fixedq::Q31>::type)) return stochastic_impl<fixedq::Q31>(o, x, y, bits, overflow);
  PyErr_SetString(PyExc_TypeError, "fixedq: internal: not a fixedq type");
  return nullptr;
}

PyObject* set_policy_var(PyObject*, PyObject* var) {
  if (!PyContextVar_CheckExact(var)) {
    PyErr_SetString(PyExc_TypeError, "fixedq: expected a contextvars.ContextVar");
    return nullptr;
  }
  Py_INCREF(var);
  Py_XSETREF(g_policy_var, var);
  Py_RETURN_NONE;
}

PyObject* policy_names(PyObject*, PyObject*) {
  PyObject* r = PyTuple_New(kNumRoundings);
  PyObject* o = PyTuple_New(kNumOverflows);
  if (r == nullptr || o == nullptr) {
    Py_XDECREF(r);
    Py_XDECREF(o);
    return nullptr;
  }
  for (int i = 0; i < kNumRoundings; ++i) PyTuple_SET_ITEM(r, i, PyUnicode_FromString(kRoundingNames[i]));
  for (int i = 0; i < kNumOverflows; ++i) PyTuple_SET_ITEM(o, i, PyUnicode_FromString(kOverflowNames[i]));
  return Py_BuildValue("(NN)", r, o);
}

PyObject* kernel_isa(PyObject*, PyObject*) {
  return PyUnicode_FromString(fixedq::kernels::fixed_kernels().isa);
}

PyMethodDef g_module_functions[] = {
    {"isa", kernel_isa, METH_NOARGS,
     "isa()\n--\n\nThe instruction set of the vectorised kernels in use: 'avx512', 'avx2' or "
     "'scalar' (FIXEDQ_ISA=<name> in the environment forces a lower one)."},
    {"_set_policy_var", set_policy_var, METH_O,
     "Install the contextvars.ContextVar that holds the current policy code."},
    {"_policy_names", policy_names, METH_NOARGS,
     "The rounding and overflow names, in the order of their codes."},
    {"_stochastic", stochastic, METH_VARARGS,
     "_stochastic(op, type, x, y, bits, overflow): stochastic rounding kernels."},
    {nullptr, nullptr, 0, nullptr}};

}  // namespace
}  // namespace fixedq_py

int fixedq_register_dtypes(PyObject* module) {
  using namespace fixedq_py;
  if (PyArray_ImportNumPyAPI() < 0) return -1;
  if (PyUFunc_ImportUFuncAPI() < 0) return -1;
  PyObject* fractions = PyImport_ImportModule("fractions");
  if (fractions == nullptr) return -1;
  g_fraction_type = PyObject_GetAttrString(fractions, "Fraction");
  Py_DECREF(fractions);
  if (g_fraction_type == nullptr) return -1;
  if (PyModule_AddFunctions(module, g_module_functions) < 0) return -1;

  if (register_format<fixedq::Fixed8_8>(module, 0, "Fixed8_8", "fixed8_8",
                                        "Fixed8_8(value=0)\n--\n\nSigned fixed point with 8 integer "
                                        "bits (sign included) and 8 fraction bits, stored in int16.") < 0 ||
      register_format<fixedq::Fixed16_16>(module, 1, "Fixed16_16", "fixed16_16",
                                          "Fixed16_16(value=0)\n--\n\nSigned fixed point Q16.16: 16 "
                                          "integer bits (sign included), 16 fraction bits, int32.") < 0 ||
      register_format<fixedq::Fixed24_8>(module, 2, "Fixed24_8", "fixed24_8",
                                         "Fixed24_8(value=0)\n--\n\nSigned fixed point with 24 "
                                         "integer bits (sign included), 8 fraction bits, int32.") < 0 ||
      register_format<fixedq::Fixed32_32>(module, 3, "Fixed32_32", "fixed32_32",
                                          "Fixed32_32(value=0)\n--\n\nSigned fixed point Q32.32: 32 "
                                          "integer bits (sign included), 32 fraction bits, int64.") < 0 ||
      register_format<fixedq::Q7>(module, 4, "Q7", "q7",
                                  "Q7(value=0)\n--\n\nSigned fractional Q0.7 (1 sign bit, 7 fraction "
                                  "bits), int8: [-1, 1 - 2**-7].") < 0 ||
      register_format<fixedq::Q15>(module, 5, "Q15", "q15",
                                   "Q15(value=0)\n--\n\nSigned fractional Q0.15 (1 sign bit, 15 "
                                   "fraction bits), int16: [-1, 1 - 2**-15].") < 0 ||
      register_format<fixedq::Q31>(module, 6, "Q31", "q31",
                                   "Q31(value=0)\n--\n\nSigned fractional Q0.31 (1 sign bit, 31 "
                                   "fraction bits), int32: [-1, 1 - 2**-31].") < 0) {
    return -1;
  }
  PyObject* numpy = PyImport_ImportModule("numpy");
  if (numpy == nullptr) return -1;
  int rc = Formats::all_casts();
  if (rc == 0) rc = Formats::all_ufuncs(numpy);
  Py_DECREF(numpy);
  return rc;
}
