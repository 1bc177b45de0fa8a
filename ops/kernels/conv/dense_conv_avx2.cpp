// AVX2+FMA build of the DenseConv paths (CMake adds -mavx2 -mfma to *_avx2.cpp). Only
// called after conv_general() has checked the CPU.
#define XLAX_CONV_IMPL_NS avx2_impl
#include "ops/kernels/conv/dispatch.hpp"

namespace xlax::kernels::detail {

template <class T>
void dense_conv_avx2(const DenseConv<T>& p, int num_threads) {
  avx2_impl::run_dense_conv(p, num_threads);
}

template void dense_conv_avx2<float>(const DenseConv<float>&, int);
template void dense_conv_avx2<double>(const DenseConv<double>&, int);

}  // namespace xlax::kernels::detail
