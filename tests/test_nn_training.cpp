// nn data, configs and their errors, safetensors, checkpoints, resume, gradcheck, training.
#include <catch2/catch.hpp>

#include <zlib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <xlax/xlax.hpp>

using namespace xlax;
using namespace xlax::nn;
using Catch::Matchers::Contains;
#include "nn_test_util.hpp"

using namespace nn_test;

namespace {
using nn_test::temp_dir;
void write_idx(const std::string& path, bool gzip, const std::vector<uint8_t>& header, const std::vector<uint8_t>& body) {
  std::vector<uint8_t> all = header;
  all.insert(all.end(), body.begin(), body.end());
  if (gzip) {
    gzFile f = gzopen(path.c_str(), "wb");
    gzwrite(f, all.data(), static_cast<unsigned>(all.size()));
    gzclose(f);
  } else {
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(all.data()), all.size());
  }
}
}  // namespace

TEST_CASE("IDX files: gzip and plain, errors; Fashion-MNIST when installed", "[nn][data]") {
  const std::string dir = temp_dir("idx");
  std::vector<uint8_t> pixels(12);
  for (int i = 0; i < 12; ++i) pixels[i] = static_cast<uint8_t>(i * 20);
  write_idx(dir + "/img.gz", true, {0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2}, pixels);
  write_idx(dir + "/lab", false, {0, 0, 8, 1, 0, 0, 0, 3}, {7, 0, 2});
  Dataset d = load_idx_dataset(dir + "/img.gz", dir + "/lab");
  CHECK(d.size() == 3);
  CHECK(d.example_shape == Shape{2, 2, 1});
  CHECK(d.labels == std::vector<int32_t>{7, 0, 2});
  CHECK(d.num_classes == 8);
  CHECK(d.x[5] == Approx(100 / 255.0));
  write_idx(dir + "/bad_magic", false, {0, 0, 9, 1, 0, 0, 0, 3}, {1, 2, 3});
  CHECK_THROWS_WITH(read_idx(dir + "/bad_magic"), Contains("bad magic"));
  write_idx(dir + "/short.gz", true, {0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 3, 0, 0, 0, 3}, pixels);
  CHECK_THROWS_WITH(read_idx(dir + "/short.gz"), Contains("holds 12 bytes of data"));
  CHECK_THROWS_WITH(read_idx(dir + "/missing.gz"), Contains("cannot open"));
  CHECK_THROWS_WITH(load_idx_dataset(dir + "/img.gz", dir + "/bad_magic"), Contains("bad magic"));
  fs::remove_all(dir);

  const std::string fm = "/usr/share/datasets/fashion-mnist";
  if (fs::exists(fm + "/t10k-images-idx3-ubyte.gz")) {
    Dataset t = load_idx_dataset(fm + "/t10k-images-idx3-ubyte.gz", fm + "/t10k-labels-idx1-ubyte.gz");
    CHECK(t.size() == 10000);
    CHECK(t.example_shape == Shape{28, 28, 1});
    CHECK(std::vector<int32_t>(t.labels.begin(), t.labels.begin() + 8) == std::vector<int32_t>{9, 2, 1, 1, 6, 1, 4, 6});
    CHECK(t.num_classes == 10);
  }
}

TEST_CASE("shuffling, batching, normalisation, synthetic data", "[nn][data]") {
  auto a = shuffled_indices(1000, 7, 1), b = shuffled_indices(1000, 7, 1), c = shuffled_indices(1000, 7, 2);
  CHECK(a == b);
  CHECK(a != c);
  auto sorted = a;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 1000; ++i) REQUIRE(sorted[i] == i);
  Dataset d = synthetic_dataset("images2d", 50, 3, 1);
  CHECK(d.size() == 50);
  CHECK(d.example_shape == Shape{12, 12, 1});
  CHECK(synthetic_dataset("images2d", 50, 3, 1).x == d.x);
  CHECK(synthetic_dataset("images2d", 50, 3, 2).x != d.x);
  CHECK_THROWS_WITH(make_batch(d, a, 0, 1000), Contains("out of range"));  // a holds indices up to 999
  std::vector<int64_t> order{3, 1, 4};
  auto [xb, yb] = make_batch(d, order, 1, 3, DType::float64);
  CHECK(xb.shape() == Shape{2, 12, 12, 1});
  CHECK(to_vector<int32_t>(yb) == std::vector<int32_t>{d.labels[1], d.labels[4]});
  CHECK(vals(xb)[144] == Approx(d.x[4 * 144]));
  Dataset n = d;
  normalize(n, 0.5, 2);
  CHECK(n.x[10] == Approx((d.x[10] - 0.5) / 2));
  CHECK_THROWS_AS(synthetic_dataset("audio", 10, 2, 0), Error);
  CHECK_THROWS_AS(make_batch(d, order, 2, 2), Error);
}

