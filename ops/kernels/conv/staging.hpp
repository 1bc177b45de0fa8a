// Internal, per instruction-set build: staging helpers shared by several paths. Staged
// regions (the gemm and large-window paths copy the lhs region a task reads into a
// zero-bordered channels-last buffer, then read it through a flat offset table with
// micro_kernel_runs), and feature-row copies (the direct and small-window paths
// de-interleave input rows into planar line buffers).
#pragma once

#include <cstdint>
#include <type_traits>

#include "ops/kernels/conv/toolkit.hpp"

namespace xlax::kernels::detail::XLAX_CONV_IMPL_NS {

// ---- Staged regions

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

// ---- Feature-row copies

// dst[k*dst_stride .. + n) = feature rows c < Ci of src: element k of row c is
// src[k*step + c*c_stride]. Channels-last rows (c_stride 1, small constant step) go through
// constant-stride loops that the compiler turns into vector shuffles.
template <class T, int CI, int STEP>
void copy_feature_rows_fixed(const T* __restrict src, T* __restrict dst, int64_t dst_stride,
                             int64_t n) {
  for (int64_t k = 0; k < n; ++k)
#pragma GCC unroll 4
    for (int c = 0; c < CI; ++c) dst[c * dst_stride + k] = src[k * STEP + c];
}

// Pixels of every second position (stride phases of channels-last rows): de-interleave
// 2*chunk whole pixels, then keep every second one; both loops vectorise (GCC 12 does not
// vectorise a feature group with gaps).
template <class T, int CI>
void copy_feature_rows_every_second(const T* src, T* dst, int64_t dst_stride, int64_t n) {
  constexpr int64_t kChunk = 64;
  T pixels[CI * 2 * kChunk];
  for (int64_t k0 = 0; k0 < n; k0 += kChunk) {
    const int64_t m = min64(kChunk, n - k0);
    copy_feature_rows_fixed<T, CI, CI>(src + k0 * 2 * CI, pixels, 2 * kChunk, 2 * m - 1);
    for (int c = 0; c < CI; ++c) {
      const T* __restrict from = pixels + c * 2 * kChunk;
      T* __restrict to = dst + c * dst_stride + k0;
      for (int64_t k = 0; k < m; ++k) to[k] = from[2 * k];
    }
  }
}

#if defined(__AVX__)
// Three-feature channels-last pixels spaced STEP floats apart (3: contiguous, 6: every
// second pixel) into three planes: one 16-byte load per pixel and a 4x4 transpose per 8
// pixels, 2.7x faster than the compiler's loops here. Each load reads one float past the
// pixel, so the vector loop stops while a further pixel follows (no read past the row).
template <int STEP>
void copy_three_feature_rows(const float* src, float* dst, int64_t dst_stride, int64_t n) {
  int64_t k = 0;
  for (; k + 8 < n; k += 8) {
    const float* s = src + k * STEP;
    auto pair = [s](int i) {  // pixel i in the low half, pixel i + 4 in the high half
      return _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(s + i * STEP)),
                                  _mm_loadu_ps(s + (i + 4) * STEP), 1);
    };
    const __m256 a = pair(0), b = pair(1), c = pair(2), d = pair(3);
    const __m256 ab_lo = _mm256_unpacklo_ps(a, b), ab_hi = _mm256_unpackhi_ps(a, b);
    const __m256 cd_lo = _mm256_unpacklo_ps(c, d), cd_hi = _mm256_unpackhi_ps(c, d);
    _mm256_storeu_ps(dst + k, _mm256_shuffle_ps(ab_lo, cd_lo, 0x44));
    _mm256_storeu_ps(dst + dst_stride + k, _mm256_shuffle_ps(ab_lo, cd_lo, 0xEE));
    _mm256_storeu_ps(dst + 2 * dst_stride + k, _mm256_shuffle_ps(ab_hi, cd_hi, 0x44));
  }
  for (; k < n; ++k)
    for (int c = 0; c < 3; ++c) dst[c * dst_stride + k] = src[k * STEP + c];
}
#endif

template <class T>
void copy_feature_rows(const T* src, int64_t step, int64_t c_stride, int64_t Ci, T* dst,
                       int64_t dst_stride, int64_t n) {
#if defined(__AVX__)
  if constexpr (std::is_same_v<T, float>) {
    if (c_stride == 1 && Ci == 3 && step == 3) return copy_three_feature_rows<3>(src, dst, dst_stride, n);
    if (c_stride == 1 && Ci == 3 && step == 6) return copy_three_feature_rows<6>(src, dst, dst_stride, n);
  }
#endif
  if (c_stride == 1 && n > 0 && Ci <= 4 && step >= 1 && step <= 8) {
    switch (Ci * 16 + step) {  // (one key per (Ci, step) pair in these ranges)
      case 2 * 16 + 4: copy_feature_rows_every_second<T, 2>(src, dst, dst_stride, n); return;
      case 3 * 16 + 6: copy_feature_rows_every_second<T, 3>(src, dst, dst_stride, n); return;
      case 4 * 16 + 8: copy_feature_rows_every_second<T, 4>(src, dst, dst_stride, n); return;
      default: break;
    }
  }
  if ((c_stride == 1 || Ci == 1) && Ci <= 4 && step >= 1 && step <= 8) {
    switch (Ci * 16 + step) {
      case 1 * 16 + 1: copy_feature_rows_fixed<T, 1, 1>(src, dst, dst_stride, n); return;
      case 1 * 16 + 2: copy_feature_rows_fixed<T, 1, 2>(src, dst, dst_stride, n); return;
      case 1 * 16 + 3: copy_feature_rows_fixed<T, 1, 3>(src, dst, dst_stride, n); return;
      case 1 * 16 + 4: copy_feature_rows_fixed<T, 1, 4>(src, dst, dst_stride, n); return;
      case 2 * 16 + 2: copy_feature_rows_fixed<T, 2, 2>(src, dst, dst_stride, n); return;
      case 3 * 16 + 3: copy_feature_rows_fixed<T, 3, 3>(src, dst, dst_stride, n); return;
      case 4 * 16 + 4: copy_feature_rows_fixed<T, 4, 4>(src, dst, dst_stride, n); return;
      default: break;
    }
  }
  for (int64_t c = 0; c < Ci; ++c) {
    const T* s = src + c * c_stride;
    T* d = dst + c * dst_stride;
    if (step == 1) {
      for (int64_t k = 0; k < n; ++k) d[k] = s[k];
    } else {
      for (int64_t k = 0; k < n; ++k) d[k] = s[k * step];
    }
  }
}

}  // namespace xlax::kernels::detail::XLAX_CONV_IMPL_NS
