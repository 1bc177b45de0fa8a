// Internal: which instruction-set build of the kernels this CPU runs, decided once and
// shared by the conv kernel and the GEMM (each is compiled once per instruction set).
#pragma once

namespace xlax::kernels {

// The builds, narrowest first: Baseline is whatever the compiler targets by default (SSE2 on
// x86-64), Avx2 needs AVX2 + FMA, Avx512 needs AVX-512 F/BW/DQ/VL as well.
enum class Isa { Baseline = 0, Avx2 = 1, Avx512 = 2 };

// The widest build the CPU runs.
Isa cpu_isa();

// Test hook: the kernels use at most `limit` (default Avx512), so tests can run every build
// on one machine. Thread-safe; takes effect on the next kernel call.
void set_isa_limit(Isa limit);

// min(cpu_isa(), the limit): the build the kernels run now.
Isa kernel_isa();

}  // namespace xlax::kernels
