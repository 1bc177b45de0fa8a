// Gradients of conv_general_dilated on a grid like JAX's own (docs/conv_semantics.md §6):
// the exact adjoint identity <conv(x, w), g> = <x, dX> = <w, dW> on every configuration of a
// seeded random grid, order-2 check_grads on a seeded sample, the worked examples of §2.4,
// the 0-D matrix product and the error table of §1.3.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <sstream>
#include <xlax/xlax.hpp>

using namespace xlax;

namespace {

Tensor random_tensor(const Shape& s, std::mt19937_64& rng, DType dtype = DType::float64) {
  std::normal_distribution<double> dist;
  int64_t n = 1;
  for (auto d : s) n *= d;
  std::vector<double> v(n);
  for (auto& x : v) x = dist(rng);
  return astype(asarray<double>(v.data(), s), dtype);
}

double dot(const Tensor& a, const Tensor& b) { return sum(a * b).item<double>(); }

struct ConvConfig {
  Shape lhs, rhs;
  std::vector<int64_t> strides, lhs_dilation, rhs_dilation;
  std::vector<std::pair<int64_t, int64_t>> padding;
  lax::DimensionNumbers dn;
  int64_t G = 1, B = 1;
  std::string describe;

  Tensor apply(const Tensor& x, const Tensor& w) const {
    return lax::conv_general_dilated(x, w, strides, lax::Padding(padding), lhs_dilation, rhs_dilation, dn, G, B);
  }
};

// Layout strings for n spatial dims; four layouts like JAX's tests plus an odd one.
lax::DimensionNumbers layout(int which, int n, std::string& name) {
  const std::string sp = std::string("HWD").substr(0, n);
  std::string rev_sp(sp.rbegin(), sp.rend());
  switch (which) {
    case 0: name = "NC" + sp + "/OI" + sp + "/NC" + sp; return lax::DimensionNumbers("NC" + sp, "OI" + sp, "NC" + sp);
    case 1: name = "N" + sp + "C/" + sp + "IO/N" + sp + "C"; return lax::DimensionNumbers("N" + sp + "C", sp + "IO", "N" + sp + "C");
    case 2: name = "N" + sp + "C/OI" + sp + "/NC" + sp; return lax::DimensionNumbers("N" + sp + "C", "OI" + sp, "NC" + sp);
    case 3: name = sp + "CN/" + sp + "IO/" + sp + "CN"; return lax::DimensionNumbers(sp + "CN", sp + "IO", sp + "CN");
    default: name = "C" + rev_sp + "N/O" + rev_sp + "I/N" + sp + "C"; return lax::DimensionNumbers("C" + rev_sp + "N", "O" + rev_sp + "I", "N" + sp + "C");
  }
}

// Places canonical sizes (N, C, spatial...) into the array order of a layout string.
Shape place(const std::string& s, char a, int64_t va, char b, int64_t vb, const std::string& spatial_order,
            const std::vector<int64_t>& spatial) {
  Shape out;
  for (char c : s) {
    if (c == a) out.push_back(va);
    else if (c == b) out.push_back(vb);
    else out.push_back(spatial[spatial_order.find(c)]);
  }
  return out;
}

ConvConfig random_config(std::mt19937_64& rng, int n) {
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  ConvConfig c;
  std::string lname;
  const int which = pick(0, 4);
  c.dn = layout(which, n, lname);
  const int groups = pick(0, 2);  // 0: none, 1: feature groups, 2: batch groups
  c.G = groups == 1 ? pick(2, 3) : 1;
  c.B = groups == 2 ? pick(2, 3) : 1;
  const int64_t I = pick(1, 2), Nb = pick(1, 2), Og = pick(1, 2);
  const int64_t N = Nb * c.B, C = I * c.G, O = Og * c.G * c.B;
  std::vector<int64_t> S(n), K(n);
  for (int i = 0; i < n; ++i) {
    K[i] = pick(1, 3);
    S[i] = pick(n == 3 ? 2 : 3, n == 3 ? 5 : 7);
    c.strides.push_back(pick(1, 3));
    c.lhs_dilation.push_back(pick(1, 3));
    c.rhs_dilation.push_back(pick(1, 3));
    const int64_t X = (S[i] - 1) * c.lhs_dilation[i] + 1, Kd = (K[i] - 1) * c.rhs_dilation[i] + 1;
    int64_t lo = pick(-2, 3), hi = pick(-2, 3);
    // keep at least one window placement so the case is not trivially empty
    while (X + lo + hi < Kd) ++hi;
    c.padding.push_back({lo, hi});
  }
  const std::string sp = std::string("HWD").substr(0, n);
  const auto& d = c.dn;
  c.lhs = place(d.lhs, 'N', N, 'C', C, sp, S);
  c.rhs = place(d.rhs, 'O', O, 'I', I, sp, K);
  std::ostringstream os;
  os << lname << " lhs " << to_string(c.lhs) << " rhs " << to_string(c.rhs) << " strides " << to_string(c.strides)
     << " ld " << to_string(c.lhs_dilation) << " rd " << to_string(c.rhs_dilation) << " pad";
  for (auto& p : c.padding) os << " (" << p.first << "," << p.second << ")";
  os << " G=" << c.G << " B=" << c.B;
  c.describe = os.str();
  return c;
}

}  // namespace

