// Helpers shared by the nn tests.
#pragma once

#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>
#include <xlax/xlax.hpp>

namespace nn_test {
namespace fs = std::filesystem;
using xlax::Shape;
using xlax::Tensor;

inline Tensor f64(std::vector<double> v, Shape s) { return xlax::asarray<double>(v.data(), s); }
inline std::vector<double> vals(const Tensor& t) { return xlax::to_vector<double>(t); }
inline Tensor rnd(Shape s, uint64_t seed) { return xlax::random::normal(xlax::random::key(seed), s, xlax::DType::float64); }
inline Tensor apply(const xlax::nn::LayerPtr& layer, const std::vector<Tensor>& p, const Tensor& x, bool train = false) {
  xlax::nn::Context ctx;
  ctx.train = train;
  return layer->apply(p, x, ctx);
}

// An empty folder of its own under the system temp dir: <tmp>/xlax_test_nn_<pid>_<name>.
inline std::string temp_dir(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("xlax_test_nn_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

// A config edit and the message its parse error must contain.
struct ConfigErrorCase {
  std::function<void(nlohmann::json&)> edit;
  std::string expected;
};
// Each edit of `base` must make parse_config throw an xlax::Error containing its message.
inline void check_config_errors(const nlohmann::json& base, const std::vector<ConfigErrorCase>& cases) {
  for (size_t i = 0; i < cases.size(); ++i) {
    INFO("case " << i << ": " << cases[i].expected);
    nlohmann::json j = base;
    cases[i].edit(j);
    bool threw = false;
    try {
      xlax::nn::parse_config(j.dump());
    } catch (const xlax::Error& e) {
      threw = true;
      CHECK_THAT(std::string(e.what()), Catch::Matchers::Contains(cases[i].expected));
    }
    CHECK(threw);
  }
}
}  // namespace nn_test
