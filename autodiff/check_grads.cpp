// check_grads as jax.test_util.check_grads in reverse mode: the vjp along a random
// cotangent, dotted with a random direction, must equal the central finite difference of
// the same inner product; order > 1 repeats the check on x -> vjp(f, x, f(x)).
#include <cmath>
#include <random>
#include <sstream>

#include "core/graph.hpp"
#include "xlax/autodiff.hpp"

namespace xlax {
namespace {

Tensor random_like(const Tensor& t, std::mt19937_64& rng) {
  std::normal_distribution<double> dist;
  std::vector<double> v(t.size());
  for (auto& x : v) x = dist(rng);
  return astype(asarray<double>(v.data(), t.shape()), t.dtype());
}

double inner(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  std::vector<Tensor> terms;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].valid() && b[i].valid() && a[i].size() > 0) terms.push_back(sum(astype(a[i], DType::float64) * astype(b[i], DType::float64)));
  eval(terms);
  double total = 0;
  for (auto& t : terms) total += t.item<double>();
  return total;
}

void check_vjp(const Fn& f, const std::vector<Tensor>& args, double atol, double rtol, double eps, int order,
               std::mt19937_64& rng) {
  std::vector<Tensor> outs = f(args);
  std::vector<Tensor> cots;
  for (auto& o : outs) cots.push_back(is_floating(o.dtype()) ? random_like(o, rng) : zeros_like(o));
  auto [outs2, grads] = vjp(f, args, cots);
  // One argument at a time, so a failure names the argument.
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i].size() == 0) continue;
    Tensor dir = random_like(args[i], rng);
    std::vector<Tensor> plus = args, minus = args;
    plus[i] = args[i] + eps * dir;
    minus[i] = args[i] - eps * dir;
    std::vector<Tensor> fp = f(plus), fm = f(minus);
    std::vector<Tensor> jvp_numeric;
    for (size_t k = 0; k < fp.size(); ++k)
      jvp_numeric.push_back(is_floating(fp[k].dtype()) ? (astype(fp[k], DType::float64) - astype(fm[k], DType::float64)) / (2 * eps) : Tensor());
    const double numeric = inner(jvp_numeric, cots);
    const double reverse = inner({grads[i]}, {dir});
    const double tol = atol + rtol * std::max(std::abs(numeric), std::abs(reverse));
    if (!(std::abs(numeric - reverse) <= tol)) {
      std::ostringstream os;
      os.precision(10);
      os << "check_grads: order-" << order << " reverse-mode derivative of argument " << i << " (shape "
         << to_string(args[i].shape()) << ") disagrees with central finite differences: <vjp(u), v> = " << reverse
         << ", <u, (f(x+eps v) - f(x-eps v))/(2 eps)> = " << numeric << ", |difference| = "
         << std::abs(numeric - reverse) << " > tolerance " << tol << " (atol=" << atol << ", rtol=" << rtol
         << ", eps=" << eps << ")";
      throw Error(os.str());
    }
  }
}

void check_recursive(const Fn& f, const std::vector<Tensor>& args, int order, int level, double atol, double rtol,
                     double eps, std::mt19937_64& rng) {
  check_vjp(f, args, atol, rtol, eps, level, rng);
  if (order > 1) {
    Fn f_vjp = [f](const std::vector<Tensor>& xs) {
      std::vector<Tensor> outs = f(xs);
      std::vector<Tensor> cots;
      for (auto& o : outs) cots.push_back(is_floating(o.dtype()) ? o : zeros_like(o));
      return vjp(f, xs, cots).second;
    };
    check_recursive(f_vjp, args, order - 1, level + 1, atol, rtol, eps, rng);
  }
}

}  // namespace

void check_grads(const Fn& f, const std::vector<Tensor>& args, int order, double atol, double rtol, double eps) {
  if (order < 1) throw Error("check_grads: order=" + std::to_string(order) + " must be >= 1");
  for (size_t i = 0; i < args.size(); ++i)
    if (detail::node_of(args[i], "check_grads", "args").dtype != DType::float64)
      throw Error("check_grads: args[" + std::to_string(i) + "] has dtype " + to_string(args[i].dtype()) +
                  "; finite differences need float64");
  std::mt19937_64 rng(0x5eed);
  check_recursive(f, args, order, 1, atol, rtol, eps, rng);
}

void check_grads(const ScalarFn& f, const std::vector<Tensor>& args, int order, double atol, double rtol,
                 double eps) {
  Fn wrapped = [f](const std::vector<Tensor>& xs) { return std::vector<Tensor>{f(xs)}; };
  check_grads(wrapped, args, order, atol, rtol, eps);
}

}  // namespace xlax
