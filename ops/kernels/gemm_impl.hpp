// Internal: the blocked, packed GEMM (GotoBLAS/BLIS loop structure) shared by the
// per-instruction-set units gemm.cpp (baseline) and gemm_avx2.cpp (-mavx2 -mfma).
// Everything is a member of GemmImpl<T, Arch>: units compiled with different -m flags
// instantiate different Arch types, so they never share (and the linker never merges) code.
#pragma once

#include <xsimd/xsimd.hpp>
#ifdef _OPENMP
#include <omp.h>
#endif

#include <xlax/core.hpp>  // get_num_threads

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

namespace xlax::kernels::detail {

template <class T, class Arch>
struct GemmImpl {
  using Batch = xsimd::batch<T, Arch>;
  static constexpr int64_t kLanes = static_cast<int64_t>(Batch::size);
  // Register tile: MR x NR accumulators = 12 vector registers, plus 2 for B and 1 for the
  // broadcast of A: fits the 16 registers of SSE2 and AVX2.
  static constexpr int64_t MR = 6;
  static constexpr int64_t NR = 2 * kLanes;
  // Cache blocking in elements: a KC x NR panel of B stays in L1 (16 KiB), an MC x KC block
  // of A in L2, a KC x NC panel of B in L3.
  static constexpr int64_t KC = 256;
  static constexpr int64_t MC = (sizeof(T) == 4 ? 240 : 120);
  static constexpr int64_t NC = (sizeof(T) == 4 ? 4080 : 2040);
  static_assert(MC % MR == 0 && NC % NR == 0, "blocks must hold whole register tiles");
  // Below this many multiply-adds packing and threading cost more than they save.
  static constexpr int64_t kSmallWork = 20 * 20 * 20;
  // Minimum multiply-adds per extra thread (an OpenMP fork/join costs a few microseconds).
  static constexpr int64_t kWorkPerThread = 64 * 64 * 64;

  static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

  // Grow-only 64-byte aligned scratch, one per thread and per use, reused across calls so
  // that medium-size products do not pay for page faults on every call.
  struct Scratch {
    T* data = nullptr;
    int64_t capacity = 0;
    ~Scratch() { std::free(data); }
    T* reserve(int64_t n) {
      if (n > capacity) {
        std::free(data);
        const size_t bytes = (static_cast<size_t>(n) * sizeof(T) + 63) / 64 * 64;
        data = static_cast<T*>(std::aligned_alloc(64, bytes));
        if (!data) {
          capacity = 0;
          throw std::bad_alloc();
        }
        capacity = n;
      }
      return data;
    }
  };
  // Allocated by the calling thread (never inside the parallel region, where an exception
  // could not propagate); holds the shared B panel followed by one A block per thread.
  static T* pack_buffer(int64_t n) {
    thread_local Scratch scratch;
    return scratch.reserve(n);
  }

  // Packs rows [0, mc) x cols [0, kc) of A into MR-row micro-panels, each stored k-major
  // (MR consecutive values per k) and zero-padded to MR rows.
  static void pack_a(int64_t mc, int64_t kc, const T* A, int64_t a_row, int64_t a_col, T* Ap) {
    for (int64_t i0 = 0; i0 < mc; i0 += MR, Ap += MR * kc) {
      const int64_t mr = std::min(MR, mc - i0);
      const T* a = A + i0 * a_row;
      if (mr == MR) {
        for (int64_t k = 0; k < kc; ++k)
          for (int64_t r = 0; r < MR; ++r) Ap[k * MR + r] = a[r * a_row + k * a_col];
      } else {
        for (int64_t k = 0; k < kc; ++k) {
          for (int64_t r = 0; r < mr; ++r) Ap[k * MR + r] = a[r * a_row + k * a_col];
          for (int64_t r = mr; r < MR; ++r) Ap[k * MR + r] = T(0);
        }
      }
    }
  }

  // Packs one NR-column micro-panel (kc x nr of B, nr <= NR) k-major, zero-padded to NR.
  static void pack_b_panel(int64_t nr, int64_t kc, const T* B, int64_t b_row, int64_t b_col,
                           T* Bp) {
    if (nr == NR && b_col == 1) {
      for (int64_t k = 0; k < kc; ++k) {
        const T* b = B + k * b_row;
        Batch::load_unaligned(b).store_aligned(Bp + k * NR);
        Batch::load_unaligned(b + kLanes).store_aligned(Bp + k * NR + kLanes);
      }
    } else if (nr == NR && b_row == 1) {
      // Transposed B: read each column contiguously.
      for (int64_t c = 0; c < NR; ++c)
        for (int64_t k = 0; k < kc; ++k) Bp[k * NR + c] = B[c * b_col + k];
    } else {
      for (int64_t k = 0; k < kc; ++k) {
        for (int64_t c = 0; c < nr; ++c) Bp[k * NR + c] = B[k * b_row + c * b_col];
        for (int64_t c = nr; c < NR; ++c) Bp[k * NR + c] = T(0);
      }
    }
  }

