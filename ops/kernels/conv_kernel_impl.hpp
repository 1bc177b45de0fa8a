// Internal: the DenseConv paths, written once over xsimd's default architecture and compiled
// once per instruction set. The including unit defines XLAX_CONV_IMPL_NS to a namespace name
// of its own so that no symbol (template instantiations included) is shared between units
// built with different -m flags. Avoid std containers here for the same reason.
#pragma once

#ifndef XLAX_CONV_IMPL_NS
#error "define XLAX_CONV_IMPL_NS before including conv_kernel_impl.hpp"
#endif

#include <cstdint>
#include <omp.h>
#include <xsimd/xsimd.hpp>

#include "ops/kernels/conv_kernel_internal.hpp"
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

// Phase f of a problem with last-dim phases, as a problem of its own (per build: an
// instantiation shared between builds could carry another build's instructions).
template <class T>
DenseConv<T> single_phase(const DenseConv<T>& p, int f) {
  DenseConv<T> q = p;
  const int v = p.nd - 1;
  q.last_phases = 1;
  q.last_q_step = 1;
  q.Q[v] = p.phase_Q[f];
  q.K[v] = p.phase_K[f];
  q.pad_lo[v] = p.phase_pad_lo[f];
  q.rhs = p.rhs + p.phase_rhs[f];
  q.out = p.out + f * p.out_q[v];
  q.out_q[v] = p.out_q[v] * p.last_q_step;
  return q;
}

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
// Local min/max/fill: std:: template instantiations would be shared across the builds.
inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
inline int64_t max64(int64_t a, int64_t b) { return a < b ? b : a; }
template <class T>
void fill_zero(T* p, int64_t n) {
  for (int64_t i = 0; i < n; ++i) p[i] = T(0);
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

// ---------------------------------------------------------------------------------------
// Implicit GEMM: rows = output positions, columns = output features, reduction over
// (tap, input feature). Weights are packed per NR-wide column block; lhs values are
// broadcast straight from the input. Tiles whose rows see only real taps address the lhs as
// row base + tap offset; other tiles use a per-(tap, row) pointer table in which taps that
// fall into the padding point at zeros.

// Where one micro-tile reads its lhs values: lhs(t, r, c) =
//   Table, UnitC: table[t*MR + r][c]; Table, !UnitC: table[t*MR + r][c * cstride[t*MR + r]]
//   Offsets:      base[r][tap_offset[t] + c * lhs_c]
template <class T>
struct TileSource {
  const T* const* table = nullptr;
  const int64_t* cstride = nullptr;
  const T* const* base = nullptr;
  const int64_t* tap_offset = nullptr;
  int64_t lhs_c = 1;
};

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

// dst[r][0..NR) (+)= sum over taps t < ntaps and c < ci of lhs(t, r, c) * w[t][c][0..NR).
template <class T, int MR, int NV, bool Offsets, bool UnitC>
void micro_kernel(const TileSource<T>& src, int64_t ntaps, int64_t ci, const T* w,
                  T* const* dst, bool accumulate) {
  constexpr int64_t NR = NV * static_cast<int64_t>(xsimd::batch<T, Arch>::size);
  RegisterTile<T, MR, NV> tile(dst, accumulate);
  const int64_t cs_all = src.lhs_c;
  for (int64_t t = 0; t < ntaps; ++t) {
    const T* p[MR];
    int64_t cs[MR];
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      if constexpr (Offsets) {
        p[r] = src.base[r] + src.tap_offset[t];
      } else {
        p[r] = src.table[t * MR + r];
        if constexpr (!UnitC) cs[r] = src.cstride[t * MR + r];
      }
    }
    for (int64_t c = 0; c < ci; ++c, w += NR)
      tile.step(w, [&](int r) {
        if constexpr (UnitC) {
          return p[r][c];
        } else if constexpr (Offsets) {
          return p[r][c * cs_all];
        } else {
          const T x = *p[r];
          p[r] += cs[r];
          return x;
        }
      });
  }
  tile.store(dst);
}

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

