// Ops: slicing/padding, dot_general/matmul, reduce_window, random, .npy I/O. Values are
// hand-computed (or NumPy/JAX-known); gradients are checked to order 2 in float64.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <unistd.h>
#include <xlax/xlax.hpp>

#include "core/graph.hpp"

using namespace xlax;
using Catch::Matchers::Contains;
using Catch::Matchers::Message;
using V = std::vector<double>;

namespace {
Tensor f64(V v, Shape s) { return asarray<double>(v.data(), s); }
Tensor wavy(Shape s, unsigned seed) {  // deterministic, well-separated values
  V v(detail::shape_size(s));
  for (size_t i = 0; i < v.size(); ++i) v[i] = std::sin(1.7 * i + seed) * 1.3 + 0.1 * seed;
  return asarray<double>(v.data(), s);
}
V vals(const Tensor& t) { return to_vector<double>(t); }

// Order-2 check of x -> sum(tanh(g(x)) * w): the tanh makes second derivatives non-trivial.
void check_op(const std::function<Tensor(const std::vector<Tensor>&)>& g, const std::vector<Tensor>& args) {
  Tensor probe = g(args);
  Tensor w = wavy(probe.shape(), 7);
  ScalarFn f = [g, w](const std::vector<Tensor>& v) { return sum(tanh(g(v)) * w); };
  check_grads(f, args, 2);
}

// Naive dot_general for reference: loops over every output and contraction index.
V naive_dot(const Tensor& a, const Tensor& b, const lax::DotDimensionNumbers& dn) {
  const Shape &as = a.shape(), &bs = b.shape();
  auto free_of = [](int64_t rank, const std::vector<int64_t>& c, const std::vector<int64_t>& bt) {
    std::vector<int64_t> f;
    for (int64_t d = 0; d < rank; ++d)
      if (std::count(c.begin(), c.end(), d) == 0 && std::count(bt.begin(), bt.end(), d) == 0) f.push_back(d);
    return f;
  };
  auto lf = free_of(as.size(), dn.lhs_contracting, dn.lhs_batch);
  auto rf = free_of(bs.size(), dn.rhs_contracting, dn.rhs_batch);
  Shape out_shape, k_shape;
  for (auto d : dn.lhs_batch) out_shape.push_back(as[d]);
  for (auto d : lf) out_shape.push_back(as[d]);
  for (auto d : rf) out_shape.push_back(bs[d]);
  for (auto d : dn.lhs_contracting) k_shape.push_back(as[d]);
  V av = vals(a), bv = vals(b), out(detail::shape_size(out_shape), 0.0);
  Shape ast = detail::row_major_strides(as), bst = detail::row_major_strides(bs);
  auto unravel = [](int64_t i, const Shape& s) {
    Shape idx(s.size());
    for (int64_t d = static_cast<int64_t>(s.size()) - 1; d >= 0; --d) {
      idx[d] = i % s[d];
      i /= s[d];
    }
    return idx;
  };
  const size_t nb = dn.lhs_batch.size();
  for (int64_t o = 0; o < static_cast<int64_t>(out.size()); ++o) {
    Shape oi = unravel(o, out_shape);
    for (int64_t k = 0; k < detail::shape_size(k_shape); ++k) {
      Shape ki = unravel(k, k_shape);
      int64_t ao = 0, bo = 0;
      for (size_t i = 0; i < nb; ++i) ao += oi[i] * ast[dn.lhs_batch[i]], bo += oi[i] * bst[dn.rhs_batch[i]];
      for (size_t i = 0; i < lf.size(); ++i) ao += oi[nb + i] * ast[lf[i]];
      for (size_t i = 0; i < rf.size(); ++i) bo += oi[nb + lf.size() + i] * bst[rf[i]];
      for (size_t i = 0; i < ki.size(); ++i) ao += ki[i] * ast[dn.lhs_contracting[i]], bo += ki[i] * bst[dn.rhs_contracting[i]];
      out[o] += av[ao] * bv[bo];
    }
  }
  return out;
}

void check_close(const V& got, const V& want, double tol = 1e-12) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == Approx(want[i]).margin(tol));
}

std::filesystem::path scratch_dir() {
  auto dir = std::filesystem::temp_directory_path() / ("xlax_test_ops_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir;
}
}  // namespace

// ---------------------------------------------------------------- slicing

TEST_CASE("concatenate joins along an axis and promotes dtypes", "[ops]") {
  Tensor a = f64({1, 2, 3, 4}, {2, 2}), b = f64({5, 6}, {2, 1});
  CHECK(vals(concatenate({a, b}, 1)) == V{1, 2, 5, 3, 4, 6});
  CHECK(vals(concatenate({a, b}, -1)) == V{1, 2, 5, 3, 4, 6});
  CHECK(vals(concatenate({a, f64({7, 8}, {1, 2}), a}, 0)) == V{1, 2, 3, 4, 7, 8, 1, 2, 3, 4});
  Tensor f = astype(b, DType::float32);
  CHECK(concatenate({f, a}, 1).dtype() == DType::float64);
  CHECK(concatenate({f, f}, 0).shape() == Shape{4, 1});
  CHECK_THROWS_MATCHES(concatenate({}, 0), Error, Message("concatenate: tensors must not be empty"));
  CHECK_THROWS_MATCHES(concatenate({a, b}, 0), Error,
                       Message("concatenate: tensors[1] has shape (2, 1) but tensors[0] has shape (2, 2); all "
                               "dimensions except axis=0 must match"));
  CHECK_THROWS_WITH(concatenate({a, b}, 2), Contains("concatenate: axis=2 is out of range"));
  CHECK_THROWS_AS(concatenate({scalar(1.0), scalar(2.0)}, 0), Error);
}

