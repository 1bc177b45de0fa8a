// Internal, per instruction-set build: the FewRowsWindow path, the large-window path
// when the whole output is a handful of rows (n, position) of whole feature vectors, e.g.
// the weight gradient of a first layer (1 image channel, 3x3 kernel: 9 rows of 32
// features, reduction = every (batch, y, x) of the image). It is a GEMM with a tiny M and
// a very long K: a register tile of all the rows (up to 12) x NV feature vectors stays in
// registers while the rhs (the channels-last cotangent) streams past once, read in place;
// each lhs value is broadcast straight from a zero-padded copy of the lhs plane (n, c), so
// no packing of the reduction and no border cases.
// Threads split the reduction over c into a fixed number of chunks with partial sums of
// their own (tiny: chunks x rows x Co), added in chunk order at the end: results are
// bitwise the same for any thread count.
#pragma once

#include "ops/kernels/conv/toolkit.hpp"

namespace xlax::kernels::detail::XLAX_CONV_IMPL_NS {

// Most rows (n, position) the path takes, and the largest padded lhs planes it copies.
constexpr int64_t kFewRowsMax = 48;
constexpr int64_t kFewRowsPatchMax = int64_t(1) << 16;

// acc[r][0..NV*L) (+)= sum over window lines l < lines and taps u < kl of
//   base[r][line_x[l] + u*x_step] * w[line_w[l] + u*w_step][0..NV*L).
template <class T, int MR, int NV>
void few_rows_kernel(const T* const* base, const int64_t* line_x, const int64_t* line_w,
                     int64_t lines, int64_t kl, int64_t x_step, int64_t w_step, const T* w,
                     T* const* acc, bool accumulate) {
  RegisterTile<T, MR, NV> tile(acc, accumulate);
  const T* p[MR];  // (a local copy: row pointers stay in registers)
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) p[r] = base[r];
  for (int64_t l = 0; l < lines; ++l) {
    const T* wl = w + line_w[l];
    int64_t x = line_x[l];
    for (int64_t u = 0; u < kl; ++u, x += x_step, wl += w_step) tile.step(p, x, wl);
  }
  tile.store(acc);
}

// few_rows_kernel with the tile height mr (1..12) chosen at run time.
template <class T, int NV>
void few_rows_tile(int64_t mr, const T* const* base, const int64_t* line_x, const int64_t* line_w,
                   int64_t lines, int64_t kl, int64_t x_step, int64_t w_step, const T* w,
                   T* const* acc, bool accumulate) {
#define XLAX_FEW_ROWS_CASE(M)                                                                    \
  case M:                                                                                        \
    few_rows_kernel<T, M, NV>(base, line_x, line_w, lines, kl, x_step, w_step, w, acc,           \
                              accumulate);                                                       \
    return;
  switch (mr) {
    XLAX_FEW_ROWS_CASE(1) XLAX_FEW_ROWS_CASE(2) XLAX_FEW_ROWS_CASE(3) XLAX_FEW_ROWS_CASE(4)
    XLAX_FEW_ROWS_CASE(5) XLAX_FEW_ROWS_CASE(6) XLAX_FEW_ROWS_CASE(7) XLAX_FEW_ROWS_CASE(8)
    XLAX_FEW_ROWS_CASE(9) XLAX_FEW_ROWS_CASE(10) XLAX_FEW_ROWS_CASE(11)
    default: few_rows_kernel<T, 12, NV>(base, line_x, line_w, lines, kl, x_step, w_step, w, acc,
                                        accumulate);
  }
#undef XLAX_FEW_ROWS_CASE
}

// Padded lhs plane geometry: per dim W_i = (Q_i-1)*s_i + (K_i-1)*rd_i + 1 padded
// coordinates x' (x = x' - lo_i), row-major. Returns the plane size.
template <class T>
int64_t few_rows_plane(const DenseConv<T>& p, int64_t* width, int64_t* plane_stride) {
  int64_t size = 1;
  for (int i = p.nd - 1; i >= 0; --i) {
    width[i] = (p.Q[i] - 1) * p.stride[i] + (p.K[i] - 1) * p.rhs_dil[i] + 1;
    plane_stride[i] = size;
    size *= width[i];
  }
  return size;
}

