// Internal, per instruction-set build: the toolkit every DenseConv path uses: scoped
// scratch arrays, one parallel-region helper, the tap table and output-row cursors, the
// register tile of the broadcast micro-kernels, and weight packing for the implicit GEMMs.
// Written once over xsimd's default architecture and compiled once per instruction set: the
// including unit defines XLAX_CONV_IMPL_NS to a namespace of its own, so that no symbol
// (template instantiations included) is shared between units built with different -m
// flags. Avoid std containers here for the same reason.
#pragma once

#ifndef XLAX_CONV_IMPL_NS
#error "define XLAX_CONV_IMPL_NS (the build's namespace) before including a conv kernel header"
#endif

#include <cstdint>
#include <omp.h>
#include <xsimd/xsimd.hpp>

#include "ops/kernels/conv/dense_conv.hpp"
#include "ops/kernels/simd.hpp"  // fma_op, store_stream, stream_fence

namespace xlax::kernels::detail::XLAX_CONV_IMPL_NS {

using Arch = xsimd::default_arch;

// Array owned by one scope, taken from the thread's scratch stack (so scopes must release
// in reverse order, which scoped objects do); zero-initialised unless the owner writes every
// element before reading it (Uninitialized). Never null, so &s[0] is valid for n = 0.
// T must be trivial (numbers and pointers).
enum class Uninitialized { tag };
template <class T>
struct Scratch {
  T* data;
  int64_t bytes;
  explicit Scratch(int64_t n) : Scratch(n, Uninitialized::tag) {
    __builtin_memset(data, 0, static_cast<size_t>(bytes));
  }
  Scratch(int64_t n, Uninitialized)
      : data(nullptr), bytes(static_cast<int64_t>(sizeof(T)) * (n > 0 ? n : 1)) {
    data = static_cast<T*>(scratch_acquire(bytes));
  }
  ~Scratch() { scratch_release(data, bytes); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  T& operator[](int64_t i) { return data[i]; }
};

// Runs body() on nt threads, or directly on this one: an OpenMP region costs a team set-up
// even when it runs serially, which a tiny conv feels. Worksharing loops inside body are
// orphaned `omp for`s, so they work either way.
// Inside another parallel region (phases run side by side) a team of one is still needed, so
// that the orphaned loops bind to it rather than to the outer team.
template <class Body>
void parallel_region(int nt, const Body& body) {
  if (nt <= 1 && !omp_in_parallel()) {
    body();
    return;
  }
#pragma omp parallel num_threads(nt)
  body();
}

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
// Local min/max/fill: std:: template instantiations would be shared across the builds.
inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
inline int64_t max64(int64_t a, int64_t b) { return a < b ? b : a; }

// Threads for a pass of `flops` split into `work_units` independent units: one below
// 2e5 FLOPs (a parallel region costs more than it saves there), else as many as asked but
// no more than there are units.
inline int threads_for(double flops, int64_t work_units, int num_threads) {
  return static_cast<int>(max64(1, min64(flops < 2e5 ? 1 : num_threads, work_units)));
}
template <class T>
void fill_zero(T* p, int64_t n) {
  for (int64_t i = 0; i < n; ++i) p[i] = T(0);
}

// E x K vector sums kept in memory between passes (acc[(e*K + k)*L ..]): loaded into
// registers before a pass, stored after it.
template <class B, int E, int K>
__attribute__((always_inline)) inline void load_sums(B (&a)[E][K], const typename B::value_type* acc) {
  constexpr int64_t L = B::size;
#pragma GCC unroll 8
  for (int e = 0; e < E; ++e)
#pragma GCC unroll 4
    for (int k = 0; k < K; ++k) a[e][k] = B::load_unaligned(acc + (e * K + k) * L);
}
template <class B, int E, int K>
__attribute__((always_inline)) inline void store_sums(const B (&a)[E][K], typename B::value_type* acc) {
  constexpr int64_t L = B::size;
#pragma GCC unroll 8
  for (int e = 0; e < E; ++e)
#pragma GCC unroll 4
    for (int k = 0; k < K; ++k) a[e][k].store_unaligned(acc + (e * K + k) * L);
}

// Flattened kernel taps (row-major over kernel dims): lhs element offset and per-dim
// coordinate offset j_i*rd_i of each tap.
struct TapTable {
  int64_t count = 1;
  Scratch<int64_t> lhs_offset, coord;
  template <class T>
  explicit TapTable(const DenseConv<T>& p)
      : count(tap_count(p)), lhs_offset(count), coord(count * p.nd) {
    int64_t j[kMaxDenseDims] = {};
    for (int64_t t = 0; t < count; ++t) {
      int64_t off = 0;
      for (int i = 0; i < p.nd; ++i) {
        coord[t * p.nd + i] = j[i] * p.rhs_dil[i];
        off += j[i] * p.rhs_dil[i] * p.lhs_s[i];
      }
      lhs_offset[t] = off;
      for (int i = p.nd - 1; i >= 0; --i) {  // odometer, last dim fastest
        if (++j[i] < p.K[i]) break;
        j[i] = 0;
      }
    }
  }
  template <class T>
  static int64_t tap_count(const DenseConv<T>& p) {
    int64_t c = 1;
    for (int i = 0; i < p.nd; ++i) c *= p.K[i];
    return c;
  }
};

// Output rows: the flattened (n, q_0..q_{nd-1}) positions of one group, decoded in order.
template <class T>
struct RowCursor {
  const DenseConv<T>& p;
  int64_t n = 0, q[kMaxDenseDims] = {};
  RowCursor(const DenseConv<T>& conv, int64_t row) : p(conv) {
    int64_t rem = row;
    for (int i = p.nd - 1; i >= 0; --i) {
      q[i] = rem % p.Q[i];
      rem /= p.Q[i];
    }
    n = rem;
  }
  void next() {
    for (int i = p.nd - 1; i >= 0; --i) {
      if (++q[i] < p.Q[i]) return;
      q[i] = 0;
    }
    ++n;
  }
  // Input coordinate of tap 0 per dim, lhs offset of tap 0, output offset.
  void describe(int64_t* x0, int64_t& lhs_off, int64_t& out_off) const {
    lhs_off = n * p.lhs_n;
    out_off = n * p.out_n;
    for (int i = 0; i < p.nd; ++i) {
      x0[i] = q[i] * p.stride[i] - p.pad_lo[i];
      lhs_off += x0[i] * p.lhs_s[i];
      out_off += q[i] * p.out_q[i];
    }
  }
  // True when every tap of this row lands inside the lhs.
  static bool interior(const DenseConv<T>& p, const int64_t* x0) {
    for (int i = 0; i < p.nd; ++i)
      if (p.K[i] > 0 && (x0[i] < 0 || x0[i] + (p.K[i] - 1) * p.rhs_dil[i] >= p.S[i])) return false;
    return true;
  }
};

// One output line of a line-by-line path: every position along the last spatial dim for
// group g, batch row n and outer position q[0 .. nd-2]. Lines are numbered
// ((g * N + n) * outer_lines + outer index), outer dims row-major.
template <class T>
struct OutputLine {
  int64_t image;  // g * N + n
  int64_t g, n, q[kMaxDenseDims] = {};
  const T* lhs;   // lhs of (g, n)
  T* out;         // out of (g, n, q): the line's first position
  OutputLine(const DenseConv<T>& p, int64_t line) {
    int64_t rem = line;
    for (int i = p.nd - 2; i >= 0; --i) {
      q[i] = rem % p.Q[i];
      rem /= p.Q[i];
    }
    image = rem, n = rem % p.N, g = rem / p.N;
    lhs = p.lhs + g * p.lhs_group + n * p.lhs_n;
    out = p.out + g * p.out_group + n * p.out_n;
    for (int i = 0; i < p.nd - 1; ++i) out += q[i] * p.out_q[i];
  }
};

inline bool tap_inside(const int64_t* x0, const int64_t* coord, const int64_t* S, int nd) {
  for (int i = 0; i < nd; ++i)
    if (static_cast<uint64_t>(x0[i] + coord[i]) >= static_cast<uint64_t>(S[i])) return false;
  return true;
}

// The register tile of the broadcast micro-kernels: MR rows x NV vectors of accumulators,
// each reduction step adding x_r * w[0 .. NV*L) with x_r = p[r][off].
template <class T, int MR, int NV>
struct RegisterTile {
  using B = xsimd::batch<T, Arch>;
  static constexpr int L = static_cast<int>(B::size);
  B a[MR][NV];
  // From dst (accumulate) or zeros.
  __attribute__((always_inline)) RegisterTile(T* const* dst, bool accumulate) {
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) a[r][v] = accumulate ? B::load_unaligned(dst[r] + v * L) : B(T(0));
  }
  // One reduction step: row r += value(r) * w[0..NR), value(r) called for r = 0..MR-1 in order.
  template <class RowValue>
  __attribute__((always_inline)) void step(const T* w, RowValue value) {
    B wv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) wv[v] = B::load_unaligned(w + v * L);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const B x(value(r));
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) a[r][v] = fma_op(x, wv[v], a[r][v]);
    }
  }
  __attribute__((always_inline)) void step(const T* const* p, int64_t off, const T* w) {
    step(w, [&](int r) { return p[r][off]; });
  }
  __attribute__((always_inline)) void store(T* const* dst) const {
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) a[r][v].store_unaligned(dst[r] + v * L);
  }
  // Rows dst_step apart from dst.
  __attribute__((always_inline)) void store(T* dst, int64_t dst_step) const {
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r, dst += dst_step)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) a[r][v].store_unaligned(dst + v * L);
  }
};