TEST_CASE("lax::slice with strides", "[ops]") {
  Tensor x = arange(0, 12, 1, DType::float64);
  x = reshape(x, {3, 4});
  CHECK(vals(lax::slice(x, {0, 1}, {3, 4}, {2, 2})) == V{1, 3, 9, 11});
  CHECK(vals(lax::slice(x, {1, 0}, {2, 4})) == V{4, 5, 6, 7});
  CHECK(lax::slice(x, {1, 2}, {1, 4}).shape() == Shape{0, 2});
  CHECK(lax::slice(x, {0, 0}, {3, 4}, {1, 3}).shape() == Shape{3, 2});
  CHECK_THROWS_MATCHES(lax::slice(x, {0, 1}, {3, 5}), Error,
                       Message("slice: dimension 1 needs 0 <= start <= limit <= size, got start=1, limit=5, size=4 "
                               "(x shape (3, 4))"));
  CHECK_THROWS_WITH(lax::slice(x, {0}, {3}), Contains("must each have one entry per dimension"));
  CHECK_THROWS_WITH(lax::slice(x, {0, 0}, {3, 4}, {1, 0}), Contains("strides (1, 0) must be >= 1"));
}

TEST_CASE("lax::pad: low/high, interior, negative crops", "[ops]") {
  Tensor x = f64({1, 2, 3}, {3});
  CHECK(vals(lax::pad(x, 0, {{1, 2, 1}})) == V{0, 1, 0, 2, 0, 3, 0, 0});
  CHECK(vals(lax::pad(x, 9, {{-1, 1, 0}})) == V{2, 3, 9});
  CHECK(vals(lax::pad(x, 9, {{-2, -1, 1}})) == V{2, 9});  // [1 9 2 9 3] cropped
  CHECK(vals(lax::pad(x, 9, {{-3, 0, 0}})).empty());
  Tensor m = f64({1, 2, 3, 4}, {2, 2});
  CHECK(vals(lax::pad(m, -1, {{1, 0, 0}, {0, -1, 1}})) == V{-1, -1, 1, -1, 3, -1});
  CHECK(vals(lax::pad(astype(x, DType::int32), 7, {{0, 1, 0}})) == V{1, 2, 3, 7});
  CHECK_THROWS_MATCHES(lax::pad(x, 0, {{-3, -1, 0}}), Error,
                       Message("pad: dimension 0 of size 3 padded by (lo=-3, hi=-1, interior=0) would have negative "
                               "size -1"));
  CHECK_THROWS_WITH(lax::pad(x, 0, {{0, 0, -1}}), Contains("interior padding must be >= 0"));
  CHECK_THROWS_WITH(lax::pad(x, 0, {}), Contains("pad: lo_hi_interior has 0 entries for an array of rank 1"));
}

TEST_CASE("lax::rev and lax::dynamic_update_slice", "[ops]") {
  Tensor x = f64({1, 2, 3, 4, 5, 6}, {2, 3});
  CHECK(vals(lax::rev(x, {1})) == V{3, 2, 1, 6, 5, 4});
  CHECK(vals(lax::rev(x, {0, -1})) == V{6, 5, 4, 3, 2, 1});
  CHECK_THROWS_WITH(lax::rev(x, {2}), Contains("rev: axes=2 is out of range"));

  Tensor z = zeros({3, 4}, DType::float64);
  Tensor u = f64({1, 2, 3, 4}, {2, 2});
  // start (2, 3) is clamped to (1, 2) so the update fits, as JAX.
  CHECK(vals(lax::dynamic_update_slice(z, u, {2, 3})) == V{0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 3, 4});
  CHECK(vals(lax::dynamic_update_slice(z, u, {-4, 1})) == V{0, 1, 2, 0, 0, 3, 4, 0, 0, 0, 0, 0});
  CHECK(vals(z) == V(12, 0.0));  // functional: z itself is unchanged
  CHECK_THROWS_MATCHES(lax::dynamic_update_slice(u, z, {0, 0}), Error,
                       Message("dynamic_update_slice: update shape (3, 4) does not fit in x shape (2, 2) (dimension 0)"));
  CHECK_THROWS_WITH(lax::dynamic_update_slice(z, astype(u, DType::float32), {0, 0}),
                    Contains("update has dtype float32 but x has dtype float64"));
  CHECK_THROWS_WITH(lax::dynamic_update_slice(z, u, {0}), Contains("start (0,) must have one entry per dimension"));
}

TEST_CASE("slicing ops: check_grads to order 2", "[ops][autodiff]") {
  Tensor a = wavy({3, 4}, 1), b = wavy({3, 2}, 2), u = wavy({2, 2}, 3);
  CHECK_NOTHROW(check_op([](auto& v) { return concatenate({v[0], v[1] * v[1], v[0]}, 1); }, {a, b}));
  CHECK_NOTHROW(check_op([](auto& v) { return lax::slice(v[0] * v[0], {0, 1}, {3, 4}, {2, 2}); }, {a}));
  CHECK_NOTHROW(check_op([](auto& v) { return lax::pad(v[0] * v[0], 0.5, {{1, 2, 1}, {-1, 2, 2}}); }, {a}));
  CHECK_NOTHROW(check_op([](auto& v) { return lax::pad(v[0] * v[0], 0.5, {{-2, -1, 1}, {-3, 1, 0}}); }, {a}));
  CHECK_NOTHROW(check_op([](auto& v) { return lax::rev(v[0] * v[0], {0, 1}); }, {a}));
  CHECK_NOTHROW(check_op([](auto& v) { return lax::dynamic_update_slice(v[0] * v[0], v[1] * v[1], {2, 3}); }, {a, u}));
  // pad's vjp is a strided slice of the cropped cotangent: compare with a hand result.
  auto g = grad([](auto& v) { return sum(lax::pad(v[0], 0, {{-1, 1, 1}}) * f64({10, 20, 30, 40, 50}, {5})); })(
      {f64({1, 2, 3}, {3})});
  CHECK(vals(g[0]) == V{0, 20, 40});  // [1 0 2 0 3] -> crop 1, pad 1 -> [0 2 0 3 0]
}