namespace {
// A small, fast, complete config: 1-D convs on synthetic waves with BatchNorm and Dropout.
const char* kSmallConfig = R"({
  "schema_version": 1,
  "model": {"layers": [
    {"type": "Conv", "features": 4, "kernel_size": [3], "strides": 2},
    {"type": "BatchNorm", "momentum": 0.9},
    {"type": "relu"},
    {"type": "Flatten"},
    {"type": "Dropout", "rate": 0.2},
    {"type": "Dense", "features": 3}
  ]},
  "loss": "softmax_cross_entropy",
  "optimizer": {"type": "adam", "learning_rate": 0.01},
  "data": {"source": "synthetic", "kind": "waves1d", "train_size": 96, "test_size": 32, "num_classes": 3},
  "training": {"epochs": 2, "batch_size": 32, "seed": 3}
})";

}  // namespace

TEST_CASE("configs: the example files parse and build the intended models", "[nn][config]") {
  Config c = load_config(XLAX_SOURCE_DIR "/examples/fashion_mnist_cnn.json");
  CHECK(c.layer_types == std::vector<std::string>{"Conv", "relu", "MaxPool", "Conv", "relu", "MaxPool", "Flatten", "Dense",
                                                  "relu", "Dense"});
  CHECK(c.model->output_shape({64, 28, 28, 1}) == Shape{64, 10});
  CHECK(c.optimizer_name == "adam");
  CHECK(c.schedule.lr == 1e-3);
  CHECK(c.training.batch_size == 64);
  CHECK(c.training.epochs == 12);
  // relative paths resolve from the config's folder, whatever the current directory
  CHECK(c.checkpoint.dir == XLAX_SOURCE_DIR "/examples/runs/fashion_mnist_cnn");
  CHECK(c.training.metrics_file == XLAX_SOURCE_DIR "/examples/runs/fashion_mnist_cnn/metrics.jsonl");
  CHECK(c.data.validation_fraction == 0.1);
  REQUIRE(c.data.augment.size() == 1);
  CHECK(c.data.augment[0].padding == 2);
  CHECK(c.training.early_stopping_patience == 3);
  CHECK(c.checkpoint.keep_best == "val_acc");
  const std::string table = summary(c);
  CHECK_THAT(table, Contains("(None, 7, 7, 64)") && Contains("Total params: 421642"));
  for (const char* name : {"fashion_mnist_denoise_ae", "synthetic_conv1d", "synthetic_conv3d"}) {
    INFO(name);
    Config e = load_config(std::string(XLAX_SOURCE_DIR "/examples/") + name + ".json");
    CHECK(!summary(e).empty());
  }
  // attribute order does not matter; Flax-style lowercase aliases are accepted
  Config a = parse_config(R"({"schema_version": 1, "model": {"layers": [
      {"padding": "VALID", "kernel_size": [3, 3], "features": 2, "type": "conv"}, {"type": "max_pool", "window_shape": [2, 2]},
      {"type": "flatten"}, {"type": "dense", "features": 10}]}})");
  CHECK(a.model->layer_output_shapes({1, 28, 28, 1})[1] == Shape{1, 13, 13, 2});
}

