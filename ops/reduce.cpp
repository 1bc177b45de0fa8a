// Reductions over any set of axes: sum, mean, max, min, argmax, logsumexp.
#include <cmath>
#include <limits>
#include <type_traits>

#include <omp.h>

#include "core/graph.hpp"
#include "core/parallel.hpp"
#include "core/strided.hpp"
#include "ops/op_util.hpp"

namespace xlax {
using detail::Node;

namespace {

enum class ReduceKind { sum, max, min };

// NaN propagates through max and min (as in JAX); integers have none.
template <class T>
bool is_nan(T x) {
  if constexpr (std::is_floating_point_v<T>)
    return x != x;
  else
    return false;
}

const char* reduce_name(ReduceKind k) {
  return k == ReduceKind::sum ? "sum" : (k == ReduceKind::max ? "max" : "min");
}

Tensor extremum_grad(const Tensor& x, const Tensor& m, const Tensor& c, const std::vector<int64_t>& axes);

// The outermost axis of `shape` with more than one element (at most the last but one), and
// whether it is reduced: kept_strides is the kept output's broadcast stride per axis of x.
size_t outermost_axis(const Shape& shape) {
  size_t axis = 0;
  while (axis + 1 < shape.size() && shape[axis] == 1) ++axis;
  return axis;
}
bool outermost_axis_reduced(const Shape& shape, const std::vector<int64_t>& kept_strides) {
  return shape.size() > 1 && kept_strides[outermost_axis(shape)] == 0;
}

// fold(first_row, end_row) over every innermost row of `shape` (row-major), on all threads
// in bands of whole indices of the outermost axis when that axis is kept (no two bands then
// share an output), else in one pass on this thread.
template <class Fold>
void fold_in_kept_bands(const Shape& shape, const std::vector<int64_t>& kept_strides, const Fold& fold) {
  const int64_t rows = detail::outer_rows(shape);
  if (shape.size() < 2 || outermost_axis_reduced(shape, kept_strides)) {
    fold(int64_t(0), rows);
    return;
  }
  const size_t axis = outermost_axis(shape);
  const int64_t per_index = rows / shape[axis];
  detail::parallel_for(shape[axis], per_index * shape.back(), [&](int64_t first, int64_t end) {
    fold(first * per_index, end * per_index);
  });
}

class Reduce : public detail::Primitive {
 public:
  Reduce(ReduceKind k, std::vector<int64_t> axes, bool keepdims)
      : kind_(k), axes_(std::move(axes)), keepdims_(keepdims) {}
  std::string name() const override { return reduce_name(kind_); }

  void eval(const std::vector<const Node*>& in, Node& out) const override {
    const Node& x = *in[0];
    detail::dispatch_all(x.dtype, [&](auto zero) {
      using T = decltype(zero);
      // float32 sums accumulate in double: long reductions stay accurate.
      using SumAcc = std::conditional_t<std::is_same_v<T, float>, double, std::conditional_t<std::is_same_v<T, bool>, int32_t, T>>;
      // Max and min are exact in T (bool inputs arrive as int32; the type only instantiates).
      using MaxAcc = std::conditional_t<std::is_same_v<T, bool>, int32_t, T>;
      if (kind_ == ReduceKind::sum)
        reduce_into<T, SumAcc>(x, out);
      else
        reduce_into<T, MaxAcc>(x, out);
    });
  }

