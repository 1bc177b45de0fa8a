// Users' own data: npy and image-folder sources, the validation split, augmentation and an
// exact resume, plus the errors a new user meets (missing file, N mismatch, bad labels,
// unreadable images, empty class folders, paths relative to the config's folder).
#include <unistd.h>

#include <fstream>

#include "nn_test_util.hpp"

using namespace xlax;
using namespace xlax::nn;
using Catch::Matchers::Contains;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {


// A small learnable npy set: the synthetic images2d task saved as x float32, y int32.
void write_npy_set(const std::string& dir, const std::string& prefix, int64_t n, uint64_t seed) {
  Dataset d = synthetic_dataset("images2d", n, 3, seed);
  Shape s{n, 12, 12, 1};
  save_npy(dir + "/" + prefix + "x.npy", asarray<float>(d.x.data(), s));
  save_npy(dir + "/" + prefix + "y.npy", asarray<int32_t>(d.labels.data(), {n}));
}

json npy_config() {
  return json::parse(R"({"schema_version": 1,
    "model": {"layers": [{"type": "Conv", "features": 4, "kernel_size": [3, 3]}, {"type": "relu"},
                         {"type": "Dropout", "rate": 0.1},
                         {"type": "GlobalAvgPool"}, {"type": "Dense", "features": 3}]},
    "optimizer": {"type": "Adam", "learning_rate": 0.01},
    "data": {"source": "npy", "x": "x.npy", "y": "y.npy", "test_x": "tx.npy", "test_y": "ty.npy",
             "num_classes": 3, "validation": 0.25,
             "augment": [{"type": "random_crop", "padding": 2}, {"type": "random_flip"},
                         {"type": "gaussian_noise", "std": 0.05}, {"type": "random_erasing", "probability": 0.5}]},
    "training": {"epochs": 2, "batch_size": 16, "seed": 3, "metrics_file": "run/metrics.jsonl"},
    "checkpoint": {"dir": "run"}})");
}

// A 24-bit BMP (rows bottom-up, padded to 4 bytes) of grey values, written by hand so
// the test needs no image writer.
void write_bmp(const std::string& path, int width, int height, const std::vector<uint8_t>& grey) {
  const int row = (3 * width + 3) / 4 * 4, size = 54 + row * height;
  std::vector<uint8_t> b(static_cast<size_t>(size), 0);
  auto put32 = [&](int at, uint32_t v) {
    for (int i = 0; i < 4; ++i) b[static_cast<size_t>(at + i)] = static_cast<uint8_t>(v >> (8 * i));
  };
  b[0] = 'B';
  b[1] = 'M';
  put32(2, static_cast<uint32_t>(size));
  put32(10, 54);
  put32(14, 40);
  put32(18, static_cast<uint32_t>(width));
  put32(22, static_cast<uint32_t>(height));
  b[26] = 1;
  b[28] = 24;
  put32(34, static_cast<uint32_t>(row * height));
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      for (int c = 0; c < 3; ++c)
        b[static_cast<size_t>(54 + (height - 1 - y) * row + 3 * x + c)] = grey[static_cast<size_t>(y * width + x)];
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), size);
}

}  // namespace

TEST_CASE("npy data: validation split, augmentation, and a resumed run equals an uninterrupted one", "[nn][data]") {
  const std::string dir = nn_test::temp_dir("data_npy");
  write_npy_set(dir, "", 80, 1);
  write_npy_set(dir, "t", 24, 2);
  // relative paths resolve from the config's folder, not the current directory
  Config c = parse_config(npy_config().dump(), dir);
  CHECK(c.data.x == dir + "/x.npy");
  CHECK(c.checkpoint.dir == dir + "/run");
  CHECK(c.data.example_shape() == Shape{12, 12, 1});
  Trainer whole(c);
  CHECK(whole.train_data().size() == 60);
  REQUIRE(whole.validation_data() != nullptr);
  CHECK(whole.validation_data()->size() == 20);
  TrainState a = whole.init_state();
  auto history = whole.fit(a);
  REQUIRE(history.size() == 2);
  CHECK(history[1].validation);
  CHECK(std::isfinite(history[1].val_loss));
  CHECK(history[1].learning_rate == Approx(0.01));

  fs::remove_all(dir + "/run");
  json one = npy_config();
  one["training"]["epochs"] = 1;
  Trainer first(parse_config(one.dump(), dir));
  TrainState b = first.init_state();
  first.fit(b);
  Trainer second(c);
  TrainState r = load_checkpoint(newest_checkpoint(c.checkpoint.dir), c);
  CHECK(r.epoch == 1);
  CHECK(r.run.run_id == b.run.run_id);
  second.fit(r);
  REQUIRE(r.params.size() == a.params.size());
  for (size_t i = 0; i < a.params.size(); ++i) CHECK(nn_test::vals(r.params[i]) == nn_test::vals(a.params[i]));
  // the metrics file of the resumed run has one line per epoch
  std::ifstream m(dir + "/run/metrics.jsonl");
  int lines = 0;
  for (std::string l; std::getline(m, l);) lines += !l.empty();
  CHECK(lines == 2);
}

