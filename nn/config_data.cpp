// The data section of a config, and the example shape each source gives the model.
#include "nn/config_reader.hpp"

namespace xlax::nn {
namespace detail {

void parse_data(const Reader& d, DataConfig& dc) {
  dc.source = d.choice("source", "fashion_mnist", {"fashion_mnist", "idx", "synthetic"});
  dc.dir = d.string("dir", dc.dir);
  dc.train_images = d.string("train_images", "");
  dc.train_labels = d.string("train_labels", "");
  dc.test_images = d.string("test_images", "");
  dc.test_labels = d.string("test_labels", "");
  dc.kind = d.string("kind", "");
  dc.train_size = d.integer("train_size", 0, 0);
  dc.test_size = d.integer("test_size", 0, 0);
  dc.num_classes = d.integer("num_classes", 10, 2);
  dc.mean = d.number("mean", 0);
  dc.std = d.number("std", 1);
  dc.noise_std = d.number("noise_std", 0);
  if (!(dc.std > 0)) d.fail("data.std", "must be positive");
  if (dc.noise_std < 0) d.fail("data.noise_std", "must be >= 0");
  if (dc.source == "synthetic") {
    if (dc.kind != "waves1d" && dc.kind != "images2d" && dc.kind != "blobs3d")
      d.fail("data.kind", "synthetic data needs kind waves1d, images2d or blobs3d, got '" + dc.kind + "'");
    if (dc.train_size <= 0 || dc.test_size <= 0) d.fail("data", "synthetic data needs train_size and test_size > 0");
  }
  if (dc.source == "idx")
    for (const char* k : {"train_images", "train_labels", "test_images", "test_labels"})
      if (d.string(k, "").empty()) d.fail(std::string("data.") + k, "is required for source idx");
}

}  // namespace detail

Shape DataConfig::example_shape() const {
  if (source == "synthetic") {
    if (kind == "waves1d") return {32, 1};
    if (kind == "images2d") return {12, 12, 1};
    return {8, 8, 8, 1};
  }
  return {28, 28, 1};  // fashion_mnist; idx files are checked against the model when loaded
}

}  // namespace xlax::nn
