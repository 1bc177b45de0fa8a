// The convolution kernel entry point: reduces a ConvGeometry to dense stride-phase problems,
// runs each through the build the dispatcher chooses, and keeps a scalar path for ranks
// beyond kMaxDenseDims (also the library's own oracle).
#include "ops/kernels/conv/conv_kernel.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdlib>
#include <new>
#include <atomic>
#include <numeric>
#include <stdexcept>
#include <string>

#include <xlax/core.hpp>

#include "ops/kernels/conv/dense_conv.hpp"
#include "ops/kernels/cpu_features.hpp"

namespace xlax::kernels {
namespace detail {

namespace {

std::atomic<ConvPath> g_path{ConvPath::Auto};

int64_t dilated(int64_t d, int64_t r) { return d == 0 ? 0 : (d - 1) * r + 1; }

void check_geometry(const ConvGeometry& g) {
  const size_t n = g.lhs_size.size();
  auto bad = [](const std::string& what) {
    throw std::invalid_argument("conv_general: inconsistent geometry: " + what);
  };
  if (g.kernel_size.size() != n || g.out_size.size() != n || g.stride.size() != n ||
      g.pad_lo.size() != n || g.lhs_dilation.size() != n || g.rhs_dilation.size() != n)
    bad("spatial vectors differ in length");
  if (g.lhs_strides.size() != n + 2 || g.rhs_strides.size() != n + 2 ||
      g.out_strides.size() != n + 2)
    bad("stride vectors must have n+2 entries");
  const int64_t G = g.feature_group_count, B = g.batch_group_count;
  if (G < 1 || B < 1 || (G > 1 && B > 1)) bad("group counts");
  if (g.O % G != 0 || g.O % B != 0 || g.C != G * g.I || g.N % B != 0) bad("group divisibility");
  for (size_t i = 0; i < n; ++i)
    if (g.stride[i] < 1 || g.lhs_dilation[i] < 1 || g.rhs_dilation[i] < 1 || g.lhs_size[i] < 0 ||
        g.kernel_size[i] < 0 || g.out_size[i] < 0)
      bad("spatial parameters");
}

// Straight from the definition (docs/conv_semantics.md §1.4, §1.7), any rank; lhs dilation by
// index test. Only used beyond kMaxDenseDims and as a test oracle inside the library.
template <class T>
void scalar_conv(const ConvGeometry& g, const T* lhs, const T* rhs, T* out, int num_threads) {
  const size_t n = g.lhs_size.size();
  const int64_t G = g.feature_group_count, Bg = g.batch_group_count;
  const int64_t Nout = g.N / Bg, O = g.O, Og = O / std::max(G, Bg);
  const int64_t Ci = g.I;
  int64_t positions = 1, ntaps = 1;
  for (size_t i = 0; i < n; ++i) positions *= g.out_size[i], ntaps *= g.kernel_size[i];
  const int64_t items = Nout * O;
  const int nt = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(num_threads, items)));
#pragma omp parallel for schedule(static) num_threads(nt)
  for (int64_t item = 0; item < items; ++item) {
    const int64_t b = item / O, o = item % O, grp = o / Og;
    const int64_t lb = Bg > 1 ? grp * Nout + b : b, c0 = G > 1 ? grp * Ci : 0;
    std::vector<int64_t> q(n, 0), j(n);
    for (int64_t pos = 0; pos < positions; ++pos) {
      T acc = 0;
      for (int64_t c = 0; c < Ci; ++c) {
        std::fill(j.begin(), j.end(), 0);
        for (int64_t t = 0; t < ntaps; ++t) {
          int64_t loff = lb * g.lhs_strides[0] + (c0 + c) * g.lhs_strides[1];
          int64_t roff = o * g.rhs_strides[0] + c * g.rhs_strides[1];
          bool inside = true;
          for (size_t i = 0; i < n && inside; ++i) {
            const int64_t u = q[i] * g.stride[i] + j[i] * g.rhs_dilation[i] - g.pad_lo[i];
            const int64_t ld = g.lhs_dilation[i];
            inside = u >= 0 && u < dilated(g.lhs_size[i], ld) && u % ld == 0;
            loff += (u / ld) * g.lhs_strides[i + 2];
            roff += j[i] * g.rhs_strides[i + 2];
          }
          if (inside) acc += lhs[loff] * rhs[roff];
          for (size_t i = n; i-- > 0;) {
            if (++j[i] < g.kernel_size[i]) break;
            j[i] = 0;
          }
        }
      }
      int64_t ooff = b * g.out_strides[0] + o * g.out_strides[1];
      for (size_t i = 0; i < n; ++i) ooff += q[i] * g.out_strides[i + 2];
      out[ooff] = acc;
      for (size_t i = n; i-- > 0;) {
        if (++q[i] < g.out_size[i]) break;
        q[i] = 0;
      }
    }
  }
}

// The dense problem of the whole geometry with groups folded into the group offsets; its
// per-dim fields are those of lhs dilation 1 (phases then adjust them).
template <class T>
DenseConv<T> base_problem(const ConvGeometry& g, const T* lhs, const T* rhs, T* out) {
  DenseConv<T> p;
  p.nd = static_cast<int>(g.lhs_size.size());
  const int64_t G = g.feature_group_count, Bg = g.batch_group_count;
  p.groups = std::max(G, Bg);
  p.N = g.N / Bg;
  p.Ci = g.I;
  p.Co = g.O / p.groups;
  p.lhs = lhs;
  p.rhs = rhs;
  p.out = out;
  p.lhs_n = g.lhs_strides[0];
  p.lhs_c = g.lhs_strides[1];
  p.rhs_o = g.rhs_strides[0];
  p.rhs_i = g.rhs_strides[1];
  p.out_n = g.out_strides[0];
  p.out_o = g.out_strides[1];
  p.lhs_group = Bg > 1 ? p.N * p.lhs_n : p.Ci * p.lhs_c;
  p.rhs_group = p.Co * p.rhs_o;
  p.out_group = p.Co * p.out_o;
  for (int i = 0; i < p.nd; ++i) {
    p.S[i] = g.lhs_size[i];
    p.K[i] = g.kernel_size[i];
    p.Q[i] = g.out_size[i];
    p.lhs_s[i] = g.lhs_strides[i + 2];
    p.rhs_k[i] = g.rhs_strides[i + 2];
    p.out_q[i] = g.out_strides[i + 2];
  }
  return p;
}

// One stride phase of one spatial dim: outputs q = q0 + t*q_step meet taps j = j0 + m*j_step
// only, at undilated input x = t*stride + m*rhs_dil - pad_lo.
struct DimPhase {
  int64_t q0, q_step, Q, j0, j_step, K, stride, rhs_dil, pad_lo;
};

// Lhs dilation ld: output q and tap j hit a real element iff (q*s + j*rd - lo) % ld == 0.
// That depends on q mod ld/gcd(s,ld) and j mod ld/gcd(rd,ld) only, so each residue class
// of q is a dense conv with the matching sub-kernel.
std::vector<DimPhase> dim_phases(int64_t S, int64_t K, int64_t Q, int64_t s, int64_t lo,
                                 int64_t ld, int64_t rd) {
  const int64_t q_step = ld / std::gcd(s, ld), j_step = ld / std::gcd(rd, ld);
  std::vector<DimPhase> phases;
  for (int64_t q0 = 0; q0 < std::min(q_step, Q); ++q0) {
    DimPhase ph{q0, q_step, (Q - q0 + q_step - 1) / q_step, 0, j_step, 0, s / std::gcd(s, ld),
                rd / std::gcd(rd, ld), 0};
    int64_t j0 = -1;
    for (int64_t j = 0; j < j_step && j < K; ++j) {
      const int64_t u = q0 * s + j * rd - lo;
      if (((u % ld) + ld) % ld == 0) {
        j0 = j;
        break;
      }
    }
    if (j0 >= 0) {
      ph.j0 = j0;
      ph.K = (K - j0 + j_step - 1) / j_step;
      const int64_t u0 = q0 * s + j0 * rd - lo;  // divisible by ld
      ph.pad_lo = -(u0 / ld);
    }
    phases.push_back(ph);
  }
  (void)S;
  return phases;
}

// The weight gradient of a transposed conv is a lhs-dilated conv whose lhs (the image) is
// far larger than its output (the kernel): split into stride phases, each phase reads the
// long rhs (the cotangent) at every ld-th element. Its dual reads both densely: with
// rhs dilation 1, out[q] = sum_j L~[q*s + j - lo] R[j] = sum_u L[u] R[ld*u - q*s + lo], so
// with q = Q-1-q' it is a conv of R (as lhs, batch O, features C) with L (as kernel, out
// features N) at rhs dilation ld, stride s, padding s*(Q-1) - lo, output spatially reversed.
// Taken when that dual is a large-window conv with little padding.
bool lhs_dilated_dual(const ConvGeometry& g, ConvGeometry& d) {
  const size_t n = g.lhs_size.size();
  if (g.feature_group_count != 1 || g.batch_group_count != 1 || n == 0) return false;
  bool dilated = false;
  double S = 1, Q = 1, reach = 1, K = 1;
  for (size_t i = 0; i < n; ++i) {
    if (g.rhs_dilation[i] != 1) return false;
    dilated = dilated || g.lhs_dilation[i] > 1;
    S *= static_cast<double>(g.lhs_size[i]);
    Q *= static_cast<double>(g.out_size[i]);
    K *= static_cast<double>(g.kernel_size[i]);
    // rhs extent the dual reads, padding included
    reach *= static_cast<double>(g.stride[i] * (g.out_size[i] - 1) + g.lhs_dilation[i] * (g.lhs_size[i] - 1) + 1);
  }
  if (!dilated || S < 16 * Q || reach > 1.5 * K) return false;
  d = ConvGeometry{};
  d.N = g.O, d.C = g.I, d.O = g.N, d.I = g.C;
  d.lhs_size = g.kernel_size, d.kernel_size = g.lhs_size, d.out_size = g.out_size;
  d.stride = g.stride, d.rhs_dilation = g.lhs_dilation;
  d.lhs_dilation.assign(n, 1);
  d.lhs_strides = g.rhs_strides, d.rhs_strides = g.lhs_strides;
  d.out_strides = {g.out_strides[1], g.out_strides[0]};
  for (size_t i = 0; i < n; ++i) {
    d.pad_lo.push_back(g.stride[i] * (g.out_size[i] - 1) - g.pad_lo[i]);
    d.out_strides.push_back(-g.out_strides[i + 2]);
  }
  return true;
}

// The dual multiplies border elements of the original lhs by padding zeros that the
// original conv never multiplies them by: it is taken only when those elements are finite
// (an inf there would make a NaN the original does not have). Scans the border slabs only.
template <class T>
bool dual_border_finite(const ConvGeometry& g, const ConvGeometry& d, const T* lhs) {
  const size_t n = g.lhs_size.size();
  std::vector<int64_t> first(n), end(n);  // interior u: every output reads the rhs in bounds
  for (size_t i = 0; i < n; ++i) {
    const int64_t ld = g.lhs_dilation[i], pad = d.pad_lo[i], K = g.kernel_size[i];
    const int64_t span = g.stride[i] * (g.out_size[i] - 1);
    first[i] = pad > 0 ? (pad + ld - 1) / ld : 0;
    const int64_t top = K - 1 - span + pad;  // ld*u <= top
    end[i] = top < 0 ? 0 : std::min(g.lhs_size[i], top / ld + 1);
  }
  std::vector<int64_t> lo(n + 2, 0), hi(n + 2), idx(n + 2);
  hi[0] = g.N, hi[1] = g.C;
  for (size_t i = 0; i < n; ++i) hi[i + 2] = g.lhs_size[i];
  for (size_t i = 0; i < n; ++i) {
    for (int side = 0; side < 2; ++side) {  // the slab below the interior, then above it
      std::vector<int64_t> a = lo, b = hi;
      a[i + 2] = side == 0 ? 0 : std::max(first[i], end[i]);
      b[i + 2] = side == 0 ? std::min(first[i], g.lhs_size[i]) : g.lhs_size[i];
      bool empty = false;
      for (size_t k = 0; k < n + 2; ++k) empty = empty || a[k] >= b[k];
      if (empty) continue;
      idx = a;
      for (;;) {
        int64_t off = 0;
        for (size_t k = 0; k < n + 2; ++k) off += idx[k] * g.lhs_strides[k];
        if (!std::isfinite(lhs[off])) return false;
        size_t k = n + 2;
        while (k-- > 0 && ++idx[k] == b[k]) idx[k] = a[k];
        if (k == size_t(-1)) break;
      }
    }
  }
  return true;
}

}  // namespace

