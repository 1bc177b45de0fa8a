// Dense: y = x @ kernel + bias over the last axis (kernel (in, features), as Flax).
#include <sstream>

#include "nn/layer_util.hpp"

namespace xlax::nn {
namespace {

class DenseLayer : public Layer {
 public:
  DenseLayer(int64_t features, bool use_bias, std::string kernel_init, std::string bias_init)
      : features_(features), use_bias_(use_bias), kernel_init_(std::move(kernel_init)), bias_init_(std::move(bias_init)) {
    if (features <= 0) throw Error("Dense: features=" + std::to_string(features) + " must be positive");
    initializer(kernel_init_);
    initializer(bias_init_);
  }
  std::string type() const override { return "Dense"; }
  std::vector<ParamInfo> param_info() const override {
    if (use_bias_) return {{"kernel", true}, {"bias", true}};
    return {{"kernel", true}};
  }
  Shape output_shape(const Shape& in) const override {
    if (in.size() < 2) detail::shape_error("Dense", in, "expected rank >= 2 (batch, ..., features)");
    Shape out = in;
    out.back() = features_;
    return out;
  }
  std::vector<Tensor> init(const random::Key& key, const Shape& in, DType dtype) const override {
    output_shape(in);
    auto keys = random::split(key, 2);
    std::vector<Tensor> p{initializer(kernel_init_)(keys[0], {in.back(), features_}, dtype, in.back(), features_)};
    if (use_bias_) p.push_back(initializer(bias_init_)(keys[1], {features_}, dtype, in.back(), features_));
    return p;
  }
  Tensor apply(const std::vector<Tensor>& params, const Tensor& x, Context&) const override {
    output_shape(x.shape());
    const int64_t last = x.ndim() - 1;
    Tensor y = x.ndim() == 2 ? matmul(x, params.at(0)) : lax::dot_general(x, params.at(0), {{last}, {0}, {}, {}});
    return use_bias_ ? detail::add_bias(y, params.at(1)) : y;
  }
  std::string describe() const override {
    return "Dense(features=" + std::to_string(features_) + (use_bias_ ? "" : ", use_bias=false") + ")";
  }

 private:
  int64_t features_;
  bool use_bias_;
  std::string kernel_init_, bias_init_;
};

}  // namespace

LayerPtr Dense(int64_t features, bool use_bias, const std::string& kernel_init, const std::string& bias_init) {
  return std::make_shared<DenseLayer>(features, use_bias, kernel_init, bias_init);
}

}  // namespace xlax::nn
