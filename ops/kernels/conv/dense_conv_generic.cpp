// Generic build of the DenseConv paths (no -m flags: SSE2 on x86-64), and the dispatcher's
// choices that span builds, answered here for conv_general() (dense_conv.hpp).
#define XLAX_CONV_IMPL_NS generic_impl
#include "ops/kernels/conv/dispatch.hpp"

namespace xlax::kernels::detail {

template <class T>
void dense_conv_generic(const DenseConv<T>& p, int num_threads) {
  generic_impl::run_dense_conv(p, num_threads);
}

// (Decided in this unit, for every build: code from the AVX-512 unit, even scalar, slowed
// the AVX2 paths run after it by 10-20 % on Zen 4.)
template <class T>
Isa choose_build(const DenseConv<T>& p, Isa widest, int num_threads) {
  if (widest == Isa::Avx512 && generic_impl::wide_vectors_pay(p, num_threads)) return Isa::Avx512;
  return widest == Isa::Baseline ? Isa::Baseline : Isa::Avx2;
}

template <class T>
bool line_phases_stay_together(const DenseConv<T>& p, Isa build, int num_threads) {
  const int64_t lanes = build == Isa::Avx512 ? 64 / static_cast<int64_t>(sizeof(T))
                        : build == Isa::Avx2 ? 32 / static_cast<int64_t>(sizeof(T))
                                             : static_cast<int64_t>(xsimd::batch<T>::size);
  return generic_impl::line_phases_stay_together(p, lanes, num_threads);
}

template <class T>
DenseConv<T> single_phase(const DenseConv<T>& p, int f) {
  return generic_impl::single_phase(p, f);
}

#define XLAX_INSTANTIATE(T)                                                       \
  template void dense_conv_generic<T>(const DenseConv<T>&, int);                 \
  template Isa choose_build<T>(const DenseConv<T>&, Isa, int);                   \
  template bool line_phases_stay_together<T>(const DenseConv<T>&, Isa, int);     \
  template DenseConv<T> single_phase<T>(const DenseConv<T>&, int);
XLAX_INSTANTIATE(float)
XLAX_INSTANTIATE(double)
#undef XLAX_INSTANTIATE

}  // namespace xlax::kernels::detail
