// Internal: row-major iteration over K strided operands, one call per innermost row, so
// kernels keep a tight (vectorisable) inner loop and no per-element index arithmetic.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "xlax/core.hpp"

namespace xlax::detail {

// strides[k][d]: element stride of operand k along dim d (0 for a broadcast dim).
// row(n, offsets, inner_strides) is called for each innermost row of length n = shape.back().
template <size_t K, class Row>
void strided_rows(const Shape& shape, const std::array<std::vector<int64_t>, K>& strides, Row&& row) {
  const size_t nd = shape.size();
  for (int64_t d : shape)
    if (d == 0) return;
  std::array<int64_t, K> off{};
  std::array<int64_t, K> inner{};
  if (nd == 0) {
    row(int64_t{1}, off, inner);
    return;
  }
  for (size_t k = 0; k < K; ++k) inner[k] = strides[k][nd - 1];
  const int64_t n = shape[nd - 1];
  std::vector<int64_t> idx(nd, 0);
  while (true) {
    row(n, off, inner);
    // advance the outer (nd-1)-dim counter
    int64_t d = static_cast<int64_t>(nd) - 2;
    for (; d >= 0; --d) {
      if (++idx[d] < shape[d]) {
        for (size_t k = 0; k < K; ++k) off[k] += strides[k][d];
        break;
      }
      for (size_t k = 0; k < K; ++k) off[k] -= strides[k][d] * (shape[d] - 1);
      idx[d] = 0;
    }
    if (d < 0) return;
  }
}

// Strides (in elements) of a row-major array of shape `in` read as the broadcast shape
// `out` (in is right-aligned; size-1 and missing dims get stride 0).
inline std::vector<int64_t> broadcast_strides(const Shape& in, const Shape& out) {
  std::vector<int64_t> st(out.size(), 0);
  int64_t stride = 1;
  for (int64_t i = static_cast<int64_t>(in.size()) - 1, o = static_cast<int64_t>(out.size()) - 1; i >= 0; --i, --o) {
    st[o] = in[i] == 1 ? 0 : stride;
    stride *= in[i];
  }
  return st;
}

}  // namespace xlax::detail
