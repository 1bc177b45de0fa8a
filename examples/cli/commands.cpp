// The work of each `xlax` command; main.cpp only parses the command line (CLI11).
#include "commands.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "images.hpp"
#include "progress.hpp"
#include "run_pictures.hpp"

namespace xlax::cli {
using namespace xlax::nn;

namespace {

Config load(const Options& o) {
  Config config = load_config(o.config, o.set);
  if (o.threads >= 0) config.training.threads = o.threads;
  for (auto& w : config.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  return config;
}

std::vector<std::string> class_names_of(const Config& config, const std::string& checkpoint) {
  std::vector<std::string> names = checkpoint.empty() ? std::vector<std::string>{} : checkpoint_class_names(checkpoint);
  if (names.empty()) names = config.data.class_names;
  if (names.empty())
    for (int64_t i = 0; i < config.data.num_classes; ++i) names.push_back(std::to_string(i));
  return names;
}

// The checkpoint folder contract: what a fresh, resumed or overwriting run may do.
std::string checkpoint_to_resume(const Config& config, const Options& o) {
  const std::string& dir = config.checkpoint.dir;
  if (dir.empty()) {
    if (o.resume || o.auto_resume || o.overwrite)
      throw Error(std::string(o.resume ? "--resume" : o.auto_resume ? "--auto-resume" : "--overwrite") +
                  " needs checkpoint.dir in the config");
    return "";
  }
  remove_stale_temp_files(dir);
  const std::vector<std::string> found = list_checkpoints(dir);
  if (o.overwrite) {
    remove_checkpoints(dir);
    return "";
  }
  const std::string newest = newest_checkpoint(dir);
  if (o.resume && newest.empty())
    throw Error("--resume: checkpoint.dir '" + dir + "' holds no ckpt_epoch_*.safetensors to resume from");
  if (o.resume || o.auto_resume) return newest;
  if (!found.empty()) {
    std::string names;
    for (auto& f : found) names += (names.empty() ? "" : ", ") + std::filesystem::path(f).filename().string();
    throw Error("checkpoint.dir '" + dir + "' already holds checkpoints (" + names +
                "): continue that run with --resume, start over with --overwrite, or choose another folder "
                "(--set checkpoint.dir=...)");
  }
  return "";
}

void print_epoch(const EpochMetrics& m, bool classify) {
  const char* held = m.validation ? "val" : "test";
  const double loss = m.validation ? m.val_loss : m.test_loss, acc = m.validation ? m.val_acc : m.test_acc;
  if (classify)
    std::printf("epoch %lld: train_loss %.4f train_acc %.4f %s_loss %.4f %s_acc %.4f, lr %.3g, %.1f s, %.0f img/s\n",
                static_cast<long long>(m.epoch), m.train_loss, m.train_acc, held, loss, held, acc, m.learning_rate,
                m.seconds, m.images_per_s);
  else
    std::printf("epoch %lld: train_loss %.5f %s_mse %.5f, lr %.3g, %.1f s, %.0f img/s\n", static_cast<long long>(m.epoch),
                m.train_loss, held, loss, m.learning_rate, m.seconds, m.images_per_s);
  std::fflush(stdout);
}

}  // namespace

int train(const Options& o) {
  Config config = load(o);
  if (o.epochs >= 0) config.training.epochs = o.epochs;
  const bool classify = config.training.task == "classify";
  std::unique_ptr<FolderLock> lock;
  if (!config.checkpoint.dir.empty()) lock = std::make_unique<FolderLock>(config.checkpoint.dir);
  Trainer trainer(config);
  // Data first: a data error must not cost the checkpoints --overwrite would remove.
  const Dataset& train_set = trainer.train_data();
  const Dataset* validation = trainer.validation_data();
  trainer.test_data();
  const std::string resume_from = checkpoint_to_resume(config, o);
  TrainState state;
  if (!resume_from.empty()) {
    state = load_checkpoint(resume_from, config);
    std::printf("resumed from %s (epoch %lld, step %lld)\n", resume_from.c_str(), static_cast<long long>(state.epoch),
                static_cast<long long>(state.opt.step));
  } else {
    state = trainer.init_state();
  }
  std::printf("training on %lld examples%s, %d threads, %lld epochs, batch %lld\n",
              static_cast<long long>(train_set.size()),
              validation ? (", validating on " + std::to_string(validation->size())).c_str() : "",
              xlax::get_num_threads(), static_cast<long long>(config.training.epochs),
              static_cast<long long>(config.training.batch_size));
  std::fflush(stdout);
  const std::string& out_dir = config.training.output_dir;
  std::vector<EpochMetrics> history = read_metrics(config.training.metrics_file, state.epoch);  // for the curves
  ProgressBar bar(config.training.epochs, classify);
  TrainCallbacks cb;
  cb.on_step = [&](int64_t e, int64_t s, int64_t n, double loss, double acc, int64_t images, double secs) {
    bar.update(e, s, n, loss, acc, images, secs);
  };
  cb.on_message = [](const std::string& m) { std::fprintf(stderr, "%s\n", m.c_str()); };
  cb.on_epoch = [&](const EpochMetrics& m) {
    print_epoch(m, classify);
    history.push_back(m);
    if (!out_dir.empty()) save_learning_curves(out_dir, history, classify);
  };
  try {
    trainer.fit(state, cb);
  } catch (const NonFiniteLoss& e) {
    std::fprintf(stderr, "xlax train: %s\n", e.what());
    return 1;
  }
  std::vector<Tensor> params = state.params;
  if (!config.checkpoint.keep_best.empty() && std::filesystem::exists(best_checkpoint_path(config.checkpoint))) {
    const TrainState best = load_checkpoint(best_checkpoint_path(config.checkpoint), config, true);
    params = best.params;
    std::printf("testing the best epoch by %s: epoch %lld (%s)\n", config.checkpoint.keep_best.c_str(),
                static_cast<long long>(best.epoch), best_checkpoint_path(config.checkpoint).c_str());
  }
  Evaluation ev = trainer.evaluate(params, trainer.test_data());
  if (!out_dir.empty()) {
    if (!history.empty()) std::printf("wrote %s\n", save_learning_curves(out_dir, history, classify).c_str());
    if (classify)
      std::printf("wrote %s\n", save_confusion_matrix(out_dir, trainer.confusion_matrix(params, trainer.test_data()),
                                                      class_names_of(config, ""))
                                    .c_str());
    else
      for (auto& p : save_reconstructions(trainer, params, out_dir)) std::printf("wrote %s\n", p.c_str());
  }
  if (classify) std::printf("test_acc %.4f\n", ev.accuracy);
  else std::printf("test_mse %.5f\n", ev.loss);
  return 0;
}

int evaluate(const Options& o) {
  Config config = load(o);
  Trainer trainer(config);
  TrainState state = load_checkpoint(o.checkpoint, config, true);
  Evaluation ev = trainer.evaluate(state.params, trainer.test_data());
  std::printf("checkpoint %s: epoch %lld, step %lld\n", o.checkpoint.c_str(), static_cast<long long>(state.epoch),
              static_cast<long long>(state.opt.step));
  if (config.training.task == "classify") std::printf("test_loss %.4f\ntest_acc %.4f\n", ev.loss, ev.accuracy);
  else std::printf("test_mse %.5f\n", ev.loss);
  return 0;
}

int predict(const Options& o) {
  Config config = load(o);
  const bool classify = config.training.task == "classify";
  if (!classify && o.output.empty())
    throw Error("predict: a reconstruct model's outputs are images; pass --output FILE.npy to save them");
  const Shape example = config.data.example_shape();
  Trainer trainer(config);
  TrainState state = load_checkpoint(o.checkpoint, config, true);
  // Inputs: image files (decoded at the model's input size) or one .npy batch.
  std::vector<std::string> labels;
  Dataset inputs;
  inputs.example_shape = example;
  const bool npy = o.inputs.size() == 1 && std::filesystem::path(o.inputs[0]).extension() == ".npy";
  if (npy) {
    const Shape shape = read_npy(o.inputs[0], true).shape;
    const bool single = shape == example, batch = !shape.empty() && Shape(shape.begin() + 1, shape.end()) == example;
    if (!single && !batch)
      throw Error("predict: '" + o.inputs[0] + "' has shape " + to_string(shape) + "; the model takes (N, " +
                  to_string(example).substr(1));
    inputs = load_npy_dataset(o.inputs[0], "");
    inputs.example_shape = example;  // a single example (no batch axis) is a batch of one
    for (int64_t i = 0; i < inputs.size(); ++i) labels.push_back(o.inputs[0] + "[" + std::to_string(i) + "]");
  } else {
    if (example.size() != 3 || (example[2] != 1 && example[2] != 3))
      throw Error("predict: image inputs need a model of (height, width, 1 or 3) inputs, this one takes " +
                  to_string(example) + " (pass one .npy batch instead)");
    for (auto& path : o.inputs) {
      if (std::filesystem::path(path).extension() == ".npy")
        throw Error("predict: '" + path + "': give either image files or one .npy batch");
      std::vector<float> img = load_image(path, example[0], example[1], example[2], config.data.resize);
      inputs.x.insert(inputs.x.end(), img.begin(), img.end());
      labels.push_back(path);
    }
  }
  if (config.data.mean != 0 || config.data.std != 1) normalize(inputs, config.data.mean, config.data.std);
  std::vector<int64_t> order(static_cast<size_t>(inputs.size()));
  for (int64_t i = 0; i < inputs.size(); ++i) order[static_cast<size_t>(i)] = i;
  auto [x, unused] = make_batch(inputs, order, 0, inputs.size());
  Tensor out = trainer.predict(state.params, x)[0];
  std::vector<float> p = to_vector<float>(out);
  const int64_t k = classify ? out.shape()[1] : 0, top = std::min<int64_t>(o.top, k);
  for (int64_t i = 0; classify && i < inputs.size(); ++i) {  // softmax per row, in double
    float* row = p.data() + i * k;
    const double peak = *std::max_element(row, row + k);
    double total = 0;
    for (int64_t c = 0; c < k; ++c) total += std::exp(row[c] - peak);
    for (int64_t c = 0; c < k; ++c) row[c] = static_cast<float>(std::exp(row[c] - peak) / total);
  }
  if (!o.output.empty()) {
    save_npy(o.output, asarray<float>(p.data(), out.shape()));
    std::printf("wrote %s: %s %s\n", o.output.c_str(), classify ? "probabilities" : "outputs", to_string(out.shape()).c_str());
    return 0;
  }
  const std::vector<std::string> names = class_names_of(config, o.checkpoint);
  for (int64_t i = 0; i < inputs.size(); ++i) {
    std::vector<int64_t> idx(static_cast<size_t>(k));
    for (int64_t c = 0; c < k; ++c) idx[static_cast<size_t>(c)] = c;
    std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) { return p[i * k + a] > p[i * k + b]; });
    std::string line = labels[static_cast<size_t>(i)] + ":";
    for (int64_t r = 0; r < top; ++r) {
      char prob[32];
      std::snprintf(prob, sizeof prob, " %.4f", p[i * k + idx[r]]);
      line += (r ? ", " : " ") + names[static_cast<size_t>(idx[r])] + prob;
    }
    std::printf("%s\n", line.c_str());
  }
  return 0;
}

int gradcheck(const Options& o) {
  Config config = load(o);
  try {
    auto lines = nn::gradcheck(config, o.batch, o.atol, o.rtol);
    for (auto& l : lines) std::printf("%s\n", l.c_str());
    std::printf("gradcheck passed: %zu parameter tensors\n", lines.size());
    return 0;
  } catch (const GradientMismatch& e) {
    std::printf("gradcheck FAILED (gradient mismatch): %s\n", e.what());
    return 1;
  }
}

int summary(const Options& o) {
  std::fputs(nn::summary(load(o)).c_str(), stdout);
  return 0;
}

}  // namespace xlax::cli
