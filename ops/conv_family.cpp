// lax.conv, lax.conv_with_general_padding and lax.conv_transpose (docs/conv_semantics.md §3, §4):
// thin functions over conv_general_dilated, so they are differentiable with no rules of
// their own.
#include <algorithm>

#include "core/graph.hpp"
#include "ops/conv_params.hpp"
#include "xlax/lax.hpp"

namespace xlax::lax {

Tensor conv(const Tensor& lhs, const Tensor& rhs, const std::vector<int64_t>& window_strides,
            const Padding& padding) {
  return conv_general_dilated(lhs, rhs, window_strides, padding);
}

Tensor conv_with_general_padding(const Tensor& lhs, const Tensor& rhs, const std::vector<int64_t>& window_strides,
                                 const Padding& padding, const std::vector<int64_t>& lhs_dilation,
                                 const std::vector<int64_t>& rhs_dilation) {
  return conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation);
}

namespace {

const char* kTransposeFn = "conv_transpose";

// T(k, s, p) of §4.2: padding of the stride-dilated input for one spatial dim.
std::pair<int64_t, int64_t> conv_transpose_padding(int64_t k, int64_t s, const Padding& padding, size_t dim) {
  if (padding.is_string() && padding.mode() == "SAME") {
    const int64_t total = k + s - 2;
    const int64_t lo = s > k - 1 ? k - 1 : (total + 1) / 2;
    return {lo, total - lo};
  }
  if (padding.is_string() && padding.mode() == "VALID") {
    const int64_t total = k + s - 2 + std::max<int64_t>(k - s, 0);
    return {k - 1, total - (k - 1)};
  }
  if (!padding.is_string()) {
    const auto& [a, b] = padding.pairs()[dim];
    return {k - 1 - a, k - 1 - b};
  }
  throw Error(std::string(kTransposeFn) + ": padding '" + padding.mode() +
              "' is not valid with the consistent padding rule (use 'SAME', 'VALID' or (lo, hi) pairs)");
}

DimensionNumbers default_transpose_dimension_numbers(size_t rank) {
  switch (rank) {
    case 2: return {"NC", "IO", "NC"};
    case 3: return {"NHC", "HIO", "NHC"};
    case 4: return {"NHWC", "HWIO", "NHWC"};
    case 5: return {"NHWDC", "HWDIO", "NHWDC"};
    default:
      throw Error(std::string(kTransposeFn) + ": no default dimension_numbers for rank " + std::to_string(rank) +
                  " (defaults exist for ranks 2 to 5); pass dimension_numbers");
  }
}

}  // namespace

Tensor conv_transpose(const Tensor& lhs, const Tensor& rhs, const std::vector<int64_t>& strides,
                      const Padding& padding, const std::vector<int64_t>& rhs_dilation,
                      const DimensionNumbers& dimension_numbers, bool transpose_kernel, bool use_consistent_padding) {
  const Shape& ls = detail::node_of(lhs, kTransposeFn, "lhs").shape;
  const Shape& rs = detail::node_of(rhs, kTransposeFn, "rhs").shape;
  if (ls.size() != rs.size() || ls.size() < 2)
    throw Error(std::string(kTransposeFn) + ": lhs " + to_string(ls) + " and rhs " + to_string(rs) +
                " must have the same rank, at least 2");
  DimensionNumbers dn_given = dimension_numbers.kind == DimensionNumbers::Kind::none
                                  ? default_transpose_dimension_numbers(ls.size())
                                  : dimension_numbers;
  ConvDimensionNumbers dn = conv_dimension_numbers(ls, rs, dn_given);
  const size_t n = ls.size() - 2;
  if (strides.size() != n)
    throw Error(std::string(kTransposeFn) + ": strides has " + std::to_string(strides.size()) +
                " entries but there are " + std::to_string(n) + " spatial dimensions");
  std::vector<int64_t> rd = rhs_dilation.empty() ? std::vector<int64_t>(n, 1) : rhs_dilation;
  if (rd.size() != n)
    throw Error(std::string(kTransposeFn) + ": rhs_dilation has " + std::to_string(rd.size()) +
                " entries but there are " + std::to_string(n) + " spatial dimensions");
  for (size_t i = 0; i < n; ++i)
    if (strides[i] <= 0 || rd[i] <= 0)
      throw Error(std::string(kTransposeFn) + ": strides and rhs_dilation entries must be > 0");

  Padding pads = padding;
  const bool exact_string = padding.is_string() && (padding.mode() == "SAME" || padding.mode() == "VALID");
  if (use_consistent_padding || exact_string) {
    if (!padding.is_string() && padding.pairs().size() != n)
      throw Error(std::string(kTransposeFn) + ": padding has " + std::to_string(padding.pairs().size()) +
                  " pairs but there are " + std::to_string(n) + " spatial dimensions");
    std::vector<std::pair<int64_t, int64_t>> pairs;
    for (size_t i = 0; i < n; ++i) {
      const int64_t k = dilate_dim(rs[dn.rhs_spec[2 + i]], rd[i]);
      pairs.push_back(conv_transpose_padding(k, strides[i], padding, i));
    }
    pads = Padding(pairs);
  }
  Tensor kernel = rhs;
  if (transpose_kernel) {
    // Read the kernel as the forward conv's: flip it spatially and exchange its O and I axes.
    kernel = rev(kernel, std::vector<int64_t>(dn.rhs_spec.begin() + 2, dn.rhs_spec.end()));
    std::vector<int64_t> perm(rs.size());
    for (size_t i = 0; i < perm.size(); ++i) perm[i] = static_cast<int64_t>(i);
    std::swap(perm[dn.rhs_spec[0]], perm[dn.rhs_spec[1]]);
    kernel = transpose(kernel, perm);
  }
  return conv_general_dilated(lhs, kernel, std::vector<int64_t>(n, 1), pads, strides, rd, dn);
}

}  // namespace xlax::lax