TEST_CASE("adjoint identity <conv(x,w),g> = <x,dX> = <w,dW> on a seeded grid", "[conv][grad]") {
  std::mt19937_64 rng(20261125);
  int tested = 0;
  for (int trial = 0; trial < 240; ++trial) {
    const int n = 1 + trial % 3;
    ConvConfig c = random_config(rng, n);
    INFO(c.describe);
    Tensor x = random_tensor(c.lhs, rng), w = random_tensor(c.rhs, rng);
    Tensor y = c.apply(x, w);
    Tensor g = random_tensor(y.shape(), rng);
    Fn f = [&](const std::vector<Tensor>& a) { return std::vector<Tensor>{c.apply(a[0], a[1])}; };
    auto [outs, cots] = vjp(f, {x, w}, {g});
    const double forward = dot(y, g);
    const double via_x = dot(x, cots[0]);
    const double via_w = dot(w, cots[1]);
    const double scale = 1e-12 * (1 + std::abs(forward)) * 100;
    CHECK(std::abs(forward - via_x) <= scale);
    CHECK(std::abs(forward - via_w) <= scale);
    ++tested;
  }
  CHECK(tested == 240);
}

TEST_CASE("check_grads order 2 on a seeded sample of the grid", "[conv][grad]") {
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 24; ++trial) {
    const int n = 1 + trial % 3;
    ConvConfig c = random_config(rng, n);
    INFO(c.describe);
    Tensor x = random_tensor(c.lhs, rng), w = random_tensor(c.rhs, rng);
    ScalarFn f = [&](const std::vector<Tensor>& a) { return sum(square(c.apply(a[0], a[1])) * 0.5 + c.apply(a[0], a[1])); };
    CHECK_NOTHROW(check_grads(f, {x, w}, 2, 1e-5, 1e-5, 1e-4));
  }
}

