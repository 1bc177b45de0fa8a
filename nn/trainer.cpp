// The training loop: one step = value_and_grad + optimizer update evaluated together,
// per-epoch evaluation (validation or test), run control (plateau, early stopping, the best
// checkpoint), JSONL metrics and checkpoints. Every random choice is a function of (seed,
// epoch, example) or (seed, optimizer step), so a resumed run repeats exactly.
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "nn/layer_util.hpp"
#include "nn/seeded_random.hpp"

namespace xlax::nn {
using detail::mix;

Trainer::Trainer(Config config) : config_(std::move(config)) {
  if (!config_.model || !config_.optimizer) throw Error("Trainer: the config has no model or optimizer");
  if (config_.training.threads > 0) set_num_threads(config_.training.threads);
  for (auto& p : config_.model->param_info()) trainable_.push_back(p.trainable);
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
  // reconstruct: y holds the clean targets (augmented like x) when the batch carries them
  Tensor target = classify ? y : (y.shape() == x.shape() ? y : x);
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
  config_.optimizer->update(state.params, grads, state.opt, config_.schedule(state.opt.step) * state.run.lr_scale,
                            trainable_);
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

std::vector<int64_t> Trainer::confusion_matrix(const std::vector<Tensor>& params, const Dataset& d, int64_t batch) {
  const int64_t k = config_.data.num_classes;
  std::vector<int64_t> counts(static_cast<size_t>(k * k), 0), order(static_cast<size_t>(d.size()));
  for (int64_t i = 0; i < d.size(); ++i) order[static_cast<size_t>(i)] = i;
  for (int64_t b = 0; b < d.size(); b += batch) {
    const int64_t e = std::min(d.size(), b + batch);
    auto [x, y] = make_batch(d, order, b, e, params.empty() ? DType::float32 : params[0].dtype());
    Context ctx;
    const std::vector<int32_t> predicted = to_vector<int32_t>(argmax(config_.model->apply(params, x, ctx), 1));
    for (int64_t i = b; i < e; ++i) {
      const int64_t truth = d.labels[static_cast<size_t>(i)], guess = predicted[static_cast<size_t>(i - b)];
      if (truth >= 0 && truth < k && guess >= 0 && guess < k) ++counts[static_cast<size_t>(truth * k + guess)];
    }
  }
  return counts;
}

std::string EpochMetrics::improves_by(const std::string& name) {
  return name.size() > 4 && name.compare(name.size() - 4, 4, "_acc") == 0 ? "max" : "min";
}

double EpochMetrics::metric(const std::string& name) const {
  if (name == "train_loss") return train_loss;
  if (name == "train_acc") return train_acc;
  if (name == "val_loss") return val_loss;
  if (name == "val_acc") return val_acc;
  if (name == "test_loss") return test_loss;
  if (name == "test_acc") return test_acc;
  throw Error("EpochMetrics: unknown metric '" + name + "'");
}

namespace {
// One "is this better" rule for plateau, early stopping and the best checkpoint.
bool improves(double value, double best, bool have_best, const std::string& mode, double min_delta) {
  if (!have_best) return true;
  return mode == "max" ? value > best + min_delta : value < best - min_delta;
}

std::string new_run_id(uint64_t seed) {
  char id[48];
  const auto now = std::chrono::system_clock::now().time_since_epoch().count();
  std::snprintf(id, sizeof id, "%llx-%x-%llx", static_cast<unsigned long long>(now), static_cast<unsigned>(::getpid()),
                static_cast<unsigned long long>(seed));
  return id;
}

// On resume the metrics file keeps only the epochs the checkpoint has (atomically).
void truncate_metrics(const std::string& path, int64_t epochs_done) {
  std::ifstream in(path);
  if (!in) return;
  std::stringstream kept;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    try {
      if (nlohmann::json::parse(line).at("epoch").get<int64_t>() > epochs_done) continue;
    } catch (const std::exception&) {
      continue;  // a line cut by a crash
    }
    kept << line << "\n";
  }
  in.close();
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  std::ofstream(tmp, std::ios::trunc) << kept.str();
  std::filesystem::rename(tmp, path);
}
}  // namespace

std::vector<EpochMetrics> read_metrics(const std::string& path, int64_t max_epoch) {
  std::vector<EpochMetrics> out;
  std::ifstream in(path);
  for (std::string line; in && std::getline(in, line);) {
    try {
      const nlohmann::json j = nlohmann::json::parse(line);
      EpochMetrics m;
      m.epoch = j.at("epoch").get<int64_t>();
      if (m.epoch > max_epoch) continue;
      m.step = j.value("step", int64_t{0});
      m.train_loss = j.value("train_loss", 0.0);
      m.train_acc = j.value("train_acc", 0.0);
      m.validation = j.contains("val_loss");
      m.val_loss = j.value("val_loss", 0.0);
      m.val_acc = j.value("val_acc", 0.0);
      m.test_loss = j.value("test_loss", 0.0);
      m.test_acc = j.value("test_acc", 0.0);
      m.learning_rate = j.value("learning_rate", 0.0);
      m.seconds = j.value("seconds", 0.0);
      m.images_per_s = j.value("images_per_s", 0.0);
      out.push_back(m);
    } catch (const std::exception&) {
      continue;  // an empty line, or one cut by a crash
    }
  }
  return out;
}

std::vector<EpochMetrics> Trainer::fit(TrainState& state, const TrainCallbacks& cb) {
  const Dataset& train = train_data();
  const Dataset* validation = validation_data();
  const TrainingConfig& t = config_.training;
  const bool classify = t.task == "classify";
  const int64_t n = train.size();
  int64_t steps = (n + t.batch_size - 1) / t.batch_size;
  if (t.max_steps_per_epoch > 0) steps = std::min(steps, t.max_steps_per_epoch);
  if (config_.schedule.kind == "cosine" && config_.schedule.decay_steps == 0)
    config_.schedule.decay_steps = std::max<int64_t>(steps * t.epochs - config_.schedule.warmup_steps, 1);
  if (state.run.run_id.empty()) state.run.run_id = new_run_id(t.seed);
  if (!t.metrics_file.empty()) {
    std::error_code ec;
    const auto parent = std::filesystem::path(t.metrics_file).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    if (state.epoch == 0) std::ofstream(t.metrics_file, std::ios::trunc);
    else truncate_metrics(t.metrics_file, state.epoch);
  }
  AugmentSettings augment{config_.data.augment, t.seed, config_.data.mean, config_.data.std};
  RunState& run = state.run;
  const Schedule& sched = config_.schedule;
  std::vector<EpochMetrics> history;
  for (int64_t epoch = state.epoch + 1; epoch <= t.epochs && !run.stopped; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    const std::vector<int64_t> order = shuffled_indices(n, t.seed, epoch);
    double loss_sum = 0, acc_sum = 0, last_lr = sched(state.opt.step) * run.lr_scale;
    int64_t seen = 0;
    for (int64_t s = 0; s < steps; ++s) {
      const int64_t b = s * t.batch_size, e = std::min(n, b + t.batch_size);
      auto [x, y] = make_augmented_batch(train, order, b, e, augment, epoch, !classify);
      last_lr = sched(state.opt.step) * run.lr_scale;
      auto [l, a] = step(state, x, y, state.opt.step);
      if (!std::isfinite(l)) {
        const std::string kept = config_.checkpoint.dir.empty() ? std::string("no checkpoint folder configured")
                                                                : "the last checkpoint in " + config_.checkpoint.dir + " is kept";
        throw NonFiniteLoss("train: the loss is " + std::string(std::isnan(l) ? "nan" : "infinite") +
                            " at optimizer step " + std::to_string(state.opt.step) + " (epoch " + std::to_string(epoch) +
                            ", batch " + std::to_string(s + 1) + ", learning rate " + std::to_string(last_lr) +
                            "); stopping: " + kept);
      }
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
    m.learning_rate = last_lr;
    m.validation = validation != nullptr;
    Evaluation ev = evaluate(state.params, validation ? *validation : test_data());
    (validation ? m.val_loss : m.test_loss) = ev.loss;
    (validation ? m.val_acc : m.test_acc) = ev.accuracy;
    m.step = state.opt.step;
    state.epoch = epoch;

    // Run control, in Keras' order: the plateau rule, the best checkpoint, early stopping.
    if (sched.kind == "reduce_on_plateau") {
      const double v = m.metric(sched.metric);
      if (improves(v, run.plateau_best, run.plateau_epochs > 0, sched.mode, sched.min_delta)) {
        run.plateau_best = v;
        run.plateau_wait = 0;
      } else if (++run.plateau_wait > sched.patience) {
        run.lr_scale *= sched.factor;
        run.plateau_wait = 0;
        if (cb.on_message) cb.on_message("reduce_on_plateau: " + sched.metric + " has not improved for " +
                                         std::to_string(sched.patience + 1) + " epochs; learning rate x" +
                                         std::to_string(sched.factor));
      }
      ++run.plateau_epochs;
    }
    const CheckpointConfig& ck = config_.checkpoint;
    if (!ck.keep_best.empty()) {
      const double v = m.metric(ck.keep_best);
      const std::string mode = EpochMetrics::improves_by(ck.keep_best);
      if (improves(v, run.best_metric, run.best_epoch > 0, mode, 0)) {
        run.best_metric = v;
        run.best_epoch = epoch;
        save_checkpoint(best_checkpoint_path(ck), config_, state);
        if (cb.on_message) cb.on_message("saved " + best_checkpoint_path(ck) + " (" + ck.keep_best + " " + std::to_string(v) + ")");
      }
    }
    if (t.early_stopping_patience > 0) {
      const double v = m.metric(t.early_stopping_metric);
      if (improves(v, run.stop_best, run.stop_epochs > 0, t.early_stopping_mode, t.early_stopping_min_delta)) {
        run.stop_best = v;
        run.stop_wait = 0;
      } else if (++run.stop_wait >= t.early_stopping_patience) {
        run.stopped = true;
        if (cb.on_message)
          cb.on_message("early stopping: " + t.early_stopping_metric + " has not improved for " +
                        std::to_string(t.early_stopping_patience) + " epochs (best " + std::to_string(run.stop_best) + ")");
      }
      ++run.stop_epochs;
    }

    if (!t.metrics_file.empty()) {
      nlohmann::json j = {{"epoch", m.epoch}, {"step", m.step}, {"train_loss", m.train_loss}};
      if (classify) j["train_acc"] = m.train_acc;
      if (validation) {
        j["val_loss"] = m.val_loss;
        if (classify) j["val_acc"] = m.val_acc;
      } else {
        j["test_loss"] = m.test_loss;
        if (classify) j["test_acc"] = m.test_acc;
      }
      j["learning_rate"] = m.learning_rate;
      j["seconds"] = m.seconds;
      j["images_per_s"] = m.images_per_s;
      std::ofstream(t.metrics_file, std::ios::app) << j.dump() << "\n";
    }
    if (!ck.dir.empty() && (epoch % ck.every_epochs == 0 || epoch == t.epochs || run.stopped)) {
      const std::string path = checkpoint_path(ck, epoch);
      save_checkpoint(path, config_, state);
      if (cb.on_message) cb.on_message("saved " + path);
      prune_checkpoints(ck);
    }
    history.push_back(m);
    if (cb.on_epoch) cb.on_epoch(m);
  }
  return history;
}

}  // namespace xlax::nn
