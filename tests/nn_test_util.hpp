// Helpers shared by the nn tests.
#pragma once

#include <catch2/catch.hpp>

#include <filesystem>
#include <xlax/xlax.hpp>

namespace nn_test {
namespace fs = std::filesystem;
using xlax::Shape;
using xlax::Tensor;

inline Tensor f64(std::vector<double> v, Shape s) { return xlax::asarray<double>(v.data(), s); }
inline std::vector<double> vals(const Tensor& t) { return xlax::to_vector<double>(t); }
inline Tensor rnd(Shape s, uint64_t seed) { return xlax::random::normal(xlax::random::key(seed), s, xlax::DType::float64); }
inline Tensor apply(const xlax::nn::LayerPtr& layer, const std::vector<Tensor>& p, const Tensor& x, bool train = false) {
  xlax::nn::Context ctx;
  ctx.train = train;
  return layer->apply(p, x, ctx);
}
}  // namespace nn_test
