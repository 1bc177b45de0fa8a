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

void parse_schedule(const Reader& s, Config& c) {
  c.schedule.kind = s.choice("type", "constant", {"constant", "step", "cosine"});
  c.schedule.step_size = s.integer("step_size", 1000, 1);
  c.schedule.gamma = s.number("gamma", 0.1);
  c.schedule.warmup_steps = s.integer("warmup_steps", 0, 0);
  c.schedule.decay_steps = s.integer("decay_steps", 0, 0);
  c.schedule.final_fraction = s.number("final_fraction", 0);
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
}

void parse_checkpoint(const Reader& k, CheckpointConfig& cc) {
  cc.dir = k.string("dir", "");
  cc.every_epochs = k.integer("every_epochs", 1, 1);
  cc.keep = k.integer("keep", 2, 1);
}

}  // namespace xlax::nn::detail
