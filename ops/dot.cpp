// lax::dot_general and matmul. The kernel reads each operand through strides: batch dims
// loop over gemm calls, free and contracting dims are each merged into one gemm stride when
// their layout allows (transposes cost nothing), else that operand is packed once.
#include <algorithm>

#include "core/graph.hpp"
#include "core/strided.hpp"
#include "ops/kernels/gemm.hpp"
#include "ops/op_util.hpp"
#include "xlax/lax.hpp"

namespace xlax {
using detail::Node;

namespace {

// Dims of an operand that are neither contracted nor batch, in increasing order.
std::vector<int64_t> free_dims(int64_t rank, const std::vector<int64_t>& contracting,
                               const std::vector<int64_t>& batch) {
  std::vector<int64_t> out;
  for (int64_t d = 0; d < rank; ++d)
    if (std::find(contracting.begin(), contracting.end(), d) == contracting.end() &&
        std::find(batch.begin(), batch.end(), d) == batch.end())
      out.push_back(d);
  return out;
}

// If the dims (in this order) enumerate row-major with a single stride, returns true and
// that stride: then their flattened index can be one gemm index.
bool merged_stride(const std::vector<int64_t>& dims, const Shape& shape, const Shape& strides, int64_t& stride) {
  stride = 1;
  int64_t prev = -1;
  for (int64_t d : dims) {
    if (shape[d] == 1) continue;
    if (prev >= 0 && strides[prev] != strides[d] * shape[d]) return false;
    prev = d;
  }
  if (prev >= 0) stride = strides[prev];
  return true;
}

int64_t product(const Shape& shape, const std::vector<int64_t>& dims) {
  int64_t p = 1;
  for (int64_t d : dims) p *= shape[d];
  return p;
}

// One operand as seen by the gemm loop: a base pointer, per-batch-dim strides, and the
// merged strides of its free ("row" side) and contracting dims.
template <class T>
struct GemmOperand {
  const T* data;
  std::vector<int64_t> batch_strides;
  int64_t free_stride = 1, contract_stride = 1;
  std::vector<T> packed;  // owns the data when the layout had to be copied

  GemmOperand(const Node& x, const std::vector<int64_t>& batch, const std::vector<int64_t>& free,
              const std::vector<int64_t>& contracting, bool contract_inner) {
    Shape st = detail::row_major_strides(x.shape);
    data = x.ptr<T>();
    bool ok = merged_stride(free, x.shape, st, free_stride) && merged_stride(contracting, x.shape, st, contract_stride);
    if (!ok) {
      // Pack as [batch, free, contracting] (lhs) or [batch, contracting, free] (rhs).
      std::vector<int64_t> order = batch;
      const auto& first = contract_inner ? free : contracting;
      const auto& second = contract_inner ? contracting : free;
      order.insert(order.end(), first.begin(), first.end());
      order.insert(order.end(), second.begin(), second.end());
      Shape pshape(order.size());
      std::vector<int64_t> src_st(order.size());
      for (size_t i = 0; i < order.size(); ++i) {
        pshape[i] = x.shape[order[i]];
        src_st[i] = st[order[i]];
      }
      packed.resize(x.size);
      std::array<std::vector<int64_t>, 2> both{src_st, detail::row_major_strides(pshape)};
      const T* src = x.ptr<T>();
      T* dst = packed.data();
      detail::strided_rows<2>(pshape, both, [&](int64_t n, auto off, auto inner) {
        for (int64_t i = 0; i < n; ++i) dst[off[1] + i] = src[off[0] + i * inner[0]];
      });
      Shape pst = detail::row_major_strides(pshape);
      for (size_t i = 0; i < order.size(); ++i) st[order[i]] = pst[i];
      merged_stride(free, x.shape, st, free_stride);
      merged_stride(contracting, x.shape, st, contract_stride);
      data = packed.data();
    }
    for (int64_t d : batch) batch_strides.push_back(st[d]);
  }
};

class DotGeneral : public detail::Primitive {
 public:
  explicit DotGeneral(lax::DotDimensionNumbers dn) : dn_(std::move(dn)) {}
  std::string name() const override { return "dot_general"; }

