// Graph: layers wired by name into a directed acyclic graph, evaluated in the order given.
// Sequential is the chain of unnamed nodes. Errors are detail::GraphError (node, field,
// rule), which the config parser turns into JSON paths.
#include <algorithm>

#include "nn/layer_util.hpp"

namespace xlax::nn {

// ---- the multi-input forms every layer has ----------------------------------------------

namespace {
void require_one_input(const Layer& layer, size_t count) {
  if (count != 1) throw Error(layer.type() + " takes exactly 1 input, got " + std::to_string(count));
}
}  // namespace

Shape Layer::output_shape_multi(const std::vector<Shape>& input_shapes) const {
  require_one_input(*this, input_shapes.size());
  return output_shape(input_shapes[0]);
}
std::vector<Tensor> Layer::init_multi(const random::Key& key, const std::vector<Shape>& input_shapes, DType dtype) const {
  require_one_input(*this, input_shapes.size());
  return init(key, input_shapes[0], dtype);
}
Tensor Layer::apply_multi(const std::vector<Tensor>& params, const std::vector<Tensor>& inputs, Context& ctx) const {
  require_one_input(*this, inputs.size());
  return apply(params, inputs[0], ctx);
}

// ---- Graph ----------------------------------------------------------------------------

namespace detail {
GraphError::GraphError(int64_t node, std::string label, std::string field, std::string rule)
    : Error(node < 0 ? "Graph: " + field + ": " + rule
                     : field.empty() ? "Graph: layer " + std::to_string(node) + " (" + label + "): " + rule
                                     : "Graph: layer " + std::to_string(node) + " (" + label + "): " + field + ": " + rule),
      node(node), label(std::move(label)), field(std::move(field)), rule(std::move(rule)) {}
}  // namespace detail

namespace {
constexpr const char* kInput = "input";

std::string label_of(const GraphNode& n, bool named) { return n.layer->type() + (named ? " '" + n.name + "'" : ""); }
}  // namespace

Graph::Graph(std::vector<GraphNode> nodes, std::string output) : nodes_(std::move(nodes)) {
  if (nodes_.empty()) throw detail::GraphError(-1, "", "nodes", "a graph needs at least one layer");
  std::map<std::string, int> index;
  offsets_.push_back(0);
  for (size_t i = 0; i < nodes_.size(); ++i) {
    GraphNode& n = nodes_[i];
    const int self = static_cast<int>(i);
    if (!n.layer) throw detail::GraphError(self, "null", "layer", "no layer given (null)");
    layers_.push_back(n.layer);
    named_.push_back(!n.name.empty());
    if (n.name.empty()) n.name = std::to_string(i);
    auto fail = [&](const std::string& field, const std::string& rule) {
      throw detail::GraphError(self, label_of(n, named_[i]), field, rule);
    };
    if (n.name == kInput) fail("name", "'input' is reserved for the model input");
    if (n.name.find_first_of("./ \t\n") != std::string::npos)
      fail("name", "'" + n.name + "' may not contain '.', '/' or spaces (they separate parameter names)");
    if (index.count(n.name))
      fail("name", "duplicate name '" + n.name + "' (layer " + std::to_string(index[n.name]) + " has it)");
    if (n.inputs.empty()) n.inputs.push_back(i == 0 ? kInput : nodes_[i - 1].name);  // the previous node
    std::vector<int> in;
    for (const auto& name : n.inputs) {
      if (name == kInput) {
        in.push_back(-1);
        continue;
      }
      auto it = index.find(name);
      if (it != index.end()) {
        in.push_back(it->second);
        continue;
      }
      bool later = false;
      for (size_t j = i; j < nodes_.size() && !later; ++j) later = nodes_[j].name == name;
      fail("inputs", later ? "'" + name + "' is this layer or a later one: a layer may only read earlier layers "
                                 "(the graph must be acyclic)"
                           : "unknown layer '" + name + "' (inputs name earlier layers or \"input\")");
    }
    if (n.layer->multi_input() && in.size() < 2)
      fail("inputs", n.layer->type() + " takes 2 or more inputs, got " + std::to_string(in.size()) +
                         " (list them in \"inputs\")");
    if (!n.layer->multi_input() && in.size() != 1)
      fail("inputs", n.layer->type() + " takes exactly 1 input, got " + std::to_string(in.size()));
    inputs_.push_back(std::move(in));
    index[n.name] = self;
    offsets_.push_back(offsets_.back() + n.layer->param_info().size());
  }
  output_ = nodes_.size() - 1;
  if (!output.empty()) {
    auto it = index.find(output);
    if (it == index.end())
      throw detail::GraphError(-1, "", "output", "'" + output + "' is not a layer name" +
                                                     (output == kInput ? " (the model input cannot be the output)" : ""));
    output_ = static_cast<size_t>(it->second);
  }
  // Every node must feed the output: walk back from it; the first unreached node that no
  // node reads is reported (the last unreached node never has a reader).
  std::vector<bool> reached(nodes_.size(), false), read(nodes_.size(), false);
  reached[output_] = true;
  for (size_t i = nodes_.size(); i-- > 0;)
    for (int j : inputs_[i]) {
      if (j < 0) continue;
      read[j] = true;
      if (reached[i]) reached[j] = true;
    }
  for (size_t i = 0; i < nodes_.size(); ++i)
    if (!reached[i] && !read[i])
      throw detail::GraphError(static_cast<int64_t>(i), label_of(nodes_[i], named_[i]), "",
                               "the output of this layer is used by no other layer (only the model output, the last "
                               "layer or model.output, may be unused)");
  last_use_.assign(nodes_.size(), -1);
  for (size_t i = 0; i < nodes_.size(); ++i)
    for (int j : inputs_[i])
      if (j >= 0) last_use_[j] = static_cast<int>(i);
}

std::vector<ParamInfo> Graph::param_info() const {
  std::vector<ParamInfo> out;
  for (auto& n : nodes_)
    for (auto& p : n.layer->param_info()) out.push_back({n.name + "." + p.name, p.trainable});
  return out;
}

namespace {
// The rule part of a shape error: the shapes a node was given, named by their sources.
std::string inputs_phrase(const Graph& g, size_t node, const std::vector<Shape>& in) {
  if (!g.nodes()[node].layer->multi_input()) return "with inferred input shape " + to_string(in.at(0));
  std::string s = "with input shapes ";
  for (size_t k = 0; k < in.size(); ++k) {
    const int j = g.node_inputs()[node][k];
    s += (k ? ", " : "") + to_string(in[k]) + " from '" + (j < 0 ? std::string(kInput) : g.nodes()[j].name) + "'";
  }
  return s;
}
}  // namespace

template <class F>
void Graph::for_each_node(const Shape& input_shape, F&& run) const {
  std::vector<Shape> shapes(nodes_.size());
  for (size_t i = 0; i < nodes_.size(); ++i) {
    std::vector<Shape> in;
    for (int j : inputs_[i]) in.push_back(j < 0 ? input_shape : shapes[j]);
    try {
      shapes[i] = run(i, in);
    } catch (const detail::GraphError&) {
      throw;
    } catch (const Error& e) {
      throw detail::GraphError(static_cast<int64_t>(i), label_of(nodes_[i], named_[i]), "",
                               inputs_phrase(*this, i, in) + ": " + e.what());
    }
  }
}

std::vector<Shape> Graph::layer_output_shapes(const Shape& input_shape) const {
  std::vector<Shape> out;
  for_each_node(input_shape, [&](size_t i, const std::vector<Shape>& in) {
    out.push_back(nodes_[i].layer->output_shape_multi(in));
    return out.back();
  });
  return out;
}

Shape Graph::output_shape(const Shape& input_shape) const { return layer_output_shapes(input_shape)[output_]; }

std::vector<Tensor> Graph::init(const random::Key& key, const Shape& input_shape, DType dtype) const {
  std::vector<Tensor> params;
  auto keys = random::split(key, static_cast<int>(nodes_.size()) + 1);
  for_each_node(input_shape, [&](size_t i, const std::vector<Shape>& in) {
    auto p = nodes_[i].layer->init_multi(keys[i], in, dtype);
    params.insert(params.end(), p.begin(), p.end());
    return nodes_[i].layer->output_shape_multi(in);
  });
  return params;
}

Tensor Graph::apply(const std::vector<Tensor>& params, const Tensor& x, Context& ctx) const {
  if (params.size() != offsets_.back())
    throw Error(type() + ".apply: got " + std::to_string(params.size()) + " parameter tensors, the model has " +
                std::to_string(offsets_.back()));
  std::vector<random::Key> keys;
  if (ctx.train) keys = random::split(ctx.key, static_cast<int>(nodes_.size()) + 1);
  std::vector<Tensor> values(nodes_.size());
  for (size_t i = 0; i < nodes_.size(); ++i) {
    Context sub = ctx;
    sub.scope = ctx.scope + nodes_[i].name + ".";
    if (ctx.train) sub.key = keys[i];
    std::vector<Tensor> in;
    for (int j : inputs_[i]) in.push_back(j < 0 ? x : values[j]);
    std::vector<Tensor> p(params.begin() + offsets_[i], params.begin() + offsets_[i + 1]);
    try {
      values[i] = nodes_[i].layer->apply_multi(p, in, sub);
    } catch (const detail::GraphError&) {
      throw;
    } catch (const Error& e) {
      std::vector<Shape> shapes;
      for (auto& t : in) shapes.push_back(t.shape());
      throw detail::GraphError(static_cast<int64_t>(i), label_of(nodes_[i], named_[i]), "",
                               inputs_phrase(*this, i, shapes) + ": " + e.what());
    }
    // drop inputs no later node reads, so their buffers can go as soon as autodiff allows
    for (int j : inputs_[i])
      if (j >= 0 && last_use_[j] == static_cast<int>(i) && static_cast<size_t>(j) != output_) values[j] = Tensor();
  }
  return values[output_];
}

// ---- Sequential -----------------------------------------------------------------------

namespace {
std::vector<GraphNode> chain(const std::vector<LayerPtr>& layers) {
  std::vector<GraphNode> nodes;
  for (size_t i = 0; i < layers.size(); ++i) {
    if (!layers[i]) throw Error("Sequential: layer " + std::to_string(i) + " is null");
    nodes.push_back({layers[i], "", {}});
  }
  if (nodes.empty()) throw Error("Sequential: needs at least one layer");
  return nodes;
}
}  // namespace

Sequential::Sequential(std::vector<LayerPtr> layers) : Graph(chain(layers)) {}

}  // namespace xlax::nn
