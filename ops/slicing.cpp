// Slicing and padding ops: concatenate, lax::slice, lax::pad, lax::rev,
// lax::dynamic_update_slice. Every kernel is one strided box copy (any dtype); the vjps are
// written with these same ops, so they differentiate again.
#include <algorithm>
#include <cstring>

#include "core/graph.hpp"
#include "core/strided.hpp"
#include "ops/op_util.hpp"
#include "xlax/lax.hpp"

namespace xlax {
using detail::Node;

namespace {

// Copies a box of shape `box` from src (element strides src_st) to dst (strides dst_st).
template <class T>
void copy_box(const Shape& box, const T* src, const std::vector<int64_t>& src_st, T* dst,
              const std::vector<int64_t>& dst_st) {
  std::array<std::vector<int64_t>, 2> st{src_st, dst_st};
  detail::strided_rows<2>(box, st, [&](int64_t n, auto off, auto inner) {
    const T* s = src + off[0];
    T* d = dst + off[1];
    if (inner[0] == 1 && inner[1] == 1) std::copy(s, s + n, d);
    else for (int64_t i = 0; i < n; ++i) d[i * inner[1]] = s[i * inner[0]];
  });
}

DType promote_all(const std::vector<DType>& ds) {
  auto rank = [](DType d) {
    return d == DType::float64 ? 3 : d == DType::float32 ? 2 : d == DType::int32 ? 1 : 0;
  };
  DType best = ds.front();
  for (DType d : ds)
    if (rank(d) > rank(best)) best = d;
  return best;
}

int64_t ceil_div(int64_t a, int64_t b) { return a <= 0 ? 0 : (a + b - 1) / b; }

// ---------------------------------------------------------------- concatenate

class Concatenate : public detail::Primitive {
 public:
  explicit Concatenate(int64_t axis) : axis_(axis) {}
  std::string name() const override { return "concatenate"; }
  void eval(const std::vector<const Node*>& in, Node& out) const override {
    const Shape out_st = detail::row_major_strides(out.shape);
    detail::dispatch_all(out.dtype, [&](auto zero) {
      using T = decltype(zero);
      int64_t offset = 0;
      for (const Node* x : in) {
        copy_box<T>(x->shape, x->ptr<T>(), detail::row_major_strides(x->shape),
                    out.ptr<T>() + offset * out_st[axis_], out_st);
        offset += x->shape[axis_];
      }
    });
  }
  std::vector<Tensor> vjp(const std::vector<Tensor>& in, const Tensor&, const Tensor& c,
                          const std::vector<bool>& needs) const override {
    std::vector<Tensor> grads(in.size());
    Shape start(c.shape().size(), 0), limit = c.shape();
    int64_t offset = 0;
    for (size_t i = 0; i < in.size(); ++i) {
      const int64_t len = in[i].shape()[axis_];
      if (needs[i]) {
        start[axis_] = offset;
        limit[axis_] = offset + len;
        grads[i] = lax::slice(c, start, limit);
      }
      offset += len;
    }
    return grads;
  }

 private:
  int64_t axis_;
};

// ---------------------------------------------------------------- slice

class Slice : public detail::Primitive {
 public:
  Slice(Shape start, Shape strides) : start_(std::move(start)), strides_(std::move(strides)) {}
  std::string name() const override { return "slice"; }
  void eval(const std::vector<const Node*>& in, Node& out) const override {
    const Node& x = *in[0];
    const Shape xs = detail::row_major_strides(x.shape);
    int64_t base = 0;
    std::vector<int64_t> src_st(xs.size());
    for (size_t d = 0; d < xs.size(); ++d) {
      base += start_[d] * xs[d];
      src_st[d] = xs[d] * strides_[d];
    }
    detail::dispatch_all(x.dtype, [&](auto zero) {
      using T = decltype(zero);
      copy_box<T>(out.shape, x.ptr<T>() + base, src_st, out.ptr<T>(), detail::row_major_strides(out.shape));
    });
  }
  std::vector<Tensor> vjp(const std::vector<Tensor>& in, const Tensor&, const Tensor& c,
                          const std::vector<bool>&) const override {
    // Scatter back by padding: the last element read sits at start + (n-1)*stride.
    const Shape& xshape = in[0].shape();
    std::vector<std::array<int64_t, 3>> config(xshape.size());
    for (size_t d = 0; d < xshape.size(); ++d) {
      const int64_t n = c.shape()[d];
      const int64_t real_limit = n == 0 ? start_[d] : start_[d] + (n - 1) * strides_[d] + 1;
      config[d] = {start_[d], xshape[d] - real_limit, strides_[d] - 1};
    }
    return {lax::pad(c, 0.0, config)};
  }