void set_conv_path(ConvPath path) { g_path.store(path); }

namespace {

// The stack grows (when idle) to the largest demand seen up to kScratchKeep; what does not
// fit meanwhile, or is larger, is a heap block of its own.
constexpr size_t kScratchKeep = size_t(4) << 20;

struct ScratchStack {
  char* base = nullptr;
  size_t capacity = 0, top = 0, demand = 0;
  ~ScratchStack() { std::free(base); }
};
thread_local ScratchStack t_scratch;

size_t round_up_64(int64_t bytes) { return (static_cast<size_t>(std::max<int64_t>(bytes, 1)) + 63) & ~size_t(63); }

}  // namespace

// AddressSanitizer builds give every block its own heap allocation, so that overruns of a
// scratch buffer are caught instead of landing in the next block of the stack.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kScratchStack = false;
#else
constexpr bool kScratchStack = true;
#endif

void* scratch_acquire(int64_t bytes) {
  ScratchStack& s = t_scratch;
  const size_t n = round_up_64(bytes);
  if (!kScratchStack) {
    void* block = std::aligned_alloc(64, n);
    if (!block) throw std::bad_alloc();
    return block;
  }
  if (s.top == 0 && std::min(s.demand, kScratchKeep) > s.capacity) {
    std::free(s.base);
    s.capacity = std::min(s.demand, kScratchKeep);
    s.base = static_cast<char*>(std::aligned_alloc(64, s.capacity));
    if (!s.base) s.capacity = 0;
  }
  if (s.top + n <= s.capacity) {
    void* block = s.base + s.top;
    s.top += n;
    return block;
  }
  s.demand = std::max(s.demand, s.top + n);
  void* block = std::aligned_alloc(64, n);
  if (!block) throw std::bad_alloc();
  return block;
}

