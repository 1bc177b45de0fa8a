// White-box tests of the convolution kernel against a naive reference written straight from
// CONV_SEMANTICS §1.4/§1.7, on random seeded geometries, every path and arbitrary layouts.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <xlax/core.hpp>

#include "ops/kernels/conv_kernel.hpp"
#include "ops/kernels/conv_kernel_internal.hpp"

namespace {

using xlax::kernels::ConvGeometry;
using xlax::kernels::detail::ConvPath;

int64_t dil(int64_t d, int64_t r) { return d == 0 ? 0 : (d - 1) * r + 1; }

// A canonical-order array laid out with axes in `order` (outermost first) and optional
// gaps: strides are canonical-indexed, the buffer covers the whole span.
struct Layout {
  std::vector<int64_t> strides;
  int64_t span = 0;  // elements to allocate
};

Layout make_layout(const std::vector<int64_t>& shape, const std::vector<size_t>& order,
                   bool gaps, std::mt19937& rng) {
  Layout l;
  l.strides.assign(shape.size(), 0);
  int64_t s = 1;
  for (size_t k = order.size(); k-- > 0;) {
    const size_t ax = order[k];
    l.strides[ax] = s;
    s *= std::max<int64_t>(shape[ax], 1) + (gaps ? static_cast<int64_t>(rng() % 2) : 0);
  }
  l.span = 1;
  for (size_t ax = 0; ax < shape.size(); ++ax) {
    if (shape[ax] == 0) l.span = 0;
  }
  if (l.span) {
    l.span = 1;
    for (size_t ax = 0; ax < shape.size(); ++ax) l.span += (shape[ax] - 1) * l.strides[ax];
  }
  return l;
}

struct Case {
  ConvGeometry g;
  std::string text;
  int64_t rhs_origin = 0;  // element (0, ..., 0) of the rhs: > 0 when spatial axes are reversed
};

int64_t offset(const std::vector<int64_t>& idx, const std::vector<int64_t>& strides) {
  int64_t o = 0;
  for (size_t i = 0; i < idx.size(); ++i) o += idx[i] * strides[i];
  return o;
}

// Naive reference, long double, plus the sum of |terms| for a rounding-aware tolerance.
template <class T>
void reference(const ConvGeometry& g, const std::vector<T>& lhs, const T* rhs,
               std::vector<long double>& val, std::vector<long double>& mag,
               std::vector<std::vector<int64_t>>& out_index) {
  const size_t n = g.lhs_size.size();
  const int64_t G = g.feature_group_count, B = g.batch_group_count;
  const int64_t Nout = g.N / B, Og = g.O / std::max(G, B);
  std::vector<int64_t> shape{Nout, g.O};
  for (auto q : g.out_size) shape.push_back(q);
  int64_t total = 1;
  for (auto d : shape) total *= d;
  int64_t taps = 1;
  for (auto k : g.kernel_size) taps *= k;
  val.assign(total, 0);
  mag.assign(total, 0);
  out_index.assign(total, {});
  for (int64_t e = 0; e < total; ++e) {
    std::vector<int64_t> idx(shape.size());
    int64_t rem = e;
    for (size_t a = shape.size(); a-- > 0;) {
      idx[a] = rem % shape[a];
      rem /= shape[a];
    }
    out_index[e] = idx;
    const int64_t b = idx[0], o = idx[1], grp = o / Og;
    long double acc = 0, m = 0;
    for (int64_t c = 0; c < g.I; ++c) {
      for (int64_t t = 0; t < taps; ++t) {
        std::vector<int64_t> j(n), li{B > 1 ? grp * Nout + b : b, G > 1 ? grp * g.I + c : c},
            ri{o, c};
        int64_t r2 = t;
        for (size_t i = n; i-- > 0;) {
          j[i] = r2 % g.kernel_size[i];
          r2 /= g.kernel_size[i];
        }
        bool real = true;
        for (size_t i = 0; i < n; ++i) {
          const int64_t p = idx[i + 2] * g.stride[i] + j[i] * g.rhs_dilation[i];
          const int64_t u = p - g.pad_lo[i];
          if (u < 0 || u >= dil(g.lhs_size[i], g.lhs_dilation[i]) || u % g.lhs_dilation[i] != 0)
            real = false;
          li.push_back(real ? u / g.lhs_dilation[i] : 0);
          ri.push_back(j[i]);
        }
        if (!real) continue;
        const long double x = lhs[offset(li, g.lhs_strides)], w = rhs[offset(ri, g.rhs_strides)];
        acc += x * w;
        m += std::fabs(x * w);
      }
    }
    val[e] = acc;
    mag[e] = m;
  }
}

// nonfinite > 0 plants that many infs / NaNs in the lhs: outputs must then be non-finite
// exactly where the reference's are (no path may multiply a value it does not use).
template <class T>
void check_case(const Case& cs, std::mt19937& rng, const std::vector<ConvPath>& paths,
                int nonfinite = 0) {
  const ConvGeometry& g = cs.g;
  const size_t n = g.lhs_size.size();
  std::vector<int64_t> lshape{g.N, g.C}, rshape{g.O, g.I};
  for (size_t i = 0; i < n; ++i) lshape.push_back(g.lhs_size[i]), rshape.push_back(g.kernel_size[i]);
  auto span = [&](const std::vector<int64_t>& shape, const std::vector<int64_t>& strides) {
    int64_t s = 1;
    for (size_t a = 0; a < shape.size(); ++a) {
      if (shape[a] == 0) return int64_t(0);
      s += (shape[a] - 1) * std::abs(strides[a]);
    }
    return s;
  };
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<T> lhs(span(lshape, g.lhs_strides)), rhs(span(rshape, g.rhs_strides));
  for (auto& x : lhs) x = static_cast<T>(u(rng));
  for (auto& x : rhs) x = static_cast<T>(u(rng));
  const T specials[] = {std::numeric_limits<T>::infinity(), -std::numeric_limits<T>::infinity(),
                        std::numeric_limits<T>::quiet_NaN()};
  for (int k = 0; k < nonfinite && !lhs.empty(); ++k) lhs[rng() % lhs.size()] = specials[k % 3];
  std::vector<long double> val, mag;
  std::vector<std::vector<int64_t>> idx;
  reference(g, lhs, rhs.data() + cs.rhs_origin, val, mag, idx);
  std::vector<int64_t> oshape{g.N / g.batch_group_count, g.O};
  for (auto q : g.out_size) oshape.push_back(q);
  const int64_t ospan = span(oshape, g.out_strides);
  const double tol = std::is_same<T, float>::value ? 1e-5 : 1e-12;
  for (ConvPath path : paths) {
    xlax::kernels::detail::set_conv_path(path);
    std::vector<T> out(ospan, std::numeric_limits<T>::quiet_NaN());
    xlax::kernels::conv_general<T>(g, lhs.data(), rhs.data() + cs.rhs_origin, out.data());
    int64_t bad = 0;
    std::string first;
    for (size_t e = 0; e < val.size(); ++e) {
      const long double got = out[offset(idx[e], g.out_strides)];
      const long double err = std::fabs(got - val[e]);
      const bool ok = std::isfinite(val[e]) ? err <= tol * (mag[e] + 1e-30L) + 1e-300L
                                            : (std::isnan(val[e]) ? std::isnan(got) : got == val[e]);
      if (!ok) {
        if (!bad++) {
          std::ostringstream os;
          os << "element " << e << " got " << static_cast<double>(got) << " want "
             << static_cast<double>(val[e]);
          first = os.str();
        }
      }
    }
    INFO(cs.text << " path " << static_cast<int>(path) << " T=" << sizeof(T) << " " << first);
    CHECK(bad == 0);
  }
  xlax::kernels::detail::set_conv_path(ConvPath::Auto);
}

std::string vec_str(const std::vector<int64_t>& v) {
  std::string s = "(";
  for (auto x : v) s += std::to_string(x) + ",";
  return s + ")";
}

// Fill strides and out_size of g from sizes, with random (or channels-last) layouts.
void finish_case(Case& cs, std::mt19937& rng, int layout_mode) {
  ConvGeometry& g = cs.g;
  const size_t n = g.lhs_size.size();
  std::vector<int64_t> hi(n);
  const bool keep_out = g.out_size.size() == n && n > 0;  // preset out_size: pad_hi implied
  if (!keep_out) g.out_size.assign(n, 0);
  for (size_t i = 0; i < n && !keep_out; ++i) {
    const int64_t P0 = dil(g.lhs_size[i], g.lhs_dilation[i]) + g.pad_lo[i];
    hi[i] = static_cast<int64_t>(rng() % 7) - 3;
    if (P0 + hi[i] < 0) hi[i] = -P0;
    const int64_t P = P0 + hi[i], Kt = dil(g.kernel_size[i], g.rhs_dilation[i]);
    const int64_t d = P - Kt;
    g.out_size[i] = d < 0 ? 0 : d / g.stride[i] + 1;
  }
  auto order_for = [&](size_t rank) {
    std::vector<size_t> order(rank);
    std::iota(order.begin(), order.end(), 0);
    if (layout_mode == 0) {
      std::shuffle(order.begin(), order.end(), rng);
    } else {  // channels-last: (0, 2..., 1)
      order.erase(order.begin() + 1);
      order.push_back(1);
    }
    return order;
  };
  const bool gaps = layout_mode == 0 && rng() % 3 == 0;
  std::vector<int64_t> lshape{g.N, g.C}, rshape{g.O, g.I},
      oshape{g.N / g.batch_group_count, g.O};
  for (size_t i = 0; i < n; ++i) {
    lshape.push_back(g.lhs_size[i]);
    rshape.push_back(g.kernel_size[i]);
    oshape.push_back(g.out_size[i]);
  }
  g.lhs_strides = make_layout(lshape, order_for(n + 2), gaps, rng).strides;
  g.rhs_strides = make_layout(rshape, order_for(n + 2), gaps, rng).strides;
  // A third of the cases read the kernel with its spatial axes reversed (negative strides),
  // as the data gradient does.
  cs.rhs_origin = 0;
  if (rng() % 3 == 0)
    for (size_t i = 0; i < n; ++i) {
      cs.rhs_origin += std::max<int64_t>(rshape[i + 2] - 1, 0) * g.rhs_strides[i + 2];
      g.rhs_strides[i + 2] = -g.rhs_strides[i + 2];
    }
  g.out_strides = make_layout(oshape, order_for(n + 2), gaps, rng).strides;
  std::ostringstream os;
  os << "N=" << g.N << " C=" << g.C << " O=" << g.O << " I=" << g.I
     << " G=" << g.feature_group_count << " B=" << g.batch_group_count << " S=" << vec_str(g.lhs_size)
     << " K=" << vec_str(g.kernel_size) << " Q=" << vec_str(g.out_size)
     << " s=" << vec_str(g.stride) << " lo=" << vec_str(g.pad_lo) << " hi=" << vec_str(hi)
     << " ld=" << vec_str(g.lhs_dilation) << " rd=" << vec_str(g.rhs_dilation)
     << " lhs_strides=" << vec_str(g.lhs_strides) << " rhs_strides=" << vec_str(g.rhs_strides)
     << " out_strides=" << vec_str(g.out_strides);
  cs.text = os.str();
}

Case random_case(std::mt19937& rng) {
  auto pick = [&](int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(rng() % static_cast<uint64_t>(hi - lo + 1));
  };
  Case cs;
  ConvGeometry& g = cs.g;
  const size_t n = static_cast<size_t>(pick(0, 3));
  const int64_t max_s = n == 3 ? 5 : n == 2 ? 8 : 14;
  for (size_t i = 0; i < n; ++i) {
    g.lhs_size.push_back(pick(0, 20) == 0 ? 0 : pick(1, max_s));
    g.kernel_size.push_back(pick(0, 30) == 0 ? 0 : pick(1, 3));
    g.stride.push_back(pick(1, 3));
    g.lhs_dilation.push_back(pick(0, 2) == 0 ? pick(2, 3) : 1);
    g.rhs_dilation.push_back(pick(0, 2) == 0 ? pick(2, 3) : 1);
    g.pad_lo.push_back(pick(-3, 3));
  }
  const int mode = static_cast<int>(pick(0, 5));  // 0-2 plain, 3 feature groups, 4 depthwise, 5 batch groups
  int64_t G = 1, B = 1;
  g.I = pick(0, 12) == 0 ? 0 : pick(1, n == 0 ? 24 : 10);
  int64_t Og = pick(0, 12) == 0 ? 0 : pick(1, n == 0 ? 40 : 20);
  int64_t Nb = pick(0, 12) == 0 ? 0 : pick(1, 3);
  if (mode == 3) {
    G = pick(2, 4);
  } else if (mode == 4) {
    G = pick(2, 20);
    g.I = 1;
    Og = pick(1, 2);
  } else if (mode == 5) {
    B = pick(2, 3);
  }
  g.feature_group_count = G;
  g.batch_group_count = B;
  g.C = G * g.I;
  g.O = std::max(G, B) * Og;
  g.N = B * Nb;
  finish_case(cs, rng, pick(0, 2) == 0 ? 1 : 0);
  return cs;
}

const std::vector<ConvPath> kAllPaths{ConvPath::Auto, ConvPath::Avx2, ConvPath::Generic, ConvPath::Scalar};

}  // namespace

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
    check_case<float>(cs, rng, {ConvPath::Auto, ConvPath::Avx2, ConvPath::Generic});
    check_case<double>(cs, rng, {ConvPath::Auto, ConvPath::Avx2, ConvPath::Generic});
    check_case<float>(cs, rng, {ConvPath::Auto, ConvPath::Avx2, ConvPath::Generic}, 3);
    check_case<double>(cs, rng, {ConvPath::Auto, ConvPath::Avx2, ConvPath::Generic}, 5);
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

