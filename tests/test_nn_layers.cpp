// nn layers (values and float64 gradients), initializers, losses, optimizers against hand
// computation, schedules.
#include <catch2/catch.hpp>

#include <zlib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <xlax/xlax.hpp>

using namespace xlax;
using namespace xlax::nn;
using Catch::Matchers::Contains;
#include "nn_test_util.hpp"

using namespace nn_test;

namespace {


// Naive channels-last 2-D conv: x (N,H,W,C), w (KH,KW,C/G,O), explicit pads on the
// lhs-dilated input. The reference every Conv/ConvTranspose value test compares with.
std::vector<double> naive_conv2d(const std::vector<double>& x, Shape xs, const std::vector<double>& w, Shape ws,
                                 Shape strides, std::vector<std::pair<int64_t, int64_t>> pads, Shape ld, Shape rd,
                                 int64_t groups, Shape& out_shape) {
  const int64_t N = xs[0], H = xs[1], W = xs[2], C = xs[3], KH = ws[0], KW = ws[1], CG = ws[2], O = ws[3];
  const int64_t HD = (H - 1) * ld[0] + 1, WD = (W - 1) * ld[1] + 1;
  const int64_t OH = (HD + pads[0].first + pads[0].second - ((KH - 1) * rd[0] + 1)) / strides[0] + 1;
  const int64_t OW = (WD + pads[1].first + pads[1].second - ((KW - 1) * rd[1] + 1)) / strides[1] + 1;
  out_shape = {N, OH, OW, O};
  std::vector<double> out(N * OH * OW * O, 0.0);
  const int64_t OG = O / groups;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow)
        for (int64_t o = 0; o < O; ++o) {
          double acc = 0;
          const int64_t g = o / OG;
          for (int64_t kh = 0; kh < KH; ++kh)
            for (int64_t kw = 0; kw < KW; ++kw) {
              const int64_t hd = oh * strides[0] + kh * rd[0] - pads[0].first;
              const int64_t wd = ow * strides[1] + kw * rd[1] - pads[1].first;
              if (hd < 0 || wd < 0 || hd >= HD || wd >= WD || hd % ld[0] || wd % ld[1]) continue;
              const int64_t h = hd / ld[0], wi = wd / ld[1];
              for (int64_t c = 0; c < CG; ++c)
                acc += x[((n * H + h) * W + wi) * C + g * CG + c] * w[((kh * KW + kw) * CG + c) * O + o];
            }
          out[((n * OH + oh) * OW + ow) * O + o] = acc;
        }
  return out;
}

void require_close(const std::vector<double>& a, const std::vector<double>& b, double tol = 1e-10) {
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) REQUIRE(a[i] == Approx(b[i]).margin(tol));
}

// check_grads of a layer with respect to its input and every parameter.
void check_layer_grads(const LayerPtr& layer, const Tensor& x, bool train = false) {
  auto p = layer->init(random::key(3), x.shape(), DType::float64);
  for (auto& t : p) t = t + 0.1 * rnd(t.shape(), 99);  // a generic point (biases not all zero)
  std::vector<Tensor> args{x};
  args.insert(args.end(), p.begin(), p.end());
  Fn f = [&](const std::vector<Tensor>& a) {
    Context ctx;
    ctx.train = train;
    ctx.key = random::key(5);
    return std::vector<Tensor>{layer->apply(std::vector<Tensor>(a.begin() + 1, a.end()), a[0], ctx)};
  };
  check_grads(f, args, 1, 1e-6, 1e-5, 1e-6);
}

}  // namespace

