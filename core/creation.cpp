// Constant creation: zeros, ones, full, scalar, arange, linspace.
#include <cmath>

#include "core/graph.hpp"

namespace xlax {

Tensor full(const Shape& shape, double value, DType dtype) {
  for (int64_t d : shape)
    if (d < 0) throw Error("full: shape " + to_string(shape) + " has a negative dimension");
  Tensor t = detail::make_leaf(shape, dtype);
  detail::Node& n = *t.node();
  detail::dispatch_all(dtype, [&](auto zero) {
    using T = decltype(zero);
    T* p = n.ptr<T>();
    std::fill(p, p + n.size, static_cast<T>(value));
  });
  return t;
}
Tensor zeros(const Shape& shape, DType dtype) { return full(shape, 0.0, dtype); }
Tensor ones(const Shape& shape, DType dtype) { return full(shape, 1.0, dtype); }
Tensor scalar(double value, DType dtype) { return full({}, value, dtype); }
Tensor zeros_like(const Tensor& x) { return zeros(x.shape(), x.dtype()); }
Tensor ones_like(const Tensor& x) { return ones(x.shape(), x.dtype()); }

Tensor arange(double start, double stop, double step, DType dtype) {
  if (step == 0) throw Error("arange: step must not be 0");
  int64_t n = static_cast<int64_t>(std::ceil((stop - start) / step));
  if (n < 0) n = 0;
  Tensor t = detail::make_leaf({n}, dtype);
  detail::dispatch_all(dtype, [&](auto zero) {
    using T = decltype(zero);
    T* p = t.node()->ptr<T>();
    for (int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(start + i * step);
  });
  return t;
}

Tensor linspace(double start, double stop, int64_t num, DType dtype) {
  if (num < 0) throw Error("linspace: num=" + std::to_string(num) + " must be >= 0");
  Tensor t = detail::make_leaf({num}, dtype);
  detail::dispatch_all(dtype, [&](auto zero) {
    using T = decltype(zero);
    T* p = t.node()->ptr<T>();
    const double step = num > 1 ? (stop - start) / static_cast<double>(num - 1) : 0.0;
    for (int64_t i = 0; i < num; ++i) p[i] = static_cast<T>(start + i * step);
    if (num > 1) p[num - 1] = static_cast<T>(stop);
  });
  return t;
}

}  // namespace xlax
