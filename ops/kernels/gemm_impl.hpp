// Internal: the blocked, packed GEMM (GotoBLAS/BLIS loop structure) shared by the
// per-instruction-set units gemm.cpp (baseline), gemm_avx2.cpp and gemm_avx512.cpp.
// Everything is a member of GemmImpl<T, Arch, ...>: units compiled with different -m flags
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

#include "ops/kernels/simd.hpp"  // fma_op

namespace xlax::kernels::detail {

// Register tile: kMR rows x kNV vectors of accumulators, plus kNV registers for a row of B
// and one for the broadcast of A. 6 x 2 (15 registers) fits the 16 of SSE2 and AVX2; AVX-512
// has 32, which a larger tile uses to load fewer B values per multiply-add.
template <class T, class Arch, int kMR = 6, int kNV = 2, int kKC = 256>
struct GemmImpl {
  using Batch = xsimd::batch<T, Arch>;
  static constexpr int64_t kLanes = static_cast<int64_t>(Batch::size);
  static constexpr int64_t MR = kMR;
  static constexpr int64_t NR = kNV * kLanes;
  // Cache blocking in elements: a KC x NR panel of B stays in L1, an MC x KC block of A in
  // L2, a KC x NC panel of B in L3.
  static constexpr int64_t KC = kKC;
  static constexpr int64_t MC = (sizeof(T) == 4 ? 240 : 120) / MR * MR;
  static constexpr int64_t NC = (sizeof(T) == 4 ? 4080 : 2040) / NR * NR;
  static_assert(MC % MR == 0 && NC % NR == 0, "blocks must hold whole register tiles");
  // Minimum multiply-adds per extra thread (an OpenMP fork/join costs a few microseconds;
  // below 2x this, no parallel region is entered at all).
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
#pragma GCC unroll 4
        for (int v = 0; v < kNV; ++v)
          Batch::load_unaligned(b + v * kLanes).store_aligned(Bp + k * NR + v * kLanes);
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

  // Where a register tile reads A: a packed micro-panel (A(r, k) = a[k*MR + r]) or, for
  // row-major A, the rows in place (A(r, k) = a[r*lda + k]): packing them would be a
  // transpose costing about a third of a 256^3 product.
  enum class ALayout { Packed, Rows };

  // C[0:MR, 0:NR] (row stride ldc) = A tile * Bp (+ C when add_to_c), over kc packed steps.
  // Fully unrolled over the tile, so the accumulators stay in registers.
  template <ALayout layout>
  static void micro_kernel(int64_t kc, const T* a, int64_t lda, const T* Bp, T* C, int64_t ldc,
                           bool add_to_c) {
    Batch acc[kMR][kNV];
#pragma GCC unroll 16
    for (int r = 0; r < kMR; ++r)
#pragma GCC unroll 4
      for (int v = 0; v < kNV; ++v) acc[r][v] = Batch(T(0));
    // Start fetching the C tile now; it is only needed after the k loop.
    for (int64_t r = 0; r < MR; ++r) {
      __builtin_prefetch(C + r * ldc);
      __builtin_prefetch(C + r * ldc + NR - 1);
    }
    for (int64_t k = 0; k < kc; ++k, Bp += NR) {
      Batch b[kNV];
#pragma GCC unroll 4
      for (int v = 0; v < kNV; ++v) b[v] = Batch::load_aligned(Bp + v * kLanes);
#pragma GCC unroll 16
      for (int r = 0; r < kMR; ++r) {
        const Batch x(layout == ALayout::Packed ? a[k * MR + r] : a[r * lda + k]);
#pragma GCC unroll 4
        for (int v = 0; v < kNV; ++v) acc[r][v] = fma_op(x, b[v], acc[r][v]);
      }
    }
#pragma GCC unroll 16
    for (int r = 0; r < kMR; ++r) {
      T* c = C + r * ldc;
#pragma GCC unroll 4
      for (int v = 0; v < kNV; ++v) {
        Batch out = acc[r][v];
        if (add_to_c) out = out + Batch::load_unaligned(c + v * kLanes);
        out.store_unaligned(c + v * kLanes);
      }
    }
  }

