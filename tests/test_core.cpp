// Core: the lazy Tensor, eval, memory, elementwise ops, reductions, layout ops, autodiff.
#include <catch2/catch.hpp>

#include <cmath>
#include <xlax/xlax.hpp>

#include "core/graph.hpp"

using namespace xlax;
using Catch::Matchers::Message;

namespace {
Tensor f64(std::vector<double> v, Shape s) { return asarray<double>(v.data(), s); }
Tensor randn(Shape s, unsigned seed) {
  std::vector<double> v(detail::shape_size(s));
  for (size_t i = 0; i < v.size(); ++i) v[i] = std::sin(1.7 * i + seed) * 1.3 + 0.1 * seed;
  return asarray<double>(v.data(), s);
}
}  // namespace

TEST_CASE("shapes and dtypes are known before evaluation", "[core]") {
  Tensor a = ones({2, 3}, DType::float32);
  Tensor b = ones({3}, DType::float64);
  Tensor c = a + b;
  CHECK(c.shape() == Shape{2, 3});
  CHECK(c.dtype() == DType::float64);
  CHECK_FALSE(c.node()->evaluated());
  CHECK(to_string(c.shape()) == "(2, 3)");
  CHECK(to_string(Shape{5}) == "(5,)");
  CHECK(to_string(Shape{}) == "()");
  CHECK((a < 2.0).dtype() == DType::bool_);
  CHECK((a * 2.0).dtype() == DType::float32);
}

TEST_CASE("empty handles throw xlax::Error", "[core]") {
  Tensor t;
  CHECK_THROWS_AS(t.shape(), Error);
  CHECK_THROWS_AS(t + t, Error);
  CHECK_THROWS_AS(t.eval(), Error);
}