TEST_CASE("Conv 2-D matches a naive conv: strides, padding modes, dilations, groups", "[nn][layers]") {
  struct Case {
    Shape x, kernel, strides, ld, rd;
    PaddingSpec pad;
    int64_t features, groups;
  };
  std::vector<Case> cases = {
      {{2, 5, 6, 3}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, "SAME", 4, 1},
      {{1, 7, 5, 2}, {3, 2}, {2, 1}, {1, 1}, {1, 1}, "VALID", 3, 1},
      {{1, 6, 6, 4}, {3, 3}, {2, 2}, {1, 1}, {2, 1}, "SAME_LOWER", 4, 2},
      {{1, 4, 5, 4}, {2, 2}, {1, 1}, {2, 2}, {1, 1}, PaddingSpec({{1, 0}, {2, 1}}), 4, 4},  // depthwise + lhs dilation
      {{1, 4, 4, 2}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, PaddingSpec({{-1, 2}}), 2, 1},        // one pair for all dims, crop
  };
  for (size_t ci = 0; ci < cases.size(); ++ci) {
    const Case& c = cases[ci];
    INFO("case " << ci);
    ConvOptions o;
    o.features = c.features;
    o.kernel_size = c.kernel;
    o.strides = c.strides;
    o.padding = c.pad;
    o.input_dilation = c.ld;
    o.kernel_dilation = c.rd;
    o.feature_group_count = c.groups;
    LayerPtr conv = Conv(o);
    Tensor x = rnd(c.x, ci);
    auto p = conv->init(random::key(ci), c.x, DType::float64);
    REQUIRE(p.size() == 2);
    REQUIRE(p[0].shape() == Shape{c.kernel[0], c.kernel[1], c.x[3] / c.groups, c.features});
    p[1] = rnd({c.features}, 50 + ci);
    // Expected pads: SAME rules on the dilated input, or the pairs given.
    std::vector<std::pair<int64_t, int64_t>> pads;
    for (int d = 0; d < 2; ++d) {
      const int64_t in = (c.x[d + 1] - 1) * c.ld[d] + 1, k = (c.kernel[d] - 1) * c.rd[d] + 1, s = c.strides[d];
      if (!c.pad.is_string()) {
        pads.push_back(c.pad.pairs().size() == 1 ? c.pad.pairs()[0] : c.pad.pairs()[d]);
      } else if (c.pad.mode() == "VALID") {
        pads.push_back({0, 0});
      } else {
        const int64_t total = std::max<int64_t>(((in + s - 1) / s - 1) * s + k - in, 0);
        pads.push_back(c.pad.mode() == "SAME" ? std::make_pair(total / 2, total - total / 2)
                                              : std::make_pair(total - total / 2, total / 2));
      }
    }
    Shape out_shape;
    auto expected = naive_conv2d(vals(x), c.x, vals(p[0]), p[0].shape(), c.strides, pads, c.ld, c.rd, c.groups, out_shape);
    auto bias = vals(p[1]);
    for (size_t i = 0; i < expected.size(); ++i) expected[i] += bias[i % c.features];
    Tensor y = apply(conv, p, x);
    REQUIRE(y.shape() == out_shape);
    REQUIRE(conv->output_shape(c.x) == out_shape);
    require_close(vals(y), expected);
  }
}

TEST_CASE("Conv 1-D and 3-D agree with the 2-D layer on embedded shapes", "[nn][layers]") {
  Tensor x1 = rnd({2, 9, 3}, 1);
  ConvOptions o1;
  o1.features = 2;
  o1.kernel_size = {3};
  o1.strides = {2};
  o1.kernel_dilation = {2};
  LayerPtr c1 = Conv(o1);
  auto p1 = c1->init(random::key(1), x1.shape(), DType::float64);
  ConvOptions o2 = o1;
  o2.kernel_size = {1, 3};
  o2.strides = {1, 2};
  o2.kernel_dilation = {1, 2};
  LayerPtr c2 = Conv(o2);
  Tensor y1 = apply(c1, p1, x1);
  Tensor y2 = apply(c2, {reshape(p1[0], {1, 3, 3, 2}), p1[1]}, reshape(x1, {2, 1, 9, 3}));
  REQUIRE(y1.shape() == Shape{2, 5, 2});
  require_close(vals(y1), vals(y2));

  ConvOptions o3;
  o3.features = 3;
  o3.kernel_size = {1, 2, 3};
  o3.padding = "VALID";
  LayerPtr c3 = Conv(o3);
  Tensor x3 = rnd({1, 1, 4, 5, 2}, 2);
  auto p3 = c3->init(random::key(2), x3.shape(), DType::float64);
  ConvOptions o2b = o3;
  o2b.kernel_size = {2, 3};
  Tensor y3 = apply(c3, p3, x3);
  Tensor y2b = apply(Conv(o2b), {reshape(p3[0], {2, 3, 2, 3}), p3[1]}, reshape(x3, {1, 4, 5, 2}));
  REQUIRE(y3.shape() == Shape{1, 1, 3, 3, 3});
  require_close(vals(y3), vals(y2b));
}

