// JSON config -> Config. Every value is read through a Reader that knows its JSON path, so
// errors say where ("model.layers[2].kernel_size (layer 2, Conv): expected ...").
#include <algorithm>
#include <cctype>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "nn/config_schema.hpp"
#include "nn/layer_util.hpp"

namespace xlax::nn {
namespace {
using nlohmann::json;

std::string type_name(const json& v) {
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
  std::string choice(const std::string& key, const std::string& def, const std::vector<std::string>& options) const {
    std::string s = string(key, def);
    if (std::find(options.begin(), options.end(), s) == options.end()) {
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

std::string canonical_layer_type(const std::string& t) {
  std::string low;
  for (char c : t) low += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (low == "max_pool") low = "maxpool";
  if (low == "avg_pool") low = "avgpool";
  if (low == "batch_norm") low = "batchnorm";
  if (low == "conv_transpose") low = "convtranspose";
  for (auto& s : detail::layer_sections()) {
    std::string name_low;
    for (char c : s.name) name_low += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (name_low == low) return s.name;
  }
  return "";
}

LayerPtr parse_layer(const json& j, size_t index, std::string& type_out) {
  const std::string path = "model.layers[" + std::to_string(index) + "]";
  if (!j.is_object() || !j.contains("type") || !j.at("type").is_string()) {
    std::string all;
    for (auto& s : detail::layer_sections()) all += (all.empty() ? "" : ", ") + s.name;
    throw Error("config: " + path + " (layer " + std::to_string(index) +
                "): expected an object with a string \"type\" (one of " + all + ")");
  }
  const std::string written = j.at("type").get<std::string>();
  const std::string type = canonical_layer_type(written);
  if (type.empty()) {
    std::string all;
    for (auto& s : detail::layer_sections()) all += (all.empty() ? "" : ", ") + s.name;
    throw Error("config: " + path + ".type (layer " + std::to_string(index) + "): unknown layer type '" + written +
                "' (known: " + all + ")");
  }
  type_out = type;
  const std::string where = " (layer " + std::to_string(index) + ", " + type + ")";
  Reader r(j, path, where, *detail::find_section(detail::layer_sections(), type));
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
    return Activation(type, r.number("negative_slope", 0.01));
  } catch (const Error& e) {
    const std::string msg = e.what();
    if (msg.rfind("config:", 0) == 0) throw;
    throw Error("config: " + path + where + ": " + msg);
  }
}

}  // namespace

Config parse_config(const std::string& text, const std::string& source_dir) {
  json root;
  try {
    root = json::parse(text);
  } catch (const json::parse_error& e) {
    throw Error(std::string("config: not valid JSON: ") + e.what());
  }
  const auto& sections = detail::config_sections();
  auto section = [&](const char* name) { return *detail::find_section(sections, name); };
  Reader top(root, "", "", section("top level"));
  Config c;
  c.text = text;
  c.source_dir = source_dir;
  if (!top.has("schema_version")) top.fail("schema_version", "is required (1)");
  c.schema_version = static_cast<int>(top.integer("schema_version", 1));
  if (c.schema_version != 1) top.fail("schema_version", "unsupported version " + std::to_string(c.schema_version) + " (this build reads 1)");

  if (!top.has("model")) top.fail("model", "is required");
  Reader model(top.at("model"), "model", "", section("model"));
  if (!model.has("layers") || !model.at("layers").is_array() || model.at("layers").empty())
    model.fail("model.layers", "expected a non-empty list of layer objects");
  std::vector<LayerPtr> layers;
  const json& lj = model.at("layers");
  for (size_t i = 0; i < lj.size(); ++i) {
    std::string type;
    layers.push_back(parse_layer(lj[i], i, type));
    c.layer_types.push_back(type);
  }
  c.model = std::make_shared<Sequential>(layers);

  c.loss = top.choice("loss", "softmax_cross_entropy", {"softmax_cross_entropy", "mse", "binary_cross_entropy"});

  double lr = 1e-3;
  {
    static const json empty = json::object();
    Reader o(top.has("optimizer") ? top.at("optimizer") : empty, "optimizer", "", section("optimizer"));
    c.optimizer_name = o.choice("type", "adam", {"sgd", "adam", "adamw"});
    lr = o.number("learning_rate", 1e-3);
    if (!(lr > 0)) o.fail("optimizer.learning_rate", "must be positive");
    for (const char* k : {"momentum", "nesterov"})
      if (o.has(k) && c.optimizer_name != "sgd")
        o.fail(std::string("optimizer.") + k, "applies to sgd only, not " + c.optimizer_name);
    for (const char* k : {"b1", "b2", "eps"})
      if (o.has(k) && c.optimizer_name == "sgd") o.fail(std::string("optimizer.") + k, "applies to adam and adamw only");
    const double wd = o.number("weight_decay", c.optimizer_name == "adamw" ? 1e-2 : 0);
    try {
      if (c.optimizer_name == "sgd") c.optimizer = SGD(o.number("momentum", 0), o.boolean("nesterov", false), wd);
      else if (c.optimizer_name == "adam") c.optimizer = Adam(o.number("b1", 0.9), o.number("b2", 0.999), o.number("eps", 1e-8), wd);
      else c.optimizer = AdamW(o.number("b1", 0.9), o.number("b2", 0.999), o.number("eps", 1e-8), wd);
    } catch (const Error& e) {
      if (std::string(e.what()).rfind("config:", 0) == 0) throw;
      o.fail("optimizer", e.what());
    }
  }
  {
    static const json empty = json::object();
    Reader s(top.has("schedule") ? top.at("schedule") : empty, "schedule", "", section("schedule"));
    c.schedule.kind = s.choice("type", "constant", {"constant", "step", "cosine"});
    c.schedule.lr = lr;
    c.schedule.step_size = s.integer("step_size", 1000, 1);
    c.schedule.gamma = s.number("gamma", 0.1);
    c.schedule.warmup_steps = s.integer("warmup_steps", 0, 0);
    c.schedule.decay_steps = s.integer("decay_steps", 0, 0);
    c.schedule.final_fraction = s.number("final_fraction", 0);
  }
  {
    static const json empty = json::object();
    Reader d(top.has("data") ? top.at("data") : empty, "data", "", section("data"));
    DataConfig& dc = c.data;
    dc.source = d.choice("source", "fashion_mnist", {"fashion_mnist", "idx", "synthetic"});
    dc.dir = d.string("dir", dc.dir);
    dc.train_images = d.string("train_images", "");
    dc.train_labels = d.string("train_labels", "");
    dc.test_images = d.string("test_images", "");
    dc.test_labels = d.string("test_labels", "");
    dc.kind = d.string("kind", "");
    dc.train_size = d.integer("train_size", 0, 0);
    dc.test_size = d.integer("test_size", 0, 0);
    dc.num_classes = d.integer("num_classes", 10, 2);
    dc.mean = d.number("mean", 0);
    dc.std = d.number("std", 1);
    dc.noise_std = d.number("noise_std", 0);
    if (!(dc.std > 0)) d.fail("data.std", "must be positive");
    if (dc.noise_std < 0) d.fail("data.noise_std", "must be >= 0");
    if (dc.source == "synthetic") {
      if (dc.kind != "waves1d" && dc.kind != "images2d" && dc.kind != "blobs3d")
        d.fail("data.kind", "synthetic data needs kind waves1d, images2d or blobs3d, got '" + dc.kind + "'");
      if (dc.train_size <= 0 || dc.test_size <= 0) d.fail("data", "synthetic data needs train_size and test_size > 0");
    }
    if (dc.source == "idx")
      for (const char* k : {"train_images", "train_labels", "test_images", "test_labels"})
        if (d.string(k, "").empty()) d.fail(std::string("data.") + k, "is required for source idx");
  }
  {
    static const json empty = json::object();
    Reader t(top.has("training") ? top.at("training") : empty, "training", "", section("training"));
    TrainingConfig& tc = c.training;
    tc.epochs = t.integer("epochs", 1, 0);
    tc.batch_size = t.integer("batch_size", 64, 1);
    tc.seed = static_cast<uint64_t>(t.integer("seed", 0, 0));
    tc.threads = static_cast<int>(t.integer("threads", 0, 0));
    tc.max_steps_per_epoch = t.integer("max_steps_per_epoch", 0, 0);
    tc.metrics_file = t.string("metrics_file", "");
    tc.task = t.choice("task", "classify", {"classify", "reconstruct"});
    tc.output_dir = t.string("output_dir", "");
  }
  if (top.has("checkpoint")) {
    Reader k(top.at("checkpoint"), "checkpoint", "", section("checkpoint"));
    c.checkpoint.dir = k.string("dir", "");
    c.checkpoint.every_epochs = k.integer("every_epochs", 1, 1);
    c.checkpoint.keep = k.integer("keep", 2, 1);
  }
  if (c.training.task == "classify" && c.loss != "softmax_cross_entropy")
    top.fail("loss", "task classify needs softmax_cross_entropy (use training.task reconstruct for " + c.loss + ")");
  if (c.training.task == "reconstruct" && c.loss == "softmax_cross_entropy")
    top.fail("loss", "task reconstruct needs mse or binary_cross_entropy");
  // Shape errors surface here, naming the layer and its inferred input shape.
  Shape in{1};
  for (auto d : c.data.example_shape()) in.push_back(d);
  try {
    Shape out = c.model->output_shape(in);
    if (c.training.task == "classify" && (out.size() != 2 || out[1] != c.data.num_classes))
      throw Error("the model output " + to_string(out) + " must be (batch, classes) for classification with " +
                  std::to_string(c.data.num_classes) + " classes (data.num_classes)");
    if (c.training.task == "reconstruct" && out != in)
      throw Error("the model output " + to_string(out) + " must equal the input shape " + to_string(in) + " to reconstruct");
  } catch (const Error& e) {
    throw Error(std::string("config: model: ") + e.what());
  }
  return c;
}

Shape DataConfig::example_shape() const {
  if (source == "synthetic") {
    if (kind == "waves1d") return {32, 1};
    if (kind == "images2d") return {12, 12, 1};
    return {8, 8, 8, 1};
  }
  return {28, 28, 1};  // fashion_mnist; idx files are checked against the model when loaded
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
