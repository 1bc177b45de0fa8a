// Elementwise ops: binary arithmetic and comparisons with NumPy broadcasting, unary math,
// where, astype, stop_gradient. Each primitive holds its kernel and its vjp.
#include <cmath>
#include <cstring>

#include "core/graph.hpp"
#include "core/strided.hpp"
#include "ops/op_util.hpp"

namespace xlax {
using detail::Node;

namespace {

DType promote(DType a, DType b) {
  if (a == DType::float64 || b == DType::float64) return DType::float64;
  if (a == DType::float32 || b == DType::float32) return DType::float32;
  if (a == DType::int32 || b == DType::int32) return DType::int32;
  return DType::bool_;
}

// ---------------------------------------------------------------- binary

enum class BinaryKind { add, sub, mul, div, max, min, eq, ne, lt, le, gt, ge };

const char* binary_name(BinaryKind k) {
  static const char* names[] = {"add", "subtract", "multiply", "divide", "maximum", "minimum",
                                "equal", "not_equal", "less", "less_equal", "greater", "greater_equal"};
  return names[static_cast<int>(k)];
}
bool is_comparison(BinaryKind k) { return k >= BinaryKind::eq; }

template <class T, class R, class Op>
void binary_loop(const Node& a, const Node& b, Node& out, Op op) {
  const T* pa = a.ptr<T>();
  const T* pb = b.ptr<T>();
  R* po = out.ptr<R>();
  if (a.shape == out.shape && b.shape == out.shape) {
    detail::parallel_for(out.size, 1, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) po[i] = op(pa[i], pb[i]);
    });
    return;
  }
  std::array<std::vector<int64_t>, 3> strides{detail::broadcast_strides(a.shape, out.shape),
                                              detail::broadcast_strides(b.shape, out.shape),
                                              detail::row_major_strides(out.shape)};
  detail::parallel_strided_rows<3>(out.shape, strides, [&](int64_t n, auto off, auto inner) {
    const T* ra = pa + off[0];
    const T* rb = pb + off[1];
    R* ro = po + off[2];
    if (inner[0] == 1 && inner[1] == 1) {
      for (int64_t i = 0; i < n; ++i) ro[i] = op(ra[i], rb[i]);
    } else if (inner[0] == 0 && inner[1] == 1) {
      const T s = ra[0];
      for (int64_t i = 0; i < n; ++i) ro[i] = op(s, rb[i]);
    } else if (inner[0] == 1 && inner[1] == 0) {
      const T s = rb[0];
      for (int64_t i = 0; i < n; ++i) ro[i] = op(ra[i], s);
    } else {
      for (int64_t i = 0; i < n; ++i) ro[i] = op(ra[i * inner[0]], rb[i * inner[1]]);
    }
  });
}

class Binary : public detail::Primitive {
 public:
  explicit Binary(BinaryKind k) : kind_(k) {}
  std::string name() const override { return binary_name(kind_); }
  int donate_input() const override { return is_comparison(kind_) ? -1 : 0; }

  void eval(const std::vector<const Node*>& in, Node& out) const override {
    const Node& a = *in[0];
    const Node& b = *in[1];
    detail::dispatch_all(a.dtype, [&](auto zero) {
      using T = decltype(zero);
      switch (kind_) {
        case BinaryKind::add: binary_loop<T, T>(a, b, out, [](T x, T y) { return T(x + y); }); break;
        case BinaryKind::sub: binary_loop<T, T>(a, b, out, [](T x, T y) { return T(x - y); }); break;
        case BinaryKind::mul: binary_loop<T, T>(a, b, out, [](T x, T y) { return T(x * y); }); break;
        case BinaryKind::div:
          binary_loop<T, T>(a, b, out, [](T x, T y) {
            if constexpr (std::is_floating_point_v<T>) return T(x / y);
            else return T(y == 0 ? 0 : x / y);
          });
          break;
        case BinaryKind::max: binary_loop<T, T>(a, b, out, [](T x, T y) { return x > y || x != x ? x : y; }); break;
        case BinaryKind::min: binary_loop<T, T>(a, b, out, [](T x, T y) { return x < y || x != x ? x : y; }); break;
        case BinaryKind::eq: binary_loop<T, bool>(a, b, out, [](T x, T y) { return x == y; }); break;
        case BinaryKind::ne: binary_loop<T, bool>(a, b, out, [](T x, T y) { return x != y; }); break;
        case BinaryKind::lt: binary_loop<T, bool>(a, b, out, [](T x, T y) { return x < y; }); break;
        case BinaryKind::le: binary_loop<T, bool>(a, b, out, [](T x, T y) { return x <= y; }); break;
        case BinaryKind::gt: binary_loop<T, bool>(a, b, out, [](T x, T y) { return x > y; }); break;
        case BinaryKind::ge: binary_loop<T, bool>(a, b, out, [](T x, T y) { return x >= y; }); break;
      }
    });
  }

