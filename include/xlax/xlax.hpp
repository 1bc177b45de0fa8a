// The umbrella header: #include <xlax/xlax.hpp>
#pragma once

#include <xtensor/xadapt.hpp>
#include <xtensor/xarray.hpp>

#include "autodiff.hpp"
#include "core.hpp"
#include "lax.hpp"
#include "nn.hpp"

namespace xlax {

// Inline on purpose: xtensor's container types depend on the consumer's flags
// (XTENSOR_USE_XSIMD, -m options), so only raw pointers cross into the library.
template <class T>
Tensor asarray(const xt::xarray<T>& a) {
  Shape shape(a.shape().begin(), a.shape().end());
  xt::xarray<T> contiguous = a;  // row-major copy
  return asarray<T>(contiguous.data(), shape);
}

template <class T>
xt::xarray<T> to_xarray(const Tensor& t) {
  std::vector<T> values = to_vector<T>(t);
  std::vector<std::size_t> shape(t.shape().begin(), t.shape().end());
  xt::xarray<T> out = xt::zeros<T>(shape);
  std::copy(values.begin(), values.end(), out.begin());
  return out;
}

}  // namespace xlax