TEST_CASE("check_grads order 2 on JAX testConvGeneralDilatedGrad-style cases incl. empty spatial dims", "[conv][grad]") {
  std::mt19937_64 rng(11);
  struct Case { Shape lhs, rhs; std::vector<int64_t> strides; std::vector<std::pair<int64_t, int64_t>> pad; std::vector<int64_t> ld, rd; int64_t G, B; };
  std::vector<Case> cases = {
      {{2, 4, 6, 7}, {4, 2, 1, 2}, {1, 2}, {{1, 0}, {0, 1}}, {2, 1}, {2, 2}, 2, 1},
      {{4, 2, 6, 7}, {4, 2, 1, 2}, {2, 1}, {{0, -1}, {0, 0}}, {1, 1}, {1, 1}, 1, 2},
      {{2, 2, 0, 4}, {2, 2, 1, 2}, {1, 1}, {{1, 0}, {0, 1}}, {1, 1}, {2, 2}, 1, 1},
      {{1, 1, 9, 0}, {1, 1, 4, 5}, {1, 1}, {{10, 8}, {7, 13}}, {1, 1}, {1, 1}, 1, 1},
  };
  for (auto& c : cases) {
    Tensor x = random_tensor(c.lhs, rng), w = random_tensor(c.rhs, rng);
    ScalarFn f = [&](const std::vector<Tensor>& a) {
      Tensor y = lax::conv_general_dilated(a[0], a[1], c.strides, lax::Padding(c.pad), c.ld, c.rd, {}, c.G, c.B);
      return sum(y * y + y);
    };
    CHECK_NOTHROW(check_grads(f, {x, w}, 2, 1e-5, 1e-5, 1e-4));
  }
}

TEST_CASE("worked 1-D examples of the spec", "[conv]") {
  auto v = [](std::vector<double> d) { return asarray<double>(d.data(), {1, 1, static_cast<int64_t>(d.size())}); };
  Tensor x = v({1, 2, 3, 4, 5});
  auto run = [&](std::vector<double> w, std::vector<int64_t> s, lax::Padding p, std::vector<int64_t> ld = {},
                 std::vector<int64_t> rd = {}) {
    return to_vector<double>(lax::conv_general_dilated(x, v(w), s, p, ld, rd));
  };
  CHECK(run({1, 0, -1}, {1}, "VALID") == std::vector<double>{-2, -2, -2});
  CHECK(run({1, 0, -1}, {1}, {{1, 1}}) == std::vector<double>{-2, -2, -2, -2, 4});
  CHECK(run({1, 0, -1}, {2}, "SAME") == std::vector<double>{-2, -2, 4});
  CHECK(run({1, 0, -1}, {1}, {{-1, 0}}) == std::vector<double>{-2, -2});
  CHECK(run({1, 0, -1}, {1}, {{-1, -1}}) == std::vector<double>{-2});
  CHECK(run({1, 0, -1}, {1}, "VALID", {}, {2}) == std::vector<double>{-4});
  CHECK(run({1, 2, 3}, {1}, {{0, 0}}, {2}) == std::vector<double>{7, 4, 11, 6, 15, 8, 19});
  CHECK(run({1, 2, 3}, {1}, {{2, 2}}, {2}) == std::vector<double>{3, 2, 7, 4, 11, 6, 15, 8, 19, 10, 5});
  CHECK(run({1, 2, 3}, {2}, {{1, 1}}, {2}) == std::vector<double>{2, 4, 6, 8, 10});

  // §2.4: X = [1..6], W = [1,2,3], stride 2, VALID, g = [1, 10]
  Tensor X = v({1, 2, 3, 4, 5, 6}), W = v({1, 2, 3});
  Fn f = [](const std::vector<Tensor>& a) { return std::vector<Tensor>{lax::conv_general_dilated(a[0], a[1], {2}, "VALID")}; };
  auto [outs, grads] = vjp(f, {X, W}, {v({1, 10})});
  CHECK(to_vector<double>(outs[0]) == std::vector<double>{14, 26});
  CHECK(to_vector<double>(grads[0]) == std::vector<double>{1, 2, 13, 20, 30, 0});
  CHECK(to_vector<double>(grads[1]) == std::vector<double>{31, 42, 53});
}

