// GEMM entry point: the baseline instantiation (whatever the compiler's default target
// allows, SSE2 on x86-64) plus run-time dispatch to the AVX2+FMA unit when the CPU has it.
#include "ops/kernels/gemm.hpp"

#include "ops/kernels/gemm_impl.hpp"

// XLAX_GEMM_BASELINE_ONLY (compile definition) skips the dispatch, to test the baseline.
#if (defined(__x86_64__) || defined(__i386__)) && !defined(XLAX_GEMM_BASELINE_ONLY)
#define XLAX_GEMM_X86_DISPATCH 1
#endif

namespace xlax::kernels {

#ifdef XLAX_GEMM_X86_DISPATCH
namespace detail {
template <class T>  // defined in gemm_avx2.cpp
void gemm_avx2(int64_t M, int64_t N, int64_t K, const T* A, int64_t a_row, int64_t a_col,
               const T* B, int64_t b_row, int64_t b_col, T* C, int64_t ldc, bool accumulate);
}  // namespace detail

static bool cpu_has_avx2_fma() {
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }();
  return has;
}
#endif

template <class T>
void gemm(int64_t M, int64_t N, int64_t K, const T* A, int64_t a_row, int64_t a_col, const T* B,
          int64_t b_row, int64_t b_col, T* C, int64_t ldc, bool accumulate) {
#ifdef XLAX_GEMM_X86_DISPATCH
  if (cpu_has_avx2_fma()) {
    detail::gemm_avx2<T>(M, N, K, A, a_row, a_col, B, b_row, b_col, C, ldc, accumulate);
    return;
  }
#endif
  detail::GemmImpl<T, xsimd::default_arch>::run(M, N, K, A, a_row, a_col, B, b_row, b_col, C,
                                                ldc, accumulate);
}

template void gemm<float>(int64_t, int64_t, int64_t, const float*, int64_t, int64_t, const float*,
                          int64_t, int64_t, float*, int64_t, bool);
template void gemm<double>(int64_t, int64_t, int64_t, const double*, int64_t, int64_t,
                           const double*, int64_t, int64_t, double*, int64_t, bool);

}  // namespace xlax::kernels
