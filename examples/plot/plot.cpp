// Images, PNG files, colour maps, heatmaps, panels and volume slices (line plots live in
// line_plot.cpp, text in text.cpp).
#include "plot.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <stdexcept>

#include <unistd.h>  // getpid: unique temp names when several processes write one folder

#include <stb_image.h>        // implementations come from libstb, so no *_IMPLEMENTATION here
#include <stb_image_write.h>

namespace xlax::plot {

// ---- Image ---------------------------------------------------------------------------

Image::Image(int width, int height, Rgb fill) : width_(width), height_(height) {
  if (width < 0 || height < 0) throw std::invalid_argument("plot::Image: negative size");
  bytes_.resize(static_cast<std::size_t>(width) * height * 3);
  for (std::size_t i = 0; i < bytes_.size(); i += 3) {
    bytes_[i] = fill.r;
    bytes_[i + 1] = fill.g;
    bytes_[i + 2] = fill.b;
  }
}

Rgb Image::at(int x, int y) const {
  if (x < 0 || y < 0 || x >= width_ || y >= height_) {
    throw std::out_of_range("plot::Image::at: pixel outside the image");
  }
  const std::size_t i = (static_cast<std::size_t>(y) * width_ + x) * 3;
  return {bytes_[i], bytes_[i + 1], bytes_[i + 2]};
}

void Image::set(int x, int y, Rgb colour) {
  if (x < 0 || y < 0 || x >= width_ || y >= height_) return;
  const std::size_t i = (static_cast<std::size_t>(y) * width_ + x) * 3;
  bytes_[i] = colour.r;
  bytes_[i + 1] = colour.g;
  bytes_[i + 2] = colour.b;
}

void Image::blend(int x, int y, Rgb colour, double alpha) {
  if (x < 0 || y < 0 || x >= width_ || y >= height_ || !(alpha > 0)) return;
  alpha = std::min(alpha, 1.0);
  const std::size_t i = (static_cast<std::size_t>(y) * width_ + x) * 3;
  const std::uint8_t src[3] = {colour.r, colour.g, colour.b};
  for (int c = 0; c < 3; ++c) {
    const double mixed = bytes_[i + c] + alpha * (src[c] - bytes_[i + c]);
    bytes_[i + c] = static_cast<std::uint8_t>(std::lround(mixed));
  }
}

void Image::fill_rect(int x, int y, int w, int h, Rgb colour) {
  for (int yy = std::max(0, y); yy < std::min(height_, y + h); ++yy) {
    for (int xx = std::max(0, x); xx < std::min(width_, x + w); ++xx) set(xx, yy, colour);
  }
}

void Image::draw_rect_outline(int x, int y, int w, int h, Rgb colour) {
  fill_rect(x, y, w, 1, colour);
  fill_rect(x, y + h - 1, w, 1, colour);
  fill_rect(x, y, 1, h, colour);
  fill_rect(x + w - 1, y, 1, h, colour);
}

void Image::paste(const Image& source, int x, int y) {
  for (int yy = 0; yy < source.height(); ++yy) {
    for (int xx = 0; xx < source.width(); ++xx) set(x + xx, y + yy, source.at(xx, yy));
  }
}

// ---- PNG files -----------------------------------------------------------------------

void save_png(const std::string& path, const Image& image) {
  if (image.width() == 0 || image.height() == 0) {
    throw std::invalid_argument("plot::save_png: empty image for " + path);
  }
  // Same folder as the target so that rename() is atomic (never a half-written PNG).
  static std::atomic<unsigned> counter{0};
  const std::string temp = path + ".tmp-" + std::to_string(getpid()) + "-" +
                           std::to_string(counter.fetch_add(1));
  const int ok = stbi_write_png(temp.c_str(), image.width(), image.height(), 3,
                                image.bytes().data(), image.width() * 3);
  if (!ok) {
    std::remove(temp.c_str());
    throw std::runtime_error("plot::save_png: cannot write " + temp);
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    std::remove(temp.c_str());
    throw std::runtime_error("plot::save_png: cannot rename " + temp + " to " + path);
  }
}

Image load_png(const std::string& path) {
  int w = 0, h = 0, channels = 0;
  unsigned char* data = stbi_load(path.c_str(), &w, &h, &channels, 3);
  if (!data) throw std::runtime_error("plot::load_png: cannot read " + path);
  Image image(w, h);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const unsigned char* p = data + (static_cast<std::size_t>(y) * w + x) * 3;
      image.set(x, y, {p[0], p[1], p[2]});
    }
  }
  stbi_image_free(data);
  return image;
}

