// Sequential: a flat parameter list over the layers, named "<index>.<name>". Errors from a
// layer are re-raised naming its index, so config users can find the offending entry.
#include "nn/layer_util.hpp"

namespace xlax::nn {

Sequential::Sequential(std::vector<LayerPtr> layers) : layers_(std::move(layers)) {
  offsets_.push_back(0);
  for (size_t i = 0; i < layers_.size(); ++i) {
    if (!layers_[i]) throw Error("Sequential: layer " + std::to_string(i) + " is null");
    offsets_.push_back(offsets_.back() + layers_[i]->param_info().size());
  }
}

std::vector<ParamInfo> Sequential::param_info() const {
  std::vector<ParamInfo> out;
  for (size_t i = 0; i < layers_.size(); ++i)
    for (auto& p : layers_[i]->param_info()) out.push_back({std::to_string(i) + "." + p.name, p.trainable});
  return out;
}

namespace {
[[noreturn]] void rethrow_with_layer(size_t i, const Layer& layer, const Shape& in, const Error& e) {
  throw Error("layer " + std::to_string(i) + " (" + layer.type() + ") with inferred input shape " + to_string(in) +
              ": " + e.what());
}
}  // namespace

std::vector<Shape> Sequential::layer_output_shapes(const Shape& input_shape) const {
  std::vector<Shape> out;
  Shape s = input_shape;
  for (size_t i = 0; i < layers_.size(); ++i) {
    try {
      s = layers_[i]->output_shape(s);
    } catch (const Error& e) {
      rethrow_with_layer(i, *layers_[i], s, e);
    }
    out.push_back(s);
  }
  return out;
}

Shape Sequential::output_shape(const Shape& input_shape) const {
  auto shapes = layer_output_shapes(input_shape);
  return shapes.empty() ? input_shape : shapes.back();
}

std::vector<Tensor> Sequential::init(const random::Key& key, const Shape& input_shape, DType dtype) const {
  std::vector<Tensor> params;
  auto keys = random::split(key, static_cast<int>(layers_.size()) + 1);
  Shape s = input_shape;
  for (size_t i = 0; i < layers_.size(); ++i) {
    try {
      auto p = layers_[i]->init(keys[i], s, dtype);
      params.insert(params.end(), p.begin(), p.end());
      s = layers_[i]->output_shape(s);
    } catch (const Error& e) {
      rethrow_with_layer(i, *layers_[i], s, e);
    }
  }
  return params;
}

Tensor Sequential::apply(const std::vector<Tensor>& params, const Tensor& x, Context& ctx) const {
  if (params.size() != offsets_.back())
    throw Error("Sequential.apply: got " + std::to_string(params.size()) + " parameter tensors, the model has " +
                std::to_string(offsets_.back()));
  std::vector<random::Key> keys;
  if (ctx.train) keys = random::split(ctx.key, static_cast<int>(layers_.size()) + 1);
  Tensor y = x;
  for (size_t i = 0; i < layers_.size(); ++i) {
    Context sub = ctx;
    sub.scope = ctx.scope + std::to_string(i) + ".";
    if (ctx.train) sub.key = keys[i];
    std::vector<Tensor> p(params.begin() + offsets_[i], params.begin() + offsets_[i + 1]);
    try {
      y = layers_[i]->apply(p, y, sub);
    } catch (const Error& e) {
      rethrow_with_layer(i, *layers_[i], y.shape(), e);
    }
  }
  return y;
}

}  // namespace xlax::nn