  // C[0:mc, 0:nc] (+)= A block * packed B panel. A is packed (Ap, lda unused) or row-major
  // rows lda apart; then a partial row tile is packed into edge_a first (MR x kc) so no
  // tile reads rows outside A. Partial column tiles go through a local tile so the
  // micro-kernel never touches memory outside C; the arithmetic per element is the same as
  // for a full tile.
  template <ALayout layout>
  static void macro_kernel(int64_t mc, int64_t nc, int64_t kc, const T* A, int64_t lda,
                           const T* Bp, T* C, int64_t ldc, bool add_to_c, T* edge_a) {
    alignas(64) T edge[MR * NR];
    for (int64_t j0 = 0; j0 < nc; j0 += NR) {
      const int64_t nr = std::min(NR, nc - j0);
      const T* bp = Bp + j0 * kc;
      for (int64_t i0 = 0; i0 < mc; i0 += MR) {
        const int64_t mr = std::min(MR, mc - i0);
        T* c = C + i0 * ldc + j0;
        const T* a = layout == ALayout::Packed ? A + i0 * kc : A + i0 * lda;
        if (layout == ALayout::Rows && mr < MR) {
          if (j0 == 0) pack_a(mr, kc, a, lda, 1, edge_a);
          a = edge_a;
        }
        auto tile = [&](T* dst, int64_t ld, bool add) {
          if (layout == ALayout::Rows && mr == MR)
            micro_kernel<ALayout::Rows>(kc, a, lda, bp, dst, ld, add);
          else
            micro_kernel<ALayout::Packed>(kc, a, 0, bp, dst, ld, add);
        };
        if (mr == MR && nr == NR) {
          tile(c, ldc, add_to_c);
          continue;
        }
        tile(edge, NR, false);
        for (int64_t r = 0; r < mr; ++r)
          for (int64_t j = 0; j < nr; ++j)
            c[r * ldc + j] = add_to_c ? edge[r * NR + j] + c[r * ldc + j] : edge[r * NR + j];
      }
    }
  }

  // Fewer rows than a register tile (M < MR) with unit-stride rows of B: the packed path
  // would waste most of each tile and pack all of B to use it M times. Instead each row of C
  // accumulates A(i,k) * row k of B, in column chunks that keep the C chunk in L1. Chunks
  // are split over threads; every element's additions run in k order, whatever the split.
  static constexpr int64_t kRowChunk = 16384 / sizeof(T);  // 16 KiB of a C row

  static void few_rows_chunk(int64_t M, int64_t j0, int64_t j1, int64_t K, const T* A,
                             int64_t a_row, int64_t a_col, const T* B, int64_t b_row, T* C,
                             int64_t ldc, bool accumulate) {
    for (int64_t i = 0; i < M; ++i) {
      T* c = C + i * ldc;
      if (!accumulate) std::fill(c + j0, c + j1, T(0));
      for (int64_t k = 0; k < K; ++k) {
        const T a = A[i * a_row + k * a_col];
        const Batch a_batch(a);
        const T* b = B + k * b_row;
        int64_t j = j0;
        for (; j + kLanes <= j1; j += kLanes)
          fma_op(a_batch, Batch::load_unaligned(b + j), Batch::load_unaligned(c + j))
              .store_unaligned(c + j);
        for (; j < j1; ++j) c[j] = a * b[j] + c[j];
      }
    }
  }

  static void few_rows_gemm(int64_t M, int64_t N, int64_t K, const T* A, int64_t a_row,
                            int64_t a_col, const T* B, int64_t b_row, T* C, int64_t ldc,
                            bool accumulate) {
    const int64_t chunks = ceil_div(N, kRowChunk);
    int64_t threads = std::max<int64_t>(1, get_num_threads());
    threads = std::min({threads, chunks, std::max<int64_t>(1, M * N * K / kWorkPerThread)});
    auto chunk = [&](int64_t ch) {
      few_rows_chunk(M, ch * kRowChunk, std::min(N, (ch + 1) * kRowChunk), K, A, a_row, a_col,
                     B, b_row, C, ldc, accumulate);
    };
    if (threads == 1) {
      for (int64_t ch = 0; ch < chunks; ++ch) chunk(ch);
      return;
    }
#pragma omp parallel for schedule(static) num_threads(static_cast<int>(threads))
    for (int64_t ch = 0; ch < chunks; ++ch) chunk(ch);
  }

