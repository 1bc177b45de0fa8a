// Internal, per instruction-set build: the Depthwise path: depthwise convs
// (Ci = Co = 1 per group) with the groups adjacent in memory on both lhs and out
// (channels-last), forward and data gradient. Vectorised over groups; per output line (last
// spatial dim) the pixels go in blocks of up to 8 (one weight load per tap and block), each
// block summing over a list of taps: all taps for interior lines, the taps inside the lhs
// for lines and pixels that meet the padding. When the last dim has 3 unit-step taps the
// blocks keep each lhs pixel in registers for the outputs it feeds.
// The pass is memory-bound on large images (one FMA per tap per loaded element), so it
// streams: lines are split between threads in contiguous bands, each block prefetches the
// lhs row the next line will read first, and large aligned outputs are written with
// streaming stores (no read for ownership; the output would not stay cached anyway).
#pragma once

#include "ops/kernels/conv/toolkit.hpp"

namespace xlax::kernels::detail::XLAX_CONV_IMPL_NS {

// Taps to sum: lhs offset from a pixel's tap-0 element and weight offset in the packed
// [tap][group] weights.
struct DepthwiseTaps {
  const int64_t* lhs;
  const int64_t* w;
  int64_t count;
};

// PX pixels x GV vectors of sums, from zero; store() writes them to out[dst[p] + g + k*L ..],
// streamed (no read for ownership) when Stream.
template <class T, int PX, int GV>
struct PixelSums {
  using B = xsimd::batch<T, Arch>;
  static constexpr int64_t L = B::size;
  B a[PX][GV];
  __attribute__((always_inline)) PixelSums() {
#pragma GCC unroll 8
    for (int p = 0; p < PX; ++p)
#pragma GCC unroll 4
      for (int k = 0; k < GV; ++k) a[p][k] = B(T(0));
  }
  template <bool Stream>
  __attribute__((always_inline)) void store(T* out, const int64_t* dst, int64_t g) const {
#pragma GCC unroll 8
    for (int p = 0; p < PX; ++p)
#pragma GCC unroll 4
      for (int k = 0; k < GV; ++k) {
        if constexpr (Stream)
          store_stream(out + dst[p] + g + k * L, a[p][k]);
        else
          a[p][k].store_unaligned(out + dst[p] + g + k * L);
      }
  }
};

// out[dst[p] + g] = sum_t lhs[base[p] + taps.lhs[t] + g] * w[taps.w[t] + g] for PX pixels,
// groups g0.. in steps of GV vectors while a whole step fits below g_end. Offsets stay
// integers until added to the lhs (bases of padded pixels point outside it). Returns the
// first group not done.
template <class T, int PX, int GV, bool Stream>
int64_t depthwise_pixel_block(const T* lhs, const int64_t* base, const DepthwiseTaps& taps,
                              const T* w, int64_t g0, int64_t g_end, T* out, const int64_t* dst) {
  using B = xsimd::batch<T, Arch>;
  constexpr int64_t L = B::size;
  int64_t g = g0;
  for (; g + GV * L <= g_end; g += GV * L) {
    PixelSums<T, PX, GV> sums;
    auto& a = sums.a;
    for (int64_t t = 0; t < taps.count; ++t) {
      B wv[GV];
      const T* wt = w + taps.w[t] + g;
#pragma GCC unroll 4
      for (int k = 0; k < GV; ++k) wv[k] = B::load_unaligned(wt + k * L);
      const int64_t off = taps.lhs[t] + g;
#pragma GCC unroll 8
      for (int p = 0; p < PX; ++p) {
        const T* x = lhs + (base[p] + off);
#pragma GCC unroll 4
        for (int k = 0; k < GV; ++k) a[p][k] = fma_op(B::load_unaligned(x + k * L), wv[k], a[p][k]);
      }
    }
    sums.template store<Stream>(out, dst, g);
  }
  return g;
}

// Groups [g, G) of PX pixels, one at a time (fewer than a vector).
template <class T, int PX>
void depthwise_group_tail(const T* lhs, const int64_t* base, const DepthwiseTaps& taps,
                          const T* w, int64_t g, int64_t G, T* out, const int64_t* dst) {
  for (int p = 0; p < PX && g < G; ++p)
    for (int64_t c = g; c < G; ++c) {
      T a = 0;
      for (int64_t t = 0; t < taps.count; ++t) a += lhs[base[p] + taps.lhs[t] + c] * w[taps.w[t] + c];
      out[dst[p] + c] = a;
    }
}

// PX pixels, all groups: vector steps as wide as keep 4-8 accumulators in flight (FMA
// latency) and the weights in registers, then one-vector steps, then scalars.
template <class T, int PX, bool Stream>
void depthwise_pixels(const T* lhs, const int64_t* base, const DepthwiseTaps& taps, const T* w,
                      int64_t G, T* out, const int64_t* dst) {
  constexpr int kGV = PX >= 4 ? 2 : 4;
  int64_t g = depthwise_pixel_block<T, PX, kGV, Stream>(lhs, base, taps, w, 0, G, out, dst);
  if constexpr (kGV > 2) g = depthwise_pixel_block<T, PX, 2, Stream>(lhs, base, taps, w, g, G, out, dst);
  g = depthwise_pixel_block<T, PX, 1, Stream>(lhs, base, taps, w, g, G, out, dst);
  depthwise_group_tail<T, PX>(lhs, base, taps, w, g, G, out, dst);
}

// As depthwise_pixel_block for PX consecutive pixels (pixel step ls) and taps that form
// whole rows of KX taps one pixel apart (last-dim stride and dilation 1): rows start at
// taps.lhs[r*KX], weights at taps.w[r*KX] + kx*G. Each lhs pixel of a row is loaded once for
// the up to KX outputs it feeds (PX + KX - 1 loads per PX*KX FMAs).
template <class T, int PX, int GV, int KX, bool Stream>
int64_t depthwise_row_block(const T* lhs, int64_t base, int64_t ls, const DepthwiseTaps& taps,
                            const T* w, int64_t G, int64_t g0, int64_t g_end, T* out,
                            const int64_t* dst) {
  using B = xsimd::batch<T, Arch>;
  constexpr int64_t L = B::size;
  int64_t g = g0;
  for (; g + GV * L <= g_end; g += GV * L) {
    PixelSums<T, PX, GV> sums;
    auto& a = sums.a;
    for (int64_t r = 0; r < taps.count; r += KX) {
      B wv[KX][GV];
#pragma GCC unroll 8
      for (int kx = 0; kx < KX; ++kx)
#pragma GCC unroll 4
        for (int k = 0; k < GV; ++k) wv[kx][k] = B::load_unaligned(w + taps.w[r] + kx * G + g + k * L);
      const T* row = lhs + (base + taps.lhs[r] + g);
#pragma GCC unroll 16
      for (int i = 0; i < PX + KX - 1; ++i)
#pragma GCC unroll 4
        for (int k = 0; k < GV; ++k) {
          const B x = B::load_unaligned(row + i * ls + k * L);
#pragma GCC unroll 8
          for (int kx = 0; kx < KX; ++kx)
            if (i - kx >= 0 && i - kx < PX) a[i - kx][k] = fma_op(x, wv[kx][k], a[i - kx][k]);
        }
    }
    sums.template store<Stream>(out, dst, g);
  }
  return g;
}

// Pixels per block of the rows kernel: 8 x 1 vector (8 sums, 3 weights and the window fit
// 16 registers), but an image from memory wants whole 64-byte lines per pixel and step,
// written back to back: 4 x 2 vectors when a vector is half a line.
template <class T, bool Large>
constexpr int depthwise_row_block_pixels() {
  return Large && sizeof(xsimd::batch<T, Arch>) < 64 ? 4 : 8;
}

// PX consecutive pixels, all groups, taps in whole rows of KX (see depthwise_row_block).
template <class T, int PX, int KX, bool Stream>
void depthwise_row_pixels(const T* lhs, const int64_t* base, int64_t ls, const DepthwiseTaps& taps,
                          const T* w, int64_t G, T* out, const int64_t* dst) {
  constexpr int kGV = PX >= 8 ? 1 : 2;
  int64_t g = depthwise_row_block<T, PX, kGV, KX, Stream>(lhs, base[0], ls, taps, w, G, 0, G, out, dst);
  if constexpr (kGV > 1) g = depthwise_row_block<T, PX, 1, KX, Stream>(lhs, base[0], ls, taps, w, G, g, G, out, dst);
  depthwise_group_tail<T, PX>(lhs, base, taps, w, g, G, out, dst);
}

// Shared, read-only description of one depthwise problem for the per-line worker.
template <class T>
struct DepthwisePlan {
  const DenseConv<T>& p;
  const TapTable& taps;
  const T* wpack;            // [tap][group]
  int64_t Ql, q_in0, q_in1;  // pixels per line; last-dim interior pixels [q_in0, q_in1)
  // Lhs offsets (from a pixel's tap-0 element) of the taps in the last row of the
  // second-to-last dim, moved one window stride on: what the next line reads first.
  const int64_t* next_row_offset;
  int64_t next_rows;
  // Last dim: 3 taps, window stride and dilation 1 (the line's taps come in such rows).
  bool rows_of_3;
};

template <int N>
struct PixelCount {
  static constexpr int value = N;
};

// Output line `line` (n, outer output coords). Scratch: 5 * ntaps int64.
template <class T, bool Large, bool Stream>
void depthwise_line(const DepthwisePlan<T>& plan, int64_t line, int64_t* scratch) {
  constexpr int64_t kLineBytes = 64;
  const DenseConv<T>& p = plan.p;
  const int nd = p.nd, v = nd - 1;
  const int64_t ntaps = plan.taps.count, G = p.groups, Ql = plan.Ql;
  const int64_t* tap_offset = plan.taps.lhs_offset.data;
  const int64_t* tap_coord = plan.taps.coord.data;
  RowCursor<T> cur(p, line * Ql);  // first pixel of the line
  int64_t x0[kMaxDenseDims], lhs_off, out_off;
  cur.describe(x0, lhs_off, out_off);
  // Taps whose outer coordinates are inside: all of them for the interior pixels.
  int64_t *line_lhs = scratch, *line_w = scratch + ntaps, *line_tap = scratch + 4 * ntaps;
  int64_t nline = 0;
  for (int64_t t = 0; t < ntaps; ++t) {
    bool inside = true;
    for (int i = 0; i < v; ++i)
      inside = inside && static_cast<uint64_t>(x0[i] + tap_coord[t * nd + i]) < static_cast<uint64_t>(p.S[i]);
    if (inside) line_lhs[nline] = tap_offset[t], line_w[nline] = t * G, line_tap[nline++] = t;
  }
  const DepthwiseTaps line_taps{line_lhs, line_w, nline};
  // The next line's new row exists (same image, inside the lhs): prefetch it.
  const bool prefetch = nline == ntaps && plan.next_rows > 0 &&
                        x0[v - 1] + (p.K[v - 1] - 1) * p.rhs_dil[v - 1] + p.stride[v - 1] < p.S[v - 1];
  const int64_t lstep = nd > 0 ? p.stride[v] * p.lhs_s[v] : 0, ostep = nd > 0 ? p.out_q[v] : 0;
  const int64_t pixel_lines = ceil_div(G * static_cast<int64_t>(sizeof(T)), kLineBytes);
  int64_t q = plan.q_in0;
  // Interior pixels q .. q+PB-1 as one block.
  auto block = [&](auto pixel_count) {
    constexpr int PB = decltype(pixel_count)::value;
    int64_t base[PB], dst[PB];
    for (int k = 0; k < PB; ++k) base[k] = lhs_off + (q + k) * lstep, dst[k] = out_off + (q + k) * ostep;
    if (prefetch)  // the block's first-tap pixels of each such row (all of it at stride 1)
      for (int64_t r = 0; r < plan.next_rows; ++r)
        for (int k = 0; k < PB; ++k) {
          const char* pixel = reinterpret_cast<const char*>(p.lhs + (base[k] + plan.next_row_offset[r]));
          for (int64_t c = 0; c < pixel_lines; ++c) __builtin_prefetch(pixel + c * kLineBytes);
        }
    if (plan.rows_of_3)
      depthwise_row_pixels<T, PB, 3, Stream>(p.lhs, base, p.lhs_s[v], line_taps, plan.wpack, G, p.out, dst);
    else
      depthwise_pixels<T, PB, Stream>(p.lhs, base, line_taps, plan.wpack, G, p.out, dst);
    q += PB;
  };
  constexpr int kRowPixels = depthwise_row_block_pixels<T, Large>();
  if (plan.rows_of_3)
    while (q + kRowPixels <= plan.q_in1) block(PixelCount<kRowPixels>{});
  while (q + 4 <= plan.q_in1) block(PixelCount<4>{});
  if (q + 2 <= plan.q_in1) block(PixelCount<2>{});
  if (q < plan.q_in1) block(PixelCount<1>{});
  int64_t base[1], dst[1];
  // Pixels meeting the last-dim padding: the line's taps that stay inside.
  int64_t *pixel_lhs = scratch + 2 * ntaps, *pixel_w = scratch + 3 * ntaps;
  for (int64_t ql = 0; ql < Ql; ++ql) {
    if (ql == plan.q_in0 && plan.q_in1 > plan.q_in0) ql = plan.q_in1;
    if (ql >= Ql) break;
    const int64_t xq = nd > 0 ? x0[v] + ql * p.stride[v] : 0;
    int64_t npix = 0;
    for (int64_t k = 0; k < nline; ++k) {
      if (nd == 0 || static_cast<uint64_t>(xq + tap_coord[line_tap[k] * nd + v]) < static_cast<uint64_t>(p.S[v]))
        pixel_lhs[npix] = line_lhs[k], pixel_w[npix++] = line_w[k];
    }
    base[0] = lhs_off + ql * lstep, dst[0] = out_off + ql * ostep;
    depthwise_pixels<T, 1, Stream>(p.lhs, base, DepthwiseTaps{pixel_lhs, pixel_w, npix}, plan.wpack, G,
                                   p.out, dst);
  }
}

// Whether every block store of p lands on a whole aligned batch.
template <class T>
bool batch_aligned_output(const DenseConv<T>& p) {
  constexpr int64_t VB = sizeof(xsimd::batch<T, Arch>);
  bool ok = reinterpret_cast<uintptr_t>(p.out) % VB == 0 && p.out_n * int64_t(sizeof(T)) % VB == 0;
  for (int i = 0; i < p.nd; ++i) ok = ok && p.out_q[i] * int64_t(sizeof(T)) % VB == 0;
  return ok;
}

template <class T>
void depthwise_conv(const DenseConv<T>& p, int num_threads) {
  // Images beyond this are streamed (lhs rows prefetched, output written with streaming
  // stores): several times the per-core caches, so the data comes from and goes to memory.
  constexpr double kStreamBytes = 8.0 * (1 << 20);
  const int nd = p.nd, v = nd - 1;
  const int64_t G = p.groups;
  const TapTable taps(p);
  const int64_t ntaps = taps.count;

  Scratch<T> wpack(ntaps * G);  // [tap][group]
  for (int64_t t = 0; t < ntaps; ++t) {
    const int64_t koff = tap_rhs_offset(p, t, nd);
    for (int64_t g = 0; g < G; ++g) wpack[t * G + g] = p.rhs[g * p.rhs_group + koff];
  }
  // Lines: (n, outer output coords); pixels q of the last dim (a single line when nd = 0).
  int64_t outer_lines = 1;
  for (int i = 0; i < v; ++i) outer_lines *= p.Q[i];
  const int64_t lines = p.N * outer_lines, Ql = nd > 0 ? p.Q[v] : 1;
  DepthwisePlan<T> plan{p, taps, wpack.data, Ql, 0, Ql, nullptr, 0, false};
  plan.rows_of_3 = nd > 0 && p.K[v] == 3 && p.stride[v] == 1 && p.rhs_dil[v] == 1;
  // Pixels of a line whose last-dim taps are all inside: q*s - lo in [0, S - 1 - span].
  if (nd > 0) {
    const int64_t span = (p.K[v] - 1) * p.rhs_dil[v], sl = p.stride[v], lo = p.pad_lo[v];
    plan.q_in0 = min64(Ql, lo > 0 ? ceil_div(lo, sl) : 0);
    const int64_t last_x = p.S[v] - 1 - span + lo;
    plan.q_in1 = last_x < 0 ? plan.q_in0 : max64(plan.q_in0, min64(Ql, last_x / sl + 1));
  }
  // Taps with j[v-1] = K-1 and j[v] = 0 (row-major taps: t = ((..)*K[v-1] + j)*K[v] + 0).
  Scratch<int64_t> next_row_offset(ntaps);
  double lhs_bytes = static_cast<double>(p.N) * G * sizeof(T);
  for (int i = 0; i < nd; ++i) lhs_bytes *= p.S[i];
  if (nd >= 2 && ntaps > 0 && lhs_bytes >= kStreamBytes) {
    const int64_t row_step = p.stride[v - 1] * p.lhs_s[v - 1];
    for (int64_t t = 0; t < ntaps; t += p.K[v])
      if ((t / p.K[v]) % p.K[v - 1] == p.K[v - 1] - 1)
        next_row_offset[plan.next_rows++] = taps.lhs_offset.data[t] + row_step;
  }
  plan.next_row_offset = next_row_offset.data;
  const double flops = 2.0 * static_cast<double>(lines) * Ql * G * ntaps;
  const double out_bytes = static_cast<double>(lines) * Ql * G * sizeof(T);
  const bool large = out_bytes >= kStreamBytes || lhs_bytes >= kStreamBytes;
  const bool stream = out_bytes >= kStreamBytes && batch_aligned_output(p);
  const int nt = threads_for(flops, lines, num_threads);
  parallel_region(nt, [&] {
    Scratch<int64_t> scratch(5 * ntaps);
    // Contiguous bands of lines per thread: each lhs row is read by neighbouring lines.
#pragma omp for schedule(static)
    for (int64_t line = 0; line < lines; ++line) {
      if (stream)
        depthwise_line<T, true, true>(plan, line, scratch.data);
      else if (large)
        depthwise_line<T, true, false>(plan, line, scratch.data);
      else
        depthwise_line<T, false, false>(plan, line, scratch.data);
    }
    if (stream) stream_fence();
  });
}

// Depthwise applies to one input and one output feature per group, the groups adjacent in
// memory on lhs and out and at least a vector of them.
template <class T>
bool depthwise_applies(const DenseConv<T>& p, int64_t L) {
  return p.Ci == 1 && p.Co == 1 && p.groups >= L && p.lhs_group == 1 && p.out_group == 1;
}

template <class T>
void run_depthwise(const DenseConv<T>& p, int num_threads) {
  depthwise_conv(p, num_threads);
}

}  // namespace xlax::kernels::detail::XLAX_CONV_IMPL_NS