// ---------------------------------------------------------------- dot

TEST_CASE("dot_general: values, layouts, batch dims", "[ops]") {
  Tensor a = f64({1, 2, 3, 4, 5, 6}, {2, 3}), b = f64({1, 2, 3, 4, 5, 6}, {3, 2});
  CHECK(vals(lax::dot_general(a, b, {{1}, {0}, {}, {}})) == V{22, 28, 49, 64});
  CHECK(vals(lax::dot_general(a, a, {{1}, {1}, {}, {}})) == V{14, 32, 32, 77});  // a a^T
  CHECK(vals(lax::dot_general(a, b, {{0}, {1}, {}, {}})) == V{9, 19, 29, 12, 26, 40, 15, 33, 51});  // a^T b^T
  struct Case {
    Shape as, bs;
    lax::DotDimensionNumbers dn;
  };
  std::vector<Case> cases = {
      {{2, 3, 4}, {2, 4, 5}, {{2}, {1}, {0}, {0}}},            // batched matmul
      {{3, 2, 4}, {4, 5, 2}, {{2}, {0}, {1}, {2}}},            // batch dims not leading
      {{2, 3, 4}, {4, 3, 2}, {{0, 2}, {2, 0}, {}, {}}},        // non-adjacent contraction: packed
      {{4, 3, 2}, {3, 5, 4}, {{1, 0}, {0, 2}, {}, {}}},        // contraction order differs
      {{2, 3, 1, 4}, {4, 2, 5}, {{3}, {0}, {0}, {1}}},         // unit dims, free dims after batch
      {{2, 3}, {3}, {{1}, {0}, {}, {}}},                       // matrix-vector
      {{3}, {3}, {{0}, {0}, {}, {}}},                          // inner product -> ()
      {{2}, {3}, {{}, {}, {}, {}}},                            // outer product
      {{2, 0}, {0, 3}, {{1}, {0}, {}, {}}},                    // K = 0 gives zeros
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    INFO("case " << i);
    Tensor x = wavy(cases[i].as, 1), y = wavy(cases[i].bs, 2);
    Tensor r = lax::dot_general(x, y, cases[i].dn);
    check_close(vals(r), naive_dot(x, y, cases[i].dn));
    Tensor r32 = lax::dot_general(astype(x, DType::float32), astype(y, DType::float32), cases[i].dn);
    CHECK(r32.dtype() == DType::float32);
    check_close(vals(r32), naive_dot(x, y, cases[i].dn), 1e-5);
  }
  CHECK(lax::dot_general(wavy({2, 3, 4}, 1), wavy({4, 5, 2}, 2), {{2}, {0}, {0}, {2}}).shape() == Shape{2, 3, 5});
  CHECK(lax::dot_general(a, astype(b, DType::float32), {{1}, {0}, {}, {}}).dtype() == DType::float64);
}

TEST_CASE("dot_general and matmul argument errors", "[ops]") {
  Tensor a = wavy({2, 3}, 1), b = wavy({4, 2}, 2);
  CHECK_THROWS_MATCHES(lax::dot_general(a, b, {{1}, {0}, {}, {}}), Error,
                       Message("dot_general: contracting dims must have equal sizes: lhs dim 1 has size 3 (lhs shape "
                               "(2, 3)) but rhs dim 0 has size 4 (rhs shape (4, 2))"));
  CHECK_THROWS_WITH(lax::dot_general(a, b, {{1}, {}, {}, {}}), Contains("lhs_contracting has 1 dims but rhs_contracting has 0"));
  CHECK_THROWS_WITH(lax::dot_general(a, b, {{2}, {0}, {}, {}}), Contains("lhs_contracting entry 2 is out of range"));
  CHECK_THROWS_WITH(lax::dot_general(a, a, {{1}, {1}, {1}, {1}}), Contains("must be distinct"));
  CHECK_THROWS_WITH(lax::dot_general(astype(a, DType::int32), a, {{1}, {1}, {}, {}}),
                    Contains("operands must be float32 or float64"));
  CHECK_THROWS_MATCHES(matmul(a, b), Error,
                       Message("matmul: the last dim of a (shape (2, 3), size 3) must equal the second-to-last dim "
                               "of b (shape (4, 2), size 4)"));
  CHECK_THROWS_WITH(matmul(scalar(1.0), a), Contains("operands must have rank >= 1"));
  CHECK_THROWS_WITH(matmul(wavy({2, 2, 3}, 1), wavy({3, 3, 2}, 1)), Contains("matmul: shapes (2,) and (3,) are not broadcastable"));
}

