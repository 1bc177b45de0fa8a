// GEMM throughput: GFLOP/s of kernels::gemm on square row-major products at 1 and 2 threads,
// and the fraction of the FMA peak (threads x single-core peak).
// Usage: bench_gemm [--peak GFLOPS_PER_CORE] [--double] [--sizes 256,512,...]
// Without --peak, a short AVX2 FMA loop measures the single-core fp32/fp64 peak.
#include <xlax/core.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "ops/kernels/gemm.hpp"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

#if defined(__x86_64__)
// 10 independent FMA chains hide the FMA latency on 2 pipes. Returns the fp32 GFLOP/s of one
// core (fp64 is half).
__attribute__((target("avx2,fma"))) double measure_fp32_peak() {
  const int64_t iterations = 20'000'000;
  double best = 0;
  for (int rep = 0; rep < 3; ++rep) {
    const __m256 mul = _mm256_set1_ps(0.999999f), add = _mm256_set1_ps(1e-7f);
    __m256 a0 = _mm256_set1_ps(1.0f), a1 = a0, a2 = a0, a3 = a0, a4 = a0;
    __m256 a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0;
    const double t0 = now_seconds();
    for (int64_t it = 0; it < iterations; ++it) {
      a0 = _mm256_fmadd_ps(a0, mul, add);
      a1 = _mm256_fmadd_ps(a1, mul, add);
      a2 = _mm256_fmadd_ps(a2, mul, add);
      a3 = _mm256_fmadd_ps(a3, mul, add);
      a4 = _mm256_fmadd_ps(a4, mul, add);
      a5 = _mm256_fmadd_ps(a5, mul, add);
      a6 = _mm256_fmadd_ps(a6, mul, add);
      a7 = _mm256_fmadd_ps(a7, mul, add);
      a8 = _mm256_fmadd_ps(a8, mul, add);
      a9 = _mm256_fmadd_ps(a9, mul, add);
    }
    const double seconds = now_seconds() - t0;
    // Use the result so the loop is not removed.
    const __m256 sum = _mm256_add_ps(
        _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                      _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7))),
        _mm256_add_ps(a8, a9));
    if (_mm256_cvtss_f32(sum) == 12345.0f) std::printf(" ");
    best = std::max(best, iterations * 10.0 * 8 * 2 / seconds * 1e-9);
  }
  return best;
}
bool cpu_has_avx2_fma() {
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#else
double measure_fp32_peak() { return 0; }
bool cpu_has_avx2_fma() { return false; }
#endif

struct Timing {
  double best, median;  // seconds per call
};

template <class T>
Timing time_gemm(int64_t n, int threads) {
  std::mt19937 rng(42);
  std::uniform_real_distribution<T> dist(-1, 1);
  std::vector<T> A(n * n), B(n * n), C(n * n);
  for (auto& v : A) v = dist(rng);
  for (auto& v : B) v = dist(rng);
  xlax::set_num_threads(threads);
  auto run = [&] {
    xlax::kernels::gemm<T>(n, n, n, A.data(), n, 1, B.data(), n, 1, C.data(), n, false);
  };
  run();  // warm-up: page faults, pack buffers, thread pool
  std::vector<double> times;
  const double start = now_seconds();
  while (times.size() < 5 || (now_seconds() - start < 0.5 && times.size() < 200)) {
    const double t0 = now_seconds();
    run();
    times.push_back(now_seconds() - t0);
  }
  std::sort(times.begin(), times.end());
  return {times.front(), times[times.size() / 2]};
}

std::vector<int64_t> parse_sizes(const char* list) {
  std::vector<int64_t> sizes;
  for (const char* p = list; *p;) {
    sizes.push_back(std::strtoll(p, nullptr, 10));
    const char* comma = std::strchr(p, ',');
    if (!comma) break;
    p = comma + 1;
  }
  return sizes;
}

template <class T>
void run_table(const std::vector<int64_t>& sizes, double peak_per_core) {
  std::printf("%-6s %7s %12s %12s %10s\n", sizeof(T) == 4 ? "fp32 n" : "fp64 n", "threads",
              "best GF/s", "median GF/s", "% of peak");
  for (int64_t n : sizes) {
    for (int threads : {1, 2}) {
      const Timing t = time_gemm<T>(n, threads);
      const double flops = 2.0 * n * n * n;
      const double best = flops / t.best * 1e-9, median = flops / t.median * 1e-9;
      std::printf("%-6lld %7d %12.1f %12.1f %9.1f%%\n", static_cast<long long>(n), threads, best,
                  median, peak_per_core > 0 ? 100.0 * best / (threads * peak_per_core) : 0.0);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  double peak_fp32 = 0;
  bool fp64 = false;
  std::vector<int64_t> sizes = {256, 512, 768, 1024};
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--peak") && i + 1 < argc) {
      peak_fp32 = std::atof(argv[++i]);
    } else if (!std::strcmp(argv[i], "--double")) {
      fp64 = true;
    } else if (!std::strcmp(argv[i], "--sizes") && i + 1 < argc) {
      sizes = parse_sizes(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: %s [--peak GFLOPS_PER_CORE_FP32] [--double] [--sizes a,b]\n",
                   argv[0]);
      return 2;
    }
  }
  const bool measure = peak_fp32 <= 0 && cpu_has_avx2_fma();
  if (measure) peak_fp32 = measure_fp32_peak();
  std::printf("single-core FMA peak: fp32 %.1f GFLOP/s, fp64 %.1f GFLOP/s (%s)\n", peak_fp32,
              peak_fp32 / 2, measure ? "measured" : "given");
  if (fp64)
    run_table<double>(sizes, peak_fp32 / 2);
  else
    run_table<float>(sizes, peak_fp32);
  return 0;
}
