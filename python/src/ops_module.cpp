// fixedq._core.ops: the int8 kernels of <fixedq/kernels/int8/int8.hpp> on NumPy arrays.
//
// The public face is python/fixedq/ops.py (ONNX operator semantics, argument normalisation,
// docstrings); this file is the thin, strict layer under it:
//
// * Arrays are taken as they are: no forcecast. Each entry point checks the dtype itself and
//   raises TypeError naming the argument and the dtypes it accepts. A C-contiguous, aligned
//   input is used in place (no copy); any other layout is copied once into C order.
// * Everything the kernels rely on for memory safety (sizes, shapes, index ranges, int
//   ranges of dimensions) is checked here, so that no call from Python can crash, whatever
//   python/fixedq/ops.py did or did not check before.
// * The GIL is released around the kernel calls (after the raw pointers are taken) unless the
//   work is tiny (release_gil_if_long); nothing inside touches a Python object.
// * Weights are packed once into PackedMatMul / PackedConv objects; calling one costs a dtype
//   and shape check, one output allocation and the kernel.
#include "ops_module.hpp"

#include <fixedq/kernels/int8/int8.hpp>

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace py = pybind11;
namespace q = fixedq::kernels::int8;

namespace {

// ------------------------------------------------------------------------------------------
// Element types and argument checks
// ------------------------------------------------------------------------------------------
enum class elem : unsigned { u8 = 1, s8 = 2, s32 = 4, f32 = 8, f16 = 16, other = 0 };
constexpr unsigned operator|(elem a, elem b) { return static_cast<unsigned>(a) | static_cast<unsigned>(b); }
constexpr unsigned kInt8 = elem::u8 | elem::s8;

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
constexpr char kNativeOrder = '>';
#else
constexpr char kNativeOrder = '<';
#endif

elem elem_of(const py::dtype& dt) {
  const char order = dt.byteorder();
  if (order != '=' && order != '|' && order != kNativeOrder) return elem::other;
  const char kind = dt.kind();
  const auto size = dt.itemsize();
  if (kind == 'u' && size == 1) return elem::u8;
  if (kind == 'i' && size == 1) return elem::s8;
  if (kind == 'i' && size == 4) return elem::s32;
  if (kind == 'f' && size == 4) return elem::f32;
  if (kind == 'f' && size == 2) return elem::f16;
  return elem::other;
}

const char* elem_name(elem t) {
  switch (t) {
    case elem::u8: return "uint8";
    case elem::s8: return "int8";
    case elem::s32: return "int32";
    case elem::f32: return "float32";
    case elem::f16: return "float16";
    case elem::other: break;
  }
  return "?";
}

std::string allowed_names(unsigned mask) {
  std::string s;
  for (elem t : {elem::u8, elem::s8, elem::s32, elem::f32, elem::f16}) {
    if ((mask & static_cast<unsigned>(t)) == 0) continue;
    if (!s.empty()) s += " or ";
    s += elem_name(t);
  }
  return s;
}

q::dtype qtype(elem t) { return t == elem::u8 ? q::dtype::u8 : q::dtype::s8; }
std::int32_t qmin_of(q::dtype t) { return t == q::dtype::u8 ? 0 : -128; }
std::int32_t qmax_of(q::dtype t) { return t == q::dtype::u8 ? 255 : 127; }

template <class... Parts>
std::string cat(const Parts&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  return os.str();
}

std::string shape_str(const py::array& a) {
  std::string s = "(";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) {
    s += std::to_string(a.shape(i));
    if (a.ndim() == 1 || i + 1 < a.ndim()) s += a.ndim() == 1 ? "," : ", ";
  }
  return s + ")";
}

std::string describe_type(py::handle h) {
  if (py::isinstance<py::array>(h)) return cat("dtype ", std::string(py::str(h.attr("dtype"))));
  return cat("an object of type ", Py_TYPE(h.ptr())->tp_name);
}

/// A checked input: C-contiguous and aligned (the argument itself, or one copy of it).
struct arg {
  py::array arr;
  elem type = elem::other;
  const void* data() const { return arr.data(); }
  py::ssize_t size() const { return arr.size(); }
};

arg take(py::handle h, const std::string& op, const char* name, unsigned allowed) {
  if (!py::isinstance<py::array>(h)) {
    throw py::type_error(cat(op, ": ", name, " must be a numpy.ndarray of dtype ", allowed_names(allowed), ", got ",
                             describe_type(h)));
  }
  auto a = py::reinterpret_borrow<py::array>(h);
  const elem t = elem_of(a.dtype());
  if ((static_cast<unsigned>(t) & allowed) == 0) {
    throw py::type_error(cat(op, ": ", name, " must have dtype ", allowed_names(allowed), " (native byte order), got ",
                             describe_type(h)));
  }
  constexpr int need = py::array::c_style | py::detail::npy_api::NPY_ARRAY_ALIGNED_;
  if ((a.flags() & need) != need) {
    a = py::array::ensure(a, need);
    if (!a) throw py::value_error(cat(op, ": could not copy ", name, " into C order"));
  }
  return {std::move(a), t};
}

/// An optional argument: None stays empty.
bool is_none(const py::object& o) { return o.is_none(); }

/// Zero points: a uint8/int8 array with at most one dimension, as int32 values and its type.
struct zero_point_arg {
  std::vector<std::int32_t> values;  ///< empty: none given
  elem type = elem::other;
  bool given() const { return !values.empty() || type != elem::other; }
};

