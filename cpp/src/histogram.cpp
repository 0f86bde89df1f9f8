// fixedq histogram kernels (see <fixedq/kernels/hist/hist.hpp> for the contracts).
//
// Portable loops only: the range and bin-index loops are written with independent lanes so that
// the compiler vectorises them at the baseline ISA; the counting loop spreads consecutive values
// over four sub-histograms so that runs of equal bins do not serialise on one memory location.
#include <fixedq/kernels/hist/hist.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace fixedq::kernels::hist {
namespace {

template <class T>
value_range range_impl(const T* x, std::size_t n) {
  constexpr std::size_t lanes = 16;
  constexpr T inf = std::numeric_limits<T>::infinity();
  // nan[k] accumulates v - v: 0 for finite values, NaN for NaN and +-inf (and stays NaN).
  T mn[lanes], mx[lanes], nan[lanes];
  for (std::size_t k = 0; k < lanes; ++k) {
    mn[k] = inf;
    mx[k] = -inf;
    nan[k] = 0;
  }
  std::size_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    // Independent lanes: a compare-and-select per lane, vectorised at the baseline ISA (the
    // select keeps min/max semantics exact; NaN is caught by nan[] instead).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC ivdep
#endif
    for (std::size_t k = 0; k < lanes; ++k) {
      const T v = x[i + k];
      mn[k] = v < mn[k] ? v : mn[k];
      mx[k] = v > mx[k] ? v : mx[k];
      nan[k] += v - v;
    }
  }
  for (; i < n; ++i) {
    const T v = x[i];
    mn[0] = v < mn[0] ? v : mn[0];
    mx[0] = v > mx[0] ? v : mx[0];
    nan[0] += v - v;
  }
  value_range r{static_cast<double>(inf), static_cast<double>(-inf), 0.0, true};
  for (std::size_t k = 0; k < lanes; ++k) {
    r.min = std::min(r.min, static_cast<double>(mn[k]));
    r.max = std::max(r.max, static_cast<double>(mx[k]));
    if (nan[k] != nan[k]) r.finite = false;
  }
  if (n > 0) r.absmax = std::max(std::fabs(r.min), std::fabs(r.max));
  return r;
}

template <class T>
void histogram_impl(const T* x, std::size_t n, double lo, double hi, bool absolute,
                    std::int64_t* counts, std::size_t nbins) {
  if (n == 0 || nbins == 0 || !(hi > lo)) return;
  // Bin indices are computed in blocks (a vectorisable loop), then counted.
  constexpr std::size_t block = 1024;
  // Each sub-histogram holds at most `flush_every` counts before being added to `counts`.
  constexpr std::size_t flush_every = std::size_t{1} << 30;
  const T tlo = static_cast<T>(lo);
  const T scale = static_cast<T>(static_cast<double>(nbins) / (hi - lo));
  const T top = static_cast<T>(nbins - 1);
  std::vector<std::uint32_t> sub(4 * nbins, 0u);
  std::uint32_t* h0 = sub.data();
  std::uint32_t* h1 = h0 + nbins;
  std::uint32_t* h2 = h1 + nbins;
  std::uint32_t* h3 = h2 + nbins;
  std::int32_t idx[block];
  std::size_t since_flush = 0;
  auto flush = [&] {
    for (std::size_t b = 0; b < nbins; ++b) {
      counts[b] += static_cast<std::int64_t>(h0[b]) + h1[b] + h2[b] + h3[b];
    }
    std::fill(sub.begin(), sub.end(), 0u);
    since_flush = 0;
  };
  for (std::size_t start = 0; start < n; start += block) {
    const std::size_t len = std::min(block, n - start);
    const T* xs = x + start;
    if (absolute) {
      for (std::size_t k = 0; k < len; ++k) {
        T f = (std::fabs(xs[k]) - tlo) * scale;
        f = f > T(0) ? f : T(0);
        f = f < top ? f : top;
        idx[k] = static_cast<std::int32_t>(f);
      }
    } else {
      for (std::size_t k = 0; k < len; ++k) {
        T f = (xs[k] - tlo) * scale;
        f = f > T(0) ? f : T(0);
        f = f < top ? f : top;
        idx[k] = static_cast<std::int32_t>(f);
      }
    }
    std::size_t k = 0;
    for (; k + 4 <= len; k += 4) {
      ++h0[idx[k]];
      ++h1[idx[k + 1]];
      ++h2[idx[k + 2]];
      ++h3[idx[k + 3]];
    }
    for (; k < len; ++k) ++h0[idx[k]];
    since_flush += len;
    if (since_flush >= flush_every) flush();
  }
  flush();
}