TEST_CASE("matmul follows NumPy: 1-D operands and broadcast batch dims", "[ops]") {
  Tensor v = f64({1, 2, 3}, {3}), m = f64({1, 2, 3, 4, 5, 6}, {3, 2});
  CHECK(matmul(v, v).shape() == Shape{});
  CHECK(vals(matmul(v, v)) == V{14});
  CHECK(vals(matmul(v, m)) == V{22, 28});
  CHECK(vals(matmul(f64({1, 2, 3, 4, 5, 6}, {2, 3}), v)) == V{14, 32});
  // (2,1,2,3) @ (4,3,5) -> (2,4,2,5); (3,) @ (4,3,5) -> (4,5); (2,3) @ (4,3,5) -> (4,2,5)
  Tensor a = wavy({2, 1, 2, 3}, 1), b = wavy({4, 3, 5}, 2);
  Tensor r = matmul(a, b);
  REQUIRE(r.shape() == Shape{2, 4, 2, 5});
  V rv = vals(r), av = vals(a), bv = vals(b);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 4; ++j)
      for (int p = 0; p < 2; ++p)
        for (int q = 0; q < 5; ++q) {
          double s = 0;
          for (int k = 0; k < 3; ++k) s += av[i * 6 + p * 3 + k] * bv[j * 15 + k * 5 + q];
          CHECK(rv[((i * 4 + j) * 2 + p) * 5 + q] == Approx(s).margin(1e-12));
        }
  CHECK(matmul(v, b).shape() == Shape{4, 5});
  CHECK(vals(matmul(v, b)) == vals(reshape(matmul(reshape(v, {1, 3}), b), {4, 5})));
  Tensor c = wavy({2, 3}, 3);
  Tensor cb = matmul(c, b);
  REQUIRE(cb.shape() == Shape{4, 2, 5});
  check_close(vals(cb), vals(matmul(broadcast_to(c, {4, 2, 3}), b)));
  CHECK(matmul(wavy({3, 2, 4}, 1), wavy({4}, 2)).shape() == Shape{3, 2});
}

TEST_CASE("dot_general and matmul: check_grads to order 2", "[ops][autodiff]") {
  std::vector<std::tuple<Shape, Shape, lax::DotDimensionNumbers>> cases = {
      {{2, 3}, {3, 4}, {{1}, {0}, {}, {}}},
      {{3, 2, 4}, {4, 5, 2}, {{2}, {0}, {1}, {2}}},
      {{2, 3, 4}, {4, 3, 2}, {{0, 2}, {2, 0}, {}, {}}},
      {{4, 3, 2}, {3, 5, 4}, {{1, 0}, {0, 2}, {}, {}}},
      {{3}, {3}, {{0}, {0}, {}, {}}},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    INFO("case " << i);
    auto [as, bs, dn] = cases[i];
    CHECK_NOTHROW(check_op([dn = dn](auto& v) { return lax::dot_general(v[0], v[1], dn); }, {wavy(as, 1), wavy(bs, 2)}));
  }
  std::vector<std::pair<Shape, Shape>> mm = {{{3}, {3}}, {{3}, {3, 2}}, {{2, 3}, {3}}, {{2, 1, 2, 3}, {4, 3, 2}},
                                             {{2, 3}, {2, 3, 4}}, {{2, 2, 3}, {3, 2}}};
  for (auto& [as, bs] : mm) {
    INFO(to_string(as) << " @ " << to_string(bs));
    CHECK_NOTHROW(check_op([](auto& v) { return matmul(v[0], v[1]); }, {wavy(as, 1), wavy(bs, 2)}));
  }
}

// ---------------------------------------------------------------- reduce_window

TEST_CASE("lax::Padding keeps what it was given", "[ops]") {
  lax::Padding s("same"), t(std::string("VALID")), p({{2, 1}, {0, -1}}), e({});
  CHECK(s.is_string());
  CHECK(s.mode() == "same");
  CHECK(t.mode() == "VALID");
  CHECK_FALSE(p.is_string());
  CHECK(p.pairs() == std::vector<std::pair<int64_t, int64_t>>{{2, 1}, {0, -1}});
  CHECK_FALSE(e.is_string());  // {} means no pairs, not an empty mode string
  CHECK(e.pairs().empty());
  lax::Padding v(std::vector<std::pair<int64_t, int64_t>>{{3, 0}});
  CHECK(v.pairs().size() == 1);
}

