// lax::reduce_window with sum or max, strides, padding (mode string or pairs), base and
// window dilation.
//
// Gradients: the sum's transpose is again a reduce_window sum (of the cotangent dilated by
// the strides and padded), so it differentiates to any order. The max sends each window's
// cotangent to the first maximum of the window (JAX's convention) through a scatter
// primitive; the scatter's transpose is the matching gather and vice versa, so grad of grad
// works. Windows are visited in row-major window order; padding elements never win.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>

#include "core/graph.hpp"
#include "ops/padding.hpp"
#include "ops/op_util.hpp"
#include "xlax/lax.hpp"

namespace xlax {
using detail::Node;

namespace {

// Fully resolved window parameters (every vector has one entry per dim).
struct Geometry {
  Shape in, out, window, strides, base_dilation, window_dilation;
  std::vector<std::pair<int64_t, int64_t>> pads;

  int64_t effective_window(size_t d) const { return (window[d] - 1) * window_dilation[d] + 1; }
};

// Calls visit(o, offsets, count, row) for runs of `row` consecutive output elements
// o..o+row-1: output o+r reduces the input elements at offsets[j] + r, j < count (window
// order, padding holes skipped). Trailing dims the window leaves alone (size 1, stride 1,
// no padding or dilation: the channels of NHWC pooling) form the contiguous run.
template <class Visit>
void for_each_window(const Geometry& g, Visit&& visit) {
  const size_t nd = g.in.size();
  const Shape xs = detail::row_major_strides(g.in);
  size_t outer = nd;  // dims [outer, nd) are untouched by the window
  int64_t row = 1;
  while (outer > 0) {
    const size_t d = outer - 1;
    if (g.window[d] != 1 || g.strides[d] != 1 || g.base_dilation[d] != 1 || g.pads[d].first != 0 ||
        g.pads[d].second != 0)
      break;
    row *= g.in[d];
    --outer;
  }
  // lists[d][o]: offsets (along dim d) of the input elements that window o covers.
  std::vector<std::vector<std::vector<int64_t>>> lists(outer);
  for (size_t d = 0; d < outer; ++d) {
    lists[d].resize(g.out[d]);
    for (int64_t o = 0; o < g.out[d]; ++o)
      for (int64_t k = 0; k < g.window[d]; ++k) {
        // position in the padded, base-dilated input
        const int64_t p = o * g.strides[d] + k * g.window_dilation[d] - g.pads[d].first;
        if (p < 0 || p % g.base_dilation[d] != 0) continue;
        const int64_t i = p / g.base_dilation[d];
        if (i < g.in[d]) lists[d][o].push_back(i * xs[d]);
      }
  }
  for (int64_t e : g.out)
    if (e == 0) return;
  // Window offsets are built in place: after dim d, offs[a * L + b] = offs[a] + list[b].
  std::vector<int64_t> offs(std::max<int64_t>(detail::shape_size(g.window), 1));
  std::vector<int64_t> idx(outer, 0);
  const int64_t total = detail::shape_size(g.out);
  for (int64_t o = 0; o < total; o += row) {
    int64_t count = 1;
    offs[0] = 0;
    for (size_t d = 0; d < outer && count > 0; ++d) {
      const auto& l = lists[d][idx[d]];
      const int64_t len = static_cast<int64_t>(l.size());
      for (int64_t a = count - 1; a >= 0; --a) {
        const int64_t base = offs[a];
        for (int64_t b = len - 1; b >= 0; --b) offs[a * len + b] = base + l[b];
      }
      count *= len;
    }
    visit(o, offs.data(), count, row);
    for (int64_t d = static_cast<int64_t>(outer) - 1; d >= 0; --d) {
      if (++idx[d] < g.out[d]) break;
      idx[d] = 0;
    }
  }
}

// best[r] = offset of the first maximum of the window of output o+r (-1: all padding).
template <class T>
void first_argmax_row(const T* x, const int64_t* offs, int64_t count, int64_t row, int64_t* best) {
  for (int64_t r = 0; r < row; ++r) best[r] = count > 0 ? offs[0] + r : -1;
  for (int64_t j = 1; j < count; ++j) {
    const T* xj = x + offs[j];
    for (int64_t r = 0; r < row; ++r) {
      const T v = xj[r], b = x[best[r]];
      if (v > b || (v != v && b == b)) best[r] = offs[j] + r;
    }
  }
}

Tensor reduce_window_resolved(const Tensor& x, lax::ReduceOp op, const Geometry& g);
Tensor max_scatter(const Tensor& x, const Tensor& cot, const Geometry& g);
Tensor max_gather(const Tensor& x, const Tensor& t, const Geometry& g);

class ReduceWindow : public detail::Primitive {
 public:
  ReduceWindow(lax::ReduceOp op, Geometry g) : op_(op), g_(std::move(g)) {}
  std::string name() const override { return op_ == lax::ReduceOp::sum ? "reduce_window_sum" : "reduce_window_max"; }
  void eval(const std::vector<const Node*>& in, Node& out) const override {
    detail::dispatch_float(out.dtype, "reduce_window", [&](auto zero) {
      using T = decltype(zero);
      const T* px = in[0]->ptr<T>();
      T* po = out.ptr<T>();
      if (op_ == lax::ReduceOp::sum) {
        std::vector<double> acc;  // float32 windows also sum in double
        for_each_window(g_, [&](int64_t o, const int64_t* offs, int64_t n, int64_t row) {
          acc.assign(row, 0.0);
          for (int64_t j = 0; j < n; ++j)
            for (int64_t r = 0; r < row; ++r) acc[r] += px[offs[j] + r];
          for (int64_t r = 0; r < row; ++r) po[o + r] = static_cast<T>(acc[r]);
        });
      } else {
        std::vector<int64_t> best;
        for_each_window(g_, [&](int64_t o, const int64_t* offs, int64_t n, int64_t row) {
          best.resize(row);
          first_argmax_row(px, offs, n, row, best.data());
          for (int64_t r = 0; r < row; ++r) po[o + r] = best[r] < 0 ? -std::numeric_limits<T>::infinity() : px[best[r]];
        });
      }
    });
  }
  std::vector<Tensor> vjp(const std::vector<Tensor>& in, const Tensor&, const Tensor& c,
                          const std::vector<bool>&) const override {
    const Tensor& x = in[0];
    if (op_ == lax::ReduceOp::max) return {max_scatter(x, c, g_)};
    if (x.size() == 0) return {zeros_like(x)};
    // x_grad[i] = sum of cot[o] over windows o covering i. Dilating cot by the strides and
    // padding it turns this into a plain window sum with stride = base_dilation.
    const size_t nd = g_.in.size();
    std::vector<std::array<int64_t, 3>> config(nd);
    Geometry t;
    for (size_t d = 0; d < nd; ++d) {
      const int64_t k_eff = g_.effective_window(d);
      const int64_t dilated_cot = g_.out[d] == 0 ? 0 : (g_.out[d] - 1) * g_.strides[d] + 1;
      const int64_t lo = k_eff - 1 - g_.pads[d].first;
      const int64_t hi = (g_.in[d] - 1) * g_.base_dilation[d] + k_eff - lo - dilated_cot;
      config[d] = {lo, hi, g_.strides[d] - 1};
      t.in.push_back((g_.in[d] - 1) * g_.base_dilation[d] + k_eff);
    }
    t.out = g_.in;
    t.window = g_.window;
    t.strides = g_.base_dilation;
    t.base_dilation = Shape(nd, 1);
    t.window_dilation = g_.window_dilation;
    t.pads.assign(nd, {0, 0});
    return {reduce_window_resolved(lax::pad(c, 0.0, config), lax::ReduceOp::sum, t)};
  }

