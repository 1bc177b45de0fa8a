// The optimizer, schedule, training and checkpoint sections of a config.
#include "nn/config_reader.hpp"

namespace xlax::nn::detail {

void parse_optimizer(const Reader& o, Config& c) {
  c.optimizer_name = o.choice("type", "adam", {"sgd", "adam", "adamw"});
  const double lr = o.number("learning_rate", 1e-3);
  if (!(lr > 0)) o.fail("optimizer.learning_rate", "must be positive");
  c.schedule.lr = lr;
  for (const char* k : {"momentum", "nesterov"})
    if (o.has(k) && c.optimizer_name != "sgd")
      o.fail(std::string("optimizer.") + k, "applies to sgd only, not " + c.optimizer_name);
  for (const char* k : {"b1", "b2", "eps"})
    if (o.has(k) && c.optimizer_name == "sgd") o.fail(std::string("optimizer.") + k, "applies to adam and adamw only");
  const double wd = o.number("weight_decay", c.optimizer_name == "adamw" ? 1e-2 : 0);
  try {
    if (c.optimizer_name == "sgd") c.optimizer = SGD(o.number("momentum", 0), o.boolean("nesterov", false), wd);
    else if (c.optimizer_name == "adam") c.optimizer = Adam(o.number("b1", 0.9), o.number("b2", 0.999), o.number("eps", 1e-8), wd);
    else c.optimizer = AdamW(o.number("b1", 0.9), o.number("b2", 0.999), o.number("eps", 1e-8), wd);
  } catch (const Error& e) {
    if (std::string(e.what()).rfind("config:", 0) == 0) throw;
    o.fail("optimizer", e.what());
  }
}

namespace {
const std::vector<std::string> kMetrics{"val_loss", "val_acc", "test_loss", "test_acc", "train_loss", "train_acc"};
// "min" for losses, "max" for accuracies, unless the config says.
std::string metric_mode(const Reader& r, const std::string& metric) {
  return r.choice("mode", EpochMetrics::improves_by(metric), {"min", "max"});
}
}  // namespace

void parse_schedule(const Reader& s, Config& c) {
  Schedule& sc = c.schedule;
  sc.kind = s.choice("type", "constant", {"constant", "step", "cosine", "multistep", "reduce_on_plateau"});
  auto only = [&](std::initializer_list<const char*> keys, std::initializer_list<const char*> kinds) {
    for (const char* k : keys) {
      if (!s.has(k)) continue;
      bool ok = false;
      std::string names;
      for (const char* kind : kinds) {
        ok = ok || sc.kind == kind;
        names += (names.empty() ? "" : " and ") + std::string(kind);
      }
      if (!ok) s.fail(std::string("schedule.") + k, "applies to " + names + ", not " + sc.kind);
    }
  };
  only({"step_size"}, {"step"});
  only({"gamma"}, {"step", "multistep"});
  only({"milestones"}, {"multistep"});
  only({"metric", "factor", "patience", "min_delta", "mode"}, {"reduce_on_plateau"});
  only({"warmup_steps", "decay_steps", "final_fraction"}, {"cosine"});
  sc.step_size = s.integer("step_size", 1000, 1);
  sc.gamma = s.number("gamma", 0.1);
  if (!(sc.gamma > 0)) s.fail("schedule.gamma", "must be positive");
  if (sc.kind == "multistep") {
    sc.milestones = s.ints("milestones", true, false);
    for (size_t i = 0; i < sc.milestones.size(); ++i)
      if (sc.milestones[i] < 1 || (i > 0 && sc.milestones[i] <= sc.milestones[i - 1]))
        s.fail("schedule.milestones", "must be increasing optimizer steps >= 1, got " + to_string(sc.milestones));
  }
  sc.metric = s.choice("metric", "val_loss", kMetrics);
  sc.mode = metric_mode(s, sc.metric);
  sc.factor = s.number("factor", 0.1);
  if (!(sc.factor > 0 && sc.factor < 1)) s.fail("schedule.factor", "must be in (0, 1)");
  sc.patience = s.integer("patience", 2, 0);
  sc.min_delta = s.number("min_delta", 0);
  if (sc.min_delta < 0) s.fail("schedule.min_delta", "must be >= 0");
  sc.warmup_steps = s.integer("warmup_steps", 0, 0);
  sc.decay_steps = s.integer("decay_steps", 0, 0);
  sc.final_fraction = s.number("final_fraction", 0);
}

void parse_training(const Reader& t, TrainingConfig& tc) {
  tc.epochs = t.integer("epochs", 1, 0);
  tc.batch_size = t.integer("batch_size", 64, 1);
  tc.seed = static_cast<uint64_t>(t.integer("seed", 0, 0));
  tc.threads = static_cast<int>(t.integer("threads", 0, 0));
  tc.max_steps_per_epoch = t.integer("max_steps_per_epoch", 0, 0);
  tc.metrics_file = t.string("metrics_file", "");
  tc.task = t.choice("task", "classify", {"classify", "reconstruct"});
  tc.output_dir = t.string("output_dir", "");
  if (t.has("early_stopping")) {
    Reader e(t.at("early_stopping"), "training.early_stopping", "", *find_section(config_sections(), "early_stopping"));
    tc.early_stopping_metric = e.choice("metric", "val_loss", kMetrics);
    tc.early_stopping_mode = metric_mode(e, tc.early_stopping_metric);
    tc.early_stopping_patience = e.integer("patience", 3, 1);
    tc.early_stopping_min_delta = e.number("min_delta", 0);
    if (tc.early_stopping_min_delta < 0) e.fail("training.early_stopping.min_delta", "must be >= 0");
  }
}

void parse_checkpoint(const Reader& k, CheckpointConfig& cc) {
  cc.dir = k.string("dir", "");
  cc.every_epochs = k.integer("every_epochs", 1, 1);
  cc.keep = k.integer("keep", 2, 1);
  cc.keep_best = k.has("keep_best") ? k.choice("keep_best", "", kMetrics) : "";
}

}  // namespace xlax::nn::detail
