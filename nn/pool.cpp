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
    const Shape out = output_shape(x.shape());
    detail::Pairs p = pads(x.shape());
    bool tiled = true;  // non-overlapping windows without padding
    for (size_t i = 0; i < window_.size(); ++i) tiled = tiled && window_[i] == strides_[i] && p[i] == std::make_pair<int64_t, int64_t>(0, 0);
    if (tiled) return tiled_pool(x, out);
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
  // Non-overlapping windows as a reshape to (N, out0, w0, out1, w1, ..., C) and a reduction
  // over the window axes: far cheaper than reduce_window and its scatter gradient. A tie
  // inside a max window shares the gradient (a valid subgradient) instead of picking one.
  Tensor tiled_pool(const Tensor& x, const Shape& out) const {
    Tensor v = x;
    Shape limit = x.shape();
    bool crop = false;
    for (size_t i = 0; i < window_.size(); ++i) {
      crop = crop || limit[i + 1] != out[i + 1] * window_[i];
      limit[i + 1] = out[i + 1] * window_[i];
    }
    if (crop) v = lax::slice(v, Shape(x.ndim(), 0), limit);
    Shape split{x.shape()[0]};
    std::vector<int64_t> axes;
    for (size_t i = 0; i < window_.size(); ++i) {
      split.push_back(out[i + 1]);
      axes.push_back(static_cast<int64_t>(split.size()));
      split.push_back(window_[i]);
    }
    split.push_back(x.shape().back());
    v = reshape(v, split);
    return is_max_ ? max(v, axes) : mean(v, axes);
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

namespace xlax::nn {
namespace {

// GlobalAvgPool / GlobalMaxPool: one reduction over every spatial dim, (N, spatial..., C) -> (N, C).
class GlobalPoolLayer : public Layer {
 public:
  explicit GlobalPoolLayer(bool is_max) : is_max_(is_max) {}
  std::string type() const override { return is_max_ ? "GlobalMaxPool" : "GlobalAvgPool"; }
  std::string describe() const override { return type() + "()"; }
  Shape output_shape(const Shape& in) const override {
    if (in.size() < 3) detail::shape_error(type(), in, "expected (batch, spatial..., channels), rank >= 3");
    for (size_t d = 1; d + 1 < in.size(); ++d)
      if (in[d] == 0) detail::shape_error(type(), in, "spatial dims must not be empty");
    return {in.front(), in.back()};
  }
  Tensor apply(const std::vector<Tensor>&, const Tensor& x, Context&) const override {
    output_shape(x.shape());
    std::vector<int64_t> axes;
    for (int64_t d = 1; d + 1 < x.ndim(); ++d) axes.push_back(d);
    return is_max_ ? max(x, axes) : mean(x, axes);
  }

 private:
  bool is_max_;
};

}  // namespace

LayerPtr GlobalAvgPool() { return std::make_shared<GlobalPoolLayer>(false); }
LayerPtr GlobalMaxPool() { return std::make_shared<GlobalPoolLayer>(true); }

}  // namespace xlax::nn