  struct Problem {
    int64_t M, N, K;
    const T* A;
    int64_t a_row, a_col;
    const T* B;
    int64_t b_row, b_col;
    T* C;
    int64_t ldc;
    bool accumulate;
  };
  // How the packed path splits the problem: cache blocks and per-thread work items.
  struct Plan {
    int64_t kc_max, nc_max;     // K and N block sizes
    int64_t m_tiles, m_blocks;  // MR-row tiles, grouped into m_blocks row blocks
    int64_t n_chunks;           // column chunks of each B panel
    int64_t k_steps;            // K blocks packed per barrier
    int64_t threads;
  };

  // Row-major A is read in place unless its rows alias in L1: an MR-row tile whose rows fall
  // into few cache sets (row strides of 4 KiB, L1's way size on x86 cores) thrashes.
  // Measured on Zen 5 (fp32, 12 x 2 tile): n = 256 and 512 gain 10-25 % in place, n = 1024
  // (4 KiB rows, all 12 in one set) loses 30 % in place.
  static bool rows_in_place(const Problem& pb) {
    if (pb.a_col != 1) return false;
    constexpr int64_t kWay = 4096, kLine = 64;
    int per_set[kWay / kLine] = {};
    int most = 0;
    for (int64_t r = 0; r < MR; ++r) {
      const int64_t set = ((r * pb.a_row * static_cast<int64_t>(sizeof(T))) % kWay + kWay) % kWay / kLine;
      most = std::max(most, ++per_set[set]);
    }
    return most <= MR / 2;
  }

  static Plan make_plan(int64_t M, int64_t N, int64_t K) {
    Plan plan;
    // K blocks of equal size (no short tail block). Depends on K only: the order of the
    // additions for every element of C is fixed whatever the thread count.
    plan.kc_max = ceil_div(K, ceil_div(K, KC));
    plan.nc_max = ceil_div(ceil_div(N, ceil_div(N, NC)), NR) * NR;

    // Threads split the output into (row block x column chunk) work items; each item is
    // written by one thread only and K is never split, so results are bitwise reproducible
    // (and independent of the thread count: the tiles and their arithmetic do not change).
    int64_t threads = std::max<int64_t>(1, get_num_threads());
    threads = std::min(threads, std::max<int64_t>(1, M * N * K / kWorkPerThread));
    plan.m_tiles = ceil_div(M, MR);
    plan.m_blocks = ceil_div(plan.m_tiles, MC / MR);
    plan.n_chunks = 1;
    if (plan.m_blocks >= threads) {
      plan.m_blocks = std::min(ceil_div(plan.m_blocks, threads) * threads, plan.m_tiles);
    } else {
      plan.n_chunks = threads;  // few rows: split the columns of each B panel instead
    }
    plan.threads = std::min(threads, plan.m_blocks * plan.n_chunks);
    // With several threads, pack up to 4 MiB of B panels per barrier (a KC x NC panel is
    // about that size already, so L3 holds it either way).
    const int64_t panel_bytes = plan.kc_max * plan.nc_max * static_cast<int64_t>(sizeof(T));
    plan.k_steps = plan.threads == 1 ? 1 : std::max<int64_t>(1, (int64_t(4) << 20) / panel_bytes);
    return plan;
  }