  template <class T, class Acc>
  void reduce_into(const Node& x, Node& out) const {
    Acc init = kind_ == ReduceKind::sum ? Acc(0)
               : kind_ == ReduceKind::max ? std::numeric_limits<Acc>::lowest()
                                          : std::numeric_limits<Acc>::max();
    if constexpr (std::is_floating_point_v<Acc>) {
      if (kind_ == ReduceKind::max) init = -std::numeric_limits<Acc>::infinity();
      if (kind_ == ReduceKind::min) init = std::numeric_limits<Acc>::infinity();
    }
    // Max and min are exact in T: they fold straight into the output.
    std::vector<Acc> acc_buffer(std::is_same_v<Acc, T> ? 0 : static_cast<size_t>(out.size));
    Acc* acc = std::is_same_v<Acc, T> ? reinterpret_cast<Acc*>(out.ptr<T>()) : acc_buffer.data();
    std::fill(acc, acc + out.size, init);
    Shape kept = ops::keepdims_shape(x.shape, axes_);
    std::array<std::vector<int64_t>, 2> strides{detail::row_major_strides(x.shape),
                                                detail::broadcast_strides(kept, x.shape)};
    const T* px = x.ptr<T>();
    const ReduceKind kind = kind_;
    // Folds rows [first, end) of x (row-major innermost rows) into dst.
    auto fold_rows = [&](int64_t first, int64_t end, Acc* dst_base) {
      detail::strided_rows_range<2>(x.shape, strides, first, end, [&](int64_t n, auto off, auto inner) {
        const T* row = px + off[0];
        Acc* dst = dst_base + off[1];
        if (inner[1] == 0) {
          Acc a = *dst;
          if (kind == ReduceKind::sum) for (int64_t i = 0; i < n; ++i) a += row[i];
          else if (kind == ReduceKind::max) for (int64_t i = 0; i < n; ++i) a = (row[i] > a || is_nan(row[i])) ? row[i] : a;
          else for (int64_t i = 0; i < n; ++i) a = (row[i] < a || is_nan(row[i])) ? row[i] : a;
          *dst = a;
        } else {
          if (kind == ReduceKind::sum) for (int64_t i = 0; i < n; ++i) dst[i] += row[i];
          else if (kind == ReduceKind::max) for (int64_t i = 0; i < n; ++i) dst[i] = (row[i] > dst[i] || is_nan(row[i])) ? row[i] : dst[i];
          else for (int64_t i = 0; i < n; ++i) dst[i] = (row[i] < dst[i] || is_nan(row[i])) ? row[i] : dst[i];
        }
      });
    };
    // Threads take contiguous bands of x's rows. When the outermost axis with more than one
    // element is kept, bands write disjoint outputs; otherwise (bias gradients, losses)
    // each band folds into partial results of its own, combined in band order, so the
    // result depends on the thread count but not on scheduling.
    const int64_t rows = detail::outer_rows(x.shape), row_len = x.shape.empty() ? 1 : x.shape.back();
    const int nt = detail::parallel_threads(rows, row_len);
    if (nt <= 1 || !outermost_axis_reduced(x.shape, strides[1])) {
      fold_in_kept_bands(x.shape, strides[1], [&](int64_t first, int64_t end) { fold_rows(first, end, acc); });
    } else {
      std::vector<std::vector<Acc>> partial(static_cast<size_t>(nt), std::vector<Acc>(static_cast<size_t>(out.size), init));
#pragma omp parallel num_threads(nt)
      {
        const int64_t t = omp_get_thread_num(), threads = omp_get_num_threads();
        fold_rows(rows * t / threads, rows * (t + 1) / threads, partial[static_cast<size_t>(t)].data());
      }
      for (const std::vector<Acc>& part : partial)
        for (size_t i = 0; i < part.size(); ++i) {
          const Acc v = part[i];
          if (kind == ReduceKind::sum) acc[i] += v;
          else if (kind == ReduceKind::max) acc[i] = (v > acc[i] || is_nan(v)) ? v : acc[i];
          else acc[i] = (v < acc[i] || is_nan(v)) ? v : acc[i];
        }
    }
    if constexpr (!std::is_same_v<Acc, T>) {
      T* po = out.ptr<T>();
      for (int64_t i = 0; i < out.size; ++i) po[i] = static_cast<T>(acc[i]);
    }
  }

  std::vector<Tensor> vjp(const std::vector<Tensor>& in, const Tensor& out, const Tensor& c,
                          const std::vector<bool>&) const override {
    const Tensor& x = in[0];
    Shape kept = ops::keepdims_shape(x.shape(), axes_);
    Tensor ck = reshape(c, kept);
    if (kind_ == ReduceKind::sum) return {broadcast_to(ck, x.shape())};
    // max/min: ties share the cotangent equally, as JAX.
    return {extremum_grad(x, reshape(out, kept), ck, axes_)};
  }

