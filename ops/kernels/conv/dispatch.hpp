// Internal, per instruction-set build: the dispatcher. select_path picks the first path
// that applies (the ladder below, in the order of the includes); the choices that span
// builds are made here too: which build runs a problem (wide_vectors_pay, asked of the
// generic build by conv_kernel.cpp) and whether a problem's last-dim stride phases stay
// together (only the direct path computes them in one pass). run_dense_conv is the entry of
// each instruction-set build (dense_conv_generic.cpp, dense_conv_avx2.cpp, dense_conv_avx512.cpp).
//
// Where to add a path: a header beside the others exporting `<path>_applies(p, L)` and
// `run_<path>(p, num_threads)`, a DensePath value, a rung in select_path, a case in
// run_dense_conv; README.md in this folder records why each rung sits where it does.
#pragma once

#include <cstdint>

#include "ops/kernels/conv/toolkit.hpp"
#include "ops/kernels/conv/zeros.hpp"
#include "ops/kernels/conv/depthwise.hpp"
#include "ops/kernels/conv/few_inputs.hpp"
#include "ops/kernels/conv/few_outputs.hpp"
#include "ops/kernels/conv/depthwise_window.hpp"
#include "ops/kernels/conv/small_window.hpp"
#include "ops/kernels/conv/few_rows_window.hpp"
#include "ops/kernels/conv/large_window.hpp"
#include "ops/kernels/conv/direct.hpp"
#include "ops/kernels/conv/gemm.hpp"

namespace xlax::kernels::detail::XLAX_CONV_IMPL_NS {

enum class DensePath {
  Nothing, Zeros, Depthwise, FewInputs, FewOutputs, DepthwiseWindow, SmallWindow, FewRowsWindow,
  LargeWindow, Direct, Gemm
};

// The path for p in a build with L lanes per vector, run on num_threads threads.
template <class T>
DensePath select_path(const DenseConv<T>& p, int64_t L, int num_threads) {
  if (p.N * output_positions(p) == 0 || p.Co == 0 || p.groups == 0) return DensePath::Nothing;
  if (zeros_applies(p, L)) return DensePath::Zeros;
  if (depthwise_applies(p, L)) return DensePath::Depthwise;
  if (few_inputs_applies(p, L)) return DensePath::FewInputs;
  if (few_outputs_applies(p, L)) return DensePath::FewOutputs;
  if (depthwise_window_applies(p, L)) return DensePath::DepthwiseWindow;
  if (small_window_applies(p, L)) return DensePath::SmallWindow;
  if (few_rows_window_applies(p, L)) return DensePath::FewRowsWindow;
  if (large_window_applies(p, L)) return DensePath::LargeWindow;
  if (direct_applies(p, L)) return DensePath::Direct;
  if (large_window_planes_pay(p, L, num_threads)) return DensePath::LargeWindow;
  return DensePath::Gemm;
}

// Whether an AVX-512 build (64-byte vectors) should run p. Tuned on Zen 4, re-checked on
// Zen 5 (README.md, "Which build runs a path"): 512-bit vectors speed up the register-tiled
// GEMM paths (1.2-2.1x) and the depthwise passes (1.03-1.6x), but slow down the paths whose
// unaligned loads start at arbitrary element offsets (Direct 0.82-1.01x, SmallWindow
// 0.80-0.99x): more of their loads straddle cache lines.
template <class T>
bool wide_vectors_pay(const DenseConv<T>& p, int num_threads) {
  const DensePath path = select_path(p, 64 / static_cast<int64_t>(sizeof(T)), num_threads);
  return path == DensePath::Gemm || path == DensePath::LargeWindow ||
         path == DensePath::DepthwiseWindow || path == DensePath::FewRowsWindow ||
         path == DensePath::FewOutputs || path == DensePath::FewInputs ||
         path == DensePath::Depthwise;
}

// Whether p's last-dim stride phases stay in one problem in a build with L lanes: only the
// direct path runs them together; otherwise the caller runs single_phase(p, f) for each f.
template <class T>
bool line_phases_stay_together(const DenseConv<T>& p, int64_t L, int num_threads) {
  return p.last_phases == 1 || select_path(p, L, num_threads) == DensePath::Direct;
}

// Phase f of a problem with last-dim phases, as a problem of its own (per build: an
// instantiation shared between builds could carry another build's instructions).
template <class T>
DenseConv<T> single_phase(const DenseConv<T>& p, int f) {
  DenseConv<T> q = p;
  const int v = p.nd - 1;
  q.last_phases = 1;
  q.last_q_step = 1;
  q.Q[v] = p.phase_Q[f];
  q.K[v] = p.phase_K[f];
  q.pad_lo[v] = p.phase_pad_lo[f];
  q.rhs = p.rhs + p.phase_rhs[f];
  q.out = p.out + f * p.out_q[v];
  q.out_q[v] = p.out_q[v] * p.last_q_step;
  return q;
}


// Runs p (one phase, or phases that stay together) in this build.
template <class T>
void run_dense_conv(const DenseConv<T>& p, int num_threads) {
  constexpr int64_t L = xsimd::batch<T, Arch>::size;
  switch (select_path(p, L, num_threads)) {
    case DensePath::Nothing: return;
    case DensePath::Zeros: run_zeros(p); return;
    case DensePath::Depthwise: run_depthwise(p, num_threads); return;
    case DensePath::FewInputs: run_few_inputs(p, num_threads); return;
    case DensePath::FewOutputs: run_few_outputs(p, num_threads); return;
    case DensePath::DepthwiseWindow: run_depthwise_window(p, num_threads); return;
    case DensePath::SmallWindow: run_small_window(p, num_threads); return;
    case DensePath::FewRowsWindow: run_few_rows_window(p, num_threads); return;
    case DensePath::LargeWindow: run_large_window(p, num_threads); return;
    case DensePath::Direct: run_direct(p, num_threads); return;
    case DensePath::Gemm: run_gemm(p, num_threads); return;
  }
}

}  // namespace xlax::kernels::detail::XLAX_CONV_IMPL_NS
