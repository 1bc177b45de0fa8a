// The layers graphs need to join and pass on values: Add and Concatenate (two or more
// inputs, no parameters) and Identity.
#include "nn/layer_util.hpp"

namespace xlax::nn {
namespace {

// A layer of two or more inputs; the one-input forms are errors.
class MergeLayer : public Layer {
 public:
  bool multi_input() const override { return true; }
  Shape output_shape(const Shape&) const override { throw one_input(); }
  Tensor apply(const std::vector<Tensor>&, const Tensor&, Context&) const override { throw one_input(); }
  std::vector<Tensor> init_multi(const random::Key&, const std::vector<Shape>& input_shapes, DType) const override {
    output_shape_multi(input_shapes);
    return {};
  }

 protected:
  Error one_input() const { return Error(type() + " takes 2 or more inputs, got 1"); }
  void require_inputs(size_t count) const {
    if (count < 2) throw Error(type() + " takes 2 or more inputs, got " + std::to_string(count));
  }
};

class AddLayer : public MergeLayer {
 public:
  std::string type() const override { return "Add"; }
  std::string describe() const override { return "Add()"; }
  Shape output_shape_multi(const std::vector<Shape>& in) const override {
    require_inputs(in.size());
    for (size_t k = 1; k < in.size(); ++k)
      if (in[k] != in[0])
        throw Error("Add: input " + std::to_string(k) + " has shape " + to_string(in[k]) + ", input 0 has " +
                    to_string(in[0]) + " (Add needs equal shapes; it does not broadcast)");
    return in[0];
  }
  Tensor apply_multi(const std::vector<Tensor>&, const std::vector<Tensor>& xs, Context&) const override {
    std::vector<Shape> shapes;
    for (auto& x : xs) shapes.push_back(x.shape());
    output_shape_multi(shapes);
    Tensor y = xs[0] + xs[1];
    for (size_t k = 2; k < xs.size(); ++k) y = y + xs[k];
    return y;
  }
};

class ConcatenateLayer : public MergeLayer {
 public:
  explicit ConcatenateLayer(int64_t axis) : axis_(axis) {
    if (axis == 0) throw Error("Concatenate: axis 0 is the batch dimension; join along another axis");
  }
  std::string type() const override { return "Concatenate"; }
  std::string describe() const override { return "Concatenate(axis=" + std::to_string(axis_) + ")"; }
  // The axis counted from 0 = batch, for inputs of this rank.
  int64_t axis_for(const Shape& s) const {
    const int64_t rank = static_cast<int64_t>(s.size());
    const int64_t a = axis_ < 0 ? axis_ + rank : axis_;
    if (a <= 0 || a >= rank)
      detail::shape_error("Concatenate", s, "axis " + std::to_string(axis_) + " is " +
                                                (a == 0 ? "the batch dimension" : "out of range") + " for rank " +
                                                std::to_string(rank));
    return a;
  }
  Shape output_shape_multi(const std::vector<Shape>& in) const override {
    require_inputs(in.size());
    const int64_t a = axis_for(in[0]);
    Shape out = in[0];
    for (size_t k = 1; k < in.size(); ++k) {
      bool fits = in[k].size() == in[0].size();
      for (size_t d = 0; fits && d < in[0].size(); ++d) fits = static_cast<int64_t>(d) == a || in[k][d] == in[0][d];
      if (!fits)
        throw Error("Concatenate: input " + std::to_string(k) + " has shape " + to_string(in[k]) + ", input 0 has " +
                    to_string(in[0]) + " (all dimensions but axis " + std::to_string(axis_) + " must agree)");
      out[a] += in[k][a];
    }
    return out;
  }
  Tensor apply_multi(const std::vector<Tensor>&, const std::vector<Tensor>& xs, Context&) const override {
    std::vector<Shape> shapes;
    for (auto& x : xs) shapes.push_back(x.shape());
    output_shape_multi(shapes);
    return concatenate(xs, axis_for(shapes[0]));
  }

 private:
  int64_t axis_;
};

class IdentityLayer : public Layer {
 public:
  std::string type() const override { return "Identity"; }
  std::string describe() const override { return "Identity()"; }
  Shape output_shape(const Shape& in) const override { return in; }
  Tensor apply(const std::vector<Tensor>&, const Tensor& x, Context&) const override { return x; }
};

}  // namespace

LayerPtr Add() { return std::make_shared<AddLayer>(); }
LayerPtr Concatenate(int64_t axis) { return std::make_shared<ConcatenateLayer>(axis); }
LayerPtr Identity() { return std::make_shared<IdentityLayer>(); }

}  // namespace xlax::nn
