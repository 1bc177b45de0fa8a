// xlax core: the lazy Tensor handle, dtypes, creation, conversions and the core ops.
// Nothing here computes until eval(), item(), to_vector/to_xarray or a save.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace xlax {

// Every invalid argument raises this; what() names the function, the parameter and the rule.
struct Error : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

enum class DType { float32, float64, int32, bool_ };  // only float tensors are differentiable
using Shape = std::vector<int64_t>;

std::string to_string(const Shape&);  // "(1, 200, 198, 3)", "(5,)", "()"
std::string to_string(DType);         // "float32", ...
int64_t itemsize(DType);
bool is_floating(DType);

namespace detail {
struct Node;
}

class Tensor {  // a handle to a node of the lazy graph; copying shares the node
 public:
  Tensor();                    // empty handle: any use but assignment throws Error
  const Shape& shape() const;  // known without evaluating
  int64_t ndim() const;
  int64_t size() const;
  DType dtype() const;
  const Tensor& eval() const;  // materialise (idempotent)
  template <class T>
  T item() const;  // T = float or double; size() == 1; evaluates; converts
  bool valid() const { return static_cast<bool>(node_); }

  // Internal: the graph node behind the handle.
  explicit Tensor(std::shared_ptr<detail::Node> node);
  const std::shared_ptr<detail::Node>& node() const;

 private:
  std::shared_ptr<detail::Node> node_;
};

void eval(const std::vector<Tensor>& outputs);  // evaluate several, sharing common work

// Conversions. The xtensor templates live in <xlax/xlax.hpp> (inline, over these).
template <class T>
Tensor asarray(const T* data, const Shape& shape);  // copies; T = float, double, int32_t
template <class T>
std::vector<T> to_vector(const Tensor& t);  // row-major, evaluates, converts to T
Tensor load_npy(const std::string& path);   // float32 / float64 / int32 / bool .npy
// A .npy file's header and raw little-endian bytes, for dtypes Tensor lacks (uint8, int64):
// descr is NumPy's ('<f4', '|u1', '<i8'); the file's size is checked against the header
// before anything is allocated; header_only leaves data empty.
struct NpyArray {
  Shape shape;
  std::string descr;
  int64_t itemsize = 0, data_bytes = 0;
  std::string data;
};
NpyArray read_npy(const std::string& path, bool header_only = false);
void save_npy(const std::string& path, const Tensor& t);  // atomic (temp file + rename)

Tensor zeros(const Shape&, DType = DType::float32);
Tensor ones(const Shape&, DType = DType::float32);
Tensor full(const Shape&, double value, DType = DType::float32);
Tensor zeros_like(const Tensor&);
Tensor ones_like(const Tensor&);
Tensor scalar(double value, DType = DType::float32);  // rank-0 tensor
Tensor arange(double start, double stop, double step = 1, DType = DType::float32);
Tensor linspace(double start, double stop, int64_t num, DType = DType::float32);
Tensor astype(const Tensor&, DType);
Tensor stop_gradient(const Tensor&);

namespace random {  // splittable counter-based keys (threefry-2x32), as jax.random
struct Key {
  uint32_t data[2];
};
Key key(uint64_t seed);
std::vector<Key> split(const Key&, int n = 2);
Tensor normal(const Key&, const Shape&, DType = DType::float32);
Tensor uniform(const Key&, const Shape&, DType = DType::float32, double lo = 0, double hi = 1);
Tensor bernoulli(const Key&, double p, const Shape&);             // bool_
std::vector<int64_t> permutation(const Key&, int64_t n);          // host-side shuffle
}  // namespace random