TEST_CASE("config errors name the JSON path and the layer, and never crash", "[nn][config]") {
  using nlohmann::json;
  const json base = json::parse(kSmallConfig);
  REQUIRE_NOTHROW(parse_config(base.dump()));
  std::vector<ConfigErrorCase> cases = {
      {[](json& j) { j.erase("schema_version"); }, "config: schema_version: is required"},
      {[](json& j) { j["schema_version"] = 2; }, "unsupported version 2"},
      {[](json& j) { j["modle"] = 1; }, "config: modle: unknown key 'modle'"},
      {[](json& j) { j["model"]["layers"][0]["kernal_size"] = {3}; },
       "config: model.layers[0].kernal_size (layer 0, Conv): unknown key 'kernal_size' (accepted: type, features, kernel_size"},
      {[](json& j) { j["model"]["layers"][0]["features"] = "4"; },
       "config: model.layers[0].features (layer 0, Conv): expected an integer, got string \"4\""},
      {[](json& j) { j["model"]["layers"][0]["kernel_size"] = 3; },
       "config: model.layers[0].kernel_size (layer 0, Conv): expected a non-empty list of integers"},
      {[](json& j) { j["model"]["layers"][0]["kernel_size"] = {3, "x"}; },
       "config: model.layers[0].kernel_size[1] (layer 0, Conv): expected an integer, got string \"x\""},
      {[](json& j) { j["model"]["layers"][0]["padding"] = "FULL"; },
       "config: model.layers[0].padding (layer 0, Conv): 'FULL' is not SAME"},
      {[](json& j) { j["model"]["layers"][0]["padding"] = {{1, 2, 3}}; }, "model.layers[0].padding[0] (layer 0, Conv)"},
      {[](json& j) { j["model"]["layers"][0]["dimension_numbers"] = "NCW"; },
       "config: model.layers[0].dimension_numbers (layer 0, Conv): expected a list of 3 strings"},
      {[](json& j) { j["model"]["layers"][0]["dimension_numbers"] = {"NCW", "OIW", "NWC"}; j["model"]["layers"][0]["padding"] = "VALID"; },
       "config: model.layers[0].dimension_numbers (layer 0): the lhs spec 'NCW' is not channels-last, but the data are "
       "channels-last"},
      {[](json& j) { j["model"]["layers"][0].erase("features"); }, "config: model.layers[0].features (layer 0, Conv): is required"},
      {[](json& j) { j["model"]["layers"][0]["features"] = 0; }, "model.layers[0].features (layer 0, Conv): must be >= 1"},
      {[](json& j) { j["model"]["layers"][2]["type"] = "Swish"; }, "config: model.layers[2].type (layer 2): unknown layer type 'Swish'"},
      {[](json& j) { j["model"]["layers"][3] = 7; }, "config: model.layers[3] (layer 3): expected an object with a string \"type\""},
      {[](json& j) { j["model"]["layers"][4]["rate"] = 1.5; }, "config: model.layers[4] (layer 4, Dropout): Dropout: rate=1.5"},
      {[](json& j) { j["model"]["layers"][4]["rate"] = true; }, "model.layers[4].rate (layer 4, Dropout): expected a number"},
      {[](json& j) { j["model"]["layers"][1]["use_bias"] = true; }, "model.layers[1].use_bias (layer 1, BatchNorm): unknown key"},
      {[](json& j) { j["model"]["layers"][0]["feature_group_count"] = 3; },
       "config: model.layers[0] (layer 0, Conv): Conv: feature_group_count=3 must divide features=4"},
      {[](json& j) { j["model"]["layers"][0]["features"] = 6; j["model"]["layers"][0]["feature_group_count"] = 2; },
       "config: model.layers[0] (layer 0, Conv): with inferred input shape (1, 32, 1): Conv: input shape (1, 32, 1): feature_group_count=2 "
       "must divide the input channels (1)"},
      {[](json& j) { j["model"]["layers"].insert(j["model"]["layers"].begin(), json{{"type", "Flatten"}}); },
       "config: model.layers[1] (layer 1, Conv): with inferred input shape (1, 32): Conv: input shape (1, 32): expected rank 3"},
      {[](json& j) { j["model"]["layers"].erase(5); }, "must be (batch, classes) for classification"},
      {[](json& j) { j["model"]["layers"] = json::array(); }, "config: model.layers: expected a non-empty list"},
      {[](json& j) { j["optimizer"]["type"] = "rmsprop"; }, "config: optimizer.type: 'rmsprop' is not one of sgd, adam, adamw"},
      {[](json& j) { j["optimizer"]["learning_rate"] = "fast"; }, "config: optimizer.learning_rate: expected a number"},
      {[](json& j) { j["optimizer"]["nesterov"] = true; }, "config: optimizer.nesterov: applies to sgd only, not adam"},
      {[](json& j) { j["optimizer"]["type"] = "sgd"; j["optimizer"]["b1"] = 0.8; }, "config: optimizer.b1: applies to adam and adamw only"},
      {[](json& j) { j["optimizer"]["type"] = "sgd"; j["optimizer"]["nesterov"] = true; }, "config: optimizer: SGD: nesterov needs momentum"},
      {[](json& j) { j["schedule"] = {{"type", "cosine"}, {"warmup", 5}}; }, "config: schedule.warmup: unknown key 'warmup'"},
      {[](json& j) { j["training"]["epochs"] = -1; }, "config: training.epochs: must be >= 0, got -1"},
      {[](json& j) { j["training"]["batch_size"] = 1.5; }, "config: training.batch_size: expected an integer, got number 1.5"},
      {[](json& j) { j["training"] = "fast"; }, "config: training: expected an object, got string"},
      {[](json& j) { j["data"]["kind"] = "audio"; }, "config: data.kind: synthetic data needs kind"},
      {[](json& j) { j["data"]["source"] = "idx"; }, "config: data.train_images: is required for source idx"},
      {[](json& j) { j["loss"] = "mse"; }, "config: loss: task classify needs softmax_cross_entropy"},
      {[](json& j) { j["loss"] = "hinge"; }, "config: loss: 'hinge' is not one of"},
      {[](json& j) { j["checkpoint"] = {{"dir", 5}}; }, "config: checkpoint.dir: expected a string, got integer 5"},
  };
  check_config_errors(base, cases);
  CHECK_THROWS_WITH(parse_config("{\"schema_version\": 1, "), Contains("config: not valid JSON"));
  CHECK_THROWS_WITH(parse_config("[1, 2]"), Contains("expected an object"));
  CHECK_THROWS_WITH(load_config("/nonexistent/config.json"), Contains("cannot open"));
  CHECK_THAT(config_reference(), Contains("kernel_dilation") && Contains("output_padding") && Contains("warmup_steps"));
}