namespace {

// Strides of a canonical-order shape laid out with axes in memory order `order`.
std::vector<int64_t> dense_strides(const std::vector<int64_t>& shape, const std::vector<size_t>& order) {
  std::vector<int64_t> st(shape.size());
  int64_t s = 1;
  for (size_t k = order.size(); k-- > 0;) {
    st[order[k]] = s;
    s *= std::max<int64_t>(shape[order[k]], 1);
  }
  return st;
}

// The geometry of the weight-gradient (rhs transpose) rule of a random forward conv, as
// ops/conv.cpp builds it: lhs = X with batch and feature roles swapped, rhs = cotangent
// (window = forward output), out = dW (spatial = kernel size); forward stride <-> rhs
// dilation, forward batch groups -> feature groups and feature groups -> batch groups.
// nhwc: the layouts of forward NHWC / HWIO tensors; otherwise random layouts.
Case weight_gradient_case(std::mt19937& rng, bool nhwc, int force_mode = -1) {
  auto pick = [&](int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(rng() % static_cast<uint64_t>(hi - lo + 1));
  };
  for (;;) {
    const size_t n = static_cast<size_t>(pick(0, 5) == 0 ? 1 : pick(0, 3) == 0 ? 3 : 2);
    const int64_t max_s = n == 3 ? 10 : n == 2 ? 20 : 80;
    std::vector<int64_t> S, K, s, lo, ld, rd, Q;
    bool ok = true;
    for (size_t i = 0; i < n; ++i) {
      S.push_back(pick(3, max_s));
      K.push_back(pick(1, 3));
      s.push_back(pick(0, 3) == 0 ? 2 : 1);
      ld.push_back(pick(0, 4) == 0 ? 2 : 1);
      rd.push_back(pick(0, 4) == 0 ? 2 : 1);
      lo.push_back(pick(-1, 2));
      const int64_t hi = pick(-1, 2);
      const int64_t P = dil(S[i], ld[i]) + lo[i] + hi, Kd = dil(K[i], rd[i]);
      if (P < Kd) ok = false;
      Q.push_back(ok ? (P - Kd) / s[i] + 1 : 0);
    }
    if (!ok) continue;
    const int mode = force_mode >= 0 ? force_mode : static_cast<int>(pick(0, 4));  // 0-1 plain, 2 groups, 3 depthwise, 4 batch groups, 5 tiny, 6 Og % 16 == 0, 7 few rows, 8 wide depthwise, 9 Og % 16 == 0 and a longer batch
    int64_t G = 1, B = 1, I = pick(1, 9), Og = pick(1, 40), Nb = pick(1, 4);
    if (mode == 2) G = pick(2, 3), Og = pick(1, 12);
    if (mode == 3) G = pick(2, 40), I = 1, Og = 1;
    if (mode == 4) B = pick(2, 3), Og = pick(1, 12);
    if (mode == 5) I = pick(1, 4), Og = pick(1, 4), G = pick(0, 3) == 0 ? 2 : 1;  // tiny output
    if (mode == 6) Og = 16 * pick(1, 4), I = pick(1, 5), B = pick(0, 3) == 0 ? 2 : 1;  // whole vector blocks
    if (mode == 7) Og = 8 * pick(1, 5), I = pick(1, 3), Nb = pick(1, 40), B = pick(0, 3) == 0 ? 2 : 1;
    if (mode == 8) G = pick(60, 140), I = 1, Og = 1, Nb = pick(0, 2) == 0 ? 1 : pick(2, 5);  // blocks of whole pixels
    if (mode == 9) Og = 16 * pick(1, 4), I = pick(6, 20), Nb = pick(8, 24), B = pick(0, 3) == 0 ? 2 : 1;
    const int64_t C = G * I, O = std::max(G, B) * Og, N = B * Nb;
    Case cs;
    ConvGeometry& g = cs.g;
    g.N = C, g.C = N, g.O = O, g.I = Nb;
    g.feature_group_count = B, g.batch_group_count = G;
    g.lhs_size = S, g.kernel_size = Q, g.out_size = K;
    g.stride = rd, g.rhs_dilation = s, g.lhs_dilation = ld, g.pad_lo = lo;
    std::vector<int64_t> lshape{g.N, g.C}, rshape{g.O, g.I}, oshape{g.N / G, g.O};
    std::vector<size_t> lo_order{1}, ro_order{1}, oo_order;
    for (size_t i = 0; i < n; ++i) {
      lshape.push_back(S[i]), rshape.push_back(Q[i]), oshape.push_back(K[i]);
      lo_order.push_back(i + 2), ro_order.push_back(i + 2), oo_order.push_back(i + 2);
    }
    lo_order.push_back(0), ro_order.push_back(0), oo_order.push_back(0), oo_order.push_back(1);
    finish_case(cs, rng, 0);
    if (nhwc) {
      g.lhs_strides = dense_strides(lshape, lo_order);
      g.rhs_strides = dense_strides(rshape, ro_order);
      g.out_strides = dense_strides(oshape, oo_order);
      cs.rhs_origin = 0;
      cs.text = "weight gradient of NHWC/HWIO tensors (strides above replaced): " + cs.text;
    }
    return cs;
  }
}

}  // namespace

