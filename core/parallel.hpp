// Internal: the one parallel-loop helper of the elementwise, convert and reduction kernels.
// [0, n) is split into one contiguous range per thread (boundaries on 64-byte multiples of
// 4-byte elements), so results never depend on scheduling; the loop stays on the calling
// thread when the work is below what opening a parallel region costs.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstdint>

#include "xlax/core.hpp"  // get_num_threads

namespace xlax::detail {

// Element-operations worth one more thread: a parallel region costs a few microseconds,
// about what a simple loop does with 32 Ki elements here.
constexpr int64_t kWorkPerThread = int64_t(1) << 15;

// Threads parallel_for uses for n items costing `cost` element-operations each.
inline int parallel_threads(int64_t n, int64_t cost) {
  if (omp_in_parallel()) return 1;
  const int64_t work = n * std::max<int64_t>(cost, 1);
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(get_num_threads(), work / kWorkPerThread)));
}

// body(begin, end) over consecutive ranges covering [0, n), one per thread; `cost` is the
// work of one item in element-operations (1 for an add, the row length for a row).
template <class Body>
void parallel_for(int64_t n, int64_t cost, const Body& body) {
  const int nt = parallel_threads(n, cost);
  if (nt <= 1) {
    if (n > 0) body(int64_t(0), n);
    return;
  }
  // Boundaries on multiples of 16 items when items are elements (cost 1), so that no two
  // threads write one cache line.
  const int64_t align = cost <= 1 ? 16 : 1;
#pragma omp parallel num_threads(nt)
  {
    const int64_t t = omp_get_thread_num(), threads = omp_get_num_threads();
    const int64_t begin = t == 0 ? 0 : (n * t / threads) / align * align;
    const int64_t end = t + 1 == threads ? n : (n * (t + 1) / threads) / align * align;
    if (begin < end) body(begin, end);
  }
}

}  // namespace xlax::detail