TEST_CASE("reduce_window sum/max: padding modes, strides and dilations", "[ops]") {
  using lax::ReduceOp;
  Tensor x = f64({1, 2, 3, 4, 5}, {5});
  CHECK(vals(lax::reduce_window(x, ReduceOp::sum, {2}, {1}, "VALID")) == V{3, 5, 7, 9});
  // SAME, window 3, stride 2 on 5: out 3, total pad 2 -> (1, 1)
  CHECK(vals(lax::reduce_window(x, ReduceOp::sum, {3}, {2}, "SAME")) == V{3, 9, 9});
  Tensor y = f64({1, 2, 3, 4}, {4});
  CHECK(vals(lax::reduce_window(y, ReduceOp::sum, {2}, {1}, "same")) == V{3, 5, 7, 4});        // (0, 1)
  CHECK(vals(lax::reduce_window(y, ReduceOp::sum, {2}, {1}, "SAME_LOWER")) == V{1, 3, 5, 7});  // (1, 0)
  CHECK(vals(lax::reduce_window(y, ReduceOp::sum, {2}, {2}, {{-1, 1}})) == V{5, 4});
  // window dilation 2: taps i and i+2
  CHECK(vals(lax::reduce_window(x, ReduceOp::sum, {2}, {1}, "VALID", {}, {2})) == V{4, 6, 8});
  // base dilation 2: [1 . 2 . 3]; holes count as padding (0 for sum, -inf for max)
  CHECK(vals(lax::reduce_window(f64({1, 2, 3}, {3}), ReduceOp::sum, {2}, {1}, "VALID", {2})) == V{1, 2, 2, 3});
  CHECK(vals(lax::reduce_window(f64({-1, -2, -3}, {3}), ReduceOp::max, {2}, {1}, "VALID", {2})) == V{-1, -2, -2, -3});
  Tensor m = f64({1, 5, 2, 4, 3, 6}, {2, 3});
  CHECK(vals(lax::reduce_window(m, ReduceOp::max, {2, 2}, {1, 1}, "VALID")) == V{5, 6});
  CHECK(vals(lax::reduce_window(m, ReduceOp::sum, {1, 2}, {1, 2}, "SAME")) == V{6, 2, 7, 6});
  // max pads with -inf: a padded window never invents a 0
  CHECK(vals(lax::reduce_window(f64({-1, -2}, {2}), ReduceOp::max, {2}, {1}, {{1, 1}})) == V{-1, -1, -2});
  CHECK(std::isinf(vals(lax::reduce_window(f64({-1, -2}, {2}), ReduceOp::max, {2}, {1}, {{2, 0}}))[0]));
  // float32 stays float32; 4-D pooling shape
  Tensor img = astype(wavy({2, 6, 5, 3}, 4), DType::float32);
  Tensor pooled = lax::reduce_window(img, ReduceOp::max, {1, 2, 2, 1}, {1, 2, 2, 1}, "SAME");
  CHECK(pooled.dtype() == DType::float32);
  CHECK(pooled.shape() == Shape{2, 3, 3, 3});
}

TEST_CASE("reduce_window errors", "[ops]") {
  using lax::ReduceOp;
  Tensor x = wavy({4, 4}, 1);
  CHECK_THROWS_MATCHES(lax::reduce_window(x, ReduceOp::sum, {2, 2}, {1, 1}, "FULL"), Error,
                       Message("reduce_window: padding 'FULL' is not recognised: use SAME, SAME_LOWER, VALID (any "
                               "case) or (lo, hi) pairs"));
  CHECK_THROWS_WITH(lax::reduce_window(x, ReduceOp::sum, {2}, {1, 1}, "VALID"), Contains("window=(2,) must have 2 entries"));
  CHECK_THROWS_WITH(lax::reduce_window(x, ReduceOp::sum, {2, 2}, {1, 0}, "VALID"), Contains("strides=(1, 0) entries must be >= 1"));
  CHECK_THROWS_WITH(lax::reduce_window(x, ReduceOp::sum, {2, 2}, {1, 1}, {{0, 0}}), Contains("padding has 1 (lo, hi) pairs"));
  CHECK_THROWS_MATCHES(lax::reduce_window(x, ReduceOp::max, {5, 1}, {1, 1}, "VALID"), Error,
                       Message("reduce_window: dimension 0: the padded input has size 4, smaller than the dilated "
                               "window size 5"));
  CHECK_THROWS_WITH(lax::reduce_window(x, ReduceOp::sum, {2, 2}, {1, 1}, "VALID", {1, 1}, {0, 1}),
                    Contains("window_dilation=(0, 1) entries must be >= 1"));
}

TEST_CASE("max reduce_window sends the gradient to the first maximum", "[ops][autodiff]") {
  using lax::ReduceOp;
  auto g1 = grad([](auto& v) { return sum(lax::reduce_window(v[0], ReduceOp::max, {3}, {1}, "VALID")); })({f64({2, 2, 2}, {3})});
  CHECK(vals(g1[0]) == V{1, 0, 0});
  auto g2 = grad([](auto& v) { return sum(lax::reduce_window(v[0], ReduceOp::max, {2}, {1}, "VALID")); })({f64({3, 3, 1}, {3})});
  CHECK(vals(g2[0]) == V{1, 1, 0});
  // 2x2 pooling of a tie block: row-major first element wins
  auto g3 = grad([](auto& v) { return sum(lax::reduce_window(v[0], ReduceOp::max, {2, 2}, {2, 2}, "VALID")); })(
      {f64({1, 4, 4, 0, 4, 4, 2, 2}, {2, 4})});
  CHECK(vals(g3[0]) == V{0, 1, 1, 0, 0, 0, 0, 0});
  // overlapping windows accumulate
  auto g4 = grad([](auto& v) { return sum(lax::reduce_window(v[0], ReduceOp::max, {2}, {1}, "SAME")); })({f64({1, 5, 2}, {3})});
  CHECK(vals(g4[0]) == V{0, 2, 1});
}

