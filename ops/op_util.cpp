#include "ops/op_util.hpp"

#include <algorithm>

namespace xlax::ops {

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* function) {
  const size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    if (da != db && da != 1 && db != 1)
      throw Error(std::string(function) + ": shapes " + to_string(a) + " and " + to_string(b) +
                  " are not broadcastable (dimension " + std::to_string(i) + ": " + std::to_string(da) +
                  " vs " + std::to_string(db) + ")");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

Tensor unbroadcast(const Tensor& cot, const Shape& shape) {
  const Shape& cs = cot.shape();
  if (cs == shape) return cot;
  const size_t lead = cs.size() - shape.size();
  std::vector<int64_t> axes;
  for (size_t i = 0; i < cs.size(); ++i)
    if (i < lead || (shape[i - lead] == 1 && cs[i] != 1)) axes.push_back(static_cast<int64_t>(i));
  Tensor summed = axes.empty() ? cot : sum(cot, axes, false);
  return reshape(summed, shape);
}

int64_t normalize_axis(int64_t axis, int64_t ndim, const char* function, const char* parameter) {
  if (axis < -ndim || axis >= ndim)
    throw Error(std::string(function) + ": " + parameter + "=" + std::to_string(axis) +
                " is out of range for an array of rank " + std::to_string(ndim));
  return axis < 0 ? axis + ndim : axis;
}

std::vector<int64_t> normalize_axes(const std::vector<int64_t>& axes, int64_t ndim, const char* function,
                                    bool empty_means_all) {
  std::vector<int64_t> out;
  if (axes.empty() && empty_means_all) {
    for (int64_t i = 0; i < ndim; ++i) out.push_back(i);
    return out;
  }
  for (int64_t a : axes) out.push_back(normalize_axis(a, ndim, function, "axes"));
  std::sort(out.begin(), out.end());
  if (std::adjacent_find(out.begin(), out.end()) != out.end())
    throw Error(std::string(function) + ": axes contain a repeated axis");
  return out;
}

Shape keepdims_shape(const Shape& shape, const std::vector<int64_t>& axes) {
  Shape out = shape;
  for (int64_t a : axes) out[a] = 1;
  return out;
}

}  // namespace xlax::ops
