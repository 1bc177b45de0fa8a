// Internal, per instruction-set build: the LargeWindow path, the large-window path,
// for geometries whose kernel window is much larger than the output, as the weight-gradient
// (rhs transpose) rule produces: the window is the whole image and the output the kernel
// size. The existing paths run one short reduction per output row there; this one treats
// each output position q as a GEMM over the long reduction r = (input feature c, tap t):
//   out[n, o, q] = sum_r A_q[n, r] * B[r, o],  A_q[n, (c, t)] = lhs[n, c, q*s + t*rd - lo],
//   B[(c, t), o] = rhs[o, c, t],
// with rows m = (q, n) (q outer, so a row tile mostly shares q and reads neighbouring n),
// blocked along r by kReduceBlock: per block, B is packed once per thread into NR-wide panels
// (shared by every q; read in place when already laid out so) and A row tiles are packed
// with zeros where a tap falls into padding.
// Scratch is bounded by the block size and the (small) output, never by the batch.
// Each output element is reduced by one thread, block after block in r order: results are
// bitwise the same for any thread count.
//
// The staged variant (large_window_staged_conv), without per-tile packing of A: large_window_conv packs every MR-row
// tile of A_q[n, (c, t)] for every reduction block, a copy as long as the GEMM's reduction
// for only 2-4 FMAs per packed value when Co is 32-64. Here each lhs feature plane c (one
// image of the forward batch) is copied once into a zero-bordered buffer stage[e..][n] (n
// innermost), so A(row (q, n), (c, t)) = stage[q*s + t*rd, n] is read in place with a per-
// tap offset table, and a tile runs only the taps that land inside the lhs for its rows.
// B (the cotangent) is read in place, so this path needs its output features contiguous in
// whole NR-wide column blocks (channels-last cotangents).
// Threads split the reduction (the planes c) and sum their partial outputs in thread order:
// results depend on the thread count, not on scheduling. Scratch: one plane per thread plus
// one output-sized partial sum per thread.
#pragma once

#include "ops/kernels/conv/staging.hpp"

