// xlax::plot - the small picture writer shared by the examples: RGB images, colour maps,
// heatmaps, titled panels, 3-D volume slices and line plots, saved as PNG.
// Plain std::vector / raw sizes only, so the examples need no xtensor types here.
// Values are row-major: values[row * width + col] (volumes: [(i0 * d1 + i1) * d2 + i2]).
// Every save_* writes atomically (temp file in the same folder, then rename) and throws
// std::runtime_error on failure; bad arguments throw std::invalid_argument.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace xlax::plot {

struct Rgb {
  std::uint8_t r = 0, g = 0, b = 0;
};
inline bool operator==(Rgb a, Rgb b) { return a.r == b.r && a.g == b.g && a.b == b.b; }
inline bool operator!=(Rgb a, Rgb b) { return !(a == b); }

namespace colours {
constexpr Rgb white{255, 255, 255};
constexpr Rgb black{0, 0, 0};
constexpr Rgb text{34, 34, 34};
constexpr Rgb grid{228, 228, 228};
constexpr Rgb missing{255, 0, 255};  // NaN cells in heatmaps: impossible to mistake for data
}  // namespace colours

// Distinct line colours for series that do not choose one (index wraps around).
Rgb palette(std::size_t index);

// An 8-bit RGB raster, row-major, origin at the top-left.
class Image {
 public:
  Image() = default;
  Image(int width, int height, Rgb fill = colours::white);
  int width() const { return width_; }
  int height() const { return height_; }
  Rgb at(int x, int y) const;                         // throws std::out_of_range
  void set(int x, int y, Rgb colour);                 // silently clipped
  void blend(int x, int y, Rgb colour, double alpha); // alpha in [0, 1]; clipped
  void fill_rect(int x, int y, int w, int h, Rgb colour);
  void draw_rect_outline(int x, int y, int w, int h, Rgb colour);
  void paste(const Image& source, int x, int y);      // clipped
  const std::vector<std::uint8_t>& bytes() const { return bytes_; }  // RGBRGB..., 3*w*h

 private:
  int width_ = 0, height_ = 0;
  std::vector<std::uint8_t> bytes_;
};

void save_png(const std::string& path, const Image& image);
Image load_png(const std::string& path);  // any PNG, converted to RGB

// ---- colour maps ---------------------------------------------------------------------
enum class Colormap {
  viridis,  // perceptually uniform dark purple -> blue -> green -> yellow
  greys     // black (low) -> white (high), as for photographs
};
Rgb viridis(double t);  // t clamped to [0, 1]
Rgb greys(double t);
Rgb map_colour(Colormap map, double t);

constexpr double auto_limit = std::numeric_limits<double>::quiet_NaN();

// The finite minimum and maximum of values (NaN/inf skipped); {0, 1} if none is finite.
struct ValueRange {
  double lo = 0.0, hi = 1.0;
};
ValueRange finite_range(const std::vector<double>& values);

// ---- text ----------------------------------------------------------------------------
// DejaVuSans (fonts-dejavu-core) via stb_truetype when present, else a built-in bitmap font.
// select_font("") forces the built-in font; select_font(path) loads a TTF, returns false
// (keeping the current font) if it cannot. Not thread-safe against concurrent drawing.
bool select_font(const std::string& ttf_path);
bool using_truetype_font();

enum class HAlign { left, centre, right };
enum class VAlign { top, middle, baseline, bottom };  // middle: centre of capital letters
int text_width(const std::string& utf8, double pixel_height);
int line_height(double pixel_height);  // ascent + descent of a rendered line, in pixels
void draw_text(Image& image, const std::string& utf8, int x, int y, double pixel_height,
               Rgb colour, HAlign h = HAlign::left, VAlign v = VAlign::baseline,
               bool vertical = false);  // vertical: rotated 90 degrees, reads bottom-to-top

// ---- heatmaps ------------------------------------------------------------------------
struct HeatmapStyle {
  Colormap colormap = Colormap::viridis;
  double vmin = auto_limit, vmax = auto_limit;  // NaN: the finite data range
  int pixels_per_cell = 0;                      // 0: longest side about 320 px
  bool colorbar = true;
  std::string title;
};