/// `must_match`: the element type of the tensor the zero point belongs to (named `owner`).
zero_point_arg zero_points(const py::object& o, const std::string& op, const char* name, const elem* must_match,
                           const char* owner) {
  zero_point_arg z;
  if (is_none(o)) return z;
  const arg a = take(o, op, name, kInt8);
  if (a.arr.ndim() > 1) {
    throw py::value_error(cat(op, ": ", name, " must be a scalar or 1-D, got shape ", shape_str(a.arr)));
  }
  if (a.size() == 0) throw py::value_error(cat(op, ": ", name, " is empty"));
  if (must_match != nullptr && a.type != *must_match) {
    throw py::type_error(cat(op, ": ", name, " has dtype ", elem_name(a.type), " but ", owner, " has dtype ",
                             elem_name(*must_match), "; a zero point has the dtype of its tensor"));
  }
  z.type = a.type;
  z.values.resize(static_cast<std::size_t>(a.size()));
  for (std::size_t i = 0; i < z.values.size(); ++i) {
    z.values[i] = a.type == elem::u8 ? std::int32_t{static_cast<const std::uint8_t*>(a.data())[i]}
                                     : std::int32_t{static_cast<const std::int8_t*>(a.data())[i]};
  }
  return z;
}

/// Positive finite float32 values with at most one dimension (scales, multipliers).
std::vector<float> positive_floats(const py::object& o, const std::string& op, const char* name, bool allow_zero) {
  const arg a = take(o, op, name, static_cast<unsigned>(elem::f32));
  if (a.arr.ndim() > 1) {
    throw py::value_error(cat(op, ": ", name, " must be a scalar or 1-D, got shape ", shape_str(a.arr)));
  }
  if (a.size() == 0) throw py::value_error(cat(op, ": ", name, " is empty"));
  const float* p = static_cast<const float*>(a.data());
  std::vector<float> v(p, p + a.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    const float s = v[i];
    if (!std::isfinite(s) || s < 0.0f || (s == 0.0f && !allow_zero)) {
      std::ostringstream os;
      os.precision(9);
      os << op << ": " << name << " must be " << (allow_zero ? "non-negative" : "positive") << " and finite, got " << s;
      if (v.size() > 1) os << " at index " << i;
      throw py::value_error(os.str());
    }
  }
  return v;
}

int to_int(py::ssize_t v, const std::string& op, const char* what) {
  if (v < 0 || v > std::numeric_limits<int>::max()) {
    throw py::value_error(cat(op, ": ", what, " = ", v, " is outside the kernels' range [0, 2^31)"));
  }
  return static_cast<int>(v);
}

py::array new_array(elem t, const std::vector<py::ssize_t>& shape) {
  switch (t) {
    case elem::u8: return py::array_t<std::uint8_t>(shape);
    case elem::s8: return py::array_t<std::int8_t>(shape);
    case elem::s32: return py::array_t<std::int32_t>(shape);
    case elem::f32: return py::array_t<float>(shape);
    default: break;
  }
  throw std::logic_error("fixedq: no output array of this type");
}

elem elem_of(q::dtype t) { return t == q::dtype::u8 ? elem::u8 : elem::s8; }

/// Releases the GIL around work of at least 2^14 basic steps (multiply-adds, elements): below
/// that, giving the GIL up and taking it back costs a noticeable part of a tiny call.
class release_gil_if_long {
 public:
  explicit release_gil_if_long(double work) {
    if (work >= 16384.0) release_.emplace();
  }

 private:
  std::optional<py::gil_scoped_release> release_;
};

// ------------------------------------------------------------------------------------------
// The output stage shared by the matmul and conv objects
// ------------------------------------------------------------------------------------------
/// The optional clamp of the output codes, (lo, hi).
using y_clamp_arg = std::optional<std::pair<std::int64_t, std::int64_t>>;

struct requant {
  bool enabled = false;
  std::vector<float> multiplier;  ///< 1 (per tensor) or one per output column/channel
  std::vector<std::int32_t> bias;  ///< empty or one per output channel
  std::int32_t zero_point = 0;
  q::dtype out = q::dtype::u8;
  std::int32_t qmin = 0, qmax = 255;  ///< the output codes' clamp: the dtype's range or y_clamp

  elem out_elem() const { return enabled ? elem_of(out) : elem::s32; }

  /// `y_clamp`: None, or (lo, hi) within the output dtype's range, lo <= hi (a fused Relu/Clip).
  void setup(const py::object& multiplier_obj, const py::object& y_zero_point, const y_clamp_arg& y_clamp,
             const std::string& op, py::ssize_t columns, const char* column_name) {
    if (is_none(multiplier_obj)) {
      if (!is_none(y_zero_point)) throw py::value_error(cat(op, ": y_zero_point given without a multiplier"));
      if (y_clamp) throw py::value_error(cat(op, ": y_clamp given without a multiplier (int32 output)"));
      return;
    }
    enabled = true;
    multiplier = positive_floats(multiplier_obj, op, "multiplier", true);
    if (multiplier.size() != 1 && static_cast<py::ssize_t>(multiplier.size()) != columns) {
      throw py::value_error(cat(op, ": the requantization multiplier has ", multiplier.size(), " values; expected 1 or ",
                                columns, " (", column_name, ")"));
    }
    if (is_none(y_zero_point)) throw py::value_error(cat(op, ": y_zero_point is required with a multiplier"));
    const arg z = take(y_zero_point, op, "y_zero_point", kInt8);
    if (z.size() != 1) {
      throw py::value_error(cat(op, ": y_zero_point must be a scalar (per-tensor), got shape ", shape_str(z.arr)));
    }
    out = qtype(z.type);
    zero_point = z.type == elem::u8 ? std::int32_t{*static_cast<const std::uint8_t*>(z.data())}
                                    : std::int32_t{*static_cast<const std::int8_t*>(z.data())};
    qmin = qmin_of(out);
    qmax = qmax_of(out);
    if (y_clamp) {
      const auto [lo, hi] = *y_clamp;
      if (lo < qmin || hi > qmax || lo > hi) {
        throw py::value_error(cat(op, ": y_clamp = (", lo, ", ", hi, ") must satisfy ", qmin, " <= lo <= hi <= ", qmax,
                                  " (the range of the output dtype ", elem_name(elem_of(out)), ")"));
      }
      qmin = static_cast<std::int32_t>(lo);
      qmax = static_cast<std::int32_t>(hi);
    }
  }

