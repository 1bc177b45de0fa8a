// Training-batch augmentation on the host, one example at a time. Each example draws from
// its own splitmix64 stream keyed by (seed, epoch, example index): a resumed run, or a
// batch split across processes, repeats the same draws whatever the batch boundaries.
#include <cmath>

#include "nn/layer_util.hpp"
#include "nn/seeded_random.hpp"

namespace xlax::nn {
namespace {

using detail::splitmix64;
double uniform(uint64_t& s) { return detail::uniform01(s); }
int64_t uniform_int(uint64_t& s, int64_t lo, int64_t hi) {  // [lo, hi]
  return lo + static_cast<int64_t>(splitmix64(s) % static_cast<uint64_t>(hi - lo + 1));
}

// An example (spatial..., C) seen as its spatial dims and channel count.
struct Layout {
  Shape spatial;
  int64_t channels = 1, pixels = 1;
};
Layout layout_of(const Shape& example) {
  Layout l;
  l.spatial.assign(example.begin(), example.end() - 1);
  l.channels = example.back();
  for (auto d : l.spatial) l.pixels *= d;
  return l;
}

// out[p] = in[p shifted by `offset`] or `fill` outside; offsets per spatial dim.
void shift(const Layout& l, const std::vector<int64_t>& offset, float fill, const float* in, float* out) {
  const size_t rank = l.spatial.size();
  std::vector<int64_t> coord(rank, 0);
  for (int64_t p = 0; p < l.pixels; ++p) {
    int64_t src = 0;
    bool inside = true;
    for (size_t a = 0; a < rank; ++a) {
      const int64_t c = coord[a] + offset[a];
      inside = inside && c >= 0 && c < l.spatial[a];
      src = src * l.spatial[a] + c;
    }
    for (int64_t k = 0; k < l.channels; ++k) out[p * l.channels + k] = inside ? in[src * l.channels + k] : fill;
    for (size_t a = rank; a-- > 0;) {
      if (++coord[a] < l.spatial[a]) break;
      coord[a] = 0;
    }
  }
}

void flip(const Layout& l, size_t axis, float* data) {
  int64_t inner = l.channels;
  for (size_t a = axis + 1; a < l.spatial.size(); ++a) inner *= l.spatial[a];
  const int64_t len = l.spatial[axis], outer = l.pixels * l.channels / (inner * len);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < len / 2; ++i)
      for (int64_t k = 0; k < inner; ++k)
        std::swap(data[(o * len + i) * inner + k], data[(o * len + len - 1 - i) * inner + k]);
}

}  // namespace