  // C[0:MR, 0:NR] (row stride ldc) = Ap * Bp (+ C when add_to_c), over kc packed steps.
  // The accumulators are named variables so that they stay in registers.
  static void micro_kernel(int64_t kc, const T* Ap, const T* Bp, T* C, int64_t ldc,
                           bool add_to_c) {
    Batch c00(T(0)), c01(T(0)), c10(T(0)), c11(T(0)), c20(T(0)), c21(T(0));
    Batch c30(T(0)), c31(T(0)), c40(T(0)), c41(T(0)), c50(T(0)), c51(T(0));
    for (int64_t k = 0; k < kc; ++k, Ap += MR, Bp += NR) {
      const Batch b0 = Batch::load_aligned(Bp);
      const Batch b1 = Batch::load_aligned(Bp + kLanes);
      Batch a(Ap[0]);
      c00 = xsimd::fma(a, b0, c00);
      c01 = xsimd::fma(a, b1, c01);
      a = Batch(Ap[1]);
      c10 = xsimd::fma(a, b0, c10);
      c11 = xsimd::fma(a, b1, c11);
      a = Batch(Ap[2]);
      c20 = xsimd::fma(a, b0, c20);
      c21 = xsimd::fma(a, b1, c21);
      a = Batch(Ap[3]);
      c30 = xsimd::fma(a, b0, c30);
      c31 = xsimd::fma(a, b1, c31);
      a = Batch(Ap[4]);
      c40 = xsimd::fma(a, b0, c40);
      c41 = xsimd::fma(a, b1, c41);
      a = Batch(Ap[5]);
      c50 = xsimd::fma(a, b0, c50);
      c51 = xsimd::fma(a, b1, c51);
    }
    store_row(C, c00, c01, add_to_c);
    store_row(C + ldc, c10, c11, add_to_c);
    store_row(C + 2 * ldc, c20, c21, add_to_c);
    store_row(C + 3 * ldc, c30, c31, add_to_c);
    store_row(C + 4 * ldc, c40, c41, add_to_c);
    store_row(C + 5 * ldc, c50, c51, add_to_c);
  }
  static void store_row(T* c, Batch v0, Batch v1, bool add_to_c) {
    if (add_to_c) {
      v0 = v0 + Batch::load_unaligned(c);
      v1 = v1 + Batch::load_unaligned(c + kLanes);
    }
    v0.store_unaligned(c);
    v1.store_unaligned(c + kLanes);
  }

  // C[0:mc, 0:nc] (+)= packed A block * packed B panel. Partial edge tiles go through a
  // local tile so the micro-kernel never touches memory outside C; the arithmetic per
  // element is the same as for a full tile.
  static void macro_kernel(int64_t mc, int64_t nc, int64_t kc, const T* Ap, const T* Bp, T* C,
                           int64_t ldc, bool add_to_c) {
    alignas(64) T edge[MR * NR];
    for (int64_t j0 = 0; j0 < nc; j0 += NR) {
      const int64_t nr = std::min(NR, nc - j0);
      const T* bp = Bp + j0 * kc;
      for (int64_t i0 = 0; i0 < mc; i0 += MR) {
        const int64_t mr = std::min(MR, mc - i0);
        const T* ap = Ap + i0 * kc;
        T* c = C + i0 * ldc + j0;
        if (mr == MR && nr == NR) {
          micro_kernel(kc, ap, bp, c, ldc, add_to_c);
          continue;
        }
        micro_kernel(kc, ap, bp, edge, NR, false);
        for (int64_t r = 0; r < mr; ++r)
          for (int64_t j = 0; j < nr; ++j)
            c[r * ldc + j] = add_to_c ? edge[r * NR + j] + c[r * ldc + j] : edge[r * NR + j];
      }
    }
  }

  // Tiny products: no packing, no threads. Row i of C accumulates A(i,k) * row k of B.
  static void small_gemm(int64_t M, int64_t N, int64_t K, const T* A, int64_t a_row,
                         int64_t a_col, const T* B, int64_t b_row, int64_t b_col, T* C,
                         int64_t ldc, bool accumulate) {
    for (int64_t i = 0; i < M; ++i) {
      T* c = C + i * ldc;
      if (!accumulate) std::fill(c, c + N, T(0));
      for (int64_t k = 0; k < K; ++k) {
        const Batch a_ik(A[i * a_row + k * a_col]);
        const T* b = B + k * b_row;
        int64_t j = 0;
        if (b_col == 1) {
          for (; j + kLanes <= N; j += kLanes)
            xsimd::fma(a_ik, Batch::load_unaligned(b + j), Batch::load_unaligned(c + j))
                .store_unaligned(c + j);
        }
        const T a = A[i * a_row + k * a_col];
        for (; j < N; ++j) c[j] = a * b[j * b_col] + c[j];
      }
    }
  }