  q::output_stage stage() const {
    q::output_stage st;
    if (!bias.empty()) {
      st.bias = bias.data();
      st.bias_stride = 1;
    }
    if (!enabled) return st;
    st.kind = q::requant_kind::float_half_even;
    st.multiplier = multiplier.data();
    st.multiplier_stride = multiplier.size() > 1 ? 1 : 0;
    st.zero_point = zero_point;
    st.qmin = qmin;
    st.qmax = qmax;
    st.out_type = out;
    return st;
  }
};

py::object dtype_or_none(bool has, elem t) {
  if (!has) return py::none();
  return py::dtype(elem_name(t));
}

// ------------------------------------------------------------------------------------------
// MatMul: B packed once (one packed_b per batch of B)
// ------------------------------------------------------------------------------------------
class PackedMatMul {
 public:
  PackedMatMul(py::handle b, const py::object& b_zero_point, const py::object& a_zero_point,
               const py::object& multiplier, const py::object& y_zero_point, std::string op,
               const y_clamp_arg& y_clamp)
      : op_(std::move(op)) {
    const arg B = take(b, op_, "b", kInt8);
    if (B.arr.ndim() != 2 && B.arr.ndim() != 3) {
      throw py::value_error(cat(op_, ": b must be 2-D (K, N) or 3-D (batch, K, N), got shape ", shape_str(B.arr)));
    }
    const py::ssize_t nd = B.arr.ndim();
    const py::ssize_t batches = nd == 3 ? B.arr.shape(0) : 1;
    k_ = to_int(B.arr.shape(nd - 2), op_, "K (rows of b)");
    n_ = to_int(B.arr.shape(nd - 1), op_, "N (columns of b)");
    b_type_ = B.type;
    const elem bt = B.type;
    zb_ = zero_points(b_zero_point, op_, "b_zero_point", &bt, "b").values;
    if (zb_.size() > 1 && static_cast<int>(zb_.size()) != n_) {
      throw py::value_error(cat(op_, ": b_zero_point has ", zb_.size(), " values; expected 1 (per tensor) or N = ", n_,
                                " (per column)"));
    }
    const zero_point_arg za = zero_points(a_zero_point, op_, "a_zero_point", nullptr, "a");
    if (za.given()) {
      a_fixed_ = true;
      a_type_ = za.type;
      za_ = za.values;
    }
    out_.setup(multiplier, y_zero_point, y_clamp, op_, n_, "N, one per column of b");
    const std::ptrdiff_t per_batch = std::ptrdiff_t{k_} * n_;
    const auto* base = static_cast<const std::uint8_t*>(B.data());
    packed_.reserve(static_cast<std::size_t>(batches));
    release_gil_if_long nogil{double(batches) * per_batch};
    for (py::ssize_t i = 0; i < batches; ++i) {
      packed_.push_back(q::pack_b(base + i * per_batch, qtype(B.type), k_, n_, n_, zb_.empty() ? nullptr : zb_.data(),
                                  zb_.size() > 1));
    }
  }

  /// Y = A B for A (..., K) with the single (2-D) B: shape (..., N).
  py::array call(py::handle a) const {
    const arg A = check_a(a);
    if (A.arr.ndim() < 1) throw py::value_error(cat(op_, ": a must have at least 1 dimension, got a 0-d array"));
    if (packed_.size() != 1) throw py::value_error(cat(op_, ": this object holds a batch of b; use run_batched"));
    const py::ssize_t nd = A.arr.ndim();
    if (A.arr.shape(nd - 1) != k_) {
      throw py::value_error(cat(op_, ": a.shape[-1] must equal K = ", k_, " (the rows of b), got a of shape ",
                                shape_str(A.arr)));
    }
    py::ssize_t rows = 1;
    std::vector<py::ssize_t> shape;
    for (py::ssize_t i = 0; i + 1 < nd; ++i) {
      rows *= A.arr.shape(i);
      shape.push_back(A.arr.shape(i));
    }
    shape.push_back(n_);
    const int m = to_int(rows, op_, "the number of rows of a");
    std::vector<std::int32_t> tiled;
    const std::int32_t* za = nullptr;
    int za_stride = 0;
    if (za_.size() == 1) {
      za = za_.data();
    } else if (za_.size() > 1) {
      if (nd < 2 || A.arr.shape(nd - 2) != static_cast<py::ssize_t>(za_.size())) {
        throw py::value_error(cat(op_, ": a_zero_point has ", za_.size(), " values (per row) but a has shape ",
                                  shape_str(A.arr)));
      }
      tiled.resize(static_cast<std::size_t>(m));
      for (std::size_t i = 0; i < tiled.size(); ++i) tiled[i] = za_[i % za_.size()];
      za = tiled.data();
      za_stride = 1;
    }
    py::array y = new_array(out_.out_elem(), shape);
    q::gemm_args g;
    g.m = m;
    g.a = A.data();
    g.lda = k_;
    g.a_type = qtype(A.type);
    g.za = za;
    g.za_stride = za_stride;
    g.b = &packed_[0];
    g.c = y.mutable_data();
    g.ldc = n_;
    g.stage = out_.stage();
    {
      release_gil_if_long nogil{double(m) * k_ * n_};
      q::gemm(g);
    }
    return y;
  }