TEST_CASE("a 0-D convolution is a matrix product, and its gradients are JAX's testGradConv0D", "[conv]") {
  std::mt19937_64 rng(3);
  Tensor a = random_tensor({10, 5}, rng), b = random_tensor({5, 7}, rng);
  Tensor y = lax::conv_general_dilated(a, b, {}, "VALID", {}, {}, lax::DimensionNumbers("NC", "IO", "NC"));
  REQUIRE(y.shape() == Shape{10, 7});
  auto av = to_vector<double>(a), bv = to_vector<double>(b), yv = to_vector<double>(y);
  for (int i = 0; i < 10; ++i)
    for (int j = 0; j < 7; ++j) {
      double s = 0;
      for (int k = 0; k < 5; ++k) s += av[i * 5 + k] * bv[k * 7 + j];
      CHECK(yv[i * 7 + j] == Approx(s).epsilon(1e-12));
    }
  Fn f = [](const std::vector<Tensor>& v) {
    return std::vector<Tensor>{lax::conv_general_dilated(v[0], v[1], {}, std::vector<std::pair<int64_t, int64_t>>{}, {}, {},
                                                         lax::ConvDimensionNumbers{{0, 1}, {1, 0}, {0, 1}})};
  };
  auto [outs, grads] = vjp(f, {ones({2, 5}, DType::float64), ones({5, 10}, DType::float64)}, {ones({2, 10}, DType::float64)});
  for (double g : to_vector<double>(grads[0])) CHECK(g == 10);
  for (double g : to_vector<double>(grads[1])) CHECK(g == 2);
}

TEST_CASE("conv_dimension_numbers resolves strings as JAX and prints like it", "[conv]") {
  Shape l4 = {1, 2, 3, 4};
  std::ostringstream os;
  os << lax::conv_dimension_numbers(l4, l4, {"NHWC", "HWIO", "NHWC"});
  CHECK(os.str() == "ConvDimensionNumbers(lhs_spec=(0, 3, 1, 2), rhs_spec=(3, 2, 0, 1), out_spec=(0, 3, 1, 2))");
  CHECK(lax::conv_dimension_numbers(l4, l4, {}) == lax::ConvDimensionNumbers{{0, 1, 2, 3}, {0, 1, 2, 3}, {0, 1, 2, 3}});
  CHECK(lax::conv_dimension_numbers(l4, l4, {"HWCN", "HWIO", "HWCN"}) == lax::ConvDimensionNumbers{{3, 2, 0, 1}, {3, 2, 0, 1}, {3, 2, 0, 1}});
  CHECK(lax::conv_dimension_numbers(l4, l4, {"NCHW", "OIWH", "NCHW"}) == lax::ConvDimensionNumbers{{0, 1, 3, 2}, {0, 1, 2, 3}, {0, 1, 3, 2}});
  CHECK(lax::conv_dimension_numbers(l4, l4, {"NHWC", "WHIO", "NWHC"}) == lax::ConvDimensionNumbers{{0, 3, 2, 1}, {3, 2, 0, 1}, {0, 3, 1, 2}});
  Shape l3 = {1, 2, 3};
  CHECK(lax::conv_dimension_numbers(l3, l3, {"NWC", "WIO", "NWC"}) == lax::ConvDimensionNumbers{{0, 2, 1}, {2, 1, 0}, {0, 2, 1}});
  // worked shape example of §1.2
  Tensor y = lax::conv_general_dilated(zeros({2, 9, 10, 3}), zeros({5, 4, 3, 8}), {1, 2}, "VALID", {}, {}, {"NHWC", "WHIO", "NWHC"});
  CHECK(y.shape() == Shape{2, 6, 3, 8});
}

