// xlax: train, evaluate, predict, summarise and gradient-check models described by JSON
// configs. This file is the command line only (CLI11); the commands are in commands.cpp
// and the work in xlax::nn. Exit codes: 0 success, 1 a failed check (gradient mismatch,
// non-finite loss), 2 usage, config or data errors.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>

#include "commands.hpp"

namespace {

constexpr const char* kVersion = "xlax 0.1.0";

// The options several commands share.
void add_config(CLI::App* cmd, xlax::cli::Options& o) {
  cmd->add_option("CONFIG", o.config, "the JSON config (relative paths in it resolve from its folder)")->required();
  cmd->add_option("--set", o.set,
                  "override a config key as if written in the file, e.g. --set training.batch_size=128 "
                  "(repeatable; the value is JSON, or a plain string)")
      ->type_name("KEY=VALUE")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}
void add_threads(CLI::App* cmd, xlax::cli::Options& o) {
  cmd->add_option("--threads", o.threads, "override training.threads")->check(CLI::Range(0, 1024));
}

}  // namespace

int main(int argc, char** argv) {
  xlax::cli::Options o;
  CLI::App app{"xlax: train and check convolutional networks described by JSON configs.\n"
               "The last line of `xlax train` is `test_acc A` (or `test_mse E`).",
               "xlax"};
  app.set_version_flag("--version", kVersion);
  app.require_subcommand(1);
  app.fallthrough(false);

  CLI::App* train = app.add_subcommand("train", "train the configured model; last line: test_acc A (or test_mse E)");
  add_config(train, o);
  add_threads(train, o);
  train->add_option("--epochs", o.epochs, "override training.epochs")->check(CLI::NonNegativeNumber);
  auto* resume = train->add_flag("--resume", o.resume,
                                 "continue from the newest checkpoint in checkpoint.dir (an error if there is none); "
                                 "the result equals an uninterrupted run");
  auto* auto_resume = train->add_flag("--auto-resume", o.auto_resume,
                                      "resume when checkpoint.dir holds a checkpoint, else start fresh (restart loops)");
  auto* overwrite = train->add_flag("--overwrite", o.overwrite, "delete the checkpoints in checkpoint.dir and start fresh");
  resume->excludes(auto_resume)->excludes(overwrite);
  auto_resume->excludes(overwrite);
  train->footer(
      "A fresh run refuses a checkpoint.dir that already holds checkpoints, and two runs cannot share one\n"
      "folder (a lock on <dir>/.xlax.lock). Progress goes to stderr, one line per epoch to stdout, metrics to\n"
      "training.metrics_file (JSON lines), pictures to training.output_dir. Exit 1: the loss became non-finite.");

  CLI::App* eval = app.add_subcommand("eval", "evaluate a checkpoint on the test set");
  add_config(eval, o);
  add_threads(eval, o);
  eval->add_option("--checkpoint", o.checkpoint, "a safetensors file written by xlax train (optimizer state not needed)")
      ->required();

  CLI::App* predict = app.add_subcommand("predict", "classify image files or a .npy batch with a checkpoint");
  add_config(predict, o);
  add_threads(predict, o);
  predict->add_option("--checkpoint", o.checkpoint, "a safetensors file written by xlax train")->required();
  predict->add_option("INPUT", o.inputs, "image files (PNG, JPEG, BMP), or one .npy batch (N, spatial..., C)")
      ->required();
  predict->add_option("--output", o.output, "write the outputs (classifiers: probabilities) to this .npy file");
  predict->add_option("--top", o.top, "classes printed per input (default 5)")->check(CLI::PositiveNumber);
  predict->footer("Prints one line per input: `PATH: class p, class p, ...` (class names for image folders).");

  CLI::App* summary = app.add_subcommand("summary", "layer table: inputs, output shapes and parameter counts");
  add_config(summary, o);

  CLI::App* gradcheck =
      app.add_subcommand("gradcheck", "float64 finite-difference check of every parameter's gradient");
  add_config(gradcheck, o);
  gradcheck->add_option("--batch", o.batch, "training examples used (default 2)")->check(CLI::PositiveNumber);
  gradcheck->add_option("--atol", o.atol, "absolute tolerance (default 1e-6)")->check(CLI::NonNegativeNumber);
  gradcheck->add_option("--rtol", o.rtol, "relative tolerance (default 1e-4)")->check(CLI::NonNegativeNumber);
  gradcheck->footer("Exit 1: a gradient disagrees with finite differences; exit 2: the config or data is wrong.");

  CLI::App* keys = app.add_subcommand("keys", "every accepted config key, per section and layer type");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);  // prints help, the version or the usage error
    return code == 0 ? 0 : 2;
  }
  CLI::App* cmd = app.get_subcommands().front();
  try {
    if (cmd == train) return xlax::cli::train(o);
    if (cmd == eval) return xlax::cli::evaluate(o);
    if (cmd == predict) return xlax::cli::predict(o);
    if (cmd == summary) return xlax::cli::summary(o);
    if (cmd == gradcheck) return xlax::cli::gradcheck(o);
    if (cmd == keys) {
      std::fputs(xlax::nn::config_reference().c_str(), stdout);
      return 0;
    }
  } catch (const std::exception& e) {  // xlax::Error and std::bad_alloc alike: no crash
    std::fprintf(stderr, "xlax %s: error: %s\n", cmd->get_name().c_str(), e.what());
    return 2;
  }
  return 2;
}
