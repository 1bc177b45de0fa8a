// The training loop: data loading, one step = value_and_grad + optimizer update evaluated
// together, per-epoch evaluation, JSONL metrics and checkpoints. Every random choice is a
// function of (seed, epoch) or (seed, optimizer step), so a resumed run repeats exactly.
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "nn/layer_util.hpp"

namespace xlax::nn {
namespace {

uint64_t mix(uint64_t a, uint64_t b) {
  uint64_t z = a * 0x9e3779b97f4a7c15ULL + b + 0x632be59bd9b4e019ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

Dataset load_split(const Config& c, bool train) {
  const DataConfig& d = c.data;
  Dataset out;
  if (d.source == "synthetic") {
    out = synthetic_dataset(d.kind, train ? d.train_size : d.test_size, d.num_classes, mix(c.training.seed, train ? 1 : 2));
  } else {
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
      out = load_idx_dataset(images, labels);
    } catch (const Error& e) {
      if (d.source != "fashion_mnist") throw;
      throw Error(std::string(e.what()) + " (data.dir '" + d.dir +
                  "': install Debian's dataset-fashion-mnist or point data.dir at the IDX .gz files)");
    }
    const int64_t keep = train ? d.train_size : d.test_size;
    if (keep > 0 && keep < out.size()) {
      out.x.resize(keep * out.example_size());
      out.labels.resize(keep);
    }
  }
  if (d.mean != 0 || d.std != 1) normalize(out, d.mean, d.std);
  return out;
}

}  // namespace

Trainer::Trainer(Config config) : config_(std::move(config)) {
  if (!config_.model || !config_.optimizer) throw Error("Trainer: the config has no model or optimizer");
  if (config_.training.threads > 0) set_num_threads(config_.training.threads);
  for (auto& p : config_.model->param_info()) trainable_.push_back(p.trainable);
}

const Dataset& Trainer::train_data() {
  if (!train_) train_ = std::make_unique<Dataset>(load_split(config_, true));
  return *train_;
}
const Dataset& Trainer::test_data() {
  if (!test_) test_ = std::make_unique<Dataset>(load_split(config_, false));
  return *test_;
}

TrainState Trainer::init_state() const {
  TrainState s;
  Shape in{1};
  for (auto d : config_.data.example_shape()) in.push_back(d);
  s.params = config_.model->init(random::key(config_.training.seed), in);
  eval(s.params);
  s.opt = config_.optimizer->init(s.params);
  return s;
}

namespace {
Tensor loss_of(const std::string& loss, const Tensor& out, const Tensor& target) {
  if (loss == "softmax_cross_entropy") return softmax_cross_entropy(out, target);
  if (loss == "mse") return mse(out, target);
  return binary_cross_entropy_with_logits(out, target);
}
}  // namespace

Tensor Trainer::loss(const std::vector<Tensor>& params, const Tensor& x, const Tensor& y, Context& ctx) const {
  return loss_of(config_.loss, config_.model->apply(params, x, ctx), y);
}

namespace {
// Denoising: inputs get noise drawn from a key fixed by (seed, step), targets stay clean.
Tensor add_noise(const Tensor& x, double std, uint64_t seed, uint64_t counter) {
  if (std <= 0) return x;
  return x + random::normal(random::key(mix(seed, counter)), x.shape(), x.dtype()) * std;
}
Tensor correct_count(const Tensor& logits, const Tensor& labels) {
  return sum(astype(argmax(logits, 1) == labels, DType::float32));
}
}  // namespace

std::pair<double, double> Trainer::step(TrainState& state, const Tensor& x, const Tensor& y, int64_t global_step) {
  const bool classify = config_.training.task == "classify";
  const uint64_t seed = config_.training.seed;
  Tensor input = classify ? x : add_noise(x, config_.data.noise_std, seed ^ 0x6e6f697365ULL, global_step);
  Tensor target = classify ? y : x;
  std::map<std::string, Tensor> updates;
  Context ctx;
  ctx.train = true;
  ctx.key = random::key(mix(seed ^ 0x64726f70ULL, static_cast<uint64_t>(global_step)));
  ctx.updates = &updates;
  Tensor logits;
  ScalarFn f = [&](const std::vector<Tensor>& p) {
    Tensor out = config_.model->apply(p, input, ctx);
    logits = out;
    return loss_of(config_.loss, out, target);
  };
  std::vector<int> argnums(state.params.size());
  for (size_t i = 0; i < argnums.size(); ++i) argnums[i] = static_cast<int>(i);
  auto [loss_value, grads] = value_and_grad(f, argnums)(state.params);
  config_.optimizer->update(state.params, grads, state.opt, config_.schedule(state.opt.step), trainable_);
  if (!updates.empty()) {
    auto info = config_.model->param_info();
    for (size_t i = 0; i < info.size(); ++i) {
      auto it = updates.find(info[i].name);
      if (it != updates.end()) state.params[i] = astype(it->second, state.params[i].dtype());
    }
  }
  std::vector<Tensor> outputs = state.params;
  for (auto& slot : state.opt.slots) outputs.insert(outputs.end(), slot.begin(), slot.end());
  outputs.push_back(loss_value);
  Tensor correct = classify ? correct_count(logits, y) : Tensor();
  if (classify) outputs.push_back(correct);
  eval(outputs);
  const double acc = classify ? correct.item<double>() / static_cast<double>(x.shape()[0]) : 0.0;
  return {loss_value.item<double>(), acc};
}

std::vector<Tensor> Trainer::predict(const std::vector<Tensor>& params, const Tensor& x) const {
  Context ctx;
  return {config_.model->apply(params, x, ctx)};
}

Evaluation Trainer::evaluate(const std::vector<Tensor>& params, const Dataset& d, int64_t batch) {
  const bool classify = config_.training.task == "classify";
  std::vector<int64_t> order(d.size());
  for (int64_t i = 0; i < d.size(); ++i) order[i] = i;
  double loss_sum = 0, correct = 0;
  for (int64_t b = 0; b < d.size(); b += batch) {
    const int64_t e = std::min(d.size(), b + batch);
    auto [x, y] = make_batch(d, order, b, e, params.empty() ? DType::float32 : params[0].dtype());
    Context ctx;
    Tensor input = classify ? x : add_noise(x, config_.data.noise_std, config_.training.seed ^ 0x74657374ULL, b);
    Tensor out = config_.model->apply(params, input, ctx);
    Tensor l = loss_of(config_.loss, out, classify ? y : x) * static_cast<double>(e - b);
    if (classify) {
      Tensor c = correct_count(out, y);
      eval({l, c});
      correct += c.item<double>();
    }
    loss_sum += l.item<double>();
  }
  const double n = static_cast<double>(std::max<int64_t>(d.size(), 1));
  return {loss_sum / n, correct / n};
}

std::vector<EpochMetrics> Trainer::fit(TrainState& state, const TrainCallbacks& cb) {
  const Dataset& train = train_data();
  const Dataset& test = test_data();
  const TrainingConfig& t = config_.training;
  if (train.example_shape != config_.data.example_shape())
    throw Error("train: the data's example shape " + to_string(train.example_shape) + " differs from the model input " +
                to_string(config_.data.example_shape()));
  const int64_t n = train.size();
  int64_t steps = (n + t.batch_size - 1) / t.batch_size;
  if (t.max_steps_per_epoch > 0) steps = std::min(steps, t.max_steps_per_epoch);
  if (config_.schedule.kind == "cosine" && config_.schedule.decay_steps == 0)
    config_.schedule.decay_steps = std::max<int64_t>(steps * t.epochs - config_.schedule.warmup_steps, 1);
  if (!t.metrics_file.empty()) {
    std::error_code ec;
    const auto parent = std::filesystem::path(t.metrics_file).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    if (state.epoch == 0) std::ofstream(t.metrics_file, std::ios::trunc);
  }
  std::vector<EpochMetrics> history;
  for (int64_t epoch = state.epoch + 1; epoch <= t.epochs; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    const std::vector<int64_t> order = shuffled_indices(n, t.seed, epoch);
    double loss_sum = 0, acc_sum = 0;
    int64_t seen = 0;
    for (int64_t s = 0; s < steps; ++s) {
      const int64_t b = s * t.batch_size, e = std::min(n, b + t.batch_size);
      auto [x, y] = make_batch(train, order, b, e);
      auto [l, a] = step(state, x, y, state.opt.step);
      loss_sum += l * (e - b);
      acc_sum += a * (e - b);
      seen += e - b;
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (cb.on_step) cb.on_step(epoch, s + 1, steps, loss_sum / seen, acc_sum / seen, seen, secs);
    }
    EpochMetrics m;
    m.epoch = epoch;
    m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    m.images_per_s = seen / std::max(m.seconds, 1e-9);
    m.train_loss = loss_sum / std::max<int64_t>(seen, 1);
    m.train_acc = acc_sum / std::max<int64_t>(seen, 1);
    Evaluation ev = evaluate(state.params, test);
    m.test_loss = ev.loss;
    m.test_acc = ev.accuracy;
    m.step = state.opt.step;
    state.epoch = epoch;
    if (!t.metrics_file.empty()) {
      nlohmann::json j = {{"epoch", m.epoch},           {"step", m.step},           {"train_loss", m.train_loss},
                          {"train_acc", m.train_acc},   {"test_loss", m.test_loss}, {"test_acc", m.test_acc},
                          {"seconds", m.seconds},       {"images_per_s", m.images_per_s}};
      std::ofstream(t.metrics_file, std::ios::app) << j.dump() << "\n";
    }
    if (!config_.checkpoint.dir.empty() && (epoch % config_.checkpoint.every_epochs == 0 || epoch == t.epochs)) {
      const std::string path = checkpoint_path(config_.checkpoint, epoch);
      save_checkpoint(path, config_, state);
      if (cb.on_message) cb.on_message("saved " + path);
      prune_checkpoints(config_.checkpoint);
    }
    history.push_back(m);
    if (cb.on_epoch) cb.on_epoch(m);
  }
  return history;
}

}  // namespace xlax::nn
