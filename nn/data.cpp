// Datasets: IDX (MNIST format, gzip via zlib), synthetic classification sets for tests and
// examples, seeded shuffling and batching. The shuffle uses its own splitmix64 stream so an
// order depends only on (seed, epoch), never on the standard library.
#include <zlib.h>

#include <cmath>
#include <numeric>

#include "nn/layer_util.hpp"
#include "nn/seeded_random.hpp"

namespace xlax::nn {

int64_t Dataset::example_size() const { return detail::product(example_shape); }
int64_t Dataset::size() const {
  const int64_t e = example_size();
  return e ? static_cast<int64_t>(x.size()) / e : 0;
}

namespace {
using detail::splitmix64;
using detail::uniform01;
double gaussian(uint64_t& state) {  // Box-Muller
  const double u = 1.0 - uniform01(state), v = uniform01(state);
  return std::sqrt(-2 * std::log(u)) * std::cos(2 * M_PI * v);
}
}  // namespace

std::pair<Shape, std::vector<uint8_t>> read_idx(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");  // reads plain files too
  if (!f) throw Error("read_idx: cannot open '" + path + "'");
  std::vector<uint8_t> raw;
  uint8_t buf[1 << 16];
  int got;
  while ((got = gzread(f, buf, sizeof buf)) > 0) raw.insert(raw.end(), buf, buf + got);
  const bool failed = got < 0;
  gzclose(f);
  if (failed) throw Error("read_idx: '" + path + "' is not a readable gzip or IDX file");
  if (raw.size() < 4 || raw[0] != 0 || raw[1] != 0 || raw[2] != 0x08)
    throw Error("read_idx: '" + path + "' is not an unsigned-byte IDX file (bad magic number)");
  const size_t ndim = raw[3];
  if (raw.size() < 4 + 4 * ndim) throw Error("read_idx: '" + path + "' is truncated (header)");
  Shape dims;
  for (size_t i = 0; i < ndim; ++i) {
    const uint8_t* p = &raw[4 + 4 * i];
    dims.push_back((int64_t(p[0]) << 24) | (int64_t(p[1]) << 16) | (int64_t(p[2]) << 8) | int64_t(p[3]));
  }
  const size_t offset = 4 + 4 * ndim, count = static_cast<size_t>(detail::product(dims));
  if (raw.size() - offset != count)
    throw Error("read_idx: '" + path + "' holds " + std::to_string(raw.size() - offset) + " bytes of data, header " +
                to_string(dims) + " says " + std::to_string(count));
  return {dims, std::vector<uint8_t>(raw.begin() + offset, raw.end())};
}

namespace {
Shape idx_example_from(const Shape& dims, const std::string& path) {
  if (dims.size() == 2) return {dims[1], 1};                    // (N, L): 1-D signals
  if (dims.size() == 3) return {dims[1], dims[2], 1};           // (N, H, W): grey images
  if (dims.size() == 4) return {dims[1], dims[2], dims[3]};     // (N, H, W, C)
  throw Error("read_idx: '" + path + "' holds a " + std::to_string(dims.size()) + "-D array " + to_string(dims) +
              "; images must be (N, H, W) or (N, H, W, C)");
}
}  // namespace

Shape idx_example_shape(const std::string& images_path) {
  gzFile f = gzopen(images_path.c_str(), "rb");
  if (!f) throw Error("read_idx: cannot open '" + images_path + "'");
  uint8_t head[4 + 4 * 255];
  const int got = gzread(f, head, 4);
  Shape dims;
  bool ok = got == 4 && head[0] == 0 && head[1] == 0 && head[2] == 0x08;
  if (ok) {
    const int want = 4 * head[3];
    ok = gzread(f, head + 4, static_cast<unsigned>(want)) == want;
    for (int i = 0; ok && i < head[3]; ++i) {
      const uint8_t* p = &head[4 + 4 * i];
      dims.push_back((int64_t(p[0]) << 24) | (int64_t(p[1]) << 16) | (int64_t(p[2]) << 8) | int64_t(p[3]));
    }
  }
  gzclose(f);
  if (!ok) throw Error("read_idx: '" + images_path + "' is not an unsigned-byte IDX file (bad or truncated header)");
  return idx_example_from(dims, images_path);
}

Dataset load_idx_dataset(const std::string& images_path, const std::string& labels_path) {
  auto [idims, pixels] = read_idx(images_path);
  auto [ldims, labels] = read_idx(labels_path);
  const Shape example = idx_example_from(idims, images_path);
  if (ldims.size() != 1 || idims[0] != ldims[0])
    throw Error("load_idx_dataset: images " + to_string(idims) + " and labels " + to_string(ldims) +
                " do not describe the same number of examples");
  Dataset d;
  d.example_shape = example;
  d.x.resize(pixels.size());
  for (size_t i = 0; i < pixels.size(); ++i) d.x[i] = pixels[i] / 255.0f;
  d.labels.assign(labels.begin(), labels.end());
  d.num_classes = 0;
  for (auto l : d.labels) d.num_classes = std::max<int64_t>(d.num_classes, l + 1);
  return d;
}

Dataset synthetic_dataset(const std::string& kind, int64_t n, int64_t num_classes, uint64_t seed) {
  Dataset d;
  if (kind == "waves1d") d.example_shape = {32, 1};
  else if (kind == "images2d") d.example_shape = {12, 12, 1};
  else if (kind == "blobs3d") d.example_shape = {8, 8, 8, 1};
  else throw Error("synthetic_dataset: unknown kind '" + kind + "' (waves1d, images2d or blobs3d)");
  if (n <= 0 || num_classes < 2) throw Error("synthetic_dataset: need n > 0 and num_classes >= 2");
  const int64_t e = d.example_size();
  const size_t rank = d.example_shape.size() - 1;
  // Class c's template: a product of sines whose frequency along each axis depends on c.
  std::vector<float> templates(num_classes * e);
  for (int64_t c = 0; c < num_classes; ++c)
    for (int64_t i = 0; i < e; ++i) {
      int64_t rest = i;
      double v = 1;
      for (size_t a = rank; a-- > 0;) {
        const int64_t len = d.example_shape[a], coord = rest % len;
        rest /= len;
        const double freq = 1 + (c + a) % (num_classes + 1);
        v *= std::sin(M_PI * freq * (coord + 0.5) / len + 0.3 * c);
      }
      templates[c * e + i] = static_cast<float>(v);
    }
  uint64_t state = seed * 0x2545f4914f6cdd1dULL + 17;
  d.num_classes = num_classes;
  d.x.resize(n * e);
  d.labels.resize(n);
  for (int64_t k = 0; k < n; ++k) {
    const int32_t c = static_cast<int32_t>(splitmix64(state) % num_classes);
    d.labels[k] = c;
    const double amp = 0.8 + 0.4 * uniform01(state);
    for (int64_t i = 0; i < e; ++i) d.x[k * e + i] = static_cast<float>(amp * templates[c * e + i] + 0.5 * gaussian(state));
  }
  return d;
}

void normalize(Dataset& d, double mean, double std) {
  if (!(std > 0)) throw Error("normalize: std must be positive");
  for (auto& v : d.x) v = static_cast<float>((v - mean) / std);
}

std::vector<int64_t> shuffled_indices(int64_t n, uint64_t seed, int64_t epoch) {
  std::vector<int64_t> idx(n);
  std::iota(idx.begin(), idx.end(), 0);
  uint64_t state = seed ^ (0x9e3779b97f4a7c15ULL * static_cast<uint64_t>(epoch + 1));
  for (int64_t i = n - 1; i > 0; --i) std::swap(idx[i], idx[splitmix64(state) % static_cast<uint64_t>(i + 1)]);
  return idx;
}

std::pair<Tensor, Tensor> make_batch(const Dataset& d, const std::vector<int64_t>& indices, int64_t begin, int64_t end,
                                     DType dtype) {
  const int64_t e = d.example_size(), b = end - begin;
  if (begin < 0 || end > static_cast<int64_t>(indices.size()) || b <= 0)
    throw Error("make_batch: range [" + std::to_string(begin) + ", " + std::to_string(end) + ") is empty or out of range");
  std::vector<float> x(b * e);
  std::vector<int32_t> y(b, 0);
  for (int64_t k = 0; k < b; ++k) {
    const int64_t src = indices[begin + k];
    if (src < 0 || src >= d.size())
      throw Error("make_batch: example index " + std::to_string(src) + " is out of range for " + std::to_string(d.size()) +
                  " examples");
    std::copy(d.x.begin() + src * e, d.x.begin() + (src + 1) * e, x.begin() + k * e);
    if (!d.labels.empty()) y[k] = d.labels[src];
  }
  Shape shape{b};
  shape.insert(shape.end(), d.example_shape.begin(), d.example_shape.end());
  Tensor xt = asarray<float>(x.data(), shape);
  if (dtype != DType::float32) xt = astype(xt, dtype);
  return {xt, asarray<int32_t>(y.data(), {b})};
}

}  // namespace xlax::nn