// Interior tiles with unit feature stride: one loop over flattened (tap, feature) with
// lhs(k, r) = base[r][flat_offset[k]] (indexed loads, no per-tap pointer set-up; matters
// when there are few input features). Weight rows k are w_stride apart.
template <class T, int MR, int NV>
void micro_kernel_flat(const T* const* base, const int64_t* flat_offset, int64_t nk, const T* w,
                       T* const* dst, bool accumulate,
                       int64_t w_stride = NV * xsimd::batch<T, Arch>::size) {
  RegisterTile<T, MR, NV> tile(dst, accumulate);
  const T* p[MR];  // (a local copy: row pointers stay in registers)
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) p[r] = base[r];
  for (int64_t k = 0; k < nk; ++k, w += w_stride) tile.step(p, flat_offset[k], w);
  tile.store(dst);
}

// The real taps of one dim: taps u < K read input x0 + u*rd, inside the lhs for u in
// [first, end) (first == end when none).
struct TapRange {
  int64_t first, end;
};
inline TapRange real_taps(int64_t x0, int64_t rd, int64_t K, int64_t S) {
  const int64_t first = x0 >= 0 ? 0 : min64(K, ceil_div(-x0, rd));
  const int64_t end = x0 < S ? min64(K, ceil_div(S - x0, rd)) : 0;
  return {min64(first, end), end};
}