namespace xlax::kernels::detail::XLAX_CONV_IMPL_NS {

// Walks the reduction range [r0, r1) of r = c * taps + t in runs along the last kernel dim.
// For every run calls f(c, j, len, k) with j the kernel coordinates of its first tap and k
// its offset from r0.
template <class T, class F>
void for_each_reduction_run(const DenseConv<T>& p, int64_t taps, int64_t r0, int64_t r1, F&& f) {
  const int nd = p.nd, v = nd - 1;
  int64_t c = r0 / taps, rem = r0 % taps, j[kMaxDenseDims] = {};
  for (int i = nd - 1; i >= 0; --i) {
    j[i] = rem % p.K[i];
    rem /= p.K[i];
  }
  for (int64_t r = r0; r < r1;) {
    const int64_t len = nd == 0 ? 1 : min64(p.K[v] - j[v], r1 - r);
    f(c, j, len, r - r0);
    r += len;
    if (nd > 0) j[v] += len;
    // Odometer: carry the finished last dim into the outer dims, then into c.
    int i = v;
    while (i >= 0 && j[i] >= p.K[i]) {
      j[i] = 0;
      if (--i >= 0) ++j[i];
    }
    if (i < 0) ++c;
  }
}

// Which rows (q, n) of one group are computed, and where their lhs / out elements are.
template <class T>
struct LargeWindowRows {
  int64_t count = 0;
  Scratch<int64_t> x0, lhs_off, out_off;  // per row: x0[nd] = q*s - lo, lhs offset of n, out offset
  explicit LargeWindowRows(const DenseConv<T>& p) : count(rows_of(p)), x0(count * p.nd),
                                                    lhs_off(count), out_off(count) {
    const int nd = p.nd;
    int64_t q[kMaxDenseDims] = {};
    for (int64_t m = 0; m < count; ++m) {
      const int64_t n = m % p.N;
      if (m > 0 && n == 0) {
        for (int i = nd - 1; i >= 0; --i) {  // next q, last dim fastest
          if (++q[i] < p.Q[i]) break;
          q[i] = 0;
        }
      }
      lhs_off[m] = n * p.lhs_n;
      out_off[m] = n * p.out_n;
      for (int i = 0; i < nd; ++i) {
        x0[m * nd + i] = q[i] * p.stride[i] - p.pad_lo[i];
        out_off[m] += q[i] * p.out_q[i];
      }
    }
  }
  static int64_t rows_of(const DenseConv<T>& p) {
    int64_t c = p.N;
    for (int i = 0; i < p.nd; ++i) c *= p.Q[i];
    return c;
  }
};

// dst[k*MR + r] = A_q(row m0 + r)[r0 + k] for k < r1 - r0, zero for padding taps and rows
// past the end. Rows are copied in groups that share q and sit lhs_n apart (usually the
// whole tile), so the bounds of a run of taps are worked out once per group.
template <class T, int MR>
void pack_lhs_tile(const DenseConv<T>& p, const T* lhs, const LargeWindowRows<T>& rows,
                   int64_t m0, int64_t taps, int64_t r0, int64_t r1, T* dst) {
  const int nd = p.nd, v = nd - 1;
  const int64_t kc = r1 - r0;
  for (int r = 0; r < MR;) {
    const int64_t m = m0 + r;
    if (m >= rows.count) {
      for (int64_t k = 0; k < kc; ++k) dst[k * MR + r] = T(0);
      ++r;
      continue;
    }
    const int64_t* x0 = &rows.x0.data[m * nd];
    int group = 1;  // rows m .. m+group-1 share x0 and are lhs_n apart
    while (r + group < MR && m + group < rows.count &&
           rows.lhs_off.data[m + group] == rows.lhs_off.data[m] + group * p.lhs_n) {
      bool same = true;
      for (int i = 0; i < nd; ++i) same = same && rows.x0.data[(m + group) * nd + i] == x0[i];
      if (!same) break;
      ++group;
    }
    const T* base = lhs + rows.lhs_off.data[m];
    const int64_t ln = p.lhs_n;
    for_each_reduction_run(p, taps, r0, r1, [&](int64_t c, const int64_t* j, int64_t len, int64_t k) {
      T* d = dst + k * MR + r;
      int64_t off = c * p.lhs_c;
      bool inside = true;
      for (int i = 0; i < v; ++i) {
        const int64_t x = x0[i] + j[i] * p.rhs_dil[i];
        inside = inside && x >= 0 && x < p.S[i];
        off += x * p.lhs_s[i];
      }
      if (nd == 0) {
        for (int e = 0; e < group; ++e) d[e] = base[off + e * ln];
        return;
      }
      // Taps u < len of the run read x = xa + u*rd; real for u in [ua, ub).
      const int64_t rd = p.rhs_dil[v], xa = x0[v] + j[v] * rd;
      int64_t ua = 0, ub = 0;
      if (inside) {
        const TapRange r = real_taps(xa, rd, len, p.S[v]);
        ua = r.first, ub = r.end;
      }
      if (group == 1) {
        for (int64_t u = 0; u < ua; ++u) d[u * MR] = T(0);
        for (int64_t u = ub; u < len; ++u) d[u * MR] = T(0);
      } else {
        for (int64_t u = 0; u < ua; ++u)
          for (int e = 0; e < group; ++e) d[u * MR + e] = T(0);
        for (int64_t u = ub; u < len; ++u)
          for (int e = 0; e < group; ++e) d[u * MR + e] = T(0);
      }
      if (ua == ub) return;
      const T* src = base + (off + (xa + ua * rd) * p.lhs_s[v]);  // first real tap
      const int64_t step = rd * p.lhs_s[v];
      d += ua * MR;
      if (group == MR && ln == 1) {  // channels-last lhs: MR contiguous values per tap
        for (int64_t u = 0; u < ub - ua; ++u)
#pragma GCC unroll 16
          for (int e = 0; e < MR; ++e) d[u * MR + e] = src[u * step + e];
      } else if (group == 1) {  // rows of different positions (a single lhs row n)
        for (int64_t u = 0; u < ub - ua; ++u) d[u * MR] = src[u * step];
      } else {
        for (int64_t u = 0; u < ub - ua; ++u)
          for (int e = 0; e < group; ++e) d[u * MR + e] = src[u * step + e * ln];
      }
    });
    r += group;
  }
}

// dst[cb][k][0..NR) = B[r0 + k][cb*NR ..] for column blocks [cb0, cb1), zero beyond Co.
template <class T, int64_t NR>
void pack_rhs_block(const DenseConv<T>& p, const T* rhs, int64_t taps, int64_t r0, int64_t r1,
                    int64_t cb0, int64_t cb1, T* dst) {
  const int nd = p.nd, v = nd - 1;
  const int64_t kc = r1 - r0;
  for_each_reduction_run(p, taps, r0, r1, [&](int64_t c, const int64_t* j, int64_t len, int64_t k) {
    int64_t off = c * p.rhs_i;
    for (int i = 0; i < nd; ++i) off += j[i] * p.rhs_k[i];
    const int64_t tstep = nd == 0 ? 0 : p.rhs_k[v];
    for (int64_t cb = cb0; cb < cb1; ++cb) {
      T* d = dst + (cb - cb0) * kc * NR + k * NR;
      const int64_t cols = min64(NR, p.Co - cb * NR);
      for (int64_t u = 0; u < len; ++u) {
        const T* src = rhs + off + u * tstep + cb * NR * p.rhs_o;
        if (p.rhs_o == 1) {
          for (int64_t o = 0; o < cols; ++o) d[u * NR + o] = src[o];
        } else {
          for (int64_t o = 0; o < cols; ++o) d[u * NR + o] = src[o * p.rhs_o];
        }
        for (int64_t o = cols; o < NR; ++o) d[u * NR + o] = T(0);
      }
    }
  });
}

template <class T, int MR, int NV>
void large_window_conv(const DenseConv<T>& p, int num_threads) {
  constexpr int64_t NR = NV * static_cast<int64_t>(xsimd::batch<T, Arch>::size);
  constexpr int64_t kReduceBlock = 256;  // A tile (MR x 256) and one B panel fit in L1
  const int64_t taps = TapTable::tap_count(p);
  const int64_t reduction = p.Ci * taps;
  const LargeWindowRows<T> rows(p);
  const int64_t tiles = ceil_div(rows.count, MR), cblocks = ceil_div(p.Co, NR);
  const int64_t items = tiles * cblocks;  // per group; item = tile * cblocks + cb
  const double flops = 2.0 * static_cast<double>(rows.count) * p.groups * p.Co * reduction;
  const int nt = threads_for(flops, items, num_threads);
  Scratch<int64_t> apack_offset(kReduceBlock);  // micro_kernel_flat addressing of a packed tile
  for (int64_t k = 0; k < kReduceBlock; ++k) apack_offset[k] = k * MR;
  // B read in place when it is already a dense (r, o) matrix with whole NR-wide column
  // blocks (channels-last cotangents): row r at rhs + r*row_stride.
  const int64_t row_stride = p.nd > 0 ? p.rhs_k[p.nd - 1] : p.rhs_i;
  bool b_in_place = p.rhs_o == 1 && p.Co % NR == 0 && row_stride >= p.Co;
  for (int i = 0; i + 1 < p.nd; ++i) b_in_place = b_in_place && p.rhs_k[i] == p.K[i + 1] * p.rhs_k[i + 1];
  if (p.nd > 0 && p.Ci > 1) b_in_place = b_in_place && p.rhs_i == p.K[0] * p.rhs_k[0];

  parallel_region(nt, [&] {
    const int64_t max_items = ceil_div(items, nt);
    Scratch<T> acc(max_items * MR * NR);
    Scratch<T> apack(kReduceBlock * MR);
    Scratch<T> bpack(cblocks * kReduceBlock * NR);
#pragma omp for schedule(static)
    for (int worker = 0; worker < nt; ++worker) {
      // A fixed contiguous share of the items: same split whatever the OpenMP schedule.
      const int64_t i0 = items * worker / nt, i1 = items * (worker + 1) / nt;
      if (i0 == i1) continue;
      // Column blocks this share needs packed: all, unless it lies inside one row tile.
      const bool one_tile = i0 / cblocks == (i1 - 1) / cblocks;
      const int64_t pc0 = one_tile ? i0 % cblocks : 0;
      const int64_t pc1 = one_tile ? (i1 - 1) % cblocks + 1 : cblocks;
      for (int64_t g = 0; g < p.groups; ++g) {
        const T* lhs = p.lhs + g * p.lhs_group;
        const T* rhs = p.rhs + g * p.rhs_group;
        for (int64_t r0 = 0; r0 < reduction; r0 += kReduceBlock) {
          const int64_t r1 = min64(reduction, r0 + kReduceBlock), kc = r1 - r0;
          if (!b_in_place) pack_rhs_block<T, NR>(p, rhs, taps, r0, r1, pc0, pc1, bpack.data);
          int64_t packed_tile = -1;
          for (int64_t item = i0; item < i1; ++item) {
            const int64_t tile = item / cblocks, cb = item % cblocks;
            if (tile != packed_tile) {
              pack_lhs_tile<T, MR>(p, lhs, rows, tile * MR, taps, r0, r1, apack.data);
              packed_tile = tile;
            }
            const T* base[MR];
            T* dst[MR];
            for (int r = 0; r < MR; ++r) {
              base[r] = apack.data + r;
              dst[r] = acc.data + ((item - i0) * MR + r) * NR;
            }
            if (b_in_place)
              micro_kernel_flat<T, MR, NV>(base, apack_offset.data, kc, rhs + r0 * row_stride + cb * NR,
                                           dst, r0 > 0, row_stride);
            else
              micro_kernel_flat<T, MR, NV>(base, apack_offset.data, kc,
                                           bpack.data + (cb - pc0) * kc * NR, dst, r0 > 0);
          }
        }
        if (reduction == 0)
          for (int64_t e = 0; e < (i1 - i0) * MR * NR; ++e) acc[e] = T(0);
        T* out = p.out + g * p.out_group;
        for (int64_t item = i0; item < i1; ++item) {
          const int64_t tile = item / cblocks, cb = item % cblocks;
          const int64_t cols = min64(NR, p.Co - cb * NR);
          for (int r = 0; r < MR && tile * MR + r < rows.count; ++r) {
            const T* src = acc.data + ((item - i0) * MR + r) * NR;
            T* d = out + rows.out_off.data[tile * MR + r] + cb * NR * p.out_o;
            for (int64_t o = 0; o < cols; ++o) d[o * p.out_o] = src[o];
          }
        }
      }
    }
  });
}

// Whether the staged variant takes p, and its plan: output features in whole NR-wide blocks
// read in place (rhs_o == 1), enough planes to share among the threads (else
// large_window_conv splits the outputs instead), and one staged plane within 1 MiB.
template <class T, int MR, int NV>
struct LargeWindowStagedShape {
  static constexpr int64_t NR = NV * static_cast<int64_t>(xsimd::batch<T, Arch>::size);
  static constexpr int64_t kMaxStageBytes = 1 << 20;  // one staged plane
  bool fits = false;
  DenseConv<T> plane;  // one lhs feature plane as an image whose features are the rows n
  StagedPlan plan;
  int64_t plane_bytes = 0;
  LargeWindowStagedShape(const DenseConv<T>& p, int num_threads) : plane(p) {
    const int64_t taps = TapTable::tap_count(p);
    if (p.nd <= 0 || p.rhs_o != 1 || p.Co % NR != 0 || taps > (int64_t(1) << 20)) return;
    if (num_threads > 1 && p.Ci < 4 * num_threads) return;
    plane.N = 1, plane.Ci = p.N, plane.lhs_n = p.lhs_c, plane.lhs_c = p.lhs_n;
    int64_t positions = 1;
    for (int i = 0; i < p.nd; ++i) positions *= p.Q[i];
    plan = plan_staged(plane, MR, positions);
    plane_bytes = plan.image_elems * static_cast<int64_t>(sizeof(T));
    fits = plane_bytes <= kMaxStageBytes;
  }
};

// shape = LargeWindowStagedShape<T, MR, NV>(p, num_threads), which must fit.
template <class T, int MR, int NV>
void large_window_staged_conv(const DenseConv<T>& p, const LargeWindowStagedShape<T, MR, NV>& shape,
                              int num_threads) {
  constexpr int64_t NR = NV * static_cast<int64_t>(xsimd::batch<T, Arch>::size);
  constexpr int64_t kReduceTaps = 256;  // taps per block: B block stays in L1 / L2
  constexpr int64_t kMaxStageBytes = LargeWindowStagedShape<T, MR, NV>::kMaxStageBytes;
  const int nd = p.nd, v = nd - 1;
  const int64_t taps = TapTable::tap_count(p);
  const StagedPlan& plan = shape.plan;
  const DenseConv<T>& plane = shape.plane;
  const int64_t plane_bytes = shape.plane_bytes;
  // Small planes are staged a few at a time, so that one accumulator pass of a tile covers
  // about kReduceTaps taps; larger ones are split into blocks of outermost kernel rows.
  const int64_t planes_per_block =
      max64(1, min64(kReduceTaps / taps, min64(p.Ci, kMaxStageBytes / plane_bytes)));

  // Stage offset of tap t of staged plane e: tap_off[e * taps + t].
  Scratch<int64_t> tap_off(planes_per_block * taps, Uninitialized::tag);
  for (int64_t t = 0; t < taps; ++t) {
    int64_t rem = t, off = 0;
    for (int i = nd - 1; i >= 0; --i) {
      off += (rem % p.K[i]) * p.rhs_dil[i] * plan.st[i];
      rem /= p.K[i];
    }
    for (int64_t e = 0; e < planes_per_block; ++e) tap_off[e * taps + t] = e * plan.image_elems + off;
  }
  const LargeWindowRows<T> rows(p);
  const int64_t tiles = ceil_div(rows.count, MR), cblocks = p.Co / NR;
  const int64_t items = tiles * cblocks;
  // Per row, its stage offset; per tile, the union of its rows' real tap ranges per dim.
  Scratch<int64_t> row_off(tiles * MR), box(tiles * nd * 2);
  for (int64_t tile = 0; tile < tiles; ++tile) {
    int64_t* b = &box[tile * nd * 2];
    for (int i = 0; i < nd; ++i) b[2 * i] = p.K[i], b[2 * i + 1] = 0;
    for (int64_t m = tile * MR; m < min64(rows.count, (tile + 1) * MR); ++m) {
      const int64_t* x0 = &rows.x0.data[m * nd];
      int64_t off = m % p.N, ja[kMaxDenseDims], jb[kMaxDenseDims];
      bool empty = false;
      for (int i = 0; i < nd; ++i) {
        off += (x0[i] + p.pad_lo[i]) * plan.st[i];
        const int64_t rd = p.rhs_dil[i];
        const TapRange r = real_taps(x0[i], rd, p.K[i], p.S[i]);
        ja[i] = r.first, jb[i] = r.end;
        empty = empty || jb[i] <= ja[i];
      }
      row_off[m] = off;
      for (int i = 0; i < nd && !empty; ++i)
        b[2 * i] = min64(b[2 * i], ja[i]), b[2 * i + 1] = max64(b[2 * i + 1], jb[i]);
    }
  }

  const double flops = 2.0 * static_cast<double>(rows.count) * p.groups * p.Co * p.Ci * taps;
  const int nt = threads_for(flops, p.Ci, num_threads);
  const int64_t acc_elems = items * MR * NR;
  Scratch<T> partial(nt * acc_elems, Uninitialized::tag);
  const int64_t per_row = taps / p.K[0];  // taps per index of the outermost kernel dim
  const int64_t block_rows = max64(1, kReduceTaps / per_row);
  int64_t inner_runs = 1;  // runs per outermost index: product of the middle kernel dims
  for (int i = 1; i < v; ++i) inner_runs *= p.K[i];

  for (int64_t g = 0; g < p.groups; ++g) {
    const T* lhs = p.lhs + g * p.lhs_group;
    const T* rhs = p.rhs + g * p.rhs_group;
    T* out = p.out + g * p.out_group;
    parallel_region(nt, [&] {
      Scratch<T> stage(planes_per_block * plan.image_elems, Uninitialized::tag);
      Scratch<int64_t> runs(3 * planes_per_block * min64(p.K[0], block_rows) * inner_runs,
                            Uninitialized::tag);
#pragma omp for schedule(static)
      for (int worker = 0; worker < nt; ++worker) {
        T* acc = partial.data + worker * acc_elems;
        fill_zero(acc, acc_elems);
        int64_t x_first[kMaxDenseDims];
        for (int i = 0; i < nd; ++i) x_first[i] = -p.pad_lo[i];
        const int64_t c_end = p.Ci * (worker + 1) / nt;
        for (int64_t c = p.Ci * worker / nt; c < c_end; c += planes_per_block) {
          const int64_t planes = min64(planes_per_block, c_end - c);
          for (int64_t e = 0; e < planes; ++e)
            stage_lhs(plane, plan, lhs, c + e, 1, x_first, stage.data + e * plan.image_elems);
          for (int64_t y0 = 0; y0 < p.K[0]; y0 += block_rows) {
            const int64_t y1 = min64(p.K[0], y0 + block_rows), t0 = y0 * per_row;
            const T* w = rhs + c * p.rhs_i;
            for (int64_t tile = 0; tile < tiles; ++tile) {
              // Runs (relative to tap t0 of plane c) of the tile's tap box in this block.
              int64_t lo[kMaxDenseDims], hi[kMaxDenseDims], j[kMaxDenseDims];
              bool empty = false;
              for (int i = 0; i < nd; ++i) {
                lo[i] = box[(tile * nd + i) * 2], hi[i] = box[(tile * nd + i) * 2 + 1];
                if (i == 0) lo[0] = max64(lo[0], y0), hi[0] = min64(hi[0], y1);
                empty = empty || lo[i] >= hi[i];
                j[i] = lo[i];
              }
              if (empty) continue;
              int64_t nruns = 0;
              for (;;) {
                int64_t t = 0, w0 = 0;
                for (int i = 0; i < nd; ++i) t = t * p.K[i] + j[i], w0 += j[i] * p.rhs_k[i];
                for (int64_t e = 0; e < planes; ++e, ++nruns) {
                  runs[3 * nruns] = e * taps + t - t0;
                  runs[3 * nruns + 1] = e * taps + t - t0 + hi[v] - lo[v];
                  runs[3 * nruns + 2] = e * p.rhs_i + w0;
                }
                int i = v - 1;
                while (i >= 0 && ++j[i] >= hi[i]) j[i] = lo[i], --i;
                if (i < 0) break;
              }
              const T* base[MR];
              for (int r = 0; r < MR; ++r) base[r] = stage.data + row_off[tile * MR + r];
              for (int64_t cb = 0; cb < cblocks; ++cb) {
                T* dst[MR];
                for (int r = 0; r < MR; ++r) dst[r] = acc + ((tile * cblocks + cb) * MR + r) * NR;
                micro_kernel_runs<T, MR, NV>(base, tap_off.data + t0, runs.data, nruns,
                                             w + cb * NR, p.rhs_k[v], dst, true);
              }
            }
          }
        }
      }
      // (implicit barrier) Sum the partial outputs in thread order.
#pragma omp for schedule(static)
      for (int64_t item = 0; item < items; ++item) {
        const int64_t tile = item / cblocks, cb = item % cblocks;
        for (int r = 0; r < MR && tile * MR + r < rows.count; ++r) {
          T* d = out + rows.out_off.data[tile * MR + r] + cb * NR * p.out_o;
          for (int64_t o = 0; o < NR; ++o) {
            T s = partial[(item * MR + r) * NR + o];
            for (int wk = 1; wk < nt; ++wk) s += partial[wk * acc_elems + (item * MR + r) * NR + o];
            d[o * p.out_o] = s;
          }
        }
      }
    });
  }
}

// LargeWindow applies to every large window the paths before it left, and (planes_pay) to
// weight gradients of windows only a few times the output with the batch contiguous and the
// features strided, when the staged variant fits: staging per feature plane copies runs,
// per image (the Gemm path) it would gather.
template <class T>
bool large_window_applies(const DenseConv<T>& p, int64_t L) {
  return is_large_window(p);
}

template <class T>
bool large_window_planes_pay(const DenseConv<T>& p, int64_t L, int num_threads) {
  const bool planes = p.lhs_n == 1 && p.lhs_c != 1 && p.Ci > 1 && TapTable::tap_count(p) >= 16;
  if (!planes) return false;
  return p.Co > L ? LargeWindowStagedShape<T, 6, 2>(p, num_threads).fits
                  : LargeWindowStagedShape<T, 12, 1>(p, num_threads).fits;
}

// The staged variant when it fits, else the per-tile packing one.
template <class T, int MR, int NV>
void run_large_window_tile(const DenseConv<T>& p, int num_threads) {
  const LargeWindowStagedShape<T, MR, NV> shape(p, num_threads);
  if (shape.fits)
    large_window_staged_conv<T, MR, NV>(p, shape, num_threads);
  else
    large_window_conv<T, MR, NV>(p, num_threads);
}

template <class T>
void run_large_window(const DenseConv<T>& p, int num_threads) {
  constexpr int64_t L = xsimd::batch<T, Arch>::size;
  if (p.Co > L)
    run_large_window_tile<T, 6, 2>(p, num_threads);
  else
    run_large_window_tile<T, 12, 1>(p, num_threads);
}

}  // namespace xlax::kernels::detail::XLAX_CONV_IMPL_NS