// Whether few_rows_window_conv takes p (a large-window problem) in a build with L lanes.
template <class T>
bool few_rows_fits(const DenseConv<T>& p, int64_t L) {
  if (p.nd < 1 || p.rhs_o != 1 || p.Co % L != 0) return false;
  int64_t rows = p.N, width[kMaxDenseDims], plane_stride[kMaxDenseDims];
  for (int i = 0; i < p.nd; ++i) rows *= p.Q[i];
  return rows <= kFewRowsMax && p.groups * rows * p.Co <= (int64_t(1) << 14) &&
         p.N * few_rows_plane(p, width, plane_stride) <= kFewRowsPatchMax;
}

// Requires few_rows_fits(p, L) and NV * L <= Co.
template <class T, int NV>
void few_rows_window_conv(const DenseConv<T>& p, int num_threads) {
  constexpr int64_t L = xsimd::batch<T, Arch>::size, NR = NV * L;
  // Tile height: the accumulators plus NV weights and a broadcast fit the register file.
  constexpr int64_t kRegs = L * static_cast<int64_t>(sizeof(T)) == 64 ? 32 : 16;
  constexpr int64_t kMaxMR = (kRegs - NV - 1) / NV < 12 ? (kRegs - NV - 1) / NV : 12;
  const int nd = p.nd, v = nd - 1;
  const int64_t Co = p.Co;
  int64_t width[kMaxDenseDims], plane_stride[kMaxDenseDims];
  const int64_t plane = few_rows_plane(p, width, plane_stride);
  int64_t positions = 1, outer_taps = 1, outer_lines = 1;
  for (int i = 0; i < nd; ++i) positions *= p.Q[i];
  for (int i = 0; i < v; ++i) outer_taps *= p.K[i], outer_lines *= width[i];
  const int64_t rows = p.N * positions;
  // Rows split into tiles of near-equal height <= kMaxMR.
  const int64_t tiles = ceil_div(rows, kMaxMR);
  // Per row: its start in the patch (n's plane + q*s); per window line: patch and rhs offsets.
  Scratch<int64_t> row_x(rows), row_out(rows), line_x(outer_taps), line_w(outer_taps);
  for (int64_t m = 0; m < rows; ++m) {
    int64_t rem = m % positions, x = (m / positions) * plane, o = (m / positions) * p.out_n;
    for (int i = nd - 1; i >= 0; --i) {
      const int64_t q = rem % p.Q[i];
      rem /= p.Q[i];
      x += q * p.stride[i] * plane_stride[i];
      o += q * p.out_q[i];
    }
    row_x[m] = x, row_out[m] = o;
  }
  for (int64_t t = 0; t < outer_taps; ++t) {
    int64_t rem = t, x = 0, w = 0;
    for (int i = v - 1; i >= 0; --i) {
      const int64_t j = rem % p.K[i];
      rem /= p.K[i];
      x += j * p.rhs_dil[i] * plane_stride[i];
      w += j * p.rhs_k[i];
    }
    line_x[t] = x, line_w[t] = w;
  }
  // Fixed chunks of c (not per thread): the same sums whatever the thread count.
  const int64_t chunks = min64(p.Ci, 16), units = p.groups * chunks;
  Scratch<T> partial(units * rows * Co);
  const double flops = 2.0 * static_cast<double>(p.groups) * rows * Co * p.Ci * outer_taps * p.K[v];
  const int nt = threads_for(flops, units, num_threads);
  const int64_t lo_v = p.pad_lo[v], Sl = p.S[v], Wl = width[v], ls = p.lhs_s[v];
  // Real part of a padded line: x' in [xa, xb).
  const int64_t xa = min64(Wl, max64(0, lo_v)), xb = max64(xa, min64(Wl, lo_v + Sl));

  parallel_region(nt, [&] {
    Scratch<T> patch(p.N * plane);
#pragma omp for schedule(static)
    for (int worker = 0; worker < nt; ++worker) {
      for (int64_t unit = units * worker / nt; unit < units * (worker + 1) / nt; ++unit) {
        const int64_t g = unit / chunks, chunk = unit % chunks;
        const int64_t c0 = p.Ci * chunk / chunks, c1 = p.Ci * (chunk + 1) / chunks;
        T* part = partial.data + unit * rows * Co;
        for (int64_t c = c0; c < c1; ++c) {
          // Padded planes of (n, c), line by line along the last dim.
          for (int64_t n = 0; n < p.N; ++n) {
            const T* src_n = p.lhs + g * p.lhs_group + n * p.lhs_n + c * p.lhs_c;
            for (int64_t line = 0; line < outer_lines; ++line) {
              T* row = patch.data + n * plane + line * Wl;
              int64_t rem = line, off = 0;
              bool inside = true;
              for (int i = v - 1; i >= 0; --i) {
                const int64_t x = rem % width[i] - p.pad_lo[i];
                rem /= width[i];
                inside = inside && x >= 0 && x < p.S[i];
                off += x * p.lhs_s[i];
              }
              const int64_t a = inside ? xa : Wl, b = inside ? xb : Wl;
              fill_zero(row, a);
              const T* src = src_n + off + (a - lo_v) * ls;
              if (ls == 1) {
                for (int64_t x = 0; x < b - a; ++x) row[a + x] = src[x];
              } else {
                for (int64_t x = 0; x < b - a; ++x) row[a + x] = src[x * ls];
              }
              fill_zero(row + b, Wl - b);
            }
          }
          const T* rhs_c = p.rhs + g * p.rhs_group + c * p.rhs_i;
          for (int64_t tile = 0; tile < tiles; ++tile) {
            const int64_t m0 = rows * tile / tiles, mr = rows * (tile + 1) / tiles - m0;
            const T* base[kMaxMR];
            T* acc[kMaxMR];
            for (int64_t r = 0; r < mr; ++r) base[r] = patch.data + row_x[m0 + r];
            // Whole NR-wide column blocks, then single vectors.
            for (int64_t o = 0; o < Co;) {
              const bool wide = o + NR <= Co;
              for (int64_t r = 0; r < mr; ++r) acc[r] = part + (m0 + r) * Co + o;
              if (wide)
                few_rows_tile<T, NV>(mr, base, line_x.data, line_w.data, outer_taps, p.K[v],
                                     p.rhs_dil[v], p.rhs_k[v], rhs_c + o, acc, c > c0);
              else
                few_rows_tile<T, 1>(mr, base, line_x.data, line_w.data, outer_taps, p.K[v],
                                    p.rhs_dil[v], p.rhs_k[v], rhs_c + o, acc, c > c0);
              o += wide ? NR : L;
            }
          }
        }
      }
    }
  });
  for (int64_t g = 0; g < p.groups; ++g) {
    T* out = p.out + g * p.out_group;
    const T* part = partial.data + g * chunks * rows * Co;
    for (int64_t m = 0; m < rows; ++m)
      for (int64_t o = 0; o < Co; ++o) {
        T sum = part[m * Co + o];
        for (int64_t k = 1; k < chunks; ++k) sum += part[(k * rows + m) * Co + o];
        out[row_out[m] + o * p.out_o] = sum;
      }
  }
}

// FewRowsWindow applies to large windows whose whole output fits one register tile or a
// few (few_rows_fits).
template <class T>
bool few_rows_window_applies(const DenseConv<T>& p, int64_t L) {
  return is_large_window(p) && few_rows_fits(p, L);
}

template <class T>
void run_few_rows_window(const DenseConv<T>& p, int num_threads) {
  constexpr int64_t L = xsimd::batch<T, Arch>::size;
  if (p.Co >= 2 * L)
    few_rows_window_conv<T, 2>(p, num_threads);
  else
    few_rows_window_conv<T, 1>(p, num_threads);
}

}  // namespace xlax::kernels::detail::XLAX_CONV_IMPL_NS
