// Parameter-free elementwise layers: activations and Dropout.
#include <cmath>

#include "nn/layer_util.hpp"

namespace xlax::nn {
namespace {

class ActivationLayer : public Layer {
 public:
  ActivationLayer(std::string name, double slope) : name_(std::move(name)), slope_(slope) {
    bool known = false;
    for (auto& n : activation_names()) known = known || n == name_;
    if (!known) {
      std::string all;
      for (auto& n : activation_names()) all += (all.empty() ? "" : ", ") + n;
      throw Error("Activation: unknown activation '" + name_ + "' (known: " + all + ")");
    }
  }
  std::string type() const override { return name_; }
  Shape output_shape(const Shape& in) const override {
    if ((name_ == "softmax" || name_ == "log_softmax") && in.empty())
      detail::shape_error(name_, in, "needs at least one axis");
    return in;
  }
  Tensor apply(const std::vector<Tensor>&, const Tensor& x, Context&) const override {
    if (name_ == "relu") return relu(x);
    if (name_ == "leaky_relu") return where(x >= 0.0, x, x * slope_);
    if (name_ == "gelu") {  // tanh approximation (Flax's default approximate=True)
      const double c = std::sqrt(2.0 / M_PI);
      return 0.5 * x * (1.0 + tanh(c * (x + 0.044715 * x * x * x)));
    }
    if (name_ == "tanh") return tanh(x);
    if (name_ == "sigmoid") return logistic(x);
    const int64_t last = x.ndim() - 1;
    if (name_ == "log_softmax") return x - logsumexp(x, {last}, true);
    // softmax: shift by the (constant) max for stability; the shift does not change the value.
    Tensor e = exp(x - stop_gradient(max(x, {last}, true)));
    return e / sum(e, {last}, true);
  }
  std::string describe() const override {
    return name_ == "leaky_relu" ? "leaky_relu(negative_slope=" + detail::number_str(slope_) + ")" : name_;
  }

 private:
  std::string name_;
  double slope_;
};

// Inverted dropout: kept units are scaled by 1/(1-rate) in training; identity in eval.
class DropoutLayer : public Layer {
 public:
  explicit DropoutLayer(double rate) : rate_(rate) {
    if (!(rate >= 0 && rate < 1)) throw Error("Dropout: rate=" + detail::number_str(rate) + " must be in [0, 1)");
  }
  std::string type() const override { return "Dropout"; }
  Shape output_shape(const Shape& in) const override { return in; }
  Tensor apply(const std::vector<Tensor>&, const Tensor& x, Context& ctx) const override {
    if (!ctx.train || rate_ == 0) return x;
    Tensor keep = random::bernoulli(ctx.key, 1 - rate_, x.shape());
    return where(keep, x / (1 - rate_), 0.0);
  }
  std::string describe() const override { return "Dropout(rate=" + detail::number_str(rate_) + ")"; }

 private:
  double rate_;
};

}  // namespace

const std::vector<std::string>& activation_names() {
  static const std::vector<std::string> names{"relu", "leaky_relu", "gelu", "tanh", "sigmoid", "softmax", "log_softmax"};
  return names;
}

LayerPtr Activation(const std::string& name, double slope) { return std::make_shared<ActivationLayer>(name, slope); }
LayerPtr Dropout(double rate) { return std::make_shared<DropoutLayer>(rate); }

}  // namespace xlax::nn
