// AVX-512 build of the DenseConv paths (CMake compiles *_avx512.cpp with -mavx2 -mfma
// -mavx512f -mavx512bw -mavx512dq -mavx512vl). Only called after conv_general() has checked
// the CPU.
#define XLAX_CONV_IMPL_NS avx512_impl
#include "ops/kernels/conv/dispatch.hpp"

namespace xlax::kernels::detail {

template <class T>
void dense_conv_avx512(const DenseConv<T>& p, int num_threads) {
  avx512_impl::run_dense_conv(p, num_threads);
}

template void dense_conv_avx512<float>(const DenseConv<float>&, int);
template void dense_conv_avx512<double>(const DenseConv<double>&, int);

}  // namespace xlax::kernels::detail
