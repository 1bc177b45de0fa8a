// Internal, per instruction-set build: the Zeros path, for empty sums (an empty lhs or no
// taps): every output element is zero, written without forming lhs addresses.
#pragma once

#include <cstdint>

#include "ops/kernels/conv/toolkit.hpp"

namespace xlax::kernels::detail::XLAX_CONV_IMPL_NS {

template <class T>
bool zeros_applies(const DenseConv<T>& p, int64_t L) {
  bool empty_lhs = p.Ci == 0;
  for (int i = 0; i < p.nd; ++i) empty_lhs = empty_lhs || p.S[i] == 0;
  return TapTable::tap_count(p) == 0 || empty_lhs;
}

// Empty sums (empty lhs or no taps): zeros, without forming lhs addresses.
template <class T>
void run_zeros(const DenseConv<T>& p) {
  const int64_t rows = p.N * output_positions(p);
  int64_t x0[kMaxDenseDims];
  for (int64_t g = 0; g < p.groups; ++g) {
    RowCursor<T> cur(p, 0);
    for (int64_t m = 0; m < rows; ++m, cur.next()) {
      int64_t lhs_off, out_off;
      cur.describe(x0, lhs_off, out_off);
      T* dst = p.out + g * p.out_group + out_off;
      for (int64_t o = 0; o < p.Co; ++o) dst[o * p.out_o] = T(0);
    }
  }
}

}  // namespace xlax::kernels::detail::XLAX_CONV_IMPL_NS
