// Internal: the two vector operations xsimd 8.1 lacks, shared by the conv kernel and the
// GEMM. Templates over the batch type: each instruction-set unit instantiates its own batch
// types, so no code is shared between units built with different -m flags.
#pragma once

#include <type_traits>
#include <xsimd/xsimd.hpp>

namespace xlax::kernels::detail {

// x*y + z in one rounding. xsimd 8.1 has no AVX-512 fma kernel (its generic one is x*y + z,
// which -std=c++17 does not contract), so AVX-512 batches use the intrinsics.
template <class B>
inline B fma_op(const B& x, const B& y, const B& z) {
#if defined(__AVX512F__)
  if constexpr (sizeof(B) == 64 && std::is_same<typename B::value_type, float>::value)
    return B(_mm512_fmadd_ps(x, y, z));
  else if constexpr (sizeof(B) == 64)
    return B(_mm512_fmadd_pd(x, y, z));
  else
#endif
    return xsimd::fma(x, y, z);
}

// Non-temporal (streaming) store of a whole batch to a batch-aligned address: no read for
// ownership, and the line does not displace cached inputs. For outputs much larger than
// the caches. xsimd 8.1 has none, hence the intrinsics; call stream_fence() afterwards.
template <class B>
inline void store_stream(typename B::value_type* p, const B& v) {
  using T = typename B::value_type;
  constexpr bool f32 = std::is_same<T, float>::value;
#if defined(__AVX512F__)
  if constexpr (sizeof(B) == 64) {
    if constexpr (f32) _mm512_stream_ps(p, v); else _mm512_stream_pd(p, v);
    return;
  }
#endif
#if defined(__AVX__)
  if constexpr (sizeof(B) == 32) {
    if constexpr (f32) _mm256_stream_ps(p, v); else _mm256_stream_pd(p, v);
    return;
  }
#endif
#if defined(__SSE2__)
  if constexpr (sizeof(B) == 16) {
    if constexpr (f32) _mm_stream_ps(p, v); else _mm_stream_pd(p, v);
    return;
  }
#endif
  (void)f32;
  v.store_aligned(p);
}

// Orders this thread's streaming stores before its later stores (and the barrier after).
inline void stream_fence() {
#if defined(__SSE2__)
  _mm_sfence();
#endif
}

}  // namespace xlax::kernels::detail
