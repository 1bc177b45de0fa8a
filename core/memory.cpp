// Tensor buffers: 64-byte aligned, counted for memory_stats().
//
// Large freed buffers are kept and handed out again: a training step or any loop asks for
// the same sizes every time, and a fresh large block from the OS pays a page fault and a
// zeroed page for every 4 KiB on first touch, which can cost more than the op writing it
// (a 25 MB conv output: twice the conv's time). The cache is bounded and holds only
// buffers no tensor uses; memory_stats() counts tensor buffers in use, not the cache.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <mutex>
#include <new>
#include <vector>

#include "core/graph.hpp"

namespace xlax {
namespace {
std::atomic<int64_t> g_in_use{0};
std::atomic<int64_t> g_peak{0};

constexpr size_t kReuseMin = size_t(256) << 10;     // smaller blocks: malloc reuses them well
constexpr size_t kReuseBudget = size_t(256) << 20;  // cached bytes at most
constexpr size_t kMaxCachedBlocks = 64;

struct FreeBlock {
  void* ptr;
  size_t capacity;
};

struct BufferCache {
  std::mutex mutex;
  std::vector<FreeBlock> blocks;  // oldest first
  size_t bytes = 0;
};

// Never destroyed: tensors owned by static objects may be freed after other statics.
BufferCache& cache() {
  static BufferCache* c = new BufferCache;
  return *c;
}

size_t capacity_for(int64_t nbytes) {
  const size_t n = static_cast<size_t>(std::max<int64_t>(nbytes, 1));
  const size_t align = n >= kReuseMin ? 4096 : 64;
  return (n + align - 1) / align * align;
}

// A cached block at least `capacity` and at most 1/8 larger, best fit; null if none.
void* take_cached(size_t capacity, size_t& got) {
  BufferCache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  size_t best = c.blocks.size();
  for (size_t i = 0; i < c.blocks.size(); ++i) {
    const size_t cap = c.blocks[i].capacity;
    if (cap >= capacity && cap <= capacity + capacity / 8 &&
        (best == c.blocks.size() || cap < c.blocks[best].capacity))
      best = i;
  }
  if (best == c.blocks.size()) return nullptr;
  const FreeBlock b = c.blocks[best];
  c.blocks.erase(c.blocks.begin() + static_cast<std::ptrdiff_t>(best));
  c.bytes -= b.capacity;
  got = b.capacity;
  return b.ptr;
}

void give_back(void* ptr, size_t capacity) {
  if (capacity < kReuseMin || capacity > kReuseBudget) {
    std::free(ptr);
    return;
  }
  std::vector<void*> evicted;
  {
    BufferCache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    while (!c.blocks.empty() && (c.bytes + capacity > kReuseBudget || c.blocks.size() >= kMaxCachedBlocks)) {
      evicted.push_back(c.blocks.front().ptr);
      c.bytes -= c.blocks.front().capacity;
      c.blocks.erase(c.blocks.begin());
    }
    c.blocks.push_back({ptr, capacity});
    c.bytes += capacity;
  }
  for (void* p : evicted) std::free(p);
}

}  // namespace

namespace detail {
Storage::Storage(int64_t nbytes) : bytes(nbytes) {
  capacity = capacity_for(nbytes);
  ptr = capacity >= kReuseMin ? take_cached(capacity, capacity) : nullptr;
  if (!ptr) ptr = std::aligned_alloc(64, capacity);
  if (!ptr) throw std::bad_alloc();
  int64_t now = g_in_use.fetch_add(bytes) + bytes;
  int64_t peak = g_peak.load();
  while (now > peak && !g_peak.compare_exchange_weak(peak, now)) {
  }
}
Storage::~Storage() {
  give_back(ptr, capacity);
  g_in_use.fetch_sub(bytes);
}
}  // namespace detail

MemoryStats memory_stats() { return {g_in_use.load(), g_peak.load()}; }
void reset_peak_memory() { g_peak.store(g_in_use.load()); }

}  // namespace xlax
