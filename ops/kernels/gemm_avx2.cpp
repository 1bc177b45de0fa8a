// AVX2 + FMA instantiation of the blocked GEMM (CMake compiles *_avx2.cpp with -mavx2 -mfma;
// gemm.cpp calls it only after checking the CPU at run time).
#include "ops/kernels/gemm_impl.hpp"

#if defined(__AVX2__) && defined(__FMA__)

namespace xlax::kernels::detail {

// With -mavx2 -mfma, xsimd's default arch is fma3<avx2> (not avx2): 8 floats / 4 doubles.
template <class T>
void gemm_avx2(int64_t M, int64_t N, int64_t K, const T* A, int64_t a_row, int64_t a_col,
               const T* B, int64_t b_row, int64_t b_col, T* C, int64_t ldc, bool accumulate) {
  GemmImpl<T, xsimd::fma3<xsimd::avx2>>::run(M, N, K, A, a_row, a_col, B, b_row, b_col, C, ldc,
                                             accumulate);
}

template void gemm_avx2<float>(int64_t, int64_t, int64_t, const float*, int64_t, int64_t,
                               const float*, int64_t, int64_t, float*, int64_t, bool);
template void gemm_avx2<double>(int64_t, int64_t, int64_t, const double*, int64_t, int64_t,
                                const double*, int64_t, int64_t, double*, int64_t, bool);

}  // namespace xlax::kernels::detail

#endif
