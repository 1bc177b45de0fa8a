// One thread count for every kernel (OpenMP inside kernels); static partitions only.
#include <omp.h>

#include <cstdlib>
#include <string>
#include <thread>

#include "core/graph.hpp"

namespace xlax {
namespace {
int initial_threads() {
  if (const char* env = std::getenv("XLAX_NUM_THREADS")) {
    int n = std::atoi(env);
    if (n > 0) return n;
  }
  unsigned hw = std::thread::hardware_concurrency();
  return hw ? static_cast<int>(hw) : 1;
}
int& thread_count() {
  static int n = initial_threads();
  return n;
}
}  // namespace

void set_num_threads(int n) {
  if (n < 1) throw Error("set_num_threads: n=" + std::to_string(n) + " must be >= 1");
  thread_count() = n;
}
int get_num_threads() { return thread_count(); }

}  // namespace xlax
