// Internal, part of conv_kernel_impl.hpp (same per-build namespace): the implicit GEMM over
// a zero-bordered staging copy of the lhs. gemm_conv addresses border tiles (any tile with
// a row whose window meets padding) through per-(tap, row) pointer tables; on small images
// nearly every MR-row tile holds a border pixel, so most of the work went through that
// slower kernel plus its table set-up. Here each task (whole images, or a band of outermost
// output rows of one image) first copies the lhs region its windows read into a
// channels-last buffer with zeros where the window leaves the lhs; every tile is then
// interior to that buffer. Rows are also grouped by the box of taps that land inside the
// lhs (border rows of a padded conv have fewer), and a tile runs only its group's taps: a
// data gradient of a valid conv, say, then costs the FMAs of its forward pass.
#pragma once

namespace xlax::kernels::detail::XLAX_CONV_IMPL_NS {

// dst[r][0..NR) (+)= sum over runs (k0, k1, w0) of a flattened reduction, k in [k0, k1), of
// base[r][offset[k]] * w[w0 + (k - k0) * w_stride][0..NR).
template <class T, int MR, int NV>
void micro_kernel_runs(const T* const* base, const int64_t* offset, const int64_t* runs,
                       int64_t nruns, const T* w, int64_t w_stride, T* const* dst,
                       bool accumulate) {
  RegisterTile<T, MR, NV> tile(dst, accumulate);
  const T* p[MR];  // (a local copy: row pointers stay in registers)
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) p[r] = base[r];
  for (int64_t run = 0; run < nruns; ++run) {
    const int64_t k1 = runs[3 * run + 1];
    const T* wk = w + runs[3 * run + 2];
    for (int64_t k = runs[3 * run]; k < k1; ++k, wk += w_stride) tile.step(p, offset[k], wk);
  }
  tile.store(dst);
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
    ja = x0 >= 0 ? 0 : min64(p.K[i], ceil_div(-x0, rd));
    jb = x0 < p.S[i] ? min64(p.K[i], ceil_div(p.S[i] - x0, rd)) : 0;
    if (jb <= ja) ja = jb = 0;
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

// How one group's output rows split into tasks, and the staged region of a task.
struct StagedPlan {
  int64_t images_per_task = 1;  // > 1 only when tasks are whole images
  int64_t band = 1;             // outermost output rows per task (Q[0] for whole images)
  int64_t ext[kMaxDenseDims] = {}, st[kMaxDenseDims] = {};  // staged extents and strides
  int64_t image_elems = 0;      // staged elements per image (Ci innermost, stride 1)
  int64_t max_task_rows = 0;
};

// Task sizes from target_rows to twice that: the one with the least tile rows on the most
// loaded of nt threads (partial last tiles and an uneven task count both cost).
template <class T>
StagedPlan plan_staged(const DenseConv<T>& p, int64_t MR, int64_t target_rows, int64_t nt = 1) {
  StagedPlan plan;
  const int nd = p.nd;
  int64_t per_outer = 1;  // positions per outermost output index
  for (int i = 1; i < nd; ++i) per_outer *= p.Q[i];
  const int64_t positions = per_outer * p.Q[0];
  const bool whole_images = positions <= target_rows;
  const int64_t unit = whole_images ? positions : per_outer;
  const int64_t max_units = whole_images ? p.N : p.Q[0];
  const int64_t lo_u = min64(max_units, ceil_div(target_rows, unit));
  const int64_t sets = p.groups * (whole_images ? 1 : p.N);  // task sets of max_units units
  auto load = [&](int64_t u) {
    return ceil_div(sets * ceil_div(max_units, u), nt) * ceil_div(u * unit, MR);
  };
  int64_t best = lo_u;
  for (int64_t u = lo_u + 1; u <= min64(max_units, 2 * lo_u); ++u)
    if (load(u) < load(best)) best = u;
  plan.images_per_task = whole_images ? best : 1;
  plan.band = whole_images ? p.Q[0] : best;
  plan.max_task_rows = plan.images_per_task * plan.band * per_outer;
  int64_t elems = p.Ci;
  for (int i = nd - 1; i >= 0; --i) {
    const int64_t q_span = i == 0 ? plan.band : p.Q[i];
    plan.ext[i] = (q_span - 1) * p.stride[i] + (p.K[i] - 1) * p.rhs_dil[i] + 1;
    plan.st[i] = elems;
    elems *= plan.ext[i];
  }
  plan.image_elems = elems;
  return plan;
}

// Copies images [n0, n0 + images) of lhs, outermost input rows from x_first on, into
// stage[image][e_0..e_{nd-1}][c] (input x_i = e_i + x_first_i), zeros outside the lhs.
template <class T>
void stage_lhs(const DenseConv<T>& p, const StagedPlan& plan, const T* lhs, int64_t n0,
               int64_t images, const int64_t* x_first, T* stage) {
  const int nd = p.nd, v = nd - 1;
  const int64_t Ci = p.Ci, ext_v = plan.ext[v];
  const int64_t a = min64(ext_v, max64(0, -x_first[v]));  // real run [a, b) of the last dim
  const int64_t b = max64(a, min64(ext_v, p.S[v] - x_first[v]));
  int64_t outer_runs = 1;
  for (int i = 0; i < v; ++i) outer_runs *= plan.ext[i];
  for (int64_t img = 0; img < images; ++img) {
    const T* src_n = lhs + (n0 + img) * p.lhs_n;
    T* dst_n = stage + img * plan.image_elems;
    for (int64_t run = 0; run < outer_runs; ++run) {
      T* dst = dst_n + run * ext_v * Ci;
      const T* src = src_n;
      bool inside = true;
      int64_t rem = run;
      for (int i = v - 1; i >= 0; --i) {
        const int64_t x = rem % plan.ext[i] + x_first[i];
        rem /= plan.ext[i];
        inside = inside && x >= 0 && x < p.S[i];
        src += x * p.lhs_s[i];
      }
      if (!inside) {
        fill_zero(dst, ext_v * Ci);
        continue;
      }
      fill_zero(dst, a * Ci);
      fill_zero(dst + b * Ci, (ext_v - b) * Ci);
      src += (x_first[v] + a) * p.lhs_s[v];
      dst += a * Ci;
      if (p.lhs_c == 1 && p.lhs_s[v] == Ci) {
        for (int64_t e = 0; e < (b - a) * Ci; ++e) dst[e] = src[e];
      } else if (p.lhs_c == 1) {
        for (int64_t x = 0; x < b - a; ++x)
          for (int64_t c = 0; c < Ci; ++c) dst[x * Ci + c] = src[x * p.lhs_s[v] + c];
      } else {
        for (int64_t x = 0; x < b - a; ++x)
          for (int64_t c = 0; c < Ci; ++c) dst[x * Ci + c] = src[x * p.lhs_s[v] + c * p.lhs_c];
      }
    }
  }
}

// Runs p (nd >= 1) through the staged implicit GEMM with packed weights wpack (as gemm_conv
// packs them). Returns false, doing nothing, when the staging buffer or the offset table
// would be too large.
template <class T, int MR, int NV>
bool gemm_conv_staged(const DenseConv<T>& p, int num_threads) {
  constexpr int64_t NR = NV * static_cast<int64_t>(xsimd::batch<T, Arch>::size);
  // Rows per task: a few dozen tiles; more when rows are grouped by tap box, so that the
  // groups of border rows fill whole tiles.
  constexpr int64_t kMaxStageBytes = 1 << 20;  // per thread; larger tasks use gemm_conv
  if (p.nd < 1) return false;
  const int nd = p.nd;
  const int64_t Ci = p.Ci, Co = p.Co;
  const TapTable taps(p);
  const int64_t ntaps = taps.count;
  if (ntaps * Ci > (int64_t(1) << 16)) return false;
  int64_t positions = 1;
  for (int i = 0; i < nd; ++i) positions *= p.Q[i];
  // Fewer, smaller tasks when there are too few to share among the threads.
  const int64_t all_rows = p.groups * p.N * positions;
  const bool split = TapClasses::worth_splitting(p);
  const int64_t target_rows = split ? 512 : 128;
  const int64_t target = max64(4 * MR, min64(target_rows, all_rows / (4 * max64(1, num_threads))));
  const StagedPlan plan = plan_staged(p, MR, target, max64(1, num_threads));
  // Tiles grouped by tap box never read padding: with contiguous features they read the lhs
  // in place (row bases may then point before a padded row; only real taps are added).
  const bool in_place = split && (p.lhs_c == 1 || Ci == 1);
  const int64_t stage_elems = in_place ? 0 : plan.images_per_task * plan.image_elems;
  if (stage_elems * static_cast<int64_t>(sizeof(T)) > kMaxStageBytes) return false;

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
  const int nt = static_cast<int>(max64(1, min64(flops < 2e5 ? 1 : num_threads, tasks)));
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
  return true;
}

}  // namespace xlax::kernels::detail::XLAX_CONV_IMPL_NS
