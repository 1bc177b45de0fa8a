// Internal, part of conv_kernel_impl.hpp (same per-build namespace): the direct path for
// few output features. Vectorises over output positions along the last spatial dim; the
// input rows a line of outputs needs are first copied into a zero-padded line buffer,
// de-interleaved by stride phase, so every (tap, feature) is a run of contiguous vector loads
// whatever the lhs layout, padding or stride.
#pragma once

namespace xlax::kernels::detail::XLAX_CONV_IMPL_NS {

// Geometry of one line buffer row: outputs q < Q along the last dim read padded input
// x' = q*s + j*rd, stored at phase x' % s, index x' / s.
struct LineRow {
  int64_t s, phase_len, len;  // len = s * phase_len
  LineRow(int64_t Q, int64_t K, int64_t s_, int64_t rd, int64_t L) : s(s_) {
    const int64_t span = (Q - 1) * s + (K - 1) * rd + 1;
    phase_len = ceil_div(span, s) + L;  // room for the last, partial vector
    len = s * phase_len;
  }
};

// acc[u][o] += line(x at q0 + u*L + k) * w[o] for NQ vectors of outputs and COB features.
template <class T, int NQ, int COB>
void direct_block(const T* rowbuf, const int64_t* tap_pos, int64_t ntaps, const T* w,
                  int64_t w_step, T* acc_out) {
  using B = xsimd::batch<T, Arch>;
  constexpr int L = static_cast<int>(B::size);
  B a[NQ][COB];
#pragma GCC unroll 8
  for (int u = 0; u < NQ; ++u)
#pragma GCC unroll 4
    for (int o = 0; o < COB; ++o) a[u][o] = B(T(0));
  for (int64_t t = 0; t < ntaps; ++t) {
    const T* x = rowbuf + tap_pos[t];
    B wb[COB];
#pragma GCC unroll 4
    for (int o = 0; o < COB; ++o) wb[o] = B(w[o]);
    w += w_step;
#pragma GCC unroll 8
    for (int u = 0; u < NQ; ++u) {
      const B xv = B::load_unaligned(x + u * L);
#pragma GCC unroll 4
      for (int o = 0; o < COB; ++o) a[u][o] = fma_op(xv, wb[o], a[u][o]);
    }
  }
#pragma GCC unroll 8
  for (int u = 0; u < NQ; ++u)
#pragma GCC unroll 4
    for (int o = 0; o < COB; ++o) a[u][o].store_unaligned(acc_out + (o * NQ + u) * L);
}

// (Shared with the tiny-output window path.)
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

template <class T>
void copy_feature_rows(const T* src, int64_t step, int64_t c_stride, int64_t Ci, T* dst,
                       int64_t dst_stride, int64_t n) {
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

// out[q*out_q + o*out_o] = acc[o*acc_stride + q] for q < nq, o < COB; interleaved
// (channels-last) lines of exactly COB features as one constant-stride loop.
template <class T, int COB>
void store_features(const T* __restrict acc, int64_t acc_stride, int64_t nq, T* __restrict out,
                    int64_t out_q, int64_t out_o) {
  if (out_o == 1 && out_q == COB) {
    for (int64_t q = 0; q < nq; ++q)
#pragma GCC unroll 4
      for (int o = 0; o < COB; ++o) out[q * COB + o] = acc[o * acc_stride + q];
  } else if (out_o == 1) {
    for (int64_t q = 0; q < nq; ++q)
#pragma GCC unroll 4
      for (int o = 0; o < COB; ++o) out[q * out_q + o] = acc[o * acc_stride + q];
  } else {
    for (int o = 0; o < COB; ++o)
      for (int64_t q = 0; q < nq; ++q) out[q * out_q + o * out_o] = acc[o * acc_stride + q];
  }
}

// Runs features [o0, o0+COB) of one line: out[q, o] for all q < Qv.
template <class T, int NQ, int COB>
void direct_line_features(const T* rowbuf, const int64_t* tap_pos, int64_t ntaps, const T* w,
                          int64_t w_step, int64_t Qv, T* out, int64_t out_q, int64_t out_o,
                          T* acc) {
  constexpr int64_t L = xsimd::batch<T, Arch>::size;
  for (int64_t q0 = 0; q0 < Qv; q0 += NQ * L) {
    direct_block<T, NQ, COB>(rowbuf + q0, tap_pos, ntaps, w, w_step, acc);
    const int64_t nq = min64(NQ * L, Qv - q0);
    store_features<T, COB>(acc, NQ * L, nq, out + q0 * out_q, out_q, out_o);
  }
}

template <class T>
void direct_conv(const DenseConv<T>& p, int num_threads) {
  constexpr int64_t L = xsimd::batch<T, Arch>::size;
  const int nd = p.nd, v = nd - 1;
  const int64_t Ci = p.Ci, Co = p.Co, Qv = p.Q[v], Kv = p.K[v];
  // Taps of the other dims ("outer" taps), row-major.
  int64_t outer_taps = 1, outer_lines = 1;
  for (int i = 0; i < v; ++i) outer_taps *= p.K[i], outer_lines *= p.Q[i];
  const int64_t lines = p.groups * p.N * outer_lines;
  const LineRow lr(Qv, Kv, p.stride[v], p.rhs_dil[v], 8 * L);
  const int64_t rows_per_line = outer_taps * Ci;

  // Weights [g][outer tap][c][j_v][o]; line buffer rows ordered (outer tap, c).
  const int64_t wg = rows_per_line * Kv * Co;
  constexpr Uninitialized uninit = Uninitialized::tag;  // (buffers written before read)
  Scratch<T> wpack(p.groups * wg, uninit);
  for (int64_t g = 0; g < p.groups; ++g)
    for (int64_t ot = 0; ot < outer_taps; ++ot) {
      int64_t rem = ot, koff = 0;
      for (int i = v - 1; i >= 0; --i) {
        koff += (rem % p.K[i]) * p.rhs_k[i];
        rem /= p.K[i];
      }
      for (int64_t c = 0; c < Ci; ++c)
        for (int64_t j = 0; j < Kv; ++j)
          for (int64_t o = 0; o < Co; ++o)
            wpack[g * wg + ((ot * Ci + c) * Kv + j) * Co + o] =
                p.rhs[g * p.rhs_group + o * p.rhs_o + c * p.rhs_i + koff + j * p.rhs_k[v]];
    }
  // Position in the line buffer of each (row, j_v), relative to output q = 0.
  Scratch<int64_t> tap_pos(rows_per_line * Kv, uninit);
  for (int64_t r = 0; r < rows_per_line; ++r)
    for (int64_t j = 0; j < Kv; ++j) {
      const int64_t x = j * p.rhs_dil[v];
      tap_pos[r * Kv + j] = r * lr.len + (x % lr.s) * lr.phase_len + x / lr.s;
    }

  // Input rows are cached across consecutive lines of a thread (neighbouring output rows
  // share most of their input rows): a slot holds the Ci feature rows of one input row,
  // chosen by key, probing past slots this line uses.
  int64_t outer_S = 1;
  for (int i = 0; i < v; ++i) outer_S *= p.S[i];
  int64_t slots = 1;  // a power of two >= 2 * outer_taps + 1: slot = key & (slots - 1)
  while (slots < 2 * outer_taps + 1) slots *= 2;
  const int64_t slot_len = Ci * lr.len;
  // Per outer tap and outer dim: input offset j*rd (no divisions per line and tap).
  Scratch<int64_t> outer_shift(outer_taps * max64(v, 1), uninit);
  for (int64_t ot = 0; ot < outer_taps; ++ot) {
    int64_t r2 = ot;
    for (int i = v - 1; i >= 0; --i) {
      outer_shift[ot * v + i] = (r2 % p.K[i]) * p.rhs_dil[i];
      r2 /= p.K[i];
    }
  }

  const double flops = 2.0 * static_cast<double>(lines) * Qv * Co * rows_per_line * Kv;
  const int nt = static_cast<int>(max64(1, min64(flops < 2e5 ? 1 : num_threads, lines)));
  parallel_region(nt, [&] {
    Scratch<T> rowbuf(slots * slot_len, uninit);
    Scratch<int64_t> slot_key(slots, uninit), slot_line(slots, uninit);
    for (int64_t k = 0; k < slots; ++k) slot_key[k] = slot_line[k] = -1;
    Scratch<T> acc(8 * L * 4, uninit);
    Scratch<int64_t> valid_pos(rows_per_line * Kv, uninit);
    Scratch<T> valid_w(rows_per_line * Kv * Co, uninit);
    Scratch<int64_t> valid_row(outer_taps, uninit);
    // Valid x' range of a row: x = x' - pad_lo inside [0, S).
    const int64_t xlo = p.pad_lo[v], xhi = p.pad_lo[v] + p.S[v];
#pragma omp for schedule(static)
    for (int64_t line = 0; line < lines; ++line) {
      const OutputLine<T> ol(p, line);
      const int64_t g = ol.g, rem = ol.image, *q = ol.q;
      const T* lhs = ol.lhs;
      T* out = ol.out;
      // Rows of the outer taps that land inside the lhs; the others contribute nothing.
      int64_t ntaps = 0, nrows = 0;
      int64_t x_first[kMaxDenseDims];
      for (int i = 0; i < v; ++i) x_first[i] = q[i] * p.stride[i] - p.pad_lo[i];
      for (int64_t ot = 0; ot < outer_taps; ++ot) {
        int64_t off = 0, xflat = 0;
        bool inside = true;
        for (int i = 0; i < v; ++i) {
          const int64_t x = x_first[i] + outer_shift[ot * v + i];
          inside = inside && x >= 0 && x < p.S[i];
          off += x * p.lhs_s[i];
          xflat = xflat * p.S[i] + x;
        }
        if (!inside) continue;
        valid_row[nrows++] = ot;
        const int64_t key = rem * outer_S + xflat;
        int64_t slot = key & (slots - 1);
        while (slot_line[slot] == line && slot_key[slot] != key) slot = (slot + 1) & (slots - 1);
        slot_line[slot] = line;
        if (slot_key[slot] != key) {
          slot_key[slot] = key;
          T* dst = rowbuf.data + slot * slot_len;
          const int64_t sv = p.lhs_s[v];
          for (int64_t ph = 0; ph < lr.s; ++ph) {
            // k with xlo <= k*s + ph < xhi
            const int64_t k0 = min64(lr.phase_len, max64(0, ceil_div(xlo - ph, lr.s)));
            const int64_t k1 = max64(k0, min64(lr.phase_len, ceil_div(xhi - ph, lr.s)));
            T* d = dst + ph * lr.phase_len;
            for (int64_t c = 0; c < Ci; ++c) {
              fill_zero(d + c * lr.len, k0);
              fill_zero(d + c * lr.len + k1, lr.phase_len - k1);
            }
            const T* sp = lhs + off + (k0 * lr.s + ph - xlo) * sv;
            copy_feature_rows(sp, lr.s * sv, p.lhs_c, Ci, d + k0, lr.len, k1 - k0);
          }
        }
        for (int64_t c = 0; c < Ci; ++c) {
          const int64_t row = ot * Ci + c;
          for (int64_t j = 0; j < Kv; ++j)
            valid_pos[ntaps++] = slot * slot_len + c * lr.len + tap_pos[row * Kv + j] - row * lr.len;
        }
      }
      // Weights of the rows inside, in order; all of them (interior lines): the packed ones.
      const T* line_w = wpack.data + g * wg;
      if (nrows < outer_taps) {
        const int64_t per_row = Ci * Kv * Co;
        for (int64_t r = 0; r < nrows; ++r)
          for (int64_t e = 0; e < per_row; ++e)
            valid_w[r * per_row + e] = line_w[valid_row[r] * per_row + e];
        line_w = valid_w.data;
      }
      for (int64_t o0 = 0; o0 < Co;) {
        const int64_t cob = min64(Co - o0, 4);
        const T* w = line_w + o0;
        T* o_out = out + o0 * p.out_o;
        switch (cob) {
          case 1:  // short lines: a half-empty block of 8 vectors would double the work
            if (Qv <= 4 * L)
              direct_line_features<T, 4, 1>(rowbuf.data, valid_pos.data, ntaps, w, Co, Qv, o_out, p.out_q[v], p.out_o, acc.data);
            else
              direct_line_features<T, 8, 1>(rowbuf.data, valid_pos.data, ntaps, w, Co, Qv, o_out, p.out_q[v], p.out_o, acc.data);
            break;
          case 2: direct_line_features<T, 4, 2>(rowbuf.data, valid_pos.data, ntaps, w, Co, Qv, o_out, p.out_q[v], p.out_o, acc.data); break;
          case 3: direct_line_features<T, 3, 3>(rowbuf.data, valid_pos.data, ntaps, w, Co, Qv, o_out, p.out_q[v], p.out_o, acc.data); break;
          default: direct_line_features<T, 2, 4>(rowbuf.data, valid_pos.data, ntaps, w, Co, Qv, o_out, p.out_q[v], p.out_o, acc.data); break;
        }
        o0 += cob;
      }
    }
  });
}

}  // namespace xlax::kernels::detail::XLAX_CONV_IMPL_NS