// The bare cells, each cell a pixels_per_cell square (no margins or labels).
Image render_cells(const std::vector<double>& values, std::size_t height, std::size_t width,
                   Colormap map, double vmin, double vmax, int pixels_per_cell);
Image render_heatmap(const std::vector<double>& values, std::size_t height,
                     std::size_t width, const HeatmapStyle& style = {});
void save_heatmap(const std::string& path, const std::vector<double>& values,
                  std::size_t height, std::size_t width, Colormap map = Colormap::viridis,
                  double vmin = auto_limit, double vmax = auto_limit);
void save_heatmap(const std::string& path, const std::vector<float>& values,
                  std::size_t height, std::size_t width, Colormap map = Colormap::viridis,
                  double vmin = auto_limit, double vmax = auto_limit);
void save_heatmap(const std::string& path, const std::vector<double>& values,
                  std::size_t height, std::size_t width, const HeatmapStyle& style);
// A grey picture at one pixel per value, no decorations (values auto-scaled to 0..255).
void save_grey(const std::string& path, const std::vector<double>& values, std::size_t height,
               std::size_t width);
void save_grey(const std::string& path, const std::vector<float>& values, std::size_t height,
               std::size_t width);

// ---- panels side by side ("original | noisy | smoothed") -----------------------------
struct Panel {
  std::vector<double> values;
  std::size_t height = 0, width = 0;
  std::string title;
  Colormap colormap = Colormap::greys;
  double vmin = auto_limit, vmax = auto_limit;
};
struct PanelStyle {
  int panel_pixels = 240;  // each panel upscaled (integer factor) to about this size
  bool colorbars = true;   // a small horizontal colour bar under each panel
  std::string title;       // over the whole row
};
Image render_panels(const std::vector<Panel>& panels, const PanelStyle& style = {});
void save_panels(const std::string& path, const std::vector<Panel>& panels,
                 const PanelStyle& style = {});

// ---- 3-D volumes ---------------------------------------------------------------------
// A grid of d1 x d2 slices along axis 0 with one shared colour scale and a colour bar;
// at most max_slices evenly spaced slices are shown, each labelled with its index.
struct VolumeStyle {
  Colormap colormap = Colormap::viridis;
  double vmin = auto_limit, vmax = auto_limit;
  int slice_pixels = 120;
  int max_slices = 16;
  std::string title;
};
Image render_volume(const std::vector<double>& values, std::size_t d0, std::size_t d1,
                    std::size_t d2, const VolumeStyle& style = {});
void save_volume(const std::string& path, const std::vector<double>& values, std::size_t d0,
                 std::size_t d1, std::size_t d2, const VolumeStyle& style = {});
void save_volume(const std::string& path, const std::vector<float>& values, std::size_t d0,
                 std::size_t d1, std::size_t d2, const VolumeStyle& style = {});

// ---- line plots ----------------------------------------------------------------------
struct Series {
  std::vector<double> x, y;  // equal lengths; a NaN y breaks the line
  std::optional<Rgb> colour;  // default: palette(index of the series)
  std::string label;          // shown in the legend when non-empty
  double line_width = 2.0;    // pixels; 0 draws no line (markers only)
  double marker_radius = 0.0; // pixels; 0 draws no markers
};
struct LinePlot {
  std::vector<Series> series;
  std::string title, x_label, y_label;
  int width = 800, height = 500;
  double x_min = auto_limit, x_max = auto_limit;  // NaN: from the data
  double y_min = auto_limit, y_max = auto_limit;  // NaN: from the data with a 5% margin
};
Image render_line_plot(const LinePlot& plot);
void save_line_plot(const std::string& path, const LinePlot& plot);

// Round tick positions (1, 2, 5 x 10^k steps) inside [lo, hi], about `target` of them.
std::vector<double> nice_ticks(double lo, double hi, int target);
std::string format_tick(double value, double step);  // "0.25", "-3", "1e+06"

std::vector<double> to_double(const std::vector<float>& values);

}  // namespace xlax::plot
