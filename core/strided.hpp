// Internal: row-major iteration over K strided operands, one call per innermost row, so
// kernels keep a tight (vectorisable) inner loop and no per-element index arithmetic.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "core/parallel.hpp"
#include "xlax/core.hpp"

namespace xlax::detail {

// Number of innermost rows of `shape` (the product of all dims but the last; 1 for a scalar).
inline int64_t outer_rows(const Shape& shape) {
  int64_t rows = 1;
  for (size_t d = 0; d + 1 < shape.size(); ++d) rows *= shape[d];
  return rows;
}

// strides[k][d]: element stride of operand k along dim d (0 for a broadcast dim).
// row(n, offsets, inner_strides) is called for each innermost row r in [first, end) of the
// row-major order, n = shape.back().
template <size_t K, class Row>
void strided_rows_range(const Shape& shape, const std::array<std::vector<int64_t>, K>& strides,
                        int64_t first, int64_t end, Row&& row) {
  const size_t nd = shape.size();
  for (int64_t d : shape)
    if (d == 0) return;
  std::array<int64_t, K> off{};
  std::array<int64_t, K> inner{};
  if (nd == 0) {
    if (first < end) row(int64_t{1}, off, inner);
    return;
  }
  for (size_t k = 0; k < K; ++k) inner[k] = strides[k][nd - 1];
  const int64_t n = shape[nd - 1];
  std::vector<int64_t> idx(nd, 0);
  int64_t rem = first;  // decode the first row's outer index
  for (int64_t d = static_cast<int64_t>(nd) - 2; d >= 0; --d) {
    idx[d] = rem % shape[d];
    rem /= shape[d];
    for (size_t k = 0; k < K; ++k) off[k] += idx[d] * strides[k][d];
  }
  for (int64_t r = first; r < end; ++r) {
    row(n, off, inner);
    // advance the outer (nd-1)-dim counter
    for (int64_t d = static_cast<int64_t>(nd) - 2; d >= 0; --d) {
      if (++idx[d] < shape[d]) {
        for (size_t k = 0; k < K; ++k) off[k] += strides[k][d];
        break;
      }
      for (size_t k = 0; k < K; ++k) off[k] -= strides[k][d] * (shape[d] - 1);
      idx[d] = 0;
    }
  }
}

// Every innermost row, in row-major order.
template <size_t K, class Row>
void strided_rows(const Shape& shape, const std::array<std::vector<int64_t>, K>& strides, Row&& row) {
  strided_rows_range<K>(shape, strides, 0, outer_rows(shape), row);
}

// Every innermost row, the rows split over threads (parallel_for): row() must only write
// elements of its own row.
template <size_t K, class Row>
void parallel_strided_rows(const Shape& shape, const std::array<std::vector<int64_t>, K>& strides,
                           Row&& row) {
  const int64_t n = shape.empty() ? 1 : shape.back();
  parallel_for(outer_rows(shape), n, [&](int64_t first, int64_t end) {
    strided_rows_range<K>(shape, strides, first, end, row);
  });
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
