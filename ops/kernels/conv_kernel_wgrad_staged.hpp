// Internal, part of conv_kernel_impl.hpp (same per-build namespace): the large-window path
// (weight gradients) without per-tile packing of A. large_window_conv packs every MR-row
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

namespace xlax::kernels::detail::XLAX_CONV_IMPL_NS {

template <class T, int MR, int NV>
bool large_window_staged_conv(const DenseConv<T>& p, int num_threads) {
  constexpr int64_t NR = NV * static_cast<int64_t>(xsimd::batch<T, Arch>::size);
  constexpr int64_t kReduceTaps = 256;         // taps per block: B block stays in L1 / L2
  constexpr int64_t kMaxStageBytes = 1 << 20;  // one staged plane
  if (p.nd < 1) return false;
  const int nd = p.nd, v = nd - 1;
  const int64_t taps = TapTable::tap_count(p);
  if (p.rhs_o != 1 || p.Co % NR != 0 || taps > (int64_t(1) << 20)) return false;
  // Too few planes to share among the threads: large_window_conv splits the outputs instead.
  if (num_threads > 1 && p.Ci < 4 * num_threads) return false;
  // One lhs feature plane as an image whose features are the rows n.
  DenseConv<T> plane = p;
  plane.N = 1, plane.Ci = p.N, plane.lhs_n = p.lhs_c, plane.lhs_c = p.lhs_n;
  int64_t positions = 1;
  for (int i = 0; i < nd; ++i) positions *= p.Q[i];
  const StagedPlan plan = plan_staged(plane, MR, positions);
  const int64_t plane_bytes = plan.image_elems * static_cast<int64_t>(sizeof(T));
  if (plane_bytes > kMaxStageBytes) return false;
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
        ja[i] = x0[i] >= 0 ? 0 : min64(p.K[i], ceil_div(-x0[i], rd));
        jb[i] = x0[i] < p.S[i] ? min64(p.K[i], ceil_div(p.S[i] - x0[i], rd)) : 0;
        empty = empty || jb[i] <= ja[i];
      }
      row_off[m] = off;
      for (int i = 0; i < nd && !empty; ++i)
        b[2 * i] = min64(b[2 * i], ja[i]), b[2 * i + 1] = max64(b[2 * i + 1], jb[i]);
    }
  }

  const double flops = 2.0 * static_cast<double>(rows.count) * p.groups * p.Co * p.Ci * taps;
  const int nt = static_cast<int>(max64(1, min64(flops < 2e5 ? 1 : num_threads, p.Ci)));
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
  return true;
}

}  // namespace xlax::kernels::detail::XLAX_CONV_IMPL_NS