TEST_CASE("broadcasting arithmetic matches hand results", "[core]") {
  Tensor a = f64({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = f64({10, 20, 30}, {3});
  Tensor col = f64({100, 200}, {2, 1});
  CHECK(to_vector<double>(a + b) == std::vector<double>{11, 22, 33, 14, 25, 36});
  CHECK(to_vector<double>(a * col) == std::vector<double>{100, 200, 300, 800, 1000, 1200});
  CHECK(to_vector<double>(2.0 - a) == std::vector<double>{1, 0, -1, -2, -3, -4});
  CHECK(to_vector<double>(a / 2.0) == std::vector<double>{0.5, 1, 1.5, 2, 2.5, 3});
  CHECK(to_vector<double>(maximum(a, 3.5)) == std::vector<double>{3.5, 3.5, 3.5, 4, 5, 6});
  CHECK(to_vector<double>(where(a > 3.0, a, -a)) == std::vector<double>{-1, -2, -3, 4, 5, 6});
  CHECK_THROWS_MATCHES(a + f64({1, 2}, {2}), Error,
                       Message("add: shapes (2, 3) and (2,) are not broadcastable (dimension 1: 3 vs 2)"));
}

TEST_CASE("reductions over several axes", "[core]") {
  Tensor a = f64({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, {2, 3, 2});
  CHECK(to_vector<double>(sum(a)) == std::vector<double>{78});
  CHECK(to_vector<double>(sum(a, {0, 2})) == std::vector<double>{1 + 2 + 7 + 8, 3 + 4 + 9 + 10, 5 + 6 + 11 + 12});
  CHECK(sum(a, {1}, true).shape() == Shape{2, 1, 2});
  CHECK(to_vector<double>(max(a, {1})) == std::vector<double>{5, 6, 11, 12});
  CHECK(to_vector<double>(min(a, {-1})) == std::vector<double>{1, 3, 5, 7, 9, 11});
  CHECK(to_vector<double>(mean(a, {0, 1})) == std::vector<double>{6, 7});
  CHECK(to_vector<int32_t>(argmax(f64({1, 5, 2, 7, 0, 7}, {2, 3}), 1)) == std::vector<int32_t>{1, 0});
  CHECK_THROWS_AS(sum(a, {3}), Error);
}

TEST_CASE("layout ops", "[core]") {
  Tensor a = f64({1, 2, 3, 4, 5, 6}, {2, 3});
  CHECK(to_vector<double>(transpose(a)) == std::vector<double>{1, 4, 2, 5, 3, 6});
  CHECK(reshape(a, {3, -1}).shape() == Shape{3, 2});
  CHECK(expand_dims(a, {0, 3}).shape() == Shape{1, 2, 3, 1});
  CHECK(squeeze(expand_dims(a, {0})).shape() == Shape{2, 3});
  CHECK(to_vector<double>(broadcast_to(f64({1, 2, 3}, {3}), {2, 3})) == std::vector<double>{1, 2, 3, 1, 2, 3});
  CHECK_THROWS_AS(reshape(a, {4, -1}), Error);
  CHECK_THROWS_AS(transpose(a, {0, 0}), Error);
}

TEST_CASE("elementwise chains reuse one buffer", "[core][memory]") {
  const int64_t n = 1 << 20;
  Tensor x = zeros({n}, DType::float32);
  x.eval();
  reset_peak_memory();
  const int64_t base = memory_stats().bytes_in_use;
  Tensor y = x + 1.0;
  for (int i = 0; i < 50; ++i) y = exp(y * 0.5) - 1.0;
  y.eval();
  // x stays alive (held), plus at most ~2 working buffers; 50 separate buffers would be 200 MB.
  CHECK(memory_stats().peak_bytes - base <= 3 * n * 4);
}

TEST_CASE("a 100,000-node chain evaluates and differentiates without recursion; memory stays bounded", "[core][memory]") {
  Tensor x = full({256}, 0.5, DType::float64);
  auto chain = [](const Tensor& x0) {
    Tensor y = x0;
    for (int i = 0; i < 100000; ++i) y = y * 1.0000001 + 1e-9;
    return y;
  };
  Tensor y = chain(x);  // builds 200,000 scalar constants: graph, not buffers
  reset_peak_memory();
  const int64_t base = memory_stats().bytes_in_use;
  y.eval();
  CHECK(memory_stats().peak_bytes - base <= 2 * 256 * 8);  // not one buffer per node
  Tensor g = grad([&](const std::vector<Tensor>& a) { return sum(chain(a[0])); })({x})[0];
  auto gv = to_vector<double>(g);
  CHECK(gv[0] == Approx(std::pow(1.0000001, 100000)).epsilon(1e-9));
}

TEST_CASE("shared nodes are computed once", "[core]") {
  Tensor x = f64({1, 2}, {2});
  Tensor y = exp(x);
  Tensor z = y * y + y;
  eval({z, y});
  CHECK(y.node()->evaluated());
  CHECK(to_vector<double>(z)[0] == Approx(std::exp(2.0) + std::exp(1.0)));
}

TEST_CASE("grad of simple functions and JAX's tie conventions", "[autodiff]") {
  Tensor x = f64({-1, 0, 2}, {3});
  auto g = grad([](const std::vector<Tensor>& a) { return sum(relu(a[0])); })({x})[0];
  CHECK(to_vector<double>(g) == std::vector<double>{0, 0, 1});
  auto gm = grad([](const std::vector<Tensor>& a) { return sum(maximum(a[0], a[1])); }, {0, 1})({f64({1, 2}, {2}), f64({1, 3}, {2})});
  CHECK(to_vector<double>(gm[0]) == std::vector<double>{0.5, 0});
  CHECK(to_vector<double>(gm[1]) == std::vector<double>{0.5, 1});
  auto gmax = grad([](const std::vector<Tensor>& a) { return max(a[0]); })({f64({3, 1, 3}, {3})})[0];
  CHECK(to_vector<double>(gmax) == std::vector<double>{0.5, 0, 0.5});
  CHECK_THROWS_AS(grad([](const std::vector<Tensor>& a) { return a[0]; })({x}), Error);
}

TEST_CASE("check_grads at order 2 on elementwise ops, broadcasting and reductions", "[autodiff]") {
  Tensor a = randn({2, 3}, 1), b = randn({3}, 2), c = randn({2, 1}, 3);
  Tensor pos = exp(randn({2, 3}, 4));
  std::vector<std::pair<const char*, ScalarFn>> fns = {
      {"arith", [](auto& v) { return sum((v[0] + v[1]) * v[2] - v[0] / (v[1] * v[1] + 1.0)); }},
      {"unary", [](auto& v) { return sum(exp(v[0] * 0.3) + tanh(v[1]) + logistic(v[2]) + square(v[0]) + pow(v[0] * v[0] + 1.0, 1.5)); }},
      {"sqrt_log", [](auto& v) { return sum(sqrt(v[3]) + log(v[3]) + log1p(v[3]) + abs(v[0]) * v[1]); }},
      {"reduce", [](auto& v) { return sum(square(sum(v[0] * v[1], {1}, true) * v[2])) + mean(v[0] * v[0]) + sum(max(v[0] * v[2], {0})); }},
      {"layout", [](auto& v) { return sum(transpose(v[0]) * reshape(broadcast_to(v[2], {2, 3}), {3, 2}) * expand_dims(v[1], {1})); }},
      {"where", [](auto& v) { return sum(where(v[0] > 0.0, v[0] * v[1], minimum(v[0], v[2]) * 2.0)); }},
      // relu's vjp is its own primitive (relu_grad); square() makes its vjp matter at order 2
      {"relu", [](auto& v) { return sum(relu(v[0] * v[1]) * v[2] + square(relu(v[0] - 0.3)) * v[1]); }},
  };
  for (auto& [name, f] : fns) {
    INFO(name);
    CHECK_NOTHROW(check_grads(f, {a, b, c, pos}, 2));
  }
}

TEST_CASE("grad of grad of a composite function", "[autodiff]") {
  Tensor x = f64({0.3, -1.2, 2.0}, {3});
  ScalarFn f = [](const std::vector<Tensor>& v) { return sum(v[0] * v[0] * v[0] + tanh(v[0])); };
  ScalarFn g = [f](const std::vector<Tensor>& v) { return sum(grad(f)(v)[0]); };  // 3x^2 + 1 - tanh^2
  auto h = to_vector<double>(grad(g)({x})[0]);                                       // 6x - 2 tanh (1 - tanh^2)
  for (int i = 0; i < 3; ++i) {
    double xi = to_vector<double>(x)[i], t = std::tanh(xi);
    CHECK(h[i] == Approx(6 * xi - 2 * t * (1 - t * t)).epsilon(1e-12));
  }
}

TEST_CASE("check_grads detects a wrong gradient", "[autodiff]") {
  // stop_gradient hides a dependence: reverse mode says 0, finite differences do not.
  ScalarFn wrong = [](const std::vector<Tensor>& v) { return sum(stop_gradient(v[0]) * v[0]); };
  CHECK_THROWS_AS(check_grads(wrong, {f64({1, 2}, {2})}, 1), Error);
}

TEST_CASE("vjp validates cotangents", "[autodiff]") {
  Fn f = [](const std::vector<Tensor>& v) { return std::vector<Tensor>{v[0] * 2.0}; };
  Tensor x = f64({1, 2}, {2});
  CHECK_THROWS_AS(vjp(f, {x}, {}), Error);
  CHECK_THROWS_AS(vjp(f, {x}, {f64({1, 2, 3}, {3})}), Error);
  auto [outs, cots] = vjp(f, {x}, {f64({1, 10}, {2})});
  CHECK(to_vector<double>(cots[0]) == std::vector<double>{2, 20});
}

TEST_CASE("shape products are checked: overflow and negative dims are errors, not UB", "[core]") {
  CHECK_THROWS_WITH(zeros({int64_t(1) << 40, int64_t(1) << 40}), Catch::Matchers::Contains("more than 2^63 - 1 elements"));
  CHECK_THROWS_WITH(zeros({-2, 3}), Catch::Matchers::Contains("negative dimension"));
  CHECK_THROWS_AS(ones({int64_t(1) << 31, int64_t(1) << 31, int64_t(1) << 31}), Error);
  CHECK(detail::shape_size({}) == 1);
  CHECK(detail::shape_size({int64_t(1) << 62, 4, 0}) == 0);
  CHECK(detail::shape_size({int64_t(1) << 31, int64_t(1) << 31}) == int64_t(1) << 62);
}
