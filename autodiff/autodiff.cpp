// Reverse mode: vjp traces f on fresh leaf nodes, then walks the recorded graph backwards,
// asking each primitive for its vjp. The rules build graph nodes with the public ops, so a
// gradient is just a bigger graph: grad of grad works and nothing is evaluated here.
#include <unordered_map>
#include <unordered_set>

#include "core/graph.hpp"
#include "xlax/autodiff.hpp"

namespace xlax {
using detail::Node;
using detail::NodePtr;

namespace {

// The fresh leaf a trace differentiates with respect to: an identity of the primal, so an
// enclosing trace still sees through it (grad of grad).
class TraceLeaf : public detail::Primitive {
 public:
  std::string name() const override { return "trace_leaf"; }
  bool aliases_input() const override { return true; }
  void eval(const std::vector<const Node*>&, Node&) const override {}
  std::vector<Tensor> vjp(const std::vector<Tensor>&, const Tensor&, const Tensor& c,
                          const std::vector<bool>&) const override {
    return {c};
  }
};

struct TraceScope {
  TraceScope() { ++detail::trace_depth(); }
  ~TraceScope() { --detail::trace_depth(); }
};

// Nodes reachable from the outputs, inputs first, not looking past the trace's leaves.
std::vector<NodePtr> backward_order(const std::vector<Tensor>& outputs,
                                    const std::unordered_set<const Node*>& leaves) {
  std::vector<NodePtr> order;
  std::unordered_set<const Node*> visited;
  std::vector<std::pair<NodePtr, size_t>> stack;
  for (const auto& out : outputs) {
    if (!visited.insert(out.node().get()).second) continue;
    stack.push_back({out.node(), 0});
    while (!stack.empty()) {
      auto& [node, next] = stack.back();
      const bool is_leaf = leaves.count(node.get()) > 0;
      if (!is_leaf && next < node->inputs.size()) {
        NodePtr in = node->inputs[next++];
        if (visited.insert(in.get()).second) stack.push_back({in, 0});
      } else {
        order.push_back(node);
        stack.pop_back();
      }
    }
  }
  return order;
}

}  // namespace

namespace {
using CotangentFn = std::function<std::vector<Tensor>(const std::vector<Tensor>& outputs)>;

// Cotangents are made from the traced outputs: grad only learns the output dtype by tracing.
std::pair<std::vector<Tensor>, std::vector<Tensor>> vjp_impl(const Fn& f, const std::vector<Tensor>& primals,
                                                             const CotangentFn& make_cotangents) {
  std::vector<Tensor> leaves;
  std::unordered_set<const Node*> leaf_set;
  std::vector<Tensor> outputs;
  {
    TraceScope scope;
    auto leaf_prim = std::make_shared<TraceLeaf>();
    for (size_t i = 0; i < primals.size(); ++i) {
      const Node& p = detail::node_of(primals[i], "vjp", "primals");
      Tensor leaf = detail::make_tensor(leaf_prim, {primals[i]}, p.shape, p.dtype);
      leaf.node()->tracer = true;
      leaf_set.insert(leaf.node().get());
      leaves.push_back(leaf);
    }
    outputs = f(leaves);
  }
  std::vector<Tensor> cotangents = make_cotangents(outputs);
  if (cotangents.size() != outputs.size())
    throw Error("vjp: got " + std::to_string(cotangents.size()) + " cotangents for " +
                std::to_string(outputs.size()) + " outputs of f");
  for (size_t i = 0; i < outputs.size(); ++i) {
    const Node& o = detail::node_of(outputs[i], "vjp", "outputs of f");
    const Node& c = detail::node_of(cotangents[i], "vjp", "cotangents");
    if (o.shape != c.shape || o.dtype != c.dtype)
      throw Error("vjp: cotangents[" + std::to_string(i) + "] has shape " + to_string(c.shape) + " and dtype " +
                  to_string(c.dtype) + " but output " + std::to_string(i) + " has shape " + to_string(o.shape) +
                  " and dtype " + to_string(o.dtype));
  }

  std::vector<NodePtr> order = backward_order(outputs, leaf_set);
  // Which nodes depend on a leaf: only those carry cotangents.
  std::unordered_set<const Node*> depends;
  for (const auto& node : order) {
    bool d = leaf_set.count(node.get()) > 0;
    for (const auto& in : node->inputs) d = d || depends.count(in.get());
    if (d && is_floating(node->dtype)) depends.insert(node.get());
  }

  std::unordered_map<const Node*, Tensor> cot;
  auto accumulate = [&](const NodePtr& node, Tensor c) {
    if (c.dtype() != node->dtype) c = astype(c, node->dtype);
    if (c.shape() != node->shape)
      throw std::logic_error("vjp: internal error: cotangent of " +
                             (node->prim ? node->prim->name() : std::string("leaf")) + " has shape " +
                             to_string(c.shape()) + ", expected " + to_string(node->shape));
    auto it = cot.find(node.get());
    if (it == cot.end()) cot.emplace(node.get(), c);
    else it->second = it->second + c;
  };
  for (size_t i = 0; i < outputs.size(); ++i)
    if (depends.count(outputs[i].node().get())) accumulate(outputs[i].node(), cotangents[i]);

  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const NodePtr& node = *it;
    if (leaf_set.count(node.get()) || !node->prim) continue;
    auto found = cot.find(node.get());
    if (found == cot.end()) continue;
    std::vector<bool> needs(node->inputs.size());
    bool any = false;
    std::vector<Tensor> inputs;
    for (size_t j = 0; j < node->inputs.size(); ++j) {
      needs[j] = depends.count(node->inputs[j].get()) > 0;
      any = any || needs[j];
      inputs.emplace_back(node->inputs[j]);
    }
    if (!any) continue;
    Tensor c = found->second;
    std::vector<Tensor> input_cots = node->prim->vjp(inputs, Tensor(node), c, needs);
    for (size_t j = 0; j < node->inputs.size(); ++j)
      if (needs[j] && j < input_cots.size() && input_cots[j].valid()) accumulate(node->inputs[j], input_cots[j]);
  }