  /// out[i] = a3[a_index[i]] @ b[b_index[i]] for a3 (Ba, M, K): shape (len(index), M, N).
  py::array run_batched(py::handle a, py::handle a_index, py::handle b_index) const {
    const arg A = check_a(a);
    if (A.arr.ndim() != 3) throw py::value_error(cat(op_, ": run_batched takes a 3-D a, got ", shape_str(A.arr)));
    if (A.arr.shape(2) != k_) {
      throw py::value_error(cat(op_, ": a.shape[-1] must equal K = ", k_, ", got a of shape ", shape_str(A.arr)));
    }
    const arg ai = take_index(a_index, "a_index");
    const arg bi = take_index(b_index, "b_index");
    if (ai.size() != bi.size()) throw py::value_error(cat(op_, ": a_index and b_index differ in length"));
    const auto* pa = static_cast<const std::int64_t*>(ai.data());
    const auto* pb = static_cast<const std::int64_t*>(bi.data());
    const py::ssize_t count = ai.size(), a_batches = A.arr.shape(0);
    for (py::ssize_t i = 0; i < count; ++i) {
      if (pa[i] < 0 || pa[i] >= a_batches || pb[i] < 0 || pb[i] >= static_cast<std::int64_t>(packed_.size())) {
        throw py::value_error(cat(op_, ": batch index out of range at ", i));
      }
    }
    const int m = to_int(A.arr.shape(1), op_, "M (rows of a)");
    if (za_.size() > 1 && static_cast<int>(za_.size()) != m) {
      throw py::value_error(cat(op_, ": a_zero_point has ", za_.size(), " values (per row) but a has M = ", m, " rows"));
    }
    py::array y = new_array(out_.out_elem(), {count, A.arr.shape(1), n_});
    const std::ptrdiff_t a_step = std::ptrdiff_t{m} * k_;
    const std::ptrdiff_t y_step = std::ptrdiff_t{m} * n_ * static_cast<std::ptrdiff_t>(y.itemsize());
    q::gemm_args g;
    g.m = m;
    g.lda = k_;
    g.a_type = qtype(A.type);
    g.za = za_.empty() ? nullptr : za_.data();
    g.za_stride = za_.size() > 1 ? 1 : 0;
    g.ldc = n_;
    g.stage = out_.stage();
    const auto* a0 = static_cast<const std::uint8_t*>(A.data());
    auto* y0 = static_cast<char*>(y.mutable_data());
    {
      release_gil_if_long nogil{double(count) * m * k_ * n_};
      for (py::ssize_t i = 0; i < count; ++i) {
        g.a = a0 + pa[i] * a_step;
        g.b = &packed_[static_cast<std::size_t>(pb[i])];
        g.c = y0 + i * y_step;
        q::gemm(g);
      }
    }
    return y;
  }

  int k() const { return k_; }
  int n() const { return n_; }
  py::ssize_t batches() const { return static_cast<py::ssize_t>(packed_.size()); }
  py::object a_dtype() const { return dtype_or_none(a_fixed_, a_type_); }
  py::dtype b_dtype() const { return py::dtype(elem_name(b_type_)); }
  py::dtype y_dtype() const { return py::dtype(elem_name(out_.out_elem())); }
  bool per_column() const { return out_.multiplier.size() > 1 || zb_.size() > 1; }

 private:
  arg check_a(py::handle a) const {
    const arg A = take(a, op_, "a", a_fixed_ ? static_cast<unsigned>(a_type_) : kInt8);
    return A;
  }
  arg take_index(py::handle h, const char* name) const {
    if (!py::isinstance<py::array>(h)) throw py::type_error(cat(op_, ": ", name, " must be a 1-D int64 array"));
    auto a = py::reinterpret_borrow<py::array>(h);
    const py::dtype dt = a.dtype();
    const char order = dt.byteorder();
    if (dt.kind() != 'i' || dt.itemsize() != 8 || a.ndim() != 1 ||
        (order != '=' && order != '|' && order != kNativeOrder)) {
      throw py::type_error(cat(op_, ": ", name, " must be a 1-D int64 array"));
    }
    constexpr int need = py::array::c_style | py::detail::npy_api::NPY_ARRAY_ALIGNED_;
    if ((a.flags() & need) != need) {
      a = py::array::ensure(a, need);
      if (!a) throw py::value_error(cat(op_, ": could not copy ", name, " into C order"));
    }
    return {std::move(a), elem::other};
  }

  std::string op_;
  int k_ = 0, n_ = 0;
  elem b_type_ = elem::u8;
  bool a_fixed_ = false;
  elem a_type_ = elem::u8;
  std::vector<std::int32_t> za_, zb_;
  requant out_;
  std::vector<q::packed_b> packed_;
};

// ------------------------------------------------------------------------------------------
// Conv: weights packed once; each call passes its own geometry (any input size, any thread)
// ------------------------------------------------------------------------------------------
enum class auto_pad { notset, same_upper, same_lower, valid };