  void eval(const std::vector<const Node*>& in, Node& out) const override {
    const Node& a = *in[0];
    const Node& b = *in[1];
    const auto lhs_free = free_dims(a.shape.size(), dn_.lhs_contracting, dn_.lhs_batch);
    const auto rhs_free = free_dims(b.shape.size(), dn_.rhs_contracting, dn_.rhs_batch);
    const int64_t M = product(a.shape, lhs_free), N = product(b.shape, rhs_free);
    const int64_t K = product(a.shape, dn_.lhs_contracting);
    Shape batch_shape;
    for (int64_t d : dn_.lhs_batch) batch_shape.push_back(a.shape[d]);
    const int64_t batches = detail::shape_size(batch_shape);
    detail::dispatch_float(out.dtype, "dot_general", [&](auto zero) {
      using T = decltype(zero);
      T* c = out.ptr<T>();
      if (out.size == 0) return;
      if (K == 0) {
        std::fill(c, c + out.size, T(0));
        return;
      }
      GemmOperand<T> A(a, dn_.lhs_batch, lhs_free, dn_.lhs_contracting, true);
      GemmOperand<T> B(b, dn_.rhs_batch, rhs_free, dn_.rhs_contracting, false);
      std::vector<int64_t> idx(batch_shape.size(), 0);
      int64_t a_off = 0, b_off = 0;
      for (int64_t bi = 0; bi < batches; ++bi) {
        kernels::gemm<T>(M, N, K, A.data + a_off, A.free_stride, A.contract_stride, B.data + b_off,
                         B.contract_stride, B.free_stride, c + bi * M * N, N, false);
        // advance the batch odometer
        for (int64_t d = static_cast<int64_t>(idx.size()) - 1; d >= 0; --d) {
          a_off += A.batch_strides[d];
          b_off += B.batch_strides[d];
          if (++idx[d] < batch_shape[d]) break;
          a_off -= A.batch_strides[d] * batch_shape[d];
          b_off -= B.batch_strides[d] * batch_shape[d];
          idx[d] = 0;
        }
      }
    });
  }

  // The cotangent is [batch, lhs free, rhs free]. Contracting it with the other operand over
  // that operand's free dims gives [batch, own free, own contracting (in the other operand's
  // order)], which a transpose puts back in the operand's own dim order.
  std::vector<Tensor> vjp(const std::vector<Tensor>& in, const Tensor&, const Tensor& c,
                          const std::vector<bool>& needs) const override {
    const int64_t ra = in[0].ndim(), rb = in[1].ndim();
    const auto lhs_free = free_dims(ra, dn_.lhs_contracting, dn_.lhs_batch);
    const auto rhs_free = free_dims(rb, dn_.rhs_contracting, dn_.rhs_batch);
    const int64_t nb = static_cast<int64_t>(dn_.lhs_batch.size());
    const int64_t nlf = static_cast<int64_t>(lhs_free.size());
    std::vector<int64_t> cot_batch(nb);
    for (int64_t i = 0; i < nb; ++i) cot_batch[i] = i;
    Tensor da, db;
    if (needs[0])
      da = transpose_back(c, in[1], cot_batch, nb + nlf, rhs_free, dn_.rhs_batch, dn_.rhs_contracting,
                          dn_.lhs_batch, lhs_free, dn_.lhs_contracting, ra);
    if (needs[1])
      db = transpose_back(c, in[0], cot_batch, nb, lhs_free, dn_.lhs_batch, dn_.lhs_contracting, dn_.rhs_batch,
                          rhs_free, dn_.rhs_contracting, rb);
    return {da, db};
  }

