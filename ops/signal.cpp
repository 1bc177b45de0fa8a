// numpy.convolve/correlate and scipy.signal.convolve/correlate/convolve2d/correlate2d
// (docs/conv_semantics.md §5), built from conv_general_dilated plus rev, pad, slice and
// concatenate, so their gradients follow from the conv's transpose rules.
#include <algorithm>

#include "core/graph.hpp"
#include "xlax/lax.hpp"

namespace xlax {
namespace {

using Pads = std::vector<std::pair<int64_t, int64_t>>;

void check_mode(const char* fn, const std::string& mode) {
  if (mode != "full" && mode != "same" && mode != "valid")
    throw Error(std::string(fn) + ": mode '" + mode + "' must be one of 'full', 'same', 'valid'");
}

std::vector<int64_t> all_axes(size_t n) {
  std::vector<int64_t> axes;
  for (size_t i = 0; i < n; ++i) axes.push_back(static_cast<int64_t>(i));
  return axes;
}

// Promotes both operands to a common float type (NumPy/SciPy results are inexact).
std::pair<Tensor, Tensor> promote_inexact(const char* fn, const Tensor& a, const Tensor& b) {
  const DType da = detail::node_of(a, fn, "in1").dtype, db = detail::node_of(b, fn, "in2").dtype;
  const DType common = (da == DType::float64 || db == DType::float64) ? DType::float64 : DType::float32;
  return {astype(a, common), astype(b, common)};
}

void check_nonempty(const char* fn, const Tensor& a, const Tensor& b) {
  if (a.size() == 0 || b.size() == 0)
    throw Error(std::string(fn) + ": inputs must not be empty, got shapes " + to_string(a.shape()) + " and " +
                to_string(b.shape()));
}

// Cross-correlation of in1 with in2 over all their axes (viewed as (1, 1, ...) arrays).
Tensor correlate_nd(const Tensor& in1, const Tensor& in2, const Pads& pads) {
  Shape s1 = {1, 1}, s2 = {1, 1};
  s1.insert(s1.end(), in1.shape().begin(), in1.shape().end());
  s2.insert(s2.end(), in2.shape().begin(), in2.shape().end());
  const size_t n = in1.shape().size();
  Tensor out = lax::conv_general_dilated(reshape(in1, s1), reshape(in2, s2), std::vector<int64_t>(n, 1), pads);
  return reshape(out, Shape(out.shape().begin() + 2, out.shape().end()));
}

// §5.1. `correlate` selects numpy.correlate, else numpy.convolve.
Tensor numpy_1d(const char* fn, const Tensor& a_in, const Tensor& v_in, const std::string& mode, bool correlate) {
  if (detail::node_of(a_in, fn, "a").shape.size() != 1 || detail::node_of(v_in, fn, "v").shape.size() != 1)
    throw Error(std::string(fn) + ": a and v must be 1-D, got shapes " + to_string(a_in.shape()) + " and " +
                to_string(v_in.shape()));
  check_nonempty(fn, a_in, v_in);
  check_mode(fn, mode);
  auto [a, v] = promote_inexact(fn, a_in, v_in);
  const bool swap = a.shape()[0] < v.shape()[0];
  if (swap) std::swap(a, v);
  if (!correlate) v = lax::rev(v, {0});
  const int64_t m = v.shape()[0];
  Pads pads = {mode == "valid" ? std::make_pair<int64_t, int64_t>(0, 0)
               : mode == "same" ? std::make_pair(m / 2, m - 1 - m / 2)
                                : std::make_pair(m - 1, m - 1)};
  Tensor out = correlate_nd(a, v, pads);
  return correlate && swap ? lax::rev(out, {0}) : out;
}

// §5.2: the direct path of scipy.signal.convolve (comparable shapes required, as JAX).
Tensor scipy_convolve(const char* fn, const Tensor& in1_in, const Tensor& in2_in, const std::string& mode) {
  const Shape& s1 = detail::node_of(in1_in, fn, "in1").shape;
  const Shape& s2 = detail::node_of(in2_in, fn, "in2").shape;
  check_mode(fn, mode);
  if (s1.size() != s2.size())
    throw Error(std::string(fn) + ": in1 and in2 must have the same number of dimensions, got shapes " +
                to_string(s1) + " and " + to_string(s2));
  check_nonempty(fn, in1_in, in2_in);
  bool ge = true, le = true;
  for (size_t i = 0; i < s1.size(); ++i) {
    ge = ge && s1[i] >= s2[i];
    le = le && s1[i] <= s2[i];
  }
  if (!ge && !le)
    throw Error(std::string(fn) + ": shapes " + to_string(s1) + " and " + to_string(s2) +
                " must be comparable (one at least as large as the other in every dimension)");
  auto [in1, in2] = promote_inexact(fn, in1_in, in2_in);
  const Shape original_in2 = s2;
  if (le) std::swap(in1, in2);
  const size_t n = s1.size();
  Tensor kernel = lax::rev(in2, all_axes(n));
  Pads pads(n);
  for (size_t i = 0; i < n; ++i) {
    const int64_t k = kernel.shape()[i], so = original_in2[i];
    if (mode == "full") pads[i] = {k - 1, k - 1};
    else if (mode == "same") pads[i] = {k - 1 - (so - 1) / 2, k - so + (so - 1) / 2};
    else pads[i] = {0, 0};
  }
  return correlate_nd(in1, kernel, pads);
}

// Source index of position p (may be outside [0, n)) under SciPy's 'wrap' or 'symm' rule.
int64_t boundary_index(int64_t p, int64_t n, bool wrap) {
  if (wrap) return ((p % n) + n) % n;
  const int64_t period = 2 * n;
  int64_t r = ((p % period) + period) % period;
  return r < n ? r : period - 1 - r;  // mirror with the edge repeated
}

// Extends x along `axis` by (lo, hi) elements following the boundary rule, as slices,
// reversals and one concatenation, so the extension is differentiable.
Tensor extend_axis(const Tensor& x, int64_t axis, int64_t lo, int64_t hi, bool wrap) {
  const Shape& s = x.shape();
  const int64_t n = s[axis];
  std::vector<Tensor> pieces;
  int64_t p = -lo;
  while (p < n + hi) {
    const int64_t start = boundary_index(p, n, wrap);
    int64_t step = 0, len = 1;
    // Grow a run of consecutive source indices, ascending or descending.
    if (p + 1 < n + hi) {
      const int64_t next = boundary_index(p + 1, n, wrap);
      if (next == start + 1) step = 1;
      else if (next == start - 1) step = -1;
    }
    if (step != 0)
      while (p + len < n + hi && boundary_index(p + len, n, wrap) == start + step * len) ++len;
    const int64_t first = step >= 0 ? start : start - (len - 1);
    Shape b(s.size(), 0), e = s;
    b[axis] = first;
    e[axis] = first + len;
    Tensor piece = lax::slice(x, b, e);
    if (step < 0) piece = lax::rev(piece, {axis});
    pieces.push_back(piece);
    p += len;
  }
  return pieces.size() == 1 ? pieces[0] : concatenate(pieces, axis);
}

// convolve2d / correlate2d with SciPy's boundary modes: extend in1, then a valid
// correlation with `kernel` (already flipped for convolution). `same_start` is the crop
// start of 'same' relative to the full output, per dim.
Tensor boundary_2d(const char* fn, const Tensor& in1_in, const Tensor& in2_in, const std::string& mode,
                   const std::string& boundary, double fillvalue, bool correlate) {
  const Shape& s1 = detail::node_of(in1_in, fn, "in1").shape;
  const Shape& s2 = detail::node_of(in2_in, fn, "in2").shape;
  if (s1.size() != 2 || s2.size() != 2)
    throw Error(std::string(fn) + ": in1 and in2 must be 2-D, got shapes " + to_string(s1) + " and " + to_string(s2));
  check_mode(fn, mode);
  if (boundary != "fill" && boundary != "wrap" && boundary != "symm")
    throw Error(std::string(fn) + ": boundary '" + boundary + "' must be one of 'fill', 'wrap', 'symm'");
  check_nonempty(fn, in1_in, in2_in);
  if (mode == "valid") {
    // no boundary is read in 'valid' mode
    Tensor k = correlate ? lax::rev(in2_in, {0, 1}) : in2_in;
    return scipy_convolve(fn, in1_in, k, "valid");
  }
  auto [in1, in2] = promote_inexact(fn, in1_in, in2_in);
  Pads pads(2);
  for (int i = 0; i < 2; ++i) {
    const int64_t n2 = s2[i];
    const int64_t start = mode == "full" ? 0 : (correlate ? n2 / 2 : (n2 - 1) / 2);
    pads[i] = {mode == "full" ? n2 - 1 : n2 - 1 - start, mode == "full" ? n2 - 1 : start};
  }
  Tensor ext = in1;
  if (boundary == "fill") {
    ext = lax::pad(in1, fillvalue, {{pads[0].first, pads[0].second, 0}, {pads[1].first, pads[1].second, 0}});
  } else {
    for (int i = 0; i < 2; ++i) ext = extend_axis(ext, i, pads[i].first, pads[i].second, boundary == "wrap");
  }
  Tensor kernel = correlate ? in2 : lax::rev(in2, {0, 1});
  return correlate_nd(ext, kernel, {{0, 0}, {0, 0}});
}

}  // namespace

namespace numpy {
Tensor convolve(const Tensor& a, const Tensor& v, const std::string& mode) {
  return numpy_1d("numpy::convolve", a, v, mode, false);
}
Tensor correlate(const Tensor& a, const Tensor& v, const std::string& mode) {
  return numpy_1d("numpy::correlate", a, v, mode, true);
}
}  // namespace numpy

namespace scipy::signal {
Tensor convolve(const Tensor& in1, const Tensor& in2, const std::string& mode) {
  return scipy_convolve("scipy::signal::convolve", in1, in2, mode);
}
Tensor correlate(const Tensor& in1, const Tensor& in2, const std::string& mode) {
  const char* fn = "scipy::signal::correlate";
  const Shape& s2 = detail::node_of(in2, fn, "in2").shape;
  return scipy_convolve(fn, in1, lax::rev(in2, all_axes(s2.size())), mode);
}
Tensor convolve2d(const Tensor& in1, const Tensor& in2, const std::string& mode, const std::string& boundary,
                  double fillvalue) {
  return boundary_2d("scipy::signal::convolve2d", in1, in2, mode, boundary, fillvalue, false);
}
Tensor correlate2d(const Tensor& in1, const Tensor& in2, const std::string& mode, const std::string& boundary,
                   double fillvalue) {
  return boundary_2d("scipy::signal::correlate2d", in1, in2, mode, boundary, fillvalue, true);
}
}  // namespace scipy::signal

}  // namespace xlax
