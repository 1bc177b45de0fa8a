// kernels::gemm against a naive triple loop: edge sizes around the register and cache
// blocks, transposed and general strides, accumulate, K = 0, empty outputs, padding of C
// left untouched, and bitwise-identical results across thread counts. Every case runs
// through every instruction-set build this CPU has (AVX-512, AVX2, baseline).
#include <catch2/catch.hpp>

#include <xlax/core.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "ops/kernels/cpu_features.hpp"
#include "ops/kernels/gemm.hpp"

namespace {

// Layouts of an (rows x cols) operand inside a larger buffer.
enum class Layout { row_major, col_major, strided };

struct Operand {
  int64_t row_stride, col_stride, extent;  // extent: buffer size in elements
};

Operand make_operand(int64_t rows, int64_t cols, Layout layout) {
  switch (layout) {
    case Layout::row_major:
      return {cols, 1, rows * cols};
    case Layout::col_major:
      return {1, rows, rows * cols};
    case Layout::strided:  // padded rows, every other column
    default:
      return {2 * cols + 3, 2, rows * (2 * cols + 3)};
  }
}

const char* name(Layout l) {
  return l == Layout::row_major ? "row" : l == Layout::col_major ? "col" : "strided";
}

template <class T>
struct Case {
  int64_t M, N, K;
  Layout a_layout, b_layout;
  bool accumulate;
};

// Runs one case and checks every element of C against a double-precision reference, with a
// bound proportional to sum_k |A(i,k) B(k,j)| (+ |C0|), and that C's row padding is intact.
template <class T>
void check_case(const Case<T>& cs, std::mt19937& rng) {
  const int64_t M = cs.M, N = cs.N, K = cs.K;
  const Operand a = make_operand(M, K, cs.a_layout);
  const Operand b = make_operand(K, N, cs.b_layout);
  const int64_t ldc = N + 5;
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  std::vector<T> A(static_cast<size_t>(std::max<int64_t>(a.extent, 1)));
  std::vector<T> B(static_cast<size_t>(std::max<int64_t>(b.extent, 1)));
  std::vector<T> C(static_cast<size_t>(std::max<int64_t>(M * ldc, 1)));
  for (auto& v : A) v = static_cast<T>(dist(rng));
  for (auto& v : B) v = static_cast<T>(dist(rng));
  for (auto& v : C) v = static_cast<T>(dist(rng));
  const std::vector<T> C0 = C;

  xlax::kernels::gemm<T>(M, N, K, A.data(), a.row_stride, a.col_stride, B.data(), b.row_stride,
                         b.col_stride, C.data(), ldc, cs.accumulate);

  const double eps = std::numeric_limits<T>::epsilon();
  int64_t bad = 0;
  std::string first_bad;
  for (int64_t i = 0; i < M; ++i) {
    for (int64_t j = 0; j < ldc; ++j) {
      const size_t at = static_cast<size_t>(i * ldc + j);
      if (j >= N) {  // padding beyond column N must not be written
        if (C[at] != C0[at] && bad++ == 0) first_bad = "padding written";
        continue;
      }
      double ref = cs.accumulate ? static_cast<double>(C0[at]) : 0.0;
      double magnitude = std::abs(ref);
      for (int64_t k = 0; k < K; ++k) {
        const double p = static_cast<double>(A[i * a.row_stride + k * a.col_stride]) *
                         static_cast<double>(B[k * b.row_stride + j * b.col_stride]);
        ref += p;
        magnitude += std::abs(p);
      }
      const double tol = 2.0 * (K + 2) * eps * magnitude + 1e-30;
      if (!(std::abs(static_cast<double>(C[at]) - ref) <= tol) && bad++ == 0)
        first_bad = "C(" + std::to_string(i) + "," + std::to_string(j) +
                    ")=" + std::to_string(C[at]) + " ref " + std::to_string(ref);
    }
  }
  INFO("M=" << M << " N=" << N << " K=" << K << " A " << name(cs.a_layout) << " B "
            << name(cs.b_layout) << " accumulate=" << cs.accumulate << " sizeof(T)="
            << sizeof(T) << ": " << first_bad);
  CHECK(bad == 0);
}

template <class T>
void check_sizes(const std::vector<int64_t>& sizes, std::mt19937& rng) {
  const Layout layouts[] = {Layout::row_major, Layout::col_major, Layout::strided};
  int index = 0;
  for (int64_t M : sizes)
    for (int64_t N : sizes)
      for (int64_t K : sizes) {
        // Cycle through the layout / accumulate combinations instead of taking all of them.
        const Layout la = layouts[index % 3], lb = layouts[(index / 3) % 3];
        const bool acc = (index / 9) % 2 == 1;
        ++index;
        check_case<T>({M, N, K, la, lb, acc}, rng);
      }
}

template <class T>
void check_all_layouts(int64_t M, int64_t N, int64_t K, std::mt19937& rng) {
  const Layout layouts[] = {Layout::row_major, Layout::col_major, Layout::strided};
  for (Layout la : layouts)
    for (Layout lb : layouts)
      for (bool acc : {false, true}) check_case<T>({M, N, K, la, lb, acc}, rng);
}

// Restores the thread count when a test ends (also on failure).
struct ThreadCountGuard {
  int saved = xlax::get_num_threads();
  ~ThreadCountGuard() { xlax::set_num_threads(saved); }
};

// Runs body() once per instruction-set build the CPU runs, widest first; restores the limit.
template <class Body>
void for_each_build(const Body& body) {
  using xlax::kernels::Isa;
  struct Restore {
    ~Restore() { xlax::kernels::set_isa_limit(Isa::Avx512); }
  } restore;
  for (Isa isa : {Isa::Avx512, Isa::Avx2, Isa::Baseline}) {
    if (static_cast<int>(isa) > static_cast<int>(xlax::kernels::cpu_isa())) continue;
    xlax::kernels::set_isa_limit(isa);
    INFO("build " << static_cast<int>(isa) << " (0 baseline, 1 AVX2, 2 AVX-512)");
    body();
  }
}

}  // namespace

