// The Tensor handle, node construction and the evaluator.
#include <algorithm>
#include <cstring>
#include <atomic>

#include "core/graph.hpp"

namespace xlax {
namespace detail {

int64_t shape_size(const Shape& s) {
  for (int64_t d : s)
    if (d < 0) throw Error("shape " + to_string(s) + " has a negative dimension");
  if (std::find(s.begin(), s.end(), 0) != s.end()) return 0;  // empty, whatever the other dims
  int64_t n = 1;
  for (int64_t d : s) {
    int64_t r;
    if (__builtin_mul_overflow(n, d, &r))
      throw Error("shape " + to_string(s) + " has more than 2^63 - 1 elements");
    n = r;
  }
  return n;
}

Shape row_major_strides(const Shape& s) {
  Shape st(s.size(), 1);
  for (int64_t i = static_cast<int64_t>(s.size()) - 2; i >= 0; --i) st[i] = st[i + 1] * s[i + 1];
  return st;
}

uint64_t new_visit_mark() {
  static std::atomic<uint64_t> counter{0};
  return ++counter;
}

int& trace_depth() {
  static thread_local int depth = 0;
  return depth;
}

// Destroying the last handle of a long chain would recurse once per node; instead the
// inputs that die with this node are queued and released by the outermost destructor.
Node::~Node() {
  static thread_local std::vector<NodePtr> pending;
  static thread_local bool draining = false;
  for (auto& in : inputs)
    if (in && in.use_count() == 1) pending.push_back(std::move(in));
  inputs.clear();
  if (draining) return;
  draining = true;
  while (!pending.empty()) {
    NodePtr victim = std::move(pending.back());
    pending.pop_back();
    victim.reset();  // may push more onto `pending`
  }
  draining = false;
}

const Node& node_of(const Tensor& t, const char* function, const char* parameter) {
  if (!t.valid())
    throw Error(std::string(function) + ": " + parameter + " is an empty Tensor handle");
  return *t.node();
}

Tensor make_tensor(std::shared_ptr<const Primitive> prim, const std::vector<Tensor>& inputs,
                   Shape shape, DType dtype) {
  auto node = std::make_shared<Node>();
  node->prim = std::move(prim);
  node->inputs.reserve(inputs.size());
  for (const auto& t : inputs) {
    if (!t.valid()) throw Error(node->prim->name() + ": an input is an empty Tensor handle");
    node->tracer = node->tracer || t.node()->tracer;
    node->inputs.push_back(t.node());
  }
  node->size = shape_size(shape);
  node->shape = std::move(shape);
  node->dtype = dtype;
  return Tensor(std::move(node));
}

Tensor make_leaf(Shape shape, DType dtype) {
  auto node = std::make_shared<Node>();
  node->size = shape_size(shape);
  node->shape = std::move(shape);
  node->dtype = dtype;
  node->data = std::make_shared<Storage>(node->size * itemsize(dtype));
  return Tensor(std::move(node));
}

namespace {

// Unevaluated nodes reachable from the roots, inputs before consumers; no recursion.
std::vector<Node*> topological_order(const std::vector<Node*>& roots) {
  std::vector<Node*> order;
  const uint64_t mark = new_visit_mark();
  auto first_visit = [mark](Node* n) {
    if (n->visit_mark == mark) return false;
    n->visit_mark = mark;
    return true;
  };
  std::vector<std::pair<Node*, size_t>> stack;
  for (Node* root : roots) {
    if (root->evaluated() || !first_visit(root)) continue;
    stack.push_back({root, 0});
    while (!stack.empty()) {
      auto& [node, next] = stack.back();
      if (next < node->inputs.size()) {
        Node* in = node->inputs[next++].get();
        if (!in->evaluated() && first_visit(in)) stack.push_back({in, 0});
      } else {
        order.push_back(node);
        stack.pop_back();
      }
    }
  }
  return order;
}

void run_node(Node& node) {
  std::vector<const Node*> ins;
  ins.reserve(node.inputs.size());
  for (auto& in : node.inputs) ins.push_back(in.get());
  if (node.prim->aliases_input()) {
    node.data = node.inputs[0]->data;
    return;
  }
  int k = node.prim->donate_input();
  if (k >= 0 && k < static_cast<int>(node.inputs.size())) {
    // Reuse the input's buffer when this node is its only holder: elementwise chains then
    // run in one buffer instead of allocating one per op.
    NodePtr& in = node.inputs[k];
    if (in.use_count() == 1 && in->data && in->data.use_count() == 1 && in->shape == node.shape &&
        in->dtype == node.dtype)
      node.data = in->data;
  }
  if (!node.data) node.data = std::make_shared<Storage>(node.size * itemsize(node.dtype));
  node.prim->eval(ins, node);
}

void run_and_release(Node& node, bool tracing) {
  run_node(node);
  // Once computed, a node no longer needs its inputs: dropping the edges frees every
  // intermediate whose last consumer has run (nodes are owned by their consumers and by
  // user handles). Inside a vjp trace the edges of traced nodes must stay for the backward
  // pass.
  if (!(tracing && node.tracer)) node.inputs.clear();
}

}  // namespace
}  // namespace detail

using detail::Node;

Tensor::Tensor() = default;
Tensor::Tensor(std::shared_ptr<detail::Node> node) : node_(std::move(node)) {}
const std::shared_ptr<detail::Node>& Tensor::node() const { return node_; }

const Shape& Tensor::shape() const { return detail::node_of(*this, "Tensor::shape", "this").shape; }
int64_t Tensor::ndim() const {
  return static_cast<int64_t>(detail::node_of(*this, "Tensor::ndim", "this").shape.size());
}
int64_t Tensor::size() const { return detail::node_of(*this, "Tensor::size", "this").size; }
DType Tensor::dtype() const { return detail::node_of(*this, "Tensor::dtype", "this").dtype; }

const Tensor& Tensor::eval() const {
  Node& node = const_cast<Node&>(detail::node_of(*this, "Tensor::eval", "this"));
  if (node.evaluated()) return *this;
  // A fresh op on computed tensors (the common case in eager-style code): no graph walk.
  bool inputs_ready = true;
  for (const auto& in : node.inputs) inputs_ready = inputs_ready && in->evaluated();
  if (inputs_ready) {
    detail::run_and_release(node, detail::trace_depth() > 0);
    return *this;
  }
  xlax::eval({*this});
  return *this;
}

void eval(const std::vector<Tensor>& outputs) {
  std::vector<Node*> roots;
  for (const auto& t : outputs) roots.push_back(&const_cast<Node&>(detail::node_of(t, "eval", "outputs")));
  std::vector<Node*> order = detail::topological_order(roots);
  const bool tracing = detail::trace_depth() > 0;
  for (Node* node : order) detail::run_and_release(*node, tracing);
}

template <class T>
T Tensor::item() const {
  if (size() != 1)
    throw Error("Tensor::item: size() must be 1, got shape " + to_string(shape()));
  return to_vector<T>(*this)[0];
}
template float Tensor::item<float>() const;
template double Tensor::item<double>() const;
template int32_t Tensor::item<int32_t>() const;

template <class T>
Tensor asarray(const T* data, const Shape& shape) {
  for (int64_t d : shape)
    if (d < 0) throw Error("asarray: shape " + to_string(shape) + " has a negative dimension");
  constexpr DType dt = std::is_same_v<T, float>    ? DType::float32
                       : std::is_same_v<T, double> ? DType::float64
                                                   : DType::int32;
  Tensor t = detail::make_leaf(shape, dt);
  if (t.size() > 0) std::memcpy(t.node()->data->ptr, data, t.size() * sizeof(T));
  return t;
}
template Tensor asarray<float>(const float*, const Shape&);
template Tensor asarray<double>(const double*, const Shape&);
template Tensor asarray<int32_t>(const int32_t*, const Shape&);

template <class T>
std::vector<T> to_vector(const Tensor& t) {
  const Node& node = detail::node_of(t, "to_vector", "t");
  t.eval();
  std::vector<T> out(node.size);
  detail::dispatch_all(node.dtype, [&](auto zero) {
    using S = decltype(zero);
    const S* src = node.ptr<S>();
    for (int64_t i = 0; i < node.size; ++i) out[i] = static_cast<T>(src[i]);
  });
  return out;
}
template std::vector<float> to_vector<float>(const Tensor&);
template std::vector<double> to_vector<double>(const Tensor&);
template std::vector<int32_t> to_vector<int32_t>(const Tensor&);
template std::vector<int64_t> to_vector<int64_t>(const Tensor&);
template std::vector<uint8_t> to_vector<uint8_t>(const Tensor&);

}  // namespace xlax