class PackedConv {
 public:
  PackedConv(py::handle w, const py::object& w_zero_point, const py::object& x_zero_point, const py::object& bias,
             const py::object& multiplier, const py::object& y_zero_point, int group, std::vector<std::int64_t> strides,
             std::vector<std::int64_t> dilations, std::vector<std::int64_t> pads, const std::string& auto_pad_name,
             const std::string& layout_name, std::string op, const y_clamp_arg& y_clamp)
      : op_(std::move(op)) {
    const arg W = take(w, op_, "w", kInt8);
    if (W.arr.ndim() != 4) {
      throw py::value_error(cat(op_, ": w must be 4-D (M, C/group, kH, kW): only 2-D convolutions are supported; got "
                                "shape ",
                                shape_str(W.arr)));
    }
    if (group < 1) throw py::value_error(cat(op_, ": group must be >= 1, got ", group));
    const int oc = to_int(W.arr.shape(0), op_, "the output channels (w.shape[0])");
    const int cg = to_int(W.arr.shape(1), op_, "the input channels per group (w.shape[1])");
    const int kh = to_int(W.arr.shape(2), op_, "the kernel height");
    const int kw = to_int(W.arr.shape(3), op_, "the kernel width");
    if (kh < 1 || kw < 1 || cg < 1) {
      throw py::value_error(cat(op_, ": w of shape ", shape_str(W.arr), " is empty (no kernel taps or input channels)"));
    }
    if (oc % group != 0) {
      throw py::value_error(cat(op_, ": the output channels (w.shape[0] = ", oc, ") must be a multiple of group = ", group));
    }
    if (std::int64_t{cg} * group > std::numeric_limits<int>::max() ||
        std::int64_t{cg} * kh * kw > std::numeric_limits<int>::max()) {
      throw py::value_error(cat(op_, ": w of shape ", shape_str(W.arr), " is too large for the kernels"));
    }
    auto pair = [&](const std::vector<std::int64_t>& v, const char* name, std::int64_t lo) {
      if (v.size() != 2) throw py::value_error(cat(op_, ": ", name, " must have 2 values (2-D), got ", v.size()));
      for (std::int64_t x : v) {
        if (x < lo || x > (1 << 20)) throw py::value_error(cat(op_, ": ", name, " must be in [", lo, ", 2^20], got ", x));
      }
      return std::pair<int, int>(static_cast<int>(v[0]), static_cast<int>(v[1]));
    };
    std::tie(stride_h_, stride_w_) = pair(strides, "strides", 1);
    std::tie(dil_h_, dil_w_) = pair(dilations, "dilations", 1);
    if (pads.size() != 4) throw py::value_error(cat(op_, ": pads must have 4 values [top, left, bottom, right], got ", pads.size()));
    for (std::size_t i = 0; i < 4; ++i) {
      if (pads[i] < 0 || pads[i] > (1 << 20)) {
        throw py::value_error(cat(op_, ": pads must be in [0, 2^20], got ", pads[i]));
      }
      pads_[i] = static_cast<int>(pads[i]);
    }
    if (auto_pad_name == "NOTSET") {
      auto_pad_ = auto_pad::notset;
    } else if (auto_pad_name == "SAME_UPPER") {
      auto_pad_ = auto_pad::same_upper;
    } else if (auto_pad_name == "SAME_LOWER") {
      auto_pad_ = auto_pad::same_lower;
    } else if (auto_pad_name == "VALID") {
      auto_pad_ = auto_pad::valid;
    } else {
      throw py::value_error(cat(op_, ": auto_pad must be 'NOTSET', 'SAME_UPPER', 'SAME_LOWER' or 'VALID', got '",
                                auto_pad_name, "'"));
    }
    if (layout_name == "NCHW") {
      layout_ = q::layout::nchw;
    } else if (layout_name == "NHWC") {
      layout_ = q::layout::nhwc;
    } else {
      throw py::value_error(cat(op_, ": layout must be 'NCHW' or 'NHWC', got '", layout_name, "'"));
    }
    w_type_ = W.type;
    const elem wt = W.type;
    const std::vector<std::int32_t> zw = zero_points(w_zero_point, op_, "w_zero_point", &wt, "w").values;
    if (zw.size() > 1 && static_cast<int>(zw.size()) != oc) {
      throw py::value_error(cat(op_, ": w_zero_point has ", zw.size(), " values; expected 1 (per tensor) or M = ", oc,
                                " (per output channel)"));
    }
    per_channel_ = zw.size() > 1;
    const zero_point_arg zx = zero_points(x_zero_point, op_, "x_zero_point", nullptr, "x");
    if (zx.given()) {
      if (zx.values.size() != 1) {
        throw py::value_error(cat(op_, ": x_zero_point must be a scalar (per-tensor), got ", zx.values.size(),
                                  " values"));
      }
      x_fixed_ = true;
      x_type_ = zx.type;
      zx_ = zx.values[0];
    }
    if (!is_none(bias)) {
      const arg B = take(bias, op_, "B", static_cast<unsigned>(elem::s32));
      if (B.arr.ndim() != 1 || B.size() != oc) {
        throw py::value_error(cat(op_, ": B (the bias) must be 1-D with M = ", oc, " values, got shape ", shape_str(B.arr)));
      }
      const auto* p = static_cast<const std::int32_t*>(B.data());
      out_.bias.assign(p, p + oc);
    }
    out_.setup(multiplier, y_zero_point, y_clamp, op_, oc, "M, one per output channel");
    per_channel_ = per_channel_ || out_.multiplier.size() > 1;

    q::conv_shape s;
    s.batch = 0;
    s.in_channels = cg * group;
    s.out_channels = oc;
    s.kernel_h = kh;
    s.kernel_w = kw;
    s.stride_h = stride_h_;
    s.stride_w = stride_w_;
    s.dilation_h = dil_h_;
    s.dilation_w = dil_w_;
    s.groups = group;
    release_gil_if_long nogil{double(W.size())};
    packed_ = std::make_shared<q::packed_conv>(
        q::pack_conv(s, W.data(), qtype(W.type), zw.empty() ? nullptr : zw.data(), zw.size() > 1));
  }

  py::array call(py::handle x) {
    const arg X = take(x, op_, "x", x_fixed_ ? static_cast<unsigned>(x_type_) : kInt8);
    if (X.arr.ndim() != 4) {
      throw py::value_error(cat(op_, ": x must be 4-D (", layout_ == q::layout::nchw ? "N, C, H, W" : "N, H, W, C",
                                "): only 2-D convolutions are supported; got shape ", shape_str(X.arr)));
    }
    const bool nchw = layout_ == q::layout::nchw;
    const py::ssize_t n = X.arr.shape(0), c = X.arr.shape(nchw ? 1 : 3);
    const py::ssize_t h = X.arr.shape(nchw ? 2 : 1), w = X.arr.shape(nchw ? 3 : 2);
    const q::conv_shape& base = packed_->shape;
    if (c != base.in_channels) {
      throw py::value_error(cat(op_, ": x has ", c, " channels (shape ", shape_str(X.arr), ", layout ",
                                nchw ? "NCHW" : "NHWC", ") but w expects C = w.shape[1] * group = ", base.in_channels));
    }
    q::conv_shape s = base;
    s.batch = to_int(n, op_, "the batch size");
    s.in_h = to_int(h, op_, "the input height");
    s.in_w = to_int(w, op_, "the input width");
    pad_dim(s.in_h, s.kernel_h, s.stride_h, s.dilation_h, s.pad_top, s.pad_bottom, 0, 2);
    pad_dim(s.in_w, s.kernel_w, s.stride_w, s.dilation_w, s.pad_left, s.pad_right, 1, 3);
    const std::int64_t oh = out_size(s.in_h, s.kernel_h, s.stride_h, s.dilation_h, s.pad_top + s.pad_bottom, "height");
    const std::int64_t ow = out_size(s.in_w, s.kernel_w, s.stride_w, s.dilation_w, s.pad_left + s.pad_right, "width");
    // The kernels index images, pixels and tasks with int.
    constexpr std::int64_t int_max = std::numeric_limits<int>::max();
    if (std::int64_t{s.in_h} * s.in_w > int_max || oh * ow > int_max || std::int64_t{s.batch} * oh > int_max ||
        std::int64_t{s.batch} * s.groups * ((oh * ow + 63) / 64) > int_max) {
      throw py::value_error(cat(op_, ": x of shape ", shape_str(X.arr), " is too large for the kernels"));
    }
    std::vector<py::ssize_t> shape = nchw ? std::vector<py::ssize_t>{n, s.out_channels, oh, ow}
                                          : std::vector<py::ssize_t>{n, oh, ow, s.out_channels};
    py::array y = new_array(out_.out_elem(), shape);
    if (y.size() == 0) return y;
    const q::output_stage st = out_.stage();
    void* yp = y.mutable_data();
    {
      release_gil_if_long nogil{double(y.size()) * s.kernel_h * s.kernel_w * (s.in_channels / s.groups)};
      q::conv(*packed_, s, X.data(), qtype(X.type), zx_, layout_, yp, layout_, st);
    }
    return y;
  }

