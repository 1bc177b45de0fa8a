// GEMM throughput: GFLOP/s of kernels::gemm on square row-major products at 1 and 2 threads,
// as a share of the FMA limit measured in the same run (a 512-bit FMA loop when the CPU has
// AVX-512, as ../shared/bench/peak512.cpp does, else a 256-bit one), and as a ratio to
// oneDNN's dnnl_sgemm on the same sizes when the build found oneDNN (fp32 only).
// Usage: bench_gemm [--double] [--sizes 256,512,...] [--reps R] [--isa avx2|baseline]
// Each cell is the best of R (default 5) timed batches of calls, interleaved xlax / oneDNN.
#include <xlax/core.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "ops/kernels/cpu_features.hpp"
#include "ops/kernels/gemm.hpp"

#if defined(__x86_64__)
#include <immintrin.h>
#endif
#ifdef XLAX_BENCH_HAVE_DNNL
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#endif

namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

#if defined(__x86_64__)
// 12 independent FMA chains per thread hide the FMA latency on 2 pipes.
template <int Bits>
__attribute__((target("avx512f,avx2,fma"))) float fma_chains(int64_t iterations) {
  if constexpr (Bits == 512) {
    __m512 acc[12];
    for (int k = 0; k < 12; ++k) acc[k] = _mm512_set1_ps(1.0f + k * 1e-3f);
    const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
    for (int64_t i = 0; i < iterations; ++i) {
#pragma GCC unroll 16
      for (int k = 0; k < 12; ++k) acc[k] = _mm512_fmadd_ps(acc[k], a, b);
    }
    __m512 s = acc[0];
    for (int k = 1; k < 12; ++k) s = _mm512_add_ps(s, acc[k]);
    return _mm512_reduce_add_ps(s);
  } else {
    __m256 acc[12];
    for (int k = 0; k < 12; ++k) acc[k] = _mm256_set1_ps(1.0f + k * 1e-3f);
    const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
    for (int64_t i = 0; i < iterations; ++i) {
#pragma GCC unroll 16
      for (int k = 0; k < 12; ++k) acc[k] = _mm256_fmadd_ps(acc[k], a, b);
    }
    __m256 s = acc[0];
    for (int k = 1; k < 12; ++k) s = _mm256_add_ps(s, acc[k]);
    return _mm256_cvtss_f32(s);
  }
}

// fp32 FMA limit of `threads` cores at the given vector width, best of 5.
double measure_fp32_peak(int bits, int threads) {
  const int64_t iterations = 30'000'000;
  double best = 0;
  for (int rep = 0; rep < 5; ++rep) {
    std::vector<std::thread> pool;
    std::vector<float> sink(threads);
    const double t0 = now_seconds();
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        sink[t] = bits == 512 ? fma_chains<512>(iterations) : fma_chains<256>(iterations);
      });
    for (auto& th : pool) th.join();
    const double seconds = now_seconds() - t0;
    if (sink[0] == 12345.0f) std::printf(" ");  // keep the result alive
    best = std::max(best, threads * iterations * 12.0 * (bits / 32) * 2 / seconds * 1e-9);
  }
  return best;
}
#else
double measure_fp32_peak(int, int) { return 0; }
#endif

template <class T>
struct Operands {
  std::vector<T> A, B, C;
  explicit Operands(int64_t n) : A(n * n), B(n * n), C(n * n) {
    std::mt19937 rng(42);
    std::uniform_real_distribution<T> dist(-1, 1);
    for (auto& v : A) v = dist(rng);
    for (auto& v : B) v = dist(rng);
  }
};

