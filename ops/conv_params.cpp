// Dimension numbers, padding resolution and the shape rule of conv_general_dilated.
#include "ops/conv_params.hpp"

#include "ops/padding.hpp"

#include <algorithm>
#include <cctype>

#include "core/graph.hpp"

namespace xlax::lax {

namespace {

[[noreturn]] void fail(const char* function, const std::string& what) { throw Error(std::string(function) + ": " + what); }

void check_permutation(const char* function, const char* name, const std::vector<int64_t>& spec, size_t rank) {
  std::vector<int64_t> sorted = spec;
  std::sort(sorted.begin(), sorted.end());
  bool ok = spec.size() == rank;
  for (size_t i = 0; ok && i < rank; ++i) ok = sorted[i] == static_cast<int64_t>(i);
  if (!ok) {
    std::string s;
    for (auto v : spec) s += (s.empty() ? "" : ", ") + std::to_string(v);
    fail(function, std::string("dimension_numbers.") + name + " = (" + s + ") must be a permutation of 0.." +
                       std::to_string(static_cast<int64_t>(rank) - 1));
  }
}

// Index of `c` in `s`; checks it occurs exactly once.
int64_t find_once(const char* function, const std::string& s, char c, const char* which) {
  auto count = std::count(s.begin(), s.end(), c);
  if (count != 1)
    fail(function, std::string("dimension_numbers ") + which + " string '" + s + "' must contain '" + c +
                       "' exactly once");
  return static_cast<int64_t>(s.find(c));
}

// Small-string checks without allocating (this runs on every conv call).
bool has_repeat(const std::string& s) {
  for (size_t i = 0; i < s.size(); ++i)
    if (s.find(s[i], i + 1) != std::string::npos) return true;
  return false;
}
// Same set of characters; each string is free of repeats (checked before).
bool same_letters(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  for (char c : a)
    if (b.find(c) == std::string::npos) return false;
  return true;
}

}  // namespace

DimensionNumbers::DimensionNumbers() = default;
DimensionNumbers::DimensionNumbers(std::string l, std::string r, std::string o)
    : kind(Kind::strings), lhs(std::move(l)), rhs(std::move(r)), out(std::move(o)) {}
DimensionNumbers::DimensionNumbers(ConvDimensionNumbers resolved) : kind(Kind::resolved), spec(std::move(resolved)) {}

ConvDimensionNumbers conv_dimension_numbers(const Shape& lhs_shape, const Shape& rhs_shape,
                                            const DimensionNumbers& dn) {
  const char* fn = "conv_dimension_numbers";
  if (dn.kind == DimensionNumbers::Kind::resolved) {
    // JAX uses these unchecked; xlax verifies that each is a permutation.
    check_permutation(fn, "lhs_spec", dn.spec.lhs_spec, lhs_shape.size());
    check_permutation(fn, "rhs_spec", dn.spec.rhs_spec, rhs_shape.size());
    check_permutation(fn, "out_spec", dn.spec.out_spec, lhs_shape.size());
    return dn.spec;
  }
  if (lhs_shape.size() != rhs_shape.size())
    fail(fn, "lhs rank " + std::to_string(lhs_shape.size()) + " and rhs rank " + std::to_string(rhs_shape.size()) +
                 " must be equal");
  const size_t rank = lhs_shape.size();
  if (rank < 2) fail(fn, "lhs and rhs must have rank >= 2 (N and C axes), got rank " + std::to_string(rank));
  ConvDimensionNumbers out;
  if (dn.kind == DimensionNumbers::Kind::none) {
    for (size_t i = 0; i < rank; ++i) out.lhs_spec.push_back(static_cast<int64_t>(i));
    out.rhs_spec = out.out_spec = out.lhs_spec;
    return out;
  }
  const std::string* strs[3] = {&dn.lhs, &dn.rhs, &dn.out};
  const char* names[3] = {"lhs", "rhs", "out"};
  for (int k = 0; k < 3; ++k) {
    if (strs[k]->size() != rank)
      fail(fn, std::string("dimension_numbers ") + names[k] + " string '" + *strs[k] + "' has length " +
                   std::to_string(strs[k]->size()) + " but the arrays have rank " + std::to_string(rank));
    if (has_repeat(*strs[k]))
      fail(fn, std::string("dimension_numbers ") + names[k] + " string '" + *strs[k] + "' repeats a character");
  }
  const int64_t lhs_n = find_once(fn, dn.lhs, 'N', "lhs"), lhs_c = find_once(fn, dn.lhs, 'C', "lhs");
  const int64_t rhs_o = find_once(fn, dn.rhs, 'O', "rhs"), rhs_i = find_once(fn, dn.rhs, 'I', "rhs");
  const int64_t out_n = find_once(fn, dn.out, 'N', "out"), out_c = find_once(fn, dn.out, 'C', "out");
  auto spatial = [](const std::string& s, char a, char b) {
    std::string r;
    for (char c : s)
      if (c != a && c != b) r += c;
    return r;
  };
  const std::string ls = spatial(dn.lhs, 'N', 'C'), rs = spatial(dn.rhs, 'O', 'I'), os = spatial(dn.out, 'N', 'C');
  if (!same_letters(ls, rs) || !same_letters(os, rs))
    fail(fn, "dimension_numbers ('" + dn.lhs + "', '" + dn.rhs + "', '" + dn.out +
                 "'): the spatial letters of lhs, rhs and out must be the same set (got '" + ls + "', '" + rs +
                 "', '" + os + "')");
  out.lhs_spec = {lhs_n, lhs_c};
  out.rhs_spec = {rhs_o, rhs_i};
  out.out_spec = {out_n, out_c};
  // Canonical spatial order: the order of the spatial letters in the rhs string.
  for (char c : rs) {
    out.rhs_spec.push_back(static_cast<int64_t>(dn.rhs.find(c)));
    out.lhs_spec.push_back(static_cast<int64_t>(dn.lhs.find(c)));
    out.out_spec.push_back(static_cast<int64_t>(dn.out.find(c)));
  }
  return out;
}

ConvParams resolve_conv_params(const char* fn, const Shape& lhs, const Shape& rhs,
                               const std::vector<int64_t>& window_strides, const Padding& padding,
                               const std::vector<int64_t>& lhs_dilation, const std::vector<int64_t>& rhs_dilation,
                               const DimensionNumbers& dimension_numbers, int64_t G, int64_t B) {
  ConvParams p;
  if (lhs.size() != rhs.size())
    fail(fn, "lhs rank " + std::to_string(lhs.size()) + " (shape " + to_string(lhs) + ") and rhs rank " +
                 std::to_string(rhs.size()) + " (shape " + to_string(rhs) + ") must be equal");
  if (lhs.size() < 2) fail(fn, "lhs and rhs must have rank >= 2 (batch and feature axes), got " + to_string(lhs));
  p.dimension_numbers = conv_dimension_numbers(lhs, rhs, dimension_numbers);
  const auto& dn = p.dimension_numbers;
  const size_t n = lhs.size() - 2;
  if (window_strides.size() != n)
    fail(fn, "window_strides has " + std::to_string(window_strides.size()) + " entries but there are " +
                 std::to_string(n) + " spatial dimensions");
  for (int64_t s : window_strides)
    if (s <= 0) fail(fn, "window_strides entries must be > 0, got " + std::to_string(s));
  auto defaulted = [&](const std::vector<int64_t>& v, const char* name) {
    if (v.empty()) return std::vector<int64_t>(n, 1);
    if (v.size() != n)
      fail(fn, std::string(name) + " has " + std::to_string(v.size()) + " entries but there are " +
                   std::to_string(n) + " spatial dimensions");
    for (int64_t d : v)
      if (d <= 0) fail(fn, std::string(name) + " entries must be > 0, got " + std::to_string(d));
    return v;
  };
  p.lhs_dilation = defaulted(lhs_dilation, "lhs_dilation");
  p.rhs_dilation = defaulted(rhs_dilation, "rhs_dilation");
  p.window_strides = window_strides;
  std::vector<int64_t> S(n), K(n);
  for (size_t i = 0; i < n; ++i) {
    S[i] = lhs[dn.lhs_spec[2 + i]];
    K[i] = rhs[dn.rhs_spec[2 + i]];
  }
  if (padding.is_string()) {
    for (int64_t d : p.lhs_dilation)
      if (d != 1)
        fail(fn, "string padding '" + padding.mode() +
                     "' is not implemented together with lhs_dilation != 1 (transposed convolution); give explicit "
                     "(lo, hi) padding or use conv_transpose");
    std::vector<int64_t> window(n);
    for (size_t i = 0; i < n; ++i) window[i] = dilate_dim(K[i], p.rhs_dilation[i]);
    p.padding = padtype_to_pads(fn, padding.mode(), S, window, window_strides);
  } else {
    p.padding = padding.pairs();
  }
  const int64_t N = lhs[dn.lhs_spec[0]], C = lhs[dn.lhs_spec[1]];
  const int64_t O = rhs[dn.rhs_spec[0]], I = rhs[dn.rhs_spec[1]];
  if (G <= 0) fail(fn, "feature_group_count=" + std::to_string(G) + " must be > 0");
  if (C % G != 0)
    fail(fn, "feature_group_count=" + std::to_string(G) + " must divide the lhs feature dimension (C=" +
                 std::to_string(C) + ")");
  if (C / G != I)
    fail(fn, "the rhs input-feature dimension (I=" + std::to_string(I) +
                 ") must equal the lhs feature dimension divided by feature_group_count (" + std::to_string(C) + "/" +
                 std::to_string(G) + "=" + std::to_string(C / G) + ")");
  if (O % G != 0)
    fail(fn, "feature_group_count=" + std::to_string(G) + " must divide the rhs output-feature dimension (O=" +
                 std::to_string(O) + ")");
  if (B <= 0) fail(fn, "batch_group_count=" + std::to_string(B) + " must be > 0");
  if (B > 1 && N % B != 0)
    fail(fn, "batch_group_count=" + std::to_string(B) + " must divide the lhs batch dimension (N=" +
                 std::to_string(N) + ")");
  if (O % B != 0)
    fail(fn, "batch_group_count=" + std::to_string(B) + " must divide the rhs output-feature dimension (O=" +
                 std::to_string(O) + ")");
  if (G > 1 && B > 1)
    fail(fn, "feature_group_count=" + std::to_string(G) + " and batch_group_count=" + std::to_string(B) +
                 " cannot both exceed 1");
  if (p.padding.size() != n)
    fail(fn, "padding has " + std::to_string(p.padding.size()) + " (lo, hi) pairs but there are " +
                 std::to_string(n) + " spatial dimensions");
  for (size_t i = 0; i < n; ++i) {
    const int64_t extent = dilate_dim(S[i], p.lhs_dilation[i]) + p.padding[i].first + p.padding[i].second;
    if (extent < 0)
      fail(fn, "negative padding (" + std::to_string(p.padding[i].first) + ", " + std::to_string(p.padding[i].second) +
                   ") of spatial dimension " + std::to_string(i) + " removes more than the whole (dilated) size " +
                   std::to_string(dilate_dim(S[i], p.lhs_dilation[i])));
  }
  p.feature_group_count = G;
  p.batch_group_count = B;
  return p;
}

Shape conv_output_shape(const ConvParams& p, const Shape& lhs, const Shape& rhs) {
  const auto& dn = p.dimension_numbers;
  const size_t n = p.window_strides.size();
  Shape out(lhs.size());
  out[dn.out_spec[0]] = lhs[dn.lhs_spec[0]] / p.batch_group_count;
  out[dn.out_spec[1]] = rhs[dn.rhs_spec[0]];
  for (size_t i = 0; i < n; ++i) {
    const int64_t padded = dilate_dim(lhs[dn.lhs_spec[2 + i]], p.lhs_dilation[i]) + p.padding[i].first + p.padding[i].second;
    const int64_t window = dilate_dim(rhs[dn.rhs_spec[2 + i]], p.rhs_dilation[i]);
    const int64_t diff = padded - window;
    // floor division, then clamp: an input smaller than the window gives 0 positions
    const int64_t q = diff < 0 ? 0 : diff / p.window_strides[i] + 1;
    out[dn.out_spec[2 + i]] = q;
  }
  return out;
}

kernels::ConvGeometry conv_geometry(const ConvParams& p, const Shape& lhs, const Shape& rhs, const Shape& out) {
  const auto& dn = p.dimension_numbers;
  const size_t n = p.window_strides.size();
  kernels::ConvGeometry g;
  g.N = lhs[dn.lhs_spec[0]];
  g.C = lhs[dn.lhs_spec[1]];
  g.O = rhs[dn.rhs_spec[0]];
  g.I = rhs[dn.rhs_spec[1]];
  g.feature_group_count = p.feature_group_count;
  g.batch_group_count = p.batch_group_count;
  const Shape ls = detail::row_major_strides(lhs), rs = detail::row_major_strides(rhs),
              os = detail::row_major_strides(out);
  // Reserve once: this runs on every conv evaluation, tiny convs feel each allocation.
  for (auto* v : {&g.lhs_strides, &g.rhs_strides, &g.out_strides}) v->reserve(n + 2);
  for (auto* v : {&g.lhs_size, &g.kernel_size, &g.out_size, &g.pad_lo}) v->reserve(n);
  for (size_t j = 0; j < n + 2; ++j) {
    g.lhs_strides.push_back(ls[dn.lhs_spec[j]]);
    g.rhs_strides.push_back(rs[dn.rhs_spec[j]]);
    g.out_strides.push_back(os[dn.out_spec[j]]);
  }
  for (size_t i = 0; i < n; ++i) {
    g.lhs_size.push_back(lhs[dn.lhs_spec[2 + i]]);
    g.kernel_size.push_back(rhs[dn.rhs_spec[2 + i]]);
    g.out_size.push_back(out[dn.out_spec[2 + i]]);
    g.pad_lo.push_back(p.padding[i].first);
  }
  g.stride = p.window_strides;
  g.lhs_dilation = p.lhs_dilation;
  g.rhs_dilation = p.rhs_dilation;
  if (p.flip_kernel)
    for (size_t i = 0; i < n; ++i) g.rhs_strides[i + 2] = -g.rhs_strides[i + 2];
  return g;
}

int64_t rhs_origin(const ConvParams& p, const Shape& rhs) {
  if (!p.flip_kernel) return 0;
  const Shape strides = detail::row_major_strides(rhs);
  int64_t origin = 0;
  for (size_t i = 2; i < rhs.size(); ++i) {
    const int64_t axis = p.dimension_numbers.rhs_spec[i];
    origin += std::max<int64_t>(rhs[axis] - 1, 0) * strides[axis];
  }
  return origin;
}

}  // namespace xlax::lax