  int out_channels() const { return packed_->shape.out_channels; }
  int in_channels() const { return packed_->shape.in_channels; }
  std::pair<int, int> kernel() const { return {packed_->shape.kernel_h, packed_->shape.kernel_w}; }
  int group() const { return packed_->shape.groups; }
  bool depthwise() const { return packed_->is_depthwise; }
  py::object x_dtype() const { return dtype_or_none(x_fixed_, x_type_); }
  py::dtype w_dtype() const { return py::dtype(elem_name(w_type_)); }
  py::dtype y_dtype() const { return py::dtype(elem_name(out_.out_elem())); }
  bool per_channel() const { return per_channel_; }
  std::string layout() const { return layout_ == q::layout::nchw ? "NCHW" : "NHWC"; }

 private:
  /// Pads of one spatial dimension: the given ones, or ONNX auto_pad's.
  void pad_dim(int in, int k, int stride, int dil, int& head, int& tail, int i_head, int i_tail) const {
    switch (auto_pad_) {
      case auto_pad::notset:
        head = pads_[i_head];
        tail = pads_[i_tail];
        return;
      case auto_pad::valid:
        head = tail = 0;
        return;
      case auto_pad::same_upper:
      case auto_pad::same_lower: {
        // ONNX Conv: output = ceil(in / stride); the padding needed for it, split evenly, the odd
        // one at the end (SAME_UPPER) or at the beginning (SAME_LOWER).
        const std::int64_t out = (std::int64_t{in} + stride - 1) / stride;
        std::int64_t total = (out - 1) * stride + std::int64_t{dil} * (k - 1) + 1 - in;
        total = total < 0 ? 0 : total;
        const std::int64_t h = auto_pad_ == auto_pad::same_upper ? total / 2 : total - total / 2;
        if (total > std::numeric_limits<int>::max()) throw py::value_error(cat(op_, ": padding too large"));
        head = static_cast<int>(h);
        tail = static_cast<int>(total - h);
        return;
      }
    }
  }

  std::int64_t out_size(int in, int k, int stride, int dil, int pads, const char* what) const {
    const std::int64_t span = std::int64_t{dil} * (k - 1) + 1;
    const std::int64_t padded = std::int64_t{in} + pads;
    if (padded < span) {
      throw py::value_error(cat(op_, ": the dilated kernel ", what, " (", span, ") exceeds the padded input ", what, " (",
                                padded, ")"));
    }
    return (padded - span) / stride + 1;
  }

  std::string op_;
  int stride_h_ = 1, stride_w_ = 1, dil_h_ = 1, dil_w_ = 1;
  int pads_[4] = {0, 0, 0, 0};
  auto_pad auto_pad_ = auto_pad::notset;
  q::layout layout_ = q::layout::nchw;
  elem w_type_ = elem::u8;
  bool per_channel_ = false;
  bool x_fixed_ = false;
  elem x_type_ = elem::u8;
  std::int32_t zx_ = 0;
  requant out_;
  std::shared_ptr<const q::packed_conv> packed_;  // immutable: the geometry comes with each call
};

// ------------------------------------------------------------------------------------------
// Whole-array functions
// ------------------------------------------------------------------------------------------

/// (channels, inner) of a per-axis parameter of `count` values for x, or (1, 0) per tensor.
std::pair<std::ptrdiff_t, std::ptrdiff_t> axis_layout(const py::array& x, std::size_t count, int axis,
                                                      const std::string& op, const char* scale_name) {
  if (count == 1) return {1, 0};
  const py::ssize_t nd = x.ndim();
  const py::ssize_t ax = axis < 0 ? axis + nd : axis;
  if (ax < 0 || ax >= nd) {
    throw py::value_error(cat(op, ": axis ", axis, " is out of range for x with ", nd, " dimensions (", scale_name,
                              " is per-axis)"));
  }
  if (x.shape(ax) != static_cast<py::ssize_t>(count)) {
    throw py::value_error(cat(op, ": ", scale_name, " has ", count, " values but x.shape[", ax, "] = ", x.shape(ax),
                              "; a per-axis ", scale_name, " has one value per index of that axis"));
  }
  std::ptrdiff_t inner = 1;
  for (py::ssize_t i = ax + 1; i < nd; ++i) inner *= x.shape(i);
  return {static_cast<std::ptrdiff_t>(count), inner};
}

std::vector<py::ssize_t> shape_of(const py::array& a) {
  return std::vector<py::ssize_t>(a.shape(), a.shape() + a.ndim());
}