 private:
  Shape start_, strides_;
};

// ---------------------------------------------------------------- pad

class Pad : public detail::Primitive {
 public:
  Pad(double value, std::vector<std::array<int64_t, 3>> config) : value_(value), config_(std::move(config)) {}
  std::string name() const override { return "pad"; }
  void eval(const std::vector<const Node*>& in, Node& out) const override {
    const Node& x = *in[0];
    const Shape xs = detail::row_major_strides(x.shape);
    const Shape os = detail::row_major_strides(out.shape);
    // The box of input elements that land inside the output (negative lo/hi crop).
    Shape box(x.shape.size());
    int64_t src_base = 0, dst_base = 0;
    std::vector<int64_t> dst_st(x.shape.size());
    for (size_t d = 0; d < x.shape.size(); ++d) {
      const auto [lo, hi, interior] = config_[d];
      const int64_t step = interior + 1;
      const int64_t first = lo >= 0 ? 0 : ceil_div(-lo, step);
      const int64_t end = std::min(x.shape[d], ceil_div(out.shape[d] - lo, step));
      box[d] = std::max<int64_t>(0, end - first);
      src_base += first * xs[d];
      dst_base += (lo + first * step) * os[d];
      dst_st[d] = os[d] * step;
    }
    detail::dispatch_all(x.dtype, [&](auto zero) {
      using T = decltype(zero);
      T* po = out.ptr<T>();
      std::fill(po, po + out.size, static_cast<T>(value_));
      if (detail::shape_size(box) > 0) copy_box<T>(box, x.ptr<T>() + src_base, xs, po + dst_base, dst_st);
    });
  }
  std::vector<Tensor> vjp(const std::vector<Tensor>&, const Tensor&, const Tensor& c,
                          const std::vector<bool>&) const override {
    // Undo lo/hi (a negative pad, i.e. a crop, comes back as zeros), then keep every
    // (interior+1)-th element. The padding value is a constant: no cotangent.
    std::vector<std::array<int64_t, 3>> unpad(config_.size());
    Shape strides(config_.size());
    bool any_edge = false, any_interior = false;
    for (size_t d = 0; d < config_.size(); ++d) {
      unpad[d] = {-config_[d][0], -config_[d][1], 0};
      strides[d] = config_[d][2] + 1;
      any_edge = any_edge || config_[d][0] != 0 || config_[d][1] != 0;
      any_interior = any_interior || config_[d][2] != 0;
    }
    Tensor t = any_edge ? lax::pad(c, 0.0, unpad) : c;
    if (!any_interior) return {t};
    return {lax::slice(t, Shape(config_.size(), 0), t.shape(), strides)};
  }

 private:
  double value_;
  std::vector<std::array<int64_t, 3>> config_;
};

// ---------------------------------------------------------------- rev

class Rev : public detail::Primitive {
 public:
  explicit Rev(std::vector<int64_t> dims) : dims_(std::move(dims)) {}
  std::string name() const override { return "rev"; }
  void eval(const std::vector<const Node*>& in, Node& out) const override {
    const Node& x = *in[0];
    std::vector<int64_t> st = detail::row_major_strides(x.shape);
    int64_t base = 0;
    for (int64_t d : dims_) {
      base += (x.shape[d] - 1) * st[d];
      st[d] = -st[d];
    }
    if (x.size == 0) return;
    detail::dispatch_all(x.dtype, [&](auto zero) {
      using T = decltype(zero);
      copy_box<T>(out.shape, x.ptr<T>() + base, st, out.ptr<T>(), detail::row_major_strides(out.shape));
    });
  }
  std::vector<Tensor> vjp(const std::vector<Tensor>&, const Tensor&, const Tensor& c,
                          const std::vector<bool>&) const override {
    return {lax::rev(c, dims_)};
  }

