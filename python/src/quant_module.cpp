// fixedq._core.quant: bindings of the calibration kernels (<fixedq/kernels/hist/hist.hpp>).
//
// Array-first: each entry point takes whole C-contiguous arrays of the exact dtype it names
// (no silent conversion), takes the raw pointers, then releases the GIL around the loop.
#include <fixedq/kernels/hist/hist.hpp>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace py = pybind11;
namespace hist = fixedq::kernels::hist;

namespace {

bool is_dtype(const py::array& a, const py::dtype& d) { return a.dtype().is(d) || a.dtype().equal(d); }

void require_contiguous(const py::array& a, const char* name) {
  if (!(a.flags() & py::array::c_style)) {
    throw py::value_error(std::string(name) + " must be C-contiguous");
  }
}

/// The checks of the histogram entry points: what memory safety depends on.
void check_histogram_args(const py::array& x, double lo, double hi, const py::array& counts) {
  require_contiguous(x, "x");
  require_contiguous(counts, "counts");
  if (!is_dtype(counts, py::dtype::of<std::int64_t>()) || counts.ndim() != 1 || counts.size() < 1) {
    throw py::type_error("counts must be a non-empty 1-D int64 array");
  }
  if (!counts.writeable()) throw py::value_error("counts must be writeable");
  if (!(hi > lo)) throw py::value_error("histogram range must satisfy hi > lo");
}

py::tuple value_range(const py::array& x) {
  require_contiguous(x, "x");
  const auto n = static_cast<std::size_t>(x.size());
  hist::value_range r{};
  if (is_dtype(x, py::dtype::of<float>())) {
    const auto* p = static_cast<const float*>(x.data());
    py::gil_scoped_release release;
    r = hist::range_f32(p, n);
  } else if (is_dtype(x, py::dtype::of<double>())) {
    const auto* p = static_cast<const double*>(x.data());
    py::gil_scoped_release release;
    r = hist::range_f64(p, n);
  } else {
    throw py::type_error("x must be a float32 or float64 array, got " + std::string(py::str(x.dtype())));
  }
  return py::make_tuple(r.min, r.max, r.absmax, r.finite);
}

void histogram(const py::array& x, double lo, double hi, py::array& counts, bool absolute) {
  check_histogram_args(x, lo, hi, counts);
  const auto n = static_cast<std::size_t>(x.size());
  const auto nbins = static_cast<std::size_t>(counts.size());
  auto* c = static_cast<std::int64_t*>(counts.mutable_data());
  if (is_dtype(x, py::dtype::of<float>())) {
    const auto* p = static_cast<const float*>(x.data());
    py::gil_scoped_release release;
    hist::histogram_f32(p, n, lo, hi, absolute, c, nbins);
  } else if (is_dtype(x, py::dtype::of<double>())) {
    const auto* p = static_cast<const double*>(x.data());
    py::gil_scoped_release release;
    hist::histogram_f64(p, n, lo, hi, absolute, c, nbins);
  } else {
    throw py::type_error("x must be a float32 or float64 array, got " + std::string(py::str(x.dtype())));
  }
}

py::tuple histogram_checked(const py::array& x, double lo, double hi, py::array& counts, bool absolute) {
  check_histogram_args(x, lo, hi, counts);
  const auto n = static_cast<std::size_t>(x.size());
  const auto nbins = static_cast<std::size_t>(counts.size());
  auto* c = static_cast<std::int64_t*>(counts.mutable_data());
  hist::value_range r{};
  bool added = false;
  if (is_dtype(x, py::dtype::of<float>())) {
    const auto* p = static_cast<const float*>(x.data());
    py::gil_scoped_release release;
    added = hist::histogram_checked_f32(p, n, lo, hi, absolute, c, nbins, r);
  } else if (is_dtype(x, py::dtype::of<double>())) {
    const auto* p = static_cast<const double*>(x.data());
    py::gil_scoped_release release;
    added = hist::histogram_checked_f64(p, n, lo, hi, absolute, c, nbins, r);
  } else {
    throw py::type_error("x must be a float32 or float64 array, got " + std::string(py::str(x.dtype())));
  }
  return py::make_tuple(added, py::make_tuple(r.min, r.max, r.absmax, r.finite));
}

const std::int64_t* bins_pointer(const py::array& bins) {
  require_contiguous(bins, "bins");
  if (!is_dtype(bins, py::dtype::of<std::int64_t>()) || bins.ndim() != 1) {
    throw py::type_error("bins must be a 1-D int64 array");
  }
  return static_cast<const std::int64_t*>(bins.data());
}

py::tuple entropy_tensorrt(const py::array& bins, std::size_t start_bin, std::size_t stride,
                           std::size_t levels, bool last_argmin) {
  const auto* b = bins_pointer(bins);
  const auto nbins = static_cast<std::size_t>(bins.size());
  if (stride < 1) throw py::value_error("stride must be >= 1");
  if (levels < 1) throw py::value_error("num_quantized_bins must be >= 1");
  if (start_bin < 1 || start_bin > nbins) throw py::value_error("start_bin must be in [1, number of bins]");
  const std::size_t ncand = (nbins - start_bin) / stride + 1;
  py::array_t<double> kl(static_cast<py::ssize_t>(ncand));
  double* out = kl.mutable_data();
  std::size_t i = 0;
  {
    py::gil_scoped_release release;
    i = hist::entropy_search_tensorrt(b, nbins, start_bin, stride, levels, last_argmin, out);
  }
  return py::make_tuple(i, kl);
}

py::tuple entropy_onnxruntime(const py::array& bins, std::size_t levels, double eps, bool last_argmin) {
  const auto* b = bins_pointer(bins);
  const auto nbins = static_cast<std::size_t>(bins.size());
  if (levels < 2) throw py::value_error("num_quantized_bins must be >= 2");
  if (levels / 2 > nbins / 2) throw py::value_error("num_quantized_bins must be <= the number of bins");
  const std::size_t ncand = nbins / 2 - levels / 2 + 1;
  py::array_t<double> kl(static_cast<py::ssize_t>(ncand));
  double* out = kl.mutable_data();
  std::size_t i = 0;
  {
    py::gil_scoped_release release;
    i = hist::entropy_search_onnxruntime(b, nbins, levels, eps, last_argmin, out);
  }
  return py::make_tuple(i, kl);
}

}  // namespace

