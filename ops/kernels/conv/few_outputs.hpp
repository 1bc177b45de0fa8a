// Internal, per instruction-set build: the FewOutputs path: the path for few output
// features (Co <= 4) when the input features are contiguous and fill whole vectors, e.g. the
// data gradient of a first layer (one image channel, reduction over 32 channels-last
// features). The direct path vectorises over output positions, which here means strided
// gathers; this one vectorises the reduction over the input features instead: P pixels x
// Co vector partial sums, every lhs vector read straight from the input, lanes summed once
// per pixel block. Padding needs no copies: the taps of a kernel row that fall outside the
// input are skipped (pixels are grouped by their range of real taps).
#pragma once

#include "ops/kernels/conv/toolkit.hpp"

namespace xlax::kernels::detail::XLAX_CONV_IMPL_NS {

// sums[e] = sum of the lanes of a[e] for e < N. Vectors are summed L at a time by xsimd's
// haddp; 512-bit ones are first folded to 256 bits through memory, as GCC 12 warns about
// every AVX-512 shuffle intrinsic (uninitialised pass-through operand) under -Wall.
template <class T, int N>
void lane_sums(const xsimd::batch<T, Arch>* a, T* sums) {
  using B = xsimd::batch<T, Arch>;
#if defined(__AVX512F__)
  using H = xsimd::batch<T, xsimd::avx2>;
#else
  using H = B;
#endif
  constexpr int HL = static_cast<int>(H::size), kGroups = (N + HL - 1) / HL;
  H h[kGroups * HL];
#pragma GCC unroll 32
  for (int e = 0; e < kGroups * HL; ++e) {
    if (e >= N) {
      h[e] = H(T(0));
    } else if constexpr (sizeof(B) == sizeof(H)) {
      h[e] = H(a[e]);
    } else {
      alignas(64) T buf[B::size];
      a[e].store_aligned(buf);
      h[e] = H::load_aligned(buf) + H::load_aligned(buf + HL);
    }
  }
#pragma GCC unroll 4
  for (int grp = 0; grp < kGroups; ++grp) {
    alignas(64) T out[HL];
    xsimd::haddp(h + grp * HL).store_aligned(out);
    for (int e = 0; e < HL && grp * HL + e < N; ++e) sums[grp * HL + e] = out[e];
  }
}

// sums[p*CO + o] = sum over runs k < nruns, vectors u < run_vecs of
//   x[p][run_x[k] + u*L ..] . run_w[k][o*w_o + u*L ..]   (a run: taps adjacent in memory).
template <class T, int P, int CO>
void few_outputs_block(const T* const* x, const int64_t* run_x, const T* const* run_w,
                       int64_t nruns, int64_t run_vecs, int64_t w_o, T* sums) {
  using B = xsimd::batch<T, Arch>;
  constexpr int L = static_cast<int>(B::size);
  B a[P * CO];
#pragma GCC unroll 32
  for (int e = 0; e < P * CO; ++e) a[e] = B(T(0));
  const T* xp[P];
#pragma GCC unroll 16
  for (int p = 0; p < P; ++p) xp[p] = x[p];
  for (int64_t k = 0; k < nruns; ++k) {
    const int64_t xo = run_x[k];
    const T* w = run_w[k];
    for (int64_t u = 0; u < run_vecs * L; u += L) {
      B wv[CO];
#pragma GCC unroll 4
      for (int o = 0; o < CO; ++o) wv[o] = B::load_unaligned(w + o * w_o + u);
#pragma GCC unroll 16
      for (int p = 0; p < P; ++p) {
        const B xv = B::load_unaligned(xp[p] + xo + u);
#pragma GCC unroll 4
        for (int o = 0; o < CO; ++o) a[p * CO + o] = fma_op(xv, wv[o], a[p * CO + o]);
      }
    }
  }
  lane_sums<T, P * CO>(a, sums);
}

// Accumulator registers a pixel block may use (the rest hold weights and one input vector).
template <class T>
constexpr int64_t few_outputs_acc_regs() {
  return xsimd::batch<T, Arch>::size * sizeof(T) == 64 ? 24 : 12;
}

// Pixels per block for co output features: power of two, accumulators in registers, and
// at most 8 pixel pointers (general registers).
template <class T>
int64_t few_outputs_pmax(int64_t co) {
  int64_t pm = 8;
  while (pm > 1 && pm * co > few_outputs_acc_regs<T>()) pm /= 2;
  return pm;
}

// few_outputs_block with CO = co (1..4); only the (P, CO) pairs few_outputs_pmax allows.
template <class T, int P>
void few_outputs_pixels(int64_t co, const T* const* x, const int64_t* run_x,
                        const T* const* run_w, int64_t nruns, int64_t run_vecs, int64_t w_o,
                        T* sums) {
#define XLAX_FEW_OUTPUTS_CASE(CO)                                                               \
  if constexpr (P * CO <= few_outputs_acc_regs<T>())                                            \
    if (co == CO) return few_outputs_block<T, P, CO>(x, run_x, run_w, nruns, run_vecs, w_o, sums);
  XLAX_FEW_OUTPUTS_CASE(1)
  XLAX_FEW_OUTPUTS_CASE(2)
  XLAX_FEW_OUTPUTS_CASE(3)
  XLAX_FEW_OUTPUTS_CASE(4)
#undef XLAX_FEW_OUTPUTS_CASE
}

// Requires nd >= 1, Co <= 4, lhs_c == 1 and Ci a multiple of the vector length.
template <class T>
void few_outputs_conv(const DenseConv<T>& p, int num_threads) {
  constexpr int64_t L = xsimd::batch<T, Arch>::size;
  const int nd = p.nd, v = nd - 1;
  const int64_t Ci = p.Ci, Co = p.Co, Ql = p.Q[v], Kl = p.K[v];
  const int64_t sl = p.stride[v], rd = p.rhs_dil[v], lo = p.pad_lo[v], Sl = p.S[v];
  const int64_t ls = p.lhs_s[v];
  int64_t outer_taps = 1, outer_lines = 1;
  for (int i = 0; i < v; ++i) outer_taps *= p.K[i], outer_lines *= p.Q[i];
  const int64_t ntaps = outer_taps * Kl;
  // Packed weights [g][o][tap][c]: features contiguous per (o, tap), taps of a row adjacent.
  const int64_t w_o = ntaps * Ci;
  Scratch<T> wpack(p.groups * Co * w_o);
  for (int64_t t = 0; t < ntaps; ++t) {
    const int64_t koff = tap_rhs_offset(p, t, nd);
    for (int64_t g = 0; g < p.groups; ++g)
      for (int64_t o = 0; o < Co; ++o)
        for (int64_t c = 0; c < Ci; ++c)
          wpack[(g * Co + o) * w_o + t * Ci + c] =
              p.rhs[g * p.rhs_group + o * p.rhs_o + c * p.rhs_i + koff];
  }
  // Pixel blocks along a line (the same for every line): runs of pixels sharing their real
  // taps j in [ja, jb), cut into power-of-two blocks of at most pmax.
  const int64_t pmax = few_outputs_pmax<T>(Co);
  Scratch<int64_t> block_q(Ql), block_p(Ql), block_ja(Ql), block_jb(Ql);
  int64_t nblocks = 0;
  {
    auto tap_range = [&](int64_t ql, int64_t& ja, int64_t& jb) {
      const int64_t x0 = ql * sl - lo;  // input x of tap 0
      const TapRange r = real_taps(x0, rd, Kl, Sl);
      ja = r.first, jb = r.end;
    };
    for (int64_t q0 = 0; q0 < Ql;) {
      int64_t ja, jb, q1 = q0 + 1;
      tap_range(q0, ja, jb);
      for (int64_t a2, b2; q1 < Ql; ++q1) {
        tap_range(q1, a2, b2);
        if (a2 != ja || b2 != jb) break;
      }
      for (int64_t pb = pmax; q0 < q1; pb /= 2)
        for (; q0 + pb <= q1; q0 += pb, ++nblocks) {
          block_q[nblocks] = q0, block_p[nblocks] = pb;
          block_ja[nblocks] = ja, block_jb[nblocks] = jb;
        }
    }
  }
  // Taps of a kernel row adjacent in memory (e.g. channels-last, no dilation): one run each.
  const bool merge_taps = rd * ls == Ci;
  const int64_t lines = p.groups * p.N * outer_lines;
  const double flops = 2.0 * static_cast<double>(lines) * Ql * Co * Ci * ntaps;
  const int nt = threads_for(flops, lines, num_threads);

  parallel_region(nt, [&] {
    Scratch<int64_t> row_off(outer_taps), row_tap(outer_taps), run_x(ntaps);
    Scratch<const T*> run_w(ntaps), xp(8);
    Scratch<T> sums(8 * 4);
#pragma omp for schedule(static)
    for (int64_t line = 0; line < lines; ++line) {
      const OutputLine<T> ol(p, line);
      const int64_t g = ol.g, *q = ol.q;
      const T* lhs = ol.lhs;
      const T* wg = wpack.data + g * Co * w_o;
      T* out = ol.out;
      // Kernel rows (outer taps) whose input row is real for this line.
      int64_t nrows = 0;
      for (int64_t ot = 0; ot < outer_taps; ++ot) {
        int64_t j[kMaxDenseDims], off;
        decode_outer(ot, p.K, p.nd, j);
        if (!outer_row_inside(p, q, j, off)) continue;
        row_off[nrows] = off, row_tap[nrows] = ot * Kl;
        ++nrows;
      }
      for (int64_t b = 0; b < nblocks; ++b) {
        const int64_t q0 = block_q[b], pb = block_p[b], ja = block_ja[b], nj = block_jb[b] - ja;
        // Runs relative to each pixel's first real tap.
        int64_t nruns = 0, run_vecs = merge_taps ? nj * Ci / L : Ci / L;
        for (int64_t k = 0; k < nrows && nj > 0; ++k)
          for (int64_t j = 0; j < (merge_taps ? 1 : nj); ++j, ++nruns) {
            run_x[nruns] = row_off[k] + j * rd * ls;
            run_w[nruns] = wg + (row_tap[k] + ja + j) * Ci;
          }
        for (int64_t e = 0; e < pb; ++e) xp[e] = lhs + ((q0 + e) * sl + ja * rd - lo) * ls;
        switch (pb) {
          case 8: few_outputs_pixels<T, 8>(Co, xp.data, run_x.data, run_w.data, nruns, run_vecs, w_o, sums.data); break;
          case 4: few_outputs_pixels<T, 4>(Co, xp.data, run_x.data, run_w.data, nruns, run_vecs, w_o, sums.data); break;
          case 2: few_outputs_pixels<T, 2>(Co, xp.data, run_x.data, run_w.data, nruns, run_vecs, w_o, sums.data); break;
          default: few_outputs_pixels<T, 1>(Co, xp.data, run_x.data, run_w.data, nruns, run_vecs, w_o, sums.data); break;
        }
        for (int64_t e = 0; e < pb; ++e)
          for (int64_t o = 0; o < Co; ++o) out[(q0 + e) * p.out_q[v] + o * p.out_o] = sums[e * Co + o];
      }
    }
  });
}

// FewOutputs applies to at most 4 output features outside large windows, with the input
// features contiguous in whole vectors (dot products over them).
template <class T>
bool few_outputs_applies(const DenseConv<T>& p, int64_t L) {
  return !is_large_window(p) && p.nd >= 1 && p.Co <= 4 && p.lhs_c == 1 && p.Ci % L == 0;
}

template <class T>
void run_few_outputs(const DenseConv<T>& p, int num_threads) {
  few_outputs_conv(p, num_threads);
}

}  // namespace xlax::kernels::detail::XLAX_CONV_IMPL_NS
