// JSON config -> Config: the top level, the cross-section rules and the model's shape
// check. Each section is read by its own parser (config_layers, config_data,
// config_training) through a Reader that knows its JSON path.
#include <fstream>
#include <sstream>

#include "nn/config_reader.hpp"

namespace xlax::nn {

namespace detail {
Reader section_reader(const json& parent, const std::string& key, const std::string& section_name) {
  static const json empty = json::object();
  return Reader(parent.contains(key) ? parent.at(key) : empty, key, "", *find_section(config_sections(), section_name));
}
}  // namespace detail

namespace {
using detail::json;
// "a.b.c=value": value is JSON when it parses as JSON, else a string (--set data.dir=foo).
void apply_override(json& root, const std::string& text) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0)
    throw Error("config: --set '" + text + "': expected KEY=VALUE, e.g. training.batch_size=128");
  const std::string key = text.substr(0, eq), raw = text.substr(eq + 1);
  json value;
  try {
    value = json::parse(raw);
  } catch (const json::parse_error&) {
    value = raw;
  }
  json* node = &root;
  size_t start = 0;
  while (true) {
    const auto dot = key.find('.', start);
    const std::string part = key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (part.empty()) throw Error("config: --set '" + text + "': empty key part in '" + key + "'");
    if (!node->is_object()) throw Error("config: --set '" + text + "': '" + key.substr(0, start - 1) + "' is not an object");
    if (dot == std::string::npos) {
      (*node)[part] = value;
      return;
    }
    node = &(*node)[part];
    if (node->is_null()) *node = json::object();
    start = dot + 1;
  }
}

// Layers reading the model input directly must agree with the data's channels-last layout.
void check_input_layout(const json& root, const Shape& example) {
  const json& layers = root.at("model").at("layers");
  for (size_t i = 0; i < layers.size(); ++i) {
    const json& l = layers[i];
    bool reads_input = i == 0 && !l.contains("inputs");
    if (l.contains("inputs")) {
      const json& in = l.at("inputs");
      if (in.is_string()) reads_input = in.get<std::string>() == "input";
      else if (in.is_array())
        for (auto& x : in) reads_input = reads_input || (x.is_string() && x.get<std::string>() == "input");
    }
    if (!reads_input || !l.contains("dimension_numbers") || !l.at("dimension_numbers").is_array() ||
        l.at("dimension_numbers").empty() || !l.at("dimension_numbers")[0].is_string())
      continue;
    const std::string lhs = l.at("dimension_numbers")[0].get<std::string>();
    if (lhs.size() >= 2 && (lhs.front() != 'N' || lhs.back() != 'C'))
      throw Error("config: model.layers[" + std::to_string(i) + "].dimension_numbers (layer " + std::to_string(i) +
                  "): the lhs spec '" + lhs + "' is not channels-last, but the data are channels-last, examples " +
                  to_string(example) + " after the batch; use a spec with N first and C last, such as NHWC");
  }
}
}  // namespace

Config parse_config(const std::string& text, const std::string& source_dir, const std::vector<std::string>& overrides) {
  using namespace detail;
  json root;
  try {
    root = json::parse(text, nullptr, true, /*ignore_comments=*/true);
  } catch (const json::parse_error& e) {
    throw Error(std::string("config: not valid JSON: ") + e.what());
  }
  if (!root.is_object()) throw Error("config: expected an object at the top level, got " + type_name(root));
  for (auto& o : overrides) apply_override(root, o);
  Reader top(root, "", "", *find_section(config_sections(), "top level"));
  Config c;
  c.text = overrides.empty() ? text : root.dump(2);  // checkpoints store what was run
  c.source_dir = source_dir;
  if (!top.has("schema_version")) top.fail("schema_version", "is required (1)");
  c.schema_version = static_cast<int>(top.integer("schema_version", 1));
  if (c.schema_version != 1) top.fail("schema_version", "unsupported version " + std::to_string(c.schema_version) + " (this build reads 1)");

  if (!top.has("model")) top.fail("model", "is required");
  c.model = parse_model(section_reader(root, "model", "model"), c.layer_types);
  c.loss = top.choice("loss", "softmax_cross_entropy", {"softmax_cross_entropy", "mse", "binary_cross_entropy"});
  parse_optimizer(section_reader(root, "optimizer", "optimizer"), c);
  parse_schedule(section_reader(root, "schedule", "schedule"), c);
  parse_training(section_reader(root, "training", "training"), c.training);
  parse_data(section_reader(root, "data", "data"), c.data, source_dir, c.training.task);
  if (top.has("checkpoint")) parse_checkpoint(section_reader(root, "checkpoint", "checkpoint"), c.checkpoint);
  c.training.metrics_file = resolve_path(source_dir, c.training.metrics_file);
  c.training.output_dir = resolve_path(source_dir, c.training.output_dir);
  c.checkpoint.dir = resolve_path(source_dir, c.checkpoint.dir);
  // Run control that watches a val_* metric needs a validation set.
  auto needs_validation = [&](bool used, const std::string& metric, const std::string& key) {
    if (used && metric.rfind("val_", 0) == 0 && !c.data.has_validation())
      top.fail(key, "'" + metric + "' needs data.validation (a fraction such as 0.1, or a separate set)");
  };
  needs_validation(c.training.early_stopping_patience > 0, c.training.early_stopping_metric, "training.early_stopping.metric");
  needs_validation(true, c.checkpoint.keep_best, "checkpoint.keep_best");
  needs_validation(c.schedule.kind == "reduce_on_plateau", c.schedule.metric, "schedule.metric");
  if (!c.checkpoint.keep_best.empty() && c.checkpoint.dir.empty())
    top.fail("checkpoint.keep_best", "needs checkpoint.dir");
  if (c.loss == "softmax_cross_entropy" && !c.layer_types.empty() && c.layer_types.back() == "softmax")
    c.warnings.push_back("config: model.layers[" + std::to_string(c.layer_types.size() - 1) +
                         "] is a softmax before softmax_cross_entropy, which applies softmax itself: the model "
                         "trains on softmax(softmax(x)); remove the layer (predict prints probabilities anyway)");

  if (c.training.task == "classify" && c.loss != "softmax_cross_entropy")
    top.fail("loss", "task classify needs softmax_cross_entropy (use training.task reconstruct for " + c.loss + ")");
  if (c.training.task == "reconstruct" && c.loss == "softmax_cross_entropy")
    top.fail("loss", "task reconstruct needs mse or binary_cross_entropy");
  check_input_layout(root, c.data.example_shape());
  // Shape errors surface here, naming the layer and its inferred input shapes.
  Shape in{1};
  for (auto d : c.data.example_shape()) in.push_back(d);
  Shape out;
  try {
    out = c.model->output_shape(in);
  } catch (const GraphError& e) {
    throw_config_error(e);
  }
  if (c.training.task == "classify" && (out.size() != 2 || out[1] != c.data.num_classes))
    top.fail("model", "the model output " + to_string(out) + " must be (batch, classes) for classification with " +
                          std::to_string(c.data.num_classes) + " classes (data.num_classes)");
  if (c.training.task == "reconstruct" && out != in)
    top.fail("model", "the model output " + to_string(out) + " must equal the input shape " + to_string(in) + " to reconstruct");
  return c;
}

Config load_config(const std::string& path, const std::vector<std::string>& overrides) {
  std::ifstream in(path);
  if (!in) throw Error("config: cannot open '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  const auto slash = path.find_last_of('/');
  return parse_config(ss.str(), slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash), overrides);
}

}  // namespace xlax::nn
