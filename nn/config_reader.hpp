// Internal: reading a JSON config. A Reader is one JSON object at a known path, checked
// against its key table (config_schema), so every error names where it is
// ("model.layers[2].kernel_size (layer 2, Conv): expected ..."). The section parsers live
// in config_layers.cpp (the model), config_data.cpp and config_training.cpp.
#pragma once

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nn/config_schema.hpp"
#include "nn/layer_util.hpp"

namespace xlax::nn::detail {
using nlohmann::json;

inline std::string type_name(const json& v) {
  if (v.is_number_integer()) return "integer " + v.dump();
  if (v.is_number()) return "number " + v.dump();
  if (v.is_string()) return "string " + v.dump();
  if (v.is_boolean()) return "boolean " + v.dump();
  if (v.is_null()) return "null";
  if (v.is_array()) return "array " + v.dump().substr(0, 40);
  return "object";
}

// A JSON object at a known path, checked against its KeySpec table.
class Reader {
 public:
  Reader(const json& j, std::string path, std::string where, const detail::SectionSpec& spec)
      : j_(j), path_(std::move(path)), where_(std::move(where)) {
    if (!j.is_object()) fail(path_, "expected an object, got " + type_name(j));
    for (auto& [key, value] : j.items()) {
      bool known = false;
      for (auto& k : spec.keys) known = known || key == k.name;
      if (!known) {
        std::string accepted;
        for (auto& k : spec.keys) accepted += (accepted.empty() ? "" : ", ") + std::string(k.name);
        fail(sub(key), "unknown key '" + key + "' (accepted: " + accepted + ")");
      }
    }
  }
  [[noreturn]] void fail(const std::string& path, const std::string& rule) const {
    throw Error("config: " + path + where_ + ": " + rule);
  }
  std::string sub(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }
  bool has(const std::string& key) const { return j_.contains(key); }
  const std::string& path() const { return path_; }
  const json& at(const std::string& key) const { return j_.at(key); }