  std::vector<Tensor> vjp(const std::vector<Tensor>& in, const Tensor& out, const Tensor& c,
                          const std::vector<bool>& needs) const override {
    const Tensor& a = in[0];
    const Tensor& b = in[1];
    Tensor da, db;
    switch (kind_) {
      case BinaryKind::add: da = c; db = c; break;
      case BinaryKind::sub: da = c; db = -c; break;
      case BinaryKind::mul:
        if (needs[0]) da = c * b;
        if (needs[1]) db = c * a;
        break;
      case BinaryKind::div:
        if (needs[0]) da = c / b;
        if (needs[1]) db = -(c * out) / b;
        break;
      case BinaryKind::max:
      case BinaryKind::min: {
        // JAX: each side gets half of the cotangent at a tie.
        Tensor wins = kind_ == BinaryKind::max ? (a > b) : (a < b);
        Tensor share = astype(wins, c.dtype()) + 0.5 * astype(a == b, c.dtype());
        if (needs[0]) da = c * share;
        if (needs[1]) db = c * (1.0 - share);
        break;
      }
      default: return {Tensor(), Tensor()};
    }
    return {needs[0] && da.valid() ? ops::unbroadcast(da, a.shape()) : Tensor(),
            needs[1] && db.valid() ? ops::unbroadcast(db, b.shape()) : Tensor()};
  }

 private:
  BinaryKind kind_;
};

Tensor binary(BinaryKind kind, const Tensor& a, const Tensor& b) {
  const char* fn = binary_name(kind);
  const Node& na = detail::node_of(a, fn, "x");
  const Node& nb = detail::node_of(b, fn, "y");
  Shape shape = ops::broadcast_shapes(na.shape, nb.shape, fn);
  DType common = promote(na.dtype, nb.dtype);
  if (!is_comparison(kind) && common == DType::bool_ && kind != BinaryKind::max && kind != BinaryKind::min)
    common = DType::int32;
  Tensor ca = na.dtype == common ? a : astype(a, common);
  Tensor cb = nb.dtype == common ? b : astype(b, common);
  DType out_dtype = is_comparison(kind) ? DType::bool_ : common;
  return detail::make_tensor(std::make_shared<Binary>(kind), {ca, cb}, shape, out_dtype);
}

// A double operand takes the tensor's dtype (weak type, as JAX) if that is a float type.
Tensor weak_scalar(double v, const Tensor& like) {
  DType d = is_floating(like.dtype()) ? like.dtype() : DType::float32;
  return scalar(v, d);
}

// ---------------------------------------------------------------- unary

Tensor relu_grad(const Tensor& x, const Tensor& c);

enum class UnaryKind { neg, exp, log, tanh, sqrt, abs, sign, logistic, square, log1p, relu, pow };

const char* unary_name(UnaryKind k) {
  static const char* names[] = {"negative", "exp", "log", "tanh", "sqrt", "abs", "sign",
                                "logistic", "square", "log1p", "relu", "pow"};
  return names[static_cast<int>(k)];
}

class Unary : public detail::Primitive {
 public:
  Unary(UnaryKind k, double p = 0) : kind_(k), p_(p) {}
  std::string name() const override { return unary_name(kind_); }
  int donate_input() const override { return 0; }