py::array quantize_linear(py::handle x, const py::object& scale, const py::object& zero_point, int axis,
                          const std::string& op) {
  const arg X = take(x, op, "x", static_cast<unsigned>(elem::f32));
  const std::vector<float> s = positive_floats(scale, op, "y_scale", false);
  const zero_point_arg zp = zero_points(zero_point, op, "y_zero_point", nullptr, "");
  std::vector<std::int32_t> z = zp.values;
  const elem out = zp.given() ? zp.type : elem::u8;
  if (z.size() == 1 && s.size() > 1) z.assign(s.size(), z[0]);  // one zero point for every channel
  if (zp.given() && z.size() != s.size()) {
    throw py::value_error(cat(op, ": y_zero_point has ", z.size(), " values but y_scale has ", s.size(),
                              "; give one value or one per scale"));
  }
  const auto [channels, inner] = axis_layout(X.arr, s.size(), axis, op, "y_scale");
  py::array y = new_array(out, shape_of(X.arr));
  const float* xp = static_cast<const float*>(X.data());
  const std::ptrdiff_t n = X.size();
  std::ptrdiff_t nan_at = -1;
  void* yp = y.mutable_data();
  {
    release_gil_if_long nogil{double(n)};
    for (std::ptrdiff_t i = 0; i < n; ++i) {
      if (std::isnan(xp[i])) {
        nan_at = i;
        break;
      }
    }
    if (nan_at < 0) {
      q::quantize_linear(xp, n, s.data(), z.empty() ? nullptr : z.data(), channels, inner, yp, qtype(out));
    }
  }
  if (nan_at >= 0) {
    throw py::value_error(cat(op, ": x contains NaN (first at flat index ", nan_at,
                              "); NaN has no quantized value"));
  }
  return y;
}

py::array dequantize_linear(py::handle x, const py::object& scale, const py::object& zero_point, int axis,
                            const std::string& op) {
  const arg X = take(x, op, "x", kInt8);
  const std::vector<float> s = positive_floats(scale, op, "x_scale", false);
  const elem xt = X.type;
  std::vector<std::int32_t> z = zero_points(zero_point, op, "x_zero_point", &xt, "x").values;
  if (z.size() == 1 && s.size() > 1) z.assign(s.size(), z[0]);  // one zero point for every channel
  if (!z.empty() && z.size() != s.size()) {
    throw py::value_error(cat(op, ": x_zero_point has ", z.size(), " values but x_scale has ", s.size(),
                              "; give one value or one per scale"));
  }
  const auto [channels, inner] = axis_layout(X.arr, s.size(), axis, op, "x_scale");
  py::array_t<float> y(shape_of(X.arr));
  float* yp = y.mutable_data();
  {
    release_gil_if_long nogil{double(X.size())};
    q::dequantize_linear(X.data(), qtype(X.type), X.size(), s.data(), z.empty() ? nullptr : z.data(), channels, inner,
                         yp);
  }
  return std::move(y);
}

/// ONNX DynamicQuantizeLinear (uint8), as ONNX Runtime computes it (GetQuantizationParameter):
/// the range [min(x, 0), max(x, 0)] in float32, scale = (max - min) / 255 (1 when the range is
/// empty), zero point = round_half_even(clamp(0 - min / scale, 0, 255)).
py::tuple dynamic_quantize_linear(py::handle x, const std::string& op) {
  const arg X = take(x, op, "x", static_cast<unsigned>(elem::f32));
  const float* xp = static_cast<const float*>(X.data());
  const std::ptrdiff_t n = X.size();
  py::array_t<std::uint8_t> y(shape_of(X.arr));
  std::uint8_t* yp = y.mutable_data();
  std::ptrdiff_t bad = -1;
  float scale = 1.0f;
  std::int32_t zp = 0;
  {
    release_gil_if_long nogil{double(n)};
    float lo = 0.0f, hi = 0.0f;
    for (std::ptrdiff_t i = 0; i < n; ++i) {
      const float v = xp[i];
      if (!std::isfinite(v)) {
        bad = i;
        break;
      }
      lo = v < lo ? v : lo;
      hi = v > hi ? v : hi;
    }
    if (bad < 0) {
      scale = hi == lo ? 1.0f : (hi - lo) / 255.0f;
      float z = 0.0f - lo / scale;
      z = z < 0.0f ? 0.0f : (z > 255.0f ? 255.0f : z);
      zp = static_cast<std::int32_t>(std::nearbyint(z));
      if (!(scale > 0.0f) || !std::isfinite(scale)) {
        bad = -2;  // (hi - lo) overflowed to inf
      } else {
        q::quantize_linear(xp, n, &scale, &zp, 1, 0, yp, q::dtype::u8);
      }
    }
  }
  if (bad >= 0) {
    const float v = xp[bad];
    throw py::value_error(cat(op, ": x must be finite, got ", std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf"),
                              " at flat index ", bad));
  }
  if (bad == -2) throw py::value_error(cat(op, ": the range of x (max - min) overflows float32"));
  return py::make_tuple(std::move(y), scale, zp);
}

py::int_ dot(py::handle a, py::handle b, const std::string& op) {
  const arg A = take(a, op, "a", kInt8);
  const arg B = take(b, op, "b", kInt8);
  if (A.arr.ndim() != 1 || B.arr.ndim() != 1) {
    throw py::value_error(cat(op, ": a and b must be 1-D, got shapes ", shape_str(A.arr), " and ", shape_str(B.arr)));
  }
  if (A.size() != B.size()) {
    throw py::value_error(cat(op, ": a and b must have the same length, got ", A.size(), " and ", B.size()));
  }
  if (A.type == elem::u8 && B.type == elem::u8) {
    throw py::type_error(cat(op, ": uint8 x uint8 is not supported (int8 x int8, uint8 x int8 or int8 x uint8)"));
  }
  std::int32_t r = 0;
  const std::ptrdiff_t n = A.size();
  {
    release_gil_if_long nogil{double(n)};
    if (A.type == elem::s8 && B.type == elem::s8) {
      r = q::dot_s8s8(static_cast<const std::int8_t*>(A.data()), static_cast<const std::int8_t*>(B.data()), n);
    } else if (A.type == elem::u8) {
      r = q::dot_u8s8(static_cast<const std::uint8_t*>(A.data()), static_cast<const std::int8_t*>(B.data()), n);
    } else {
      r = q::dot_u8s8(static_cast<const std::uint8_t*>(B.data()), static_cast<const std::int8_t*>(A.data()), n);
    }
  }
  return py::int_(r);
}

