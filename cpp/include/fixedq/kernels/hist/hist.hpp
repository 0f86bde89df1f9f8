// fixedq histogram kernels for calibration: value ranges, streaming histograms and the
// KL-divergence (entropy) threshold searches of TensorRT and ONNX Runtime.
//
// The contract of each kernel is written next to it. They are plain portable loops (no
// intrinsics) arranged so that the compiler vectorises the arithmetic; they are also the
// reference: there is no second path whose results could differ.
//
// Binning rule (histogram_*): with scale = nbins / (hi - lo) computed in the input's precision,
// a value v (|x| when `absolute`) goes to bin floor((v - lo) * scale), clamped to
// [0, nbins - 1]. The arithmetic is done in the input's floating-point type, so a value within
// a rounding error of a bin edge may be counted in the neighbouring bin (NumPy's histogram
// corrects such values against its float edges; fixedq does not, to stay at memory speed).
#pragma once

#include <cstddef>
#include <cstdint>

namespace fixedq::kernels::hist {

/// Minimum, maximum and maximum magnitude of x[0..n), and whether every value is finite.
/// For n == 0: min = +inf, max = -inf, absmax = 0, finite = true. When finite is false the
/// other fields are unspecified.
struct value_range {
  double min;
  double max;
  double absmax;
  bool finite;
};
value_range range_f32(const float* x, std::size_t n);
value_range range_f64(const double* x, std::size_t n);

/// Adds the histogram of x[0..n) (of |x| when `absolute`) over [lo, hi) split into nbins equal
/// bins to counts[0..nbins) (see the binning rule above). Requires nbins >= 1, hi > lo, finite
/// x (check with range_*). Values outside [lo, hi] are clamped into the first or last bin.
void histogram_f32(const float* x, std::size_t n, double lo, double hi, bool absolute,
                   std::int64_t* counts, std::size_t nbins);
void histogram_f64(const double* x, std::size_t n, double lo, double hi, bool absolute,
                   std::int64_t* counts, std::size_t nbins);

/// TensorRT's entropy search (NVIDIA pytorch-quantization `_compute_amax_entropy`) on a
/// histogram of |x| with `nbins` bins (the caller applies TensorRT's `bins[0] = bins[1]`).
/// For each candidate i = start_bin, start_bin + stride, ... <= nbins: P = bins[0..i) with all
/// mass of bins[i..) added to P[i-1]; Q = bins[0..i) merged into `levels` levels (bin j goes to
/// level floor(levels * j / i)), each level's sum spread evenly over its non-empty bins (empty
/// bins stay 0); kl[c] = KL(P/|P| || Q/|Q|) in nats, +inf where Q is 0 and P is not. The sums are
/// regrouped per level (exact algebra, O(levels) per candidate). Writes one value per candidate
/// to kl_out (nullable) and returns the chosen candidate's i: the last argmin when last_argmin,
/// else the first.
/// One pass: the histogram of x (|x| when absolute) over [lo, hi) and x's range together. The
/// counts are added only when x is finite and max|x| <= hi (no growth needed); returns whether
/// they were. `range` is filled either way (the caller's slow path reuses it).
bool histogram_checked_f32(const float* x, std::size_t n, double lo, double hi, bool absolute,
                           std::int64_t* counts, std::size_t nbins, value_range& range);
bool histogram_checked_f64(const double* x, std::size_t n, double lo, double hi, bool absolute,
                           std::int64_t* counts, std::size_t nbins, value_range& range);

std::size_t entropy_search_tensorrt(const std::int64_t* bins, std::size_t nbins,
                                    std::size_t start_bin, std::size_t stride, std::size_t levels,
                                    bool last_argmin, double* kl_out);

/// ONNX Runtime's two-sided entropy search (`HistogramCollector.get_entropy_threshold`) on a
/// histogram symmetric about 0 with `nbins` bins. zero = nbins / 2; for i = levels / 2 ..
/// zero: the slice is bins[zero - i .. min(zero + i + 1, nbins)), P is the slice with the left
/// outliers added to P[0] and the right ones to P[-1]; Q merges slice.size / levels bins per
/// level (the remainder joins the last level), and spreads floor(level sum / non-zeros of P in
/// the level) over every bin of the level (the remainder bins stay 0: ONNX Runtime's integer
/// arrays); both are smoothed (zeros become eps, non-zeros lose eps * zeros / non-zeros) and
/// kl = KL(P || Q) after normalisation. Candidates where a distribution is all zero or the
/// smoothing would make an entry non-positive get +inf. Returns the chosen i (first argmin unless
/// last_argmin); the thresholds are the edges zero - i and min(zero + i + 1, nbins).
std::size_t entropy_search_onnxruntime(const std::int64_t* bins, std::size_t nbins,
                                       std::size_t levels, double eps, bool last_argmin,
                                       double* kl_out);

}  // namespace fixedq::kernels::hist