  void eval(const std::vector<const Node*>& in, Node& out) const override {
    const Node& x = *in[0];
    detail::dispatch_float(x.dtype, unary_name(kind_), [&](auto zero) {
      using T = decltype(zero);
      const T* px = x.ptr<T>();
      T* po = out.ptr<T>();
      const T p = static_cast<T>(p_);
      // Transcendental functions cost about ten simple operations each.
      const bool simple = kind_ == UnaryKind::neg || kind_ == UnaryKind::abs || kind_ == UnaryKind::sign ||
                          kind_ == UnaryKind::square || kind_ == UnaryKind::relu;
      detail::parallel_for(out.size, simple ? 1 : 10, [&](int64_t begin, int64_t end) {
        switch (kind_) {
          case UnaryKind::neg: for (int64_t i = begin; i < end; ++i) po[i] = -px[i]; break;
          case UnaryKind::exp: for (int64_t i = begin; i < end; ++i) po[i] = std::exp(px[i]); break;
          case UnaryKind::log: for (int64_t i = begin; i < end; ++i) po[i] = std::log(px[i]); break;
          case UnaryKind::tanh: for (int64_t i = begin; i < end; ++i) po[i] = std::tanh(px[i]); break;
          case UnaryKind::sqrt: for (int64_t i = begin; i < end; ++i) po[i] = std::sqrt(px[i]); break;
          case UnaryKind::abs: for (int64_t i = begin; i < end; ++i) po[i] = std::abs(px[i]); break;
          case UnaryKind::sign:
            for (int64_t i = begin; i < end; ++i) po[i] = px[i] > 0 ? T(1) : (px[i] < 0 ? T(-1) : px[i]);
            break;
          case UnaryKind::logistic:
            for (int64_t i = begin; i < end; ++i) {
              // stable for large |x|
              T v = px[i];
              po[i] = v >= 0 ? T(1) / (T(1) + std::exp(-v)) : std::exp(v) / (T(1) + std::exp(v));
            }
            break;
          case UnaryKind::square: for (int64_t i = begin; i < end; ++i) po[i] = px[i] * px[i]; break;
          case UnaryKind::log1p: for (int64_t i = begin; i < end; ++i) po[i] = std::log1p(px[i]); break;
          case UnaryKind::relu: for (int64_t i = begin; i < end; ++i) po[i] = px[i] > 0 ? px[i] : T(0); break;
          case UnaryKind::pow: for (int64_t i = begin; i < end; ++i) po[i] = std::pow(px[i], p); break;
        }
      });
    });
  }

  std::vector<Tensor> vjp(const std::vector<Tensor>& in, const Tensor& out, const Tensor& c,
                          const std::vector<bool>&) const override {
    const Tensor& x = in[0];
    switch (kind_) {
      case UnaryKind::neg: return {-c};
      case UnaryKind::exp: return {c * out};
      case UnaryKind::log: return {c / x};
      case UnaryKind::tanh: return {c * (1.0 - out * out)};
      case UnaryKind::sqrt: return {c * 0.5 / out};
      case UnaryKind::abs: return {c * xlax::sign(x)};
      case UnaryKind::sign: return {zeros_like(x)};
      case UnaryKind::logistic: return {c * out * (1.0 - out)};
      case UnaryKind::square: return {c * 2.0 * x};
      case UnaryKind::log1p: return {c / (1.0 + x)};
      case UnaryKind::relu: return {relu_grad(x, c)};  // 0 at 0, as JAX
      case UnaryKind::pow:
        if (p_ == 0) return {zeros_like(x)};
        return {c * p_ * xlax::pow(x, p_ - 1)};
    }
    return {Tensor()};
  }

 private:
  UnaryKind kind_;
  double p_;
};

Tensor unary(UnaryKind kind, const Tensor& x, double p = 0) {
  const Node& n = detail::node_of(x, unary_name(kind), "x");
  if (!is_floating(n.dtype)) {
    if (kind == UnaryKind::neg || kind == UnaryKind::abs || kind == UnaryKind::sign ||
        kind == UnaryKind::square || kind == UnaryKind::relu) {
      // integer versions via float and back keep one kernel per op
      return astype(unary(kind, astype(x, DType::float64), p), n.dtype == DType::bool_ ? DType::int32 : n.dtype);
    }
    return unary(kind, astype(x, DType::float32), p);
  }
  return detail::make_tensor(std::make_shared<Unary>(kind, p), {x}, n.shape, n.dtype);
}

// c * (x > 0) in one pass, with no mask tensor: relu's vjp. As a function of (x, c) it is
// linear in c and piecewise constant in x, so its own vjp with cotangent g is (0, relu_grad(x, g)).
class ReluGrad : public detail::Primitive {
 public:
  std::string name() const override { return "relu_grad"; }
  int donate_input() const override { return 1; }
  void eval(const std::vector<const Node*>& in, Node& out) const override {
    const Node& x = *in[0];
    const Node& c = *in[1];
    detail::dispatch_float(x.dtype, "relu_grad", [&](auto zero) {
      using T = decltype(zero);
      const T* px = x.ptr<T>();
      const T* pc = c.ptr<T>();
      T* po = out.ptr<T>();
      detail::parallel_for(out.size, 1, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) po[i] = px[i] > 0 ? pc[i] : T(0);
      });
    });
  }
  std::vector<Tensor> vjp(const std::vector<Tensor>& in, const Tensor&, const Tensor& g,
                          const std::vector<bool>& needs) const override {
    return {Tensor(), needs[1] ? relu_grad(in[0], g) : Tensor()};  // (empty: zero)
  }
};