TEST_CASE("augmentation: draws depend on (seed, epoch, example) only; geometry hits input and target alike",
          "[nn][data]") {
  const Shape shape{4, 5, 1};
  std::vector<float> base(20);
  for (int i = 0; i < 20; ++i) base[i] = static_cast<float>(i + 1);
  AugmentSettings flip{{Augment{"random_flip"}}, 7, 0, 1};
  int flipped = 0;
  for (int64_t index = 0; index < 16; ++index) {
    std::vector<float> x = base, t = base, again = base;
    augment_example(flip, shape, 1, index, x.data(), t.data());
    augment_example(flip, shape, 1, index, again.data(), nullptr);
    CHECK(x == t);
    CHECK(x == again);
    if (x != base) {
      ++flipped;
      for (int r = 0; r < 4; ++r)
        for (int col = 0; col < 5; ++col) CHECK(x[r * 5 + col] == base[r * 5 + 4 - col]);  // the last spatial axis
    }
  }
  CHECK(flipped > 2);
  CHECK(flipped < 14);
  // random_crop pads with pixel 0, which after normalisation (mean 0.5, std 0.25) is -2
  Augment crop{"random_crop"};
  crop.padding = 3;
  AugmentSettings c{{crop}, 1, 0.5, 0.25};
  bool saw_pad = false;
  for (int64_t index = 0; index < 8; ++index) {
    std::vector<float> x = base;
    augment_example(c, shape, 2, index, x.data(), nullptr);
    for (float v : x) {
      CHECK((v == -2.0f || (v >= 1 && v <= 20)));
      saw_pad = saw_pad || v == -2.0f;
    }
  }
  CHECK(saw_pad);
  // noise and erasing leave the target alone
  Augment noise{"gaussian_noise"};
  noise.std = 0.1;
  Augment erase{"random_erasing"};
  erase.probability = 1;
  std::vector<float> x = base, t = base;
  augment_example(AugmentSettings{{noise, erase}, 1, 0, 1}, shape, 1, 0, x.data(), t.data());
  CHECK(t == base);
  CHECK(x != base);
}

TEST_CASE("image folders: sorted class names, resizing, and errors for bad folders and files", "[nn][data]") {
  const std::string dir = nn_test::temp_dir("data_images");
  for (const char* split : {"train", "test"})
    for (int c = 0; c < 2; ++c) {
      const std::string sub = dir + "/" + split + "/" + (c ? "zebra" : "apple");
      fs::create_directories(sub);
      for (int k = 0; k < 6; ++k) {  // 10 wide, 12 high: black or white with a grey square
        std::vector<uint8_t> grey(120, c ? 255 : 0);
        for (int y = k; y < k + 3; ++y)
          for (int x = k; x < k + 3; ++x) grey[static_cast<size_t>(y * 10 + x)] = 128;
        write_bmp(sub + "/" + std::to_string(k) + ".bmp", 10, 12, grey);
      }
    }
  json j = json::parse(R"({"schema_version": 1,
    "model": {"layers": [{"type": "Flatten"}, {"type": "Dense", "features": 2}]},
    "data": {"source": "image_folder", "dir": "train", "test_dir": "test", "image_size": [8, 8], "channels": 1},
    "optimizer": {"type": "adam", "learning_rate": 0.05},
    "training": {"epochs": 5, "batch_size": 4}})");
  Config c = parse_config(j.dump(), dir);
  CHECK(c.data.class_names == std::vector<std::string>{"apple", "zebra"});
  CHECK(c.data.num_classes == 2);
  Trainer t(c);
  const Dataset& train = t.train_data();
  CHECK(train.size() == 12);
  CHECK(train.example_shape == Shape{8, 8, 1});
  CHECK(train.labels[0] == 0);
  CHECK(train.labels[11] == 1);
  CHECK(train.x[63] == Approx(0.0f));                      // black apple background (bottom right)
  CHECK(train.x[train.x.size() - 1] == Approx(1.0f));      // white zebra background
  TrainState s = t.init_state();
  t.fit(s);
  CHECK(t.evaluate(s.params, t.test_data()).accuracy == Approx(1.0));

  json no_resize = j;
  no_resize["data"]["resize"] = false;
  CHECK_THROWS_WITH(Trainer(parse_config(no_resize.dump(), dir)).train_data(),
                    Contains("is 12x10, image_size is 8x8 and data.resize is false"));
  std::ofstream(dir + "/train/apple/broken.png") << "not a png";
  CHECK_THROWS_WITH(Trainer(parse_config(j.dump(), dir)).train_data(),
                    Contains("broken.png' is not a readable PNG, JPEG or BMP image"));
  fs::remove(dir + "/train/apple/broken.png");
  fs::rename(dir + "/train/zebra", dir + "/zebra_away");
  fs::create_directories(dir + "/train/zebra");
  CHECK_THROWS_WITH(Trainer(parse_config(j.dump(), dir)).train_data(),
                    Contains("class folder '" + dir + "/train/zebra' holds no .png, .jpg, .jpeg or .bmp files"));
  CHECK_THROWS_WITH(parse_config(j.dump(), dir + "/nowhere"), Contains("config: data.dir: image_folder: '"));
}