 private:
  std::vector<int64_t> dims_;
};

// ---------------------------------------------------------------- dynamic_update_slice

class DynamicUpdateSlice : public detail::Primitive {
 public:
  explicit DynamicUpdateSlice(Shape start) : start_(std::move(start)) {}
  std::string name() const override { return "dynamic_update_slice"; }
  int donate_input() const override { return 0; }  // x.at[...].set may write in place
  void eval(const std::vector<const Node*>& in, Node& out) const override {
    const Node& x = *in[0];
    const Node& u = *in[1];
    if (out.data != x.data) std::memcpy(out.data->ptr, x.data->ptr, x.size * itemsize(x.dtype));
    if (u.size == 0) return;
    const Shape os = detail::row_major_strides(out.shape);
    int64_t base = 0;
    for (size_t d = 0; d < os.size(); ++d) base += start_[d] * os[d];
    detail::dispatch_all(x.dtype, [&](auto zero) {
      using T = decltype(zero);
      copy_box<T>(u.shape, u.ptr<T>(), detail::row_major_strides(u.shape), out.ptr<T>() + base, os);
    });
  }
  std::vector<Tensor> vjp(const std::vector<Tensor>& in, const Tensor&, const Tensor& c,
                          const std::vector<bool>& needs) const override {
    const Shape& us = in[1].shape();
    Tensor dx, du;
    if (needs[0]) dx = lax::dynamic_update_slice(c, zeros(us, c.dtype()), start_);
    if (needs[1]) {
      Shape limit(us.size());
      for (size_t d = 0; d < us.size(); ++d) limit[d] = start_[d] + us[d];
      du = lax::slice(c, start_, limit);
    }
    return {dx, du};
  }

 private:
  Shape start_;  // already clamped
};

}  // namespace

// ---------------------------------------------------------------- public functions

Tensor concatenate(const std::vector<Tensor>& tensors, int64_t axis) {
  if (tensors.empty()) throw Error("concatenate: tensors must not be empty");
  std::vector<DType> dtypes;
  for (const auto& t : tensors) dtypes.push_back(detail::node_of(t, "concatenate", "tensors").dtype);
  const Shape& first = tensors[0].shape();
  const int64_t rank = static_cast<int64_t>(first.size());
  if (rank == 0) throw Error("concatenate: zero-dimensional arrays cannot be concatenated");
  const int64_t ax = ops::normalize_axis(axis, rank, "concatenate");
  Shape shape = first;
  shape[ax] = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Shape& s = tensors[i].shape();
    bool ok = static_cast<int64_t>(s.size()) == rank;
    for (int64_t d = 0; ok && d < rank; ++d) ok = d == ax || s[d] == first[d];
    if (!ok)
      throw Error("concatenate: tensors[" + std::to_string(i) + "] has shape " + to_string(s) +
                  " but tensors[0] has shape " + to_string(first) + "; all dimensions except axis=" +
                  std::to_string(ax) + " must match");
    shape[ax] += s[ax];
  }
  if (tensors.size() == 1) return tensors[0];
  const DType dt = promote_all(dtypes);
  std::vector<Tensor> inputs;
  for (const auto& t : tensors) inputs.push_back(t.dtype() == dt ? t : astype(t, dt));
  return detail::make_tensor(std::make_shared<Concatenate>(ax), inputs, shape, dt);
}