TEST_CASE("Conv gradients (float64 check_grads) in 1-, 2- and 3-D", "[nn][layers][grad]") {
  ConvOptions a;
  a.features = 3;
  a.kernel_size = {3};
  a.strides = {2};
  check_layer_grads(Conv(a), rnd({2, 7, 2}, 1));
  ConvOptions b;
  b.features = 4;
  b.kernel_size = {2, 3};
  b.kernel_dilation = {2, 1};
  b.input_dilation = {1, 2};
  b.feature_group_count = 2;
  b.padding = "SAME";
  check_layer_grads(Conv(b), rnd({1, 5, 4, 2}, 2));
  ConvOptions c;
  c.features = 2;
  c.kernel_size = {2, 2, 2};
  c.padding = "VALID";
  c.use_bias = false;
  check_layer_grads(Conv(c), rnd({1, 3, 3, 3, 1}, 3));
}

TEST_CASE("ConvTranspose: PyTorch's hand example, shapes that invert Conv, groups, gradients", "[nn][layers]") {
  // torch.nn.ConvTranspose1d(1, 1, 3, stride=2, bias=False) with weight [1, 10, 100] on
  // x = [1, 2] gives [1, 10, 102, 20, 200]; padding p there is d(K-1)-p = 2 here, flipped.
  ConvTransposeOptions o;
  o.features = 1;
  o.kernel_size = {3};
  o.strides = {2};
  o.padding = PaddingSpec({{2, 2}});
  o.transpose_kernel = true;
  o.use_bias = false;
  Tensor w = f64({1, 10, 100}, {3, 1, 1});
  Tensor x = f64({1, 2}, {1, 2, 1});
  CHECK(vals(apply(ConvTranspose(o), {w}, x)) == std::vector<double>{1, 10, 102, 20, 200});
  o.output_padding = {1};
  CHECK(vals(apply(ConvTranspose(o), {w}, x)) == std::vector<double>{1, 10, 102, 20, 200, 0});

  // Values against the naive conv on the stride-dilated input.
  ConvTransposeOptions t;
  t.features = 4;
  t.kernel_size = {4, 3};
  t.strides = {2, 3};
  t.padding = "SAME";
  t.feature_group_count = 2;
  LayerPtr ct = ConvTranspose(t);
  Tensor xt = rnd({1, 3, 2, 4}, 7);
  auto p = ct->init(random::key(4), xt.shape(), DType::float64);
  Tensor y = apply(ct, p, xt);
  REQUIRE(y.shape() == Shape{1, 6, 6, 4});  // SAME: in * stride
  // lax.conv_transpose SAME pads: k=4,s=2 -> (2, 2); k=3,s=3 -> s > k-1 -> (2, 2)
  Shape os;
  auto expected = naive_conv2d(vals(xt), xt.shape(), vals(p[0]), p[0].shape(), {1, 1}, {{2, 2}, {2, 2}}, {2, 3}, {1, 1}, 2, os);
  REQUIRE(os == y.shape());
  auto bias = vals(p[1]);
  for (size_t i = 0; i < expected.size(); ++i) expected[i] += bias[i % 4];
  require_close(vals(y), expected);

  // ConvTranspose undoes Conv's shape change: 28 -> 14 -> 7 -> 14 -> 28, and odd sizes
  // with output_padding (Conv k3 s2 pad 1: 7 -> 4; ConvTranspose torch p=1 -> pairs (1, 1+op)).
  ConvTransposeOptions up;
  up.features = 2;
  up.kernel_size = {4, 4};
  up.strides = {2, 2};
  CHECK(ConvTranspose(up)->output_shape({3, 7, 7, 5}) == Shape{3, 14, 14, 2});
  up.padding = "VALID";
  CHECK(ConvTranspose(up)->output_shape({3, 7, 7, 5}) == Shape{3, 16, 16, 2});
  ConvOptions down;
  down.features = 2;
  down.kernel_size = {3};
  down.strides = {2};
  down.padding = PaddingSpec({{1, 1}});
  CHECK(Conv(down)->output_shape({1, 7, 1}) == Shape{1, 4, 2});
  ConvTransposeOptions inv;
  inv.features = 1;
  inv.kernel_size = {3};
  inv.strides = {2};
  inv.padding = PaddingSpec({{1, 1}});
  CHECK(ConvTranspose(inv)->output_shape({1, 4, 2}) == Shape{1, 7, 1});
  inv.output_padding = {1};
  CHECK(ConvTranspose(inv)->output_shape({1, 4, 2}) == Shape{1, 8, 1});
  inv.output_padding = {2};
  CHECK_THROWS_WITH(ConvTranspose(inv), Contains("output_padding"));

  check_layer_grads(ct, xt);
  ConvTransposeOptions g3;
  g3.features = 2;
  g3.kernel_size = {2, 2, 2};
  g3.strides = {2, 1, 2};
  g3.kernel_dilation = {1, 2, 1};
  g3.transpose_kernel = true;
  check_layer_grads(ConvTranspose(g3), rnd({1, 2, 2, 2, 1}, 8));
}

