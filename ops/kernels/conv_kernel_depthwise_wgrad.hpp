// Internal, part of conv_kernel_impl.hpp (same per-build namespace): the weight gradient of a
// depthwise conv. Its rhs-rule geometry has one output feature and one batch row per group
// (batch_group_count = channels), the groups adjacent in lhs, rhs and out (channels-last):
//   out[g, q] = sum_{c, t} lhs[g, c, q*s + t*rd - lo] * rhs[g, c, t]
// Vectorised over groups; a few output positions along the last dim share each weight load.
// The image is much larger than the caches, so it is streamed once: window rows outermost,
// each row visited by every block of groups of the thread while it is in cache, every
// output position's partial sums kept in a small buffer.
// Per position the reduction runs in (c, t) order whatever the thread count.
#pragma once

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
#pragma GCC unroll 8
  for (int e = 0; e < QB; ++e)
#pragma GCC unroll 4
    for (int k = 0; k < GV; ++k) a[e][k] = B::load_unaligned(acc + (e * GV + k) * L);
  for (int64_t u = wb.lo_c; u < wb.hi_c; ++u) {
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
#pragma GCC unroll 8
  for (int e = 0; e < QB; ++e)
#pragma GCC unroll 4
    for (int k = 0; k < GV; ++k) a[e][k].store_unaligned(acc + (e * GV + k) * L);
}

// All output positions of the blocks of GV*L groups starting at g0s[0..nblocks).
// acc: nblocks * positions * GV*L elements.
template <class T, int GV>
void depthwise_window_groups(const DenseConv<T>& p, const int64_t* g0s, int64_t nblocks, T* acc) {
  constexpr int64_t L = xsimd::batch<T, Arch>::size, gw = GV * L, QB = 4;
  const int nd = p.nd, v = nd - 1;
  int64_t outer_taps = 1, outer_positions = 1;
  for (int i = 0; i < v; ++i) outer_taps *= p.K[i], outer_positions *= p.Q[i];
  const int64_t Ql = p.Q[v], Kl = p.K[v], rd = p.rhs_dil[v];
  const int64_t full_runs = Ql / QB, rest = Ql % QB;
  const int64_t block_acc = outer_positions * Ql * gw;
  fill_zero(acc, nblocks * block_acc);
  for (int64_t c = 0; c < p.Ci; ++c) {
    for (int64_t ot = 0; ot < outer_taps; ++ot) {
      int64_t j[kMaxDenseDims] = {}, rem = ot, woff = c * p.rhs_i;
      for (int i = v - 1; i >= 0; --i) {
        j[i] = rem % p.K[i];
        rem /= p.K[i];
        woff += j[i] * p.rhs_k[i];
      }
      for (int64_t op = 0; op < outer_positions; ++op) {
        int64_t r2 = op, loff = c * p.lhs_c;
        bool inside = true;
        for (int i = v - 1; i >= 0; --i) {
          const int64_t x = (r2 % p.Q[i]) * p.stride[i] + j[i] * p.rhs_dil[i] - p.pad_lo[i];
          r2 /= p.Q[i];
          inside = inside && x >= 0 && x < p.S[i];
          loff += x * p.lhs_s[i];
        }
        if (!inside) continue;
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
  for (int64_t b = 0; b < nblocks; ++b)
    for (int64_t op = 0; op < outer_positions; ++op) {
      int64_t r2 = op, ooff = g0s[b];
      for (int i = v - 1; i >= 0; --i) {
        ooff += (r2 % p.Q[i]) * p.out_q[i];
        r2 /= p.Q[i];
      }
      // Blocks are stored in order, so the tail block's overlap is rewritten with its own
      // (identical) values.
      for (int64_t ql = 0; ql < Ql; ++ql)
        for (int64_t k = 0; k < gw; ++k)
          p.out[ooff + ql * p.out_q[v] + k] = acc[b * block_acc + (op * Ql + ql) * gw + k];
    }
}

// Requires nd >= 1, per group N == 1 and Co == 1, groups >= L, unit group strides on lhs,
// rhs and out.
template <class T>
void depthwise_large_window_conv(const DenseConv<T>& p, int num_threads) {
  constexpr int64_t L = xsimd::batch<T, Arch>::size;
  const int nd = p.nd;
  const int64_t G = p.groups;
  const int GV = G >= 2 * L ? 2 : 1;
  const int64_t gw = GV * L, gblocks = G / gw;
  int64_t positions = 1, taps = 1;
  for (int i = 0; i < nd; ++i) positions *= p.Q[i], taps *= p.K[i];
  const double flops = 2.0 * static_cast<double>(G) * p.Ci * taps * positions;
  const int nt = static_cast<int>(max64(1, min64(flops < 2e5 ? 1 : num_threads, gblocks)));
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
  for (int worker = 0; worker < nt; ++worker) {
    // A fixed contiguous share of the blocks; the leftover groups form one more block
    // ending at G, run by the worker of the last full block.
    const int64_t b0 = gblocks * worker / nt, b1 = gblocks * (worker + 1) / nt;
    Scratch<int64_t> g0s(b1 - b0 + 1);
    int64_t nblocks = 0;
    for (int64_t b = b0; b < b1; ++b) g0s[nblocks++] = b * gw;
    if (b1 == gblocks && G % gw != 0) g0s[nblocks++] = G - gw;
    Scratch<T> acc(nblocks * positions * gw);
    if (GV == 2)
      depthwise_window_groups<T, 2>(p, g0s.data, nblocks, acc.data);
    else
      depthwise_window_groups<T, 1>(p, g0s.data, nblocks, acc.data);
  }
}

}  // namespace xlax::kernels::detail::XLAX_CONV_IMPL_NS
