// lax::Padding: a padding mode string ("SAME", "SAME_LOWER", "VALID", any case) or explicit
// (lo, hi) pairs. The string is kept as given; each consumer checks it (case-insensitively)
// and resolves it against its own input and window shapes, all through padtype_to_pads
// (ops/padding.hpp), the one SAME / SAME_LOWER / VALID rule.
#include "ops/padding.hpp"

#include <algorithm>
#include <cctype>

#include "xlax/lax.hpp"

namespace xlax::lax {

Padding::Padding(const char* mode) : is_string_(true) {
  if (mode == nullptr) throw Error("Padding: mode is a null pointer (use \"SAME\", \"SAME_LOWER\" or \"VALID\")");
  mode_ = mode;
}

Padding::Padding(const std::string& mode) : is_string_(true), mode_(mode) {}

Padding::Padding(std::vector<std::pair<int64_t, int64_t>> pairs) : is_string_(false), pairs_(std::move(pairs)) {}

Padding::Padding(std::initializer_list<std::pair<int64_t, int64_t>> pairs) : is_string_(false), pairs_(pairs) {}

}  // namespace xlax::lax

namespace xlax {

std::vector<std::pair<int64_t, int64_t>> padtype_to_pads(const std::string& where,
                                                         const std::string& mode,
                                                         const std::vector<int64_t>& in,
                                                         const std::vector<int64_t>& window,
                                                         const std::vector<int64_t>& strides) {
  std::string m = mode;
  std::transform(m.begin(), m.end(), m.begin(), [](unsigned char c) { return std::toupper(c); });
  std::vector<std::pair<int64_t, int64_t>> pads(in.size(), {0, 0});
  if (m == "VALID") return pads;
  if (m != "SAME" && m != "SAME_LOWER")
    throw Error(where + ": padding '" + mode +
                "' is not recognised: use SAME, SAME_LOWER, VALID (any case) or (lo, hi) pairs");
  for (size_t i = 0; i < in.size(); ++i) {
    const int64_t out = (in[i] + strides[i] - 1) / strides[i];
    const int64_t total = std::max<int64_t>((out - 1) * strides[i] + window[i] - in[i], 0);
    pads[i] = m == "SAME" ? std::make_pair(total / 2, total - total / 2)
                          : std::make_pair(total - total / 2, total / 2);
  }
  return pads;
}

}  // namespace xlax