// ---- colour maps ---------------------------------------------------------------------

Rgb palette(std::size_t index) {
  // Saturated, mutually distinct hues that stay readable on white.
  static const Rgb colours[] = {{31, 119, 180}, {230, 97, 1},   {44, 160, 44},
                                {214, 39, 40},  {128, 77, 172}, {140, 86, 75},
                                {227, 119, 194}, {100, 100, 100}, {188, 189, 34},
                                {23, 190, 207}};
  return colours[index % (sizeof(colours) / sizeof(colours[0]))];
}

namespace {
double clamp01(double t) { return std::isnan(t) ? 0.0 : std::min(1.0, std::max(0.0, t)); }
std::uint8_t to_byte(double v) {
  return static_cast<std::uint8_t>(std::lround(std::min(255.0, std::max(0.0, v))));
}
}  // namespace

Rgb viridis(double t) {
  // Nine equally spaced samples of viridis; between them the map is close to straight in
  // RGB, so linear interpolation stays within a couple of levels of the original.
  static const double anchors[9][3] = {{68, 1, 84},    {71, 45, 123},  {59, 82, 139},
                                       {44, 114, 142}, {33, 145, 140}, {40, 174, 128},
                                       {94, 201, 98},  {173, 220, 48}, {253, 231, 37}};
  const double pos = clamp01(t) * 8.0;
  const int i = std::min(7, static_cast<int>(pos));
  const double f = pos - i;
  return {to_byte(anchors[i][0] + f * (anchors[i + 1][0] - anchors[i][0])),
          to_byte(anchors[i][1] + f * (anchors[i + 1][1] - anchors[i][1])),
          to_byte(anchors[i][2] + f * (anchors[i + 1][2] - anchors[i][2]))};
}

Rgb greys(double t) {
  const std::uint8_t v = to_byte(clamp01(t) * 255.0);
  return {v, v, v};
}

Rgb map_colour(Colormap map, double t) {
  return map == Colormap::viridis ? viridis(t) : greys(t);
}

ValueRange finite_range(const std::vector<double>& values) {
  bool any = false;
  ValueRange range;
  for (double v : values) {
    if (!std::isfinite(v)) continue;
    if (!any) range = {v, v};
    range.lo = std::min(range.lo, v);
    range.hi = std::max(range.hi, v);
    any = true;
  }
  return any ? range : ValueRange{};
}

std::vector<double> to_double(const std::vector<float>& values) {
  return std::vector<double>(values.begin(), values.end());
}

// ---- ticks ---------------------------------------------------------------------------

std::vector<double> nice_ticks(double lo, double hi, int target) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) return {};
  if (!(hi > lo)) return {lo};
  const double raw = (hi - lo) / std::max(1, target);
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double norm = raw / magnitude;
  const double step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * magnitude;
  std::vector<double> ticks;
  const double first = std::ceil(lo / step - 1e-9);
  for (int k = 0;; ++k) {
    double v = (first + k) * step;  // multiply, never accumulate: no drift
    if (v > hi + step * 1e-9) break;
    if (std::fabs(v) < step * 1e-9) v = 0.0;
    ticks.push_back(v);
  }
  return ticks;
}

std::string format_tick(double value, double step) {
  char buffer[32];
  if (std::fabs(value) < std::fabs(step) * 1e-9) value = 0.0;  // never print "-0.0"
  if (std::fabs(step) >= 1e-4 && std::fabs(value) < 1e7) {
    const int decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
    std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  } else {
    std::snprintf(buffer, sizeof buffer, "%.3g", value);
  }
  return buffer;
}

