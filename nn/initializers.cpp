// Variance-scaling initializers (as jax.nn.initializers, but normal ones are untruncated).
#include <cmath>

#include "xlax/nn.hpp"

namespace xlax::nn {

const std::vector<std::string>& initializer_names() {
  static const std::vector<std::string> names{"zeros",         "ones",          "he_normal",    "he_uniform",
                                              "glorot_normal", "glorot_uniform", "lecun_normal", "lecun_uniform",
                                              "torch_uniform"};
  return names;
}

Initializer initializer(const std::string& name) {
  auto normal = [](double scale, bool use_fan_out) -> Initializer {
    return [=](const random::Key& k, const Shape& s, DType d, int64_t fan_in, int64_t fan_out) {
      const double fan = use_fan_out ? 0.5 * (fan_in + fan_out) : static_cast<double>(fan_in);
      return random::normal(k, s, d) * std::sqrt(scale / std::max(fan, 1.0));
    };
  };
  auto uniform = [](double scale, bool use_fan_out) -> Initializer {
    return [=](const random::Key& k, const Shape& s, DType d, int64_t fan_in, int64_t fan_out) {
      const double fan = use_fan_out ? 0.5 * (fan_in + fan_out) : static_cast<double>(fan_in);
      const double limit = std::sqrt(3 * scale / std::max(fan, 1.0));
      return random::uniform(k, s, d, -limit, limit);
    };
  };
  if (name == "zeros") return [](const random::Key&, const Shape& s, DType d, int64_t, int64_t) { return zeros(s, d); };
  if (name == "ones") return [](const random::Key&, const Shape& s, DType d, int64_t, int64_t) { return ones(s, d); };
  if (name == "he_normal") return normal(2, false);
  if (name == "he_uniform") return uniform(2, false);
  if (name == "glorot_normal") return normal(1, true);
  if (name == "glorot_uniform") return uniform(1, true);
  if (name == "lecun_normal") return normal(1, false);
  if (name == "lecun_uniform") return uniform(1, false);
  if (name == "torch_uniform") return uniform(1.0 / 3, false);  // PyTorch's default: U(+-1/sqrt(fan_in))
  std::string known;
  for (auto& n : initializer_names()) known += (known.empty() ? "" : ", ") + n;
  throw Error("initializer: unknown name '" + name + "' (known: " + known + ")");
}

}  // namespace xlax::nn
