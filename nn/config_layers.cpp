// The model section: layers (the table in config_schema), their names and inputs, and the
// Graph they form. Every error names the JSON path and the layer ("model.layers[3].inputs
// (layer 3, Add 'block1_add'): ...").
#include "nn/config_reader.hpp"

namespace xlax::nn::detail {
namespace {

// Layer types match ignoring case and underscores: "Conv", "conv", "max_pool", "BatchNorm",
// "global_avg_pool", "LeakyReLU" and "leaky_relu" all find their layer.
std::string folded(const std::string& t) {
  std::string out;
  for (char c : t)
    if (c != '_') out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}
std::string canonical_layer_type(const std::string& t) {
  for (auto& s : layer_sections())
    if (folded(s.name) == folded(t)) return s.name;
  return "";
}

LayerPtr parse_layer(const json& j, size_t index, std::string& type_out, std::string& label_out) {
  const std::string path = "model.layers[" + std::to_string(index) + "]";
  if (!j.is_object() || !j.contains("type") || !j.at("type").is_string()) {
    std::string all;
    for (auto& s : layer_sections()) all += (all.empty() ? "" : ", ") + s.name;
    throw Error("config: " + path + " (layer " + std::to_string(index) +
                "): expected an object with a string \"type\" (one of " + all + ")");
  }
  const std::string written = j.at("type").get<std::string>();
  const std::string type = canonical_layer_type(written);
  if (type.empty()) {
    std::string all;
    for (auto& s : layer_sections()) all += (all.empty() ? "" : ", ") + s.name;
    throw Error("config: " + path + ".type (layer " + std::to_string(index) + "): unknown layer type '" + written +
                "' (known: " + all + ")");
  }
  type_out = type;
  label_out = type;
  if (j.contains("name") && j.at("name").is_string()) label_out += " '" + j.at("name").get<std::string>() + "'";
  const std::string where = " (layer " + std::to_string(index) + ", " + label_out + ")";
  Reader r(j, path, where, *find_section(layer_sections(), type));
  try {
    if (type == "Conv") {
      ConvOptions o;
      o.features = r.required_integer("features", 1);
      o.kernel_size = r.ints("kernel_size", true, false);
      o.strides = r.ints("strides", false, true);
      o.padding = r.padding("padding", "SAME");
      o.input_dilation = r.ints("input_dilation", false, true);
      o.kernel_dilation = r.ints("kernel_dilation", false, true);
      o.feature_group_count = r.integer("feature_group_count", 1, 1);
      o.use_bias = r.boolean("use_bias", true);
      o.kernel_init = r.string("kernel_init", "lecun_normal");
      o.bias_init = r.string("bias_init", "zeros");
      o.dimension_numbers = r.strings("dimension_numbers", 3);
      return Conv(o);
    }
    if (type == "ConvTranspose") {
      ConvTransposeOptions o;
      o.features = r.required_integer("features", 1);
      o.kernel_size = r.ints("kernel_size", true, false);
      o.strides = r.ints("strides", false, true);
      o.padding = r.padding("padding", "SAME");
      o.kernel_dilation = r.ints("kernel_dilation", false, true);
      o.output_padding = r.ints("output_padding", false, true);
      o.feature_group_count = r.integer("feature_group_count", 1, 1);
      o.use_bias = r.boolean("use_bias", true);
      o.transpose_kernel = r.boolean("transpose_kernel", false);
      o.kernel_init = r.string("kernel_init", "lecun_normal");
      o.bias_init = r.string("bias_init", "zeros");
      o.dimension_numbers = r.strings("dimension_numbers", 3);
      return ConvTranspose(o);
    }
    if (type == "Dense")
      return Dense(r.required_integer("features", 1), r.boolean("use_bias", true), r.string("kernel_init", "lecun_normal"),
                   r.string("bias_init", "zeros"));
    if (type == "MaxPool" || type == "AvgPool") {
      Shape window = r.ints("window_shape", true, false), strides = r.ints("strides", false, true);
      PaddingSpec pad = r.padding("padding", "VALID");
      return type == "MaxPool" ? MaxPool(window, strides, pad) : AvgPool(window, strides, pad);
    }
    if (type == "Flatten") return Flatten();
    if (type == "Reshape") return Reshape(r.ints("shape", true, false));
    if (type == "Dropout") {
      if (!r.has("rate")) r.fail(r.sub("rate"), "is required");
      return Dropout(r.number("rate", 0));
    }
    if (type == "BatchNorm") return BatchNorm(r.number("momentum", 0.99), r.number("epsilon", 1e-5));
    if (type == "Identity") return Identity();
    if (type == "Add") return Add();
    if (type == "Concatenate") return Concatenate(r.integer("axis", -1));
    if (type == "GlobalAvgPool") return GlobalAvgPool();
    if (type == "GlobalMaxPool") return GlobalMaxPool();
    if (type == "Upsample") return Upsample(r.ints("scale", true, true));
    return Activation(type, r.number("negative_slope", 0.01));
  } catch (const Error& e) {
    const std::string msg = e.what();
    if (msg.rfind("config:", 0) == 0) throw;
    throw Error("config: " + path + where + ": " + msg);
  }
}

// "name": a non-empty string; "inputs": a string or a non-empty list of strings.
GraphNode parse_node(const json& j, size_t index, LayerPtr layer, const std::string& label) {
  GraphNode node{std::move(layer), "", {}};
  const std::string path = "model.layers[" + std::to_string(index) + "]";
  const std::string where = " (layer " + std::to_string(index) + ", " + label + ")";
  auto fail = [&](const std::string& key, const std::string& rule) {
    throw Error("config: " + path + "." + key + where + ": " + rule);
  };
  if (j.contains("name")) {
    const json& v = j.at("name");
    if (!v.is_string() || v.get<std::string>().empty()) fail("name", "expected a non-empty string, got " + type_name(v));
    node.name = v.get<std::string>();
  }
  if (j.contains("inputs")) {
    const json& v = j.at("inputs");
    if (v.is_string()) {
      node.inputs.push_back(v.get<std::string>());
    } else if (v.is_array() && !v.empty()) {
      for (size_t k = 0; k < v.size(); ++k) {
        if (!v[k].is_string()) fail("inputs[" + std::to_string(k) + "]", "expected a layer name, got " + type_name(v[k]));
        node.inputs.push_back(v[k].get<std::string>());
      }
    } else {
      fail("inputs", "expected a layer name or a non-empty list of layer names, got " + type_name(v));
    }
  }
  return node;
}

}  // namespace

void throw_config_error(const GraphError& e) {
  if (e.node < 0) throw Error("config: model." + e.field + ": " + e.rule);
  const std::string path = "model.layers[" + std::to_string(e.node) + "]" + (e.field.empty() ? "" : "." + e.field);
  throw Error("config: " + path + " (layer " + std::to_string(e.node) + ", " + e.label + "): " + e.rule);
}

std::shared_ptr<Graph> parse_model(const Reader& model, std::vector<std::string>& layer_types) {
  if (!model.has("layers") || !model.at("layers").is_array() || model.at("layers").empty())
    model.fail("model.layers", "expected a non-empty list of layer objects");
  const json& lj = model.at("layers");
  std::vector<GraphNode> nodes;
  for (size_t i = 0; i < lj.size(); ++i) {
    std::string type, label;
    LayerPtr layer = parse_layer(lj[i], i, type, label);
    nodes.push_back(parse_node(lj[i], i, std::move(layer), label));
    layer_types.push_back(type);
  }
  const std::string output = model.string("output", "");
  if (model.has("output") && output.empty()) model.fail("model.output", "expected a layer name");
  try {
    return std::make_shared<Graph>(std::move(nodes), output);
  } catch (const GraphError& e) {
    throw_config_error(e);
  }
}

}  // namespace xlax::nn::detail
