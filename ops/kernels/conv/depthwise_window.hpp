// Internal, per instruction-set build: the DepthwiseWindow path, the weight gradient of a
// depthwise conv. Its rhs-rule geometry has one output feature and one batch row per group
// (batch_group_count = channels), the groups adjacent in lhs, rhs and out (channels-last):
//   out[g, q] = sum_{c, t} lhs[g, c, q*s + t*rd - lo] * rhs[g, c, t]
// Vectorised over groups; a few output positions along the last dim share each weight load.
// The image is much larger than the caches, so it is streamed once: window rows outermost,
// each row visited by every block of groups of the thread while it is in cache, every
// output position's partial sums kept in a small buffer.
// Threads take contiguous ranges of images c; per position each range sums in (c, t) order
// and the ranges are added in order (so the rounding depends on the thread count).
#pragma once

#include "ops/kernels/conv/toolkit.hpp"

namespace xlax::kernels::detail::XLAX_CONV_IMPL_NS {

// Taps u < Kl of one window row that positions ql0 .. ql0+QB-1 (last dim) see: x = xb + u*rd
// real for u in [ua, ub); [lo_c, hi_c) is the part all of them see.
template <int QB>
struct WindowRowBounds {
  int64_t xb[QB], ua[QB], ub[QB], lo_c = 0, hi_c = 0;
  WindowRowBounds(int64_t ql0, int64_t s, int64_t lo, int64_t rd, int64_t Kl, int64_t Sl) {
    hi_c = Kl;
    for (int e = 0; e < QB; ++e) {
      xb[e] = (ql0 + e) * s - lo;
      ua[e] = min64(Kl, xb[e] >= 0 ? 0 : ceil_div(-xb[e], rd));
      ub[e] = max64(ua[e], Sl > xb[e] ? min64(Kl, ceil_div(Sl - xb[e], rd)) : 0);
      lo_c = max64(lo_c, ua[e]);
      hi_c = min64(hi_c, ub[e]);
    }
    hi_c = max64(hi_c, lo_c);
  }
};

// acc[e][0..GV*L) += sum_u lrow[(xb[e] + u*rd)*ls + k] * wrow[u*ks + k] over one window row.
template <class T, int QB, int GV>
void depthwise_window_row(const WindowRowBounds<QB>& wb, const T* lrow, int64_t rd, int64_t ls,
                          const T* wrow, int64_t ks, T* acc) {
  using B = xsimd::batch<T, Arch>;
  constexpr int64_t L = B::size;
  B a[QB][GV];
  load_sums(a, acc);
  int64_t u = wb.lo_c;
  // Positions and taps one pixel apart: each lhs pixel is loaded once and kept for the QB
  // taps that see it (pixel lo_c + m in slot m % QB), one load per QB FMAs.
  if (rd == 1 && wb.xb[QB - 1] == wb.xb[0] + QB - 1 && u + QB <= wb.hi_c) {
    B win[QB][GV];
    const T* x0 = lrow + wb.xb[0] * ls;
#pragma GCC unroll 8
    for (int e = 0; e + 1 < QB; ++e)
#pragma GCC unroll 4
      for (int k = 0; k < GV; ++k) win[e][k] = B::load_unaligned(x0 + (u + e) * ls + k * L);
    for (; u + QB <= wb.hi_c; u += QB) {
#pragma GCC unroll 8
      for (int r = 0; r < QB; ++r) {
#pragma GCC unroll 4
        for (int k = 0; k < GV; ++k)
          win[(r + QB - 1) % QB][k] = B::load_unaligned(x0 + (u + r + QB - 1) * ls + k * L);
        B w[GV];
#pragma GCC unroll 4
        for (int k = 0; k < GV; ++k) w[k] = B::load_unaligned(wrow + (u + r) * ks + k * L);
#pragma GCC unroll 8
        for (int e = 0; e < QB; ++e)
#pragma GCC unroll 4
          for (int k = 0; k < GV; ++k) a[e][k] = fma_op(win[(r + e) % QB][k], w[k], a[e][k]);
      }
    }
  }
  for (; u < wb.hi_c; ++u) {
    B w[GV];
#pragma GCC unroll 4
    for (int k = 0; k < GV; ++k) w[k] = B::load_unaligned(wrow + u * ks + k * L);
#pragma GCC unroll 8
    for (int e = 0; e < QB; ++e) {
      const T* x = lrow + (wb.xb[e] + u * rd) * ls;
#pragma GCC unroll 4
      for (int k = 0; k < GV; ++k) a[e][k] = fma_op(B::load_unaligned(x + k * L), w[k], a[e][k]);
    }
  }
  // Taps only some positions see (near the padding).
#pragma GCC unroll 8
  for (int e = 0; e < QB; ++e) {
    const int64_t parts[2][2] = {{wb.ua[e], min64(wb.ub[e], wb.lo_c)}, {max64(wb.ua[e], wb.hi_c), wb.ub[e]}};
    for (const auto& part : parts)
      for (int64_t u = part[0]; u < part[1]; ++u) {
        const T* x = lrow + (wb.xb[e] + u * rd) * ls;
#pragma GCC unroll 4
        for (int k = 0; k < GV; ++k)
          a[e][k] = fma_op(B::load_unaligned(x + k * L), B::load_unaligned(wrow + u * ks + k * L), a[e][k]);
      }
  }
  store_sums(a, acc);
}

// Partial sums over images c in [c0, c1) of all output positions of the blocks of GV*L
// groups starting at g0s[0..nblocks). acc: nblocks * positions * GV*L elements.
template <class T, int GV>
void depthwise_window_groups(const DenseConv<T>& p, const int64_t* g0s, int64_t nblocks,
                             int64_t c0, int64_t c1, T* acc) {
  // Positions per run: accumulators and window pixels of a run stay in registers.
  constexpr int64_t L = xsimd::batch<T, Arch>::size, gw = GV * L, QB = GV >= 4 ? 3 : 4;
  const int nd = p.nd, v = nd - 1;
  int64_t outer_taps = 1, outer_positions = 1;
  for (int i = 0; i < v; ++i) outer_taps *= p.K[i], outer_positions *= p.Q[i];
  const int64_t Ql = p.Q[v], Kl = p.K[v], rd = p.rhs_dil[v];
  const int64_t full_runs = Ql / QB, rest = Ql % QB;
  const int64_t block_acc = outer_positions * Ql * gw;
  fill_zero(acc, nblocks * block_acc);
  for (int64_t c = c0; c < c1; ++c) {
    for (int64_t ot = 0; ot < outer_taps; ++ot) {
      int64_t j[kMaxDenseDims] = {}, rem = ot, woff = c * p.rhs_i;
      for (int i = v - 1; i >= 0; --i) {
        j[i] = rem % p.K[i];
        rem /= p.K[i];
        woff += j[i] * p.rhs_k[i];
      }
      for (int64_t op = 0; op < outer_positions; ++op) {
        int64_t qo[kMaxDenseDims], loff;
        decode_outer(op, p.Q, p.nd, qo);
        if (!outer_row_inside(p, qo, j, loff)) continue;
        loff += c * p.lhs_c;
        for (int64_t b = 0; b < nblocks; ++b) {
          const T* lrow = p.lhs + loff + g0s[b];
          const T* wrow = p.rhs + woff + g0s[b];
          T* pacc = acc + b * block_acc + op * Ql * gw;
          for (int64_t run = 0; run < full_runs; ++run) {
            const WindowRowBounds<QB> wb(run * QB, p.stride[v], p.pad_lo[v], rd, Kl, p.S[v]);
            depthwise_window_row<T, QB, GV>(wb, lrow, rd, p.lhs_s[v], wrow, p.rhs_k[v], pacc + run * QB * gw);
          }
          const int64_t ql0 = full_runs * QB;
          T* racc = pacc + ql0 * gw;
          switch (rest) {
            case 1: depthwise_window_row<T, 1, GV>(WindowRowBounds<1>(ql0, p.stride[v], p.pad_lo[v], rd, Kl, p.S[v]), lrow, rd, p.lhs_s[v], wrow, p.rhs_k[v], racc); break;
            case 2: depthwise_window_row<T, 2, GV>(WindowRowBounds<2>(ql0, p.stride[v], p.pad_lo[v], rd, Kl, p.S[v]), lrow, rd, p.lhs_s[v], wrow, p.rhs_k[v], racc); break;
            case 3: depthwise_window_row<T, 3, GV>(WindowRowBounds<3>(ql0, p.stride[v], p.pad_lo[v], rd, Kl, p.S[v]), lrow, rd, p.lhs_s[v], wrow, p.rhs_k[v], racc); break;
            default: break;
          }
        }
      }
    }
  }
}

// Requires nd >= 1, per group N == 1 and Co == 1, groups >= L, unit group strides on lhs,
// rhs and out.
template <class T>
void depthwise_large_window_conv(const DenseConv<T>& p, int num_threads) {
  using B = xsimd::batch<T, Arch>;
  constexpr int64_t L = B::size;
  // Widest block whose run (3 positions: accumulators + window pixels) fits the registers;
  // a block covering a whole 256-byte pixel streams each row once instead of once per
  // block, each pass skipping lines.
  constexpr int kMaxGV = sizeof(B) >= 64 ? 4 : 2;
  const int nd = p.nd, v = nd - 1;
  const int64_t G = p.groups;
  const int GV = G >= kMaxGV * L ? kMaxGV : G >= 2 * L ? 2 : 1;
  const int64_t gw = GV * L, gblocks = G / gw;
  // The full blocks, then the leftover groups as one more block ending at G.
  const int64_t nblocks = gblocks + (G % gw != 0 ? 1 : 0);
  Scratch<int64_t> g0s(nblocks);
  for (int64_t b = 0; b < gblocks; ++b) g0s[b] = b * gw;
  if (nblocks > gblocks) g0s[gblocks] = G - gw;
  int64_t positions = 1, taps = 1;
  for (int i = 0; i < nd; ++i) positions *= p.Q[i], taps *= p.K[i];
  const double flops = 2.0 * static_cast<double>(G) * p.Ci * taps * positions;
  const int64_t want = flops < 2e5 ? 1 : num_threads;
  // Threads split the images c (each streams whole pixels of its own images, partial sums
  // added in image order below), then the blocks when there are fewer images than threads.
  const int64_t c_parts = max64(1, min64(want, p.Ci));
  const int64_t b_parts = max64(1, min64(want / c_parts, nblocks));
  const int nt = static_cast<int>(c_parts * b_parts);
  const int64_t block_acc = positions * gw;
  const int64_t part_acc = ceil_div(nblocks * block_acc, 16) * 16 + 16;  // own cache lines
  Scratch<T> acc(c_parts * part_acc);
  parallel_region(nt, [&] {
#pragma omp for schedule(static)
    for (int worker = 0; worker < nt; ++worker) {
      const int64_t ic = worker / b_parts, ib = worker % b_parts;
      const int64_t c0 = p.Ci * ic / c_parts, c1 = p.Ci * (ic + 1) / c_parts;
      const int64_t b0 = nblocks * ib / b_parts, b1 = nblocks * (ib + 1) / b_parts;
      T* part = acc.data + ic * part_acc + b0 * block_acc;
      if (GV == 4)
        depthwise_window_groups<T, (kMaxGV >= 4 ? 4 : 1)>(p, g0s.data + b0, b1 - b0, c0, c1, part);
      else if (GV == 2)
        depthwise_window_groups<T, 2>(p, g0s.data + b0, b1 - b0, c0, c1, part);
      else
        depthwise_window_groups<T, 1>(p, g0s.data + b0, b1 - b0, c0, c1, part);
    }
  });
  // Blocks are stored in order, so the tail block's overlap is rewritten with its own
  // (identical) values.
  for (int64_t b = 0; b < nblocks; ++b)
    for (int64_t pos = 0; pos < positions; ++pos) {
      int64_t r2 = pos, ooff = g0s[b];
      for (int i = v; i >= 0; --i) {
        ooff += (r2 % p.Q[i]) * p.out_q[i];
        r2 /= p.Q[i];
      }
      const T* src = acc.data + b * block_acc + pos * gw;
      for (int64_t k = 0; k < gw; ++k) {
        T sum = src[k];
        for (int64_t ic = 1; ic < c_parts; ++ic) sum += src[ic * part_acc + k];
        p.out[ooff + k] = sum;
      }
    }
}

// DepthwiseWindow applies to the large-window (weight gradient) problems of depthwise convs:
// one image row and one output feature per group, groups adjacent everywhere, at least a
// vector of them.
template <class T>
bool depthwise_window_applies(const DenseConv<T>& p, int64_t L) {
  return is_large_window(p) && p.nd >= 1 && p.N == 1 && p.Co == 1 && p.groups >= L &&
         p.lhs_group == 1 && p.rhs_group == 1 && p.out_group == 1;
}

template <class T>
void run_depthwise_window(const DenseConv<T>& p, int num_threads) {
  depthwise_large_window_conv(p, num_threads);
}

}  // namespace xlax::kernels::detail::XLAX_CONV_IMPL_NS