 private:
  lax::ReduceOp op_;
  Geometry g_;
};

// Inputs (x, cot): adds cot[o] at the first maximum of x in window o. Output: x's shape.
class MaxScatter : public detail::Primitive {
 public:
  explicit MaxScatter(Geometry g) : g_(std::move(g)) {}
  std::string name() const override { return "reduce_window_max_scatter"; }
  void eval(const std::vector<const Node*>& in, Node& out) const override {
    detail::dispatch_float(out.dtype, "reduce_window", [&](auto zero) {
      using T = decltype(zero);
      const T* px = in[0]->ptr<T>();
      const T* pc = in[1]->ptr<T>();
      T* po = out.ptr<T>();
      std::fill(po, po + out.size, T(0));
      std::vector<int64_t> best;
      for_each_window(g_, [&](int64_t o, const int64_t* offs, int64_t n, int64_t row) {
        best.resize(row);
        first_argmax_row(px, offs, n, row, best.data());
        for (int64_t r = 0; r < row; ++r)
          if (best[r] >= 0) po[best[r]] += pc[o + r];
      });
    });
  }
  std::vector<Tensor> vjp(const std::vector<Tensor>& in, const Tensor&, const Tensor& c,
                          const std::vector<bool>&) const override {
    return {Tensor(), max_gather(in[0], c, g_)};  // piecewise constant in x
  }

