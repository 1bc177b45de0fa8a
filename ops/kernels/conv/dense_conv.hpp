// Internal to the convolution kernel (ops/kernels/conv/) and its white-box tests: the
// problem every path runs, DenseConv, and the entry of each instruction-set build.
//
// conv_general() (conv_kernel.cpp) reduces every ConvGeometry to a few DenseConv problems:
// lhs dilation is removed by splitting the output into stride phases (each phase is a dense
// conv with a sub-kernel; the last dim's phases may stay in one problem, which the direct
// path computes in one pass per line), or, for weight gradients of transposed convs, by
// running the dual conv (cotangent as lhs, image as kernel at rhs dilation). Feature/batch
// groups become a group loop with pointer offsets. A DenseConv is then run by one
// instruction-set build of dispatch.hpp.
#pragma once

#include <cstdint>

#include "ops/kernels/cpu_features.hpp"

namespace xlax::kernels::detail {

// Spatial rank handled by the DenseConv paths; higher ranks use the scalar path.
constexpr int kMaxDenseDims = 8;
// Most last-dim stride phases one DenseConv carries (more run as separate problems).
constexpr int kMaxLinePhases = 4;

// out[g][n, o, q] = sum_{c < Ci, t} lhs[g][n, c, x] * rhs[g][o, c, j], x_i = q_i*s_i + j_i*rd_i - lo_i,
// terms with x outside [0, S) are zero. Element strides; group g offsets the three pointers
// by g*lhs_group, g*rhs_group, g*out_group. Plain data (no functions), shared by every
// instruction-set build.
template <class T>
struct DenseConv {
  int nd = 0;
  int64_t groups = 1, N = 0, Ci = 0, Co = 0;
  int64_t S[kMaxDenseDims] = {}, K[kMaxDenseDims] = {}, Q[kMaxDenseDims] = {};
  int64_t stride[kMaxDenseDims] = {}, rhs_dil[kMaxDenseDims] = {}, pad_lo[kMaxDenseDims] = {};
  const T* lhs = nullptr;
  int64_t lhs_n = 0, lhs_c = 0, lhs_s[kMaxDenseDims] = {}, lhs_group = 0;
  const T* rhs = nullptr;
  int64_t rhs_o = 0, rhs_i = 0, rhs_k[kMaxDenseDims] = {}, rhs_group = 0;
  T* out = nullptr;
  int64_t out_n = 0, out_o = 0, out_q[kMaxDenseDims] = {}, out_group = 0;
  // Stride phases of the last dim (lhs dilation) kept in one problem, so that the direct
  // path computes whole output lines in one pass (shared input rows, contiguous stores).
  // Phase f < last_phases is the dense problem with Q, K, pad_lo of the last dim replaced by
  // phase_Q[f], phase_K[f], phase_pad_lo[f], rhs + phase_rhs[f], out + f * out_q[last] and
  // out_q[last] * last_q_step. Q[last] and K[last] then hold the largest phase_Q, phase_K.
  int last_phases = 1;
  int64_t last_q_step = 1;
  int64_t phase_Q[kMaxLinePhases] = {}, phase_K[kMaxLinePhases] = {},
          phase_pad_lo[kMaxLinePhases] = {}, phase_rhs[kMaxLinePhases] = {};
};


// Per-thread scratch stack for the kernels' set-up and tile buffers (64-byte aligned):
// blocks are released in reverse order of acquisition. Small requests reuse memory kept by
// the thread, so a tiny conv costs no malloc; large ones go to the heap.
void* scratch_acquire(int64_t bytes);
void scratch_release(void* block, int64_t bytes);

// One build per instruction set; both write every output element of p.
template <class T>
void dense_conv_generic(const DenseConv<T>& p, int num_threads);
template <class T>
void dense_conv_avx2(const DenseConv<T>& p, int num_threads);
template <class T>
void dense_conv_avx512(const DenseConv<T>& p, int num_threads);

// The dispatcher's choices that span builds (dispatch.hpp, answered by the generic build):
// the build that runs p when the kernels may use up to `widest`; whether p's last-dim
// phases stay in one problem in that build (else run single_phase(p, f) for each phase f).
template <class T>
Isa choose_build(const DenseConv<T>& p, Isa widest, int num_threads);
template <class T>
bool line_phases_stay_together(const DenseConv<T>& p, Isa build, int num_threads);
template <class T>
DenseConv<T> single_phase(const DenseConv<T>& p, int f);

// Test and benchmark hook: force a build. Auto runs each problem in the build the
// dispatcher chooses (AVX-512 where wide_vectors_pay, else AVX2, on CPUs that have them);
// Avx2 never picks AVX-512; Avx512 runs every problem in the AVX-512 build when the CPU has
// it (so tests reach every path in it, and benchmarks can re-check wide_vectors_pay);
// Generic is the baseline build; Scalar the reference loop of conv_kernel.cpp.
enum class ConvPath { Auto, Generic, Scalar, Avx2, Avx512 };
void set_conv_path(ConvPath path);

}  // namespace xlax::kernels::detail
