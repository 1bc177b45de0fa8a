// Layout ops: reshape, broadcast_to, expand_dims, squeeze, transpose.
#include <algorithm>
#include <cstring>

#include "core/graph.hpp"
#include "core/strided.hpp"
#include "ops/op_util.hpp"

namespace xlax {
using detail::Node;

namespace {

class Reshape : public detail::Primitive {
 public:
  std::string name() const override { return "reshape"; }
  bool aliases_input() const override { return true; }
  void eval(const std::vector<const Node*>&, Node&) const override {}
  std::vector<Tensor> vjp(const std::vector<Tensor>& in, const Tensor&, const Tensor& c,
                          const std::vector<bool>&) const override {
    return {reshape(c, in[0].shape())};
  }
};

// Copies x (any dtype) read through `strides` into the row-major output.
void strided_copy(const Node& x, const std::vector<int64_t>& strides, Node& out) {
  detail::dispatch_all(x.dtype, [&](auto zero) {
    using T = decltype(zero);
    const T* px = x.ptr<T>();
    T* po = out.ptr<T>();
    std::array<std::vector<int64_t>, 2> st{strides, detail::row_major_strides(out.shape)};
    detail::strided_rows<2>(out.shape, st, [&](int64_t n, auto off, auto inner) {
      const T* src = px + off[0];
      T* dst = po + off[1];
      if (inner[0] == 1) std::memcpy(dst, src, n * sizeof(T));
      else if (inner[0] == 0) std::fill(dst, dst + n, src[0]);
      else for (int64_t i = 0; i < n; ++i) dst[i] = src[i * inner[0]];
    });
  });
}

class BroadcastTo : public detail::Primitive {
 public:
  std::string name() const override { return "broadcast_to"; }
  void eval(const std::vector<const Node*>& in, Node& out) const override {
    strided_copy(*in[0], detail::broadcast_strides(in[0]->shape, out.shape), out);
  }
  std::vector<Tensor> vjp(const std::vector<Tensor>& in, const Tensor&, const Tensor& c,
                          const std::vector<bool>&) const override {
    return {ops::unbroadcast(c, in[0].shape())};
  }
};

class Transpose : public detail::Primitive {
 public:
  explicit Transpose(std::vector<int64_t> perm) : perm_(std::move(perm)) {}
  std::string name() const override { return "transpose"; }
  void eval(const std::vector<const Node*>& in, Node& out) const override {
    Shape in_strides = detail::row_major_strides(in[0]->shape);
    std::vector<int64_t> st(perm_.size());
    for (size_t i = 0; i < perm_.size(); ++i) st[i] = in_strides[perm_[i]];
    strided_copy(*in[0], st, out);
  }
  std::vector<Tensor> vjp(const std::vector<Tensor>&, const Tensor&, const Tensor& c,
                          const std::vector<bool>&) const override {
    std::vector<int64_t> inverse(perm_.size());
    for (size_t i = 0; i < perm_.size(); ++i) inverse[perm_[i]] = static_cast<int64_t>(i);
    return {transpose(c, inverse)};
  }

 private:
  std::vector<int64_t> perm_;
};

}  // namespace

Tensor reshape(const Tensor& x, const Shape& new_shape) {
  const Node& n = detail::node_of(x, "reshape", "x");
  Shape shape = new_shape;
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      if (infer >= 0) throw Error("reshape: new_shape " + to_string(new_shape) + " has more than one -1");
      infer = static_cast<int64_t>(i);
    } else if (shape[i] < 0) {
      throw Error("reshape: new_shape " + to_string(new_shape) + " has a negative dimension");
    } else {
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    if (known == 0 || n.size % known != 0)
      throw Error("reshape: cannot infer the -1 in " + to_string(new_shape) + " for size " + std::to_string(n.size));
    shape[infer] = n.size / known;
  }
  if (detail::shape_size(shape) != n.size)
    throw Error("reshape: cannot reshape " + to_string(n.shape) + " (size " + std::to_string(n.size) + ") into " +
                to_string(new_shape));
  if (shape == n.shape) return x;
  return detail::make_tensor(std::make_shared<Reshape>(), {x}, shape, n.dtype);
}

Tensor broadcast_to(const Tensor& x, const Shape& shape) {
  const Node& n = detail::node_of(x, "broadcast_to", "x");
  if (n.shape.size() > shape.size() || ops::broadcast_shapes(n.shape, shape, "broadcast_to") != shape)
    throw Error("broadcast_to: cannot broadcast " + to_string(n.shape) + " to " + to_string(shape));
  if (n.shape == shape) return x;
  return detail::make_tensor(std::make_shared<BroadcastTo>(), {x}, shape, n.dtype);
}

Tensor expand_dims(const Tensor& x, const std::vector<int64_t>& axes) {
  const Node& n = detail::node_of(x, "expand_dims", "x");
  const int64_t out_rank = static_cast<int64_t>(n.shape.size() + axes.size());
  std::vector<int64_t> ax = ops::normalize_axes(axes, out_rank, "expand_dims", false);
  Shape shape;
  size_t src = 0;
  for (int64_t i = 0; i < out_rank; ++i) {
    if (std::find(ax.begin(), ax.end(), i) != ax.end()) shape.push_back(1);
    else shape.push_back(n.shape[src++]);
  }
  return reshape(x, shape);
}

Tensor squeeze(const Tensor& x, const std::vector<int64_t>& axes) {
  const Node& n = detail::node_of(x, "squeeze", "x");
  const int64_t rank = static_cast<int64_t>(n.shape.size());
  std::vector<int64_t> ax;
  if (axes.empty()) {
    for (int64_t i = 0; i < rank; ++i)
      if (n.shape[i] == 1) ax.push_back(i);
  } else {
    ax = ops::normalize_axes(axes, rank, "squeeze", false);
    for (int64_t a : ax)
      if (n.shape[a] != 1)
        throw Error("squeeze: axis " + std::to_string(a) + " has size " + std::to_string(n.shape[a]) + ", not 1");
  }
  Shape shape;
  for (int64_t i = 0; i < rank; ++i)
    if (std::find(ax.begin(), ax.end(), i) == ax.end()) shape.push_back(n.shape[i]);
  return reshape(x, shape);
}

Tensor transpose(const Tensor& x, const std::vector<int64_t>& axes) {
  const Node& n = detail::node_of(x, "transpose", "x");
  const int64_t rank = static_cast<int64_t>(n.shape.size());
  std::vector<int64_t> perm = axes;
  if (perm.empty())
    for (int64_t i = rank - 1; i >= 0; --i) perm.push_back(i);
  if (static_cast<int64_t>(perm.size()) != rank)
    throw Error("transpose: axes has " + std::to_string(perm.size()) + " entries for an array of rank " +
                std::to_string(rank));
  for (auto& a : perm) a = ops::normalize_axis(a, rank, "transpose", "axes");
  std::vector<int64_t> sorted = perm;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < rank; ++i)
    if (sorted[i] != i) throw Error("transpose: axes must be a permutation of 0.." + std::to_string(rank - 1));
  bool identity = true;
  for (int64_t i = 0; i < rank; ++i) identity = identity && perm[i] == i;
  if (identity) return x;
  Shape shape(rank);
  for (int64_t i = 0; i < rank; ++i) shape[i] = n.shape[perm[i]];
  return detail::make_tensor(std::make_shared<Transpose>(perm), {x}, shape, n.dtype);
}

}  // namespace xlax
