// xlax::lax: JAX's lax-style primitives, including the convolution family.
#pragma once

#include <initializer_list>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "core.hpp"

namespace xlax::lax {

struct DotDimensionNumbers {
  std::vector<int64_t> lhs_contracting, rhs_contracting, lhs_batch, rhs_batch;
};
// Output dims: batch dims, then lhs free dims, then rhs free dims (as jax.lax.dot_general).
Tensor dot_general(const Tensor&, const Tensor&, const DotDimensionNumbers&);
Tensor slice(const Tensor&, const Shape& start, const Shape& limit, const Shape& strides = {});
// Per dim (lo, hi, interior); negative lo/hi crop.
Tensor pad(const Tensor&, double value, const std::vector<std::array<int64_t, 3>>& lo_hi_interior);
Tensor rev(const Tensor&, const std::vector<int64_t>& dims);
Tensor dynamic_update_slice(const Tensor& x, const Tensor& update, const Shape& start);  // x.at[...].set

// "SAME" | "SAME_LOWER" | "VALID" (any case), or explicit (lo, hi) pairs (negative crops).
struct Padding {
  Padding(const char* mode);
  Padding(const std::string& mode);
  Padding(std::vector<std::pair<int64_t, int64_t>> pairs);
  Padding(std::initializer_list<std::pair<int64_t, int64_t>> pairs);

  bool is_string() const { return is_string_; }
  const std::string& mode() const { return mode_; }  // as given (case kept)
  const std::vector<std::pair<int64_t, int64_t>>& pairs() const { return pairs_; }

 private:
  bool is_string_ = false;
  std::string mode_;
  std::vector<std::pair<int64_t, int64_t>> pairs_;
};

enum class ReduceOp { sum, max };
Tensor reduce_window(const Tensor&, ReduceOp, const Shape& window, const Shape& strides,
                     const Padding& padding, const Shape& base_dilation = {},
                     const Shape& window_dilation = {});

// JAX's resolved form: permutations, N/C (O/I) first, then spatial dims in rhs-string order.
struct ConvDimensionNumbers {
  std::vector<int64_t> lhs_spec, rhs_spec, out_spec;
};
bool operator==(const ConvDimensionNumbers&, const ConvDimensionNumbers&);
bool operator!=(const ConvDimensionNumbers&, const ConvDimensionNumbers&);
// ConvDimensionNumbers(lhs_spec=(0, 3, 1, 2), rhs_spec=(3, 2, 0, 1), out_spec=(0, 3, 1, 2))
std::ostream& operator<<(std::ostream&, const ConvDimensionNumbers&);

struct DimensionNumbers {  // what the conv functions accept
  DimensionNumbers();      // JAX's None
  DimensionNumbers(std::string lhs, std::string rhs, std::string out);
  DimensionNumbers(ConvDimensionNumbers resolved);

  enum class Kind { none, strings, resolved };
  Kind kind = Kind::none;
  std::string lhs, rhs, out;
  ConvDimensionNumbers spec;
};
ConvDimensionNumbers conv_dimension_numbers(const Shape& lhs_shape, const Shape& rhs_shape,
                                            const DimensionNumbers& dimension_numbers);

// For every std::vector<int64_t> dilation argument below, {} means all ones.
Tensor conv_general_dilated(const Tensor& lhs, const Tensor& rhs,
                            const std::vector<int64_t>& window_strides, const Padding& padding,
                            const std::vector<int64_t>& lhs_dilation = {},
                            const std::vector<int64_t>& rhs_dilation = {},
                            const DimensionNumbers& dimension_numbers = {},
                            int64_t feature_group_count = 1, int64_t batch_group_count = 1);

Tensor conv(const Tensor& lhs, const Tensor& rhs,  // NCHW image, OIHW kernel
            const std::vector<int64_t>& window_strides, const Padding& padding);
Tensor conv_with_general_padding(const Tensor& lhs, const Tensor& rhs,
                                 const std::vector<int64_t>& window_strides,
                                 const Padding& padding, const std::vector<int64_t>& lhs_dilation,
                                 const std::vector<int64_t>& rhs_dilation);
Tensor conv_transpose(const Tensor& lhs, const Tensor& rhs, const std::vector<int64_t>& strides,
                      const Padding& padding, const std::vector<int64_t>& rhs_dilation = {},
                      const DimensionNumbers& dimension_numbers = {},
                      bool transpose_kernel = false, bool use_consistent_padding = false);

}  // namespace xlax::lax

namespace xlax::numpy {
Tensor convolve(const Tensor& a, const Tensor& v, const std::string& mode = "full");
Tensor correlate(const Tensor& a, const Tensor& v, const std::string& mode = "valid");
}  // namespace xlax::numpy

namespace xlax::scipy::signal {
Tensor convolve(const Tensor& in1, const Tensor& in2, const std::string& mode = "full");
Tensor correlate(const Tensor& in1, const Tensor& in2, const std::string& mode = "full");
Tensor convolve2d(const Tensor& in1, const Tensor& in2, const std::string& mode = "full",
                  const std::string& boundary = "fill", double fillvalue = 0);  // fill, wrap, symm
Tensor correlate2d(const Tensor& in1, const Tensor& in2, const std::string& mode = "full",
                   const std::string& boundary = "fill", double fillvalue = 0);
}  // namespace xlax::scipy::signal