TEST_CASE("Dense values and gradients", "[nn][layers]") {
  LayerPtr d = Dense(2);
  Tensor x = f64({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor k = f64({1, 0, 0, 1, 1, 1}, {3, 2});
  Tensor b = f64({10, 20}, {2});
  CHECK(vals(apply(d, {k, b}, x)) == std::vector<double>{14, 25, 20, 31});
  CHECK(d->output_shape({4, 5, 3}) == Shape{4, 5, 2});
  CHECK(apply(d, {k, b}, reshape(x, {1, 2, 3})).shape() == Shape{1, 2, 2});
  check_layer_grads(d, rnd({3, 4}, 1));
  check_layer_grads(Dense(3, false), rnd({2, 2, 4}, 2));
}

TEST_CASE("MaxPool and AvgPool: tiled, overlapping, padded, cropped; gradients", "[nn][layers]") {
  Tensor x = f64({1, 5, 2, 0, 3, 4, 8, 1, 7, 6, 2, 9, 0, 1, 3, 5}, {1, 4, 4, 1});
  CHECK(vals(apply(MaxPool({2, 2}), {}, x)) == std::vector<double>{5, 8, 7, 9});
  CHECK(vals(apply(AvgPool({2, 2}), {}, x)) == std::vector<double>{3.25, 2.75, 3.5, 4.75});
  // overlapping windows go through reduce_window
  CHECK(vals(apply(MaxPool({2, 2}, {1, 1}), {}, x)) == std::vector<double>{5, 8, 8, 7, 8, 9, 7, 6, 9});
  // SAME, window 3 stride 3 on 4 values pads (1, 1): max ignores the pad, avg counts it (as Flax)
  CHECK(vals(apply(MaxPool({3}, {3}, "SAME"), {}, f64({1, 2, 3, 4}, {1, 4, 1}))) == std::vector<double>{2, 4});
  CHECK(vals(apply(MaxPool({3}, {3}, "SAME"), {}, f64({-1, -2, -3, -4}, {1, 4, 1}))) == std::vector<double>{-1, -3});
  require_close(vals(apply(AvgPool({3}, {3}, "SAME"), {}, f64({1, 2, 3, 4}, {1, 4, 1}))), {1, 7.0 / 3});
  // VALID with a remainder: the last row/column is dropped
  CHECK(MaxPool({2, 2})->output_shape({1, 5, 5, 3}) == Shape{1, 2, 2, 3});
  CHECK(vals(apply(MaxPool({2}), {}, f64({1, 3, 2, 0, 9}, {1, 5, 1}))) == std::vector<double>{3, 2});
  CHECK(MaxPool({2, 2, 2})->output_shape({2, 4, 6, 8, 3}) == Shape{2, 2, 3, 4, 3});
  check_layer_grads(MaxPool({2, 2}), rnd({2, 4, 5, 3}, 1));
  check_layer_grads(MaxPool({3, 2}, {2, 1}), rnd({1, 5, 4, 2}, 2));
  check_layer_grads(AvgPool({2, 2, 2}), rnd({1, 4, 4, 2, 1}, 3));
  check_layer_grads(AvgPool({2}, {1}, "SAME"), rnd({2, 5, 2}, 4));
}

TEST_CASE("Flatten and Reshape keep the batch dimension", "[nn][layers]") {
  Tensor x = rnd({2, 3, 4, 5}, 1);
  CHECK(apply(Flatten(), {}, x).shape() == Shape{2, 60});
  CHECK(vals(apply(Flatten(), {}, x)) == vals(x));
  CHECK(apply(Reshape({-1, 10}), {}, x).shape() == Shape{2, 6, 10});
  CHECK_THROWS_WITH(Reshape({7})->output_shape({2, 3, 4}), Contains("Reshape: input shape (2, 3, 4)"));
  CHECK_THROWS_AS(Reshape({-1, -1}), Error);
}

TEST_CASE("activations: values and gradients", "[nn][layers]") {
  Tensor x = f64({-2, -0.5, 0.5, 3}, {1, 4});
  auto act = [&](const std::string& n) { return vals(apply(Activation(n, 0.1), {}, x)); };
  CHECK(act("relu") == std::vector<double>{0, 0, 0.5, 3});
  CHECK(act("leaky_relu") == std::vector<double>{-0.2, -0.05, 0.5, 3});
  const std::vector<double> xs{-2, -0.5, 0.5, 3};
  auto gelu = act("gelu"), th = act("tanh"), sg = act("sigmoid"), sm = act("softmax"), lsm = act("log_softmax");
  double z = 0;
  for (double v : xs) z += std::exp(v);
  for (int i = 0; i < 4; ++i) {
    const double v = xs[i];
    CHECK(gelu[i] == Approx(0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)))));
    CHECK(th[i] == Approx(std::tanh(v)));
    CHECK(sg[i] == Approx(1 / (1 + std::exp(-v))));
    CHECK(sm[i] == Approx(std::exp(v) / z));
    CHECK(lsm[i] == Approx(v - std::log(z)));
  }
  for (auto& n : activation_names()) {
    INFO(n);
    check_layer_grads(Activation(n, 0.1), rnd({2, 5}, 7));
  }
  CHECK_THROWS_WITH(Activation("swish"), Contains("unknown activation 'swish'"));
}

