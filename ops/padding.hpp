// Internal: JAX's padtype_to_pads, the one SAME / SAME_LOWER / VALID rule shared by
// conv_general_dilated, reduce_window and the nn layers (docs/conv_semantics.md §1.6).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace xlax {

// Explicit (lo, hi) pairs per dimension for a string padding on inputs `in` (already
// lhs-dilated if the caller wants that) with windows `window` (already rhs-dilated) and
// `strides`: SAME puts the odd element of the total padding on the high side, SAME_LOWER
// on the low side, both so that out = ceil(in / stride); VALID is no padding. The mode is
// case-insensitive; any other string is an xlax::Error prefixed with `where`.
std::vector<std::pair<int64_t, int64_t>> padtype_to_pads(const std::string& where,
                                                         const std::string& mode,
                                                         const std::vector<int64_t>& in,
                                                         const std::vector<int64_t>& window,
                                                         const std::vector<int64_t>& strides);

}  // namespace xlax