 private:
  Geometry g_;
};

// Inputs (x, t), t of x's shape: output o = t at the first maximum of x in window o.
class MaxGather : public detail::Primitive {
 public:
  explicit MaxGather(Geometry g) : g_(std::move(g)) {}
  std::string name() const override { return "reduce_window_max_gather"; }
  void eval(const std::vector<const Node*>& in, Node& out) const override {
    detail::dispatch_float(out.dtype, "reduce_window", [&](auto zero) {
      using T = decltype(zero);
      const T* px = in[0]->ptr<T>();
      const T* pt = in[1]->ptr<T>();
      T* po = out.ptr<T>();
      std::vector<int64_t> best;
      for_each_window(g_, [&](int64_t o, const int64_t* offs, int64_t n, int64_t row) {
        best.resize(row);
        first_argmax_row(px, offs, n, row, best.data());
        for (int64_t r = 0; r < row; ++r) po[o + r] = best[r] < 0 ? T(0) : pt[best[r]];
      });
    });
  }
  std::vector<Tensor> vjp(const std::vector<Tensor>& in, const Tensor&, const Tensor& c,
                          const std::vector<bool>&) const override {
    return {Tensor(), max_scatter(in[0], c, g_)};
  }

 private:
  Geometry g_;
};

Tensor reduce_window_resolved(const Tensor& x, lax::ReduceOp op, const Geometry& g) {
  return detail::make_tensor(std::make_shared<ReduceWindow>(op, g), {x}, g.out, x.dtype());
}
Tensor max_scatter(const Tensor& x, const Tensor& cot, const Geometry& g) {
  return detail::make_tensor(std::make_shared<MaxScatter>(g), {x, astype(cot, x.dtype())}, g.in, x.dtype());
}
Tensor max_gather(const Tensor& x, const Tensor& t, const Geometry& g) {
  return detail::make_tensor(std::make_shared<MaxGather>(g), {x, astype(t, x.dtype())}, g.out, x.dtype());
}

// A per-dim parameter: {} means all `fill`; otherwise one entry >= 1 per dim.
Shape per_dim(const Shape& v, size_t rank, const char* parameter, int64_t fill = 1) {
  if (v.empty()) return Shape(rank, fill);
  if (v.size() != rank)
    throw Error(std::string("reduce_window: ") + parameter + "=" + to_string(v) + " must have " +
                std::to_string(rank) + " entries (one per dimension of x)");
  for (int64_t e : v)
    if (e < 1) throw Error(std::string("reduce_window: ") + parameter + "=" + to_string(v) + " entries must be >= 1");
  return v;
}

}  // namespace

namespace lax {

Tensor reduce_window(const Tensor& x, ReduceOp op, const Shape& window, const Shape& strides,
                     const Padding& padding, const Shape& base_dilation, const Shape& window_dilation) {
  const Node& n = detail::node_of(x, "reduce_window", "x");
  if (!is_floating(n.dtype))
    throw Error("reduce_window: x has dtype " + to_string(n.dtype) + "; float32 or float64 required");
  if (op != ReduceOp::sum && op != ReduceOp::max) throw Error("reduce_window: op must be ReduceOp::sum or ReduceOp::max");
  const size_t rank = n.shape.size();
  if (window.size() != rank)
    throw Error("reduce_window: window=" + to_string(window) + " must have " + std::to_string(rank) +
                " entries (one per dimension of x, shape " + to_string(n.shape) + ")");
  Geometry g;
  g.in = n.shape;
  g.window = per_dim(window, rank, "window");
  g.strides = per_dim(strides, rank, "strides");
  g.base_dilation = per_dim(base_dilation, rank, "base_dilation");
  g.window_dilation = per_dim(window_dilation, rank, "window_dilation");
  if (padding.is_string()) {
    // On x's own shape with the dilated window, as JAX's reduce_window.
    std::vector<int64_t> window_extent(rank);
    for (size_t d = 0; d < rank; ++d) window_extent[d] = g.effective_window(d);
    g.pads = padtype_to_pads("reduce_window", padding.mode(), n.shape, window_extent, g.strides);
  } else {
    if (padding.pairs().size() != rank)
      throw Error("reduce_window: padding has " + std::to_string(padding.pairs().size()) +
                  " (lo, hi) pairs for an array of rank " + std::to_string(rank));
    g.pads = padding.pairs();
  }
  for (size_t d = 0; d < rank; ++d) {
    const int64_t dilated = n.shape[d] == 0 ? 0 : (n.shape[d] - 1) * g.base_dilation[d] + 1;
    const int64_t padded = dilated + g.pads[d].first + g.pads[d].second;
    const int64_t k_eff = g.effective_window(d);
    if (padded < k_eff)
      throw Error("reduce_window: dimension " + std::to_string(d) + ": the padded input has size " +
                  std::to_string(padded) + ", smaller than the dilated window size " + std::to_string(k_eff));
    g.out.push_back((padded - k_eff) / g.strides[d] + 1);
  }
  return reduce_window_resolved(x, op, g);
}

}  // namespace lax
}  // namespace xlax