std::vector<std::string> available_isas() {
  std::vector<std::string> out;
  for (const std::string& name : q::isa_names()) {
    if (q::isa_available(name)) out.push_back(name);
  }
  return out;
}

}  // namespace

void fixedq_register_ops(py::module_& core) {
  py::module_ m = core.def_submodule(
      "ops", "fixedq._core.ops: private bindings of the int8 kernels. Use the public fixedq.ops.");

  m.def("quantize_linear", &quantize_linear, py::arg("x"), py::arg("y_scale"), py::arg("y_zero_point"),
        py::arg("axis"), py::arg("op") = "quantize_linear",
        "ONNX QuantizeLinear on a float32 array: see fixedq.ops.quantize_linear.");
  m.def("dequantize_linear", &dequantize_linear, py::arg("x"), py::arg("x_scale"), py::arg("x_zero_point"),
        py::arg("axis"), py::arg("op") = "dequantize_linear",
        "ONNX DequantizeLinear of a uint8/int8 array: see fixedq.ops.dequantize_linear.");
  m.def("dynamic_quantize_linear", &dynamic_quantize_linear, py::arg("x"), py::arg("op") = "dynamic_quantize_linear",
        "ONNX DynamicQuantizeLinear: (y, scale, zero_point) with scale a float and zero_point an int.");
  m.def("dot", &dot, py::arg("a"), py::arg("b"), py::arg("op") = "dot",
        "The dot product of two 1-D int8/uint8 arrays, modulo 2^32, as an int.");

  m.def("isa", [] { return q::isa(); }, "The int8 instruction-set path in use.");
  m.def("isa_names", [] { return q::isa_names(); }, "Every int8 path this build knows, lowest first.");
  m.def("available_isas", &available_isas, "The int8 paths this build has and this CPU runs, lowest first.");
  m.def("get_num_threads", [] { return q::num_threads(); }, "Threads used by the int8 GEMM and convolution.");
  m.def(
      "set_num_threads",
      [](int n) {
        if (n < 0) throw py::value_error(cat("set_num_threads: n must be >= 0 (0 restores the default), got ", n));
        q::set_num_threads(n);
      },
      py::arg("n"), "Sets the threads of the int8 GEMM and convolution (0: one per core).");

  py::class_<PackedMatMul>(m, "PackedMatMul", "B (K x N, or a batch of them) packed for the int8 GEMM.")
      .def(py::init<py::handle, const py::object&, const py::object&, const py::object&, const py::object&,
                    std::string, const y_clamp_arg&>(),
           py::arg("b"), py::arg("b_zero_point"), py::arg("a_zero_point"), py::arg("multiplier"),
           py::arg("y_zero_point"), py::arg("op"), py::arg("y_clamp") = py::none())
      .def("__call__", &PackedMatMul::call, py::arg("a"), R"doc(
Return the product of ``a`` (..., K) and the packed ``b``: (..., N), requantized when the
object was made with a multiplier, else int32.
)doc")
      .def("_run_batched", &PackedMatMul::run_batched, py::arg("a"), py::arg("a_index"), py::arg("b_index"))
      .def_property_readonly("_k", &PackedMatMul::k)
      .def_property_readonly("_n", &PackedMatMul::n)
      .def_property_readonly("_batches", &PackedMatMul::batches)
      .def_property_readonly("_a_dtype", &PackedMatMul::a_dtype)
      .def_property_readonly("_b_dtype", &PackedMatMul::b_dtype)
      .def_property_readonly("_y_dtype", &PackedMatMul::y_dtype)
      .def_property_readonly("_per_column", &PackedMatMul::per_column);

  py::class_<PackedConv>(m, "PackedConv", "2-D convolution weights packed for the int8 kernels.")
      .def(py::init<py::handle, const py::object&, const py::object&, const py::object&, const py::object&,
                    const py::object&, int, std::vector<std::int64_t>, std::vector<std::int64_t>,
                    std::vector<std::int64_t>, const std::string&, const std::string&, std::string,
                    const y_clamp_arg&>(),
           py::arg("w"), py::arg("w_zero_point"), py::arg("x_zero_point"), py::arg("bias"), py::arg("multiplier"),
           py::arg("y_zero_point"), py::arg("group"), py::arg("strides"), py::arg("dilations"), py::arg("pads"),
           py::arg("auto_pad"), py::arg("layout"), py::arg("op"), py::arg("y_clamp") = py::none())
      .def("__call__", &PackedConv::call, py::arg("x"), R"doc(
Return the convolution of ``x`` (N, C, H, W) or (N, H, W, C) with the packed weights:
(N, M, OH, OW) or (N, OH, OW, M), requantized when the object was made with a multiplier,
else int32.
)doc")
      .def_property_readonly("_out_channels", &PackedConv::out_channels)
      .def_property_readonly("_in_channels", &PackedConv::in_channels)
      .def_property_readonly("_kernel", &PackedConv::kernel)
      .def_property_readonly("_group", &PackedConv::group)
      .def_property_readonly("_depthwise", &PackedConv::depthwise)
      .def_property_readonly("_x_dtype", &PackedConv::x_dtype)
      .def_property_readonly("_w_dtype", &PackedConv::w_dtype)
      .def_property_readonly("_y_dtype", &PackedConv::y_dtype)
      .def_property_readonly("_per_channel", &PackedConv::per_channel)
      .def_property_readonly("_layout", &PackedConv::layout);
}