// The large-window path (weight gradients): long reductions crossing several blocks, row
// tiles mixing output positions, column remainders, groups of both kinds, lhs dilation.
TEST_CASE("conv kernel: weight-gradient geometries", "[conv_kernel]") {
  std::mt19937 rng(2024);
  for (int it = 0; it < 120; ++it) {
    const Case cs = weight_gradient_case(rng, it % 2 == 0);
    if (it % 3 == 0)
      check_case<double>(cs, rng, {ConvPath::Auto, ConvPath::Avx2, ConvPath::Generic});
    else
      check_case<float>(cs, rng, {ConvPath::Auto, ConvPath::Avx2, ConvPath::Generic});
  }
}

// Depthwise weight gradients in channels-last layouts: the group-vectorised path, with
// group counts that leave partial vector blocks.
TEST_CASE("conv kernel: depthwise weight-gradient geometries", "[conv_kernel]") {
  std::mt19937 rng(77);
  for (int it = 0; it < 40; ++it) {
    const Case cs = weight_gradient_case(rng, true, 3);
    if (it % 3 == 0)
      check_case<double>(cs, rng, {ConvPath::Auto, ConvPath::Avx2, ConvPath::Generic});
    else
      check_case<float>(cs, rng, {ConvPath::Auto, ConvPath::Avx2, ConvPath::Generic});
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
    if (it % 2 == 0)
      check_case<double>(cs, rng, {ConvPath::Auto, ConvPath::Avx2, ConvPath::Generic});
    else
      check_case<float>(cs, rng, {ConvPath::Auto, ConvPath::Avx2, ConvPath::Generic});
  }
  xlax::set_num_threads(saved_threads);
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
    if (it % 2)
      check_case<double>(cs, rng, {ConvPath::Auto, ConvPath::Avx2, ConvPath::Generic});
    else
      check_case<float>(cs, rng, {ConvPath::Auto, ConvPath::Avx2, ConvPath::Generic});
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
    if (it % 2)
      check_case<double>(cs, rng, {ConvPath::Auto, ConvPath::Avx2, ConvPath::Generic});
    else
      check_case<float>(cs, rng, {ConvPath::Auto, ConvPath::Avx2, ConvPath::Generic});
  }
}