  // The jc / pc loops with work-shared packing of B and the (row block x column chunk)
  // items. Called by every thread of a team, or alone (the omp for then runs serially).
  // Ap is this thread's A block buffer, Bp the shared B panels: plan.k_steps K blocks of
  // B are packed before one barrier, then each item runs through those K blocks in order
  // (fewer barriers, at which the threads would wait for the slower core).
  static void blocked_loops(const Problem& pb, const Plan& plan, T* Bp, T* Ap) {
    const int64_t items = plan.m_blocks * plan.n_chunks;
    const bool in_place = rows_in_place(pb);
    for (int64_t jc = 0; jc < pb.N; jc += plan.nc_max) {
      const int64_t nc = std::min(plan.nc_max, pb.N - jc);
      const int64_t n_panels = ceil_div(nc, NR);
      for (int64_t pc0 = 0; pc0 < pb.K; pc0 += plan.k_steps * plan.kc_max) {
        const int64_t steps = std::min(plan.k_steps, ceil_div(pb.K - pc0, plan.kc_max));
        // K block s of this pass starts at pc0 + s * kc_max; its panels at Bp + s * b_step.
        const int64_t b_step = plan.kc_max * plan.nc_max;
#pragma omp for schedule(static)
        for (int64_t sp = 0; sp < steps * n_panels; ++sp) {
          const int64_t step = sp / n_panels, j0 = (sp % n_panels) * NR;
          const int64_t pc = pc0 + step * plan.kc_max, kc = std::min(plan.kc_max, pb.K - pc);
          pack_b_panel(std::min(NR, nc - j0), kc, pb.B + pc * pb.b_row + (jc + j0) * pb.b_col,
                       pb.b_row, pb.b_col, Bp + step * b_step + j0 * kc);
        }
        // (implicit barrier: the B panels are complete)
#pragma omp for schedule(static)
        for (int64_t item = 0; item < items; ++item) {
          const int64_t mb = item / plan.n_chunks, nb = item % plan.n_chunks;
          const int64_t i0 = (mb * plan.m_tiles / plan.m_blocks) * MR;
          const int64_t i1 = std::min(pb.M, ((mb + 1) * plan.m_tiles / plan.m_blocks) * MR);
          const int64_t p0 = nb * n_panels / plan.n_chunks;
          const int64_t p1 = (nb + 1) * n_panels / plan.n_chunks;
          if (i0 >= i1 || p0 >= p1) continue;
          const int64_t j0 = p0 * NR, j1 = std::min(nc, p1 * NR);
          T* c = pb.C + i0 * pb.ldc + jc + j0;
          for (int64_t step = 0; step < steps; ++step) {
            const int64_t pc = pc0 + step * plan.kc_max, kc = std::min(plan.kc_max, pb.K - pc);
            const bool add_to_c = pb.accumulate || pc > 0;
            const T* a = pb.A + i0 * pb.a_row + pc * pb.a_col;
            const T* bp = Bp + step * b_step + j0 * kc;
            if (in_place) {
              macro_kernel<ALayout::Rows>(i1 - i0, j1 - j0, kc, a, pb.a_row, bp, c, pb.ldc,
                                          add_to_c, Ap);
            } else {
              pack_a(i1 - i0, kc, a, pb.a_row, pb.a_col, Ap);
              macro_kernel<ALayout::Packed>(i1 - i0, j1 - j0, kc, Ap, 0, bp, c, pb.ldc,
                                            add_to_c, nullptr);
            }
          }
        }
        // (implicit barrier: nobody still reads Bp when it is repacked)
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
    if (M < MR && b_col == 1) {
      few_rows_gemm(M, N, K, A, a_row, a_col, B, b_row, C, ldc, accumulate);
      return;
    }
    const Problem pb{M, N, K, A, a_row, a_col, B, b_row, b_col, C, ldc, accumulate};
    const Plan plan = make_plan(M, N, K);
    const int64_t mc_max = ceil_div(plan.m_tiles, plan.m_blocks) * MR;
    const int64_t k_blocks = std::min(plan.k_steps, ceil_div(K, plan.kc_max));
    const int64_t b_size = ceil_div(k_blocks * plan.kc_max * plan.nc_max, 16) * 16;  // whole lines
    const int64_t a_size = ceil_div(mc_max * plan.kc_max, 16) * 16;
    T* const Bp = pack_buffer(b_size + plan.threads * a_size);
    if (plan.threads == 1) {  // no parallel region: its fixed cost shows on small products
      blocked_loops(pb, plan, Bp, Bp + b_size);
      return;
    }
#pragma omp parallel num_threads(static_cast<int>(plan.threads))
    {
#ifdef _OPENMP
      blocked_loops(pb, plan, Bp, Bp + b_size + omp_get_thread_num() * a_size);
#endif
    }
  }
};

}  // namespace xlax::kernels::detail
