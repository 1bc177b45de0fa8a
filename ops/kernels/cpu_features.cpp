// CPU detection for the kernels (GCC's __builtin_cpu_supports, read once).
#include "ops/kernels/cpu_features.hpp"

#include <atomic>

namespace xlax::kernels {

namespace {

Isa detect_isa() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  const bool avx512 = avx2 && __builtin_cpu_supports("avx512f") &&
                      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
                      __builtin_cpu_supports("avx512vl");
  return avx512 ? Isa::Avx512 : avx2 ? Isa::Avx2 : Isa::Baseline;
#else
  return Isa::Baseline;
#endif
}

std::atomic<Isa> g_limit{Isa::Avx512};

}  // namespace

Isa cpu_isa() {
  static const Isa isa = detect_isa();
  return isa;
}

void set_isa_limit(Isa limit) { g_limit.store(limit); }

Isa kernel_isa() {
  const Isa cpu = cpu_isa(), limit = g_limit.load();
  return static_cast<int>(limit) < static_cast<int>(cpu) ? limit : cpu;
}

}  // namespace xlax::kernels
