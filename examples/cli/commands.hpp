// The `xlax` commands. Each returns the process exit code: 0 success, 1 a failed check
// (gradient mismatch, non-finite loss); errors (usage, config, data) throw xlax::Error,
// which main turns into exit code 2.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <xlax/xlax.hpp>

namespace xlax::cli {

struct Options {
  std::string config;
  std::vector<std::string> set;      // --set KEY=VALUE, applied as if written in the file
  int threads = -1;                  // -1: the config's
  int64_t epochs = -1;
  bool resume = false, auto_resume = false, overwrite = false;
  std::string checkpoint, output;    // paths from the command line resolve from the cwd
  std::vector<std::string> inputs;   // predict
  int64_t top = 5;
  int64_t batch = 2;                 // gradcheck
  double atol = 1e-6, rtol = 1e-4;
};

int train(const Options& o);
int evaluate(const Options& o);
int predict(const Options& o);
int gradcheck(const Options& o);
int summary(const Options& o);

}  // namespace xlax::cli