// ---- heatmaps ------------------------------------------------------------------------

namespace {

void check_size(const char* function, std::size_t have, std::size_t want) {
  if (have != want) {
    throw std::invalid_argument(std::string("plot::") + function + ": values has " +
                                std::to_string(have) + " elements, the shape needs " +
                                std::to_string(want));
  }
}

ValueRange resolve_range(const std::vector<double>& values, double vmin, double vmax) {
  ValueRange range = finite_range(values);
  if (!std::isnan(vmin)) range.lo = vmin;
  if (!std::isnan(vmax)) range.hi = vmax;
  return range;
}

Rgb cell_colour(Colormap map, double v, ValueRange range) {
  if (std::isnan(v)) return colours::missing;
  // A constant field maps to the middle of the scale rather than dividing by zero.
  const double t = range.hi > range.lo ? (v - range.lo) / (range.hi - range.lo) : 0.5;
  return map_colour(map, t);
}

int luminance(Rgb c) { return (299 * c.r + 587 * c.g + 114 * c.b) / 1000; }

// Tick values and labels of a colour bar over [lo, hi].
struct BarTicks {
  std::vector<double> values;
  std::vector<std::string> labels;
  int widest = 0;
};

// Ticks for a bar `length` pixels long: at least two, and labels that do not collide
// (along a vertical bar a label needs its height, along a horizontal one its width).
BarTicks bar_ticks(ValueRange range, int length, bool vertical, double font_px) {
  const int preferred = std::max(2, length / (vertical ? 45 : 60));
  BarTicks best;
  for (int target = preferred; target <= preferred + 6; ++target) {
    BarTicks ticks;
    ticks.values = nice_ticks(range.lo, range.hi, target);
    const double step = ticks.values.size() > 1 ? ticks.values[1] - ticks.values[0]
                                                : std::max(1e-12, std::fabs(range.lo));
    for (double v : ticks.values) {
      ticks.labels.push_back(format_tick(v, step));
      ticks.widest = std::max(ticks.widest, text_width(ticks.labels.back(), font_px));
    }
    const double span = range.hi - range.lo;
    const double spacing = span > 0 ? step / span * length : length;
    const int needed = vertical ? line_height(font_px) : ticks.widest + 8;
    if (!best.values.empty() && spacing < needed) break;  // denser would overlap
    best = std::move(ticks);
    if (best.values.size() >= 2) break;
  }
  return best;
}

// A colour bar at (x, y) of size w x h: vertical (vmax at the top, labels to the right)
// or horizontal (vmin at the left, labels below).
void draw_colorbar(Image& image, int x, int y, int w, int h, Colormap map, ValueRange range,
                   const BarTicks& ticks, double font_px, bool vertical) {
  const int length = vertical ? h : w;
  for (int i = 0; i < length; ++i) {
    const Rgb c = map_colour(map, length > 1 ? static_cast<double>(i) / (length - 1) : 0.5);
    if (vertical) {
      image.fill_rect(x, y + h - 1 - i, w, 1, c);
    } else {
      image.fill_rect(x + i, y, 1, h, c);
    }
  }
  image.draw_rect_outline(x, y, w, h, {90, 90, 90});
  const double span = range.hi - range.lo;
  for (std::size_t k = 0; k < ticks.values.size(); ++k) {
    const double f = span > 0 ? (ticks.values[k] - range.lo) / span : 0.5;
    if (vertical) {
      const int ty = y + h - 1 - static_cast<int>(std::lround(f * (h - 1)));
      image.fill_rect(x + w, ty, 4, 1, {90, 90, 90});
      draw_text(image, ticks.labels[k], x + w + 9, ty, font_px, colours::text, HAlign::left,
                VAlign::middle);
    } else {
      const int tx = x + static_cast<int>(std::lround(f * (w - 1)));
      image.fill_rect(tx, y + h, 1, 4, {90, 90, 90});
      draw_text(image, ticks.labels[k], tx, y + h + 6, font_px, colours::text,
                HAlign::centre, VAlign::top);
    }
  }
}

// Square cells, the longest side near `target` pixels; thin arrays (a 1 x 300 row) get
// thicker cells so they stay visible, as long as the picture stays under 1600 pixels.
int auto_cell_pixels(std::size_t height, std::size_t width, int target) {
  const int longest = static_cast<int>(std::max<std::size_t>(1, std::max(height, width)));
  const int shortest = static_cast<int>(std::max<std::size_t>(1, std::min(height, width)));
  int p = std::max(1, target / longest);
  p = std::max(p, std::min((24 + shortest - 1) / shortest, 1600 / longest));
  return std::min(80, std::max(1, p));
}

}  // namespace