  int64_t integer(const std::string& key, int64_t def, int64_t min = INT64_MIN) const {
    if (!has(key)) return def;
    const json& v = at(key);
    if (!v.is_number_integer()) fail(sub(key), "expected an integer, got " + type_name(v));
    const int64_t x = v.get<int64_t>();
    if (x < min) fail(sub(key), "must be >= " + std::to_string(min) + ", got " + std::to_string(x));
    return x;
  }
  int64_t required_integer(const std::string& key, int64_t min) const {
    if (!has(key)) fail(sub(key), "is required");
    return integer(key, 0, min);
  }
  double number(const std::string& key, double def) const {
    if (!has(key)) return def;
    const json& v = at(key);
    if (!v.is_number()) fail(sub(key), "expected a number, got " + type_name(v));
    return v.get<double>();
  }
  bool boolean(const std::string& key, bool def) const {
    if (!has(key)) return def;
    const json& v = at(key);
    if (!v.is_boolean()) fail(sub(key), "expected true or false, got " + type_name(v));
    return v.get<bool>();
  }
  std::string string(const std::string& key, const std::string& def) const {
    if (!has(key)) return def;
    const json& v = at(key);
    if (!v.is_string()) fail(sub(key), "expected a string, got " + type_name(v));
    return v.get<std::string>();
  }
  // Case-insensitive ("Adam" = "adam"); returns the option as listed.
  std::string choice(const std::string& key, const std::string& def, const std::vector<std::string>& options) const {
    const std::string s = string(key, def);
    auto lower = [](std::string v) {
      std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
      return v;
    };
    for (auto& o : options)
      if (lower(o) == lower(s)) return o;
    {
      std::string all;
      for (auto& o : options) all += (all.empty() ? "" : ", ") + o;
      fail(sub(key), "'" + s + "' is not one of " + all);
    }
    return s;
  }
  // int | [int]; allow_scalar false requires a list
  Shape ints(const std::string& key, bool required, bool allow_scalar) const {
    if (!has(key)) {
      if (required) fail(sub(key), "is required");
      return {};
    }
    const json& v = at(key);
    if (v.is_number_integer() && allow_scalar) return {v.get<int64_t>()};
    if (!v.is_array() || v.empty())
      fail(sub(key), std::string("expected ") + (allow_scalar ? "an integer or " : "") +
                         "a non-empty list of integers (one per spatial dim, e.g. [3, 3]), got " + type_name(v));
    Shape out;
    for (size_t i = 0; i < v.size(); ++i) {
      if (!v[i].is_number_integer())
        fail(sub(key) + "[" + std::to_string(i) + "]", "expected an integer, got " + type_name(v[i]));
      out.push_back(v[i].get<int64_t>());
    }
    return out;
  }
  std::vector<std::string> strings(const std::string& key, size_t count) const {
    if (!has(key)) return {};
    const json& v = at(key);
    if (!v.is_array() || v.size() != count)
      fail(sub(key), "expected a list of " + std::to_string(count) + " strings, got " + type_name(v));
    std::vector<std::string> out;
    for (size_t i = 0; i < v.size(); ++i) {
      if (!v[i].is_string()) fail(sub(key) + "[" + std::to_string(i) + "]", "expected a string, got " + type_name(v[i]));
      out.push_back(v[i].get<std::string>());
    }
    return out;
  }
  // "SAME" | "VALID" | "SAME_LOWER" | int | [int] | [[lo, hi], ...]
  PaddingSpec padding(const std::string& key, const std::string& def) const {
    if (!has(key)) return PaddingSpec(def);
    const json& v = at(key);
    const std::string p = sub(key);
    if (v.is_string()) {
      std::string m = v.get<std::string>();
      std::string up = m;
      std::transform(up.begin(), up.end(), up.begin(), [](unsigned char c) { return std::toupper(c); });
      if (up != "SAME" && up != "VALID" && up != "SAME_LOWER")
        fail(p, "'" + m + "' is not SAME, SAME_LOWER, VALID, an integer or a list of [lo, hi] pairs");
      return PaddingSpec(m);
    }
    if (v.is_number_integer()) return PaddingSpec(detail::Pairs{{v.get<int64_t>(), v.get<int64_t>()}});
    if (!v.is_array() || v.empty())
      fail(p, "expected SAME, SAME_LOWER, VALID, an integer, a list of integers or of [lo, hi] pairs, got " + type_name(v));
    detail::Pairs pairs;
    for (size_t i = 0; i < v.size(); ++i) {
      const json& e = v[i];
      if (e.is_number_integer()) pairs.push_back({e.get<int64_t>(), e.get<int64_t>()});
      else if (e.is_array() && e.size() == 2 && e[0].is_number_integer() && e[1].is_number_integer())
        pairs.push_back({e[0].get<int64_t>(), e[1].get<int64_t>()});
      else
        fail(p + "[" + std::to_string(i) + "]", "expected an integer or a [lo, hi] pair of integers, got " + type_name(e));
    }
    return PaddingSpec(pairs);
  }

 private:
  const json& j_;
  std::string path_, where_;
};

// A section that may be absent reads as an empty object.
Reader section_reader(const json& parent, const std::string& key, const std::string& section_name);

// model -> Graph; layer_types gets each layer's canonical type.
std::shared_ptr<Graph> parse_model(const Reader& model, std::vector<std::string>& layer_types);
// Rethrows a Graph's error as a config error naming the JSON path of the node.
[[noreturn]] void throw_config_error(const GraphError& e);
// Relative paths in data resolve from source_dir; task decides whether labels are required.
void parse_data(const Reader& data, DataConfig& out, const std::string& source_dir, const std::string& task);
std::string resolve_path(const std::string& source_dir, const std::string& path);
void parse_optimizer(const Reader& optimizer, Config& out);   // also the schedule's peak lr
void parse_schedule(const Reader& schedule, Config& out);
void parse_training(const Reader& training, TrainingConfig& out);
void parse_checkpoint(const Reader& checkpoint, CheckpointConfig& out);

}  // namespace xlax::nn::detail
