// xlax: train, evaluate, summarise and gradient-check models described by JSON configs.
// Thin on purpose: the work is in xlax::nn (Trainer, summary, gradcheck, checkpoints).
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <xlax/xlax.hpp>

#include "images.hpp"
#include "progress.hpp"

namespace {

const char* kUsage =
    "usage: xlax <command> [options]\n"
    "\n"
    "commands:\n"
    "  train CONFIG       train the configured model; last line: test_acc A (or test_mse E)\n"
    "  eval CONFIG        evaluate a checkpoint on the test set (--checkpoint F)\n"
    "  summary CONFIG     layer table: output shapes and parameter counts\n"
    "  gradcheck CONFIG   float64 finite-difference check of every parameter's gradient\n"
    "  keys               every accepted config key, per section and layer type\n"
    "\n"
    "`xlax <command> --help` describes a command's options.\n";

const std::map<std::string, const char*> kCommandHelp = {
    {"train",
     "usage: xlax train CONFIG [--resume] [--epochs N] [--threads N]\n"
     "  Trains with the config's optimizer, schedule and data, printing a progress bar per\n"
     "  epoch (stderr) and one summary line per epoch (stdout); metrics go to\n"
     "  training.metrics_file as JSON lines, checkpoints to checkpoint.dir.\n"
     "  --resume     continue from the newest checkpoint in checkpoint.dir (an uninterrupted\n"
     "               run and a resumed one give the same result)\n"
     "  --epochs N   override training.epochs\n"
     "  --threads N  override training.threads\n"},
    {"eval",
     "usage: xlax eval CONFIG --checkpoint FILE [--threads N]\n"
     "  Loads FILE (safetensors written by xlax train) and prints test_loss and test_acc\n"
     "  (test_mse for reconstruction models).\n"},
    {"summary", "usage: xlax summary CONFIG\n  Prints layers, output shapes (None = batch) and parameter counts.\n"},
    {"gradcheck",
     "usage: xlax gradcheck CONFIG [--batch N] [--atol A] [--rtol R]\n"
     "  Builds the model in float64 and compares the reverse-mode gradient of the loss\n"
     "  with central finite differences along random directions, for every parameter\n"
     "  tensor, on the first N (default 2) training examples. Exits 1 on a mismatch.\n"},
    {"keys", "usage: xlax keys\n  Prints every accepted config key with its type and meaning.\n"},
};

struct Args {
  std::string command, config;
  std::map<std::string, std::string> options;  // --name value, or "1" for flags
};

bool wants_help(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) return true;
  return false;
}

Args parse_args(int argc, char** argv, const std::vector<std::string>& flags, const std::vector<std::string>& valued) {
  Args a;
  a.command = argv[1];
  for (int i = 2; i < argc; ++i) {
    std::string s = argv[i];
    if (s.rfind("--", 0) == 0) {
      const std::string name = s.substr(2);
      if (std::find(flags.begin(), flags.end(), name) != flags.end()) {
        a.options[name] = "1";
      } else if (std::find(valued.begin(), valued.end(), name) != valued.end()) {
        if (i + 1 >= argc) throw xlax::Error("option --" + name + " needs a value");
        a.options[name] = argv[++i];
      } else {
        throw xlax::Error("unknown option " + s + " for '" + a.command + "' (see xlax " + a.command + " --help)");
      }
    } else if (a.config.empty()) {
      a.config = s;
    } else {
      throw xlax::Error("unexpected argument '" + s + "'");
    }
  }
  if (a.config.empty()) throw xlax::Error("'" + a.command + "' needs a CONFIG file (see xlax " + a.command + " --help)");
  return a;
}

int64_t int_option(const Args& a, const std::string& name, int64_t def) {
  auto it = a.options.find(name);
  if (it == a.options.end()) return def;
  try {
    size_t used = 0;
    const long long v = std::stoll(it->second, &used);
    if (used != it->second.size()) throw std::invalid_argument("");
    return v;
  } catch (const std::exception&) {
    throw xlax::Error("--" + name + " expects an integer, got '" + it->second + "'");
  }
}

double double_option(const Args& a, const std::string& name, double def) {
  auto it = a.options.find(name);
  if (it == a.options.end()) return def;
  try {
    return std::stod(it->second);
  } catch (const std::exception&) {
    throw xlax::Error("--" + name + " expects a number, got '" + it->second + "'");
  }
}

