// Internal, per instruction-set build: the Direct path, the direct path for
// few output features. Vectorises over output positions along the last spatial dim; the
// input rows a line of outputs needs are first copied into a zero-padded line buffer,
// de-interleaved by stride phase, so every (tap, feature) is a run of contiguous vector loads
// whatever the lhs layout, padding or stride.
#pragma once

#include <cstdint>
#include <type_traits>

#include "ops/kernels/conv/staging.hpp"

namespace xlax::kernels::detail::XLAX_CONV_IMPL_NS {

// Geometry of one line buffer row: outputs q < Q along the last dim read padded input
// x' = q*s + j*rd (+ a phase's shift), stored at phase x' % s, index x' / s; span = the
// largest x' + 1.
struct LineRow {
  int64_t s, phase_len, len;  // len = s * phase_len
  LineRow(int64_t span, int64_t s_, int64_t L) : s(s_) {
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

#if defined(__AVX__)
// 16 three-feature pixels, alternately of phase 0 and 1: out[(2t+f)*3 + o] =
// acc[f*phase_stride + o*acc_stride + t], t < 8. Each pixel is one 16-byte store whose last
// float the next pixel's store overwrites, so out[48] must be a later pixel of the caller's.
inline void store_three_feature_pairs(const float* acc, int64_t acc_stride, int64_t phase_stride,
                                      float* out) {
  __m128 px[16];
  for (int f = 0; f < 2; ++f) {
    const float* a = acc + f * phase_stride;
    const __m256 o0 = _mm256_loadu_ps(a), o1 = _mm256_loadu_ps(a + acc_stride),
                 o2 = _mm256_loadu_ps(a + 2 * acc_stride);
    const __m256 lo01 = _mm256_unpacklo_ps(o0, o1), hi01 = _mm256_unpackhi_ps(o0, o1);
    const __m256 lo22 = _mm256_unpacklo_ps(o2, o2), hi22 = _mm256_unpackhi_ps(o2, o2);
    const __m256 t0 = _mm256_shuffle_ps(lo01, lo22, 0x44), t1 = _mm256_shuffle_ps(lo01, lo22, 0xEE);
    const __m256 t2 = _mm256_shuffle_ps(hi01, hi22, 0x44), t3 = _mm256_shuffle_ps(hi01, hi22, 0xEE);
    px[2 * 0 + f] = _mm256_castps256_ps128(t0), px[2 * 4 + f] = _mm256_extractf128_ps(t0, 1);
    px[2 * 1 + f] = _mm256_castps256_ps128(t1), px[2 * 5 + f] = _mm256_extractf128_ps(t1, 1);
    px[2 * 2 + f] = _mm256_castps256_ps128(t2), px[2 * 6 + f] = _mm256_extractf128_ps(t2, 1);
    px[2 * 3 + f] = _mm256_castps256_ps128(t3), px[2 * 7 + f] = _mm256_extractf128_ps(t3, 1);
  }
  for (int i = 0; i < 16; ++i) _mm_storeu_ps(out + 3 * i, px[i]);
}
#endif

// One pass over a line's stride phases (lhs dilation): line position r = t*step + f holds
// output t of phase f. Phase f's block of outputs is acc[f*COB*acc_stride + o*acc_stride + t],
// written to positions [r0, r1) of a line of line_len positions.
template <class T, int COB>
void store_phase_features(const T* __restrict acc, int64_t acc_stride, int64_t step,
                          int64_t t0, int64_t r0, int64_t r1, int64_t line_len,
                          T* __restrict out, int64_t out_q, int64_t out_o) {
  const int64_t phase_stride = COB * acc_stride;
  if (step == 2 && out_o == 1 && out_q == COB && r0 % 2 == 0) {
    // Channels-last, two phases: whole pixel pairs.
    const int64_t pairs = (r1 - r0) / 2;
    T* o_pair = out + r0 * COB;
    int64_t t = 0;
#if defined(__AVX__)
    if constexpr (std::is_same_v<T, float> && COB == 3)
      for (; t + 8 < pairs || (t + 8 == pairs && r0 + 2 * pairs < line_len); t += 8)
        store_three_feature_pairs(acc + t, acc_stride, phase_stride, o_pair + 2 * t * COB);
#endif
    for (; t < pairs; ++t)
#pragma GCC unroll 2
      for (int f = 0; f < 2; ++f)
#pragma GCC unroll 4
        for (int o = 0; o < COB; ++o) o_pair[(2 * t + f) * COB + o] = acc[f * phase_stride + o * acc_stride + t];
    r0 += 2 * pairs;
  }
  for (int64_t r = r0; r < r1; ++r) {
    const T* a = acc + (r % step) * phase_stride + (r / step - t0);
    for (int o = 0; o < COB; ++o) out[r * out_q + o * out_o] = a[o * acc_stride];
  }
}

// The phases of one line together: per block of NQ*L outputs of each phase, all phases'
// sums, then one store of the line positions they cover.
template <class T, int NQ, int COB>
void direct_line_phases(const T* rowbuf, const int64_t* const* tap_pos, const int64_t* ntaps,
                        const T* const* w, int64_t w_step, int phases, int64_t step,
                        int64_t line_len, int64_t Qmax, T* out, int64_t out_q, int64_t out_o,
                        T* acc) {
  constexpr int64_t L = xsimd::batch<T, Arch>::size;
  for (int64_t t0 = 0; t0 < Qmax; t0 += NQ * L) {
    for (int f = 0; f < phases; ++f)
      direct_block<T, NQ, COB>(rowbuf + t0, tap_pos[f], ntaps[f], w[f], w_step, acc + f * COB * NQ * L);
    store_phase_features<T, COB>(acc, NQ * L, step, t0, t0 * step, min64(line_len, (t0 + NQ * L) * step),
                                 line_len, out, out_q, out_o);
  }
}

template <class T>
void direct_conv(const DenseConv<T>& p, int num_threads) {
  constexpr int64_t L = xsimd::batch<T, Arch>::size;
  const int nd = p.nd, v = nd - 1;
  const int64_t Ci = p.Ci, Co = p.Co;
  // Last-dim phases (one unless lhs dilation keeps several together): taps, outputs and
  // the shift that puts every phase's padding at the largest one's.
  const int P = p.last_phases;
  const bool phased = P > 1;
  int64_t phase_Q[kMaxLinePhases], phase_K[kMaxLinePhases], phase_pad[kMaxLinePhases];
  int64_t shift[kMaxLinePhases];
  const T* phase_rhs[kMaxLinePhases];
  int64_t pad_lo = 0, line_len = 0, span = 1, Kv = 0;
  for (int f = 0; f < P; ++f) {
    phase_Q[f] = phased ? p.phase_Q[f] : p.Q[v];
    phase_K[f] = phased ? p.phase_K[f] : p.K[v];
    phase_pad[f] = phased ? p.phase_pad_lo[f] : p.pad_lo[v];
    phase_rhs[f] = p.rhs + (phased ? p.phase_rhs[f] : 0);
    pad_lo = f == 0 ? phase_pad[f] : max64(pad_lo, phase_pad[f]);
    line_len += phase_Q[f];
    Kv += phase_K[f];
  }
  for (int f = 0; f < P; ++f) {
    shift[f] = pad_lo - phase_pad[f];
    if (phase_Q[f] > 0 && phase_K[f] > 0)
      span = max64(span, (phase_Q[f] - 1) * p.stride[v] + (phase_K[f] - 1) * p.rhs_dil[v] + 1 + shift[f]);
  }
  const int64_t Qmax = p.Q[v];
  // Taps of the other dims ("outer" taps), row-major.
  int64_t outer_taps = 1, outer_lines = 1;
  for (int i = 0; i < v; ++i) outer_taps *= p.K[i], outer_lines *= p.Q[i];
  const int64_t lines = p.groups * p.N * outer_lines;
  const LineRow lr(span, p.stride[v], 8 * L);
  const int64_t rows_per_line = outer_taps * Ci;

  // Weights [phase][g][outer tap][c][j_v][o]; line buffer rows ordered (outer tap, c).
  // Kv = the taps of all phases; phase f's start at Kf0[f].
  int64_t Kf0[kMaxLinePhases + 1] = {0};
  for (int f = 0; f < P; ++f) Kf0[f + 1] = Kf0[f] + phase_K[f];
  const int64_t wg = rows_per_line * Kv * Co;
  constexpr Uninitialized uninit = Uninitialized::tag;  // (buffers written before read)
  Scratch<T> wpack(p.groups * wg, uninit);
  for (int f = 0; f < P; ++f)
    for (int64_t g = 0; g < p.groups; ++g)
      for (int64_t ot = 0; ot < outer_taps; ++ot) {
        const int64_t koff = tap_rhs_offset(p, ot, v);
        T* dst = wpack.data + g * wg + Kf0[f] * rows_per_line * Co;
        for (int64_t c = 0; c < Ci; ++c)
          for (int64_t j = 0; j < phase_K[f]; ++j)
            for (int64_t o = 0; o < Co; ++o)
              dst[((ot * Ci + c) * phase_K[f] + j) * Co + o] =
                  phase_rhs[f][g * p.rhs_group + o * p.rhs_o + c * p.rhs_i + koff + j * p.rhs_k[v]];
      }
  // Position in the line buffer of each (row, j_v) of each phase, relative to output 0.
  Scratch<int64_t> tap_pos(rows_per_line * max64(Kv, 1), uninit);
  for (int f = 0; f < P; ++f)
    for (int64_t r = 0; r < rows_per_line; ++r)
      for (int64_t j = 0; j < phase_K[f]; ++j) {
        const int64_t x = j * p.rhs_dil[v] + shift[f];
        tap_pos[Kf0[f] * rows_per_line + r * phase_K[f] + j] = r * lr.len + (x % lr.s) * lr.phase_len + x / lr.s;
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

  double flops = 0;
  for (int f = 0; f < P; ++f) flops += 2.0 * static_cast<double>(lines) * phase_Q[f] * Co * rows_per_line * phase_K[f];
  const int nt = threads_for(flops, lines, num_threads);
  parallel_region(nt, [&] {
    Scratch<T> rowbuf(slots * slot_len, uninit);
    Scratch<int64_t> slot_key(slots, uninit), slot_line(slots, uninit);
    for (int64_t k = 0; k < slots; ++k) slot_key[k] = slot_line[k] = -1;
    Scratch<T> acc(8 * L * 4 * P, uninit);
    Scratch<int64_t> valid_pos(rows_per_line * max64(Kv, 1), uninit);
    Scratch<T> valid_w(rows_per_line * max64(Kv, 1) * Co, uninit);
    Scratch<int64_t> valid_row(outer_taps, uninit);
    // Valid x' range of a row: x = x' - pad_lo inside [0, S).
    const int64_t xlo = pad_lo, xhi = pad_lo + p.S[v];
#pragma omp for schedule(static)
    for (int64_t line = 0; line < lines; ++line) {
      const OutputLine<T> ol(p, line);
      const int64_t g = ol.g, rem = ol.image, *q = ol.q;
      const T* lhs = ol.lhs;
      T* out = ol.out;
      // Rows of the outer taps that land inside the lhs; the others contribute nothing.
      int64_t nrows = 0;
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
        const int64_t key = rem * outer_S + xflat;
        int64_t slot = key & (slots - 1);
        while (slot_line[slot] == line && slot_key[slot] != key) slot = (slot + 1) & (slots - 1);
        slot_line[slot] = line;
        valid_row[nrows++] = ot * slots + slot;
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
      }
      // Per phase: buffer positions of the taps of the rows inside and their weights (all
      // rows inside, interior lines: the packed weights as they are).
      const int64_t* pos[kMaxLinePhases];
      const T* line_w[kMaxLinePhases];
      int64_t ntaps[kMaxLinePhases];
      int64_t at = 0;
      for (int f = 0; f < P; ++f) {
        const int64_t Kf = phase_K[f], per_row = Ci * Kf * Co;
        const int64_t* fpos = tap_pos.data + Kf0[f] * rows_per_line;
        const T* fw = wpack.data + g * wg + Kf0[f] * rows_per_line * Co;
        pos[f] = valid_pos.data + at;
        ntaps[f] = nrows * Ci * Kf;
        for (int64_t r = 0; r < nrows; ++r) {
          const int64_t ot = valid_row[r] / slots, slot = valid_row[r] % slots;
          for (int64_t c = 0; c < Ci; ++c) {
            const int64_t row = ot * Ci + c;
            for (int64_t j = 0; j < Kf; ++j)
              valid_pos[at++] = slot * slot_len + c * lr.len + fpos[row * Kf + j] - row * lr.len;
          }
        }
        if (nrows < outer_taps) {
          T* dst = valid_w.data + Kf0[f] * rows_per_line * Co;
          for (int64_t r = 0; r < nrows; ++r)
            for (int64_t e = 0; e < per_row; ++e) dst[r * per_row + e] = fw[(valid_row[r] / slots) * per_row + e];
          fw = dst;
        }
        line_w[f] = fw;
      }
      for (int64_t o0 = 0; o0 < Co;) {
        const int64_t cob = min64(Co - o0, 4);
        T* o_out = out + o0 * p.out_o;
        if (P == 1) {
          const T* w = line_w[0] + o0;
          switch (cob) {
            case 1:  // short lines: a half-empty block of 8 vectors would double the work
              if (Qmax <= 4 * L)
                direct_line_features<T, 4, 1>(rowbuf.data, pos[0], ntaps[0], w, Co, Qmax, o_out, p.out_q[v], p.out_o, acc.data);
              else
                direct_line_features<T, 8, 1>(rowbuf.data, pos[0], ntaps[0], w, Co, Qmax, o_out, p.out_q[v], p.out_o, acc.data);
              break;
            case 2: direct_line_features<T, 4, 2>(rowbuf.data, pos[0], ntaps[0], w, Co, Qmax, o_out, p.out_q[v], p.out_o, acc.data); break;
            case 3: direct_line_features<T, 3, 3>(rowbuf.data, pos[0], ntaps[0], w, Co, Qmax, o_out, p.out_q[v], p.out_o, acc.data); break;
            default: direct_line_features<T, 2, 4>(rowbuf.data, pos[0], ntaps[0], w, Co, Qmax, o_out, p.out_q[v], p.out_o, acc.data); break;
          }
        } else {
          const T* w[kMaxLinePhases];
          for (int f = 0; f < P; ++f) w[f] = line_w[f] + o0;
          const int64_t step = p.last_q_step;
          switch (cob) {
            case 1: direct_line_phases<T, 4, 1>(rowbuf.data, pos, ntaps, w, Co, P, step, line_len, Qmax, o_out, p.out_q[v], p.out_o, acc.data); break;
            case 2: direct_line_phases<T, 4, 2>(rowbuf.data, pos, ntaps, w, Co, P, step, line_len, Qmax, o_out, p.out_q[v], p.out_o, acc.data); break;
            case 3: direct_line_phases<T, 3, 3>(rowbuf.data, pos, ntaps, w, Co, P, step, line_len, Qmax, o_out, p.out_q[v], p.out_o, acc.data); break;
            default: direct_line_phases<T, 2, 4>(rowbuf.data, pos, ntaps, w, Co, P, step, line_len, Qmax, o_out, p.out_q[v], p.out_o, acc.data); break;
          }
        }
        o0 += cob;
      }
    }
  });
}

// Direct applies to at most 4 output features with lines of at least a vector of outputs,
// when the line buffer stays within 2^20 elements. It alone computes several last-dim stride
// phases in one pass (DenseConv::last_phases).
template <class T>
bool direct_applies(const DenseConv<T>& p, int64_t L) {
  if (p.nd < 1) return false;
  const int v = p.nd - 1;
  return p.Co <= 4 && p.Q[v] >= L &&
         TapTable::tap_count(p) * p.Ci * (p.Q[v] + p.K[v] * p.rhs_dil[v]) * p.stride[v] <=
             (int64_t(1) << 20);
}

template <class T>
void run_direct(const DenseConv<T>& p, int num_threads) {
  direct_conv(p, num_threads);
}

}  // namespace xlax::kernels::detail::XLAX_CONV_IMPL_NS
