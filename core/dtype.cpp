#include <sstream>

#include "core/graph.hpp"

namespace xlax {

std::string to_string(const Shape& s) {
  std::ostringstream os;
  os << "(";
  for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  if (s.size() == 1) os << ",";
  os << ")";
  return os.str();
}

std::string to_string(DType d) {
  switch (d) {
    case DType::float32: return "float32";
    case DType::float64: return "float64";
    case DType::int32: return "int32";
    case DType::bool_: return "bool";
  }
  return "?";
}

int64_t itemsize(DType d) {
  switch (d) {
    case DType::float32: return 4;
    case DType::float64: return 8;
    case DType::int32: return 4;
    case DType::bool_: return 1;
  }
  return 0;
}

bool is_floating(DType d) { return d == DType::float32 || d == DType::float64; }

}  // namespace xlax
