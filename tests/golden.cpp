#include "golden.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

using namespace xlax;

namespace golden {

std::vector<Case> load_cases() {
  std::vector<Case> cases;
  for (const auto& entry : std::filesystem::directory_iterator(std::string(XLAX_TEST_DATA) + "/golden")) {
    if (!entry.is_directory()) continue;
    std::ifstream f(entry.path() / "case.json");
    nlohmann::json j = nlohmann::json::parse(f);
    Case c;
    c.dir = entry.path().string();
    c.name = entry.path().filename().string();
    c.op = j.at("op");
    c.dtype = j.at("dtype");
    c.params = j.at("params");
    c.has_grads = j.value("has_grads", false);
    cases.push_back(c);
  }
  std::sort(cases.begin(), cases.end(), [](const Case& a, const Case& b) { return a.name < b.name; });
  return cases;
}

namespace {
std::vector<int64_t> ints(const nlohmann::json& j) {
  if (j.is_null()) return {};
  return j.get<std::vector<int64_t>>();
}
lax::Padding padding(const nlohmann::json& j) {
  if (j.is_string()) return lax::Padding(j.get<std::string>());
  std::vector<std::pair<int64_t, int64_t>> pairs;
  for (const auto& p : j) pairs.emplace_back(p[0].get<int64_t>(), p[1].get<int64_t>());
  return lax::Padding(pairs);
}
lax::DimensionNumbers dimension_numbers(const nlohmann::json& j) {
  if (j.is_null()) return {};
  return lax::DimensionNumbers(j[0].get<std::string>(), j[1].get<std::string>(), j[2].get<std::string>());
}
}  // namespace

Tensor run_op(const Case& c, const Tensor& lhs, const Tensor& rhs) {
  const auto& p = c.params;
  if (c.op == "lax.conv_general_dilated")
    return lax::conv_general_dilated(lhs, rhs, ints(p.at("window_strides")), padding(p.at("padding")),
                                     ints(p.value("lhs_dilation", nlohmann::json())),
                                     ints(p.value("rhs_dilation", nlohmann::json())),
                                     dimension_numbers(p.value("dimension_numbers", nlohmann::json())),
                                     p.value("feature_group_count", 1), p.value("batch_group_count", 1));
  if (c.op == "lax.conv_transpose")
    return lax::conv_transpose(lhs, rhs, ints(p.at("strides")), padding(p.at("padding")),
                               ints(p.value("rhs_dilation", nlohmann::json())),
                               dimension_numbers(p.value("dimension_numbers", nlohmann::json())),
                               p.value("transpose_kernel", false), p.value("use_consistent_padding", false));
  const std::string mode = p.value("mode", std::string());
  if (c.op == "numpy.convolve") return numpy::convolve(lhs, rhs, mode);
  if (c.op == "numpy.correlate") return numpy::correlate(lhs, rhs, mode);
  if (c.op == "scipy.signal.convolve") return scipy::signal::convolve(lhs, rhs, mode);
  if (c.op == "scipy.signal.correlate") return scipy::signal::correlate(lhs, rhs, mode);
  if (c.op == "scipy.signal.convolve2d")
    return scipy::signal::convolve2d(lhs, rhs, mode, p.value("boundary", std::string("fill")), p.value("fillvalue", 0.0));
  if (c.op == "scipy.signal.correlate2d")
    return scipy::signal::correlate2d(lhs, rhs, mode, p.value("boundary", std::string("fill")), p.value("fillvalue", 0.0));
  throw std::runtime_error("unknown golden op " + c.op);
}

double relative_error(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape()) return INFINITY;
  auto va = to_vector<double>(a), vb = to_vector<double>(b);
  double diff = 0, scale = 1e-300;
  for (size_t i = 0; i < va.size(); ++i) {
    diff = std::max(diff, std::abs(va[i] - vb[i]));
    scale = std::max(scale, std::abs(vb[i]));
  }
  if (!(diff == diff)) return INFINITY;
  return diff / scale;
}

}  // namespace golden