void fixedq_register_quant(py::module_& parent) {
  py::module_ m = parent.def_submodule("quant", "Calibration kernels behind fixedq.quant (private).");
  m.def("value_range", &value_range, py::arg("x"), R"doc(
Minimum, maximum, maximum magnitude and finiteness of a float32/float64 array.

Returns
-------
tuple of (float, float, float, bool)
    ``(min, max, absmax, finite)``; min/max/absmax are meaningless when finite is False.
)doc");
  m.def("histogram_checked", &histogram_checked, py::arg("x"), py::arg("lo"), py::arg("hi"), py::arg("counts"),
        py::arg("absolute") = false, R"doc(
One pass over ``x``: its histogram over ``[lo, hi)`` (of ``|x|`` when ``absolute``) and its range.
The counts are added to ``counts`` only if ``x`` is finite and ``max|x| <= hi``. Returns
``(added, (min, max, absmax, finite))``: the range is returned either way.
)doc");
  m.def("histogram", &histogram, py::arg("x"), py::arg("lo"), py::arg("hi"), py::arg("counts"),
        py::arg("absolute"), R"doc(
Add the histogram of ``x`` (of ``|x|`` when ``absolute``) over ``[lo, hi)`` to ``counts``.

Bin ``floor((v - lo) * len(counts) / (hi - lo))`` clamped to the valid bins, computed in the
precision of ``x`` (float32 or float64, C-contiguous); ``counts`` is a 1-D int64 array updated in
place. ``x`` must be finite (check with :func:`value_range`).
)doc");
  m.def("entropy_search_tensorrt", &entropy_tensorrt, py::arg("bins"), py::arg("start_bin"),
        py::arg("stride"), py::arg("levels"), py::arg("last_argmin"), R"doc(
TensorRT's KL-divergence search over an int64 histogram of ``|x|``.

Returns
-------
tuple of (int, numpy.ndarray)
    The chosen candidate ``i`` (the threshold is the right edge of bin ``i - 1``) and the KL
    divergence of every candidate ``start_bin, start_bin + stride, ...``.
)doc");
  m.def("entropy_search_onnxruntime", &entropy_onnxruntime, py::arg("bins"), py::arg("levels"),
        py::arg("eps"), py::arg("last_argmin"), R"doc(
ONNX Runtime's two-sided KL-divergence search over an int64 histogram symmetric about 0.

Returns
-------
tuple of (int, numpy.ndarray)
    The chosen half-width ``i`` (thresholds are the edges ``nbins // 2 - i`` and
    ``min(nbins // 2 + i + 1, nbins)``) and the KL divergence of every candidate
    ``levels // 2 .. nbins // 2``.
)doc");
}