/// One pass that bins x (or |x|) over [lo, hi) into a private histogram and takes x's range at
/// the same time; the counts are added to `counts` only when x is finite and its largest
/// magnitude is at most `hi` (the histogram would not have to grow). Returns whether they were.
template <class T, bool Absolute>
bool histogram_checked_impl(const T* x, std::size_t n, double lo, double hi, std::int64_t* counts,
                            std::size_t nbins, value_range& range) {
  constexpr std::size_t lanes = 16, block = 1024;
  constexpr T inf = std::numeric_limits<T>::infinity();
  const T tlo = static_cast<T>(lo);
  const T scale = static_cast<T>(static_cast<double>(nbins) / (hi - lo));
  const T top = static_cast<T>(nbins - 1);
  // The range in independent lanes, as range_impl takes it (written out again here, in the
  // binning loop, on purpose: GCC 12 stops vectorising when these arrays live in a shared struct).
  T mn[lanes], mx[lanes], nan[lanes];
  for (std::size_t k = 0; k < lanes; ++k) {
    mn[k] = inf;
    mx[k] = -inf;
    nan[k] = 0;
  }
  // Four interleaved 32-bit sub-histograms, flushed into 64-bit totals before they can wrap.
  std::vector<std::uint32_t> sub(4 * nbins, 0u);
  std::vector<std::int64_t> total(nbins, 0);
  std::uint32_t* h[4] = {sub.data(), sub.data() + nbins, sub.data() + 2 * nbins, sub.data() + 3 * nbins};
  std::int32_t idx[block];
  std::size_t since_flush = 0;
  auto flush = [&] {
    for (std::size_t b = 0; b < nbins; ++b) {
      total[b] += static_cast<std::int64_t>(h[0][b]) + h[1][b] + h[2][b] + h[3][b];
    }
    std::fill(sub.begin(), sub.end(), 0u);
    since_flush = 0;
  };
  auto bin = [&](T v) {
    T f = ((Absolute ? std::fabs(v) : v) - tlo) * scale;
    f = f > T(0) ? f : T(0);  // NaN -> 0: harmless, the counts are dropped below
    f = f < top ? f : top;
    return static_cast<std::int32_t>(f);
  };
  for (std::size_t start = 0; start < n; start += block) {
    const std::size_t len = std::min(block, n - start);
    const T* xs = x + start;
    std::size_t k = 0;
    for (; k + lanes <= len; k += lanes) {
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC ivdep
#endif
      for (std::size_t j = 0; j < lanes; ++j) {
        const T v = xs[k + j];
        mn[j] = v < mn[j] ? v : mn[j];
        mx[j] = v > mx[j] ? v : mx[j];
        nan[j] += v - v;
        idx[k + j] = bin(v);
      }
    }
    for (; k < len; ++k) {
      const T v = xs[k];
      mn[0] = v < mn[0] ? v : mn[0];
      mx[0] = v > mx[0] ? v : mx[0];
      nan[0] += v - v;
      idx[k] = bin(v);
    }
    std::size_t i = 0;
    for (; i + 4 <= len; i += 4) {
      ++h[0][idx[i]];
      ++h[1][idx[i + 1]];
      ++h[2][idx[i + 2]];
      ++h[3][idx[i + 3]];
    }
    for (; i < len; ++i) ++h[0][idx[i]];
    since_flush += len;
    if (since_flush >= (std::size_t{1} << 30)) flush();
  }
  flush();
  T lo_v = inf, hi_v = -inf, bad = 0;
  for (std::size_t k = 0; k < lanes; ++k) {
    lo_v = mn[k] < lo_v ? mn[k] : lo_v;
    hi_v = mx[k] > hi_v ? mx[k] : hi_v;
    bad += nan[k];
  }
  range.min = static_cast<double>(lo_v);
  range.max = static_cast<double>(hi_v);
  range.absmax = std::max(std::fabs(range.min), std::fabs(range.max));
  range.finite = bad == T(0);
  if (n == 0 || !range.finite || !(range.absmax <= hi)) return false;
  for (std::size_t b = 0; b < nbins; ++b) counts[b] += total[b];
  return true;
}

}  // namespace

value_range range_f32(const float* x, std::size_t n) { return range_impl(x, n); }
value_range range_f64(const double* x, std::size_t n) { return range_impl(x, n); }

