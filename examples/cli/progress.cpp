#include "progress.hpp"

#include <cstdio>
#include <unistd.h>

namespace xlax::cli {

std::string format_duration(double s) {
  const long t = static_cast<long>(s + 0.5);
  char buf[32];
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
  else std::snprintf(buf, sizeof buf, "%ld:%02ld", t / 60, t % 60);
  return buf;
}

void ProgressBar::update(int64_t epoch, int64_t step, int64_t steps, double loss, double acc, int64_t images,
                         double seconds) {
  const bool last = step == steps;
  // Not a terminal (a log file): draw only the final state of each epoch.
  if (!isatty(STDERR_FILENO) && !last) return;
  if (!last && seconds - last_draw_ < 0.2) return;
  last_draw_ = seconds;
  const int width = 24, filled = static_cast<int>(width * step / steps);
  std::string bar(filled, '=');
  if (filled < width) bar += '>';
  bar.resize(width, ' ');
  const double rate = images / std::max(seconds, 1e-9);
  const double eta = seconds / step * (steps - step);
  std::fprintf(stderr, "\repoch %lld/%lld [%s] %lld/%lld loss %.4f", static_cast<long long>(epoch),
               static_cast<long long>(epochs_), bar.c_str(), static_cast<long long>(step), static_cast<long long>(steps),
               loss);
  if (classify_) std::fprintf(stderr, " acc %.4f", acc);
  std::fprintf(stderr, " %.0f img/s %s %s ", rate, last ? "took" : "ETA", format_duration(last ? seconds : eta).c_str());
  std::fflush(stderr);
  drawn_ = true;
  if (last) finish_line();
}

void ProgressBar::finish_line() {
  if (drawn_) std::fprintf(stderr, "\n");
  drawn_ = false;
  last_draw_ = -1;
}

}  // namespace xlax::cli
