// White-box tests of the convolution kernel against the naive reference, on random seeded
// geometries, every path and arbitrary layouts: forward-style convs (weight-gradient shapes
// are in test_conv_kernel_wgrad.cpp).
#include "conv_kernel_test_util.hpp"

using namespace conv_kernel_test;
using xlax::kernels::ConvGeometry;
using xlax::kernels::detail::ConvPath;

TEST_CASE("conv kernel: random geometries, every path, float and double", "[conv_kernel]") {
  std::mt19937 rng(12345);
  for (int it = 0; it < 400; ++it) {
    const Case cs = random_case(rng);
    if (it % 2 == 0)
      check_case<float>(cs, rng, kAllPaths);
    else
      check_case<double>(cs, rng, kAllPaths);
  }
}

TEST_CASE("conv kernel: n = 0 is a matrix product", "[conv_kernel]") {
  std::mt19937 rng(7);
  Case cs;
  cs.g.N = 10, cs.g.C = 5, cs.g.I = 5, cs.g.O = 7;
  finish_case(cs, rng, 1);
  check_case<double>(cs, rng, kAllPaths);
  check_case<float>(cs, rng, kAllPaths);
}

// Several chunks, tap blocks (taps > pointer-table block) and column blocks with remainders.
TEST_CASE("conv kernel: larger channel counts and kernels", "[conv_kernel]") {
  std::mt19937 rng(99);
  struct Spec {
    int64_t N, C, O, G, B;
    std::vector<int64_t> S, K, s, lo, ld, rd;
    int layout;
  };
  const std::vector<Spec> specs{
      {2, 37, 45, 1, 1, {9, 11}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
      {2, 37, 45, 1, 1, {9, 11}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 0},
      {1, 3, 5, 1, 1, {14, 13}, {10, 11}, {1, 1}, {4, 5}, {1, 1}, {1, 1}, 1},
      {3, 16, 32, 1, 1, {7, 7}, {4, 4}, {1, 1}, {2, 2}, {2, 2}, {1, 1}, 1},
      {2, 24, 24, 24, 1, {12, 10}, {3, 3}, {1, 2}, {1, 1}, {1, 1}, {2, 1}, 1},
      {2, 40, 80, 40, 1, {9}, {5}, {1}, {2}, {1}, {1}, 1},
      {4, 6, 18, 1, 2, {10, 9}, {3, 2}, {2, 1}, {0, -1}, {1, 1}, {1, 2}, 0},
      {2, 8, 8, 1, 1, {6, 5, 4}, {2, 3, 2}, {1, 2, 1}, {1, 0, 2}, {2, 1, 3}, {1, 1, 2}, 1},
      // few output features (direct path): strides, dilations, layouts, groups, 3-D
      {1, 3, 3, 1, 1, {20, 30}, {3, 3}, {2, 1}, {1, -1}, {1, 1}, {1, 2}, 1},
      {2, 3, 3, 1, 1, {9, 33}, {3, 3}, {1, 3}, {1, 2}, {1, 1}, {2, 1}, 0},
      {1, 1, 1, 1, 1, {6, 7, 30}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, 1},
      {2, 8, 16, 8, 1, {5, 40}, {2, 3}, {1, 1}, {0, 1}, {1, 1}, {1, 1}, 0},
      {1, 5, 4, 1, 1, {7, 25}, {4, 4}, {1, 1}, {2, 2}, {2, 2}, {1, 1}, 1},
      // channels-last lines with few features (tutorial images, 1-D signals)
      {1, 2, 2, 1, 1, {40}, {3}, {1}, {1}, {1}, {1}, 1},
      {1, 3, 3, 1, 1, {12, 37}, {3, 3}, {2, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
      {2, 3, 3, 1, 1, {9, 50}, {3, 3}, {1, 1}, {0, -2}, {1, 1}, {1, 3}, 1},
      {1, 4, 4, 1, 1, {5, 30}, {2, 5}, {1, 1}, {1, 6}, {1, 1}, {2, 1}, 1},
      {2, 1, 1, 1, 1, {4, 5, 33}, {2, 2, 3}, {1, 1, 1}, {1, 0, 2}, {1, 1, 1}, {1, 1, 1}, 1},
      {1, 3, 3, 1, 1, {6, 30}, {3, 3}, {1, 1}, {1, 1}, {2, 1}, {1, 1}, 1},
      {3, 2, 2, 1, 1, {7}, {4}, {1}, {3}, {1}, {2}, 1},
  };
  for (const Spec& sp : specs) {
    Case cs;
    ConvGeometry& g = cs.g;
    g.N = sp.N, g.C = sp.C, g.O = sp.O, g.feature_group_count = sp.G, g.batch_group_count = sp.B;
    g.I = sp.C / sp.G;
    g.lhs_size = sp.S, g.kernel_size = sp.K, g.stride = sp.s, g.pad_lo = sp.lo;
    g.lhs_dilation = sp.ld, g.rhs_dilation = sp.rd;
    finish_case(cs, rng, sp.layout);
    check_case<float>(cs, rng, {ConvPath::Auto, ConvPath::Avx512, ConvPath::Avx2, ConvPath::Generic});
    check_case<double>(cs, rng, {ConvPath::Auto, ConvPath::Avx512, ConvPath::Avx2, ConvPath::Generic});
    check_case<float>(cs, rng, {ConvPath::Auto, ConvPath::Avx512, ConvPath::Avx2, ConvPath::Generic}, 3);
    check_case<double>(cs, rng, {ConvPath::Auto, ConvPath::Avx512, ConvPath::Avx2, ConvPath::Generic}, 5);
  }
}

TEST_CASE("conv kernel: empty sums write zeros", "[conv_kernel]") {
  std::mt19937 rng(3);
  // S = 0 with padding (non-empty output of zeros), and C = 0.
  for (int64_t C : {0, 2}) {
    Case cs;
    ConvGeometry& g = cs.g;
    g.N = 2, g.C = C, g.I = C, g.O = 3;
    g.lhs_size = {C ? 0 : 4, 3}, g.kernel_size = {2, 2}, g.stride = {1, 1};
    g.pad_lo = {3, 1}, g.lhs_dilation = {1, 1}, g.rhs_dilation = {1, 1};
    g.out_size = {3, 2};
    finish_case(cs, rng, 1);
    check_case<float>(cs, rng, kAllPaths);
  }
}

// Short reductions with contiguous output features (first layers): one and several input
// features, feature-contiguous or strided lhs, padding of both signs, strides, dilations,
// groups, 1-D to 3-D, line lengths that leave a partial pixel tile.
TEST_CASE("conv kernel: few input features", "[conv_kernel]") {
  std::mt19937 rng(5150);
  for (int it = 0; it < 60; ++it) {
    auto pick = [&](int64_t lo, int64_t hi) {
      return lo + static_cast<int64_t>(rng() % static_cast<uint64_t>(hi - lo + 1));
    };
    Case cs;
    ConvGeometry& g = cs.g;
    const size_t n = static_cast<size_t>(pick(1, 3));
    for (size_t i = 0; i < n; ++i) {
      g.lhs_size.push_back(pick(4, n == 3 ? 7 : 17));
      g.kernel_size.push_back(pick(1, 3));
      g.stride.push_back(pick(1, 2));
      g.lhs_dilation.push_back(pick(0, 4) == 0 ? 2 : 1);
      g.rhs_dilation.push_back(pick(0, 3) == 0 ? 2 : 1);
      g.pad_lo.push_back(pick(-1, 2));
    }
    const int64_t G = pick(0, 3) == 0 ? 2 : 1;
    g.I = pick(1, 3), g.feature_group_count = G, g.C = G * g.I;
    g.O = G * pick(8, 40), g.N = pick(1, 3);
    finish_case(cs, rng, it % 3 == 0 ? 0 : 1);
    check_case_in(it % 2, cs, rng);
  }
}

// Depthwise convs in channels-last layouts (forward and data-gradient shapes): pixel blocks
// along lines (rows of 3 unit-step taps among them), group counts with partial vector
// blocks, padding, strides, dilations.
TEST_CASE("conv kernel: depthwise geometries", "[conv_kernel]") {
  std::mt19937 rng(31337);
  for (int it = 0; it < 40; ++it) {
    auto pick = [&](int64_t lo, int64_t hi) {
      return lo + static_cast<int64_t>(rng() % static_cast<uint64_t>(hi - lo + 1));
    };
    Case cs;
    ConvGeometry& g = cs.g;
    const size_t n = static_cast<size_t>(pick(1, 3));
    for (size_t i = 0; i < n; ++i) {
      g.lhs_size.push_back(pick(3, n == 3 ? 6 : 15));
      g.kernel_size.push_back(pick(1, 3));
      g.stride.push_back(pick(1, 2));
      g.lhs_dilation.push_back(pick(0, 4) == 0 ? 2 : 1);
      g.rhs_dilation.push_back(pick(0, 3) == 0 ? 2 : 1);
      g.pad_lo.push_back(pick(-1, 2));
    }
    if (it % 3 == 0) {  // last dim in rows of 3 unit-step taps, lines of 8+ pixels
      g.lhs_size.back() = pick(10, 20), g.kernel_size.back() = 3;
      g.stride.back() = g.lhs_dilation.back() = g.rhs_dilation.back() = 1;
    }
    const int64_t G = pick(4, 70);
    g.I = 1, g.feature_group_count = G, g.C = G, g.O = G, g.N = pick(1, 3);
    finish_case(cs, rng, 1);
    check_case_in(it % 2, cs, rng);
  }
}


// Few output features over channels-last inputs whose features fill whole vectors (data
// gradients of first layers): dot products over the features, border pixels with fewer taps.
TEST_CASE("conv kernel: few output features over contiguous input features", "[conv_kernel]") {
  std::mt19937 rng(6174);
  for (int it = 0; it < 40; ++it) {
    auto pick = [&](int64_t lo, int64_t hi) {
      return lo + static_cast<int64_t>(rng() % static_cast<uint64_t>(hi - lo + 1));
    };
    Case cs;
    ConvGeometry& g = cs.g;
    const size_t n = static_cast<size_t>(pick(1, 3));
    for (size_t i = 0; i < n; ++i) {
      g.lhs_size.push_back(pick(3, n == 3 ? 6 : 30));
      g.kernel_size.push_back(pick(1, 4));
      g.stride.push_back(pick(0, 3) == 0 ? 2 : 1);
      g.lhs_dilation.push_back(pick(0, 5) == 0 ? 2 : 1);
      g.rhs_dilation.push_back(pick(0, 4) == 0 ? 2 : 1);
      g.pad_lo.push_back(pick(-1, 3));
    }
    const int64_t G = pick(0, 4) == 0 ? 2 : 1;
    g.I = 16 * pick(1, 3), g.feature_group_count = G, g.C = G * g.I;
    g.O = G * pick(1, 4), g.N = pick(1, 3);
    finish_case(cs, rng, 1);
    check_case_in(it % 2, cs, rng);
  }
}

// Lhs-dilated convs with few output features (transposed convs and data gradients of strided
// convs of images): the direct path runs a line's stride phases in one pass and stores
// whole lines, channels-last pixels of three features as 16-byte stores.
TEST_CASE("conv kernel: lhs-dilated lines with few output features", "[conv_kernel]") {
  std::mt19937 rng(1693);
  for (int it = 0; it < 48; ++it) {
    auto pick = [&](int64_t lo, int64_t hi) {
      return lo + static_cast<int64_t>(rng() % static_cast<uint64_t>(hi - lo + 1));
    };
    Case cs;
    ConvGeometry& g = cs.g;
    const size_t n = static_cast<size_t>(pick(1, 2));
    for (size_t i = 0; i < n; ++i) {
      const bool last = i + 1 == n;
      g.lhs_size.push_back(pick(2, last ? 45 : 6));
      g.kernel_size.push_back(pick(1, 5));
      g.stride.push_back(pick(0, 3) == 0 ? 2 : 1);
      g.lhs_dilation.push_back(last ? pick(2, 3) : pick(1, 2));
      g.rhs_dilation.push_back(pick(0, 4) == 0 ? 2 : 1);
      g.pad_lo.push_back(pick(-1, 4));
    }
    g.I = pick(1, 4), g.feature_group_count = 1, g.C = g.I;
    g.O = it % 2 ? 3 : pick(1, 4), g.N = pick(1, 2);
    finish_case(cs, rng, it % 4 == 3 ? 0 : 1);
    check_case_in(it % 3 == 1, cs, rng, it % 3 != 1 && it % 5 == 0 ? 2 : 0);
  }
}

// Lhs-dilated convs with at least as many stride phases as threads and output blocks of whole
// cache lines (transposed convs of feature maps, their weight gradients): the phases run side
// by side, one thread each.
TEST_CASE("conv kernel: stride phases side by side", "[conv_kernel]") {
  std::mt19937 rng(8086);
  auto pick = [&](int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(rng() % static_cast<uint64_t>(hi - lo + 1));
  };
  const int saved_threads = xlax::get_num_threads();
  for (int it = 0; it < 24; ++it) {
    xlax::set_num_threads(it % 3 == 2 ? 3 : 2);
    Case cs;
    ConvGeometry& g = cs.g;
    const size_t n = static_cast<size_t>(pick(1, 2));
    for (size_t i = 0; i < n; ++i) {
      g.lhs_size.push_back(pick(3, 9));
      g.kernel_size.push_back(pick(1, 4));
      g.stride.push_back(pick(0, 3) == 0 ? 2 : 1);
      g.lhs_dilation.push_back(pick(2, 3));
      g.rhs_dilation.push_back(pick(0, 4) == 0 ? 2 : 1);
      g.pad_lo.push_back(pick(-1, 3));
    }
    const int64_t G = pick(0, 3) == 0 ? 2 : 1;
    g.I = pick(1, 20), g.feature_group_count = G, g.C = G * g.I;
    g.O = G * 16 * pick(1, 3), g.N = pick(1, 3);
    finish_case(cs, rng, 1);  // channels-last: a position's block is O floats
    check_case_in(it % 2, cs, rng, it % 4 <= 1 ? 2 : 0);
  }
  xlax::set_num_threads(saved_threads);
}

// Depthwise images larger than the caches: the path prefetches lhs rows and, for outputs
// 64-byte aligned as tensor buffers are, writes with streaming stores. The scalar path is
// the reference (the naive one is too slow at this size).
TEST_CASE("conv kernel: large depthwise images (streamed output)", "[conv_kernel]") {
  std::mt19937 rng(2718);
  struct Spec {
    int64_t N, G;
    std::vector<int64_t> S, K, lo, rd;
    bool f64;
  };
  const std::vector<Spec> specs{
      {2, 72, {150, 100}, {3, 3}, {1, 1}, {1, 1}, false},
      {1, 44, {200, 120}, {3, 3}, {2, 1}, {2, 1}, true},
      {1, 56, {7, 110, 60}, {2, 3, 3}, {0, 1, 1}, {1, 1, 1}, false},
  };
  for (const Spec& sp : specs) {
    Case cs;
    ConvGeometry& g = cs.g;
    g.lhs_size = sp.S, g.kernel_size = sp.K, g.pad_lo = sp.lo, g.rhs_dilation = sp.rd;
    g.stride.assign(sp.S.size(), 1), g.lhs_dilation.assign(sp.S.size(), 1);
    g.N = sp.N, g.I = 1, g.feature_group_count = sp.G, g.C = sp.G, g.O = sp.G;
    for (size_t i = 0; i < sp.S.size(); ++i)  // "same" padding: outputs of 8+ MiB
      g.out_size.push_back(sp.S[i] + 2 * sp.lo[i] - dil(sp.K[i], sp.rd[i]) + 1);
    finish_case(cs, rng, 1);
    auto run = [&](auto zero) {
      using T = decltype(zero);
      int64_t lsize = g.N * g.C, osize = g.N * g.O, taps = 1;
      for (size_t i = 0; i < sp.S.size(); ++i)
        lsize *= g.lhs_size[i], osize *= g.out_size[i], taps *= g.kernel_size[i];
      std::uniform_real_distribution<double> u(-1, 1);
      std::vector<T> lhs(lsize), rhs(g.O * taps), want(osize);
      for (auto& x : lhs) x = static_cast<T>(u(rng));
      for (auto& x : rhs) x = static_cast<T>(u(rng));
      xlax::kernels::detail::set_conv_path(ConvPath::Scalar);
      xlax::kernels::conv_general<T>(g, lhs.data(), rhs.data(), want.data());
      T* buffer = static_cast<T*>(std::aligned_alloc(64, ((osize + 1) * sizeof(T) + 63) / 64 * 64));
      const double tol = (std::is_same<T, float>::value ? 1e-5 : 1e-12) * taps;
      for (int shift = 0; shift < 2; ++shift)  // shifted by one element: ordinary stores
        for (ConvPath path : {ConvPath::Auto, ConvPath::Avx512, ConvPath::Avx2, ConvPath::Generic}) {
          T* out = buffer + shift;
          xlax::kernels::detail::set_conv_path(path);
          std::fill(out, out + osize, std::numeric_limits<T>::quiet_NaN());
          xlax::kernels::conv_general<T>(g, lhs.data(), rhs.data(), out);
          int64_t bad = 0;
          for (int64_t e = 0; e < osize; ++e) bad += !(std::fabs(out[e] - want[e]) <= tol);
          INFO(cs.text << " path " << static_cast<int>(path) << " T=" << sizeof(T) << " shift " << shift);
          CHECK(bad == 0);
        }
      std::free(buffer);
      xlax::kernels::detail::set_conv_path(ConvPath::Auto);
    };
    if (sp.f64)
      run(0.0);
    else
      run(0.0f);
  }
}
