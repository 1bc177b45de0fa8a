// Users' own data: .npy arrays, folders of images (one subfolder per class), subsets and
// the validation split. Every loader checks the bytes a set needs against physical memory
// before it allocates, and names the file, the rule and the numbers when it refuses.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "nn/layer_util.hpp"

namespace xlax::nn {
namespace fs = std::filesystem;

void check_fits_memory(const std::string& what, int64_t bytes) {
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  const int64_t physical = pages > 0 && page > 0 ? static_cast<int64_t>(pages) * page : INT64_MAX;
  if (bytes < 0 || bytes > physical / 2)
    throw Error(what + " needs " + std::to_string(bytes) + " bytes as float32, more than half of this machine's " +
                std::to_string(physical) + " bytes of memory");
}

namespace {
int64_t checked_product(const Shape& s, const std::string& what) {
  int64_t n = 1;
  for (auto d : s) {
    if (d < 0 || (d > 0 && n > INT64_MAX / 8 / d)) throw Error(what + ": shape " + to_string(s) + " is too large");
    n *= d;
  }
  return n;
}

template <class T>
void widen(const std::string& raw, int64_t count, float scale, std::vector<float>& out) {
  out.resize(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    T v;
    std::memcpy(&v, raw.data() + i * sizeof(T), sizeof(T));
    out[static_cast<size_t>(i)] = static_cast<float>(v) * scale;
  }
}

template <class T>
void read_labels(const NpyArray& a, std::vector<int32_t>& out, const std::string& path) {
  out.resize(static_cast<size_t>(a.shape[0]));
  for (int64_t i = 0; i < a.shape[0]; ++i) {
    T v;
    std::memcpy(&v, a.data.data() + i * sizeof(T), sizeof(T));
    if (v < 0 || static_cast<int64_t>(v) > INT32_MAX)
      throw Error("load_npy_dataset: '" + path + "': label " + std::to_string(static_cast<int64_t>(v)) + " at example " +
                  std::to_string(i) + " is not a class index (0, 1, ...)");
    out[static_cast<size_t>(i)] = static_cast<int32_t>(v);
  }
}
}  // namespace

namespace {
Shape example_of(const NpyArray& header, const std::string& x_path) {
  if (header.shape.size() < 2)
    throw Error("load_npy_dataset: '" + x_path + "' has shape " + to_string(header.shape) +
                "; x must be (N, spatial..., channels), e.g. (N, 28, 28, 1)");
  return Shape(header.shape.begin() + 1, header.shape.end());
}
}  // namespace

Shape npy_example_shape(const std::string& x_path) { return example_of(read_npy(x_path, true), x_path); }

Dataset load_npy_dataset(const std::string& x_path, const std::string& y_path) {
  NpyArray header = read_npy(x_path, true);
  const Shape example = example_of(header, x_path);
  const int64_t count = checked_product(header.shape, "load_npy_dataset: '" + x_path + "'");
  check_fits_memory("data '" + x_path + "' (shape " + to_string(header.shape) + ")", count * 4);
  if (header.descr != "|u1" && header.descr != "<f4" && header.descr != "<f8")
    throw Error("load_npy_dataset: '" + x_path + "' has dtype '" + header.descr +
                "'; x must be uint8 ('|u1', scaled to [0, 1]), float32 or float64");
  NpyArray a = read_npy(x_path);
  Dataset d;
  d.example_shape = example;
  if (a.descr == "|u1") widen<uint8_t>(a.data, count, 1.0f / 255.0f, d.x);
  else if (a.descr == "<f4") widen<float>(a.data, count, 1.0f, d.x);
  else widen<double>(a.data, count, 1.0f, d.x);
  a.data.clear();
  if (y_path.empty()) return d;
  NpyArray y = read_npy(y_path);
  if (y.shape.size() != 1)
    throw Error("load_npy_dataset: '" + y_path + "' has shape " + to_string(y.shape) + "; y must be (N,) labels");
  if (y.shape[0] != header.shape[0])
    throw Error("load_npy_dataset: x '" + x_path + "' has " + std::to_string(header.shape[0]) + " examples, y '" +
                y_path + "' has " + std::to_string(y.shape[0]));
  const std::string& t = y.descr;
  if (t == "|u1") read_labels<uint8_t>(y, d.labels, y_path);
  else if (t == "|i1") read_labels<int8_t>(y, d.labels, y_path);
  else if (t == "<i2") read_labels<int16_t>(y, d.labels, y_path);
  else if (t == "<u2") read_labels<uint16_t>(y, d.labels, y_path);
  else if (t == "<i4") read_labels<int32_t>(y, d.labels, y_path);
  else if (t == "<u4") read_labels<uint32_t>(y, d.labels, y_path);
  else if (t == "<i8") read_labels<int64_t>(y, d.labels, y_path);
  else if (t == "<u8") read_labels<uint64_t>(y, d.labels, y_path);
  else
    throw Error("load_npy_dataset: '" + y_path + "' has dtype '" + t + "'; y must hold integer labels");
  for (auto l : d.labels) d.num_classes = std::max<int64_t>(d.num_classes, l + 1);
  return d;
}

std::vector<std::string> image_folder_classes(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error("image_folder: '" + dir + "' is not a folder");
  std::vector<std::string> classes;
  for (auto& e : fs::directory_iterator(dir, ec))
    if (e.is_directory(ec) && e.path().filename().string()[0] != '.') classes.push_back(e.path().filename().string());
  std::sort(classes.begin(), classes.end());
  if (classes.size() < 2)
    throw Error("image_folder: '" + dir + "' has " + std::to_string(classes.size()) +
                " class subfolders; it needs one subfolder of images per class (at least 2)");
  return classes;
}

namespace {
bool is_image_name(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp";
}
}  // namespace

Dataset load_image_folder(const std::string& dir, int64_t height, int64_t width, int64_t channels, bool resize,
                          const std::vector<std::string>& classes_in) {
  const std::vector<std::string> classes = classes_in.empty() ? image_folder_classes(dir) : classes_in;
  std::vector<std::pair<std::string, int32_t>> files;
  std::error_code ec;
  for (size_t c = 0; c < classes.size(); ++c) {
    const fs::path sub = fs::path(dir) / classes[c];
    if (!fs::is_directory(sub, ec))
      throw Error("image_folder: '" + dir + "' has no class folder '" + classes[c] + "' (classes come from data.dir)");
    std::vector<std::string> names;
    for (auto& e : fs::directory_iterator(sub, ec))
      if (e.is_regular_file(ec) && is_image_name(e.path())) names.push_back(e.path().string());
    if (names.empty())
      throw Error("image_folder: class folder '" + sub.string() + "' holds no .png, .jpg, .jpeg or .bmp files");
    std::sort(names.begin(), names.end());
    for (auto& n : names) files.push_back({n, static_cast<int32_t>(c)});
  }
  const int64_t example = height * width * channels;
  check_fits_memory("image folder '" + dir + "' (" + std::to_string(files.size()) + " images of " +
                        std::to_string(height) + "x" + std::to_string(width) + "x" + std::to_string(channels) + ")",
                    static_cast<int64_t>(files.size()) * example * 4);
  Dataset d;
  d.example_shape = {height, width, channels};
  d.class_names = classes;
  d.num_classes = static_cast<int64_t>(classes.size());
  d.x.resize(files.size() * static_cast<size_t>(example));
  d.labels.resize(files.size());
  for (size_t i = 0; i < files.size(); ++i) {
    std::vector<float> img = load_image(files[i].first, height, width, channels, resize);
    std::copy(img.begin(), img.end(), d.x.begin() + static_cast<int64_t>(i) * example);
    d.labels[i] = files[i].second;
  }
  return d;
}

Dataset subset(const Dataset& d, const std::vector<int64_t>& indices) {
  Dataset out;
  out.example_shape = d.example_shape;
  out.num_classes = d.num_classes;
  out.class_names = d.class_names;
  const int64_t e = d.example_size();
  out.x.resize(indices.size() * static_cast<size_t>(e));
  if (!d.labels.empty()) out.labels.resize(indices.size());
  for (size_t k = 0; k < indices.size(); ++k) {
    const int64_t i = indices[k];
    if (i < 0 || i >= d.size()) throw Error("subset: example index " + std::to_string(i) + " is out of range");
    std::copy(d.x.begin() + i * e, d.x.begin() + (i + 1) * e, out.x.begin() + static_cast<int64_t>(k) * e);
    if (!d.labels.empty()) out.labels[k] = d.labels[static_cast<size_t>(i)];
  }
  return out;
}

std::pair<Dataset, Dataset> split_validation(const Dataset& d, double fraction, uint64_t seed) {
  if (!(fraction > 0 && fraction < 1)) throw Error("split_validation: fraction must be in (0, 1)");
  const int64_t n = d.size();
  const int64_t n_val = static_cast<int64_t>(std::llround(fraction * static_cast<double>(n)));
  if (n_val < 1 || n_val >= n)
    throw Error("split_validation: a fraction " + std::to_string(fraction) + " of " + std::to_string(n) +
                " examples leaves an empty training or validation set");
  // Its own stream (epoch -1), so the split never equals an epoch's shuffle.
  const std::vector<int64_t> order = shuffled_indices(n, seed ^ 0x76616c6964ULL, -1);
  std::vector<int64_t> val(order.begin(), order.begin() + n_val), train(order.begin() + n_val, order.end());
  std::sort(val.begin(), val.end());
  std::sort(train.begin(), train.end());
  return {subset(d, train), subset(d, val)};
}

}  // namespace xlax::nn
