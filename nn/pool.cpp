// MaxPool / AvgPool over the spatial dims of channels-last input, via lax::reduce_window.
#include "nn/layer_util.hpp"

namespace xlax::nn {
namespace {

class PoolLayer : public Layer {
 public:
  PoolLayer(bool is_max, Shape window, Shape strides, PaddingSpec padding)
      : is_max_(is_max), window_(std::move(window)), strides_(std::move(strides)), padding_(std::move(padding)) {
    if (window_.empty()) throw Error(type() + ": window_shape must have one entry per spatial dim");
    if (strides_.empty()) strides_ = window_;
    strides_ = detail::per_dim(strides_, window_.size(), 1, type(), "strides");
    for (size_t i = 0; i < window_.size(); ++i)
      if (window_[i] <= 0 || strides_[i] <= 0) throw Error(type() + ": window_shape and strides must be positive");
  }
  std::string type() const override { return is_max_ ? "MaxPool" : "AvgPool"; }
  detail::Pairs pads(const Shape& in) const {
    const size_t r = window_.size();
    if (in.size() != r + 2)
      detail::shape_error(type(), in, "expected rank " + std::to_string(r + 2) + " (batch, " + std::to_string(r) +
                                          " spatial dims, channels) for window_shape " + detail::shape_str(window_));
    return detail::resolve_padding(padding_, Shape(in.begin() + 1, in.end() - 1), window_, strides_, type());
  }
  Shape output_shape(const Shape& in) const override {
    detail::Pairs p = pads(in);
    Shape out{in[0]};
    for (size_t i = 0; i < window_.size(); ++i) {
      const int64_t o = detail::window_out(in[i + 1], p[i].first, p[i].second, window_[i], strides_[i]);
      if (o <= 0) detail::shape_error(type(), in, "spatial dim " + std::to_string(i) + " is smaller than the window");
      out.push_back(o);
    }
    out.push_back(in.back());
    return out;
  }
  Tensor apply(const std::vector<Tensor>&, const Tensor& x, Context&) const override {
    output_shape(x.shape());
    detail::Pairs p = pads(x.shape());
    p.insert(p.begin(), {0, 0});
    p.push_back({0, 0});
    Shape window{1}, strides{1};
    window.insert(window.end(), window_.begin(), window_.end());
    strides.insert(strides.end(), strides_.begin(), strides_.end());
    window.push_back(1);
    strides.push_back(1);
    Tensor y = lax::reduce_window(x, is_max_ ? lax::ReduceOp::max : lax::ReduceOp::sum, window, strides, lax::Padding(p));
    return is_max_ ? y : y / static_cast<double>(detail::product(window_));
  }
  std::string describe() const override {
    return type() + "(window_shape=" + detail::shape_str(window_) + ", strides=" + detail::shape_str(strides_) +
           ", padding=" + detail::padding_str(padding_) + ")";
  }

 private:
  bool is_max_;
  Shape window_, strides_;
  PaddingSpec padding_;
};

}  // namespace

LayerPtr MaxPool(Shape window, Shape strides, PaddingSpec padding) {
  return std::make_shared<PoolLayer>(true, std::move(window), std::move(strides), std::move(padding));
}
LayerPtr AvgPool(Shape window, Shape strides, PaddingSpec padding) {
  return std::make_shared<PoolLayer>(false, std::move(window), std::move(strides), std::move(padding));
}

}  // namespace xlax::nn