namespace lax {

Tensor slice(const Tensor& x, const Shape& start, const Shape& limit, const Shape& strides) {
  const Node& n = detail::node_of(x, "slice", "x");
  const size_t rank = n.shape.size();
  if (start.size() != rank || limit.size() != rank || (!strides.empty() && strides.size() != rank))
    throw Error("slice: start " + to_string(start) + ", limit " + to_string(limit) + " and strides " +
                to_string(strides) + " must each have one entry per dimension of x (shape " + to_string(n.shape) +
                "; strides may be empty)");
  Shape st = strides.empty() ? Shape(rank, 1) : strides;
  Shape shape(rank);
  bool identity = true;
  for (size_t d = 0; d < rank; ++d) {
    if (st[d] < 1) throw Error("slice: strides " + to_string(st) + " must be >= 1");
    if (start[d] < 0 || start[d] > limit[d] || limit[d] > n.shape[d])
      throw Error("slice: dimension " + std::to_string(d) + " needs 0 <= start <= limit <= size, got start=" +
                  std::to_string(start[d]) + ", limit=" + std::to_string(limit[d]) + ", size=" +
                  std::to_string(n.shape[d]) + " (x shape " + to_string(n.shape) + ")");
    shape[d] = ceil_div(limit[d] - start[d], st[d]);
    identity = identity && shape[d] == n.shape[d] && (st[d] == 1 || shape[d] <= 1);
  }
  if (identity) return x;
  return detail::make_tensor(std::make_shared<Slice>(start, st), {x}, shape, n.dtype);
}

Tensor pad(const Tensor& x, double value, const std::vector<std::array<int64_t, 3>>& lo_hi_interior) {
  const Node& n = detail::node_of(x, "pad", "x");
  const size_t rank = n.shape.size();
  if (lo_hi_interior.size() != rank)
    throw Error("pad: lo_hi_interior has " + std::to_string(lo_hi_interior.size()) +
                " entries for an array of rank " + std::to_string(rank));
  Shape shape(rank);
  bool identity = true;
  for (size_t d = 0; d < rank; ++d) {
    const auto [lo, hi, interior] = lo_hi_interior[d];
    if (interior < 0)
      throw Error("pad: interior padding must be >= 0, got " + std::to_string(interior) + " for dimension " +
                  std::to_string(d));
    const int64_t size = n.shape[d];
    shape[d] = lo + hi + size + std::max<int64_t>(size - 1, 0) * interior;
    if (shape[d] < 0)
      throw Error("pad: dimension " + std::to_string(d) + " of size " + std::to_string(size) + " padded by (lo=" +
                  std::to_string(lo) + ", hi=" + std::to_string(hi) + ", interior=" + std::to_string(interior) +
                  ") would have negative size " + std::to_string(shape[d]));
    identity = identity && lo == 0 && hi == 0 && (interior == 0 || size <= 1);
  }
  if (identity) return x;
  return detail::make_tensor(std::make_shared<Pad>(value, lo_hi_interior), {x}, shape, n.dtype);
}

Tensor rev(const Tensor& x, const std::vector<int64_t>& dims) {
  const Node& n = detail::node_of(x, "rev", "x");
  std::vector<int64_t> ax = ops::normalize_axes(dims, static_cast<int64_t>(n.shape.size()), "rev", false);
  std::vector<int64_t> effective;
  for (int64_t d : ax)
    if (n.shape[d] > 1) effective.push_back(d);
  if (effective.empty()) return x;
  return detail::make_tensor(std::make_shared<Rev>(effective), {x}, n.shape, n.dtype);
}

Tensor dynamic_update_slice(const Tensor& x, const Tensor& update, const Shape& start) {
  const Node& n = detail::node_of(x, "dynamic_update_slice", "x");
  const Node& u = detail::node_of(update, "dynamic_update_slice", "update");
  const size_t rank = n.shape.size();
  if (u.shape.size() != rank)
    throw Error("dynamic_update_slice: update has rank " + std::to_string(u.shape.size()) + " (shape " +
                to_string(u.shape) + ") but x has rank " + std::to_string(rank) + " (shape " + to_string(n.shape) +
                ")");
  if (start.size() != rank)
    throw Error("dynamic_update_slice: start " + to_string(start) + " must have one entry per dimension of x (rank " +
                std::to_string(rank) + ")");
  if (u.dtype != n.dtype)
    throw Error("dynamic_update_slice: update has dtype " + to_string(u.dtype) + " but x has dtype " +
                to_string(n.dtype));
  Shape clamped(rank);
  for (size_t d = 0; d < rank; ++d) {
    if (u.shape[d] > n.shape[d])
      throw Error("dynamic_update_slice: update shape " + to_string(u.shape) + " does not fit in x shape " +
                  to_string(n.shape) + " (dimension " + std::to_string(d) + ")");
    // As JAX: the start is clamped so that the whole update fits.
    clamped[d] = std::clamp<int64_t>(start[d], 0, n.shape[d] - u.shape[d]);
  }
  return detail::make_tensor(std::make_shared<DynamicUpdateSlice>(clamped), {x, update}, n.shape, n.dtype);
}

}  // namespace lax
}  // namespace xlax
