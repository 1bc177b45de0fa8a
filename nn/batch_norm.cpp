// BatchNorm over all axes but the last (features). Train mode normalises with the batch
// statistics and reports new running statistics through the context; eval mode uses them.
#include "nn/layer_util.hpp"

namespace xlax::nn {
namespace {

class BatchNormLayer : public Layer {
 public:
  BatchNormLayer(double momentum, double epsilon) : momentum_(momentum), epsilon_(epsilon) {
    if (!(momentum >= 0 && momentum <= 1)) throw Error("BatchNorm: momentum must be in [0, 1]");
    if (!(epsilon > 0)) throw Error("BatchNorm: epsilon must be positive");
  }
  std::string type() const override { return "BatchNorm"; }
  std::vector<ParamInfo> param_info() const override {
    return {{"scale", true}, {"bias", true}, {"mean", false}, {"var", false}};
  }
  Shape output_shape(const Shape& in) const override {
    if (in.size() < 2) detail::shape_error("BatchNorm", in, "expected rank >= 2 (batch, ..., features)");
    return in;
  }
  std::vector<Tensor> init(const random::Key&, const Shape& in, DType dtype) const override {
    output_shape(in);
    const Shape c{in.back()};
    return {ones(c, dtype), zeros(c, dtype), zeros(c, dtype), ones(c, dtype)};
  }
  Tensor apply(const std::vector<Tensor>& p, const Tensor& x, Context& ctx) const override {
    output_shape(x.shape());
    Tensor mean_ = p.at(2), var_ = p.at(3);
    if (ctx.train) {
      std::vector<int64_t> axes;
      for (int64_t i = 0; i + 1 < x.ndim(); ++i) axes.push_back(i);
      mean_ = mean(x, axes);
      var_ = mean(square(x - mean_), axes);
      if (ctx.updates) {
        (*ctx.updates)[ctx.scope + "mean"] = momentum_ * p.at(2) + (1 - momentum_) * stop_gradient(mean_);
        (*ctx.updates)[ctx.scope + "var"] = momentum_ * p.at(3) + (1 - momentum_) * stop_gradient(var_);
      }
    }
    return (x - mean_) * (p.at(0) / sqrt(var_ + epsilon_)) + p.at(1);
  }
  std::string describe() const override {
    return "BatchNorm(momentum=" + detail::number_str(momentum_) + ", epsilon=" + detail::number_str(epsilon_) + ")";
  }

 private:
  double momentum_, epsilon_;
};

}  // namespace

LayerPtr BatchNorm(double momentum, double epsilon) { return std::make_shared<BatchNormLayer>(momentum, epsilon); }

}  // namespace xlax::nn
