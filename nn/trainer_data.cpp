// The data a Trainer uses: each config source loaded, checked against the config (labels
// inside num_classes, the example shape the model was built for), normalised, and the
// validation set split off or loaded.
#include "nn/layer_util.hpp"
#include "nn/seeded_random.hpp"

namespace xlax::nn {
namespace {

using detail::mix;

enum class Split { train, test, validation };

Dataset load_source(const Config& c, Split split) {
  const DataConfig& d = c.data;
  const bool train = split == Split::train;
  if (d.source == "synthetic")
    return synthetic_dataset(d.kind, train ? d.train_size : d.test_size, d.num_classes, mix(c.training.seed, train ? 1 : 2));
  if (d.source == "npy") {
    if (split == Split::validation) return load_npy_dataset(d.validation_x, d.validation_y);
    return train ? load_npy_dataset(d.x, d.y) : load_npy_dataset(d.test_x, d.test_y);
  }
  if (d.source == "image_folder") {
    const std::string& dir = split == Split::validation ? d.validation_dir : train ? d.dir : d.test_dir;
    return load_image_folder(dir, d.image_height, d.image_width, d.channels, d.resize, d.class_names);
  }
  std::string images, labels;
  if (d.source == "fashion_mnist") {
    const std::string p = d.dir + "/" + (train ? "train" : "t10k");
    images = p + "-images-idx3-ubyte.gz";
    labels = p + "-labels-idx1-ubyte.gz";
  } else {
    images = train ? d.train_images : d.test_images;
    labels = train ? d.train_labels : d.test_labels;
  }
  try {
    return load_idx_dataset(images, labels);
  } catch (const Error& e) {
    if (d.source != "fashion_mnist") throw;
    throw Error(std::string(e.what()) + " (data.dir '" + d.dir +
                "': install Debian's dataset-fashion-mnist or point data.dir at the IDX .gz files)");
  }
}

const char* split_name(Split s) { return s == Split::train ? "training" : s == Split::test ? "test" : "validation"; }

Dataset load_checked(const Config& c, Split split) {
  const DataConfig& d = c.data;
  Dataset out = load_source(c, split);
  if (out.example_shape != d.example_shape())
    throw Error(std::string("data: the ") + split_name(split) + " examples have shape " + to_string(out.example_shape) +
                ", the model was built for " + to_string(d.example_shape()));
  if (out.size() == 0) throw Error(std::string("data: the ") + split_name(split) + " set is empty");
  if (c.training.task == "classify") {
    if (out.labels.empty()) throw Error(std::string("data: the ") + split_name(split) + " set has no labels");
    for (size_t i = 0; i < out.labels.size(); ++i)
      if (out.labels[i] < 0 || out.labels[i] >= d.num_classes)
        throw Error(std::string("data: ") + split_name(split) + " example " + std::to_string(i) + " has label " +
                    std::to_string(out.labels[i]) + ", outside data.num_classes " + std::to_string(d.num_classes) +
                    " (labels are 0 .. " + std::to_string(d.num_classes - 1) + ")");
  }
  const int64_t keep = split == Split::train ? d.train_size : split == Split::test ? d.test_size : 0;
  if (keep > 0 && keep < out.size()) {
    out.x.resize(static_cast<size_t>(keep * out.example_size()));
    if (!out.labels.empty()) out.labels.resize(static_cast<size_t>(keep));
  }
  out.num_classes = d.num_classes;
  if (d.mean != 0 || d.std != 1) normalize(out, d.mean, d.std);
  return out;
}

}  // namespace

void Trainer::load_train_and_validation() {
  if (train_) return;
  Dataset all = load_checked(config_, Split::train);
  const DataConfig& d = config_.data;
  if (d.validation_fraction > 0) {
    auto [train, val] = split_validation(all, d.validation_fraction, config_.training.seed);
    train_ = std::make_unique<Dataset>(std::move(train));
    validation_ = std::make_unique<Dataset>(std::move(val));
    return;
  }
  train_ = std::make_unique<Dataset>(std::move(all));
  if (d.has_validation()) validation_ = std::make_unique<Dataset>(load_checked(config_, Split::validation));
}

const Dataset& Trainer::train_data() {
  load_train_and_validation();
  return *train_;
}
const Dataset* Trainer::validation_data() {
  load_train_and_validation();
  return validation_.get();
}
const Dataset& Trainer::test_data() {
  if (!test_) test_ = std::make_unique<Dataset>(load_checked(config_, Split::test));
  return *test_;
}

}  // namespace xlax::nn
