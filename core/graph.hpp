// Internal: graph nodes, primitives and buffers. Not installed; ops/ and autodiff/ use it.
//
// An op is a thin free function that checks its arguments and calls make_tensor() with a
// Primitive. The Primitive holds the op's parameters, its CPU kernel (eval) and its vjp,
// written with the public ops so that gradients are graphs too.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "xlax/core.hpp"

namespace xlax::detail {

// A 64-byte aligned tensor buffer; its size counts in memory_stats().
struct Storage {
  explicit Storage(int64_t bytes);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  void* ptr = nullptr;
  int64_t bytes = 0;     // requested (what memory_stats counts)
  size_t capacity = 0;   // allocated (>= bytes; large buffers are reused, see memory.cpp)
};

struct Node;
using NodePtr = std::shared_ptr<Node>;

class Primitive {
 public:
  virtual ~Primitive() = default;
  virtual std::string name() const = 0;
  // Compute the output. `out.data` is already allocated (or donated: see donate_input).
  virtual void eval(const std::vector<const Node*>& inputs, Node& out) const = 0;
  // Cotangent for each input given the output cotangent `cot`. An empty Tensor means zero.
  // `needs[i]` says whether input i's cotangent is wanted (others may be left empty).
  virtual std::vector<Tensor> vjp(const std::vector<Tensor>& inputs, const Tensor& output,
                                  const Tensor& cot, const std::vector<bool>& needs) const = 0;
  // Elementwise ops may compute in place in input k's buffer when nothing else needs it
  // (same shape and dtype as the output). -1: never.
  virtual int donate_input() const { return -1; }
  // Layout-only ops (reshape) share input 0's buffer: buffers are immutable once computed.
  virtual bool aliases_input() const { return false; }
};

struct Node {
  std::shared_ptr<const Primitive> prim;  // null for leaves (constants)
  std::vector<NodePtr> inputs;
  Shape shape;
  DType dtype = DType::float32;
  int64_t size = 0;
  std::shared_ptr<Storage> data;  // set once evaluated
  bool tracer = false;            // built while a vjp trace was running (see autodiff)
  uint64_t visit_mark = 0;        // graph walks mark visited nodes (no hash set per eval)

  Node() = default;
  Node(const Node&) = delete;
  ~Node();  // iterative: a chain of 100,000 nodes must not overflow the stack

  bool evaluated() const { return static_cast<bool>(data); }
  template <class T>
  T* ptr() {
    return static_cast<T*>(data->ptr);
  }
  template <class T>
  const T* ptr() const {
    return static_cast<const T*>(data->ptr);
  }
};

// Builds a node; inputs must be valid tensors.
Tensor make_tensor(std::shared_ptr<const Primitive> prim, const std::vector<Tensor>& inputs,
                   Shape shape, DType dtype);
// A leaf with a fresh, uninitialised buffer (for creation functions and I/O).
Tensor make_leaf(Shape shape, DType dtype);

const Node& node_of(const Tensor& t, const char* function, const char* parameter);
// Element count of a shape: the one checked product of dims. A negative dim or a product
// beyond int64 is an xlax::Error (never signed overflow), naming the shape.
int64_t shape_size(const Shape& s);
Shape row_major_strides(const Shape& s);  // in elements

// A fresh mark for one graph walk: nodes whose visit_mark equals it were visited.
uint64_t new_visit_mark();

// Autodiff trace depth: while > 0, eval() keeps graph edges of tracer nodes.
int& trace_depth();

// Calls fn(T*) style templates on the dtype. Use as:
//   dispatch_float(dtype, "fn", [&](auto zero) { using T = decltype(zero); ... });
template <class F>
void dispatch_float(DType d, const char* fn, F&& f) {
  if (d == DType::float32)
    f(float{});
  else if (d == DType::float64)
    f(double{});
  else
    throw Error(std::string(fn) + ": dtype " + to_string(d) + " is not supported (float32 or float64 required)");
}
template <class F>
void dispatch_all(DType d, F&& f) {
  switch (d) {
    case DType::float32: f(float{}); break;
    case DType::float64: f(double{}); break;
    case DType::int32: f(int32_t{}); break;
    case DType::bool_: f(bool{}); break;
  }
}

}  // namespace xlax::detail
