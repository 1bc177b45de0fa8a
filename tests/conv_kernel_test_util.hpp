// Shared by the convolution-kernel tests: a naive reference written straight from
// docs/conv_semantics.md §1.4/§1.7, random seeded geometries in arbitrary layouts, and the check of
// one geometry through every instruction-set build.
#pragma once

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

#include "ops/kernels/conv/conv_kernel.hpp"
#include "ops/kernels/conv/dense_conv.hpp"

namespace conv_kernel_test {

using xlax::kernels::ConvGeometry;
using xlax::kernels::detail::ConvPath;

inline int64_t dil(int64_t d, int64_t r) { return d == 0 ? 0 : (d - 1) * r + 1; }

// A canonical-order array laid out with axes in `order` (outermost first) and optional
// gaps: strides are canonical-indexed, the buffer covers the whole span.
struct Layout {
  std::vector<int64_t> strides;
  int64_t span = 0;  // elements to allocate
};

inline Layout make_layout(const std::vector<int64_t>& shape, const std::vector<size_t>& order,
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

inline int64_t offset(const std::vector<int64_t>& idx, const std::vector<int64_t>& strides) {
  int64_t o = 0;
  for (size_t i = 0; i < idx.size(); ++i) o += idx[i] * strides[i];
  return o;
}

// Naive reference, long double, plus the sum of |terms| for a rounding-aware tolerance.
template <class T>
inline void reference(const ConvGeometry& g, const std::vector<T>& lhs, const T* rhs,
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
inline void check_case(const Case& cs, std::mt19937& rng, const std::vector<ConvPath>& paths,
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

// check_case through the Auto, Avx512 (forced), Avx2 and Generic builds, in double when f64 else in float.
inline void check_case_in(bool f64, const Case& cs, std::mt19937& rng, int nonfinite = 0) {
  const std::vector<ConvPath> builds{ConvPath::Auto, ConvPath::Avx512, ConvPath::Avx2, ConvPath::Generic};
  if (f64)
    check_case<double>(cs, rng, builds, nonfinite);
  else
    check_case<float>(cs, rng, builds, nonfinite);
}

inline std::string vec_str(const std::vector<int64_t>& v) {
  std::string s = "(";
  for (auto x : v) s += std::to_string(x) + ",";
  return s + ")";
}

// Fill strides and out_size of g from sizes, with random (or channels-last) layouts.
inline void finish_case(Case& cs, std::mt19937& rng, int layout_mode) {
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

inline Case random_case(std::mt19937& rng) {
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

inline const std::vector<ConvPath> kAllPaths{ConvPath::Auto, ConvPath::Avx512, ConvPath::Avx2, ConvPath::Generic, ConvPath::Scalar};

}  // namespace conv_kernel_test

namespace conv_kernel_test {

// Strides of a canonical-order shape laid out with axes in memory order `order`.
inline std::vector<int64_t> dense_strides(const std::vector<int64_t>& shape, const std::vector<size_t>& order) {
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
inline Case weight_gradient_case(std::mt19937& rng, bool nhwc, int force_mode = -1) {
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

}  // namespace conv_kernel_test