Image render_cells(const std::vector<double>& values, std::size_t height, std::size_t width,
                   Colormap map, double vmin, double vmax, int pixels_per_cell) {
  check_size("render_cells", values.size(), height * width);
  const ValueRange range = resolve_range(values, vmin, vmax);
  const int p = std::max(1, pixels_per_cell);
  Image image(static_cast<int>(width) * p, static_cast<int>(height) * p);
  for (std::size_t r = 0; r < height; ++r) {
    for (std::size_t c = 0; c < width; ++c) {
      image.fill_rect(static_cast<int>(c) * p, static_cast<int>(r) * p, p, p,
                      cell_colour(map, values[r * width + c], range));
    }
  }
  return image;
}

Image render_heatmap(const std::vector<double>& values, std::size_t height, std::size_t width,
                     const HeatmapStyle& style) {
  check_size("render_heatmap", values.size(), height * width);
  const ValueRange range = resolve_range(values, style.vmin, style.vmax);
  const int p = style.pixels_per_cell > 0 ? style.pixels_per_cell
                                          : auto_cell_pixels(height, width, 320);
  const Image cells = render_cells(values, height, width, style.colormap, range.lo, range.hi, p);
  const int pad = 14, title_px = 17, label_px = 13;
  const int top = style.title.empty() ? pad : pad + title_px + 10;
  const int bar_h = std::max(cells.height(), 120), bar_w = 16;
  const BarTicks ticks = bar_ticks(range, bar_h, true, label_px);
  const int bar_x = pad + cells.width() + 16;
  const int total_w = style.colorbar ? bar_x + bar_w + 10 + ticks.widest + pad
                                     : pad + cells.width() + pad;
  const int total_h = top + (style.colorbar ? std::max(bar_h, cells.height()) : cells.height())
                      + pad;
  Image image(std::max(total_w, style.title.empty()
                                    ? 0 : text_width(style.title, title_px) + 2 * pad),
              total_h);
  if (!style.title.empty()) {
    draw_text(image, style.title, image.width() / 2, pad, title_px, colours::text,
              HAlign::centre, VAlign::top);
  }
  image.paste(cells, pad, top);
  // Small grids get their values written in: kernels are easier to read as numbers.
  if (p >= 30 && height * width <= 100) {
    const double step = std::max(std::fabs(range.hi), std::fabs(range.lo)) / 100.0;
    for (std::size_t r = 0; r < height; ++r) {
      for (std::size_t c = 0; c < width; ++c) {
        const double v = values[r * width + c];
        const Rgb bg = cell_colour(style.colormap, v, range);
        const std::string label = std::isnan(v) ? "NaN" : format_tick(v, step > 0 ? step : 1);
        double px = std::min(14.0, p * 0.32);
        while (px > 8 && text_width(label, px) > p * 0.85) px -= 1;  // shrink to fit
        if (text_width(label, px) > p * 0.85) continue;
        draw_text(image, label, pad + static_cast<int>(c) * p + p / 2,
                  top + static_cast<int>(r) * p + p / 2, px,
                  luminance(bg) > 128 ? colours::black : colours::white, HAlign::centre,
                  VAlign::middle);
      }
    }
  }
  if (style.colorbar) {
    draw_colorbar(image, bar_x, top, bar_w, bar_h, style.colormap, range, ticks, label_px, true);
  }
  return image;
}

