// Internal helpers shared by the nn/ layer files.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "xlax/nn.hpp"

namespace xlax::nn::detail {

using Pairs = std::vector<std::pair<int64_t, int64_t>>;

// A Graph's error: the node (-1 = the graph as a whole), its label ("Add 'block1_add'"), the
// field at fault ("name", "inputs", "output"; "" = a shape error of the node) and the rule.
// what() reads on its own; the config parser rebuilds it as a JSON path.
struct GraphError : Error {
  GraphError(int64_t node, std::string label, std::string field, std::string rule);
  int64_t node;
  std::string label, field, rule;
};

[[noreturn]] void shape_error(const std::string& layer, const Shape& input, const std::string& rule);
// Expands a per-dim option ({} = fill, one value = broadcast) to `rank` values.
Shape per_dim(const Shape& v, size_t rank, int64_t fill, const std::string& layer, const char* option);
std::string shape_str(const Shape& s);   // "(3, 3)", "(3,)"
std::string number_str(double v);        // shortest of %g
int64_t product(const Shape& s, size_t begin = 0, size_t end = SIZE_MAX);
// Explicit (lo, hi) pads of a window op for the SAME/SAME_LOWER/VALID rules of docs/conv_semantics.md §1.6,
// computed on `in` (already lhs-dilated if the caller wants that) and the dilated window.
Pairs resolve_padding(const PaddingSpec& p, const Shape& in, const Shape& window, const Shape& strides,
                      const std::string& layer);
std::string padding_str(const PaddingSpec& p);
// Output size of a window op on `in` (already dilated) with explicit pads.
int64_t window_out(int64_t in, int64_t lo, int64_t hi, int64_t window, int64_t stride);
// The conv dimension numbers for rank-r spatial channels-last data with an (spatial..., I, O) kernel.
lax::DimensionNumbers channels_last_dims(size_t spatial_rank);
Tensor add_bias(const Tensor& y, const Tensor& bias);   // bias over the last axis

// A conv layer's dimension numbers as strings ({} = channels-last, "NHWC", "HWIO", "NHWC").
// The layers compute in the canonical order (N, spatial..., C) with spatial dims in the
// kernel string's order, and this maps shapes between that order and the actual layouts.
class ConvLayout {
 public:
  ConvLayout(const std::vector<std::string>& dimension_numbers, size_t spatial_rank, const std::string& layer);
  bool channels_last() const { return default_; }
  Shape canonical_input(const Shape& in) const;                      // (N, spatial..., C)
  Shape actual_output(const Shape& canonical_out) const;             // from (N, spatial..., F)
  Shape kernel_shape(const Shape& kernel_size, int64_t in_per_group, int64_t features) const;
  Tensor add_bias(const Tensor& y, const Tensor& bias) const;
  lax::DimensionNumbers dimension_numbers() const;
  std::string str() const;

 private:
  bool default_ = true;
  std::string lhs_, rhs_, out_;
  std::vector<size_t> lhs_pos_, out_pos_;  // canonical index -> actual position
  std::vector<size_t> rhs_pos_;            // (spatial..., I, O) -> actual position
};

}  // namespace xlax::nn::detail