// rhs element offset of flattened kernel tap t, row-major over kernel dims 0..dims-1 (dims
// = nd for all taps, nd - 1 for a line path's outer taps).
template <class T>
int64_t tap_rhs_offset(const DenseConv<T>& p, int64_t t, int dims) {
  int64_t off = 0;
  for (int i = dims - 1; i >= 0; --i) {
    off += (t % p.K[i]) * p.rhs_k[i];
    t /= p.K[i];
  }
  return off;
}

// Weights packed for the implicit GEMM: dst[group][cblock][tap][c][NR], zero beyond Co.
template <class T>
void pack_gemm_weights(const DenseConv<T>& p, int64_t NR, T* dst) {
  const int64_t ntaps = TapTable::tap_count(p), Ci = p.Ci, Co = p.Co;
  const int64_t cblocks = ceil_div(Co, NR), wblock = ntaps * Ci * NR;
  for (int64_t g = 0; g < p.groups; ++g) {
    const T* rg = p.rhs + g * p.rhs_group;
    for (int64_t t = 0; t < ntaps; ++t) {
      const int64_t koff = tap_rhs_offset(p, t, p.nd);
      for (int64_t cb = 0; cb < cblocks; ++cb) {
        T* d = dst + (g * cblocks + cb) * wblock + t * Ci * NR;
        const int64_t cols = min64(NR, Co - cb * NR);
        for (int64_t c = 0; c < Ci; ++c) {
          const T* src = rg + cb * NR * p.rhs_o + koff + c * p.rhs_i;
          for (int64_t o = 0; o < cols; ++o) d[c * NR + o] = src[o * p.rhs_o];
          for (int64_t o = cols; o < NR; ++o) d[c * NR + o] = T(0);
        }
      }
    }
  }
}

// Output positions of one image and group (product of Q), and output rows (times N).
template <class T>
int64_t output_positions(const DenseConv<T>& p) {
  int64_t positions = 1;
  for (int i = 0; i < p.nd; ++i) positions *= p.Q[i];
  return positions;
}

// A window much larger than the output, as weight gradients have: long reductions per
// output position. Several paths apply only to (or only outside) such problems.
template <class T>
bool is_large_window(const DenseConv<T>& p) {
  const int64_t taps = TapTable::tap_count(p);
  return taps >= 16 * output_positions(p) && taps * p.Ci >= 64;
}

// Row-major index over the outer dims 0..nd-2 (extents e) to coordinates c.
inline void decode_outer(int64_t index, const int64_t* e, int nd, int64_t* c) {
  for (int i = nd - 2; i >= 0; --i) {
    c[i] = index % e[i];
    index /= e[i];
  }
}

// The lhs row (outer dims 0..nd-2) where output outer position q meets kernel outer tap j:
// x_i = q_i*s_i + j_i*rd_i - lo_i. True when every x_i lies inside the lhs; lhs_offset gets
// sum x_i * lhs_s_i, and flat (when given) the row-major index of x over S_0..S_{nd-2}.
template <class T>
bool outer_row_inside(const DenseConv<T>& p, const int64_t* q, const int64_t* j,
                      int64_t& lhs_offset, int64_t* flat = nullptr) {
  bool inside = true;
  int64_t off = 0, xflat = 0;
  for (int i = 0; i < p.nd - 1; ++i) {
    const int64_t x = q[i] * p.stride[i] + j[i] * p.rhs_dil[i] - p.pad_lo[i];
    inside = inside && x >= 0 && x < p.S[i];
    off += x * p.lhs_s[i];
    xflat = xflat * p.S[i] + x;
  }
  lhs_offset = off;
  if (flat) *flat = xflat;
  return inside;
}

}  // namespace xlax::kernels::detail::XLAX_CONV_IMPL_NS