Tensor relu_grad(const Tensor& x, const Tensor& c) {
  if (x.shape() != c.shape() || x.dtype() != c.dtype()) return c * astype(x > 0.0, c.dtype());
  return detail::make_tensor(std::make_shared<ReluGrad>(), {x, c}, x.shape(), x.dtype());
}

// ---------------------------------------------------------------- where, astype, stop_gradient

class Select : public detail::Primitive {
 public:
  std::string name() const override { return "where"; }
  void eval(const std::vector<const Node*>& in, Node& out) const override {
    const Node& cond = *in[0];
    const Node& a = *in[1];
    const Node& b = *in[2];
    std::array<std::vector<int64_t>, 4> strides{
        detail::broadcast_strides(cond.shape, out.shape), detail::broadcast_strides(a.shape, out.shape),
        detail::broadcast_strides(b.shape, out.shape), detail::row_major_strides(out.shape)};
    const bool* pc = cond.ptr<bool>();
    detail::dispatch_all(out.dtype, [&](auto zero) {
      using T = decltype(zero);
      const T* pa = a.ptr<T>();
      const T* pb = b.ptr<T>();
      T* po = out.ptr<T>();
      detail::parallel_strided_rows<4>(out.shape, strides, [&](int64_t n, auto off, auto inner) {
        for (int64_t i = 0; i < n; ++i)
          po[off[3] + i * inner[3]] = pc[off[0] + i * inner[0]] ? pa[off[1] + i * inner[1]]
                                                                : pb[off[2] + i * inner[2]];
      });
    });
  }
  std::vector<Tensor> vjp(const std::vector<Tensor>& in, const Tensor&, const Tensor& c,
                          const std::vector<bool>& needs) const override {
    Tensor zero = zeros({}, c.dtype());
    return {Tensor(), needs[1] ? ops::unbroadcast(where(in[0], c, zero), in[1].shape()) : Tensor(),
            needs[2] ? ops::unbroadcast(where(in[0], zero, c), in[2].shape()) : Tensor()};
  }
};

class Convert : public detail::Primitive {
 public:
  std::string name() const override { return "astype"; }
  void eval(const std::vector<const Node*>& in, Node& out) const override {
    const Node& x = *in[0];
    detail::dispatch_all(x.dtype, [&](auto from) {
      using S = decltype(from);
      detail::dispatch_all(out.dtype, [&](auto to) {
        using T = decltype(to);
        const S* px = x.ptr<S>();
        T* po = out.ptr<T>();
        detail::parallel_for(out.size, 1, [&](int64_t begin, int64_t end) {
          for (int64_t i = begin; i < end; ++i) po[i] = static_cast<T>(px[i]);
        });
      });
    });
  }
  std::vector<Tensor> vjp(const std::vector<Tensor>& in, const Tensor&, const Tensor& c,
                          const std::vector<bool>&) const override {
    if (!is_floating(in[0].dtype())) return {Tensor()};
    return {astype(c, in[0].dtype())};
  }
};

class StopGradient : public detail::Primitive {
 public:
  std::string name() const override { return "stop_gradient"; }
  int donate_input() const override { return 0; }
  void eval(const std::vector<const Node*>& in, Node& out) const override {
    if (out.data != in[0]->data) std::memcpy(out.data->ptr, in[0]->data->ptr, out.size * itemsize(out.dtype));
  }
  std::vector<Tensor> vjp(const std::vector<Tensor>&, const Tensor&, const Tensor&,
                          const std::vector<bool>&) const override {
    return {Tensor()};
  }
};

}  // namespace

// ---------------------------------------------------------------- public functions

