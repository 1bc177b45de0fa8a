// Internal: conv_general_dilated's arguments resolved to canonical form (docs/conv_semantics.md §1):
// explicit (lo, hi) padding, full-length dilations, resolved dimension numbers.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "ops/kernels/conv/conv_kernel.hpp"
#include "xlax/lax.hpp"

namespace xlax::lax {

struct ConvParams {
  std::vector<int64_t> window_strides, lhs_dilation, rhs_dilation;
  std::vector<std::pair<int64_t, int64_t>> padding;
  ConvDimensionNumbers dimension_numbers;
  int64_t feature_group_count = 1, batch_group_count = 1;
  // Read the rhs with its spatial axes reversed (the data gradient's kernel) without a copy.
  bool flip_kernel = false;
};

// dil(d, r): size after inserting r-1 zeros between neighbours (0 stays 0).
inline int64_t dilate_dim(int64_t d, int64_t r) { return d == 0 ? 0 : (d - 1) * r + 1; }

// Validates everything of §1.3 (throws Error naming `function`) and resolves padding.
ConvParams resolve_conv_params(const char* function, const Shape& lhs, const Shape& rhs,
                               const std::vector<int64_t>& window_strides, const Padding& padding,
                               const std::vector<int64_t>& lhs_dilation, const std::vector<int64_t>& rhs_dilation,
                               const DimensionNumbers& dimension_numbers, int64_t feature_group_count,
                               int64_t batch_group_count);

Shape conv_output_shape(const ConvParams& p, const Shape& lhs, const Shape& rhs);
// With p.flip_kernel the rhs spatial strides are negative: the kernel then reads the rhs from
// element rhs_origin (the last one along every spatial axis).
kernels::ConvGeometry conv_geometry(const ConvParams& p, const Shape& lhs, const Shape& rhs, const Shape& out);
int64_t rhs_origin(const ConvParams& p, const Shape& rhs);

}  // namespace xlax::lax