int cmd_train(const Args& a) {
  using namespace xlax::nn;
  Config config = load_config(a.config);
  config.training.epochs = int_option(a, "epochs", config.training.epochs);
  config.training.threads = static_cast<int>(int_option(a, "threads", config.training.threads));
  Trainer trainer(config);
  const bool classify = config.training.task == "classify";
  TrainState state;
  std::string resumed;
  if (a.options.count("resume")) {
    if (config.checkpoint.dir.empty()) throw xlax::Error("--resume needs checkpoint.dir in the config");
    resumed = newest_checkpoint(config.checkpoint.dir);
  }
  if (!resumed.empty()) {
    state = load_checkpoint(resumed, config);
    std::printf("resumed from %s (epoch %lld, step %lld)\n", resumed.c_str(), static_cast<long long>(state.epoch),
                static_cast<long long>(state.opt.step));
  } else {
    state = trainer.init_state();
  }
  const auto& train = trainer.train_data();
  trainer.test_data();
  std::printf("training on %lld examples, %d threads, %lld epochs, batch %lld\n", static_cast<long long>(train.size()),
              xlax::get_num_threads(), static_cast<long long>(config.training.epochs),
              static_cast<long long>(config.training.batch_size));
  std::fflush(stdout);
  xlax::cli::ProgressBar bar(config.training.epochs, classify);
  TrainCallbacks cb;
  cb.on_step = [&](int64_t e, int64_t s, int64_t n, double loss, double acc, int64_t images, double secs) {
    bar.update(e, s, n, loss, acc, images, secs);
  };
  cb.on_message = [](const std::string& m) { std::fprintf(stderr, "%s\n", m.c_str()); };
  cb.on_epoch = [&](const EpochMetrics& m) {
    if (classify)
      std::printf("epoch %lld: train_loss %.4f train_acc %.4f test_loss %.4f test_acc %.4f, %.1f s, %.0f img/s\n",
                  static_cast<long long>(m.epoch), m.train_loss, m.train_acc, m.test_loss, m.test_acc, m.seconds,
                  m.images_per_s);
    else
      std::printf("epoch %lld: train_loss %.5f test_mse %.5f, %.1f s, %.0f img/s\n", static_cast<long long>(m.epoch),
                  m.train_loss, m.test_loss, m.seconds, m.images_per_s);
    std::fflush(stdout);
  };
  trainer.fit(state, cb);
  Evaluation ev = trainer.evaluate(state.params, trainer.test_data());
  if (!classify && !config.training.output_dir.empty())
    for (auto& p : xlax::cli::save_reconstructions(trainer, state.params, config.training.output_dir))
      std::printf("wrote %s\n", p.c_str());
  if (classify) std::printf("test_acc %.4f\n", ev.accuracy);
  else std::printf("test_mse %.5f\n", ev.loss);
  return 0;
}

int cmd_eval(const Args& a) {
  using namespace xlax::nn;
  auto it = a.options.find("checkpoint");
  if (it == a.options.end()) throw xlax::Error("eval needs --checkpoint FILE");
  Config config = load_config(a.config);
  config.training.threads = static_cast<int>(int_option(a, "threads", config.training.threads));
  Trainer trainer(config);
  TrainState state = load_checkpoint(it->second, config);
  Evaluation ev = trainer.evaluate(state.params, trainer.test_data());
  std::printf("checkpoint %s: epoch %lld, step %lld\n", it->second.c_str(), static_cast<long long>(state.epoch),
              static_cast<long long>(state.opt.step));
  if (config.training.task == "classify") std::printf("test_loss %.4f\ntest_acc %.4f\n", ev.loss, ev.accuracy);
  else std::printf("test_mse %.5f\n", ev.loss);
  return 0;
}

int cmd_gradcheck(const Args& a) {
  using namespace xlax::nn;
  Config config = load_config(a.config);
  try {
    auto lines = gradcheck(config, int_option(a, "batch", 2), double_option(a, "atol", 1e-6), double_option(a, "rtol", 1e-4));
    for (auto& l : lines) std::printf("%s\n", l.c_str());
    std::printf("gradcheck passed: %zu parameter tensors\n", lines.size());
    return 0;
  } catch (const xlax::Error& e) {
    std::printf("gradcheck FAILED: %s\n", e.what());
    return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || (!std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "help"))) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const std::string command = argv[1];
  auto help = kCommandHelp.find(command);
  if (help == kCommandHelp.end()) {
    std::fprintf(stderr, "xlax: unknown command '%s'\n\n%s", command.c_str(), kUsage);
    return 2;
  }
  if (wants_help(argc, argv)) {
    std::fputs(help->second, stdout);
    return 0;
  }
  try {
    if (command == "keys") {
      std::fputs(xlax::nn::config_reference().c_str(), stdout);
      return 0;
    }
    if (command == "train") return cmd_train(parse_args(argc, argv, {"resume"}, {"epochs", "threads"}));
    if (command == "eval") return cmd_eval(parse_args(argc, argv, {}, {"checkpoint", "threads"}));
    if (command == "summary") {
      std::fputs(xlax::nn::summary(xlax::nn::load_config(parse_args(argc, argv, {}, {}).config)).c_str(), stdout);
      return 0;
    }
    return cmd_gradcheck(parse_args(argc, argv, {}, {"batch", "atol", "rtol"}));
  } catch (const xlax::Error& e) {
    std::fprintf(stderr, "xlax %s: error: %s\n", command.c_str(), e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "xlax %s: error: %s\n", command.c_str(), e.what());
    return 2;
  }
}