void histogram_f32(const float* x, std::size_t n, double lo, double hi, bool absolute,
                   std::int64_t* counts, std::size_t nbins) {
  histogram_impl(x, n, lo, hi, absolute, counts, nbins);
}
void histogram_f64(const double* x, std::size_t n, double lo, double hi, bool absolute,
                   std::int64_t* counts, std::size_t nbins) {
  histogram_impl(x, n, lo, hi, absolute, counts, nbins);
}

// ---------------------------------------------------------------------------------------------
// Entropy searches
// ---------------------------------------------------------------------------------------------
namespace {

double xlogx(double v) { return v > 0.0 ? v * std::log(v) : 0.0; }

std::size_t pick(const std::vector<double>& kl, bool last_argmin) {
  std::size_t best = 0;
  for (std::size_t c = 1; c < kl.size(); ++c) {
    if (last_argmin ? kl[c] <= kl[best] : kl[c] < kl[best]) best = c;
  }
  return best;
}

}  // namespace

std::size_t entropy_search_tensorrt(const std::int64_t* bins, std::size_t nbins,
                                    std::size_t start_bin, std::size_t stride, std::size_t levels,
                                    bool last_argmin, double* kl_out) {
  // Prefix sums: counts, non-empty bins and b*log(b).
  std::vector<double> cum(nbins + 1, 0.0), nz(nbins + 1, 0.0), cumlog(nbins + 1, 0.0);
  for (std::size_t j = 0; j < nbins; ++j) {
    const double b = static_cast<double>(bins[j]);
    cum[j + 1] = cum[j] + b;
    nz[j + 1] = nz[j] + (bins[j] != 0 ? 1.0 : 0.0);
    cumlog[j + 1] = cumlog[j] + xlogx(b);
  }
  const double total = cum[nbins];
  std::vector<double> kl;
  const double inf = std::numeric_limits<double>::infinity();
  for (std::size_t i = start_bin; i <= nbins; i += stride) {
    const double outliers = total - cum[i];
    const double last = static_cast<double>(bins[i - 1]);
    const double kept = total - outliers;  // |Q| = sum of bins[0..i)
    if ((outliers > 0.0 && last == 0.0) || kept <= 0.0 || total <= 0.0) {
      kl.push_back(inf);
      continue;
    }
    // sum_j P'_j log P'_j (unnormalised) and sum_j P'_j log Q'_j.
    const double a = cumlog[i - 1] + xlogx(last + outliers);
    double b = 0.0;
    const std::size_t last_level = (levels * (i - 1)) / i;
    double q_last = 0.0;
    for (std::size_t k = 0; k < levels; ++k) {
      // Level k holds bins j with floor(levels * j / i) == k: j in [ceil(k i / L), ceil((k+1) i / L)).
      const std::size_t s = (k * i + levels - 1) / levels;
      const std::size_t e = std::min(i, ((k + 1) * i + levels - 1) / levels);
      if (e <= s) continue;
      const double sum = cum[e] - cum[s];
      const double cnt = nz[e] - nz[s];
      if (cnt == 0.0) continue;
      const double q = sum / cnt;
      b += sum * std::log(q);
      if (k == last_level) q_last = q;
    }
    if (outliers > 0.0) b += outliers * std::log(q_last);
    kl.push_back((a - b) / total - std::log(total) + std::log(kept));
  }
  if (kl.empty()) return 0;
  if (kl_out != nullptr) std::copy(kl.begin(), kl.end(), kl_out);
  return start_bin + pick(kl, last_argmin) * stride;
}