 private:
  ReduceKind kind_;
  std::vector<int64_t> axes_;
  bool keepdims_;
};

// The vjp of max / min over `axes`: dx = hit * (c / count), hit = (x == m) with m the
// extremum and c its cotangent (both in the kept shape), count the ties per output. One
// primitive instead of compare, float mask, sum, divide and multiply (max pooling's backward
// pass): two sweeps over x, the first counting ties, the second writing dx. The formula is
// applied per element as written, so NaN extrema give the same NaNs as the composite did.
class ExtremumGrad : public detail::Primitive {
 public:
  explicit ExtremumGrad(std::vector<int64_t> axes) : axes_(std::move(axes)) {}
  std::string name() const override { return "extremum_grad"; }

  void eval(const std::vector<const Node*>& in, Node& out) const override {
    const Node& x = *in[0];
    const Node& m = *in[1];
    const Node& c = *in[2];
    std::array<std::vector<int64_t>, 2> strides{detail::row_major_strides(x.shape),
                                                detail::broadcast_strides(m.shape, x.shape)};
    std::vector<int32_t> count(static_cast<size_t>(m.size), 0);
    detail::dispatch_float(x.dtype, "extremum_grad", [&](auto zero) {
      using T = decltype(zero);
      const T* px = x.ptr<T>();
      const T* pm = m.ptr<T>();
      const T* pc = c.ptr<T>();
      T* po = out.ptr<T>();
      auto count_rows = [&](int64_t first, int64_t end) {
        detail::strided_rows_range<2>(x.shape, strides, first, end, [&](int64_t n, auto off, auto inner) {
          const T* row = px + off[0];
          for (int64_t i = 0; i < n; ++i) count[static_cast<size_t>(off[1] + i * inner[1])] += row[i] == pm[off[1] + i * inner[1]];
        });
      };
      // Rows that share an extremum must be counted by one thread.
      fold_in_kept_bands(x.shape, strides[1], count_rows);
      detail::parallel_strided_rows<2>(x.shape, strides, [&](int64_t n, auto off, auto inner) {
        const T* row = px + off[0];
        T* dst = po + off[0];
        for (int64_t i = 0; i < n; ++i) {
          const int64_t k = off[1] + i * inner[1];
          const T hit = row[i] == pm[k] ? T(1) : T(0);
          dst[i] = hit * (pc[k] / static_cast<T>(count[static_cast<size_t>(k)]));
        }
      });
    });
  }

  // Linear in c, piecewise constant in x and m: d/dc = sum(g * hit) / count over the axes.
  std::vector<Tensor> vjp(const std::vector<Tensor>& in, const Tensor&, const Tensor& g,
                          const std::vector<bool>& needs) const override {
    if (!needs[2]) return {Tensor(), Tensor(), Tensor()};
    Tensor hit = astype(in[0] == in[1], in[0].dtype());
    return {Tensor(), Tensor(), sum(g * hit, axes_, true) / sum(hit, axes_, true)};
  }