void scratch_release(void* block, int64_t bytes) {
  ScratchStack& s = t_scratch;
  char* b = static_cast<char*>(block);
  if (s.base && b >= s.base && b < s.base + s.capacity) {
    assert(b + round_up_64(bytes) == s.base + s.top && "scratch released out of order");
    s.top = static_cast<size_t>(b - s.base);
  } else {
    std::free(block);
  }
}

}  // namespace detail

template <class T>
void conv_general(const ConvGeometry& g, const T* lhs, const T* rhs, T* out) {
  using namespace detail;
  check_geometry(g);
  const int n = static_cast<int>(g.lhs_size.size());
  const int64_t Nout = g.N / g.batch_group_count;
  int64_t positions = Nout * g.O;
  for (int i = 0; i < n; ++i) positions *= g.out_size[i];
  if (positions == 0) return;  // nothing to write
  const int num_threads = std::max(1, xlax::get_num_threads());
  const ConvPath path = g_path.load();
  if (path == ConvPath::Scalar || n > kMaxDenseDims) {
    scalar_conv(g, lhs, rhs, out, num_threads);
    return;
  }
  if (ConvGeometry dual; lhs_dilated_dual(g, dual) && dual_border_finite(g, dual, lhs)) {
    T* out_first = out;  // out'[q'] = out[Q-1-q']
    for (int i = 0; i < n; ++i) out_first += (g.out_size[i] - 1) * g.out_strides[i + 2];
    conv_general(dual, rhs, lhs, out_first);
    return;
  }
  // The widest build allowed (ConvPath is the conv tests' hook, kernel_isa the shared one).
  Isa widest = kernel_isa();
  if (path == ConvPath::Generic) widest = Isa::Baseline;
  if (path == ConvPath::Avx2 && widest == Isa::Avx512) widest = Isa::Avx2;

  const DenseConv<T> base = base_problem(g, lhs, rhs, out);
  auto run_in = [](Isa build, const DenseConv<T>& p, int threads) {
    switch (build) {
      case Isa::Avx512: dense_conv_avx512(p, threads); return;
      case Isa::Avx2: dense_conv_avx2(p, threads); return;
      case Isa::Baseline: dense_conv_generic(p, threads); return;
    }
  };
  auto run = [&](const DenseConv<T>& p, int threads) {
    const Isa build = path == ConvPath::Avx512 && widest == Isa::Avx512
                          ? Isa::Avx512
                          : choose_build(p, widest, threads);
    if (line_phases_stay_together(p, build, threads)) {
      run_in(build, p, threads);
      return;
    }
    for (int f = 0; f < p.last_phases; ++f) run_in(build, single_phase(p, f), threads);
  };
  if (std::all_of(g.lhs_dilation.begin(), g.lhs_dilation.end(), [](int64_t d) { return d == 1; })) {
    DenseConv<T> p = base;  // one phase: no tables to build
    for (int i = 0; i < n; ++i) p.stride[i] = g.stride[i], p.rhs_dil[i] = g.rhs_dilation[i], p.pad_lo[i] = g.pad_lo[i];
    run(p, num_threads);
    return;
  }
  std::vector<std::vector<DimPhase>> phases(n);
  for (int i = 0; i < n; ++i)
    phases[i] = dim_phases(g.lhs_size[i], g.kernel_size[i], g.out_size[i], g.stride[i],
                           g.pad_lo[i], g.lhs_dilation[i], g.rhs_dilation[i]);
  size_t all_phases = 1;
  for (int i = 0; i < n; ++i) all_phases *= phases[i].size();
  // With at least as many phases as threads, whole phases run side by side, one thread each:
  // no per-phase parallel region, barrier or partial sums. Phases interleave their output
  // positions along the split dims, so only when each position's block spans whole cache
  // lines (no two threads writing one line), e.g. channels-last outputs of 16+ floats.
  bool side_by_side = num_threads > 1 && all_phases >= size_t(num_threads);
  for (int i = 0; i < n && side_by_side; ++i)
    if (phases[i].size() > 1)
      side_by_side = std::abs(g.out_strides[i + 2]) * static_cast<int64_t>(sizeof(T)) >= 64;
  // Otherwise the last dim's phases stay in one problem (see DenseConv::last_phases) when few.
  const int v = n - 1;
  const size_t line_phases = phases[v].size();
  const bool together = !side_by_side && line_phases > 1 && line_phases <= size_t(kMaxLinePhases);
  size_t combos = 1;
  for (int i = 0; i < n; ++i)
    if (!(together && i == v)) combos *= phases[i].size();
  std::vector<DenseConv<T>> problems;
  problems.reserve(combos);
  for (size_t combo = 0; combo < combos; ++combo) {
    DenseConv<T> p = base;
    size_t rem = combo;
    for (int i = n - 1; i >= 0; --i) {
      if (together && i == v) {
        const DimPhase& first = phases[i][0];
        p.last_phases = static_cast<int>(line_phases);
        p.last_q_step = first.q_step;
        p.stride[i] = first.stride;
        p.rhs_dil[i] = first.rhs_dil;
        p.rhs_k[i] = base.rhs_k[i] * first.j_step;
        p.Q[i] = p.K[i] = 0;
        for (size_t f = 0; f < line_phases; ++f) {
          const DimPhase& ph = phases[i][f];
          p.phase_Q[f] = ph.Q;
          p.phase_K[f] = ph.K;
          p.phase_pad_lo[f] = ph.pad_lo;
          p.phase_rhs[f] = ph.j0 * base.rhs_k[i];
          p.Q[i] = std::max(p.Q[i], ph.Q);
          p.K[i] = std::max(p.K[i], ph.K);
        }
        p.pad_lo[i] = p.phase_pad_lo[0];
        continue;
      }
      const DimPhase& ph = phases[i][rem % phases[i].size()];
      rem /= phases[i].size();
      p.Q[i] = ph.Q;
      p.K[i] = ph.K;
      p.stride[i] = ph.stride;
      p.rhs_dil[i] = ph.rhs_dil;
      p.pad_lo[i] = ph.pad_lo;
      p.rhs = p.rhs + ph.j0 * base.rhs_k[i];
      p.rhs_k[i] = base.rhs_k[i] * ph.j_step;
      p.out = p.out + ph.q0 * base.out_q[i];
      p.out_q[i] = base.out_q[i] * ph.q_step;
    }
    problems.push_back(p);
  }
  if (side_by_side) {
    // (dynamic: phases differ in taps; each is computed whole by one thread, so results do
    // not depend on the schedule)
    const int nt = static_cast<int>(std::min<size_t>(num_threads, problems.size()));
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
    for (size_t k = 0; k < problems.size(); ++k) run(problems[k], 1);
    return;
  }
  for (const DenseConv<T>& p : problems) run(p, num_threads);
}

template void conv_general<float>(const ConvGeometry&, const float*, const float*, float*);
template void conv_general<double>(const ConvGeometry&, const double*, const double*, double*);

}  // namespace xlax::kernels
