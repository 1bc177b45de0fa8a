// The line-plot renderer: axes with nice ticks, grid, anti-aliased series, legend.
#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "plot.hpp"

namespace xlax::plot {
namespace {

constexpr Rgb frame_colour{80, 80, 80};
constexpr double title_px = 18, label_px = 15, tick_px = 13, legend_px = 13;

struct Interval {
  double lo, hi;
};

// Data limits of one coordinate over all series, overridden by explicit limits.
Interval data_limits(const LinePlot& plot, bool want_x, double fixed_lo, double fixed_hi,
                     double margin) {
  double lo = INFINITY, hi = -INFINITY;
  for (const Series& s : plot.series) {
    for (std::size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      const double v = want_x ? s.x[i] : s.y[i];
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  }
  if (!(lo <= hi)) lo = 0, hi = 1;  // no finite data at all
  if (hi == lo) {                   // a flat series still needs a visible span
    const double half = lo == 0 ? 1.0 : std::fabs(lo) * 0.1;
    lo -= half;
    hi += half;
  }
  const double pad = (hi - lo) * margin;
  lo -= pad;
  hi += pad;
  if (!std::isnan(fixed_lo)) lo = fixed_lo;
  if (!std::isnan(fixed_hi)) hi = fixed_hi;
  if (!(hi > lo)) throw std::invalid_argument("plot::render_line_plot: empty axis range");
  return {lo, hi};
}

struct Ticks {
  std::vector<double> values;
  std::vector<std::string> labels;
  int widest = 0;
};

// Ticks along an axis `length` pixels long; fewer when the labels would collide.
Ticks make_ticks(Interval range, int length, bool vertical) {
  Ticks ticks;
  for (int target = std::max(2, length / (vertical ? 60 : 90)); target >= 2; --target) {
    ticks = Ticks{};
    ticks.values = nice_ticks(range.lo, range.hi, target);
    const double step = ticks.values.size() > 1 ? ticks.values[1] - ticks.values[0]
                                                : (range.hi - range.lo);
    for (double v : ticks.values) {
      ticks.labels.push_back(format_tick(v, step));
      ticks.widest = std::max(ticks.widest, text_width(ticks.labels.back(), tick_px));
    }
    const double spacing = step / (range.hi - range.lo) * length;
    if (spacing >= (vertical ? line_height(tick_px) + 4 : ticks.widest + 12)) break;
  }
  return ticks;
}

// Per-pixel coverage of one series over the plot area. Taking the maximum (not the sum)
// of segment coverages keeps joints of a polyline from getting darker than the line.
class Coverage {
 public:
  Coverage(int width, int height)
      : width_(width), height_(height), cells_(static_cast<std::size_t>(width) * height, 0.f) {}
  float at(int x, int y) const { return cells_[static_cast<std::size_t>(y) * width_ + x]; }

  void segment(double x0, double y0, double x1, double y1, double line_width) {
    const double half = std::max(line_width, 1.0) / 2.0;
    const double gain = std::min(line_width, 1.0);  // hairlines: fainter, not thinner
    const double dx = x1 - x0, dy = y1 - y0, length2 = dx * dx + dy * dy;
    visit(std::min(x0, x1) - half - 1, std::max(x0, x1) + half + 1,
          std::min(y0, y1) - half - 1, std::max(y0, y1) + half + 1, [&](double px, double py) {
            double t = length2 > 0 ? ((px - x0) * dx + (py - y0) * dy) / length2 : 0.0;
            t = std::min(1.0, std::max(0.0, t));
            const double d = std::hypot(px - (x0 + t * dx), py - (y0 + t * dy));
            return gain * (half + 0.5 - d);
          });
  }

  void disc(double cx, double cy, double radius) {
    visit(cx - radius - 1, cx + radius + 1, cy - radius - 1, cy + radius + 1,
          [&](double px, double py) { return radius + 0.5 - std::hypot(px - cx, py - cy); });
  }

 private:
  template <class CoverageAt>
  void visit(double x_lo, double x_hi, double y_lo, double y_hi, CoverageAt coverage_at) {
    const int xa = std::max(0, static_cast<int>(std::floor(std::max(x_lo, -1.0))));
    const int xb = std::min(width_ - 1, static_cast<int>(std::ceil(std::min(x_hi, 1e9))));
    const int ya = std::max(0, static_cast<int>(std::floor(std::max(y_lo, -1.0))));
    const int yb = std::min(height_ - 1, static_cast<int>(std::ceil(std::min(y_hi, 1e9))));
    for (int y = ya; y <= yb; ++y) {
      for (int x = xa; x <= xb; ++x) {
        const double c = std::min(1.0, coverage_at(x + 0.5, y + 0.5));  // pixel centres
        float& cell = cells_[static_cast<std::size_t>(y) * width_ + x];
        if (c > cell) cell = static_cast<float>(c);
      }
    }
  }

  int width_, height_;
  std::vector<float> cells_;
};

}  // namespace

Image render_line_plot(const LinePlot& plot) {
  for (const Series& s : plot.series) {
    if (s.x.size() != s.y.size()) {
      throw std::invalid_argument("plot::render_line_plot: series '" + s.label + "' has " +
                                  std::to_string(s.x.size()) + " x but " +
                                  std::to_string(s.y.size()) + " y values");
    }
  }
  const Interval xr = data_limits(plot, true, plot.x_min, plot.x_max, 0.0);
  const Interval yr = data_limits(plot, false, plot.y_min, plot.y_max, 0.05);

  // Margins follow from the text that has to fit around the plot area.
  const int pad = 14, tick_len = 5;
  const int top = pad + (plot.title.empty() ? 4 : static_cast<int>(title_px) + 14);
  const int bottom = tick_len + 6 + static_cast<int>(tick_px) + 4 +
                     (plot.x_label.empty() ? 0 : static_cast<int>(label_px) + 12) + pad;
  const Ticks y_ticks = make_ticks(yr, plot.height - top - bottom, true);
  const int left = pad + (plot.y_label.empty() ? 0 : static_cast<int>(label_px) + 14) +
                   y_ticks.widest + 6 + tick_len;
  const int right = pad + 12;
  const int pw = plot.width - left - right, ph = plot.height - top - bottom;
  if (pw < 20 || ph < 20) throw std::invalid_argument("plot::render_line_plot: too small");
  const Ticks x_ticks = make_ticks(xr, pw, false);

  auto to_px = [&](double x) { return (x - xr.lo) / (xr.hi - xr.lo) * (pw - 1) + 0.5; };
  auto to_py = [&](double y) { return (1.0 - (y - yr.lo) / (yr.hi - yr.lo)) * (ph - 1) + 0.5; };

  Image image(plot.width, plot.height);
  // Grid under everything, frame and ticks over the data.
  for (double v : x_ticks.values) {
    image.fill_rect(left + static_cast<int>(std::floor(to_px(v))), top, 1, ph, colours::grid);
  }
  for (double v : y_ticks.values) {
    image.fill_rect(left, top + static_cast<int>(std::floor(to_py(v))), pw, 1, colours::grid);
  }

  Coverage all_series(pw, ph);  // where the data is, for placing the legend
  for (std::size_t k = 0; k < plot.series.size(); ++k) {
    const Series& s = plot.series[k];
    const Rgb colour = s.colour.value_or(palette(k));
    Coverage coverage(pw, ph);
    for (std::size_t i = 0; i < s.x.size(); ++i) {
      const bool here = std::isfinite(s.x[i]) && std::isfinite(s.y[i]);
      if (!here) continue;
      const double px = to_px(s.x[i]), py = to_py(s.y[i]);
      if (s.line_width > 0 && i + 1 < s.x.size() && std::isfinite(s.x[i + 1]) &&
          std::isfinite(s.y[i + 1])) {
        coverage.segment(px, py, to_px(s.x[i + 1]), to_py(s.y[i + 1]), s.line_width);
        all_series.segment(px, py, to_px(s.x[i + 1]), to_py(s.y[i + 1]), s.line_width);
      }
      if (s.marker_radius > 0) {
        coverage.disc(px, py, s.marker_radius);
        all_series.disc(px, py, s.marker_radius);
      }
    }
    for (int y = 0; y < ph; ++y) {
      for (int x = 0; x < pw; ++x) image.blend(left + x, top + y, colour, coverage.at(x, y));
    }
  }

  image.draw_rect_outline(left - 1, top - 1, pw + 2, ph + 2, frame_colour);
  for (std::size_t i = 0; i < x_ticks.values.size(); ++i) {
    const int x = left + static_cast<int>(std::floor(to_px(x_ticks.values[i])));
    image.fill_rect(x, top + ph + 1, 1, tick_len, frame_colour);
    draw_text(image, x_ticks.labels[i], x, top + ph + tick_len + 5, tick_px, colours::text,
              HAlign::centre, VAlign::top);
  }
  for (std::size_t i = 0; i < y_ticks.values.size(); ++i) {
    const int y = top + static_cast<int>(std::floor(to_py(y_ticks.values[i])));
    image.fill_rect(left - 1 - tick_len, y, tick_len, 1, frame_colour);
    draw_text(image, y_ticks.labels[i], left - tick_len - 6, y, tick_px, colours::text,
              HAlign::right, VAlign::middle);
  }
  if (!plot.title.empty()) {
    draw_text(image, plot.title, left + pw / 2, pad, title_px, colours::text, HAlign::centre,
              VAlign::top);
  }
  if (!plot.x_label.empty()) {
    draw_text(image, plot.x_label, left + pw / 2, plot.height - pad, label_px, colours::text,
              HAlign::centre, VAlign::bottom);
  }
  if (!plot.y_label.empty()) {
    draw_text(image, plot.y_label, pad, top + ph / 2, label_px, colours::text, HAlign::centre,
              VAlign::top, true);
  }

  // Legend: in whichever inner corner hides the least data.
  std::vector<std::size_t> labelled;
  int widest = 0;
  for (std::size_t k = 0; k < plot.series.size(); ++k) {
    if (plot.series[k].label.empty()) continue;
    labelled.push_back(k);
    widest = std::max(widest, text_width(plot.series[k].label, legend_px));
  }
  if (labelled.empty()) return image;
  const int row = std::max(21, line_height(legend_px) + 5), sample = 28;
  const int box_w = 10 + sample + 8 + widest + 10;
  const int box_h = 6 + static_cast<int>(labelled.size()) * row + 4;
  const int inset = 10;
  int best_x = pw - inset - box_w, best_y = inset;
  double best_ink = INFINITY;
  for (int corner = 0; corner < 4; ++corner) {
    const int bx = corner % 2 == 0 ? pw - inset - box_w : inset;  // right first, then left
    const int by = corner < 2 ? inset : ph - inset - box_h;
    double ink = 0;
    for (int y = std::max(0, by); y < std::min(ph, by + box_h); ++y) {
      for (int x = std::max(0, bx); x < std::min(pw, bx + box_w); ++x) ink += all_series.at(x, y);
    }
    if (ink < best_ink - 1e-9) best_ink = ink, best_x = bx, best_y = by;
  }
  const int lx = left + best_x, ly = top + best_y;
  for (int y = ly; y < ly + box_h; ++y) {
    for (int x = lx; x < lx + box_w; ++x) image.blend(x, y, colours::white, 0.88);
  }
  image.draw_rect_outline(lx, ly, box_w, box_h, {200, 200, 200});
  for (std::size_t i = 0; i < labelled.size(); ++i) {
    const Series& s = plot.series[labelled[i]];
    const Rgb colour = s.colour.value_or(palette(labelled[i]));
    const int cy = ly + 6 + static_cast<int>(i) * row + row / 2;
    Coverage mark(sample + 2, row);
    if (s.line_width > 0) mark.segment(1, row / 2.0, sample + 1, row / 2.0, s.line_width);
    if (s.marker_radius > 0) mark.disc(sample / 2.0 + 1, row / 2.0, s.marker_radius);
    for (int y = 0; y < row; ++y) {
      for (int x = 0; x < sample + 2; ++x) {
        image.blend(lx + 9 + x, cy - row / 2 + y, colour, mark.at(x, y));
      }
    }
    draw_text(image, s.label, lx + 10 + sample + 8, cy, legend_px, colours::text, HAlign::left,
              VAlign::middle);
  }
  return image;
}

void save_line_plot(const std::string& path, const LinePlot& plot) {
  save_png(path, render_line_plot(plot));
}

}  // namespace xlax::plot
