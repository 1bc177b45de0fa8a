// Internal, part of conv_kernel_impl.hpp (same per-build namespace): depthwise convs
// (Ci = Co = 1 per group) with the groups adjacent in memory on both lhs and out
// (channels-last), forward and data gradient. Vectorised over groups; per output line (last
// spatial dim) the pixels whose taps are all inside the lhs go kPixels at a time, each
// weight vector loaded once per block instead of once per pixel; the other pixels sum their
// real taps one at a time.
#pragma once

namespace xlax::kernels::detail::XLAX_CONV_IMPL_NS {

// dst[p][g..g_end) = sum_t src[p][tap_offset[t] + g] * w[t*G + g] for kPixels pixels, groups
// in steps of GV vectors.
template <class T, int PX, int GV>
void depthwise_pixel_block(const T* const* src, const int64_t* tap_offset, int64_t ntaps,
                           const T* w, int64_t G, int64_t g_end, T* const* dst) {
  using B = xsimd::batch<T, Arch>;
  constexpr int64_t L = B::size;
  for (int64_t g = 0; g + GV * L <= g_end; g += GV * L) {
    B a[PX][GV];
#pragma GCC unroll 8
    for (int p = 0; p < PX; ++p)
#pragma GCC unroll 4
      for (int k = 0; k < GV; ++k) a[p][k] = B(T(0));
    for (int64_t t = 0; t < ntaps; ++t) {
      B wv[GV];
#pragma GCC unroll 4
      for (int k = 0; k < GV; ++k) wv[k] = B::load_unaligned(w + t * G + g + k * L);
      const int64_t off = tap_offset[t] + g;
#pragma GCC unroll 8
      for (int p = 0; p < PX; ++p)
#pragma GCC unroll 4
        for (int k = 0; k < GV; ++k)
          a[p][k] = fma_op(B::load_unaligned(src[p] + off + k * L), wv[k], a[p][k]);
    }
#pragma GCC unroll 8
    for (int p = 0; p < PX; ++p)
#pragma GCC unroll 4
      for (int k = 0; k < GV; ++k) a[p][k].store_unaligned(dst[p] + g + k * L);
  }
}

// One pixel, groups [g0, G): the listed taps (src[t], wsrc[t]) only.
template <class T>
void depthwise_pixel(const T* const* src, const T* const* wsrc, int64_t nvalid, int64_t g0,
                     int64_t G, T* dst) {
  using B = xsimd::batch<T, Arch>;
  constexpr int64_t L = B::size;
  int64_t g = g0;
  for (; g + 4 * L <= G; g += 4 * L) {
    B a0(T(0)), a1(T(0)), a2(T(0)), a3(T(0));
    for (int64_t t = 0; t < nvalid; ++t) {
      const T* s = src[t] + g;
      const T* w = wsrc[t] + g;
      a0 = fma_op(B::load_unaligned(s), B::load_unaligned(w), a0);
      a1 = fma_op(B::load_unaligned(s + L), B::load_unaligned(w + L), a1);
      a2 = fma_op(B::load_unaligned(s + 2 * L), B::load_unaligned(w + 2 * L), a2);
      a3 = fma_op(B::load_unaligned(s + 3 * L), B::load_unaligned(w + 3 * L), a3);
    }
    a0.store_unaligned(dst + g);
    a1.store_unaligned(dst + g + L);
    a2.store_unaligned(dst + g + 2 * L);
    a3.store_unaligned(dst + g + 3 * L);
  }
  for (; g + L <= G; g += L) {
    B a0(T(0));
    for (int64_t t = 0; t < nvalid; ++t)
      a0 = fma_op(B::load_unaligned(src[t] + g), B::load_unaligned(wsrc[t] + g), a0);
    a0.store_unaligned(dst + g);
  }
  for (; g < G; ++g) {
    T a = 0;
    for (int64_t t = 0; t < nvalid; ++t) a += src[t][g] * wsrc[t][g];
    dst[g] = a;
  }
}

template <class T>
void depthwise_conv(const DenseConv<T>& p, int num_threads) {
  constexpr int64_t L = xsimd::batch<T, Arch>::size;
  constexpr int kPixels = 4, kGV = 2;
  const int nd = p.nd, v = nd - 1;
  const int64_t G = p.groups;
  const TapTable taps(p);
  const int64_t ntaps = taps.count;

  Scratch<T> wpack(ntaps * G);  // [tap][group]
  for (int64_t t = 0; t < ntaps; ++t) {
    int64_t rem = t, koff = 0;
    for (int i = nd - 1; i >= 0; --i) {
      koff += (rem % p.K[i]) * p.rhs_k[i];
      rem /= p.K[i];
    }
    for (int64_t g = 0; g < G; ++g) wpack[t * G + g] = p.rhs[g * p.rhs_group + koff];
  }
  // Groups done by the pixel blocks; the rest per pixel.
  const int64_t g_block_end = G / (kGV * L) * (kGV * L);

  // Lines: (n, outer output coords); pixels q of the last dim (a single line when nd = 0).
  int64_t outer_lines = 1;
  for (int i = 0; i < v; ++i) outer_lines *= p.Q[i];
  const int64_t lines = p.N * outer_lines, Ql = nd > 0 ? p.Q[v] : 1;
  // Pixels of a line whose last-dim taps are all inside: q*s - lo in [0, S - 1 - span].
  int64_t q_in0 = 0, q_in1 = Ql;
  if (nd > 0) {
    const int64_t span = (p.K[v] - 1) * p.rhs_dil[v], sl = p.stride[v], lo = p.pad_lo[v];
    q_in0 = min64(Ql, lo > 0 ? ceil_div(lo, sl) : 0);
    const int64_t last_x = p.S[v] - 1 - span + lo;
    q_in1 = last_x < 0 ? q_in0 : max64(q_in0, min64(Ql, last_x / sl + 1));
  }
  const double flops = 2.0 * static_cast<double>(lines) * Ql * G * ntaps;
  const int nt = static_cast<int>(max64(1, min64(flops < 2e5 ? 1 : num_threads, lines)));
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    Scratch<const T*> src(ntaps), wsrc(ntaps);
#pragma omp for schedule(static)
    for (int64_t line = 0; line < lines; ++line) {
      RowCursor<T> cur(p, line * Ql);  // first pixel of the line
      int64_t x0[kMaxDenseDims], lhs_off, out_off;
      cur.describe(x0, lhs_off, out_off);
      bool outer_inside = true;
      for (int i = 0; i < v; ++i)
        outer_inside = outer_inside && x0[i] >= 0 && x0[i] + (p.K[i] - 1) * p.rhs_dil[i] < p.S[i];
      const int64_t in0 = outer_inside ? q_in0 : Ql, in1 = outer_inside ? q_in1 : Ql;
      const int64_t lstep = nd > 0 ? p.stride[v] * p.lhs_s[v] : 0, ostep = nd > 0 ? p.out_q[v] : 0;
      // Interior pixels, kPixels at a time (offsets stay integers until known inside).
      int64_t q = in0;
      for (; q + kPixels <= in1 && g_block_end > 0; q += kPixels) {
        const T* bsrc[kPixels];
        T* bdst[kPixels];
        for (int k = 0; k < kPixels; ++k) {
          bsrc[k] = p.lhs + (lhs_off + (q + k) * lstep);
          bdst[k] = p.out + out_off + (q + k) * ostep;
        }
        depthwise_pixel_block<T, kPixels, kGV>(bsrc, taps.lhs_offset.data, ntaps, wpack.data, G,
                                               g_block_end, bdst);
        for (int k = 0; k < kPixels && g_block_end < G; ++k) {
          for (int64_t t = 0; t < ntaps; ++t) {
            src[t] = bsrc[k] + taps.lhs_offset.data[t];
            wsrc[t] = wpack.data + t * G;
          }
          depthwise_pixel(src.data, wsrc.data, ntaps, g_block_end, G, bdst[k]);
        }
      }
      // Every other pixel of the line: its real taps only.
      for (int64_t ql = 0; ql < Ql; ++ql) {
        if (ql >= in0 && ql < q) continue;
        int64_t xq[kMaxDenseDims];
        for (int i = 0; i < nd; ++i) xq[i] = x0[i];
        if (nd > 0) xq[v] += ql * p.stride[v];
        int64_t nvalid = 0;
        for (int64_t t = 0; t < ntaps; ++t) {
          if (tap_inside(xq, &taps.coord.data[t * nd], p.S, nd)) {
            src[nvalid] = p.lhs + (lhs_off + ql * lstep + taps.lhs_offset.data[t]);
            wsrc[nvalid++] = wpack.data + t * G;
          }
        }
        depthwise_pixel(src.data, wsrc.data, nvalid, 0, G, p.out + out_off + ql * ostep);
      }
    }
  }
}

}  // namespace xlax::kernels::detail::XLAX_CONV_IMPL_NS
