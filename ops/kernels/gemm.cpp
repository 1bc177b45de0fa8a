// GEMM entry point: the baseline instantiation (whatever the compiler's default target
// allows, SSE2 on x86-64) and run-time dispatch to the AVX2 or AVX-512 unit (cpu_features).
#include "ops/kernels/gemm.hpp"

#include "ops/kernels/cpu_features.hpp"
#include "ops/kernels/gemm_impl.hpp"

#if defined(__x86_64__) || defined(__i386__)
#define XLAX_GEMM_X86_DISPATCH 1
#endif

namespace xlax::kernels {

#ifdef XLAX_GEMM_X86_DISPATCH
namespace detail {
// Defined in gemm_avx2.cpp and gemm_avx512.cpp.
template <class T>
void gemm_avx2(int64_t M, int64_t N, int64_t K, const T* A, int64_t a_row, int64_t a_col,
               const T* B, int64_t b_row, int64_t b_col, T* C, int64_t ldc, bool accumulate);
template <class T>
void gemm_avx512(int64_t M, int64_t N, int64_t K, const T* A, int64_t a_row, int64_t a_col,
                 const T* B, int64_t b_row, int64_t b_col, T* C, int64_t ldc, bool accumulate);
}  // namespace detail
#endif

template <class T>
void gemm(int64_t M, int64_t N, int64_t K, const T* A, int64_t a_row, int64_t a_col, const T* B,
          int64_t b_row, int64_t b_col, T* C, int64_t ldc, bool accumulate) {
#ifdef XLAX_GEMM_X86_DISPATCH
  switch (kernel_isa()) {
    case Isa::Avx512:
      detail::gemm_avx512<T>(M, N, K, A, a_row, a_col, B, b_row, b_col, C, ldc, accumulate);
      return;
    case Isa::Avx2:
      detail::gemm_avx2<T>(M, N, K, A, a_row, a_col, B, b_row, b_col, C, ldc, accumulate);
      return;
    case Isa::Baseline: break;
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
