// Internal: the host-side random streams of the data pipeline (shuffles, synthetic sets,
// augmentation) and the key mixer of the trainer. splitmix64 keeps every draw a function
// of its seed alone, never of the standard library, so runs repeat across machines.
#pragma once

#include <cstdint>

namespace xlax::nn::detail {

inline uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
inline double uniform01(uint64_t& state) { return (splitmix64(state) >> 11) * (1.0 / 9007199254740992.0); }

// Two 64-bit values to one well-mixed seed (a finaliser over a*phi + b).
inline uint64_t mix(uint64_t a, uint64_t b) {
  uint64_t z = a * 0x9e3779b97f4a7c15ULL + b + 0x632be59bd9b4e019ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace xlax::nn::detail
