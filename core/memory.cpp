// Tensor buffers: 64-byte aligned, counted for memory_stats().
#include <atomic>
#include <cstdlib>
#include <new>

#include "core/graph.hpp"

namespace xlax {
namespace {
std::atomic<int64_t> g_in_use{0};
std::atomic<int64_t> g_peak{0};
}  // namespace

namespace detail {
Storage::Storage(int64_t nbytes) : bytes(nbytes) {
  size_t rounded = static_cast<size_t>((nbytes + 63) / 64 * 64);
  if (rounded == 0) rounded = 64;
  ptr = std::aligned_alloc(64, rounded);
  if (!ptr) throw std::bad_alloc();
  int64_t now = g_in_use.fetch_add(bytes) + bytes;
  int64_t peak = g_peak.load();
  while (now > peak && !g_peak.compare_exchange_weak(peak, now)) {
  }
}
Storage::~Storage() {
  std::free(ptr);
  g_in_use.fetch_sub(bytes);
}
}  // namespace detail

MemoryStats memory_stats() { return {g_in_use.load(), g_peak.load()}; }
void reset_peak_memory() { g_peak.store(g_in_use.load()); }

}  // namespace xlax