// Seconds per call: best over `reps` batches of calls lasting about 0.1 s each.
template <class Call>
double best_seconds(const Call& call, int reps) {
  call();  // warm-up: page faults, pack buffers, thread pool
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    int calls = 0;
    const double t0 = now_seconds();
    do {
      call();
      ++calls;
    } while (now_seconds() - t0 < 0.1);
    best = std::min(best, (now_seconds() - t0) / calls);
  }
  return best;
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
void run_table(const std::vector<int64_t>& sizes, const double peak[2], int reps) {
  const bool dnnl = sizeof(T) == 4 &&
#ifdef XLAX_BENCH_HAVE_DNNL
                    true;
#else
                    false;
#endif
  std::printf("%-6s %7s %10s %9s %10s %9s\n", sizeof(T) == 4 ? "fp32 n" : "fp64 n", "threads",
              "xlax GF/s", "of limit", dnnl ? "oneDNN GF/s" : "", dnnl ? "xlax/oneDNN" : "");
  for (int64_t n : sizes) {
    Operands<T> x(n);
    for (int threads : {1, 2}) {
      xlax::set_num_threads(threads);
      const double xlax_s = best_seconds(
          [&] {
            xlax::kernels::gemm<T>(n, n, n, x.A.data(), n, 1, x.B.data(), n, 1, x.C.data(), n,
                                   false);
          },
          reps);
      const double flops = 2.0 * n * n * n, gf = flops / xlax_s * 1e-9;
      const double limit = peak[threads - 1] / (sizeof(T) == 4 ? 1 : 2);
      std::printf("%-6lld %7d %10.1f %8.1f%%", static_cast<long long>(n), threads, gf,
                  limit > 0 ? 100.0 * gf / limit : 0.0);
#ifdef XLAX_BENCH_HAVE_DNNL
      if constexpr (sizeof(T) == 4) {
        // Debian's oneDNN runs on OpenMP and takes its thread count from it.
        omp_set_num_threads(threads);
        const double dnnl_s = best_seconds(
            [&] {
              dnnl_sgemm('N', 'N', n, n, n, 1.0f, x.A.data(), n, x.B.data(), n, 0.0f,
                         x.C.data(), n);
            },
            reps);
        const double dgf = flops / dnnl_s * 1e-9;
        std::printf(" %10.1f %9.2fx", dgf, gf / dgf);
      }
#endif
      std::printf("\n");
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  bool fp64 = false;
  int reps = 5;
  std::vector<int64_t> sizes = {256, 512, 768, 1024};
  using xlax::kernels::Isa;
  Isa limit = Isa::Avx512;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--double")) {
      fp64 = true;
    } else if (!std::strcmp(argv[i], "--sizes") && i + 1 < argc) {
      sizes = parse_sizes(argv[++i]);
    } else if (!std::strcmp(argv[i], "--isa") && i + 1 < argc) {
      const std::string isa = argv[++i];
      limit = isa == "avx2" ? Isa::Avx2 : isa == "baseline" ? Isa::Baseline : Isa::Avx512;
    } else if (!std::strcmp(argv[i], "--reps") && i + 1 < argc) {
      reps = std::max(1, std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr, "usage: %s [--double] [--sizes a,b] [--reps R] [--isa avx2|baseline]\n",
                   argv[0]);
      return 2;
    }
  }
  xlax::kernels::set_isa_limit(limit);
  const Isa isa = xlax::kernels::kernel_isa();
  const int bits = isa == Isa::Avx512 ? 512 : 256;
  double peak[2] = {0, 0};
  if (isa != Isa::Baseline)
    for (int threads : {1, 2}) peak[threads - 1] = measure_fp32_peak(bits, threads);
  std::printf("kernels::gemm build: %s; fp32 FMA limit (%d-bit loop, measured now): "
              "%.1f GFLOP/s on 1 thread, %.1f on 2 (fp64: half)\n",
              isa == Isa::Avx512 ? "AVX-512" : isa == Isa::Avx2 ? "AVX2" : "baseline", bits,
              peak[0], peak[1]);
  if (fp64)
    run_table<double>(sizes, peak, reps);
  else
    run_table<float>(sizes, peak, reps);
  return 0;
}
