// xlax::random: splittable counter-based keys on Threefry-2x32 (20 rounds), as jax.random.
//
// The scheme (documented because exact bit-compatibility with JAX is not promised):
//  * key(seed) = {seed >> 32, seed & 0xffffffff}, as JAX with 64-bit seeds.
//  * bits(key, m): m uint32 words. The counters 0..m-1 (padded with one 0 if m is odd) are
//    split into a first and a second half, hashed pairwise as (first[j], second[j]) and the
//    two output halves concatenated, as JAX's threefry_random_bits. split(key, n) takes
//    bits(key, 2n) and reads consecutive pairs as the new keys, as JAX's split.
//  * uniform float32: 23 mantissa bits of a word, (bits >> 9 | 1.0f's exponent) - 1, as JAX;
//    uniform float64: 52 bits from two words (hi then lo) the same way. Both are in [0, 1),
//    then scaled to [lo, hi) and clamped below hi.
//  * normal: Box-Muller on pairs of float64 uniforms (u1 -> 1 - u1 keeps the log finite),
//    computed in double and rounded to the dtype, so normal(k, s, float32) is the float32
//    rounding of normal(k, s, float64).
//  * bernoulli(key, p, shape) = uniform(key, shape, float32) < p, as JAX.
//  * permutation: Fisher-Yates with j = floor(u64 * (i + 1) / 2^64), the 64-bit u taken from
//    threefry(key, (c_lo, c_hi)) for counter c = 0, 1, ...
// Everything is computed at call time; the same key always gives the same values.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/graph.hpp"