  std::vector<Tensor> result;
  for (size_t i = 0; i < leaves.size(); ++i) {
    auto found = cot.find(leaves[i].node().get());
    result.push_back(found != cot.end() ? found->second : zeros(leaves[i].shape(), leaves[i].dtype()));
  }
  return {outputs, result};
}

}  // namespace

std::pair<std::vector<Tensor>, std::vector<Tensor>> vjp(const Fn& f, const std::vector<Tensor>& primals,
                                                        const std::vector<Tensor>& cotangents) {
  return vjp_impl(f, primals, [&](const std::vector<Tensor>&) { return cotangents; });
}

namespace {
std::pair<Tensor, std::vector<Tensor>> value_and_grad_impl(const ScalarFn& f, const std::vector<int>& argnums,
                                                           const std::vector<Tensor>& args, const char* fn) {
  for (int a : argnums)
    if (a < 0 || a >= static_cast<int>(args.size()))
      throw Error(std::string(fn) + ": argnums entry " + std::to_string(a) + " is out of range for " +
                  std::to_string(args.size()) + " arguments");
  Fn traced = [&](const std::vector<Tensor>& xs) -> std::vector<Tensor> {
    Tensor out = f(xs);
    const Node& n = detail::node_of(out, fn, "the output of f");
    if (!n.shape.empty())
      throw Error(std::string(fn) + ": f must return a scalar (shape ()), got shape " + to_string(n.shape));
    if (!is_floating(n.dtype))
      throw Error(std::string(fn) + ": f must return a float32 or float64 scalar, got " + to_string(n.dtype));
    return {out};
  };
  auto [outs, cots] = vjp_impl(traced, args, [](const std::vector<Tensor>& outputs) {
    return std::vector<Tensor>{ones({}, outputs[0].dtype())};
  });
  std::vector<Tensor> grads;
  for (int a : argnums) grads.push_back(cots[a]);
  return {outs[0], grads};
}
}  // namespace

Fn grad(const ScalarFn& f, const std::vector<int>& argnums) {
  return [f, argnums](const std::vector<Tensor>& args) { return value_and_grad_impl(f, argnums, args, "grad").second; };
}

std::function<std::pair<Tensor, std::vector<Tensor>>(const std::vector<Tensor>&)> value_and_grad(
    const ScalarFn& f, const std::vector<int>& argnums) {
  return [f, argnums](const std::vector<Tensor>& args) { return value_and_grad_impl(f, argnums, args, "value_and_grad"); };
}

}  // namespace xlax