TEST_CASE("Dropout: identity in eval, inverted scaling and a keyed mask in training", "[nn][layers]") {
  LayerPtr d = Dropout(0.25);
  Tensor x = ones({100, 100}, DType::float64);
  CHECK(vals(apply(d, {}, x)) == vals(x));
  Context c1;
  c1.train = true;
  c1.key = random::key(1);
  auto y = vals(d->apply({}, x, c1));
  int64_t zeros_count = 0;
  for (double v : y) {
    REQUIRE((v == 0 || v == Approx(1 / 0.75)));
    zeros_count += v == 0;
  }
  CHECK(zeros_count > 2200);
  CHECK(zeros_count < 2800);
  CHECK(vals(d->apply({}, x, c1)) == y);  // same key, same mask
  Context c2 = c1;
  c2.key = random::key(2);
  CHECK(vals(d->apply({}, x, c2)) != y);
  check_layer_grads(d, rnd({3, 4}, 1), true);
  CHECK_THROWS_AS(Dropout(1.0), Error);
}

TEST_CASE("BatchNorm: batch statistics in training, running statistics in eval", "[nn][layers]") {
  LayerPtr bn = BatchNorm(0.9, 1e-5);
  Tensor x = f64({1, 10, 3, 20, 5, 30, 7, 40}, {4, 2});  // channel 0: 1,3,5,7; channel 1: 10..40
  auto p = bn->init(random::key(0), x.shape(), DType::float64);
  REQUIRE(p.size() == 4);
  std::map<std::string, Tensor> updates;
  Context ctx;
  ctx.train = true;
  ctx.scope = "2.";
  ctx.updates = &updates;
  auto y = vals(bn->apply(p, x, ctx));
  const double s0 = 1 / std::sqrt(5 + 1e-5), s1 = 1 / std::sqrt(125 + 1e-5);  // biased variances 5 and 125
  require_close(y, {-3 * s0, -15 * s1, -s0, -5 * s1, s0, 5 * s1, 3 * s0, 15 * s1}, 1e-9);
  REQUIRE(updates.count("2.mean"));
  require_close(vals(updates["2.mean"]), {0.1 * 4, 0.1 * 25});
  require_close(vals(updates["2.var"]), {0.9 + 0.1 * 5, 0.9 + 0.1 * 125});
  // eval: running statistics (mean 0, var 1 at init) -> x / sqrt(1 + eps)
  Context eval_ctx;
  require_close(vals(bn->apply(p, x, eval_ctx)), {1 / std::sqrt(1 + 1e-5), 10 / std::sqrt(1 + 1e-5), 3 / std::sqrt(1 + 1e-5),
                                                   20 / std::sqrt(1 + 1e-5), 5 / std::sqrt(1 + 1e-5), 30 / std::sqrt(1 + 1e-5),
                                                   7 / std::sqrt(1 + 1e-5), 40 / std::sqrt(1 + 1e-5)}, 1e-9);
  auto info = bn->param_info();
  CHECK((info[2].trainable == false && info[3].trainable == false && info[0].trainable));
  check_layer_grads(bn, rnd({3, 2, 3}, 4), true);
  check_layer_grads(bn, rnd({3, 3}, 5), false);
}

