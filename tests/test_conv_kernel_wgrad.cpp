// White-box tests of the convolution kernel on weight-gradient shapes (windows much larger
// than the output: large-window, few-row, staged, tiny-output and depthwise paths).
#include "conv_kernel_test_util.hpp"

using namespace conv_kernel_test;
using xlax::kernels::ConvGeometry;
using xlax::kernels::detail::ConvPath;

// The large-window path (weight gradients): long reductions crossing several blocks, row
// tiles mixing output positions, column remainders, groups of both kinds, lhs dilation.
TEST_CASE("conv kernel: weight-gradient geometries", "[conv_kernel]") {
  std::mt19937 rng(2024);
  for (int it = 0; it < 120; ++it) {
    const Case cs = weight_gradient_case(rng, it % 2 == 0);
    check_case_in(it % 3 == 0, cs, rng);
  }
}

// Depthwise weight gradients in channels-last layouts: the group-vectorised path, with
// group counts that leave partial vector blocks.
TEST_CASE("conv kernel: depthwise weight-gradient geometries", "[conv_kernel]") {
  std::mt19937 rng(77);
  for (int it = 0; it < 40; ++it) {
    const Case cs = weight_gradient_case(rng, true, 3);
    check_case_in(it % 3 == 0, cs, rng);
  }
}

// Depthwise weight gradients with many channels (blocks of 4 vectors, a partial last block)
// at 1, 2 and 4 threads (images, then blocks, split between the threads).
TEST_CASE("conv kernel: wide depthwise weight-gradient geometries", "[conv_kernel]") {
  std::mt19937 rng(1618);
  const int saved_threads = xlax::get_num_threads();
  // Two images, no lhs dilation, a window 16+ times the output, enough work for threads.
  auto two_image_window = [](const ConvGeometry& g) {
    int64_t window = 1, positions = 1;
    for (size_t i = 0; i < g.lhs_size.size(); ++i) {
      if (g.lhs_dilation[i] != 1) return false;
      window *= g.kernel_size[i], positions *= g.out_size[i];
    }
    return g.C == 2 && window >= 16 * positions && g.O * window * positions >= 200000;
  };
  for (int it = 0; it < 30; ++it) {
    xlax::set_num_threads(it >= 24 ? 4 : it % 3 == 0 ? 1 : 2);
    Case cs = weight_gradient_case(rng, true, 8);
    // The last ones: 4 threads, 2 per image, split the blocks too.
    while (it >= 24 && !two_image_window(cs.g)) cs = weight_gradient_case(rng, true, 8);
    check_case_in(it % 2 == 0, cs, rng);
  }
  xlax::set_num_threads(saved_threads);
}
// Weight gradients with a tiny output (few image channels and output features, as the
// tutorial's 3-channel image convs): the reduction-vectorised path.
TEST_CASE("conv kernel: tiny-output weight-gradient geometries", "[conv_kernel]") {
  std::mt19937 rng(909);
  for (int it = 0; it < 60; ++it) {
    const Case cs = weight_gradient_case(rng, it % 3 != 0, 5);
    check_case_in(it % 3 == 1, cs, rng);
  }
}

// Channels-last weight gradients whose output features fill whole vector blocks: the
// cotangent is read in place as the GEMM's B matrix.
TEST_CASE("conv kernel: weight gradients with whole feature blocks", "[conv_kernel]") {
  std::mt19937 rng(4242);
  for (int it = 0; it < 30; ++it) {
    const Case cs = weight_gradient_case(rng, true, 6);
    check_case_in(it % 3 == 1, cs, rng);
  }
}

// Channels-last weight gradients with whole feature blocks and a batch long enough to share
// among threads: feature planes staged with zero borders, partial sums per thread.
TEST_CASE("conv kernel: weight gradients over staged feature planes", "[conv_kernel]") {
  std::mt19937 rng(31337);
  for (int it = 0; it < 24; ++it) {
    const Case cs = weight_gradient_case(rng, true, 9);
    check_case_in(it % 3 == 1, cs, rng);
  }
}

