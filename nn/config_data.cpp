// The data section of a config: the source, its paths (resolved from the config's folder),
// the validation set, the augmentations, and the example shape each source gives the model
// (npy and idx read their headers here, image folders their class names).
#include <filesystem>

#include "nn/config_reader.hpp"

namespace xlax::nn {
namespace detail {

std::string resolve_path(const std::string& source_dir, const std::string& path) {
  if (path.empty() || std::filesystem::path(path).is_absolute()) return path;
  return (std::filesystem::path(source_dir.empty() ? "." : source_dir) / path).lexically_normal().string();
}

namespace {

std::vector<Augment> parse_augment(const Reader& d) {
  std::vector<Augment> out;
  if (!d.has("augment")) return out;
  const json& list = d.at("augment");
  if (!list.is_array()) d.fail("data.augment", "expected a list of objects, got " + type_name(list));
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string path = "data.augment[" + std::to_string(i) + "]";
    Reader r(list[i], path, "", *find_section(config_sections(), "augment"));
    if (!r.has("type")) r.fail(path + ".type", "is required (random_crop, random_flip, gaussian_noise or random_erasing)");
    Augment a;
    a.type = r.choice("type", "", {"random_crop", "random_flip", "gaussian_noise", "random_erasing"});
    auto only = [&](const char* key, const char* type) {
      if (r.has(key) && a.type != type) r.fail(path + "." + key, std::string("applies to ") + type + " only");
    };
    only("padding", "random_crop");
    only("horizontal", "random_flip");
    only("vertical", "random_flip");
    only("std", "gaussian_noise");
    only("probability", "random_erasing");
    if (a.type == "random_crop") a.padding = r.required_integer("padding", 1);
    a.horizontal = r.boolean("horizontal", true);
    a.vertical = r.boolean("vertical", false);
    if (a.type == "random_flip" && !a.horizontal && !a.vertical)
      r.fail(path, "random_flip with horizontal and vertical both false does nothing");
    if (a.type == "gaussian_noise") {
      if (!r.has("std")) r.fail(path + ".std", "is required");
      a.std = r.number("std", 0);
      if (!(a.std > 0)) r.fail(path + ".std", "must be positive");
    }
    a.probability = r.number("probability", 0.5);
    if (!(a.probability >= 0 && a.probability <= 1)) r.fail(path + ".probability", "must be in [0, 1]");
    out.push_back(a);
  }
  return out;
}

void parse_validation(const Reader& d, DataConfig& dc, const std::string& dir) {
  if (!d.has("validation")) return;
  const json& v = d.at("validation");
  if (v.is_number()) {
    dc.validation_fraction = v.get<double>();
    if (!(dc.validation_fraction > 0 && dc.validation_fraction < 1))
      d.fail("data.validation", "a fraction must be in (0, 1), got " + v.dump());
    return;
  }
  if (!v.is_object())
    d.fail("data.validation", "expected a fraction such as 0.1, {\"x\": ..., \"y\": ...} or {\"dir\": ...}, got " +
                                  type_name(v));
  Reader r(v, "data.validation", "", *find_section(config_sections(), "validation"));
  dc.validation_x = resolve_path(dir, r.string("x", ""));
  dc.validation_y = resolve_path(dir, r.string("y", ""));
  dc.validation_dir = resolve_path(dir, r.string("dir", ""));
  if (dc.source == "npy" && (dc.validation_x.empty() || r.has("dir")))
    r.fail("data.validation", "source npy takes {\"x\": ..., \"y\": ...}");
  if (dc.source == "image_folder" && (dc.validation_dir.empty() || r.has("x") || r.has("y")))
    r.fail("data.validation", "source image_folder takes {\"dir\": ...}");
  if (dc.source != "npy" && dc.source != "image_folder")
    r.fail("data.validation", "a separate validation set needs source npy or image_folder (use a fraction for " +
                                  dc.source + ")");
}

}  // namespace

void parse_data(const Reader& d, DataConfig& dc, const std::string& dir, const std::string& task) {
  dc.source = d.choice("source", "fashion_mnist", {"fashion_mnist", "idx", "npy", "image_folder", "synthetic"});
  const std::string& src = dc.source;
  dc.dir = resolve_path(dir, d.string("dir", dc.dir));
  for (auto [key, field] : {std::pair<const char*, std::string*>{"train_images", &dc.train_images},
                            {"train_labels", &dc.train_labels}, {"test_images", &dc.test_images},
                            {"test_labels", &dc.test_labels}, {"x", &dc.x}, {"y", &dc.y}, {"test_x", &dc.test_x},
                            {"test_y", &dc.test_y}, {"test_dir", &dc.test_dir}})
    *field = resolve_path(dir, d.string(key, ""));
  dc.kind = d.string("kind", "");
  dc.train_size = d.integer("train_size", 0, 0);
  dc.test_size = d.integer("test_size", 0, 0);
  dc.num_classes = d.integer("num_classes", 10, 2);
  dc.mean = d.number("mean", 0);
  dc.std = d.number("std", 1);
  dc.noise_std = d.number("noise_std", 0);
  if (!(dc.std > 0)) d.fail("data.std", "must be positive");
  if (dc.noise_std < 0) d.fail("data.noise_std", "must be >= 0");
  dc.augment = parse_augment(d);
  parse_validation(d, dc, dir);

  // The example shape, and what each source requires.
  auto with_path = [&](const char* key, auto&& read) {
    try {
      return read();
    } catch (const Error& e) {
      d.fail(std::string("data.") + key, e.what());
    }
  };
  if (src == "synthetic") {
    if (dc.kind != "waves1d" && dc.kind != "images2d" && dc.kind != "blobs3d")
      d.fail("data.kind", "synthetic data needs kind waves1d, images2d or blobs3d, got '" + dc.kind + "'");
    if (dc.train_size <= 0 || dc.test_size <= 0) d.fail("data", "synthetic data needs train_size and test_size > 0");
    dc.shape = dc.kind == "waves1d" ? Shape{32, 1} : dc.kind == "images2d" ? Shape{12, 12, 1} : Shape{8, 8, 8, 1};
  } else if (src == "fashion_mnist") {
    dc.shape = {28, 28, 1};
  } else if (src == "idx") {
    for (const char* k : {"train_images", "train_labels", "test_images", "test_labels"})
      if (d.string(k, "").empty()) d.fail(std::string("data.") + k, "is required for source idx");
    dc.shape = with_path("train_images", [&] { return idx_example_shape(dc.train_images); });
  } else if (src == "npy") {
    if (dc.x.empty()) d.fail("data.x", "is required for source npy");
    if (dc.test_x.empty()) d.fail("data.test_x", "is required for source npy");
    if (task == "classify" && (dc.y.empty() || dc.test_y.empty()))
      d.fail(dc.y.empty() ? "data.y" : "data.test_y", "is required to classify (only reconstruct may omit labels)");
    if (!dc.validation_x.empty() && task == "classify" && dc.validation_y.empty())
      d.fail("data.validation.y", "is required to classify");
    dc.shape = with_path("x", [&] { return npy_example_shape(dc.x); });
    for (auto [key, path] : {std::pair<const char*, std::string>{"test_x", dc.test_x}, {"validation.x", dc.validation_x}})
      if (!path.empty()) {
        const Shape s = with_path(key, [&] { return npy_example_shape(path); });
        if (s != dc.shape)
          d.fail(std::string("data.") + key, "examples have shape " + to_string(s) + ", data.x's have " + to_string(dc.shape));
      }
  } else {  // image_folder
    if (!d.has("dir")) d.fail("data.dir", "is required for source image_folder (one subfolder per class)");
    if (dc.test_dir.empty()) d.fail("data.test_dir", "is required for source image_folder");
    const Shape size = d.ints("image_size", true, false);
    if (size.size() != 2 || size[0] <= 0 || size[1] <= 0 || size[0] * size[1] > (int64_t{1} << 26))
      d.fail("data.image_size", "expected [height, width], both positive, got " + to_string(size));
    dc.image_height = size[0];
    dc.image_width = size[1];
    dc.channels = d.integer("channels", 1, 1);
    if (dc.channels != 1 && dc.channels != 3) d.fail("data.channels", "must be 1 (grey) or 3 (RGB)");
    dc.resize = d.boolean("resize", true);
    dc.class_names = with_path("dir", [&] { return image_folder_classes(dc.dir); });
    const int64_t found = static_cast<int64_t>(dc.class_names.size());
    if (d.has("num_classes") && dc.num_classes != found)
      d.fail("data.num_classes", std::to_string(dc.num_classes) + " but data.dir has " + std::to_string(found) +
                                     " class folders");
    dc.num_classes = found;
    dc.shape = {dc.image_height, dc.image_width, dc.channels};
  }
}

}  // namespace detail

Shape DataConfig::example_shape() const {
  if (!shape.empty()) return shape;
  // a DataConfig built in code rather than parsed
  if (source == "synthetic") return kind == "waves1d" ? Shape{32, 1} : kind == "images2d" ? Shape{12, 12, 1} : Shape{8, 8, 8, 1};
  if (source == "npy") return npy_example_shape(x);
  if (source == "idx") return idx_example_shape(train_images);
  if (source == "image_folder") return {image_height, image_width, channels};
  return {28, 28, 1};
}

}  // namespace xlax::nn