TEST_CASE("conv_general_dilated rejects bad arguments with clear messages", "[conv][errors]") {
  using Catch::Matchers::Contains;
  Tensor x = zeros({2, 4, 5, 5}), w = zeros({6, 2, 3, 3});
  CHECK_THROWS_WITH(lax::conv_general_dilated(x, w, {1, 1}, "VALID", {}, {}, {}, 3),
                    Contains("conv_general_dilated: feature_group_count=3 must divide the lhs feature dimension (C=4)"));
  CHECK_THROWS_WITH(lax::conv_general_dilated(zeros({1, 1, 1}), zeros({1, 1, 1, 1}), {1}, "VALID"), Contains("rank"));
  CHECK_THROWS_WITH(lax::conv(zeros({1, 1, 3, 3}), zeros({1, 1, 1, 1}), {1}, "SAME"), Contains("window_strides"));
  CHECK_THROWS_WITH(lax::conv_general_dilated(x, w, {1, 0}, "VALID", {}, {}, {}, 2), Contains("window_strides entries must be > 0"));
  CHECK_THROWS_WITH(lax::conv_general_dilated(x, w, {1, 1}, "SAMEISH", {}, {}, {}, 2), Contains("not recognised"));
  CHECK_THROWS_WITH(lax::conv_general_dilated(x, w, {1, 1}, "VALID", {2, 1}, {}, {}, 2), Contains("string padding"));
  CHECK_THROWS_WITH(lax::conv_general_dilated(x, w, {1, 1}, {{1, 1}}, {}, {}, {}, 2), Contains("padding has 1"));
  CHECK_THROWS_WITH(lax::conv_general_dilated(x, w, {1, 1}, "VALID", {1}, {}, {}, 2), Contains("lhs_dilation has 1"));
  CHECK_THROWS_WITH(lax::conv_general_dilated(x, w, {1, 1}, "VALID", {}, {0, 1}, {}, 2), Contains("rhs_dilation entries must be > 0"));
  CHECK_THROWS_WITH(lax::conv_general_dilated(x, astype(w, DType::float64), {1, 1}, "VALID", {}, {}, {}, 2), Contains("dtype"));
  CHECK_THROWS_WITH(lax::conv_general_dilated(x, w, {1, 1}, "VALID", {}, {}, {"NCHW", "OIHW", "NCHX"}, 2), Contains("spatial letters"));
  CHECK_THROWS_WITH(lax::conv_general_dilated(x, w, {1, 1}, "VALID", {}, {}, {"NCHW", "OIHWW", "NCHW"}, 2), Contains("length"));
  CHECK_THROWS_WITH(lax::conv_general_dilated(x, w, {1, 1}, "VALID", {}, {}, {"NCHH", "OIHW", "NCHW"}, 2), Contains("repeats"));
  CHECK_THROWS_WITH(lax::conv_general_dilated(x, w, {1, 1}, "VALID", {}, {}, lax::ConvDimensionNumbers{{0, 1, 2, 2}, {0, 1, 2, 3}, {0, 1, 2, 3}}, 2),
                    Contains("permutation"));
  CHECK_THROWS_AS(lax::conv_transpose(zeros({1, 2, 2, 2, 2, 2}), zeros({1, 2, 2, 2, 2, 2}), {1, 1, 1, 1}, "SAME"), Error);
  CHECK_THROWS_AS(lax::conv_transpose(zeros({1, 5, 2}), zeros({3, 2, 2}), {2}, "SAME_LOWER", {}, {}, false, true), Error);
  CHECK_THROWS_AS(numpy::convolve(zeros({2, 2}), zeros({2})), Error);
  CHECK_THROWS_AS(numpy::convolve(zeros({0}), zeros({2})), Error);
  CHECK_THROWS_AS(numpy::convolve(zeros({3}), zeros({2}), "middle"), Error);
  CHECK_THROWS_AS(scipy::signal::convolve(zeros({1, 5}), zeros({3, 2})), Error);
  CHECK_THROWS_AS(scipy::signal::convolve2d(zeros({3, 3}), zeros({2, 2}), "same", "reflect"), Error);
}