TEST_CASE("Sequential: parameter names, shape errors naming the layer and inferred shape", "[nn][layers]") {
  ConvOptions c;
  c.features = 4;
  c.kernel_size = {3, 3};
  Sequential model({Conv(c), Activation("relu"), MaxPool({2, 2}), Flatten(), Dense(3)});
  auto info = model.param_info();
  REQUIRE(info.size() == 4);
  CHECK(info[0].name == "0.kernel");
  CHECK(info[3].name == "4.bias");
  CHECK(model.output_shape({2, 8, 8, 1}) == Shape{2, 3});
  auto p = model.init(random::key(0), {2, 8, 8, 1});
  CHECK(p[2].shape() == Shape{64, 3});
  CHECK_THROWS_WITH(model.output_shape({2, 8, 8}),
                    Contains("layer 0 (Conv): with inferred input shape (2, 8, 8)") && Contains("expected rank 4"));
  Sequential bad({Flatten(), Conv(c)});
  CHECK_THROWS_WITH(bad.output_shape({2, 8, 8, 1}), Contains("layer 1 (Conv): with inferred input shape (2, 64)"));
  CHECK_THROWS_WITH(model.apply(p, rnd({2, 8, 8}, 1), *std::make_unique<Context>()), Contains("layer 0 (Conv)"));
}

TEST_CASE("initializers: scale, bounds, determinism", "[nn][init]") {
  const Shape s{200, 300};
  auto stddev = [](const std::vector<double>& v) {
    double m = 0, q = 0;
    for (double x : v) m += x;
    m /= v.size();
    for (double x : v) q += (x - m) * (x - m);
    return std::sqrt(q / v.size());
  };
  auto k = random::key(3);
  CHECK(stddev(vals(initializer("he_normal")(k, s, DType::float64, 50, 80))) == Approx(std::sqrt(2.0 / 50)).epsilon(0.02));
  CHECK(stddev(vals(initializer("glorot_normal")(k, s, DType::float64, 50, 80))) == Approx(std::sqrt(2.0 / 130)).epsilon(0.02));
  CHECK(stddev(vals(initializer("lecun_normal")(k, s, DType::float64, 50, 80))) == Approx(std::sqrt(1.0 / 50)).epsilon(0.02));
  auto u = vals(initializer("he_uniform")(k, s, DType::float64, 50, 80));
  const double limit = std::sqrt(6.0 / 50);
  CHECK(*std::max_element(u.begin(), u.end()) <= limit);
  CHECK(*std::min_element(u.begin(), u.end()) >= -limit);
  CHECK(*std::max_element(u.begin(), u.end()) > 0.95 * limit);
  CHECK(stddev(vals(initializer("glorot_uniform")(k, s, DType::float64, 50, 80))) == Approx(std::sqrt(2.0 / 130)).epsilon(0.02));
  auto z = vals(initializer("zeros")(k, {3}, DType::float64, 1, 1));
  CHECK(z == std::vector<double>{0, 0, 0});
  CHECK(vals(initializer("he_normal")(k, {5}, DType::float64, 3, 3)) == vals(initializer("he_normal")(k, {5}, DType::float64, 3, 3)));
  CHECK(vals(initializer("he_normal")(k, {5}, DType::float64, 3, 3)) != vals(initializer("he_normal")(random::key(4), {5}, DType::float64, 3, 3)));
  CHECK_THROWS_WITH(initializer("xavier"), Contains("unknown name 'xavier'"));
}

TEST_CASE("losses against hand computation, and their gradients", "[nn][loss]") {
  Tensor logits = f64({1, 2, 3, 0, 0, 0}, {2, 3});
  std::vector<int32_t> lab{2, 0};
  Tensor labels = asarray<int32_t>(lab.data(), {2});
  const double l0 = std::log(std::exp(1) + std::exp(2) + std::exp(3)) - 3, l1 = std::log(3.0);
  CHECK(softmax_cross_entropy(logits, labels).item<double>() == Approx((l0 + l1) / 2));
  CHECK(vals(one_hot(labels, 3, DType::float64)) == std::vector<double>{0, 0, 1, 1, 0, 0});
  CHECK(mse(f64({1, 2, 3}, {3}), f64({1, 0, 0}, {3})).item<double>() == Approx(13.0 / 3));
  const std::vector<double> xs{-1, 0.5, 2}, zs{0, 1, 0.25};
  double bce = 0;
  for (int i = 0; i < 3; ++i) {
    const double p = 1 / (1 + std::exp(-xs[i]));
    bce -= zs[i] * std::log(p) + (1 - zs[i]) * std::log(1 - p);
  }
  CHECK(binary_cross_entropy_with_logits(f64(xs, {3}), f64(zs, {3})).item<double>() == Approx(bce / 3));
  CHECK(binary_cross_entropy_with_logits(f64({1000, -1000}, {2}), f64({1, 0}, {2})).item<double>() == Approx(0).margin(1e-12));
  check_grads(ScalarFn([&](const std::vector<Tensor>& a) { return softmax_cross_entropy(a[0], labels); }), {rnd({2, 3}, 1)});
  check_grads(ScalarFn([&](const std::vector<Tensor>& a) { return mse(a[0], a[1]); }), {rnd({4}, 2), rnd({4}, 3)});
  check_grads(ScalarFn([&](const std::vector<Tensor>& a) { return binary_cross_entropy_with_logits(a[0], a[1]); }),
              {rnd({4}, 4), rnd({4}, 5)});
  CHECK_THROWS_WITH(softmax_cross_entropy(logits, f64({1, 2}, {2})), Contains("int32"));
}