TEST_CASE("safetensors: byte layout, round trip, corrupt files", "[nn][checkpoint]") {
  const std::string dir = temp_dir("st");
  NamedTensors t;
  t.names = {"b.weight", "a.bias"};
  t.tensors = {astype(f64({1.5, -2, 3, 4, 5, 6}, {2, 3}), DType::float32), f64({0.1, 0.2}, {2})};
  t.metadata = {{"step", "12"}, {"note", "hi"}};
  const std::string path = dir + "/x.safetensors";
  save_safetensors(path, t);
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= uint64_t(uint8_t(bytes[i])) << (8 * i);
  REQUIRE(8 + n + 6 * 4 + 2 * 8 == bytes.size());
  CHECK(n % 8 == 0);
  auto header = nlohmann::json::parse(bytes.substr(8, n));
  CHECK(header["b.weight"]["dtype"] == "F32");
  CHECK(header["b.weight"]["shape"] == nlohmann::json({2, 3}));
  CHECK(header["a.bias"]["dtype"] == "F64");
  CHECK(header["__metadata__"]["note"] == "hi");
  const auto off = header["b.weight"]["data_offsets"].get<std::vector<uint64_t>>();
  float first;
  std::memcpy(&first, bytes.data() + 8 + n + off[0], 4);
  CHECK(first == 1.5f);
  NamedTensors back = load_safetensors(path);
  REQUIRE(back.names.size() == 2);
  for (size_t i = 0; i < 2; ++i) {
    const size_t j = back.names[i] == "b.weight" ? 0 : 1;
    CHECK(back.tensors[i].dtype() == t.tensors[j].dtype());
    CHECK(back.tensors[i].shape() == t.tensors[j].shape());
    CHECK(vals(back.tensors[i]) == vals(t.tensors[j]));
  }
  CHECK(back.metadata == t.metadata);
  std::ofstream(dir + "/short.safetensors", std::ios::binary).write(bytes.data(), bytes.size() - 3);
  CHECK_THROWS_WITH(load_safetensors(dir + "/short.safetensors"), Contains("data_offsets"));
  std::ofstream(dir + "/tiny.safetensors", std::ios::binary).write(bytes.data(), 5);
  CHECK_THROWS_WITH(load_safetensors(dir + "/tiny.safetensors"), Contains("shorter than"));
  std::string huge = bytes;
  huge[7] = 0x7f;
  std::ofstream(dir + "/huge.safetensors", std::ios::binary).write(huge.data(), huge.size());
  CHECK_THROWS_WITH(load_safetensors(dir + "/huge.safetensors"), Contains("runs past the end"));
  // Shapes whose element count is negative or overflows int64 (UB before the checked product).
  for (const std::string shape : {"[1099511627776, 1099511627776]", "[-1, 4]"}) {
    const std::string json = "{\"a\":{\"dtype\":\"F32\",\"shape\":" + shape + ",\"data_offsets\":[0,4]}}";
    std::string file(8, '\0');
    for (int b = 0; b < 8; ++b) file[b] = static_cast<char>((json.size() >> (8 * b)) & 0xff);
    file += json + std::string(4, '\0');
    std::ofstream(dir + "/bad_shape.safetensors", std::ios::binary).write(file.data(), file.size());
    CHECK_THROWS_WITH(load_safetensors(dir + "/bad_shape.safetensors"), Contains("more elements than any file holds"));
  }
  NamedTensors dup = t;
  dup.names[1] = "b.weight";
  CHECK_THROWS_WITH(save_safetensors(dir + "/dup.safetensors", dup), Contains("duplicate"));
  fs::remove_all(dir);
}