// Weights packed for the implicit GEMM: dst[group][cblock][tap][c][NR], zero beyond Co.
template <class T>
void pack_gemm_weights(const DenseConv<T>& p, int64_t NR, T* dst) {
  const int64_t ntaps = TapTable::tap_count(p), Ci = p.Ci, Co = p.Co;
  const int64_t cblocks = ceil_div(Co, NR), wblock = ntaps * Ci * NR;
  for (int64_t g = 0; g < p.groups; ++g) {
    const T* rg = p.rhs + g * p.rhs_group;
    for (int64_t t = 0; t < ntaps; ++t) {
      int64_t rem = t, koff = 0;
      for (int i = p.nd - 1; i >= 0; --i) {
        koff += (rem % p.K[i]) * p.rhs_k[i];
        rem /= p.K[i];
      }
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

// Whether some output row's window meets padding (gemm_conv then needs pointer tables).
template <class T>
bool window_meets_padding(const DenseConv<T>& p) {
  for (int i = 0; i < p.nd; ++i)
    if (p.pad_lo[i] > 0 || (p.Q[i] - 1) * p.stride[i] + (p.K[i] - 1) * p.rhs_dil[i] - p.pad_lo[i] >= p.S[i])
      return true;
  return false;
}

template <class T, int MR, int NV>
void gemm_conv(const DenseConv<T>& p, int num_threads) {
  constexpr int64_t NR = NV * static_cast<int64_t>(xsimd::batch<T, Arch>::size);
  constexpr int64_t kTilesPerChunk = 8;  // rows sharing one pass over the packed weights
  constexpr int64_t kChunkRows = MR * kTilesPerChunk;
  const int nd = p.nd;
  const int64_t Ci = p.Ci, Co = p.Co;
  const TapTable taps(p);
  const int64_t ntaps = taps.count;
  int64_t rows = p.N;
  for (int i = 0; i < nd; ++i) rows *= p.Q[i];
  const int64_t cblocks = ceil_div(Co, NR);
  const int64_t wblock = ntaps * Ci * NR;  // one packed column block
  // Taps per pointer table, so the table stays small for huge kernels (weight gradients).
  const int64_t tap_block = max64(1, min64(ntaps, 4096 / kChunkRows));
  const bool one_block = ntaps <= tap_block;

  Scratch<T> wpack(p.groups * cblocks * wblock, Uninitialized::tag);
  pack_gemm_weights(p, NR, wpack.data);

  const bool unit_c = p.lhs_c == 1 || Ci <= 1;
  Scratch<T> zeros(max64(Ci, 1));  // target of padded taps
  const bool use_flat = unit_c && ntaps * Ci <= (int64_t(1) << 16);
  Scratch<int64_t> flat_offset(use_flat ? ntaps * Ci : 0);
  if (use_flat)
    for (int64_t t = 0; t < ntaps; ++t)
      for (int64_t c = 0; c < Ci; ++c) flat_offset[t * Ci + c] = taps.lhs_offset.data[t] + c;
  const int64_t chunks = ceil_div(rows, kChunkRows);
  const int64_t tasks = p.groups * chunks;
  const double flops = 2.0 * static_cast<double>(rows) * p.groups * Co * Ci * ntaps;
  const int nt = static_cast<int>(max64(1, min64(flops < 2e5 ? 1 : num_threads, tasks)));

  parallel_region(nt, [&] {
    Scratch<const T*> table(kChunkRows * tap_block);
    Scratch<int64_t> ctable(unit_c ? 0 : kChunkRows * tap_block);
    Scratch<T> acc(kTilesPerChunk * cblocks * MR * NR);
    Scratch<int64_t> row_x0(kChunkRows * nd), row_lhs(kChunkRows), row_out(kChunkRows);
    Scratch<const T*> row_base(kChunkRows);
    Scratch<char> tile_interior(kTilesPerChunk), tile_direct(kTilesPerChunk * cblocks);

#pragma omp for schedule(static)
    for (int64_t task = 0; task < tasks; ++task) {
      const int64_t g = task / chunks, m0 = (task % chunks) * kChunkRows;
      const int64_t mrows = min64(kChunkRows, rows - m0);
      const int64_t tiles = ceil_div(mrows, MR);
      const T* lhs = p.lhs + g * p.lhs_group;
      T* out = p.out + g * p.out_group;
      RowCursor<T> cur(p, m0);
      for (int64_t tile = 0; tile < tiles; ++tile) tile_interior[tile] = 1;
      for (int64_t r = 0; r < tiles * MR; ++r) {
        if (r < mrows) {
          cur.describe(&row_x0[r * nd], row_lhs[r], row_out[r]);
          if (!RowCursor<T>::interior(p, &row_x0[r * nd])) tile_interior[r / MR] = 0;
          row_base[r] = lhs + row_lhs[r];
          cur.next();
        } else {
          tile_interior[r / MR] = 0;
          row_base[r] = zeros.data;
        }
      }

      for (int64_t t0 = 0; t0 < ntaps || t0 == 0; t0 += tap_block) {
        const int64_t tb = min64(tap_block, ntaps - t0);
        // Pointer table [tile][tap][MR] for tiles that meet padding.
        for (int64_t r = 0; r < tiles * MR; ++r) {
          if (tile_interior[r / MR]) continue;
          const T** trow = table.data + (r / MR) * tb * MR + r % MR;
          int64_t* crow = unit_c ? nullptr : ctable.data + (r / MR) * tb * MR + r % MR;
          for (int64_t t = 0; t < tb; ++t) {
            const bool inside = r < mrows && tap_inside(&row_x0[r * nd],
                                                        &taps.coord.data[(t0 + t) * nd], p.S, nd);
            trow[t * MR] = inside ? row_base[r] + taps.lhs_offset.data[t0 + t] : zeros.data;
            if (!unit_c) crow[t * MR] = inside ? p.lhs_c : 0;
          }
        }
        for (int64_t cb = 0; cb < cblocks; ++cb) {
          const T* w = wpack.data + (g * cblocks + cb) * wblock + t0 * Ci * NR;
          const bool full_cols = (cb + 1) * NR <= Co;
          for (int64_t tile = 0; tile < tiles; ++tile) {
            // Full tiles of a single tap block go straight to a unit-stride output.
            const bool direct = one_block && full_cols && p.out_o == 1 && (tile + 1) * MR <= mrows;
            tile_direct[tile * cblocks + cb] = direct;
            T* dst[MR];
            for (int r = 0; r < MR; ++r)
              dst[r] = direct ? out + row_out[tile * MR + r] + cb * NR
                              : acc.data + ((tile * cblocks + cb) * MR + r) * NR;
            TileSource<T> src;
            src.lhs_c = p.lhs_c;
            src.table = table.data + tile * tb * MR;
            src.cstride = unit_c ? nullptr : ctable.data + tile * tb * MR;
            src.base = row_base.data + tile * MR;
            src.tap_offset = taps.lhs_offset.data + t0;
            const bool accumulate = t0 > 0;
            if (tile_interior[tile] && use_flat) {
              micro_kernel_flat<T, MR, NV>(src.base, flat_offset.data + t0 * Ci, tb * Ci, w, dst,
                                           accumulate);
            } else if (tile_interior[tile]) {
              if (unit_c)
                micro_kernel<T, MR, NV, true, true>(src, tb, Ci, w, dst, accumulate);
              else
                micro_kernel<T, MR, NV, true, false>(src, tb, Ci, w, dst, accumulate);
            } else if (unit_c) {
              micro_kernel<T, MR, NV, false, true>(src, tb, Ci, w, dst, accumulate);
            } else {
              micro_kernel<T, MR, NV, false, false>(src, tb, Ci, w, dst, accumulate);
            }
          }
        }
        if (ntaps == 0) break;
      }

      for (int64_t r = 0; r < mrows; ++r) {
        T* dst = out + row_out[r];
        for (int64_t cb = 0; cb < cblocks; ++cb) {
          if (tile_direct[(r / MR) * cblocks + cb]) continue;
          const T* src = acc.data + ((r / MR) * cblocks + cb) * MR * NR + (r % MR) * NR;
          const int64_t cols = min64(NR, Co - cb * NR);
          T* d = dst + cb * NR * p.out_o;
          if (p.out_o == 1) {
            for (int64_t j = 0; j < cols; ++j) d[j] = src[j];
          } else {
            for (int64_t j = 0; j < cols; ++j) d[j * p.out_o] = src[j];
          }
        }
      }
    }
  });
}

}  // namespace xlax::kernels::detail::XLAX_CONV_IMPL_NS

#include "ops/kernels/conv_kernel_dispatch.hpp"