void save_heatmap(const std::string& path, const std::vector<double>& values,
                  std::size_t height, std::size_t width, const HeatmapStyle& style) {
  save_png(path, render_heatmap(values, height, width, style));
}

void save_heatmap(const std::string& path, const std::vector<double>& values,
                  std::size_t height, std::size_t width, Colormap map, double vmin,
                  double vmax) {
  HeatmapStyle style;
  style.colormap = map;
  style.vmin = vmin;
  style.vmax = vmax;
  save_heatmap(path, values, height, width, style);
}

void save_heatmap(const std::string& path, const std::vector<float>& values,
                  std::size_t height, std::size_t width, Colormap map, double vmin,
                  double vmax) {
  save_heatmap(path, to_double(values), height, width, map, vmin, vmax);
}

void save_grey(const std::string& path, const std::vector<double>& values, std::size_t height,
               std::size_t width) {
  check_size("save_grey", values.size(), height * width);
  save_png(path, render_cells(values, height, width, Colormap::greys, auto_limit, auto_limit, 1));
}

void save_grey(const std::string& path, const std::vector<float>& values, std::size_t height,
               std::size_t width) {
  save_grey(path, to_double(values), height, width);
}

// ---- panels --------------------------------------------------------------------------

Image render_panels(const std::vector<Panel>& panels, const PanelStyle& style) {
  if (panels.empty()) throw std::invalid_argument("plot::render_panels: no panels");
  const int pad = 16, gap = 28, title_px = 18, panel_title_px = 15, label_px = 12;
  const int bar_h = 10;
  std::vector<Image> cells;
  std::vector<ValueRange> ranges;
  std::vector<BarTicks> ticks;
  int row_w = 0, cells_h = 0, bar_block = 0;
  for (const Panel& panel : panels) {
    check_size("render_panels", panel.values.size(), panel.height * panel.width);
    ranges.push_back(resolve_range(panel.values, panel.vmin, panel.vmax));
    const int p = auto_cell_pixels(panel.height, panel.width, style.panel_pixels);
    cells.push_back(render_cells(panel.values, panel.height, panel.width, panel.colormap,
                                 ranges.back().lo, ranges.back().hi, p));
    const int w = std::max(cells.back().width(), text_width(panel.title, panel_title_px));
    ticks.push_back(bar_ticks(ranges.back(), cells.back().width(), false, label_px));
    row_w += w + (row_w > 0 ? gap : 0);
    cells_h = std::max(cells_h, cells.back().height());
  }
  if (style.colorbars) bar_block = 10 + bar_h + 6 + label_px + 8;
  const int title_block = style.title.empty() ? 0 : title_px + 14;
  const int panel_title_block = panel_title_px + 10;
  const int width = std::max(row_w, text_width(style.title, title_px)) + 2 * pad;
  const int height = pad + title_block + panel_title_block + cells_h + bar_block + pad;
  Image image(width, height);
  if (!style.title.empty()) {
    draw_text(image, style.title, width / 2, pad, title_px, colours::text, HAlign::centre,
              VAlign::top);
  }
  int x = pad + (width - 2 * pad - row_w) / 2;
  const int cells_top = pad + title_block + panel_title_block;
  for (std::size_t i = 0; i < panels.size(); ++i) {
    const int slot_w = std::max(cells[i].width(), text_width(panels[i].title, panel_title_px));
    const int cx = x + (slot_w - cells[i].width()) / 2;
    draw_text(image, panels[i].title, x + slot_w / 2, cells_top - 8, panel_title_px,
              colours::text, HAlign::centre, VAlign::bottom);
    image.paste(cells[i], cx, cells_top);
    if (style.colorbars) {
      draw_colorbar(image, cx, cells_top + cells[i].height() + 10, cells[i].width(), bar_h,
                    panels[i].colormap, ranges[i], ticks[i], label_px, false);
    }
    x += slot_w + gap;
  }
  return image;
}

void save_panels(const std::string& path, const std::vector<Panel>& panels,
                 const PanelStyle& style) {
  save_png(path, render_panels(panels, style));
}

