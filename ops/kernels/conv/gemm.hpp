// Internal, per instruction-set build: the Gemm path, the implicit GEMM every geometry can
// take: rows = output positions, columns = output features, reduction over (tap, input
// feature). Weights are packed per NR-wide column block; lhs values are broadcast straight
// from the input. Tiles whose rows see only real taps address the lhs as row base + tap
// offset; other tiles use a per-(tap, row) pointer table in which taps that fall into the
// padding point at zeros (gemm_conv).
//
// The staged variant (gemm_conv_staged) runs the implicit GEMM over a zero-bordered
// staging copy of the lhs. gemm_conv addresses border tiles (any tile with
// a row whose window meets padding) through per-(tap, row) pointer tables; on small images
// nearly every MR-row tile holds a border pixel, so most of the work went through that
// slower kernel plus its table set-up. Here each task (whole images, or a band of outermost
// output rows of one image) first copies the lhs region its windows read into a
// channels-last buffer with zeros where the window leaves the lhs; every tile is then
// interior to that buffer. Rows are also grouped by the box of taps that land inside the
// lhs (border rows of a padded conv have fewer), and a tile runs only its group's taps: a
// data gradient of a valid conv, say, then costs the FMAs of its forward pass.
#pragma once

#include "ops/kernels/conv/staging.hpp"

namespace xlax::kernels::detail::XLAX_CONV_IMPL_NS {

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
  const int nt = threads_for(flops, tasks, num_threads);

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


// Output rows grouped by the box of real taps: per dim, the positions q with the same real
// tap range [ja, jb) form a class (contiguous in q, as the range only shrinks at the ends);
// a row's key mixes its per-dim classes. For each key, the runs (k0, k1, k0 * NR) of the
// flattened (tap, feature) reduction inside its box (micro_kernel_runs triples for weights
// packed NR wide). With split false every row has key 0, all taps.
struct TapClasses {
  static constexpr int64_t kMaxKeys = 4096, kMaxRuns = int64_t(1) << 16;
  int64_t keys = 1, radix[kMaxDenseDims] = {}, q_start[kMaxDenseDims] = {};
  Scratch<int64_t> class_of_q;  // dim i's classes at q_start[i] + q
  Scratch<int64_t> run_first;   // runs of key k: [run_first[k], run_first[k + 1])
  Scratch<int64_t> runs;        // (k0, k1, k0 * NR) triples

  template <class T>
  TapClasses(const DenseConv<T>& p, bool split, int64_t NR)
      : keys(split ? key_count(p) : 1), class_of_q(q_total(p)), run_first(keys + 1),
        runs(3 * keys * outer_taps(p)) {
    const int nd = p.nd, v = nd - 1;
    int64_t at = 0;
    for (int i = 0; i < nd; ++i) {
      q_start[i] = at;
      radix[i] = split ? class_count(p, i) : 1;
      int64_t pa = 0, pb = 0, id = 0;
      for (int64_t q = 0; q < p.Q[i]; ++q, ++at) {
        int64_t ja, jb;
        tap_range(p, i, q, ja, jb);
        if (split && q > 0 && (ja != pa || jb != pb)) ++id;
        pa = ja, pb = jb;
        class_of_q[at] = id;
      }
    }
    int64_t nr = 0;
    for (int64_t key = 0; key < keys; ++key) {
      run_first[key] = nr;
      int64_t ja[kMaxDenseDims], jb[kMaxDenseDims], rem = key;
      bool empty = false;
      for (int i = nd - 1; i >= 0; --i) {
        const int64_t c = rem % radix[i];
        rem /= radix[i];
        ja[i] = 0, jb[i] = p.K[i];
        if (split) {
          int64_t q = 0;  // first position of class c
          while (class_of_q.data[q_start[i] + q] != c) ++q;
          tap_range(p, i, q, ja[i], jb[i]);
        }
        empty = empty || ja[i] >= jb[i];
      }
      if (empty) continue;  // no real tap: the rows are zeros
      int64_t j[kMaxDenseDims];
      for (int i = 0; i < nd; ++i) j[i] = ja[i];
      for (;;) {  // odometer over the outer dims of the box, one run along the last
        int64_t t = 0;
        for (int i = 0; i < nd; ++i) t = t * p.K[i] + j[i];
        runs[3 * nr] = t * p.Ci;
        runs[3 * nr + 1] = (t + jb[v] - ja[v]) * p.Ci;
        runs[3 * nr + 2] = t * p.Ci * NR;
        ++nr;
        int i = v - 1;
        while (i >= 0 && ++j[i] >= jb[i]) j[i] = ja[i], --i;
        if (i < 0) break;
      }
    }
    run_first[keys] = nr;
  }

