// Flatten and Reshape: per-example reshapes that keep the batch dimension.
#include "nn/layer_util.hpp"

namespace xlax::nn {
namespace {

class ReshapeLayer : public Layer {
 public:
  ReshapeLayer(bool flatten, Shape shape) : flatten_(flatten), shape_(std::move(shape)) {
    int minus = 0;
    for (auto d : shape_) {
      if (d == -1) ++minus;
      else if (d < 0) throw Error("Reshape: shape entries must be >= 0 or -1");
    }
    if (minus > 1) throw Error("Reshape: at most one -1 is allowed in shape " + detail::shape_str(shape_));
  }
  std::string type() const override { return flatten_ ? "Flatten" : "Reshape"; }
  Shape output_shape(const Shape& in) const override {
    if (in.empty()) detail::shape_error(type(), in, "expected a batch dimension");
    const int64_t n = detail::product(in, 1);
    if (flatten_) return {in[0], n};
    Shape out{in[0]};
    int64_t known = 1, hole = -1;
    for (size_t i = 0; i < shape_.size(); ++i) {
      if (shape_[i] == -1) hole = static_cast<int64_t>(i);
      else known *= shape_[i];
      out.push_back(shape_[i]);
    }
    if (hole >= 0) {
      if (known == 0 || n % known) detail::shape_error(type(), in, "cannot reshape each example to " + detail::shape_str(shape_));
      out[hole + 1] = n / known;
    } else if (known != n) {
      detail::shape_error(type(), in, "each example has " + std::to_string(n) + " values, shape " +
                                          detail::shape_str(shape_) + " has " + std::to_string(known));
    }
    return out;
  }
  Tensor apply(const std::vector<Tensor>&, const Tensor& x, Context&) const override {
    return reshape(x, output_shape(x.shape()));
  }
  std::string describe() const override { return flatten_ ? "Flatten()" : "Reshape(shape=" + detail::shape_str(shape_) + ")"; }

 private:
  bool flatten_;
  Shape shape_;
};

}  // namespace

LayerPtr Flatten() { return std::make_shared<ReshapeLayer>(true, Shape{}); }
LayerPtr Reshape(Shape shape) { return std::make_shared<ReshapeLayer>(false, std::move(shape)); }

}  // namespace xlax::nn