 private:
  // Cotangent of the operand "mine", given the other operand "other": contracts the
  // cotangent's block of other-free dims (starting at cot_first) with other's free dims.
  static Tensor transpose_back(const Tensor& c, const Tensor& other, const std::vector<int64_t>& cot_batch,
                               int64_t cot_first, const std::vector<int64_t>& other_free,
                               const std::vector<int64_t>& other_batch, const std::vector<int64_t>& other_contracting,
                               const std::vector<int64_t>& my_batch, const std::vector<int64_t>& my_free,
                               const std::vector<int64_t>& my_contracting, int64_t my_rank) {
    lax::DotDimensionNumbers dn;
    for (size_t j = 0; j < other_free.size(); ++j) dn.lhs_contracting.push_back(cot_first + static_cast<int64_t>(j));
    dn.rhs_contracting = other_free;
    dn.lhs_batch = cot_batch;
    dn.rhs_batch = other_batch;
    Tensor r = lax::dot_general(c, other, dn);
    // Result dims: batch, my free, then other's contracting dims in increasing order.
    std::vector<int64_t> source(my_batch);
    source.insert(source.end(), my_free.begin(), my_free.end());
    std::vector<int64_t> other_sorted = other_contracting;
    std::sort(other_sorted.begin(), other_sorted.end());
    for (int64_t o : other_sorted) {
      size_t t = std::find(other_contracting.begin(), other_contracting.end(), o) - other_contracting.begin();
      source.push_back(my_contracting[t]);
    }
    std::vector<int64_t> perm(my_rank);
    for (int64_t pos = 0; pos < my_rank; ++pos) perm[source[pos]] = pos;
    return transpose(r, perm);
  }