TEST_CASE("npy data errors: missing file, N mismatch, labels outside num_classes, bad dtype", "[nn][data]") {
  const std::string dir = nn_test::temp_dir("data_npy_errors");
  write_npy_set(dir, "", 20, 1);
  write_npy_set(dir, "t", 8, 2);
  json j = npy_config();
  j["data"].erase("validation");
  j.erase("checkpoint");
  j["training"].erase("metrics_file");
  json missing = j;
  missing["data"]["x"] = "nope.npy";
  CHECK_THROWS_WITH(parse_config(missing.dump(), dir), Contains("config: data.x: load_npy: cannot open '" + dir + "/nope.npy'"));
  save_npy(dir + "/short_y.npy", asarray<int32_t>(std::vector<int32_t>(5, 0).data(), {5}));
  json mismatch = j;
  mismatch["data"]["y"] = "short_y.npy";
  CHECK_THROWS_WITH(Trainer(parse_config(mismatch.dump(), dir)).train_data(), Contains("has 20 examples, y '"));
  std::vector<int32_t> big(20, 1);
  big[7] = 9;
  save_npy(dir + "/big_y.npy", asarray<int32_t>(big.data(), {20}));
  json labels = j;
  labels["data"]["y"] = "big_y.npy";
  CHECK_THROWS_WITH(Trainer(parse_config(labels.dump(), dir)).train_data(),
                    Contains("training example 7 has label 9, outside data.num_classes 3"));
  save_npy(dir + "/int_x.npy", asarray<int32_t>(std::vector<int32_t>(20 * 144, 0).data(), {20, 12, 12, 1}));
  json dtype = j;
  dtype["data"]["x"] = "int_x.npy";
  CHECK_THROWS_WITH(Trainer(parse_config(dtype.dump(), dir)).train_data(), Contains("x must be uint8"));
  json no_labels = j;
  no_labels["data"].erase("y");
  CHECK_THROWS_WITH(parse_config(no_labels.dump(), dir), Contains("config: data.y: is required to classify"));
  CHECK_THROWS_WITH(check_fits_memory("data 'huge.npy'", int64_t{1} << 60), Contains("needs 1152921504606846976 bytes"));
}

TEST_CASE("configs: comments, case-insensitive enums, --set overrides, run-control keys", "[nn][config]") {
  const std::string text = R"({"schema_version": 1, // a comment
    /* block */ "model": {"layers": [{"type": "flatten"}, {"type": "Dense", "features": 3}, {"type": "softmax"}]},
    "optimizer": {"type": "Adam"},
    "schedule": {"type": "MultiStep", "milestones": [10, 20], "gamma": 0.5},
    "data": {"source": "Synthetic", "kind": "images2d", "train_size": 8, "test_size": 4, "num_classes": 3}})";
  Config c = parse_config(text, ".", {"training.batch_size=128", "training.early_stopping={\"metric\": \"train_loss\"}"});
  CHECK(c.optimizer_name == "adam");
  CHECK(c.data.source == "synthetic");
  CHECK(c.training.batch_size == 128);
  CHECK(c.training.early_stopping_patience == 3);
  CHECK(c.schedule(9) == Approx(1e-3));
  CHECK(c.schedule(10) == Approx(5e-4));
  CHECK(c.schedule(25) == Approx(2.5e-4));
  REQUIRE(c.warnings.size() == 1);
  CHECK_THAT(c.warnings[0], Contains("softmax before softmax_cross_entropy"));
  CHECK_THROWS_WITH(parse_config(text, ".", {"training.batch_size=0"}), Contains("config: training.batch_size: must be >= 1"));
  CHECK_THROWS_WITH(parse_config(text, ".", {"training.early_stopping={\"metric\": \"val_loss\"}"}),
                    Contains("training.early_stopping.metric: 'val_loss' needs data.validation"));
  CHECK_THROWS_WITH(parse_config(text, ".", {"batch_size"}), Contains("expected KEY=VALUE"));
}
