// lax.conv_general_dilated: argument resolution and checks (docs/conv_semantics.md §1), the
// primitive (one kernel: ops/kernels/conv/) and its vjp by JAX's transpose rules
// (§2): both gradients are conv_general_dilated calls, so backprop runs on the same kernel
// and higher orders come for free.
#include <algorithm>
#include <sstream>

#include "core/graph.hpp"
#include "ops/conv_params.hpp"
#include "ops/kernels/conv/conv_kernel.hpp"
#include "xlax/lax.hpp"

namespace xlax::lax {
using detail::Node;

namespace {

const char* kFn = "conv_general_dilated";

std::string join(const std::vector<int64_t>& v) {
  std::ostringstream os;
  os << "(";
  for (size_t i = 0; i < v.size(); ++i) os << (i ? ", " : "") << v[i];
  if (v.size() == 1) os << ",";
  os << ")";
  return os.str();
}

std::vector<int64_t> swap01(std::vector<int64_t> spec) {
  std::swap(spec[0], spec[1]);
  return spec;
}

std::vector<int64_t> inverse_permutation(const std::vector<int64_t>& perm) {
  std::vector<int64_t> inv(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) inv[perm[i]] = static_cast<int64_t>(i);
  return inv;
}

// 0, 1, ..., n-1 shifted by `from`.
std::vector<int64_t> iota_axes(size_t n, int64_t from) {
  std::vector<int64_t> axes(n);
  for (size_t i = 0; i < n; ++i) axes[i] = from + static_cast<int64_t>(i);
  return axes;
}

// Moves a group factor between the two leading axes of a canonical (A, B, spatial...) array:
// reshape to (f0, f1, f2, spatial...), exchange the first two, reshape to (m0, m1, spatial...).
Tensor regroup_leading(const Tensor& t, int64_t f0, int64_t f1, int64_t f2, int64_t m0, int64_t m1) {
  const Shape& s = t.shape();
  const size_t n = s.size() - 2;
  Shape split = {f0, f1, f2};
  split.insert(split.end(), s.begin() + 2, s.end());
  std::vector<int64_t> perm = {1, 0, 2};
  for (int64_t a : iota_axes(n, 3)) perm.push_back(a);
  Shape merged = {m0, m1};
  merged.insert(merged.end(), s.begin() + 2, s.end());
  return reshape(transpose(reshape(t, split), perm), merged);
}

// conv_general_dilated, optionally reading the rhs with its spatial axes reversed.
Tensor conv_node(const Tensor& lhs, const Tensor& rhs, const std::vector<int64_t>& window_strides,
                 const Padding& padding, const std::vector<int64_t>& lhs_dilation,
                 const std::vector<int64_t>& rhs_dilation, const DimensionNumbers& dimension_numbers,
                 int64_t feature_group_count, int64_t batch_group_count, bool flip_kernel);

class ConvGeneralDilated : public detail::Primitive {
 public:
  // Shapes are fixed when the node is built, so the kernel's geometry is worked out once.
  ConvGeneralDilated(ConvParams p, const Shape& lhs, const Shape& rhs, const Shape& out)
      : p_(std::move(p)), geometry_(conv_geometry(p_, lhs, rhs, out)), rhs_origin_(rhs_origin(p_, rhs)) {}
  std::string name() const override { return kFn; }

  void eval(const std::vector<const Node*>& in, Node& out) const override {
    const Node& lhs = *in[0];
    const Node& rhs = *in[1];
    detail::dispatch_float(out.dtype, kFn, [&](auto zero) {
      using T = decltype(zero);
      kernels::conv_general<T>(geometry_, lhs.ptr<T>(), rhs.ptr<T>() + rhs_origin_, out.ptr<T>());
    });
  }

  std::vector<Tensor> vjp(const std::vector<Tensor>& in, const Tensor&, const Tensor& cot,
                          const std::vector<bool>& needs) const override {
    const Tensor& lhs = in[0];
    const Tensor& rhs = in[1];
    if (cot.size() == 0) return {zeros_like(lhs), zeros_like(rhs)};
    return {needs[0] ? lhs_transpose(lhs, rhs, cot) : Tensor(), needs[1] ? rhs_transpose(lhs, rhs, cot) : Tensor()};
  }