  static void run(int64_t M, int64_t N, int64_t K, const T* A, int64_t a_row, int64_t a_col,
                  const T* B, int64_t b_row, int64_t b_col, T* C, int64_t ldc, bool accumulate) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
      if (!accumulate)
        for (int64_t i = 0; i < M; ++i) std::fill(C + i * ldc, C + i * ldc + N, T(0));
      return;
    }
    const int64_t work = M * N * K;
    if (work <= kSmallWork) {
      small_gemm(M, N, K, A, a_row, a_col, B, b_row, b_col, C, ldc, accumulate);
      return;
    }

    // K blocks of equal size (no short tail block). Depends on K only: the order of the
    // additions for every element of C is fixed whatever the thread count.
    const int64_t k_blocks = ceil_div(K, KC);
    const int64_t kc_max = ceil_div(K, k_blocks);
    const int64_t n_outer = ceil_div(N, NC);
    const int64_t nc_max = ceil_div(ceil_div(N, n_outer), NR) * NR;

    // Threads split the output into (row block x column chunk) work items; each item is
    // written by one thread only and K is never split, so results are bitwise reproducible.
    int64_t threads = std::max<int64_t>(1, get_num_threads());
    threads = std::min(threads, std::max<int64_t>(1, work / kWorkPerThread));
    const int64_t m_tiles = ceil_div(M, MR);
    int64_t m_blocks = ceil_div(m_tiles, MC / MR);
    int64_t n_chunks = 1;
    if (m_blocks >= threads) {
      m_blocks = ceil_div(m_blocks, threads) * threads;
      m_blocks = std::min(m_blocks, m_tiles);
    } else {
      n_chunks = threads;  // few rows: split the columns of each B panel instead
    }
    const int64_t items = m_blocks * n_chunks;
    threads = std::min(threads, items);
    const int64_t mc_max = ceil_div(m_tiles, m_blocks) * MR;

    const int64_t b_size = ceil_div(kc_max * nc_max, 16) * 16;  // whole cache lines
    const int64_t a_size = ceil_div(mc_max * kc_max, 16) * 16;
    T* const Bp = pack_buffer(b_size + threads * a_size);

#pragma omp parallel num_threads(static_cast<int>(threads)) if (threads > 1)
    {
#ifdef _OPENMP
      T* const Ap = Bp + b_size + omp_get_thread_num() * a_size;
#else
      T* const Ap = Bp + b_size;
#endif
      for (int64_t jc = 0; jc < N; jc += nc_max) {
        const int64_t nc = std::min(nc_max, N - jc);
        const int64_t n_panels = ceil_div(nc, NR);
        for (int64_t pc = 0; pc < K; pc += kc_max) {
          const int64_t kc = std::min(kc_max, K - pc);
          const bool add_to_c = accumulate || pc > 0;
#pragma omp for schedule(static)
          for (int64_t p = 0; p < n_panels; ++p) {
            const int64_t j0 = p * NR;
            pack_b_panel(std::min(NR, nc - j0), kc, B + pc * b_row + (jc + j0) * b_col, b_row,
                         b_col, Bp + j0 * kc);
          }
          // (implicit barrier: the B panel is complete)
#pragma omp for schedule(static)
          for (int64_t item = 0; item < items; ++item) {
            const int64_t mb = item / n_chunks, nb = item % n_chunks;
            const int64_t i0 = (mb * m_tiles / m_blocks) * MR;
            const int64_t i1 = std::min(M, ((mb + 1) * m_tiles / m_blocks) * MR);
            const int64_t p0 = nb * n_panels / n_chunks;
            const int64_t p1 = (nb + 1) * n_panels / n_chunks;
            if (i0 >= i1 || p0 >= p1) continue;
            const int64_t j0 = p0 * NR, j1 = std::min(nc, p1 * NR);
            pack_a(i1 - i0, kc, A + i0 * a_row + pc * a_col, a_row, a_col, Ap);
            macro_kernel(i1 - i0, j1 - j0, kc, Ap, Bp + j0 * kc, C + i0 * ldc + jc + j0, ldc,
                         add_to_c);
          }
          // (implicit barrier: nobody still reads Bp when it is repacked)
        }
      }
    }
  }
};

}  // namespace xlax::kernels::detail