// Weight gradients with a tiny output (few image channels and output features, as the
// tutorial's 3-channel image convs): the reduction-vectorised path.
TEST_CASE("conv kernel: tiny-output weight-gradient geometries", "[conv_kernel]") {
  std::mt19937 rng(909);
  for (int it = 0; it < 60; ++it) {
    const Case cs = weight_gradient_case(rng, it % 3 != 0, 5);
    if (it % 3 == 1)
      check_case<double>(cs, rng, {ConvPath::Auto, ConvPath::Avx2, ConvPath::Generic});
    else
      check_case<float>(cs, rng, {ConvPath::Auto, ConvPath::Avx2, ConvPath::Generic});
  }
}

// Channels-last weight gradients whose output features fill whole vector blocks: the
// cotangent is read in place as the GEMM's B matrix.
TEST_CASE("conv kernel: weight gradients with whole feature blocks", "[conv_kernel]") {
  std::mt19937 rng(4242);
  for (int it = 0; it < 30; ++it) {
    const Case cs = weight_gradient_case(rng, true, 6);
    if (it % 3 == 1)
      check_case<double>(cs, rng, {ConvPath::Auto, ConvPath::Avx2, ConvPath::Generic});
    else
      check_case<float>(cs, rng, {ConvPath::Auto, ConvPath::Avx2, ConvPath::Generic});
  }
}