std::size_t entropy_search_onnxruntime(const std::int64_t* bins, std::size_t nbins,
                                       std::size_t levels, double eps, bool last_argmin,
                                       double* kl_out) {
  const std::size_t zero = nbins / 2;
  const std::size_t half = levels / 2;
  std::vector<double> cum(nbins + 1, 0.0);
  for (std::size_t j = 0; j < nbins; ++j) cum[j + 1] = cum[j] + static_cast<double>(bins[j]);
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> kl;
  std::vector<double> p;
  std::vector<double> level_value, level_mass, level_nonzeros, level_zeros;
  const double log_eps = std::log(eps);
  for (std::size_t i = half; i <= zero; ++i) {
    const std::size_t s = zero - i;
    const std::size_t e = std::min(zero + i + 1, nbins);
    const std::size_t len = e - s;
    p.assign(bins + s, bins + e);
    p[0] += cum[s];
    p[len - 1] += cum[nbins] - cum[e];
    const std::size_t merged = len / levels;
    // Per level of Q: its value (floor(level sum / non-zeros of P): ONNX Runtime's int64 array),
    // and the mass, non-zero and zero counts of P over the level's bins. Bins past
    // levels * merged form one more group (index `levels`) where Q is 0.
    level_value.assign(levels + 1, 0.0);
    level_mass.assign(levels + 1, 0.0);
    level_nonzeros.assign(levels + 1, 0.0);
    level_zeros.assign(levels + 1, 0.0);
    double zeros_p = 0.0, sum_p = 0.0, plogp = 0.0;
    for (std::size_t k = 0; k <= levels; ++k) {
      const std::size_t a = k < levels ? k * merged : levels * merged;
      const std::size_t b = k < levels ? a + merged : len;
      double mass = 0.0, nonzeros = 0.0;
      for (std::size_t j = a; j < b; ++j) {
        mass += p[j];
        nonzeros += p[j] != 0.0 ? 1.0 : 0.0;
      }
      level_mass[k] = mass;
      level_nonzeros[k] = nonzeros;
      level_zeros[k] = static_cast<double>(b - a) - nonzeros;
      zeros_p += level_zeros[k];
      sum_p += mass;
      if (k < levels && nonzeros != 0.0) {
        double qsum = cum[s + b] - cum[s + a];  // Q is built from the slice without outliers
        if (k + 1 == levels) qsum += cum[e] - cum[s + levels * merged];
        level_value[k] = std::floor(qsum / nonzeros);
      }
    }
    // Smoothing (ONNX Runtime's smooth_distribution): zeros become eps, non-zeros lose
    // eps * zeros / non-zeros; the sums do not change. All-zero or non-positive: +inf.
    const double nonzeros_p = static_cast<double>(len) - zeros_p;
    double zeros_q = 0.0, sum_q = 0.0;
    for (std::size_t k = 0; k <= levels; ++k) {
      const double width = k < levels ? static_cast<double>(merged) : level_zeros[k] + level_nonzeros[k];
      if (level_value[k] == 0.0) zeros_q += width;
      sum_q += level_value[k] * width;
    }
    const double nonzeros_q = static_cast<double>(len) - zeros_q;
    if (nonzeros_p == 0.0 || nonzeros_q == 0.0) {
      kl.push_back(inf);
      continue;
    }
    const double eps1p = eps * zeros_p / nonzeros_p;
    const double eps1q = eps * zeros_q / nonzeros_q;
    if (!(eps1p < 1.0) || !(eps1q < 1.0)) {
      kl.push_back(inf);
      continue;
    }
    // sum P_s log P_s: one log per non-zero bin of P.
    for (std::size_t j = 0; j < len; ++j) {
      if (p[j] != 0.0) {
        const double v = p[j] - eps1p;
        plogp += v * std::log(v);
      }
    }
    plogp += zeros_p * eps * log_eps;
    // sum P_s log Q_s: Q_s is constant over a level, so one log per level.
    double plogq = 0.0;
    for (std::size_t k = 0; k <= levels; ++k) {
      const double mass_s = level_mass[k] - eps1p * level_nonzeros[k] + eps * level_zeros[k];
      const double q_s = level_value[k] != 0.0 ? level_value[k] - eps1q : eps;
      plogq += mass_s * (level_value[k] != 0.0 ? std::log(q_s) : log_eps);
    }
    kl.push_back((plogp - plogq) / sum_p - std::log(sum_p) + std::log(sum_q));
  }
  if (kl.empty()) return zero;
  if (kl_out != nullptr) std::copy(kl.begin(), kl.end(), kl_out);
  return half + pick(kl, last_argmin);
}

bool histogram_checked_f32(const float* x, std::size_t n, double lo, double hi, bool absolute,
                           std::int64_t* counts, std::size_t nbins, value_range& range) {
  return absolute ? histogram_checked_impl<float, true>(x, n, lo, hi, counts, nbins, range)
                  : histogram_checked_impl<float, false>(x, n, lo, hi, counts, nbins, range);
}
bool histogram_checked_f64(const double* x, std::size_t n, double lo, double hi, bool absolute,
                           std::int64_t* counts, std::size_t nbins, value_range& range) {
  return absolute ? histogram_checked_impl<double, true>(x, n, lo, hi, counts, nbins, range)
                  : histogram_checked_impl<double, false>(x, n, lo, hi, counts, nbins, range);
}

}  // namespace fixedq::kernels::hist