TEST_CASE("reduce_window: check_grads to order 2", "[ops][autodiff]") {
  using lax::ReduceOp;
  Tensor x = wavy({5, 6}, 1);
  struct Case {
    Shape window, strides;
    lax::Padding padding;
    Shape base_dilation, window_dilation;
  };
  std::vector<Case> cases = {
      {{2, 2}, {1, 1}, "VALID", {}, {}},
      {{3, 2}, {2, 2}, "SAME", {}, {}},
      {{2, 3}, {2, 1}, "SAME_LOWER", {}, {}},
      {{2, 2}, {1, 2}, lax::Padding({{2, -1}, {1, 3}}), {}, {}},
      {{2, 2}, {2, 1}, "VALID", {2, 1}, {1, 2}},
      {{3, 2}, {1, 3}, lax::Padding({{-1, 2}, {0, 1}}), {2, 3}, {2, 1}},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    for (ReduceOp op : {ReduceOp::sum, ReduceOp::max}) {
      INFO("case " << i << (op == ReduceOp::sum ? " sum" : " max"));
      CHECK_NOTHROW(check_op(
          [c, op](auto& v) {
            return lax::reduce_window(v[0] * v[0], op, c.window, c.strides, c.padding, c.base_dilation, c.window_dilation);
          },
          {x}));
    }
  }
  // Channels-last pooling takes the contiguous-row path; channels-first the general one.
  Tensor nhwc = wavy({2, 4, 5, 3}, 6);
  for (lax::ReduceOp op : {lax::ReduceOp::sum, lax::ReduceOp::max}) {
    auto last = [op](const std::vector<Tensor>& v) {
      return lax::reduce_window(v[0] * v[0], op, {1, 2, 3, 1}, {1, 2, 2, 1}, "SAME");
    };
    auto first = [op](const std::vector<Tensor>& v) {
      Tensor y = lax::reduce_window(transpose(v[0] * v[0], {0, 3, 1, 2}), op, {1, 1, 2, 3}, {1, 1, 2, 2}, "SAME");
      return transpose(y, {0, 2, 3, 1});
    };
    CHECK(vals(last({nhwc})) == vals(first({nhwc})));
    ScalarFn fl = [&](auto& v) { return sum(tanh(last(v))); }, ff = [&](auto& v) { return sum(tanh(first(v))); };
    check_close(vals(grad(fl)({nhwc})[0]), vals(grad(ff)({nhwc})[0]));
    CHECK_NOTHROW(check_op(last, {nhwc}));
  }
  // Order 3 reaches the gather's own vjp (the scatter again).
  ScalarFn pool = [](const std::vector<Tensor>& v) {
    return sum(tanh(lax::reduce_window(v[0] * v[0], lax::ReduceOp::max, {2, 2}, {1, 2}, "SAME")) * wavy({5, 3}, 5));
  };
  CHECK_NOTHROW(check_grads(pool, {x}, 3));
}

// ---------------------------------------------------------------- random

TEST_CASE("random: threefry keys match JAX; draws reproduce", "[ops][random]") {
  // jax.random.split(jax.random.PRNGKey(0)) and jax.random.uniform(PRNGKey(0)) (JAX-known values)
  auto keys = random::split(random::key(0));
  REQUIRE(keys.size() == 2);
  CHECK(keys[0].data[0] == 4146024105u);
  CHECK(keys[0].data[1] == 967050713u);
  CHECK(keys[1].data[0] == 2718843009u);
  CHECK(keys[1].data[1] == 1272950319u);
  CHECK(random::uniform(random::key(0), {}).item<float>() == Approx(0.41845703f).epsilon(1e-7));
  CHECK(random::key(0x0000000500000007ull).data[0] == 5u);
  CHECK(random::key(0x0000000500000007ull).data[1] == 7u);

  auto k = random::key(42);
  CHECK(vals(random::normal(k, {100})) == vals(random::normal(k, {100})));
  CHECK(vals(random::normal(k, {100})) != vals(random::normal(random::split(k)[0], {100})));
  CHECK(random::split(k, 3).size() == 3);
  CHECK(random::split(k, 0).empty());
  // float32 normal is the rounding of the float64 one
  V n64 = vals(random::normal(k, {7}, DType::float64)), n32 = vals(random::normal(k, {7}));
  for (int i = 0; i < 7; ++i) CHECK(n32[i] == static_cast<float>(n64[i]));
  CHECK(random::permutation(k, 50) == random::permutation(k, 50));
}

TEST_CASE("random: distributions have the right moments and ranges", "[ops][random]") {
  auto k = random::key(7);
  V z = vals(random::normal(k, {20000}, DType::float64));
  double mean = 0, var = 0;
  for (double v : z) mean += v;
  mean /= z.size();
  for (double v : z) var += (v - mean) * (v - mean);
  var /= z.size();
  CHECK(std::abs(mean) < 0.03);
  CHECK(std::abs(var - 1) < 0.05);
  V u = vals(random::uniform(k, {10000}, DType::float32, -2, 3));
  double umean = 0;
  for (double v : u) {
    CHECK((v >= -2 && v < 3));
    umean += v;
  }
  CHECK(umean / u.size() == Approx(0.5).margin(0.06));
  Tensor b = random::bernoulli(k, 0.3, {10000});
  CHECK(b.dtype() == DType::bool_);
  CHECK(sum(astype(b, DType::float64)).item<double>() / 10000 == Approx(0.3).margin(0.02));
  CHECK(sum(astype(random::bernoulli(k, 0.0, {100}), DType::float64)).item<double>() == 0);
  CHECK(sum(astype(random::bernoulli(k, 1.0, {100}), DType::float64)).item<double>() == 100);
  auto perm = random::permutation(k, 1000);
  std::set<int64_t> seen(perm.begin(), perm.end());
  CHECK(seen.size() == 1000);
  CHECK(*seen.begin() == 0);
  CHECK(*seen.rbegin() == 999);
  int fixed = 0;
  for (int64_t i = 0; i < 1000; ++i) fixed += perm[i] == i;
  CHECK(fixed < 10);  // a shuffle, not the identity
  CHECK(random::permutation(random::key(8), 1000) != perm);
  CHECK(random::permutation(k, 0).empty());
  CHECK_THROWS_MATCHES(random::bernoulli(k, 1.5, {2}), Error, Message("random::bernoulli: p=1.500000 must be in [0, 1]"));
  CHECK_THROWS_WITH(random::normal(k, {2, -1}), Contains("random::normal: shape (2, -1) has a negative dimension"));
  CHECK_THROWS_WITH(random::uniform(k, {2}, DType::int32), Contains("float32 or float64 required"));
  CHECK_THROWS_WITH(random::uniform(k, {2}, DType::float32, 1, 1), Contains("need finite lo < hi"));
  CHECK_THROWS_WITH(random::permutation(k, -1), Contains("n=-1 must be >= 0"));
}

