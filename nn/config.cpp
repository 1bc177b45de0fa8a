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

Config parse_config(const std::string& text, const std::string& source_dir) {
  using namespace detail;
  json root;
  try {
    root = json::parse(text);
  } catch (const json::parse_error& e) {
    throw Error(std::string("config: not valid JSON: ") + e.what());
  }
  Reader top(root, "", "", *find_section(config_sections(), "top level"));
  Config c;
  c.text = text;
  c.source_dir = source_dir;
  if (!top.has("schema_version")) top.fail("schema_version", "is required (1)");
  c.schema_version = static_cast<int>(top.integer("schema_version", 1));
  if (c.schema_version != 1) top.fail("schema_version", "unsupported version " + std::to_string(c.schema_version) + " (this build reads 1)");

  if (!top.has("model")) top.fail("model", "is required");
  c.model = parse_model(section_reader(root, "model", "model"), c.layer_types);
  c.loss = top.choice("loss", "softmax_cross_entropy", {"softmax_cross_entropy", "mse", "binary_cross_entropy"});
  parse_optimizer(section_reader(root, "optimizer", "optimizer"), c);
  parse_schedule(section_reader(root, "schedule", "schedule"), c);
  parse_data(section_reader(root, "data", "data"), c.data);
  parse_training(section_reader(root, "training", "training"), c.training);
  if (top.has("checkpoint")) parse_checkpoint(section_reader(root, "checkpoint", "checkpoint"), c.checkpoint);

  if (c.training.task == "classify" && c.loss != "softmax_cross_entropy")
    top.fail("loss", "task classify needs softmax_cross_entropy (use training.task reconstruct for " + c.loss + ")");
  if (c.training.task == "reconstruct" && c.loss == "softmax_cross_entropy")
    top.fail("loss", "task reconstruct needs mse or binary_cross_entropy");
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

Config load_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error("config: cannot open '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  const auto slash = path.find_last_of('/');
  return parse_config(ss.str(), slash == std::string::npos ? "." : path.substr(0, slash));
}

}  // namespace xlax::nn