TEST_CASE("checkpoints: round trip, and a resumed run equals an uninterrupted one", "[nn][checkpoint]") {
  const std::string dir_a = temp_dir("run_a"), dir_b = temp_dir("run_b");
  auto config_for = [&](const std::string& dir, int64_t epochs) {
    auto j = nlohmann::json::parse(kSmallConfig);
    j["checkpoint"] = {{"dir", dir}, {"keep", 5}};
    j["training"]["epochs"] = epochs;
    j["training"]["metrics_file"] = dir + "/metrics.jsonl";
    return parse_config(j.dump());
  };
  // uninterrupted: 2 epochs
  Trainer full(config_for(dir_a, 2));
  TrainState sa = full.init_state();
  auto ha = full.fit(sa);
  REQUIRE(ha.size() == 2);
  CHECK(sa.opt.step == 6);
  // interrupted after epoch 1, then resumed from the newest checkpoint in a new trainer
  {
    Trainer first(config_for(dir_b, 1));
    TrainState sb = first.init_state();
    first.fit(sb);
  }
  const std::string newest = newest_checkpoint(dir_b);
  CHECK(fs::path(newest).filename() == "ckpt_epoch_0001.safetensors");
  Config resumed_config = config_for(dir_b, 2);
  Trainer second(resumed_config);
  TrainState sb = load_checkpoint(newest, resumed_config);
  CHECK(sb.epoch == 1);
  CHECK(sb.opt.step == 3);
  auto hb = second.fit(sb);
  REQUIRE(hb.size() == 1);
  CHECK(hb[0].train_loss == ha[1].train_loss);  // bitwise: same data order, dropout keys, state
  CHECK(hb[0].test_acc == ha[1].test_acc);
  REQUIRE(sb.params.size() == sa.params.size());
  for (size_t i = 0; i < sa.params.size(); ++i) REQUIRE(to_vector<float>(sb.params[i]) == to_vector<float>(sa.params[i]));
  for (size_t k = 0; k < sa.opt.slots.size(); ++k)
    for (size_t i = 0; i < sa.params.size(); ++i)
      REQUIRE(to_vector<float>(sb.opt.slots[k][i]) == to_vector<float>(sa.opt.slots[k][i]));
  // BatchNorm running statistics moved away from their init and were saved too
  CHECK(to_vector<float>(sa.params[3]) != std::vector<float>(4, 1.0f));
  // round trip of a saved state
  TrainState again = load_checkpoint(checkpoint_path(full.config().checkpoint, 2), full.config());
  for (size_t i = 0; i < sa.params.size(); ++i) CHECK(to_vector<float>(again.params[i]) == to_vector<float>(sa.params[i]));
  CHECK(again.opt.step == sa.opt.step);
  // metrics: one JSON line per epoch, appended across the resume
  std::ifstream m(dir_b + "/metrics.jsonl");
  std::string line;
  int lines = 0;
  while (std::getline(m, line)) {
    auto j = nlohmann::json::parse(line);
    CHECK(j["epoch"] == ++lines);
    CHECK(j.contains("test_acc"));
  }
  CHECK(lines == 2);
  // a checkpoint of another model is refused with a clear message
  auto other = nlohmann::json::parse(kSmallConfig);
  other["model"]["layers"][5]["features"] = 3;
  other["model"]["layers"][0]["features"] = 5;
  CHECK_THROWS_WITH(load_checkpoint(newest, parse_config(other.dump())), Contains("has shape"));
  fs::remove_all(dir_a);
  fs::remove_all(dir_b);
}