Tensor operator+(const Tensor& a, const Tensor& b) { return binary(BinaryKind::add, a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return binary(BinaryKind::sub, a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return binary(BinaryKind::mul, a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return binary(BinaryKind::div, a, b); }
Tensor operator==(const Tensor& a, const Tensor& b) { return binary(BinaryKind::eq, a, b); }
Tensor operator!=(const Tensor& a, const Tensor& b) { return binary(BinaryKind::ne, a, b); }
Tensor operator<(const Tensor& a, const Tensor& b) { return binary(BinaryKind::lt, a, b); }
Tensor operator<=(const Tensor& a, const Tensor& b) { return binary(BinaryKind::le, a, b); }
Tensor operator>(const Tensor& a, const Tensor& b) { return binary(BinaryKind::gt, a, b); }
Tensor operator>=(const Tensor& a, const Tensor& b) { return binary(BinaryKind::ge, a, b); }
Tensor maximum(const Tensor& a, const Tensor& b) { return binary(BinaryKind::max, a, b); }
Tensor minimum(const Tensor& a, const Tensor& b) { return binary(BinaryKind::min, a, b); }

#define XLAX_SCALAR_OVERLOADS(DECL, KIND)                                                       \
  Tensor DECL(const Tensor& a, double s) { return binary(BinaryKind::KIND, a, weak_scalar(s, a)); } \
  Tensor DECL(double s, const Tensor& b) { return binary(BinaryKind::KIND, weak_scalar(s, b), b); }
XLAX_SCALAR_OVERLOADS(operator+, add)
XLAX_SCALAR_OVERLOADS(operator-, sub)
XLAX_SCALAR_OVERLOADS(operator*, mul)
XLAX_SCALAR_OVERLOADS(operator/, div)
XLAX_SCALAR_OVERLOADS(operator==, eq)
XLAX_SCALAR_OVERLOADS(operator!=, ne)
XLAX_SCALAR_OVERLOADS(operator<, lt)
XLAX_SCALAR_OVERLOADS(operator<=, le)
XLAX_SCALAR_OVERLOADS(operator>, gt)
XLAX_SCALAR_OVERLOADS(operator>=, ge)
XLAX_SCALAR_OVERLOADS(maximum, max)
XLAX_SCALAR_OVERLOADS(minimum, min)
#undef XLAX_SCALAR_OVERLOADS

Tensor operator-(const Tensor& x) { return unary(UnaryKind::neg, x); }
Tensor negative(const Tensor& x) { return unary(UnaryKind::neg, x); }
Tensor exp(const Tensor& x) { return unary(UnaryKind::exp, x); }
Tensor log(const Tensor& x) { return unary(UnaryKind::log, x); }
Tensor tanh(const Tensor& x) { return unary(UnaryKind::tanh, x); }
Tensor sqrt(const Tensor& x) { return unary(UnaryKind::sqrt, x); }
Tensor abs(const Tensor& x) { return unary(UnaryKind::abs, x); }
Tensor sign(const Tensor& x) { return unary(UnaryKind::sign, x); }
Tensor logistic(const Tensor& x) { return unary(UnaryKind::logistic, x); }
Tensor square(const Tensor& x) { return unary(UnaryKind::square, x); }
Tensor log1p(const Tensor& x) { return unary(UnaryKind::log1p, x); }
Tensor relu(const Tensor& x) { return unary(UnaryKind::relu, x); }
Tensor pow(const Tensor& x, double exponent) { return unary(UnaryKind::pow, x, exponent); }

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  const Node& nc = detail::node_of(cond, "where", "cond");
  const Node& na = detail::node_of(a, "where", "a");
  const Node& nb = detail::node_of(b, "where", "b");
  Shape shape = ops::broadcast_shapes(ops::broadcast_shapes(nc.shape, na.shape, "where"), nb.shape, "where");
  DType common = promote(na.dtype, nb.dtype);
  Tensor c = nc.dtype == DType::bool_ ? cond : (cond != 0.0);
  Tensor ca = na.dtype == common ? a : astype(a, common);
  Tensor cb = nb.dtype == common ? b : astype(b, common);
  return detail::make_tensor(std::make_shared<Select>(), {c, ca, cb}, shape, common);
}
Tensor where(const Tensor& cond, const Tensor& a, double b) { return where(cond, a, weak_scalar(b, a)); }
Tensor where(const Tensor& cond, double a, const Tensor& b) { return where(cond, weak_scalar(a, b), b); }
Tensor where(const Tensor& cond, double a, double b) {
  return where(cond, scalar(a), scalar(b));
}

Tensor astype(const Tensor& x, DType dtype) {
  const Node& n = detail::node_of(x, "astype", "x");
  if (n.dtype == dtype) return x;
  return detail::make_tensor(std::make_shared<Convert>(), {x}, n.shape, dtype);
}

Tensor stop_gradient(const Tensor& x) {
  const Node& n = detail::node_of(x, "stop_gradient", "x");
  return detail::make_tensor(std::make_shared<StopGradient>(), {x}, n.shape, n.dtype);
}

}  // namespace xlax