TEMPLATE_TEST_CASE("gemm matches a naive product on edge sizes", "[gemm]", float, double) {
  ThreadCountGuard guard;
  xlax::set_num_threads(2);
  std::mt19937 rng(1234);
  for_each_build([&] { check_sizes<TestType>({1, 5, 12, 17, 63, 130}, rng); });
}

TEMPLATE_TEST_CASE("gemm handles every operand layout", "[gemm]", float, double) {
  ThreadCountGuard guard;
  xlax::set_num_threads(2);
  std::mt19937 rng(99);
  for_each_build([&] {
    check_all_layouts<TestType>(3, 33, 5, rng);     // fewer rows than a register tile
    check_all_layouts<TestType>(7, 33, 5, rng);     // one partial tile (6-row tiles)
    check_all_layouts<TestType>(13, 35, 5, rng);    // one partial tile (12-row tiles)
    check_all_layouts<TestType>(67, 45, 70, rng);   // packed path, partial tiles
    check_all_layouts<TestType>(13, 100, 300, rng); // several K blocks, few rows
  });
}

TEMPLATE_TEST_CASE("gemm on random sizes", "[gemm]", float, double) {
  ThreadCountGuard guard;
  std::mt19937 rng(7);
  std::uniform_int_distribution<int64_t> size(1, 150);
  std::uniform_int_distribution<int> pick(0, 2);
  for_each_build([&] {
    for (int t = 0; t < 40; ++t) {
      xlax::set_num_threads(1 + t % 3);
      const Case<TestType> cs{size(rng), size(rng), size(rng), static_cast<Layout>(pick(rng)),
                              static_cast<Layout>(pick(rng)), pick(rng) == 0};
      check_case<TestType>(cs, rng);
    }
  });
}

TEMPLATE_TEST_CASE("gemm across cache blocks", "[gemm]", float, double) {
  ThreadCountGuard guard;
  xlax::set_num_threads(2);
  std::mt19937 rng(5);
  for_each_build([&] {
    // More rows than one row block, K over two K blocks, N over the column block (NC).
    check_case<TestType>({301, 70, 530, Layout::row_major, Layout::row_major, true}, rng);
    check_case<TestType>({250, 90, 260, Layout::col_major, Layout::strided, false}, rng);
    check_case<TestType>({7, 4200, 9, Layout::row_major, Layout::row_major, false}, rng);
    check_case<TestType>({20, 2100, 30, Layout::strided, Layout::col_major, true}, rng);
    // Fewer rows than a register tile, several column chunks of the row-wise path.
    check_case<TestType>({3, 9000, 5, Layout::col_major, Layout::row_major, true}, rng);
    check_case<TestType>({1, 5000, 70, Layout::row_major, Layout::row_major, false}, rng);
  });
}

TEMPLATE_TEST_CASE("gemm with K = 0 or an empty output", "[gemm]", float, double) {
  using T = TestType;
  for_each_build([&] {
    const int64_t M = 9, N = 21, ldc = 24;
    std::vector<T> C(M * ldc, T(3));
    const T a = 1, b = 1;
    xlax::kernels::gemm<T>(M, N, 0, &a, 0, 1, &b, 1, 1, C.data(), ldc, true);
    for (T v : C) REQUIRE(v == T(3));  // accumulate: unchanged
    xlax::kernels::gemm<T>(M, N, 0, &a, 0, 1, &b, 1, 1, C.data(), ldc, false);
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < ldc; ++j) REQUIRE(C[i * ldc + j] == (j < N ? T(0) : T(3)));
    std::vector<T> D(4, T(5));
    xlax::kernels::gemm<T>(0, 4, 3, &a, 0, 0, &b, 0, 0, D.data(), 4, false);
    xlax::kernels::gemm<T>(1, 0, 3, &a, 0, 0, &b, 0, 0, D.data(), 4, false);
    for (T v : D) REQUIRE(v == T(5));
  });
}

TEMPLATE_TEST_CASE("gemm is bitwise reproducible across thread counts", "[gemm]", float, double) {
  using T = TestType;
  ThreadCountGuard guard;
  std::mt19937 rng(11);
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  for_each_build([&] {
    for (auto [M, N, K] :
         {std::tuple<int64_t, int64_t, int64_t>{257, 133, 301}, {5, 700, 40}, {2, 9000, 300}}) {
      std::vector<T> A(M * K), B(K * N), C0(M * N);
      for (auto& v : A) v = static_cast<T>(dist(rng));
      for (auto& v : B) v = static_cast<T>(dist(rng));
      for (auto& v : C0) v = static_cast<T>(dist(rng));
      std::vector<T> reference;
      for (int threads : {1, 2, 3, 4}) {
        xlax::set_num_threads(threads);
        std::vector<T> C = C0;
        xlax::kernels::gemm<T>(M, N, K, A.data(), K, 1, B.data(), N, 1, C.data(), N, true);
        if (reference.empty())
          reference = C;
        else
          REQUIRE(C == reference);
      }
    }
  });
}