 private:
  // §2.2: dX = conv(g, flipped kernel with O/I swapped), stride <-> lhs dilation swapped.
  // The flip is the conv's own flag (no reversed copy of the kernel); a flipped forward
  // kernel flips back.
  Tensor lhs_transpose(const Tensor& lhs, const Tensor& rhs, const Tensor& g) const {
    const auto& dn = p_.dimension_numbers;
    const size_t n = p_.window_strides.size();
    const int64_t G = p_.feature_group_count, B = p_.batch_group_count;
    const int64_t groups = G > 1 ? G : B;
    Tensor kernel;
    std::vector<int64_t> kernel_spec;
    if (groups > 1) {
      // Move the group factor from the kernel's O axis onto its I axis:
      // W'[p, g*I + i, j] = W[g*Og + p, i, j], in canonical (O, I, K...) order.
      Tensor wc = transpose(rhs, dn.rhs_spec);
      const int64_t O = wc.shape()[0], I = wc.shape()[1];
      kernel = regroup_leading(wc, groups, O / groups, I, O / groups, groups * I);
      kernel_spec = {1, 0};
      for (int64_t a : iota_axes(n, 2)) kernel_spec.push_back(a);
    } else {
      kernel = rhs;
      kernel_spec = swap01(dn.rhs_spec);
    }
    std::vector<std::pair<int64_t, int64_t>> pads(n);
    for (size_t i = 0; i < n; ++i) {
      const DilatedSizes d = dilated_sizes(i, lhs.shape(), rhs.shape(), g.shape());
      const int64_t before = d.K - 1 - p_.padding[i].first;
      pads[i] = {before, d.X + d.K - 1 - d.Q - before};
    }
    ConvDimensionNumbers trans_dn{dn.out_spec, kernel_spec, dn.lhs_spec};
    Tensor dx = conv_node(g, kernel, p_.lhs_dilation, pads, p_.window_strides, p_.rhs_dilation, trans_dn, groups,
                          1, !p_.flip_kernel);
    if (B > 1) {
      // dX[g*Nb + b, c] = T[b, g*C + c]: move the batch-group factor into the batch axis.
      Tensor tc = transpose(dx, dn.lhs_spec);
      const int64_t Nb = tc.shape()[0], C = tc.shape()[1] / B;
      Tensor canonical = regroup_leading(tc, Nb, B, C, Nb * B, C);
      dx = transpose(canonical, inverse_permutation(dn.lhs_spec));
    }
    return dx;
  }

  // §2.3: dW = conv(X, g) with batch and feature roles exchanged; stride <-> rhs dilation.
  // For a flipped kernel that is the gradient of the flipped kernel: flip it back.
  Tensor rhs_transpose(const Tensor& lhs, const Tensor& rhs, const Tensor& g) const {
    const auto& dn = p_.dimension_numbers;
    const size_t n = p_.window_strides.size();
    std::vector<std::pair<int64_t, int64_t>> pads(n);
    for (size_t i = 0; i < n; ++i) {
      const DilatedSizes d = dilated_sizes(i, lhs.shape(), rhs.shape(), g.shape());
      const int64_t lo = p_.padding[i].first;
      pads[i] = {lo, d.Q - d.X + d.K - lo - 1};
    }
    ConvDimensionNumbers trans_dn{swap01(dn.lhs_spec), swap01(dn.out_spec), swap01(dn.rhs_spec)};
    const int64_t G = p_.feature_group_count, B = p_.batch_group_count;
    Tensor dw = conv_general_dilated(lhs, g, p_.rhs_dilation, pads, p_.lhs_dilation, p_.window_strides, trans_dn,
                                     B > 1 ? B : 1, G > 1 ? G : 1);
    if (p_.flip_kernel) dw = rev(dw, std::vector<int64_t>(dn.rhs_spec.begin() + 2, dn.rhs_spec.end()));
    return dw;
  }

  // Per spatial dim i: dil(S, ld), dil(K, rd), dil(Q, s) of the forward call (§2 notation).
  struct DilatedSizes {
    int64_t X, K, Q;
  };
  DilatedSizes dilated_sizes(size_t i, const Shape& xs, const Shape& ks, const Shape& gs) const {
    const auto& dn = p_.dimension_numbers;
    return {dilate_dim(xs[dn.lhs_spec[2 + i]], p_.lhs_dilation[i]),
            dilate_dim(ks[dn.rhs_spec[2 + i]], p_.rhs_dilation[i]),
            dilate_dim(gs[dn.out_spec[2 + i]], p_.window_strides[i])};
  }

  ConvParams p_;
  kernels::ConvGeometry geometry_;
  int64_t rhs_origin_;
};

// Resolving and checking the arguments costs more than a tiny conv itself, and training
// repeats the same calls every step: each thread keeps its last kCachedConvs resolved
// primitives (immutable, shared by the nodes built from them), found by an exact match on
// every argument, as a jit cache would.
struct CachedConv {
  Shape lhs, rhs, out;
  DType dtype = DType::float32;
  std::vector<int64_t> window_strides, lhs_dilation, rhs_dilation;
  Padding padding = Padding("VALID");
  DimensionNumbers dimension_numbers;
  int64_t feature_group_count = 1, batch_group_count = 1;
  bool flip_kernel = false;
  std::shared_ptr<const ConvGeneralDilated> prim;