// Channels-last weight gradients with whole feature blocks and a batch long enough to share
// among threads: feature planes staged with zero borders, partial sums per thread.
TEST_CASE("conv kernel: weight gradients over staged feature planes", "[conv_kernel]") {
  std::mt19937 rng(31337);
  for (int it = 0; it < 24; ++it) {
    const Case cs = weight_gradient_case(rng, true, 9);
    if (it % 3 == 1)
      check_case<double>(cs, rng, {ConvPath::Auto, ConvPath::Avx2, ConvPath::Generic});
    else
      check_case<float>(cs, rng, {ConvPath::Auto, ConvPath::Avx2, ConvPath::Generic});
  }
}

// Channels-last weight gradients of first layers (one to three image channels, long batch
// reductions): the whole output in a few register tiles, reduction chunks over the batch.
TEST_CASE("conv kernel: few-row weight-gradient geometries", "[conv_kernel]") {
  std::mt19937 rng(8128);
  for (int it = 0; it < 30; ++it) {
    const Case cs = weight_gradient_case(rng, it % 4 != 3, 7);
    if (it % 3 == 1)
      check_case<double>(cs, rng, {ConvPath::Auto, ConvPath::Avx2, ConvPath::Generic});
    else
      check_case<float>(cs, rng, {ConvPath::Auto, ConvPath::Avx2, ConvPath::Generic});
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
    if (it % 2)
      check_case<double>(cs, rng, {ConvPath::Auto, ConvPath::Avx2, ConvPath::Generic});
    else
      check_case<float>(cs, rng, {ConvPath::Auto, ConvPath::Avx2, ConvPath::Generic});
  }
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
        for (ConvPath path : {ConvPath::Auto, ConvPath::Avx2, ConvPath::Generic}) {
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
