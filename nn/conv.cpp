// Conv and ConvTranspose layers, channels-last, on lax::conv_general_dilated with explicit
// pads (so the layer, not the primitive, owns the SAME/VALID rules and the shape errors).
#include <sstream>

#include "nn/layer_util.hpp"

namespace xlax::nn {
namespace {
using detail::Pairs;

// The geometry both layers share once the input shape is known.
struct Geometry {
  size_t rank = 0;
  Shape kernel, strides, lhs_dil, rhs_dil, out;
  Pairs pads;
  int64_t in_features = 0;
};

std::string join(const Shape& s) { return detail::shape_str(s); }

// Kernel (and bias) of Conv and ConvTranspose: fan-in and fan-out count the receptive field.
template <class Options>
std::vector<Tensor> init_kernel_and_bias(const Geometry& g, const Options& o, const detail::ConvLayout& layout,
                                         const random::Key& key, DType dtype) {
  const int64_t in_per_group = g.in_features / o.feature_group_count, rf = detail::product(g.kernel);
  const Shape kshape = layout.kernel_shape(g.kernel, in_per_group, o.features);
  auto keys = random::split(key, 2);
  std::vector<Tensor> p{initializer(o.kernel_init)(keys[0], kshape, dtype, rf * in_per_group, rf * o.features)};
  if (o.use_bias) p.push_back(initializer(o.bias_init)(keys[1], {o.features}, dtype, rf * in_per_group, o.features));
  return p;
}

class ConvLayer : public Layer {
 public:
  explicit ConvLayer(ConvOptions o) : o_(std::move(o)), layout_(o_.dimension_numbers, o_.kernel_size.size(), "Conv") {
    const std::string n = "Conv";
    if (o_.kernel_size.empty()) throw Error("Conv: kernel_size must have one entry per spatial dim (1 to 3)");
    if (o_.features <= 0) throw Error("Conv: features=" + std::to_string(o_.features) + " must be positive");
    if (o_.feature_group_count <= 0) throw Error("Conv: feature_group_count must be positive");
    if (o_.features % o_.feature_group_count)
      throw Error("Conv: feature_group_count=" + std::to_string(o_.feature_group_count) +
                  " must divide features=" + std::to_string(o_.features));
    const size_t r = o_.kernel_size.size();
    o_.strides = detail::per_dim(o_.strides, r, 1, n, "strides");
    o_.input_dilation = detail::per_dim(o_.input_dilation, r, 1, n, "input_dilation");
    o_.kernel_dilation = detail::per_dim(o_.kernel_dilation, r, 1, n, "kernel_dilation");
    for (size_t i = 0; i < r; ++i)
      if (o_.kernel_size[i] <= 0 || o_.strides[i] <= 0 || o_.input_dilation[i] <= 0 || o_.kernel_dilation[i] <= 0)
        throw Error("Conv: kernel_size, strides and dilations must be positive");
    initializer(o_.kernel_init);
    initializer(o_.bias_init);
  }
  std::string type() const override { return "Conv"; }
  std::vector<ParamInfo> param_info() const override {
    if (o_.use_bias) return {{"kernel", true}, {"bias", true}};
    return {{"kernel", true}};
  }
  Geometry geometry(const Shape& actual_in) const {
    Geometry g;
    g.rank = o_.kernel_size.size();
    const Shape in = layout_.canonical_input(actual_in);
    if (in.size() != g.rank + 2)
      detail::shape_error("Conv", actual_in, "expected rank " + std::to_string(g.rank + 2) + " (batch, " +
                                          std::to_string(g.rank) + " spatial dims, channels) for kernel_size " +
                                          join(o_.kernel_size));
    g.in_features = in.back();
    if (g.in_features % o_.feature_group_count)
      detail::shape_error("Conv", actual_in, "feature_group_count=" + std::to_string(o_.feature_group_count) +
                                          " must divide the input channels (" + std::to_string(g.in_features) + ")");
    g.kernel = o_.kernel_size;
    g.strides = o_.strides;
    g.lhs_dil = o_.input_dilation;
    g.rhs_dil = o_.kernel_dilation;
    Shape dil_in(g.rank), dil_k(g.rank);
    for (size_t i = 0; i < g.rank; ++i) {
      dil_in[i] = in[i + 1] == 0 ? 0 : (in[i + 1] - 1) * g.lhs_dil[i] + 1;
      dil_k[i] = (g.kernel[i] - 1) * g.rhs_dil[i] + 1;
    }
    g.pads = detail::resolve_padding(o_.padding, dil_in, dil_k, g.strides, "Conv");
    g.out = {in[0]};
    for (size_t i = 0; i < g.rank; ++i) {
      const int64_t o = detail::window_out(dil_in[i], g.pads[i].first, g.pads[i].second, dil_k[i], g.strides[i]);
      if (o <= 0)
        detail::shape_error("Conv", actual_in, "spatial dim " + std::to_string(i) + " is too small for the (dilated) kernel " +
                                            std::to_string(dil_k[i]) + " with padding " + detail::padding_str(o_.padding));
      g.out.push_back(o);
    }
    g.out.push_back(o_.features);
    g.out = layout_.actual_output(g.out);
    return g;
  }
  Shape output_shape(const Shape& in) const override { return geometry(in).out; }
  std::vector<Tensor> init(const random::Key& key, const Shape& in, DType dtype) const override {
    return init_kernel_and_bias(geometry(in), o_, layout_, key, dtype);
  }
  Tensor apply(const std::vector<Tensor>& params, const Tensor& x, Context&) const override {
    Geometry g = geometry(x.shape());
    Tensor y = lax::conv_general_dilated(x, params.at(0), g.strides, lax::Padding(g.pads), g.lhs_dil, g.rhs_dil,
                                         layout_.dimension_numbers(), o_.feature_group_count);
    return o_.use_bias ? layout_.add_bias(y, params.at(1)) : y;
  }
  std::string describe() const override {
    std::ostringstream os;
    os << "Conv(features=" << o_.features << ", kernel_size=" << join(o_.kernel_size);
    if (detail::product(o_.strides) != 1) os << ", strides=" << join(o_.strides);
    os << ", padding=" << detail::padding_str(o_.padding);
    if (detail::product(o_.input_dilation) != 1) os << ", input_dilation=" << join(o_.input_dilation);
    if (detail::product(o_.kernel_dilation) != 1) os << ", kernel_dilation=" << join(o_.kernel_dilation);
    if (o_.feature_group_count != 1) os << ", feature_group_count=" << o_.feature_group_count;
    if (!o_.use_bias) os << ", use_bias=false";
    if (!layout_.channels_last()) os << ", dimension_numbers=" << layout_.str();
    return os.str() + ")";
  }