namespace xlax::random {
namespace {

uint32_t rotl(uint32_t v, int r) { return (v << r) | (v >> (32 - r)); }

// Threefry-2x32 with 20 rounds (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3").
void threefry2x32(const Key& key, uint32_t& x0, uint32_t& x1) {
  static const int rotations[8] = {13, 15, 26, 6, 17, 29, 16, 24};
  const uint32_t ks[3] = {key.data[0], key.data[1], key.data[0] ^ key.data[1] ^ 0x1BD11BDAu};
  x0 += ks[0];
  x1 += ks[1];
  for (uint32_t group = 0; group < 5; ++group) {
    const int* r = rotations + (group % 2) * 4;
    for (int i = 0; i < 4; ++i) {
      x0 += x1;
      x1 = rotl(x1, r[i]);
      x1 ^= x0;
    }
    // key injection after every 4 rounds
    x0 += ks[(group + 1) % 3];
    x1 += ks[(group + 2) % 3] + group + 1;
  }
}

std::vector<uint32_t> random_bits(const Key& key, int64_t m) {
  const int64_t half = (m + 1) / 2;
  std::vector<uint32_t> out(2 * half);
  for (int64_t j = 0; j < half; ++j) {
    uint32_t x0 = static_cast<uint32_t>(j);
    uint32_t x1 = static_cast<uint32_t>(half + j < m ? half + j : 0);
    threefry2x32(key, x0, x1);
    out[j] = x0;
    out[half + j] = x1;
  }
  out.resize(m);
  return out;
}

void check_shape(const Shape& shape, const char* fn) {
  for (int64_t d : shape)
    if (d < 0) throw Error(std::string(fn) + ": shape " + to_string(shape) + " has a negative dimension");
}

float unit_float(uint32_t bits) {
  const uint32_t one_to_two = (bits >> 9) | 0x3F800000u;
  float f;
  std::memcpy(&f, &one_to_two, sizeof f);
  return f - 1.0f;
}

double unit_double(uint32_t hi, uint32_t lo) {
  const uint64_t bits = (static_cast<uint64_t>(hi) << 32) | lo;
  const uint64_t one_to_two = (bits >> 12) | 0x3FF0000000000000ull;
  double f;
  std::memcpy(&f, &one_to_two, sizeof f);
  return f - 1.0;
}

// float64 uniforms in [0, 1), two words each.
std::vector<double> unit_doubles(const Key& key, int64_t n) {
  std::vector<uint32_t> bits = random_bits(key, 2 * n);
  std::vector<double> u(n);
  for (int64_t i = 0; i < n; ++i) u[i] = unit_double(bits[2 * i], bits[2 * i + 1]);
  return u;
}

}  // namespace

Key key(uint64_t seed) { return Key{{static_cast<uint32_t>(seed >> 32), static_cast<uint32_t>(seed)}}; }

std::vector<Key> split(const Key& k, int n) {
  if (n < 0) throw Error("random::split: n=" + std::to_string(n) + " must be >= 0");
  std::vector<uint32_t> bits = random_bits(k, 2 * static_cast<int64_t>(n));
  std::vector<Key> keys(n);
  for (int i = 0; i < n; ++i) keys[i] = Key{{bits[2 * i], bits[2 * i + 1]}};
  return keys;
}

Tensor uniform(const Key& k, const Shape& shape, DType dtype, double lo, double hi) {
  check_shape(shape, "random::uniform");
  if (!is_floating(dtype))
    throw Error("random::uniform: dtype " + to_string(dtype) + " is not supported (float32 or float64 required)");
  if (!(lo < hi) || !std::isfinite(lo) || !std::isfinite(hi))
    throw Error("random::uniform: need finite lo < hi, got lo=" + std::to_string(lo) + ", hi=" + std::to_string(hi));
  Tensor t = detail::make_leaf(shape, dtype);
  const int64_t n = t.size();
  if (dtype == DType::float32) {
    std::vector<uint32_t> bits = random_bits(k, n);
    float* p = t.node()->ptr<float>();
    const float flo = static_cast<float>(lo), fhi = static_cast<float>(hi);
    const float below_hi = std::nextafter(fhi, flo);
    for (int64_t i = 0; i < n; ++i) p[i] = std::min(std::max(flo, flo + (fhi - flo) * unit_float(bits[i])), below_hi);
  } else {
    std::vector<double> u = unit_doubles(k, n);
    double* p = t.node()->ptr<double>();
    const double below_hi = std::nextafter(hi, lo);
    for (int64_t i = 0; i < n; ++i) p[i] = std::min(std::max(lo, lo + (hi - lo) * u[i]), below_hi);
  }
  return t;
}

Tensor normal(const Key& k, const Shape& shape, DType dtype) {
  check_shape(shape, "random::normal");
  if (!is_floating(dtype))
    throw Error("random::normal: dtype " + to_string(dtype) + " is not supported (float32 or float64 required)");
  Tensor t = detail::make_leaf(shape, dtype);
  const int64_t n = t.size();
  const int64_t pairs = (n + 1) / 2;
  std::vector<double> u = unit_doubles(k, 2 * pairs);
  std::vector<double> z(2 * pairs);
  const double two_pi = 6.283185307179586476925286766559;
  for (int64_t i = 0; i < pairs; ++i) {
    const double radius = std::sqrt(-2.0 * std::log(1.0 - u[2 * i]));
    const double angle = two_pi * u[2 * i + 1];
    z[2 * i] = radius * std::cos(angle);
    z[2 * i + 1] = radius * std::sin(angle);
  }
  detail::dispatch_float(dtype, "random::normal", [&](auto zero) {
    using T = decltype(zero);
    T* p = t.node()->ptr<T>();
    for (int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(z[i]);
  });
  return t;
}

Tensor bernoulli(const Key& k, double p, const Shape& shape) {
  check_shape(shape, "random::bernoulli");
  if (!(p >= 0 && p <= 1)) throw Error("random::bernoulli: p=" + std::to_string(p) + " must be in [0, 1]");
  Tensor t = detail::make_leaf(shape, DType::bool_);
  const int64_t n = t.size();
  std::vector<uint32_t> bits = random_bits(k, n);
  bool* out = t.node()->ptr<bool>();
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<double>(unit_float(bits[i])) < p;
  return t;
}

std::vector<int64_t> permutation(const Key& k, int64_t n) {
  if (n < 0) throw Error("random::permutation: n=" + std::to_string(n) + " must be >= 0");
  std::vector<int64_t> perm(n);
  for (int64_t i = 0; i < n; ++i) perm[i] = i;
  uint64_t counter = 0;
  for (int64_t i = n - 1; i > 0; --i, ++counter) {
    uint32_t x0 = static_cast<uint32_t>(counter), x1 = static_cast<uint32_t>(counter >> 32);
    threefry2x32(k, x0, x1);
    const uint64_t u = (static_cast<uint64_t>(x0) << 32) | x1;
    const int64_t j = static_cast<int64_t>((static_cast<unsigned __int128>(u) * static_cast<uint64_t>(i + 1)) >> 64);
    std::swap(perm[i], perm[j]);
  }
  return perm;
}

}  // namespace xlax::random