TEST_CASE("SGD: plain, momentum, Nesterov, weight decay, two steps by hand", "[nn][optim]") {
  const std::vector<double> p0{1, -2}, g1{0.5, 1}, g2{-1, 2};
  auto run = [&](OptimizerPtr opt, std::vector<bool> trainable = {true}) {
    std::vector<Tensor> params{f64(p0, {2})};
    OptState s = opt->init(params);
    opt->update(params, {f64(g1, {2})}, s, 0.1, trainable);
    auto first = vals(params[0]);
    opt->update(params, {f64(g2, {2})}, s, 0.1, trainable);
    CHECK(s.step == 2);
    return std::make_pair(first, vals(params[0]));
  };
  auto plain = run(SGD());
  require_close(plain.first, {0.95, -2.1});
  require_close(plain.second, {1.05, -2.3});
  // momentum 0.9: buf = g1 = (0.5, 1); then buf = 0.9 buf + g2 = (-0.55, 2.9)
  auto mom = run(SGD(0.9));
  require_close(mom.first, {0.95, -2.1});
  require_close(mom.second, {0.95 + 0.055, -2.1 - 0.29});
  // Nesterov: step with g + 0.9 buf: (0.95, 1.9), then (-1.495, 4.61)
  auto nes = run(SGD(0.9, true));
  require_close(nes.first, {0.905, -2.19});
  require_close(nes.second, {0.905 + 0.1495, -2.19 - 0.461});
  // weight decay 0.01 adds 0.01 p to the gradient: (0.51, 0.98), then (-1 + 0.00949, 2 - 0.02098)
  auto wd = run(SGD(0, false, 0.01));
  require_close(wd.first, {0.949, -2.098});
  require_close(wd.second, {0.949 + 0.1 * (1 - 0.00949), -2.098 - 0.1 * (2 - 0.02098)});
  // a non-trainable tensor (running statistic) is left alone, weight decay included
  auto frozen = run(SGD(0.9, false, 0.1), {false});
  CHECK(frozen.second == p0);
  CHECK_THROWS_AS(SGD(0, true), Error);
}

TEST_CASE("Adam and AdamW: two steps by hand", "[nn][optim]") {
  const double lr = 0.1, b1 = 0.9, b2 = 0.999, eps = 1e-8;
  const std::vector<double> p0{1, -2}, g1{0.5, 1}, g2{-1, 2};
  for (int variant = 0; variant < 3; ++variant) {
    INFO("variant " << variant);  // 0 adam, 1 adam with L2, 2 adamw
    const double wd = variant == 0 ? 0 : 0.1;
    OptimizerPtr opt = variant == 2 ? AdamW(b1, b2, eps, wd) : Adam(b1, b2, eps, wd);
    std::vector<Tensor> params{f64(p0, {2})};
    OptState s = opt->init(params);
    REQUIRE(s.slot_names == std::vector<std::string>{"m", "v"});
    std::vector<double> p = p0, m(2, 0), v(2, 0);
    for (int t = 1; t <= 2; ++t) {
      const auto& g = t == 1 ? g1 : g2;
      opt->update(params, {f64(g, {2})}, s, lr, {true});
      for (int i = 0; i < 2; ++i) {
        const double gi = variant == 1 ? g[i] + wd * p[i] : g[i];
        m[i] = b1 * m[i] + (1 - b1) * gi;
        v[i] = b2 * v[i] + (1 - b2) * gi * gi;
        const double mh = m[i] / (1 - std::pow(b1, t)), vh = v[i] / (1 - std::pow(b2, t));
        p[i] -= lr * (mh / (std::sqrt(vh) + eps) + (variant == 2 ? wd * p[i] : 0));
      }
      require_close(vals(params[0]), p, 1e-12);
      require_close(vals(s.slots[0][0]), m, 1e-12);
      require_close(vals(s.slots[1][0]), v, 1e-12);
    }
  }
  // first Adam step moves every coordinate by about lr, whatever the gradient's scale
  std::vector<Tensor> params{f64({0, 0}, {2})};
  OptState s = Adam()->init(params);
  Adam()->update(params, {f64({1e-3, -50}, {2})}, s, 0.01, {true});
  require_close(vals(params[0]), {-0.01, 0.01}, 1e-7);
}

