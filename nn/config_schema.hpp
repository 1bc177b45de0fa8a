// Internal: the table of accepted config keys. The parser rejects keys not listed here and
// config_reference() prints it, so the documentation and the errors come from one place.
#pragma once

#include <string>
#include <vector>

namespace xlax::nn::detail {

struct KeySpec {
  const char* name;
  const char* type;  // as shown to users: "int", "[int]", "padding", ...
  const char* doc;
};

struct SectionSpec {
  std::string name;  // "training", "layer Conv"
  std::vector<KeySpec> keys;
};

const std::vector<SectionSpec>& config_sections();
const std::vector<SectionSpec>& layer_sections();  // name = the canonical layer type
const SectionSpec* find_section(const std::vector<SectionSpec>& table, const std::string& name);

}  // namespace xlax::nn::detail
