// Internal: general matrix multiply on raw pointers with arbitrary element strides.
#pragma once

#include <cstdint>

namespace xlax::kernels {

// C (M x N, row stride ldc, unit column stride) = A (M x K) * B (K x N) [+ C if accumulate].
// A(i, k) = A[i*a_row + k*a_col], B(k, n) = B[k*b_row + n*b_col]: transposes cost nothing.
// T = float or double. Multithreaded (xlax::get_num_threads()), deterministic.
template <class T>
void gemm(int64_t M, int64_t N, int64_t K, const T* A, int64_t a_row, int64_t a_col, const T* B,
          int64_t b_row, int64_t b_col, T* C, int64_t ldc, bool accumulate);

}  // namespace xlax::kernels