TEST_CASE("a save killed half-way leaves the previous checkpoint loadable", "[nn][checkpoint]") {
  const std::string dir = temp_dir("kill");
  const std::string path = dir + "/ckpt_epoch_0001.safetensors";
  NamedTensors small;
  small.names = {"w"};
  small.tensors = {f64({1, 2, 3}, {3})};
  save_safetensors(path, small);
  // A big tensor so the write takes a while; the child rewrites the same path until killed.
  Tensor big = astype(rnd({4 << 20}, 1), DType::float32);
  big.eval();
  NamedTensors large;
  large.names = {"w"};
  large.tensors = {big};
  const pid_t child = fork();
  if (child == 0) {
    for (;;) save_safetensors(path, large);
  }
  usleep(150 * 1000);
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  NamedTensors back = load_safetensors(path);  // the old file or a complete new one, never a torn one
  REQUIRE(back.tensors.size() == 1);
  CHECK((back.tensors[0].size() == 3 || back.tensors[0].size() == (4 << 20)));
  // the killed writer left its temp file behind; it is not mistaken for a checkpoint
  std::ofstream(path + ".tmp.999999") << "partial";
  CHECK(newest_checkpoint(dir) == path);
  CheckpointConfig cc;
  cc.dir = dir;
  prune_checkpoints(cc);  // and the next save's pruning removes it
  CHECK_FALSE(fs::exists(path + ".tmp.999999"));
  CHECK(fs::exists(path));
  fs::remove_all(dir);
}

TEST_CASE("gradcheck passes on the synthetic example configs (float64)", "[nn][grad]") {
  for (const char* name : {"synthetic_conv1d", "synthetic_conv3d"}) {
    INFO(name);
    auto lines = gradcheck(load_config(std::string(XLAX_SOURCE_DIR "/examples/") + name + ".json"));
    CHECK(lines.size() >= 6);
    for (auto& l : lines) CHECK_THAT(l, Contains(": ok") || Contains("skipped (running statistic)"));
  }
}

TEST_CASE("gradcheck passes on the Fashion-MNIST example configs (float64)", "[nn][grad][slow]") {
  if (!fs::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")) return;
  for (const char* name : {"fashion_mnist_cnn", "fashion_mnist_denoise_ae"}) {
    INFO(name);
    auto lines = gradcheck(load_config(std::string(XLAX_SOURCE_DIR "/examples/") + name + ".json"));
    CHECK(lines.size() == 8);
  }
}

TEST_CASE("training learns the synthetic 1-D and 3-D tasks", "[nn][train]") {
  for (const char* name : {"synthetic_conv1d", "synthetic_conv3d"}) {
    INFO(name);
    Trainer t(load_config(std::string(XLAX_SOURCE_DIR "/examples/") + name + ".json"));
    TrainState s = t.init_state();
    const double before = t.evaluate(s.params, t.test_data()).accuracy;
    auto h = t.fit(s);
    CHECK(h.back().test_acc > 0.9);
    CHECK(h.back().test_acc > before + 0.3);
    CHECK(h.back().train_loss < h.front().train_loss);
  }
}