// ---- volumes -------------------------------------------------------------------------

Image render_volume(const std::vector<double>& values, std::size_t d0, std::size_t d1,
                    std::size_t d2, const VolumeStyle& style) {
  check_size("render_volume", values.size(), d0 * d1 * d2);
  if (d0 == 0 || d1 == 0 || d2 == 0) throw std::invalid_argument("plot::render_volume: empty");
  const ValueRange range = resolve_range(values, style.vmin, style.vmax);
  const std::size_t shown = std::min<std::size_t>(d0, std::max(1, style.max_slices));
  // Landscape grid: one row for a few slices, otherwise about 16:9.
  const int cols = shown <= 5 ? static_cast<int>(shown)
                              : static_cast<int>(std::ceil(std::sqrt(shown * 16.0 / 9.0)));
  const int rows = static_cast<int>((shown + cols - 1) / cols);
  const int p = auto_cell_pixels(d1, d2, style.slice_pixels);
  const int sw = static_cast<int>(d2) * p, sh = static_cast<int>(d1) * p;
  const int pad = 16, gap = 12, title_px = 18, label_px = 13, caption_px = 13;
  const int label_block = label_px + 8;
  const int title_block = style.title.empty() ? 0 : title_px + 10;
  const int caption_block = caption_px + 14;
  const int grid_w = cols * sw + (cols - 1) * gap;
  const int grid_h = rows * (label_block + sh) + (rows - 1) * gap;
  const int bar_w = 16, bar_h = std::max(120, grid_h - label_block);
  const BarTicks ticks = bar_ticks(range, bar_h, true, label_px);
  const std::string caption = "slices along axis 0 (" + std::to_string(shown) + " of " +
                              std::to_string(d0) + "), each " + std::to_string(d1) + " x " +
                              std::to_string(d2);
  const int width = std::max(pad + grid_w + 20 + bar_w + 10 + ticks.widest + pad,
                             std::max(text_width(style.title, title_px),
                                      text_width(caption, caption_px)) + 2 * pad);
  const int top = pad + title_block + caption_block;
  const int height = top + std::max(grid_h, label_block + bar_h) + pad;
  Image image(width, height);
  if (!style.title.empty()) {
    draw_text(image, style.title, width / 2, pad, title_px, colours::text, HAlign::centre,
              VAlign::top);
  }
  draw_text(image, caption, width / 2, pad + title_block, caption_px, {100, 100, 100},
            HAlign::centre, VAlign::top);
  std::vector<double> slice(d1 * d2);
  for (std::size_t k = 0; k < shown; ++k) {
    // Evenly spaced slice indices, always including the first and the last.
    const std::size_t index =
        shown == 1 ? 0 : static_cast<std::size_t>(std::lround(k * (d0 - 1.0) / (shown - 1)));
    std::copy_n(values.begin() + static_cast<std::ptrdiff_t>(index * d1 * d2), d1 * d2,
                slice.begin());
    const int gx = pad + static_cast<int>(k % cols) * (sw + gap);
    const int gy = top + static_cast<int>(k / cols) * (label_block + sh + gap);
    draw_text(image, "i0 = " + std::to_string(index), gx + sw / 2, gy, label_px,
              colours::text, HAlign::centre, VAlign::top);
    image.paste(render_cells(slice, d1, d2, style.colormap, range.lo, range.hi, p), gx,
                gy + label_block);
  }
  draw_colorbar(image, pad + grid_w + 20, top + label_block, bar_w, bar_h, style.colormap,
                range, ticks, label_px, true);
  return image;
}

void save_volume(const std::string& path, const std::vector<double>& values, std::size_t d0,
                 std::size_t d1, std::size_t d2, const VolumeStyle& style) {
  save_png(path, render_volume(values, d0, d1, d2, style));
}

void save_volume(const std::string& path, const std::vector<float>& values, std::size_t d0,
                 std::size_t d1, std::size_t d2, const VolumeStyle& style) {
  save_volume(path, to_double(values), d0, d1, d2, style);
}

}  // namespace xlax::plot
