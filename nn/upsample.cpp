// Upsample: nearest-neighbour upsampling of channels-last input, as a reshape that gives
// each spatial dim a unit axis, a broadcast of that axis to the scale and a reshape back
// (one copy; the gradient is broadcast_to's, a sum over each block).
#include "nn/layer_util.hpp"

namespace xlax::nn {
namespace {

class UpsampleLayer : public Layer {
 public:
  explicit UpsampleLayer(Shape scale) : scale_(std::move(scale)) {
    if (scale_.empty()) throw Error("Upsample: scale needs one value or one per spatial dim");
    for (auto s : scale_)
      if (s < 1) throw Error("Upsample: scale " + detail::shape_str(scale_) + " must be >= 1");
  }
  std::string type() const override { return "Upsample"; }
  std::string describe() const override { return "Upsample(scale=" + detail::shape_str(scale_) + ")"; }
  Shape scales(const Shape& in) const {
    if (in.size() < 3) detail::shape_error("Upsample", in, "expected (batch, spatial..., channels)");
    try {
      return detail::per_dim(scale_, in.size() - 2, 1, "Upsample", "scale");
    } catch (const Error& e) {
      detail::shape_error("Upsample", in, e.what());
    }
  }
  Shape output_shape(const Shape& in) const override {
    const Shape s = scales(in);
    Shape out = in;
    for (size_t d = 0; d < s.size(); ++d) out[d + 1] *= s[d];
    return out;
  }
  Tensor apply(const std::vector<Tensor>&, const Tensor& x, Context&) const override {
    const Shape s = scales(x.shape());
    Shape unit{x.shape()[0]}, blocks{x.shape()[0]};
    for (size_t d = 0; d < s.size(); ++d) {
      unit.insert(unit.end(), {x.shape()[d + 1], 1});
      blocks.insert(blocks.end(), {x.shape()[d + 1], s[d]});
    }
    unit.push_back(x.shape().back());
    blocks.push_back(x.shape().back());
    if (unit == blocks) return x;
    return reshape(broadcast_to(reshape(x, unit), blocks), output_shape(x.shape()));
  }

 private:
  Shape scale_;
};

}  // namespace

LayerPtr Upsample(Shape scale) { return std::make_shared<UpsampleLayer>(std::move(scale)); }

}  // namespace xlax::nn