// Elementwise binary ops with NumPy broadcasting. A double takes the tensor's dtype;
// float32 with float64 gives float64; comparisons give bool_.
Tensor operator+(const Tensor&, const Tensor&);
Tensor operator-(const Tensor&, const Tensor&);
Tensor operator*(const Tensor&, const Tensor&);
Tensor operator/(const Tensor&, const Tensor&);
Tensor operator+(const Tensor&, double);
Tensor operator-(const Tensor&, double);
Tensor operator*(const Tensor&, double);
Tensor operator/(const Tensor&, double);
Tensor operator+(double, const Tensor&);
Tensor operator-(double, const Tensor&);
Tensor operator*(double, const Tensor&);
Tensor operator/(double, const Tensor&);
Tensor operator-(const Tensor&);
Tensor operator==(const Tensor&, const Tensor&);
Tensor operator!=(const Tensor&, const Tensor&);
Tensor operator<(const Tensor&, const Tensor&);
Tensor operator<=(const Tensor&, const Tensor&);
Tensor operator>(const Tensor&, const Tensor&);
Tensor operator>=(const Tensor&, const Tensor&);
Tensor operator==(const Tensor&, double);
Tensor operator!=(const Tensor&, double);
Tensor operator<(const Tensor&, double);
Tensor operator<=(const Tensor&, double);
Tensor operator>(const Tensor&, double);
Tensor operator>=(const Tensor&, double);
Tensor operator==(double, const Tensor&);
Tensor operator!=(double, const Tensor&);
Tensor operator<(double, const Tensor&);
Tensor operator<=(double, const Tensor&);
Tensor operator>(double, const Tensor&);
Tensor operator>=(double, const Tensor&);

Tensor exp(const Tensor&);
Tensor log(const Tensor&);
Tensor tanh(const Tensor&);
Tensor sqrt(const Tensor&);
Tensor abs(const Tensor&);
Tensor sign(const Tensor&);
Tensor logistic(const Tensor&);
Tensor negative(const Tensor&);
Tensor square(const Tensor&);
Tensor log1p(const Tensor&);
Tensor relu(const Tensor&);  // derivative 0 at 0, as JAX
Tensor pow(const Tensor&, double exponent);
Tensor maximum(const Tensor&, const Tensor&);
Tensor maximum(const Tensor&, double);
Tensor maximum(double, const Tensor&);
Tensor minimum(const Tensor&, const Tensor&);
Tensor minimum(const Tensor&, double);
Tensor minimum(double, const Tensor&);
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
Tensor where(const Tensor& cond, const Tensor& a, double b);
Tensor where(const Tensor& cond, double a, const Tensor& b);
Tensor where(const Tensor& cond, double a, double b);

// Reductions: axes {} = all axes. No single-int overloads (sum(x, {}) means all axes).
Tensor sum(const Tensor&, const std::vector<int64_t>& axes = {}, bool keepdims = false);
Tensor mean(const Tensor&, const std::vector<int64_t>& axes = {}, bool keepdims = false);
Tensor max(const Tensor&, const std::vector<int64_t>& axes = {}, bool keepdims = false);
Tensor min(const Tensor&, const std::vector<int64_t>& axes = {}, bool keepdims = false);
Tensor argmax(const Tensor&, int64_t axis, bool keepdims = false);  // int32
Tensor logsumexp(const Tensor&, const std::vector<int64_t>& axes = {}, bool keepdims = false);

Tensor reshape(const Tensor&, const Shape&);  // one -1 allowed
Tensor transpose(const Tensor&, const std::vector<int64_t>& axes = {});  // {} = reversed
Tensor broadcast_to(const Tensor&, const Shape&);
Tensor expand_dims(const Tensor&, const std::vector<int64_t>& axes);
Tensor squeeze(const Tensor&, const std::vector<int64_t>& axes = {});
Tensor concatenate(const std::vector<Tensor>&, int64_t axis);
Tensor matmul(const Tensor&, const Tensor&);

void set_num_threads(int n);  // also env XLAX_NUM_THREADS
int get_num_threads();

struct MemoryStats {
  int64_t bytes_in_use, peak_bytes;
};
MemoryStats memory_stats();  // tensor buffers only
void reset_peak_memory();

}  // namespace xlax
