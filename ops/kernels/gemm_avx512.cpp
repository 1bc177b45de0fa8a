// AVX-512 instantiation of the blocked GEMM (CMake compiles *_avx512.cpp with -mavx2 -mfma
// -mavx512f -mavx512bw -mavx512dq -mavx512vl; gemm.cpp calls it only after checking the CPU).
#include "ops/kernels/gemm_impl.hpp"

#if defined(__AVX512F__)

namespace xlax::kernels::detail {

// 12 rows x 2 vectors = 24 of the 32 registers hold sums: per multiply-add, 1/12 of a B
// load and 1/2 of an A broadcast (the 6 x 2 tile of AVX2 needs twice the B loads).
using Avx512Gemm = xsimd::default_arch;
static_assert(sizeof(xsimd::batch<float, Avx512Gemm>) == 64, "expected 512-bit batches");

template <class T>
void gemm_avx512(int64_t M, int64_t N, int64_t K, const T* A, int64_t a_row, int64_t a_col,
                 const T* B, int64_t b_row, int64_t b_col, T* C, int64_t ldc, bool accumulate) {
  GemmImpl<T, Avx512Gemm, 12, 2>::run(M, N, K, A, a_row, a_col, B, b_row, b_col, C, ldc,
                                      accumulate);
}

template void gemm_avx512<float>(int64_t, int64_t, int64_t, const float*, int64_t, int64_t,
                                 const float*, int64_t, int64_t, float*, int64_t, bool);
template void gemm_avx512<double>(int64_t, int64_t, int64_t, const double*, int64_t, int64_t,
                                  const double*, int64_t, int64_t, double*, int64_t, bool);

}  // namespace xlax::kernels::detail

#endif