TEST_CASE("NumPy and SciPy wrappers: the spec's examples", "[conv][signal]") {
  auto v = [](std::vector<double> d) { return asarray<double>(d.data(), {static_cast<int64_t>(d.size())}); };
  CHECK(to_vector<double>(numpy::convolve(v({1, 2, 3, 4}), v({1, 1, 1}))) == std::vector<double>{1, 3, 6, 9, 7, 4});
  CHECK(to_vector<double>(numpy::convolve(v({1, 2, 3, 4}), v({1, 1, 1}), "same")) == std::vector<double>{3, 6, 9, 7});
  CHECK(to_vector<double>(numpy::convolve(v({1, 2, 3, 4}), v({1, 1, 1}), "valid")) == std::vector<double>{6, 9});
  CHECK(to_vector<double>(numpy::correlate(v({1, 2, 3, 4}), v({1, 0, 2}), "full")) == std::vector<double>{2, 4, 7, 10, 3, 4});
  CHECK(to_vector<double>(numpy::correlate(v({1, 2, 3, 4}), v({1, 0, 2}), "same")) == std::vector<double>{4, 7, 10, 3});
  CHECK(to_vector<double>(numpy::correlate(v({1, 2, 3, 4}), v({1, 0, 2}))) == std::vector<double>{7, 10});
  CHECK(to_vector<double>(numpy::correlate(v({1, 2, 3}), v({1, 2, 3, 4, 5}), "full")) == std::vector<double>{5, 14, 26, 20, 14, 8, 3});
  CHECK(to_vector<double>(numpy::correlate(v({1, 2, 3}), v({1, 2, 3, 4, 5}), "same")) == std::vector<double>{14, 26, 20, 14, 8});
  CHECK(to_vector<double>(numpy::correlate(v({1, 2, 3}), v({1, 2, 3, 4, 5}), "valid")) == std::vector<double>{26, 20, 14});
  CHECK(to_vector<double>(numpy::convolve(v({1, 2, 3}), v({1, 2, 3, 4, 5}), "same")) == std::vector<double>{4, 10, 16, 22, 22});
  CHECK(to_vector<double>(scipy::signal::convolve(v({1, 2, 3}), v({1, 2, 3, 4, 5}), "same")) == std::vector<double>{10, 16, 22});
  // §5.3: correlate2d 'same' is centred differently from correlate 'same'
  std::vector<double> xd = {1, 2, 0, 0, 1, 3, 2, 0, 1}, kd = {1, 2, 3, 4};
  Tensor x = asarray<double>(xd.data(), {3, 3}), k = asarray<double>(kd.data(), {2, 2});
  CHECK(to_vector<double>(scipy::signal::correlate2d(x, k, "same")) == std::vector<double>{9, 17, 9, 8, 11, 6, 2, 2, 1});
  CHECK(to_vector<double>(scipy::signal::correlate(x, k, "same")) == std::vector<double>{4, 11, 6, 2, 9, 17, 8, 8, 11});
}

TEST_CASE("check_grads order 2 through conv_transpose and the wrappers", "[conv][grad]") {
  std::mt19937_64 rng(5);
  Tensor x = random_tensor({2, 5, 6, 2}, rng), w = random_tensor({3, 3, 3, 2}, rng);
  for (bool tk : {false, true}) {
    ScalarFn f = [&](const std::vector<Tensor>& a) {
      const Tensor& kernel = a[1];
      Tensor y = lax::conv_transpose(a[0], tk ? transpose(kernel, {0, 1, 3, 2}) : kernel, {2, 1}, "SAME", {1, 2}, {}, tk);
      return sum(y * y);
    };
    CHECK_NOTHROW(check_grads(f, {x, transpose(w, {0, 1, 3, 2})}, 2, 1e-5, 1e-5, 1e-4));
  }
  Tensor a = random_tensor({7}, rng), b = random_tensor({4}, rng);
  ScalarFn np = [](const std::vector<Tensor>& v) {
    return sum(square(numpy::convolve(v[0], v[1], "same"))) + sum(numpy::correlate(v[1], v[0], "full"));
  };
  CHECK_NOTHROW(check_grads(np, {a, b}, 2, 1e-5, 1e-5, 1e-4));
  Tensor p = random_tensor({5, 4}, rng), q = random_tensor({3, 2}, rng);
  for (std::string boundary : {"fill", "wrap", "symm"}) {
    INFO(boundary);
    ScalarFn sp = [&](const std::vector<Tensor>& v) {
      return sum(square(scipy::signal::convolve2d(v[0], v[1], "full", boundary, 0.5))) +
             sum(scipy::signal::correlate2d(v[0], v[1], "same", boundary));
    };
    CHECK_NOTHROW(check_grads(sp, {p, q}, 2, 1e-5, 1e-5, 1e-4));
  }
}