// ---------------------------------------------------------------- npy

TEST_CASE("npy: reads NumPy-written files", "[ops][npy]") {
  const std::string golden = std::string(XLAX_TEST_DATA) + "/golden/";
  Tensor r = load_npy(golden + "037_conv_general_dilated_2_d_size_1_everything_n_1_c/rhs.npy");
  CHECK(r.dtype() == DType::float64);
  CHECK(r.shape() == Shape{1, 1, 1, 1});
  CHECK(r.item<double>() == 0.13386729502877548);
  Tensor e = load_npy(golden + "038_conv_general_dilated_2_d_output_spatial_size_0_v/out.npy");
  CHECK(e.shape() == Shape{2, 2, 0, 4});
  Tensor k = load_npy(golden + "000_tutorial_lax_conv_nchw_same/rhs.npy");
  CHECK(k.dtype() == DType::float32);
  CHECK(k.shape() == Shape{3, 3, 3, 3});
  for (double v : vals(k)) CHECK((v == -1 || v == 0 || v == 1));
}

TEST_CASE("npy: save/load round trips, byte-identical to NumPy, atomic", "[ops][npy]") {
  const auto dir = scratch_dir();
  const std::string golden = std::string(XLAX_TEST_DATA) + "/golden/";
  auto read_all = [](const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  // Re-saving a NumPy file reproduces it byte for byte (same header text and padding).
  const std::string src = golden + "037_conv_general_dilated_2_d_size_1_everything_n_1_c/rhs.npy";
  save_npy((dir / "copy.npy").string(), load_npy(src));
  CHECK(read_all((dir / "copy.npy").string()) == read_all(src));

  std::vector<Tensor> tensors = {wavy({2, 3}, 1), astype(wavy({4}, 2), DType::float32), scalar(2.5, DType::float64),
                                 zeros({0, 4}), astype(f64({1, -2, 3}, {3}), DType::int32), wavy({1, 2, 1, 2, 1, 2, 1, 2, 1, 2}, 3),
                                 f64({1, 0, 1}, {3}) > 0.5};
  for (size_t i = 0; i < tensors.size(); ++i) {
    INFO("tensor " << i);
    const std::string p = (dir / ("t" + std::to_string(i) + ".npy")).string();
    save_npy(p, tensors[i]);
    Tensor back = load_npy(p);
    CHECK(back.shape() == tensors[i].shape());
    CHECK(back.dtype() == tensors[i].dtype());
    CHECK(vals(back) == vals(tensors[i]));
    CHECK(read_all(p).size() % 64 == tensors[i].size() * itemsize(tensors[i].dtype()) % 64);  // data 64-aligned
  }
  save_npy((dir / "t0.npy").string(), wavy({5}, 9));  // overwrite in place
  CHECK(load_npy((dir / "t0.npy").string()).shape() == Shape{5});
  for (auto& entry : std::filesystem::directory_iterator(dir))
    CHECK(entry.path().string().find(".tmp") == std::string::npos);  // no temp files left behind
  CHECK_THROWS_WITH(save_npy((dir / "no_such_dir" / "x.npy").string(), wavy({2}, 1)), Contains("save_npy: cannot open"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("npy: version 2.0 headers and clear errors", "[ops][npy]") {
  const auto dir = scratch_dir();
  auto write = [&](const std::string& name, const std::string& bytes) {
    const std::string p = (dir / name).string();
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  };
  auto v1 = [](const std::string& dict, const std::string& data) {
    std::string h = dict + "\n";
    std::string out("\x93NUMPY\x01\x00", 8);
    out.push_back(static_cast<char>(h.size() & 0xff));
    out.push_back(static_cast<char>(h.size() >> 8));
    return out + h + data;
  };
  double values[3] = {1.5, -2, 4};
  std::string data(reinterpret_cast<const char*>(values), sizeof values);
  {
    std::string h = "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }\n";
    std::string bytes("\x93NUMPY\x02\x00", 8);
    for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<char>((h.size() >> (8 * i)) & 0xff));
    Tensor t = load_npy(write("v2.npy", bytes + h + data));
    CHECK(vals(t) == V{1.5, -2, 4});
  }
  CHECK(vals(load_npy(write("dq.npy", v1("{\"descr\":\"<f8\",\"shape\":(3,),\"fortran_order\":False}", data)))) == V{1.5, -2, 4});
  const std::string fortran = write("f.npy", v1("{'descr': '<f8', 'fortran_order': True, 'shape': (3,), }", data));
  CHECK_THROWS_WITH(load_npy(fortran), Contains("fortran_order=True is not supported"));
  CHECK_THROWS_WITH(load_npy(write("i8.npy", v1("{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", data))),
                    Contains("dtype '<i8' is not supported"));
  CHECK_THROWS_WITH(load_npy(write("be.npy", v1("{'descr': '>f8', 'fortran_order': False, 'shape': (3,), }", data))),
                    Contains("big-endian dtype '>f8' is not supported"));
  CHECK_THROWS_WITH(load_npy(write("short.npy", v1("{'descr': '<f8', 'fortran_order': False, 'shape': (4,), }", data))),
                    Contains("truncated file (shape (4,) float64 needs 32 data bytes, found 24)"));
  CHECK_THROWS_WITH(load_npy(write("hdr.npy", v1("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", "").substr(0, 30))),
                    Contains("truncated file (header of"));
  CHECK_THROWS_WITH(load_npy(write("magic.npy", "hello world, not numpy")), Contains("not a .npy file"));
  CHECK_THROWS_WITH(load_npy(write("bad.npy", v1("{'descr': '<f8', 'shape': [3], }", data))), Contains("malformed header"));
  CHECK_THROWS_WITH(load_npy((dir / "missing.npy").string()), Contains("load_npy: cannot open"));
  std::string v9 = v1("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", data);
  v9[6] = 9;
  CHECK_THROWS_WITH(load_npy(write("v9.npy", v9)), Contains("unsupported format version 9.0"));
  std::filesystem::remove_all(dir);
}

// Elementwise ops, converts and reductions split over threads (core/parallel.hpp) once a
// tensor is large enough: every thread count gives the single-thread values, checked
// against loops written here (exact, or to the float32 rounding of a double sum).
TEST_CASE("large elementwise ops and reductions are split over threads correctly", "[ops][parallel]") {
  const int saved = get_num_threads();
  const Shape shape{64, 33, 40};  // 84480 elements: several threads' worth
  std::vector<float> xv(detail::shape_size(shape)), bv(33);
  for (size_t i = 0; i < xv.size(); ++i) xv[i] = static_cast<float>(std::sin(0.37 * i) * 3.0);
  for (size_t i = 0; i < bv.size(); ++i) bv[i] = static_cast<float>(0.5 * i - 7);
  Tensor x = asarray<float>(xv.data(), shape), b = asarray<float>(bv.data(), {33, 1});
  auto at = [&](int64_t i, int64_t j, int64_t k) { return xv[(i * 33 + j) * 40 + k]; };
  for (int threads : {1, 2, 3}) {
    set_num_threads(threads);
    INFO("threads " << threads);
    // Broadcast add, exp, where, astype: exact.
    const std::vector<float> sum_b = to_vector<float>(x + b), ex = to_vector<float>(exp(x));
    const std::vector<float> clipped = to_vector<float>(where(x > 0.0, x, zeros_like(x)));
    const std::vector<double> wide = to_vector<double>(astype(x, DType::float64));
    int64_t bad = 0;
    for (int64_t i = 0; i < 64; ++i)
      for (int64_t j = 0; j < 33; ++j)
        for (int64_t k = 0; k < 40; ++k) {
          const size_t e = static_cast<size_t>((i * 33 + j) * 40 + k);
          bad += sum_b[e] != at(i, j, k) + bv[j];
          bad += ex[e] != std::exp(at(i, j, k));
          bad += clipped[e] != (at(i, j, k) > 0 ? at(i, j, k) : 0.0f);
          bad += wide[e] != static_cast<double>(at(i, j, k));
        }
    CHECK(bad == 0);
    // Reductions with the outermost axis kept (disjoint bands) and reduced (partial sums).
    const std::vector<float> s_kept = to_vector<float>(sum(x, {1, 2})), s_red = to_vector<float>(sum(x, {0, 2}));
    const std::vector<float> m_red = to_vector<float>(max(x, {0})), m_all = to_vector<float>(max(x));
    for (int64_t i = 0; i < 64; ++i) {
      double ref = 0;
      for (int64_t j = 0; j < 33; ++j)
        for (int64_t k = 0; k < 40; ++k) ref += at(i, j, k);
      CHECK(s_kept[i] == Approx(ref).epsilon(1e-6).margin(1e-4));
    }
    for (int64_t j = 0; j < 33; ++j) {
      double ref = 0;
      for (int64_t i = 0; i < 64; ++i)
        for (int64_t k = 0; k < 40; ++k) ref += at(i, j, k);
      CHECK(s_red[j] == Approx(ref).epsilon(1e-6).margin(1e-4));
    }
    float all = -INFINITY;
    for (int64_t j = 0; j < 33; ++j)
      for (int64_t k = 0; k < 40; ++k) {
        float ref = -INFINITY;
        for (int64_t i = 0; i < 64; ++i) ref = std::max(ref, at(i, j, k));
        bad += m_red[j * 40 + k] != ref;
        all = std::max(all, ref);
      }
    CHECK(bad == 0);
    CHECK(m_all[0] == all);
    // max's gradient (one fused pass, ties share): the cotangent 1 / ties at each maximum
    // of x[:, j, k] over i, with ties made on purpose at j = 0.
    std::vector<float> xtv = xv;
    for (int64_t i = 0; i < 3; ++i)
      for (int64_t k = 0; k < 40; ++k) xtv[(i * 33 + 0) * 40 + k] = 10.0f;
    Tensor xt = asarray<float>(xtv.data(), shape);
    const std::vector<float> g = to_vector<float>(
        grad([](const std::vector<Tensor>& a) { return sum(max(a[0], {0})); })({xt})[0]);
    for (int64_t j = 0; j < 33; ++j)
      for (int64_t k = 0; k < 40; ++k) {
        float ref = -INFINITY;
        int ties = 0;
        for (int64_t i = 0; i < 64; ++i) ref = std::max(ref, xtv[(i * 33 + j) * 40 + k]);
        for (int64_t i = 0; i < 64; ++i) ties += xtv[(i * 33 + j) * 40 + k] == ref;
        for (int64_t i = 0; i < 64; ++i) {
          const float v = xtv[(i * 33 + j) * 40 + k];
          bad += g[(i * 33 + j) * 40 + k] != (v == ref ? 1.0f / ties : 0.0f);
        }
      }
    CHECK(bad == 0);
  }
  set_num_threads(saved);
}