  int64_t key_of(const int64_t* q, int nd) const {
    int64_t key = 0;
    for (int i = 0; i < nd; ++i) key = key * radix[i] + class_of_q.data[q_start[i] + q[i]];
    return key;
  }

  // Real taps j in [ja, jb) of position q along dim i (empty as 0, 0).
  template <class T>
  static void tap_range(const DenseConv<T>& p, int i, int64_t q, int64_t& ja, int64_t& jb) {
    const int64_t x0 = q * p.stride[i] - p.pad_lo[i], rd = p.rhs_dil[i];
    const TapRange r = real_taps(x0, rd, p.K[i], p.S[i]);
    ja = r.first == r.end ? 0 : r.first, jb = r.first == r.end ? 0 : r.end;
  }
  template <class T>
  static int64_t class_count(const DenseConv<T>& p, int i) {
    int64_t n = 1, pa = 0, pb = 0;
    for (int64_t q = 0; q < p.Q[i]; ++q) {
      int64_t ja, jb;
      tap_range(p, i, q, ja, jb);
      if (q > 0 && (ja != pa || jb != pb)) ++n;
      pa = ja, pb = jb;
    }
    return n;
  }
  template <class T>
  static int64_t key_count(const DenseConv<T>& p) {
    int64_t k = 1;
    for (int i = 0; i < p.nd && k <= kMaxKeys; ++i) k *= class_count(p, i);
    return k;
  }
  template <class T>
  static int64_t outer_taps(const DenseConv<T>& p) {
    int64_t n = 1;
    for (int i = 0; i + 1 < p.nd; ++i) n *= p.K[i];
    return n;
  }
  template <class T>
  static int64_t q_total(const DenseConv<T>& p) {
    int64_t n = 0;
    for (int i = 0; i < p.nd; ++i) n += p.Q[i];
    return n;
  }
  // Whether grouping rows by tap box can save work and keeps the tables small.
  template <class T>
  static bool worth_splitting(const DenseConv<T>& p) {
    const int64_t k = key_count(p);
    return k > 1 && k <= kMaxKeys && k * outer_taps(p) <= kMaxRuns;
  }
};

// Whether the staged variant takes p (nd >= 1), and its task plan: the flattened reduction
// within 2^16 (tap, feature) pairs and each thread's staging buffer within 1 MiB (larger
// tasks use gemm_conv).
template <class T, int MR>
struct GemmStagedShape {
  static constexpr int64_t kMaxStageBytes = 1 << 20;  // per thread
  bool fits = false, split = false, in_place = false;
  int64_t all_rows = 0, stage_elems = 0;
  StagedPlan plan;
  GemmStagedShape(const DenseConv<T>& p, int num_threads) {
    if (p.nd <= 0 || TapTable::tap_count(p) * p.Ci > (int64_t(1) << 16)) return;
    int64_t positions = 1;
    for (int i = 0; i < p.nd; ++i) positions *= p.Q[i];
    // Rows per task: a few dozen tiles; more when rows are grouped by tap box, so that the
    // groups of border rows fill whole tiles. Fewer, smaller tasks when there are too few to
    // share among the threads.
    all_rows = p.groups * p.N * positions;
    split = TapClasses::worth_splitting(p);
    const int64_t target_rows = split ? 512 : 128;
    const int64_t target = max64(4 * MR, min64(target_rows, all_rows / (4 * max64(1, num_threads))));
    plan = plan_staged(p, MR, target, max64(1, num_threads));
    // Tiles grouped by tap box never read padding: with contiguous features they read the
    // lhs in place (row bases may then point before a padded row; only real taps are added).
    in_place = split && (p.lhs_c == 1 || p.Ci == 1);
    stage_elems = in_place ? 0 : plan.images_per_task * plan.image_elems;
    fits = stage_elems * static_cast<int64_t>(sizeof(T)) <= kMaxStageBytes;
  }
};

// Runs p through the staged implicit GEMM; shape = GemmStagedShape<T, MR>(p, num_threads),
// which must fit.
template <class T, int MR, int NV>
void gemm_conv_staged(const DenseConv<T>& p, const GemmStagedShape<T, MR>& shape, int num_threads) {
  constexpr int64_t NR = NV * static_cast<int64_t>(xsimd::batch<T, Arch>::size);
  const int nd = p.nd;
  const int64_t Ci = p.Ci, Co = p.Co;
  const TapTable taps(p);
  const int64_t ntaps = taps.count;
  const bool split = shape.split, in_place = shape.in_place;
  const int64_t all_rows = shape.all_rows, stage_elems = shape.stage_elems;
  const StagedPlan& plan = shape.plan;
  int64_t positions = 1;
  for (int i = 0; i < nd; ++i) positions *= p.Q[i];

  const int64_t cblocks = ceil_div(Co, NR);
  const int64_t wblock = ntaps * Ci * NR;
  Scratch<T> wpack(p.groups * cblocks * wblock, Uninitialized::tag);
  pack_gemm_weights(p, NR, wpack.data);
  Scratch<int64_t> flat_offset(ntaps * Ci, Uninitialized::tag);
  for (int64_t t = 0; t < ntaps; ++t) {
    int64_t off = 0;
    for (int i = 0; i < nd; ++i) off += taps.coord.data[t * nd + i] * plan.st[i];
    if (in_place) off = taps.lhs_offset.data[t];
    for (int64_t c = 0; c < Ci; ++c) flat_offset[t * Ci + c] = off + c;
  }

  const TapClasses classes(p, split, NR);
  const int64_t keys = classes.keys;

  const int64_t image_tasks = ceil_div(p.N, plan.images_per_task);
  const int64_t bands = ceil_div(p.Q[0], plan.band);
  const int64_t tasks = p.groups * image_tasks * bands;
  const double flops = 2.0 * static_cast<double>(all_rows) * Co * Ci * ntaps;
  const int nt = threads_for(flops, tasks, num_threads);
  int64_t per_outer = 1;
  for (int i = 1; i < nd; ++i) per_outer *= p.Q[i];

  parallel_region(nt, [&] {
    Scratch<T> stage(stage_elems, Uninitialized::tag);
    Scratch<T> acc(MR * NR, Uninitialized::tag);
    const int64_t max_rows = plan.max_task_rows + MR;
    Scratch<const T*> row_base(max_rows, Uninitialized::tag);
    Scratch<int64_t> row_out(max_rows, Uninitialized::tag), row_key(max_rows, Uninitialized::tag);
    Scratch<int64_t> key_first(keys + 1, Uninitialized::tag);

#pragma omp for schedule(static)
    for (int64_t task = 0; task < tasks; ++task) {
      const int64_t g = task / (image_tasks * bands);
      const int64_t n0 = (task / bands) % image_tasks * plan.images_per_task;
      const int64_t images = min64(plan.images_per_task, p.N - n0);
      const int64_t qa = task % bands * plan.band, qb = min64(p.Q[0], qa + plan.band);
      int64_t x_first[kMaxDenseDims];
      for (int i = 0; i < nd; ++i) x_first[i] = (i == 0 ? qa * p.stride[0] : 0) - p.pad_lo[i];
      const T* lhs = p.lhs + g * p.lhs_group;
      if (!in_place) stage_lhs(p, plan, lhs, n0, images, x_first, stage.data);

      // Rows of the task (images x outer rows [qa, qb) x inner positions), counting-sorted
      // by tap-box key so that a tile's rows share their taps.
      const int64_t band_rows = (qb - qa) * per_outer;
      for (int64_t k = 0; k <= keys; ++k) key_first[k] = 0;
      {
        RowCursor<T> cur(p, n0 * positions + qa * per_outer);
        for (int64_t k = 0; k < band_rows; ++k, cur.next()) {
          row_key[k] = classes.key_of(cur.q, nd);
          key_first[row_key[k] + 1] += images;
        }
      }
      for (int64_t k = 0; k < keys; ++k) key_first[k + 1] += key_first[k];
      for (int64_t img = 0; img < images; ++img) {
        RowCursor<T> cur(p, (n0 + img) * positions + qa * per_outer);
        for (int64_t k = 0; k < band_rows; ++k, cur.next()) {
          const int64_t r = key_first[row_key[k]]++;  // slot in its key's range
          if (in_place) {
            int64_t x0[kMaxDenseDims], lhs_off, out_off;
            cur.describe(x0, lhs_off, out_off);
            row_base[r] = lhs + lhs_off;
          } else {
            int64_t off = img * plan.image_elems;
            for (int i = 0; i < nd; ++i) off += (cur.q[i] - (i == 0 ? qa : 0)) * p.stride[i] * plan.st[i];
            row_base[r] = stage.data + off;
          }
          row_out[r] = cur.n * p.out_n;
          for (int i = 0; i < nd; ++i) row_out[r] += cur.q[i] * p.out_q[i];
        }
      }
      // key_first[k] now ends key k's rows.

      T* out = p.out + g * p.out_group;
      for (int64_t cb = 0; cb < cblocks; ++cb) {
        const T* w = wpack.data + (g * cblocks + cb) * wblock;
        const int64_t cols = min64(NR, Co - cb * NR);
        for (int64_t key = 0; key < keys; ++key) {
          const int64_t k0 = key == 0 ? 0 : key_first[key - 1], k1 = key_first[key];
          const int64_t* runs = classes.runs.data + 3 * classes.run_first.data[key];
          const int64_t nruns = classes.run_first.data[key + 1] - classes.run_first.data[key];
          for (int64_t m0 = k0; m0 < k1; m0 += MR) {
            const int64_t trows = min64(MR, k1 - m0);
            const bool direct = cols == NR && p.out_o == 1 && trows == MR;
            const T* base[MR];
            T* dst[MR];
            for (int r = 0; r < MR; ++r) {
              base[r] = row_base[r < trows ? m0 + r : m0];  // same taps as a real row
              dst[r] = direct ? out + row_out[m0 + r] + cb * NR : acc.data + r * NR;
            }
            micro_kernel_runs<T, MR, NV>(base, flat_offset.data, runs, nruns, w, NR, dst, false);
            if (direct) continue;
            for (int64_t r = 0; r < trows; ++r) {
              T* d = out + row_out[m0 + r] + cb * NR * p.out_o;
              for (int64_t j = 0; j < cols; ++j) d[j * p.out_o] = acc[r * NR + j];
            }
          }
        }
      }
    }
  });
}

template <class T, int MR, int NV>
void run_gemm_tile(const DenseConv<T>& p, bool staged, int num_threads) {
  if (staged) {
    const GemmStagedShape<T, MR> shape(p, num_threads);
    if (shape.fits) {
      gemm_conv_staged<T, MR, NV>(p, shape, num_threads);
      return;
    }
  }
  gemm_conv<T, MR, NV>(p, num_threads);
}

// Gemm applies to everything. Tiles that meet padding, or strided input features, read a
// zero-bordered channels-last copy (the staged variant) when it fits.
template <class T>
void run_gemm(const DenseConv<T>& p, int num_threads) {
  constexpr int64_t L = xsimd::batch<T, Arch>::size;
  const bool staged = p.nd >= 1 && (window_meets_padding(p) || (p.lhs_c != 1 && p.Ci > 1));
  if (p.Co > L)
    run_gemm_tile<T, 6, 2>(p, staged, num_threads);
  else
    run_gemm_tile<T, 12, 1>(p, staged, num_threads);
}

}  // namespace xlax::kernels::detail::XLAX_CONV_IMPL_NS
