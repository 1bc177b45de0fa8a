// Internal, per instruction-set build: the FewInputs path: the path for a short
// reduction (few input features x taps, e.g. a first layer with one channel) and output
// features adjacent in memory. Per output line (last spatial dim) the input rows it needs
// are copied into a small zero-padded patch [outer tap][x][c] (cheap next to the line's
// work when the reduction is short), so every pixel reads its taps at fixed offsets: the
// pixels run in tiles of up to MR through micro_kernel_flat with the output features in registers
// and each input value broadcast. No per-row tables, no border cases.
#pragma once

#include "ops/kernels/conv/toolkit.hpp"

namespace xlax::kernels::detail::XLAX_CONV_IMPL_NS {

// micro_kernel_flat (fresh sums) with the tile height mr (1..MR) chosen at run time.
template <class T, int MR, int NV>
void flat_tile(int64_t mr, const T* const* base, const int64_t* flat_offset, int64_t nk,
               const T* w, T* const* dst) {
  if constexpr (MR > 1) {
    if (mr < MR) return flat_tile<T, MR - 1, NV>(mr, base, flat_offset, nk, w, dst);
  }
  micro_kernel_flat<T, MR, NV>(base, flat_offset, nk, w, dst, false);
}

// micro_kernel_flat for pixels adjacent in the patch (one input feature, stride 1, as in a
// first layer) and rows dst_step apart in the output: one lhs and one output pointer instead
// of MR each, so nothing spills from the general registers.
template <class T, int MR, int NV>
void adjacent_kernel(const T* base, const int64_t* flat_offset, int64_t nk, const T* w,
                     T* dst, int64_t dst_step) {
  constexpr int64_t NR = NV * static_cast<int64_t>(xsimd::batch<T, Arch>::size);
  RegisterTile<T, MR, NV> tile(nullptr, false);
  for (int64_t k = 0; k < nk; ++k, w += NR) {
    const T* x = base + flat_offset[k];
    tile.step(w, [x](int r) { return x[r]; });
  }
  tile.store(dst, dst_step);
}

template <class T, int MR, int NV>
void adjacent_tile(int64_t mr, const T* base, const int64_t* flat_offset, int64_t nk,
                   const T* w, T* dst, int64_t dst_step) {
  if constexpr (MR > 1) {
    if (mr < MR) return adjacent_tile<T, MR - 1, NV>(mr, base, flat_offset, nk, w, dst, dst_step);
  }
  adjacent_kernel<T, MR, NV>(base, flat_offset, nk, w, dst, dst_step);
}

// Requires nd >= 1, out_o == 1 and a reduction Ci*taps small enough for its packed weights
// to stay in L1.
template <class T, int MR, int NV>
void few_inputs_conv(const DenseConv<T>& p, int num_threads) {
  constexpr int64_t L = xsimd::batch<T, Arch>::size, NR = NV * L;
  const int nd = p.nd, v = nd - 1;
  const int64_t Ci = p.Ci, Co = p.Co, Ql = p.Q[v], Kl = p.K[v];
  int64_t outer_taps = 1, outer_lines = 1;
  for (int i = 0; i < v; ++i) outer_taps *= p.K[i], outer_lines *= p.Q[i];
  const int64_t ntaps = outer_taps * Kl, R = Ci * ntaps;
  const int64_t cblocks = ceil_div(Co, NR), wblock = R * NR;
  // Patch row: padded x' = q*s + j*rd of the last dim, x = x' - pad_lo.
  const int64_t width = (Ql - 1) * p.stride[v] + (Kl - 1) * p.rhs_dil[v] + 1;
  const int64_t patch_row = width * Ci;
  // Packed weights [g][cb][k = (tap, c)][NR], zero beyond Co; patch offset of each k.
  Scratch<T> wpack(p.groups * cblocks * wblock);
  Scratch<int64_t> flat_offset(R);
  for (int64_t t = 0; t < ntaps; ++t) {
    const int64_t koff = tap_rhs_offset(p, t, nd);
    const int64_t ot = t / Kl, jl = t % Kl;
    for (int64_t c = 0; c < Ci; ++c) {
      flat_offset[t * Ci + c] = ot * patch_row + jl * p.rhs_dil[v] * Ci + c;
      for (int64_t g = 0; g < p.groups; ++g)
        for (int64_t o = 0; o < Co; ++o)
          wpack[(g * cblocks + o / NR) * wblock + (t * Ci + c) * NR + o % NR] =
              p.rhs[g * p.rhs_group + o * p.rhs_o + c * p.rhs_i + koff];
    }
  }
  const int64_t lines = p.groups * p.N * outer_lines;
  const double flops = 2.0 * static_cast<double>(lines) * Ql * Co * R;
  const int nt = threads_for(flops, lines, num_threads);
  const int64_t lo = p.pad_lo[v], Sl = p.S[v], ls = p.lhs_s[v];
  // Real part of a patch row: x' in [xa, xb).
  const int64_t xa = min64(width, max64(0, lo)), xb = max64(xa, min64(width, lo + Sl));
  const bool adjacent = p.stride[v] * Ci == 1;  // pixel r of a tile at patch + q0 + r

  parallel_region(nt, [&] {
    Scratch<T> patch(outer_taps * patch_row);
    Scratch<T> tmp(MR * NR);
#pragma omp for schedule(static)
    for (int64_t line = 0; line < lines; ++line) {
      const OutputLine<T> ol(p, line);
      const int64_t g = ol.g, *q = ol.q;
      const T* lhs = ol.lhs;
      T* out = ol.out;
      const T* wg = wpack.data + g * cblocks * wblock;
      for (int64_t ot = 0; ot < outer_taps; ++ot) {
        T* row = patch.data + ot * patch_row;
        int64_t j[kMaxDenseDims], off;
        decode_outer(ot, p.K, nd, j);
        const bool inside = outer_row_inside(p, q, j, off);
        const int64_t a = inside ? xa : width, b = inside ? xb : width;
        fill_zero(row, a * Ci);
        if (a < b) {
          const T* src = lhs + off + (a - lo) * ls;
          // (Per-pixel loops over a few features would become a memcpy call per pixel.)
          if (Ci == 1) {
            for (int64_t x = 0; x < b - a; ++x) row[a + x] = src[x * ls];
          } else {
            for (int64_t x = 0; x < b - a; ++x)
              for (int64_t c = 0; c < Ci; ++c) row[(a + x) * Ci + c] = src[x * ls + c * p.lhs_c];
          }
        }
        fill_zero(row + b * Ci, (width - b) * Ci);
      }
      // Tiles of near-equal height <= MR (no padding pixels computed for a short last tile).
      const int64_t tiles = ceil_div(Ql, MR);
      for (int64_t tile = 0; tile < tiles; ++tile) {
        const int64_t q0 = Ql * tile / tiles, mr = Ql * (tile + 1) / tiles - q0;
        const T* base[MR];
        T* dst[MR];
        for (int64_t cb = 0; cb < cblocks; ++cb) {
          const bool full_cols = (cb + 1) * NR <= Co;
          if (full_cols && adjacent) {
            adjacent_tile<T, MR, NV>(mr, patch.data + q0, flat_offset.data, R, wg + cb * wblock,
                                     out + q0 * p.out_q[v] + cb * NR, p.out_q[v]);
            continue;
          }
          for (int64_t r = 0; r < mr; ++r) {
            base[r] = patch.data + (q0 + r) * p.stride[v] * Ci;
            dst[r] = full_cols ? out + (q0 + r) * p.out_q[v] + cb * NR : tmp.data + r * NR;
          }
          flat_tile<T, MR, NV>(mr, base, flat_offset.data, R, wg + cb * wblock, dst);
          if (!full_cols)
            for (int64_t r = 0; r < mr; ++r)
              for (int64_t o = 0; o < Co - cb * NR; ++o)
                out[(q0 + r) * p.out_q[v] + cb * NR + o] = tmp[r * NR + o];
        }
      }
    }
  });
}

// FewInputs applies to a short reduction (taps x input features <= 64) outside large
// windows, output features contiguous and at least a vector of them, lines of 4+ pixels.
template <class T>
bool few_inputs_applies(const DenseConv<T>& p, int64_t L) {
  return !is_large_window(p) && p.nd >= 1 && p.out_o == 1 && p.Co >= L &&
         TapTable::tap_count(p) * p.Ci <= 64 && p.Q[p.nd - 1] >= 4;
}

template <class T>
void run_few_inputs(const DenseConv<T>& p, int num_threads) {
  constexpr int64_t L = xsimd::batch<T, Arch>::size;
  // 32 vector registers (AVX-512) hold 12 pixels x 2 vectors of sums.
  if (p.Co > L)
    few_inputs_conv<T, L * sizeof(T) == 64 ? 12 : 6, 2>(p, num_threads);
  else
    few_inputs_conv<T, 12, 1>(p, num_threads);
}

}  // namespace xlax::kernels::detail::XLAX_CONV_IMPL_NS