  lax::DotDimensionNumbers dn_;
};

// Normalises and checks one list of dims of one operand.
std::vector<int64_t> check_dims(const std::vector<int64_t>& dims, int64_t rank, const char* parameter) {
  std::vector<int64_t> out;
  for (int64_t d : dims) {
    if (d < -rank || d >= rank)
      throw Error(std::string("dot_general: ") + parameter + " entry " + std::to_string(d) +
                  " is out of range for an operand of rank " + std::to_string(rank));
    out.push_back(d < 0 ? d + rank : d);
  }
  return out;
}

}  // namespace

namespace lax {

Tensor dot_general(const Tensor& lhs, const Tensor& rhs, const DotDimensionNumbers& dimension_numbers) {
  const Node& a = detail::node_of(lhs, "dot_general", "lhs");
  const Node& b = detail::node_of(rhs, "dot_general", "rhs");
  if (!is_floating(a.dtype) || !is_floating(b.dtype))
    throw Error("dot_general: operands must be float32 or float64, got " + to_string(a.dtype) + " and " +
                to_string(b.dtype));
  const int64_t ra = static_cast<int64_t>(a.shape.size()), rb = static_cast<int64_t>(b.shape.size());
  DotDimensionNumbers dn;
  dn.lhs_contracting = check_dims(dimension_numbers.lhs_contracting, ra, "lhs_contracting");
  dn.rhs_contracting = check_dims(dimension_numbers.rhs_contracting, rb, "rhs_contracting");
  dn.lhs_batch = check_dims(dimension_numbers.lhs_batch, ra, "lhs_batch");
  dn.rhs_batch = check_dims(dimension_numbers.rhs_batch, rb, "rhs_batch");
  if (dn.lhs_contracting.size() != dn.rhs_contracting.size())
    throw Error("dot_general: lhs_contracting has " + std::to_string(dn.lhs_contracting.size()) +
                " dims but rhs_contracting has " + std::to_string(dn.rhs_contracting.size()) + "; they must pair up");
  if (dn.lhs_batch.size() != dn.rhs_batch.size())
    throw Error("dot_general: lhs_batch has " + std::to_string(dn.lhs_batch.size()) + " dims but rhs_batch has " +
                std::to_string(dn.rhs_batch.size()) + "; they must pair up");
  auto check_unique = [](std::vector<int64_t> all, const char* side) {
    std::sort(all.begin(), all.end());
    if (std::adjacent_find(all.begin(), all.end()) != all.end())
      throw Error(std::string("dot_general: the ") + side +
                  " contracting and batch dims must be distinct (a dim appears twice)");
  };
  std::vector<int64_t> lall = dn.lhs_contracting, rall = dn.rhs_contracting;
  lall.insert(lall.end(), dn.lhs_batch.begin(), dn.lhs_batch.end());
  rall.insert(rall.end(), dn.rhs_batch.begin(), dn.rhs_batch.end());
  check_unique(lall, "lhs");
  check_unique(rall, "rhs");
  auto check_sizes = [&](const std::vector<int64_t>& l, const std::vector<int64_t>& r, const char* what) {
    for (size_t i = 0; i < l.size(); ++i)
      if (a.shape[l[i]] != b.shape[r[i]])
        throw Error(std::string("dot_general: ") + what + " dims must have equal sizes: lhs dim " +
                    std::to_string(l[i]) + " has size " + std::to_string(a.shape[l[i]]) + " (lhs shape " +
                    to_string(a.shape) + ") but rhs dim " + std::to_string(r[i]) + " has size " +
                    std::to_string(b.shape[r[i]]) + " (rhs shape " + to_string(b.shape) + ")");
  };
  check_sizes(dn.lhs_contracting, dn.rhs_contracting, "contracting");
  check_sizes(dn.lhs_batch, dn.rhs_batch, "batch");

  Shape shape;
  for (int64_t d : dn.lhs_batch) shape.push_back(a.shape[d]);
  for (int64_t d : free_dims(ra, dn.lhs_contracting, dn.lhs_batch)) shape.push_back(a.shape[d]);
  for (int64_t d : free_dims(rb, dn.rhs_contracting, dn.rhs_batch)) shape.push_back(b.shape[d]);
  const DType dt = (a.dtype == DType::float64 || b.dtype == DType::float64) ? DType::float64 : DType::float32;
  return detail::make_tensor(std::make_shared<DotGeneral>(dn), {astype(lhs, dt), astype(rhs, dt)}, shape, dt);
}

}  // namespace lax

// NumPy semantics: 1-D operands gain (and then lose) a unit dim; leading dims broadcast.
Tensor matmul(const Tensor& a, const Tensor& b) {
  const Node& na = detail::node_of(a, "matmul", "a");
  const Node& nb = detail::node_of(b, "matmul", "b");
  const int64_t ra = static_cast<int64_t>(na.shape.size()), rb = static_cast<int64_t>(nb.shape.size());
  if (ra == 0 || rb == 0)
    throw Error("matmul: operands must have rank >= 1, got shapes " + to_string(na.shape) + " and " +
                to_string(nb.shape));
  Tensor A = ra == 1 ? reshape(a, {1, na.shape[0]}) : a;
  Tensor B = rb == 1 ? reshape(b, {nb.shape[0], 1}) : b;
  const Shape& as = A.shape();
  const Shape& bs = B.shape();
  const int64_t ma = static_cast<int64_t>(as.size()), mb = static_cast<int64_t>(bs.size());
  if (as[ma - 1] != bs[mb - 2])
    throw Error("matmul: the last dim of a (shape " + to_string(na.shape) + ", size " + std::to_string(as[ma - 1]) +
                ") must equal the " + (rb == 1 ? std::string("only") : std::string("second-to-last")) +
                " dim of b (shape " + to_string(nb.shape) + ", size " + std::to_string(bs[mb - 2]) + ")");
  Tensor r;
  if (mb == 2) {
    // b has no batch dims: a's leading dims are simply free dims.
    r = lax::dot_general(A, B, {{ma - 1}, {0}, {}, {}});
  } else if (ma == 2) {
    // a has no batch dims: contract, then move a's row dim behind b's batch dims.
    r = lax::dot_general(A, B, {{1}, {mb - 2}, {}, {}});  // [M, b batch..., N]
    std::vector<int64_t> perm;
    for (int64_t i = 1; i < mb - 1; ++i) perm.push_back(i);
    perm.push_back(0);
    perm.push_back(mb - 1);
    r = transpose(r, perm);
  } else {
    Shape ba(as.begin(), as.end() - 2), bb(bs.begin(), bs.end() - 2);
    Shape batch = ops::broadcast_shapes(ba, bb, "matmul");
    const int64_t n = static_cast<int64_t>(batch.size());
    Shape sa = batch, sb = batch;
    sa.insert(sa.end(), as.end() - 2, as.end());
    sb.insert(sb.end(), bs.end() - 2, bs.end());
    A = broadcast_to(A, sa);
    B = broadcast_to(B, sb);
    lax::DotDimensionNumbers dn{{n + 1}, {n}, {}, {}};
    for (int64_t i = 0; i < n; ++i) {
      dn.lhs_batch.push_back(i);
      dn.rhs_batch.push_back(i);
    }
    r = lax::dot_general(A, B, dn);
  }
  Shape out = r.shape();
  if (rb == 1) out.pop_back();
  if (ra == 1) out.erase(out.end() - (rb == 1 ? 1 : 2));
  return out == r.shape() ? r : reshape(r, out);
}

}  // namespace xlax
