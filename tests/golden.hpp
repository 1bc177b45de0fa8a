// Loading and running the golden convolution cases of tests/data/golden (format in its README).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>
#include <xlax/xlax.hpp>

namespace golden {

struct Case {
  std::string dir, name, op, dtype;
  nlohmann::json params;
  bool has_grads = false;
};

std::vector<Case> load_cases();
// Calls the op of the case on (lhs, rhs) with its params.
xlax::Tensor run_op(const Case& c, const xlax::Tensor& lhs, const xlax::Tensor& rhs);
// max |a - b| / max(max |b|, tiny)
double relative_error(const xlax::Tensor& a, const xlax::Tensor& b);

}  // namespace golden
