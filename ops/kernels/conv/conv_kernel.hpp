// Internal: the one convolution kernel behind every conv_general_dilated node (forward and
// both transpose-rule gradients). Works on raw pointers with element strides, so dimension
// numbers are strides, not copies.
#pragma once

#include <cstdint>
#include <vector>

namespace xlax::kernels {

// Canonical description (docs/conv_semantics.md §1.4, §1.7). Spatial dims in canonical order.
//   lhs: (N, C, S_0..S_{n-1})    rhs: (O, I, K_0..K_{n-1})    out: (N/B, O, Q_0..Q_{n-1})
// C = G*I when feature_group_count G > 1; N = B*Nb and C = I when batch_group_count B > 1.
// out[b, o, q] = sum_{c<I, j} Lpd[b', g*I + c or c, p] * W[o, c, j], p_i = q_i*s_i + j_i*rd_i,
// with Lpd the lhs base-dilated by ld then padded by (pad_lo, *) (negative crops).
struct ConvGeometry {
  int64_t N = 0, C = 0, O = 0, I = 0;
  int64_t feature_group_count = 1, batch_group_count = 1;
  std::vector<int64_t> lhs_size, kernel_size, out_size;  // S, K, Q
  std::vector<int64_t> stride, pad_lo, lhs_dilation, rhs_dilation;
  // Element strides per canonical axis: lhs (N, C, S...), rhs (O, I, K...), out (N/B, O, Q...).
  std::vector<int64_t> lhs_strides, rhs_strides, out_strides;
};

// Writes every element of out (zeros where the sum is empty). T = float or double.
template <class T>
void conv_general(const ConvGeometry& g, const T* lhs, const T* rhs, T* out);

}  // namespace xlax::kernels
