// Internal helpers shared by the op implementations: argument checks and shape rules.
#pragma once

#include <string>
#include <vector>

#include "core/graph.hpp"

namespace xlax::ops {

// NumPy broadcasting of two shapes; throws Error naming `function` if incompatible.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* function);

// Sums `cot` (of a broadcast shape) back down to `shape` (the inverse of broadcast_to).
Tensor unbroadcast(const Tensor& cot, const Shape& shape);

// Normalises an axis (negative counts from the end); throws Error naming the function.
int64_t normalize_axis(int64_t axis, int64_t ndim, const char* function, const char* parameter = "axis");
// Sorted, unique, normalised axes; {} means all axes when `empty_means_all`.
std::vector<int64_t> normalize_axes(const std::vector<int64_t>& axes, int64_t ndim, const char* function,
                                    bool empty_means_all = true);

// Shape with the reduced axes kept as size 1.
Shape keepdims_shape(const Shape& shape, const std::vector<int64_t>& axes);

}  // namespace xlax::ops
