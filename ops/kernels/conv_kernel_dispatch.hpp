// Internal, part of conv_kernel_impl.hpp (same per-build namespace): the paths and the
// dispatcher that picks one for a DenseConv (select_path), which the AVX-512 build runs
// (wide_vectors_pay), and run_dense_conv, the entry of each instruction-set build.
#pragma once

#include "ops/kernels/conv_kernel_depthwise.hpp"
#include "ops/kernels/conv_kernel_direct.hpp"
#include "ops/kernels/conv_kernel_gemm_staged.hpp"
#include "ops/kernels/conv_kernel_wgrad.hpp"
#include "ops/kernels/conv_kernel_wgrad_staged.hpp"
#include "ops/kernels/conv_kernel_wgrad_small.hpp"
#include "ops/kernels/conv_kernel_wgrad_rows.hpp"
#include "ops/kernels/conv_kernel_depthwise_wgrad.hpp"
#include "ops/kernels/conv_kernel_few_inputs.hpp"
#include "ops/kernels/conv_kernel_few_outputs.hpp"

namespace xlax::kernels::detail::XLAX_CONV_IMPL_NS {

// Empty sums (empty lhs or no taps): zeros, without forming lhs addresses.
template <class T>
void zero_output(const DenseConv<T>& p, int64_t rows) {
  int64_t x0[kMaxDenseDims];
  for (int64_t g = 0; g < p.groups; ++g) {
    RowCursor<T> cur(p, 0);
    for (int64_t m = 0; m < rows; ++m, cur.next()) {
      int64_t lhs_off, out_off;
      cur.describe(x0, lhs_off, out_off);
      T* dst = p.out + g * p.out_group + out_off;
      for (int64_t o = 0; o < p.Co; ++o) dst[o * p.out_o] = T(0);
    }
  }
}

enum class DensePath {
  Nothing, Zeros, Depthwise, FewInputs, FewOutputs, DepthwiseWindow, SmallWindow, FewRowsWindow, LargeWindow,
  Direct, Gemm
};

// The path for p in a build with L lanes per vector.
template <class T>
DensePath select_path(const DenseConv<T>& p, int64_t L) {
  int64_t rows = p.N;
  for (int i = 0; i < p.nd; ++i) rows *= p.Q[i];
  if (rows == 0 || p.Co == 0 || p.groups == 0) return DensePath::Nothing;
  int64_t taps = 1;
  bool empty_lhs = p.Ci == 0;
  for (int i = 0; i < p.nd; ++i) taps *= p.K[i], empty_lhs = empty_lhs || p.S[i] == 0;
  if (taps == 0 || empty_lhs) return DensePath::Zeros;
  const bool depthwise = p.Ci == 1 && p.Co == 1 && p.groups >= L && p.lhs_group == 1 &&
                         p.out_group == 1;
  // Few output features: vectorise over output positions instead of features.
  const bool direct = p.nd >= 1 && p.Co <= 4 && p.Q[p.nd - 1] >= L &&
                      taps * p.Ci * (p.Q[p.nd - 1] + p.K[p.nd - 1] * p.rhs_dil[p.nd - 1]) * p.stride[p.nd - 1] <= (int64_t(1) << 20);
  // Window much larger than the output (weight gradients): long reductions per position.
  int64_t positions = 1;
  for (int i = 0; i < p.nd; ++i) positions *= p.Q[i];
  const bool large_window = taps >= 16 * positions && taps * p.Ci >= 64;
  const bool depthwise_window = large_window && p.nd >= 1 && p.N == 1 && p.Co == 1 &&
                                p.groups >= L && p.lhs_group == 1 && p.rhs_group == 1 &&
                                p.out_group == 1;
  // Short reduction, output features contiguous: per-line driver, no per-row tables.
  const bool few_inputs = !large_window && p.nd >= 1 && p.out_o == 1 && p.Co >= L &&
                          taps * p.Ci <= 64 && p.Q[p.nd - 1] >= 4;
  if (depthwise) return DensePath::Depthwise;
  if (few_inputs) return DensePath::FewInputs;
  // Few output features, input features contiguous in whole vectors: dot products over them.
  if (!large_window && p.nd >= 1 && p.Co <= 4 && p.lhs_c == 1 && p.Ci % L == 0)
    return DensePath::FewOutputs;
  if (depthwise_window) return DensePath::DepthwiseWindow;
  // A GEMM tile would be mostly padding for a tiny output.
  if (large_window && p.nd >= 1 && p.Q[p.nd - 1] <= 4 && p.Co <= 4 && p.N <= 16)
    return DensePath::SmallWindow;
  // The whole output in one register tile or a few, whole feature vectors.
  if (large_window && few_rows_fits(p, L)) return DensePath::FewRowsWindow;
  if (large_window) return DensePath::LargeWindow;
  if (direct) return DensePath::Direct;
  return DensePath::Gemm;
}

// Whether an AVX-512 build (64-byte vectors) should run p. Measured on Zen 4: 512-bit
// vectors speed up the register-tiled GEMM paths and the depthwise weight gradient, but
// slow down the paths whose unaligned loads start at arbitrary element offsets (direct,
// tiny-output window): more of their loads straddle cache lines.
template <class T>
bool wide_vectors_pay(const DenseConv<T>& p) {
  const DensePath path = select_path(p, 64 / static_cast<int64_t>(sizeof(T)));
  return path == DensePath::Gemm || path == DensePath::LargeWindow ||
         path == DensePath::DepthwiseWindow || path == DensePath::FewRowsWindow ||
         path == DensePath::FewOutputs || path == DensePath::FewInputs;
}

template <class T>
void run_dense_conv(const DenseConv<T>& p, int num_threads) {
  constexpr int64_t L = xsimd::batch<T, Arch>::size;
  const DensePath path = select_path(p, L);
  if (p.last_phases > 1) {  // only the direct path runs a line's phases together
    if (path == DensePath::Direct) {
      direct_conv(p, num_threads);
    } else {
      for (int f = 0; f < p.last_phases; ++f) run_dense_conv(single_phase(p, f), num_threads);
    }
    return;
  }
  switch (path) {
    case DensePath::Nothing: return;
    case DensePath::Zeros: {
      int64_t rows = p.N;
      for (int i = 0; i < p.nd; ++i) rows *= p.Q[i];
      zero_output(p, rows);
      return;
    }
    case DensePath::Depthwise: depthwise_conv(p, num_threads); return;
    case DensePath::FewInputs:
      // 32 vector registers (AVX-512) hold 12 pixels x 2 vectors of sums.
      if (p.Co > L)
        few_inputs_conv<T, L * sizeof(T) == 64 ? 12 : 6, 2>(p, num_threads);
      else
        few_inputs_conv<T, 12, 1>(p, num_threads);
      return;
    case DensePath::FewOutputs: few_outputs_conv(p, num_threads); return;
    case DensePath::DepthwiseWindow: depthwise_large_window_conv(p, num_threads); return;
    case DensePath::SmallWindow: small_output_window_conv(p, num_threads); return;
    case DensePath::FewRowsWindow:
      if (p.Co >= 2 * L)
        few_rows_window_conv<T, 2>(p, num_threads);
      else
        few_rows_window_conv<T, 1>(p, num_threads);
      return;
    case DensePath::LargeWindow:
      if (p.Co > L) {
        if (!large_window_staged_conv<T, 6, 2>(p, num_threads)) large_window_conv<T, 6, 2>(p, num_threads);
      } else {
        if (!large_window_staged_conv<T, 12, 1>(p, num_threads)) large_window_conv<T, 12, 1>(p, num_threads);
      }
      return;
    case DensePath::Direct: direct_conv(p, num_threads); return;
    case DensePath::Gemm: {
      // Tiles that meet padding or strided features: read a zero-bordered channels-last copy.
      const bool staged = p.nd >= 1 && (window_meets_padding(p) || (p.lhs_c != 1 && p.Ci > 1));
      // Batch contiguous, features strided (weight gradients of windows a few times the
      // output): staging per feature plane copies runs, per image it would gather.
      const bool planes = p.lhs_n == 1 && p.lhs_c != 1 && p.Ci > 1 && TapTable::tap_count(p) >= 16;
      if (planes && (p.Co > L ? large_window_staged_conv<T, 6, 2>(p, num_threads)
                              : large_window_staged_conv<T, 12, 1>(p, num_threads)))
        return;
      if (p.Co > L) {
        if (!staged || !gemm_conv_staged<T, 6, 2>(p, num_threads)) gemm_conv<T, 6, 2>(p, num_threads);
      } else {
        if (!staged || !gemm_conv_staged<T, 12, 1>(p, num_threads)) gemm_conv<T, 12, 1>(p, num_threads);
      }
      return;
    }
  }
}

}  // namespace xlax::kernels::detail::XLAX_CONV_IMPL_NS