  bool matches(const Shape& l, const Shape& r, DType dt, const std::vector<int64_t>& ws, const Padding& pad,
               const std::vector<int64_t>& ld, const std::vector<int64_t>& rd, const DimensionNumbers& dn,
               int64_t G, int64_t B, bool flip) const {
    if (!prim || dt != dtype || G != feature_group_count || B != batch_group_count || flip != flip_kernel ||
        l != lhs || r != rhs ||
        ws != window_strides || ld != lhs_dilation || rd != rhs_dilation)
      return false;
    if (pad.is_string() != padding.is_string() ||
        (pad.is_string() ? pad.mode() != padding.mode() : pad.pairs() != padding.pairs()))
      return false;
    if (dn.kind != dimension_numbers.kind) return false;
    switch (dn.kind) {
      case DimensionNumbers::Kind::none: return true;
      case DimensionNumbers::Kind::strings:
        return dn.lhs == dimension_numbers.lhs && dn.rhs == dimension_numbers.rhs && dn.out == dimension_numbers.out;
      case DimensionNumbers::Kind::resolved: return dn.spec == dimension_numbers.spec;
    }
    return false;
  }
};

constexpr size_t kCachedConvs = 16;
struct ConvCache {
  CachedConv entries[kCachedConvs];
  size_t next = 0;  // round-robin replacement
};
thread_local ConvCache t_conv_cache;

Tensor conv_node(const Tensor& lhs, const Tensor& rhs, const std::vector<int64_t>& window_strides,
                 const Padding& padding, const std::vector<int64_t>& lhs_dilation,
                 const std::vector<int64_t>& rhs_dilation, const DimensionNumbers& dimension_numbers,
                 int64_t feature_group_count, int64_t batch_group_count, bool flip_kernel) {
  const Node& l = detail::node_of(lhs, kFn, "lhs");
  const Node& r = detail::node_of(rhs, kFn, "rhs");
  ConvCache& cache = t_conv_cache;
  for (const CachedConv& c : cache.entries)
    if (c.matches(l.shape, r.shape, l.dtype, window_strides, padding, lhs_dilation, rhs_dilation, dimension_numbers,
                  feature_group_count, batch_group_count, flip_kernel))
      return detail::make_tensor(c.prim, {lhs, rhs}, c.out, l.dtype);
  ConvParams p = resolve_conv_params(kFn, l.shape, r.shape, window_strides, padding, lhs_dilation, rhs_dilation,
                                     dimension_numbers, feature_group_count, batch_group_count);
  if (l.dtype != r.dtype)
    throw Error(std::string(kFn) + ": lhs dtype " + to_string(l.dtype) + " and rhs dtype " + to_string(r.dtype) +
                " must be equal (lax does not promote)");
  if (!is_floating(l.dtype))
    throw Error(std::string(kFn) + ": dtype " + to_string(l.dtype) + " is not supported (float32 or float64)");
  Shape out = conv_output_shape(p, l.shape, r.shape);
  p.flip_kernel = flip_kernel;
  auto prim = std::make_shared<const ConvGeneralDilated>(std::move(p), l.shape, r.shape, out);
  CachedConv& slot = cache.entries[cache.next];
  cache.next = (cache.next + 1) % kCachedConvs;
  slot = CachedConv{l.shape,    r.shape,           out,
                    l.dtype,    window_strides,    lhs_dilation,
                    rhs_dilation, padding,         dimension_numbers,
                    feature_group_count, batch_group_count, flip_kernel, prim};
  return detail::make_tensor(std::move(prim), {lhs, rhs}, out, l.dtype);
}

}  // namespace

Tensor conv_general_dilated(const Tensor& lhs, const Tensor& rhs, const std::vector<int64_t>& window_strides,
                            const Padding& padding, const std::vector<int64_t>& lhs_dilation,
                            const std::vector<int64_t>& rhs_dilation, const DimensionNumbers& dimension_numbers,
                            int64_t feature_group_count, int64_t batch_group_count) {
  return conv_node(lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation, dimension_numbers,
                   feature_group_count, batch_group_count, false);
}

bool operator==(const ConvDimensionNumbers& a, const ConvDimensionNumbers& b) {
  return a.lhs_spec == b.lhs_spec && a.rhs_spec == b.rhs_spec && a.out_spec == b.out_spec;
}
bool operator!=(const ConvDimensionNumbers& a, const ConvDimensionNumbers& b) { return !(a == b); }

std::ostream& operator<<(std::ostream& os, const ConvDimensionNumbers& dn) {
  return os << "ConvDimensionNumbers(lhs_spec=" << join(dn.lhs_spec) << ", rhs_spec=" << join(dn.rhs_spec)
            << ", out_spec=" << join(dn.out_spec) << ")";
}

}  // namespace xlax::lax