// Channels-last weight gradients of first layers (one to three image channels, long batch
// reductions): the whole output in a few register tiles, reduction chunks over the batch.
TEST_CASE("conv kernel: few-row weight-gradient geometries", "[conv_kernel]") {
  std::mt19937 rng(8128);
  for (int it = 0; it < 30; ++it) {
    const Case cs = weight_gradient_case(rng, it % 4 != 3, 7);
    check_case_in(it % 3 == 1, cs, rng);
  }
}
// Tiny-output weight gradients with fewer (group, row block) pairs than threads: the window
// rows are split between threads and the partial sums added in order.
TEST_CASE("conv kernel: tiny-output window split over threads", "[conv_kernel]") {
  std::mt19937 rng(4242);
  const int saved_threads = xlax::get_num_threads();
  struct Spec {
    int64_t N, O;
    std::vector<int64_t> S, K, lo;
  };
  const std::vector<Spec> specs{
      {1, 1, {30, 30, 30}, {28, 28, 28}, {0, 0, 0}},
      {3, 2, {60, 50}, {58, 48}, {1, 0}},
      {2, 3, {40, 41}, {39, 38}, {1, 1}},
  };
  for (int threads : {2, 3}) {
    xlax::set_num_threads(threads);
    for (const Spec& sp : specs) {
      Case cs;
      ConvGeometry& g = cs.g;
      g.N = sp.N, g.C = 1, g.I = 1, g.O = sp.O;
      g.lhs_size = sp.S, g.kernel_size = sp.K, g.pad_lo = sp.lo;
      g.stride.assign(sp.S.size(), 1), g.lhs_dilation.assign(sp.S.size(), 1);
      g.rhs_dilation.assign(sp.S.size(), 1);
      finish_case(cs, rng, 1);
      check_case<float>(cs, rng, {ConvPath::Auto, ConvPath::Generic});
      check_case<double>(cs, rng, {ConvPath::Auto});
    }
  }
  xlax::set_num_threads(saved_threads);
}

// Weight gradients of transposed convs (lhs-dilated, rhs dilation 1, image much larger than
// the kernel) run as their dual: the cotangent as lhs, the image as kernel at rhs dilation
// ld, output spatially reversed (negative output strides).
TEST_CASE("conv kernel: weight gradients of transposed convs (dual form)", "[conv_kernel]") {
  std::mt19937 rng(5150);
  auto pick = [&](int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(rng() % static_cast<uint64_t>(hi - lo + 1));
  };
  const int saved_threads = xlax::get_num_threads();
  for (int it = 0; it < 36; ++it) {
    xlax::set_num_threads(it % 2 ? 2 : 1);
    // Forward transposed conv: image S, kernel Kf, lhs dilation ld, padding lo; its weight
    // gradient: lhs = image (dilated), window = cotangent, output = the kernel's Kf taps.
    Case cs;
    ConvGeometry& g = cs.g;
    const size_t n = static_cast<size_t>(pick(1, 2));
    for (size_t i = 0; i < n; ++i) {
      const int64_t S = pick(6, n == 1 ? 60 : 18), Kf = pick(1, 4), ld = pick(2, 3);
      const int64_t s = pick(0, 3) == 0 ? 2 : 1, lo = pick(0, 2);
      g.lhs_size.push_back(S), g.lhs_dilation.push_back(ld), g.rhs_dilation.push_back(1);
      g.stride.push_back(s), g.pad_lo.push_back(lo), g.out_size.push_back(Kf);
      // cotangent length: every output position's window inside the padded, dilated image
      const int64_t padded = dil(S, ld) + lo + pick(0, 2);
      g.kernel_size.push_back(std::max<int64_t>(1, padded - s * (Kf - 1)));
    }
    const int64_t batch = pick(1, 3);
    g.N = pick(1, 4), g.C = batch, g.I = batch, g.O = pick(1, 5);
    finish_case(cs, rng, it % 3 == 0 ? 0 : 1);
    check_case_in(it % 3 == 1, cs, rng, it % 3 != 1 && it % 4 == 0 ? 2 : 0);
  }
  xlax::set_num_threads(saved_threads);
}