 private:
  ConvOptions o_;
  detail::ConvLayout layout_;
};

// As lax.conv_transpose: a conv over the stride-dilated input with pads from
// _conv_transpose_padding (SAME gives in * stride), plus PyTorch's output_padding on the high side.
class ConvTransposeLayer : public Layer {
 public:
  explicit ConvTransposeLayer(ConvTransposeOptions o)
      : o_(std::move(o)), layout_(o_.dimension_numbers, o_.kernel_size.size(), "ConvTranspose") {
    const std::string n = "ConvTranspose";
    if (o_.kernel_size.empty()) throw Error("ConvTranspose: kernel_size must have one entry per spatial dim");
    if (o_.features <= 0) throw Error("ConvTranspose: features=" + std::to_string(o_.features) + " must be positive");
    if (o_.feature_group_count <= 0 || o_.features % o_.feature_group_count)
      throw Error("ConvTranspose: feature_group_count=" + std::to_string(o_.feature_group_count) +
                  " must be positive and divide features=" + std::to_string(o_.features));
    const size_t r = o_.kernel_size.size();
    o_.strides = detail::per_dim(o_.strides, r, 1, n, "strides");
    o_.kernel_dilation = detail::per_dim(o_.kernel_dilation, r, 1, n, "kernel_dilation");
    o_.output_padding = detail::per_dim(o_.output_padding, r, 0, n, "output_padding");
    for (size_t i = 0; i < r; ++i) {
      if (o_.kernel_size[i] <= 0 || o_.strides[i] <= 0 || o_.kernel_dilation[i] <= 0)
        throw Error("ConvTranspose: kernel_size, strides and kernel_dilation must be positive");
      if (o_.output_padding[i] < 0 || o_.output_padding[i] >= std::max(o_.strides[i], o_.kernel_dilation[i]))
        throw Error("ConvTranspose: output_padding=" + join(o_.output_padding) +
                    " must be >= 0 and smaller than the stride or the kernel dilation (as PyTorch)");
    }
    initializer(o_.kernel_init);
    initializer(o_.bias_init);
  }
  std::string type() const override { return "ConvTranspose"; }
  std::vector<ParamInfo> param_info() const override {
    if (o_.use_bias) return {{"kernel", true}, {"bias", true}};
    return {{"kernel", true}};
  }
  Geometry geometry(const Shape& actual_in) const {
    Geometry g;
    g.rank = o_.kernel_size.size();
    const Shape in = layout_.canonical_input(actual_in);
    if (in.size() != g.rank + 2)
      detail::shape_error("ConvTranspose", actual_in, "expected rank " + std::to_string(g.rank + 2) +
                                                   " (batch, spatial dims, channels) for kernel_size " +
                                                   join(o_.kernel_size));
    g.in_features = in.back();
    if (g.in_features % o_.feature_group_count)
      detail::shape_error("ConvTranspose", actual_in, "feature_group_count=" + std::to_string(o_.feature_group_count) +
                                                   " must divide the input channels (" + std::to_string(g.in_features) + ")");
    g.kernel = o_.kernel_size;
    g.strides = Shape(g.rank, 1);
    g.lhs_dil = o_.strides;
    g.rhs_dil = o_.kernel_dilation;
    g.out = {in[0]};
    std::string mode;
    if (o_.padding.is_string()) {
      for (char c : o_.padding.mode()) mode += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      if (mode != "SAME" && mode != "VALID")
        throw Error("ConvTranspose: padding '" + o_.padding.mode() + "' is not SAME, VALID or a list of (lo, hi) pairs");
    } else {
      g.pads = detail::resolve_padding(o_.padding, Shape(g.rank, 1), g.kernel, g.strides, "ConvTranspose");
    }
    for (size_t i = 0; i < g.rank; ++i) {
      const int64_t k = (g.kernel[i] - 1) * g.rhs_dil[i] + 1, s = o_.strides[i];
      if (!mode.empty()) {
        const int64_t len = mode == "SAME" ? k + s - 2 : k + s - 2 + std::max<int64_t>(k - s, 0);
        const int64_t a = mode == "VALID" || s > k - 1 ? k - 1 : (len + 1) / 2;
        g.pads.push_back({a, len - a});
      }
      g.pads[i].second += o_.output_padding[i];
      const int64_t dil_in = in[i + 1] == 0 ? 0 : (in[i + 1] - 1) * s + 1;
      const int64_t o = detail::window_out(dil_in, g.pads[i].first, g.pads[i].second, k, 1);
      if (o <= 0)
        detail::shape_error("ConvTranspose", actual_in, "spatial dim " + std::to_string(i) + " gives no output with padding " +
                                                     detail::padding_str(o_.padding));
      g.out.push_back(o);
    }
    g.out.push_back(o_.features);
    g.out = layout_.actual_output(g.out);
    return g;
  }
  Shape output_shape(const Shape& in) const override { return geometry(in).out; }
  std::vector<Tensor> init(const random::Key& key, const Shape& in, DType dtype) const override {
    return init_kernel_and_bias(geometry(in), o_, layout_, key, dtype);
  }
  Tensor apply(const std::vector<Tensor>& params, const Tensor& x, Context&) const override {
    Geometry g = geometry(x.shape());
    Tensor kernel = params.at(0);
    if (o_.transpose_kernel) {
      std::vector<int64_t> spatial;  // every kernel axis but I and O
      const Shape marks = layout_.kernel_shape(Shape(g.rank, 1), 0, 0);
      for (size_t i = 0; i < marks.size(); ++i)
        if (marks[i] == 1) spatial.push_back(static_cast<int64_t>(i));
      kernel = lax::rev(kernel, spatial);
    }
    Tensor y = lax::conv_general_dilated(x, kernel, g.strides, lax::Padding(g.pads), g.lhs_dil, g.rhs_dil,
                                         layout_.dimension_numbers(), o_.feature_group_count);
    return o_.use_bias ? layout_.add_bias(y, params.at(1)) : y;
  }
  std::string describe() const override {
    std::ostringstream os;
    os << "ConvTranspose(features=" << o_.features << ", kernel_size=" << join(o_.kernel_size)
       << ", strides=" << join(o_.strides) << ", padding=" << detail::padding_str(o_.padding);
    if (detail::product(o_.output_padding) != 0 || o_.output_padding.size() > 0) {
      bool any = false;
      for (auto v : o_.output_padding) any = any || v;
      if (any) os << ", output_padding=" << join(o_.output_padding);
    }
    if (o_.feature_group_count != 1) os << ", feature_group_count=" << o_.feature_group_count;
    if (!layout_.channels_last()) os << ", dimension_numbers=" << layout_.str();
    return os.str() + ")";
  }

 private:
  ConvTransposeOptions o_;
  detail::ConvLayout layout_;
};

}  // namespace

LayerPtr Conv(ConvOptions o) { return std::make_shared<ConvLayer>(std::move(o)); }
LayerPtr ConvTranspose(ConvTransposeOptions o) { return std::make_shared<ConvTransposeLayer>(std::move(o)); }

}  // namespace xlax::nn