 private:
  std::vector<int64_t> axes_;
};

Tensor extremum_grad(const Tensor& x, const Tensor& m, const Tensor& c, const std::vector<int64_t>& axes) {
  return detail::make_tensor(std::make_shared<ExtremumGrad>(axes), {x, m, c}, x.shape(), x.dtype());
}

Tensor reduce(ReduceKind kind, const Tensor& x, const std::vector<int64_t>& axes, bool keepdims) {
  const char* fn = reduce_name(kind);
  const Node& n = detail::node_of(x, fn, "x");
  std::vector<int64_t> ax = ops::normalize_axes(axes, static_cast<int64_t>(n.shape.size()), fn);
  if (kind != ReduceKind::sum)
    for (int64_t a : ax)
      if (n.shape[a] == 0)
        throw Error(std::string(fn) + ": cannot reduce over axis " + std::to_string(a) + " of size 0 (no identity)");
  Shape shape;
  for (size_t i = 0; i < n.shape.size(); ++i) {
    bool reduced = std::find(ax.begin(), ax.end(), static_cast<int64_t>(i)) != ax.end();
    if (!reduced) shape.push_back(n.shape[i]);
    else if (keepdims) shape.push_back(1);
  }
  DType dt = n.dtype == DType::bool_ ? DType::int32 : n.dtype;
  Tensor src = dt == n.dtype ? x : astype(x, dt);
  return detail::make_tensor(std::make_shared<Reduce>(kind, ax, keepdims), {src}, shape, dt);
}

class ArgMax : public detail::Primitive {
 public:
  explicit ArgMax(int64_t axis) : axis_(axis) {}
  std::string name() const override { return "argmax"; }
  void eval(const std::vector<const Node*>& in, Node& out) const override {
    const Node& x = *in[0];
    int64_t outer = 1, inner = 1, len = x.shape[axis_];
    for (int64_t i = 0; i < axis_; ++i) outer *= x.shape[i];
    for (size_t i = axis_ + 1; i < x.shape.size(); ++i) inner *= x.shape[i];
    int32_t* po = out.ptr<int32_t>();
    detail::dispatch_all(x.dtype, [&](auto zero) {
      using T = decltype(zero);
      const T* px = x.ptr<T>();
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < inner; ++i) {
          const T* base = px + o * len * inner + i;
          int64_t best = 0;
          for (int64_t k = 1; k < len; ++k)
            if (base[k * inner] > base[best * inner] || (base[k * inner] != base[k * inner] && base[best * inner] == base[best * inner])) best = k;
          po[o * inner + i] = static_cast<int32_t>(best);
        }
    });
  }
  std::vector<Tensor> vjp(const std::vector<Tensor>&, const Tensor&, const Tensor&,
                          const std::vector<bool>&) const override {
    return {Tensor()};
  }

 private:
  int64_t axis_;
};

}  // namespace

Tensor sum(const Tensor& x, const std::vector<int64_t>& axes, bool keepdims) {
  return reduce(ReduceKind::sum, x, axes, keepdims);
}
Tensor max(const Tensor& x, const std::vector<int64_t>& axes, bool keepdims) {
  return reduce(ReduceKind::max, x, axes, keepdims);
}
Tensor min(const Tensor& x, const std::vector<int64_t>& axes, bool keepdims) {
  return reduce(ReduceKind::min, x, axes, keepdims);
}
Tensor mean(const Tensor& x, const std::vector<int64_t>& axes, bool keepdims) {
  const Node& n = detail::node_of(x, "mean", "x");
  std::vector<int64_t> ax = ops::normalize_axes(axes, static_cast<int64_t>(n.shape.size()), "mean");
  int64_t count = 1;
  for (int64_t a : ax) count *= n.shape[a];
  Tensor xf = is_floating(n.dtype) ? x : astype(x, DType::float32);
  return sum(xf, ax, keepdims) / static_cast<double>(count);
}
Tensor logsumexp(const Tensor& x, const std::vector<int64_t>& axes, bool keepdims) {
  Tensor m = stop_gradient(max(x, axes, true));
  Tensor r = log(sum(exp(x - m), axes, true)) + m;
  if (keepdims) return r;
  const Node& n = detail::node_of(x, "logsumexp", "x");
  std::vector<int64_t> ax = ops::normalize_axes(axes, static_cast<int64_t>(n.shape.size()), "logsumexp");
  return squeeze(r, ax);
}
Tensor argmax(const Tensor& x, int64_t axis, bool keepdims) {
  const Node& n = detail::node_of(x, "argmax", "x");
  int64_t ax = ops::normalize_axis(axis, static_cast<int64_t>(n.shape.size()), "argmax");
  if (n.shape[ax] == 0) throw Error("argmax: axis " + std::to_string(ax) + " has size 0");
  Shape shape = n.shape;
  if (keepdims) shape[ax] = 1;
  else shape.erase(shape.begin() + ax);
  return detail::make_tensor(std::make_shared<ArgMax>(ax), {x}, shape, DType::int32);
}

}  // namespace xlax