void augment_example(const AugmentSettings& a, const Shape& example_shape, int64_t epoch, int64_t index, float* input,
                     float* target) {
  if (a.augments.empty()) return;
  if (example_shape.size() < 2) throw Error("augment: examples must be (spatial..., channels)");
  const Layout l = layout_of(example_shape);
  const size_t rank = l.spatial.size();
  uint64_t state = a.seed * 0xd1342543de82ef95ULL + static_cast<uint64_t>(epoch) * 0x9e3779b97f4a7c15ULL +
                   static_cast<uint64_t>(index) * 0xbf58476d1ce4e5b9ULL + 0x61756731ULL;
  splitmix64(state);
  const float zero_pixel = static_cast<float>((0 - a.mean) / a.std);  // pixel value 0, normalised
  std::vector<float> scratch(static_cast<size_t>(l.pixels * l.channels));
  for (const Augment& aug : a.augments) {
    if (aug.type == "random_crop") {
      // Pad by P zero pixels on every side, crop back to the size at a random offset.
      std::vector<int64_t> offset(rank);
      for (auto& o : offset) o = uniform_int(state, -aug.padding, aug.padding);
      for (float* img : {input, target}) {
        if (!img) continue;
        shift(l, offset, zero_pixel, img, scratch.data());
        std::copy(scratch.begin(), scratch.end(), img);
      }
    } else if (aug.type == "random_flip") {
      const bool h = aug.horizontal && uniform(state) < 0.5;
      const bool v = aug.vertical && rank >= 2 && uniform(state) < 0.5;
      for (float* img : {input, target}) {
        if (!img) continue;
        if (h) flip(l, rank - 1, img);
        if (v) flip(l, rank - 2, img);
      }
    } else if (aug.type == "gaussian_noise") {
      const double scale = aug.std / a.std;  // pixel units -> normalised units
      for (int64_t i = 0; i < l.pixels * l.channels; i += 2) {
        const double u = 1.0 - uniform(state), w = uniform(state), r = std::sqrt(-2 * std::log(u)) * scale;
        input[i] += static_cast<float>(r * std::cos(2 * M_PI * w));
        if (i + 1 < l.pixels * l.channels) input[i + 1] += static_cast<float>(r * std::sin(2 * M_PI * w));
      }
    } else if (aug.type == "random_erasing") {
      // As torchvision's RandomErasing: area 2-33 % of the image, aspect ratio 0.3-3.3 in
      // the last two spatial axes, filled with 0 in normalised units (the data's mean).
      if (uniform(state) >= aug.probability) continue;
      const double area = 0.02 + 0.31 * uniform(state);
      const double log_ratio = std::log(0.3) + (std::log(1 / 0.3) - std::log(0.3)) * uniform(state);
      std::vector<int64_t> lo(rank), len(rank);
      for (size_t d = 0; d < rank; ++d) {
        double frac = std::pow(area, 1.0 / static_cast<double>(rank));
        if (rank >= 2 && d == rank - 2) frac = std::sqrt(area * std::exp(log_ratio));
        if (rank >= 2 && d == rank - 1) frac = std::sqrt(area / std::exp(log_ratio));
        len[d] = std::clamp<int64_t>(std::llround(frac * static_cast<double>(l.spatial[d])), 1, l.spatial[d]);
        lo[d] = uniform_int(state, 0, l.spatial[d] - len[d]);
      }
      std::vector<int64_t> coord(rank, 0);
      for (int64_t p = 0; p < l.pixels; ++p) {
        bool inside = true;
        for (size_t d = 0; d < rank; ++d) inside = inside && coord[d] >= lo[d] && coord[d] < lo[d] + len[d];
        if (inside)
          for (int64_t k = 0; k < l.channels; ++k) input[p * l.channels + k] = 0.0f;
        for (size_t d = rank; d-- > 0;) {
          if (++coord[d] < l.spatial[d]) break;
          coord[d] = 0;
        }
      }
    } else {
      throw Error("augment: unknown type '" + aug.type + "'");
    }
  }
}

std::pair<Tensor, Tensor> make_augmented_batch(const Dataset& d, const std::vector<int64_t>& indices, int64_t begin,
                                               int64_t end, const AugmentSettings& a, int64_t epoch, bool reconstruct) {
  const int64_t e = d.example_size(), b = end - begin;
  if (begin < 0 || end > static_cast<int64_t>(indices.size()) || b <= 0)
    throw Error("make_augmented_batch: range [" + std::to_string(begin) + ", " + std::to_string(end) +
                ") is empty or out of range");
  std::vector<float> x(static_cast<size_t>(b * e)), target(reconstruct ? static_cast<size_t>(b * e) : 0);
  std::vector<int32_t> y(static_cast<size_t>(b), 0);
  for (int64_t k = 0; k < b; ++k) {
    const int64_t src = indices[static_cast<size_t>(begin + k)];
    if (src < 0 || src >= d.size()) throw Error("make_augmented_batch: example index " + std::to_string(src) + " is out of range");
    std::copy(d.x.begin() + src * e, d.x.begin() + (src + 1) * e, x.begin() + k * e);
    if (reconstruct) std::copy(d.x.begin() + src * e, d.x.begin() + (src + 1) * e, target.begin() + k * e);
    if (!d.labels.empty()) y[static_cast<size_t>(k)] = d.labels[static_cast<size_t>(src)];
    augment_example(a, d.example_shape, epoch, src, x.data() + k * e, reconstruct ? target.data() + k * e : nullptr);
  }
  Shape shape{b};
  shape.insert(shape.end(), d.example_shape.begin(), d.example_shape.end());
  Tensor xt = asarray<float>(x.data(), shape);
  if (reconstruct) return {xt, asarray<float>(target.data(), shape)};
  return {xt, asarray<int32_t>(y.data(), {b})};
}

}  // namespace xlax::nn
