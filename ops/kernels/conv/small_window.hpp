// Internal, per instruction-set build: the SmallWindow path, the large-window path
// when the output is tiny in every direction (few rows n, few features o, a few positions
// along the last dim), e.g. the weight gradient of a 3-channel image conv. A GEMM tile would
// be mostly padding there, so this path vectorises along the reduction instead: per window
// row it de-interleaves the rhs row into planar vectors Gp[o][u] and the lhs row into
// Xp[n][phase][x / rd] (zeros in the padding), then for every (n, position) runs unit-stride
// vector FMAs over u, keeping Ql x Co vector partial sums that are reduced across lanes once
// at the end. Rows of the lhs are cached across neighbouring window rows.
// Each output element is summed by one thread in a fixed order.
#pragma once

#include "ops/kernels/conv/staging.hpp"

namespace xlax::kernels::detail::XLAX_CONV_IMPL_NS {

// Lanes of the last vector of a window row that lie inside the window (`tail` of them).
template <class T>
xsimd::batch_bool<T, Arch> window_tail_mask(int64_t tail) {
  using B = xsimd::batch<T, Arch>;
  alignas(64) T lane[B::size];
  for (int64_t i = 0; i < static_cast<int64_t>(B::size); ++i) lane[i] = static_cast<T>(i);
  return B::load_aligned(lane) < B(static_cast<T>(tail));
}

// acc[e][o] += sum_k xrow[e](k*L ..) * grow[o](k*L ..) over kvec vectors. In the last one,
// lhs lanes outside `tail` (window_tail_mask) are masked, not multiplied by the zeros that
// pad the rhs row (an inf there would give a NaN).
template <class T, int QL, int CO>
void small_window_row(const T* const* xrow, const T* grow, int64_t gstride, int64_t kvec,
                      const xsimd::batch_bool<T, Arch>& tail, T* acc) {
  using B = xsimd::batch<T, Arch>;
  constexpr int64_t L = B::size;
  B a[QL][CO];
  load_sums(a, acc);
  auto step = [&](int64_t k, auto load_x) {
    B gv[CO];
#pragma GCC unroll 4
    for (int o = 0; o < CO; ++o) gv[o] = B::load_unaligned(grow + o * gstride + k * L);
#pragma GCC unroll 4
    for (int e = 0; e < QL; ++e) {
      const B xv = load_x(xrow[e] + k * L);
#pragma GCC unroll 4
      for (int o = 0; o < CO; ++o) a[e][o] = fma_op(xv, gv[o], a[e][o]);
    }
  };
  for (int64_t k = 0; k + 1 < kvec; ++k) step(k, [](const T* x) { return B::load_unaligned(x); });
  if (kvec > 0)
    step(kvec - 1, [&](const T* x) { return xsimd::select(tail, B::load_unaligned(x), B(T(0))); });
  store_sums(a, acc);
}

template <class T, int QL>
void small_window_row_co(int64_t co, const T* const* xrow, const T* grow, int64_t gstride,
                         int64_t kvec, const xsimd::batch_bool<T, Arch>& tail, T* acc) {
  switch (co) {
    case 1: small_window_row<T, QL, 1>(xrow, grow, gstride, kvec, tail, acc); break;
    case 2: small_window_row<T, QL, 2>(xrow, grow, gstride, kvec, tail, acc); break;
    case 3: small_window_row<T, QL, 3>(xrow, grow, gstride, kvec, tail, acc); break;
    default: small_window_row<T, QL, 4>(xrow, grow, gstride, kvec, tail, acc); break;
  }
}

// Requires nd >= 1, Q[last] <= 4 and Co <= 4.
template <class T>
void small_output_window_conv(const DenseConv<T>& p, int num_threads) {
  using B = xsimd::batch<T, Arch>;
  constexpr int64_t L = B::size;
  const int nd = p.nd, v = nd - 1;
  int64_t outer_rows = 1;  // lhs rows per feature plane: the product of S over outer dims
  for (int i = 0; i < nd - 1; ++i) outer_rows *= p.S[i];
  const int64_t Co = p.Co, Ql = p.Q[v], Kl = p.K[v], sl = p.stride[v], rd = p.rhs_dil[v];
  const int64_t lo = p.pad_lo[v], Sl = p.S[v];
  int64_t outer_taps = 1, outer_pos = 1;
  for (int i = 0; i < v; ++i) outer_taps *= p.K[i], outer_pos *= p.Q[i];
  const int64_t kvec = ceil_div(Kl, L), kpad = kvec * L;
  const xsimd::batch_bool<T, Arch> tail = window_tail_mask<T>(Kl - (kvec - 1) * L);
  // Xp phase rows: position ql reads phase (ql*sl) % rd from index (ql*sl) / rd.
  const int64_t phase_len = ((Ql - 1) * sl) / rd + kpad;
  const int64_t xrow_len = rd * phase_len;  // one lhs row of one n
  const int64_t slots = 2 * outer_pos + 1;  // cached lhs rows
  const int64_t acc_per_n = outer_pos * Ql * Co * L;
  // Items: (group, block of rows n, chunk of the window rows (c, outer tap)); the rows of a
  // block share the rhs rows they build. The window is chunked only when there are fewer
  // (group, block) pairs than threads; chunks then leave partial sums, added in chunk order.
  const double flops = 2.0 * static_cast<double>(p.groups) * p.N * outer_pos * Ql * Co * p.Ci *
                       outer_taps * Kl;
  const int64_t threads = flops < 2e5 ? 1 : max64(1, num_threads);
  const int64_t window_rows = p.Ci * outer_taps;
  int64_t nblocks = min64(p.N, threads), chunks = 1;
  if (p.groups * nblocks < threads || p.N % nblocks != 0) {  // idle or uneven threads otherwise
    nblocks = 1;
    chunks = min64(window_rows, ceil_div(threads, p.groups));
  }
  const int64_t items = p.groups * nblocks * chunks;
  const int nt = static_cast<int>(max64(1, min64(threads, items)));
  const int64_t max_rows_all = ceil_div(p.N, nblocks);
  const int64_t per_item = max_rows_all * outer_pos * Ql * Co;
  Scratch<T> partial(chunks > 1 ? items * per_item : 0, Uninitialized::tag);
  parallel_region(nt, [&] {
    const int64_t max_rows = ceil_div(p.N, nblocks);
    Scratch<T> grow(Co * kpad), xcache(slots * max_rows * xrow_len);
    Scratch<int64_t> slot_key(slots), slot_use(slots);
    Scratch<T> acc(max_rows * acc_per_n);
#pragma omp for schedule(static)
    for (int64_t item = 0; item < items; ++item) {
      const int64_t g = item / (nblocks * chunks), nb = (item / chunks) % nblocks, chunk = item % chunks;
      const int64_t r0 = window_rows * chunk / chunks, r1 = window_rows * (chunk + 1) / chunks;
      const int64_t n0 = p.N * nb / nblocks, n1 = p.N * (nb + 1) / nblocks, rows = n1 - n0;
      const T* lhs = p.lhs + g * p.lhs_group;
      const T* rhs = p.rhs + g * p.rhs_group;
      fill_zero(acc.data, rows * acc_per_n);
      for (int64_t k = 0; k < slots; ++k) slot_key[k] = -1, slot_use[k] = -1;
      for (int64_t use = r0; use < r1; ++use) {
        const int64_t c = use / outer_taps, ot = use % outer_taps;
        {
          int64_t j[kMaxDenseDims] = {}, rem = ot, goff = c * p.rhs_i;
          for (int i = v - 1; i >= 0; --i) {
            j[i] = rem % p.K[i];
            rem /= p.K[i];
            goff += j[i] * p.rhs_k[i];
          }
          copy_feature_rows(rhs + goff, p.rhs_k[v], p.rhs_o, Co, grow.data, kpad, Kl);
          for (int64_t o = 0; o < Co; ++o) fill_zero(grow.data + o * kpad + Kl, kpad - Kl);
          for (int64_t op = 0; op < outer_pos; ++op) {
            int64_t qo[kMaxDenseDims], xoff, xflat;
            decode_outer(op, p.Q, p.nd, qo);
            if (!outer_row_inside(p, qo, j, xoff, &xflat)) continue;
            xoff += c * p.lhs_c;
            // The lhs row (c, outer x) of rows n0..n1, planar by phase, from the cache.
            const int64_t key = c * outer_rows + xflat;
            int64_t slot = key % slots;
            while (slot_use[slot] == use && slot_key[slot] != key) slot = (slot + 1) % slots;
            slot_use[slot] = use;
            T* xr = xcache.data + slot * max_rows * xrow_len;
            if (slot_key[slot] != key) {
              slot_key[slot] = key;
              const T* src = lhs + xoff + n0 * p.lhs_n;
              for (int64_t ph = 0; ph < rd; ++ph) {
                // Padded x' = k*rd + ph is real (x = x' - lo in [0, Sl)) for k in [k0, k1).
                T* d = xr + ph * phase_len;
                const int64_t k0 = min64(phase_len, max64(0, ceil_div(lo - ph, rd)));
                const int64_t k1 = max64(k0, min64(phase_len, ceil_div(Sl + lo - ph, rd)));
                for (int64_t n = 0; n < rows; ++n) {
                  fill_zero(d + n * xrow_len, k0);
                  fill_zero(d + n * xrow_len + k1, phase_len - k1);
                }
                if (k0 < k1)
                  copy_feature_rows(src + (k0 * rd + ph - lo) * p.lhs_s[v], rd * p.lhs_s[v], p.lhs_n,
                                    rows, d + k0, xrow_len, k1 - k0);
              }
            }
            for (int64_t n = 0; n < rows; ++n) {
              const T* xrow[4];
              for (int64_t e = 0; e < Ql; ++e)
                xrow[e] = xr + n * xrow_len + ((e * sl) % rd) * phase_len + (e * sl) / rd;
              T* a = acc.data + n * acc_per_n + op * Ql * Co * L;
              switch (Ql) {
                case 1: small_window_row_co<T, 1>(Co, xrow, grow.data, kpad, kvec, tail, a); break;
                case 2: small_window_row_co<T, 2>(Co, xrow, grow.data, kpad, kvec, tail, a); break;
                case 3: small_window_row_co<T, 3>(Co, xrow, grow.data, kpad, kvec, tail, a); break;
                default: small_window_row_co<T, 4>(Co, xrow, grow.data, kpad, kvec, tail, a); break;
              }
            }
          }
        }
      }
      T* out = p.out + g * p.out_group;
      for (int64_t n = 0; n < rows; ++n)
        for (int64_t op = 0; op < outer_pos; ++op) {
          int64_t r2 = op, ooff = (n0 + n) * p.out_n;
          for (int i = v - 1; i >= 0; --i) {
            ooff += (r2 % p.Q[i]) * p.out_q[i];
            r2 /= p.Q[i];
          }
          // Lane sums in lane order (xsimd's AVX-512 hadd trips GCC 12's maybe-uninitialized).
          for (int64_t e = 0; e < Ql; ++e)
            for (int64_t o = 0; o < Co; ++o) {
              const T* lanes = acc.data + n * acc_per_n + ((op * Ql + e) * Co + o) * L;
              T sum = lanes[0];
              for (int64_t k = 1; k < L; ++k) sum += lanes[k];
              if (chunks > 1)
                partial[item * per_item + ((n * outer_pos + op) * Ql + e) * Co + o] = sum;
              else
                out[ooff + e * p.out_q[v] + o * p.out_o] = sum;
            }
        }
    }
  });
  if (chunks == 1) return;
  for (int64_t gb = 0; gb < p.groups * nblocks; ++gb) {
    const int64_t g = gb / nblocks, nb = gb % nblocks;
    const int64_t n0 = p.N * nb / nblocks, rows = p.N * (nb + 1) / nblocks - n0;
    for (int64_t n = 0; n < rows; ++n)
      for (int64_t op = 0; op < outer_pos; ++op) {
        int64_t r2 = op, ooff = g * p.out_group + (n0 + n) * p.out_n;
        for (int i = v - 1; i >= 0; --i) {
          ooff += (r2 % p.Q[i]) * p.out_q[i];
          r2 /= p.Q[i];
        }
        for (int64_t e = 0; e < Ql; ++e)
          for (int64_t o = 0; o < Co; ++o) {
            const int64_t at = ((n * outer_pos + op) * Ql + e) * Co + o;
            T sum = partial[gb * chunks * per_item + at];
            for (int64_t chunk = 1; chunk < chunks; ++chunk) sum += partial[(gb * chunks + chunk) * per_item + at];
            p.out[ooff + e * p.out_q[v] + o * p.out_o] = sum;
          }
      }
  }
}

// SmallWindow applies to large windows whose output is tiny: a GEMM tile would be mostly
// padding (at most 4 positions along the last dim, 4 output features, 16 rows n).
template <class T>
bool small_window_applies(const DenseConv<T>& p, int64_t L) {
  return is_large_window(p) && p.nd >= 1 && p.Q[p.nd - 1] <= 4 && p.Co <= 4 && p.N <= 16;
}

template <class T>
void run_small_window(const DenseConv<T>& p, int num_threads) {
  small_output_window_conv(p, num_threads);
}

}  // namespace xlax::kernels::detail::XLAX_CONV_IMPL_NS