TEST_CASE("learning-rate schedules", "[nn][optim]") {
  Schedule c;
  c.lr = 0.1;
  CHECK(c(0) == 0.1);
  CHECK(c(12345) == 0.1);
  Schedule st;
  st.kind = "step";
  st.lr = 1;
  st.step_size = 10;
  st.gamma = 0.5;
  CHECK(st(9) == 1);
  CHECK(st(10) == 0.5);
  CHECK(st(25) == 0.25);
  Schedule cos;
  cos.kind = "cosine";
  cos.lr = 1;
  cos.warmup_steps = 4;
  cos.decay_steps = 10;
  cos.final_fraction = 0.1;
  CHECK(cos(0) == Approx(0.25));
  CHECK(cos(3) == Approx(1));
  CHECK(cos(4) == Approx(1));
  CHECK(cos(9) == Approx(0.55));
  CHECK(cos(14) == Approx(0.1));
  CHECK(cos(100) == Approx(0.1));
  Schedule bad;
  bad.kind = "linear";
  CHECK_THROWS_AS(bad(0), Error);
}

TEST_CASE("Conv and ConvTranspose with other dimension numbers (PyTorch's NCHW / OIHW)", "[nn][layers]") {
  ConvOptions last;
  last.features = 3;
  last.kernel_size = {2, 3};
  last.strides = {1, 2};
  last.padding = "SAME";
  ConvOptions first = last;
  first.dimension_numbers = {"NCHW", "OIHW", "NCHW"};
  LayerPtr a = Conv(last), b = Conv(first);
  Tensor x = rnd({2, 5, 6, 4}, 1);                     // NHWC
  Tensor xc = transpose(x, {0, 3, 1, 2});              // NCHW
  auto p = a->init(random::key(0), x.shape(), DType::float64);
  p[1] = rnd({3}, 2);
  auto q = b->init(random::key(0), xc.shape(), DType::float64);
  REQUIRE(q[0].shape() == Shape{3, 4, 2, 3});          // OIHW
  CHECK(b->output_shape(xc.shape()) == Shape{2, 3, 5, 3});
  Tensor ya = apply(a, p, x), yb = apply(b, {transpose(p[0], {3, 2, 0, 1}), p[1]}, xc);
  require_close(vals(transpose(ya, {0, 3, 1, 2})), vals(yb));
  check_layer_grads(b, rnd({1, 2, 3, 4}, 3));
  // ConvTranspose channels-first, kernel flipped: spatial axes of an IOHW-style kernel
  ConvTransposeOptions t;
  t.features = 2;
  t.kernel_size = {3, 2};
  t.strides = {2, 2};
  t.transpose_kernel = true;
  ConvTransposeOptions tc = t;
  tc.dimension_numbers = {"NCHW", "IOHW", "NCHW"};
  Tensor z = rnd({1, 3, 2, 4}, 4);
  auto tp = ConvTranspose(t)->init(random::key(1), z.shape(), DType::float64);
  Tensor za = apply(ConvTranspose(t), tp, z);
  Tensor zb = apply(ConvTranspose(tc), {transpose(tp[0], {2, 3, 0, 1}), tp[1]}, transpose(z, {0, 3, 1, 2}));
  require_close(vals(transpose(za, {0, 3, 1, 2})), vals(zb));
  ConvOptions wrong = last;
  wrong.dimension_numbers = {"NCHW", "OIHW"};
  CHECK_THROWS_WITH(Conv(wrong), Contains("three strings"));
  wrong.dimension_numbers = {"NCHW", "OIXW", "NCHW"};
  CHECK_THROWS_WITH(Conv(wrong), Contains("need X in NCHW"));
  CHECK_THROWS_WITH(b->output_shape({2, 5, 6}), Contains("Conv: input shape (2, 5, 6): expected rank 4"));
}
