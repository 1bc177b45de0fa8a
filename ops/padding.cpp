// lax::Padding: a padding mode string ("SAME", "SAME_LOWER", "VALID", any case) or explicit
// (lo, hi) pairs. The string is kept as given; each consumer checks it (case-insensitively)
// and resolves it against its own input and window shapes.
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
