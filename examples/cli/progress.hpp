// The per-epoch progress bar of `xlax train` (stderr, redrawn in place at most 5 times/s).
#pragma once

#include <cstdint>
#include <string>

namespace xlax::cli {

std::string format_duration(double seconds);  // "1:05", "1:02:03"

class ProgressBar {
 public:
  explicit ProgressBar(int64_t epochs, bool classify) : epochs_(epochs), classify_(classify) {}
  void update(int64_t epoch, int64_t step, int64_t steps, double loss, double acc, int64_t images, double seconds);
  void finish_line();

 private:
  int64_t epochs_;
  bool classify_;
  double last_draw_ = -1;
  bool drawn_ = false;
};

}  // namespace xlax::cli
