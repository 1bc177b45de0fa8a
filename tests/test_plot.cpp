// examples/plot: PNG round trips, colour maps, ticks and the renderers' visible output.
// Only built into xlax_tests when the examples (and so xlax_plot) are part of the build.
#if __has_include("plot.hpp")
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include <unistd.h>

#include "plot.hpp"

namespace plot = xlax::plot;
namespace fs = std::filesystem;

namespace {

// A fresh folder per test case, removed afterwards.
struct TempFolder {
  fs::path path;
  TempFolder() {
    static int counter = 0;
    path = fs::temp_directory_path() /
           ("xlax_test_plot_" + std::to_string(getpid()) + "_" + std::to_string(counter++));
    fs::create_directories(path);
  }
  ~TempFolder() { fs::remove_all(path); }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

int count_pixels(const plot::Image& image, int x0, int y0, int x1, int y1,
                 bool (*keep)(plot::Rgb)) {
  int count = 0;
  for (int y = std::max(0, y0); y < std::min(image.height(), y1); ++y) {
    for (int x = std::max(0, x0); x < std::min(image.width(), x1); ++x) {
      count += keep(image.at(x, y)) ? 1 : 0;
    }
  }
  return count;
}
bool is_dark(plot::Rgb c) { return c.r < 120 && c.g < 120 && c.b < 120; }
bool is_reddish(plot::Rgb c) { return c.r > 180 && c.g < 90 && c.b < 90; }
int luminance(plot::Rgb c) { return 299 * c.r + 587 * c.g + 114 * c.b; }

}  // namespace

TEST_CASE("plot: viridis runs from dark purple to yellow with rising lightness", "[plot]") {
  CHECK(plot::viridis(0.0) == plot::Rgb{68, 1, 84});
  CHECK(plot::viridis(1.0) == plot::Rgb{253, 231, 37});
  CHECK(plot::viridis(0.5) == plot::Rgb{33, 145, 140});
  CHECK(plot::viridis(-3.0) == plot::viridis(0.0));  // clamped
  CHECK(plot::viridis(7.0) == plot::viridis(1.0));
  for (int i = 1; i <= 64; ++i) {
    INFO("t = " << i / 64.0);
    CHECK(luminance(plot::viridis(i / 64.0)) > luminance(plot::viridis((i - 1) / 64.0)));
  }
  CHECK(plot::greys(0.0) == plot::colours::black);
  CHECK(plot::greys(1.0) == plot::colours::white);
  CHECK(plot::greys(0.5) == plot::Rgb{128, 128, 128});
  CHECK(plot::map_colour(plot::Colormap::greys, 0.25) == plot::greys(0.25));
}

TEST_CASE("plot: a saved PNG reloads with its size and pixel colours", "[plot]") {
  TempFolder folder;
  const std::vector<double> values = {0, 1, 2, 3, 4, std::nan("")};
  const plot::Image cells = plot::render_cells(values, 2, 3, plot::Colormap::viridis,
                                               plot::auto_limit, plot::auto_limit, 4);
  const std::string path = folder.file("cells.png");
  plot::save_png(path, cells);
  const plot::Image loaded = plot::load_png(path);
  REQUIRE(loaded.width() == 12);
  REQUIRE(loaded.height() == 8);
  CHECK(loaded.at(0, 0) == plot::viridis(0.0));
  CHECK(loaded.at(3, 3) == plot::viridis(0.0));   // still the first 4x4 cell
  CHECK(loaded.at(4, 0) == plot::viridis(0.25));
  CHECK(loaded.at(11, 0) == plot::viridis(0.5));
  CHECK(loaded.at(5, 6) == plot::viridis(1.0));   // value 4: the range is 0..4
  CHECK(loaded.at(11, 7) == plot::colours::missing);
  CHECK(loaded.bytes() == cells.bytes());

  // Overwriting goes through a temp file in the same folder; none may be left behind.
  plot::save_png(path, cells);
  int files = 0;
  for (const auto& entry : fs::directory_iterator(folder.path)) {
    (void)entry;
    ++files;
  }
  CHECK(files == 1);
}

TEST_CASE("plot: save_grey writes one auto-scaled grey pixel per value", "[plot]") {
  TempFolder folder;
  const std::vector<float> values = {-1.f, 0.f, 1.f, 2.f, 3.f, 4.f};
  plot::save_grey(folder.file("grey.png"), values, 2, 3);
  const plot::Image image = plot::load_png(folder.file("grey.png"));
  REQUIRE(image.width() == 3);
  REQUIRE(image.height() == 2);
  CHECK(image.at(0, 0) == plot::colours::black);
  CHECK(image.at(2, 1) == plot::colours::white);
  CHECK(image.at(1, 1) == plot::greys(0.8));
}

TEST_CASE("plot: explicit vmin/vmax clamp the colours", "[plot]") {
  TempFolder folder;
  plot::HeatmapStyle style;
  style.vmin = 0;
  style.vmax = 1;
  style.pixels_per_cell = 10;
  style.colorbar = false;
  const std::vector<double> values = {-5, 0.5, 9, 1};
  plot::save_heatmap(folder.file("h.png"), values, 2, 2, style);
  const plot::Image image = plot::load_png(folder.file("h.png"));
  const int pad = (image.width() - 20) / 2;  // the cells are centred in equal margins
  REQUIRE(image.width() == 20 + 2 * pad);
  CHECK(image.at(pad + 5, pad + 5) == plot::viridis(0.0));
  CHECK(image.at(pad + 15, pad + 5) == plot::viridis(0.5));
  CHECK(image.at(pad + 5, pad + 15) == plot::viridis(1.0));
  CHECK(image.at(0, 0) == plot::colours::white);
}

TEST_CASE("plot: bad arguments and unwritable paths throw", "[plot]") {
  TempFolder folder;
  const std::vector<double> values(5, 1.0);
  CHECK_THROWS_AS(plot::save_heatmap(folder.file("x.png"), values, 2, 3), std::invalid_argument);
  CHECK_THROWS_AS(plot::save_png(folder.file("missing/dir/x.png"), plot::Image(4, 4)),
                  std::runtime_error);
  CHECK_THROWS_AS(plot::load_png(folder.file("nothing.png")), std::runtime_error);
  plot::LinePlot bad;
  plot::Series mismatched;
  mismatched.x = {1, 2, 3};
  mismatched.y = {1, 2};
  bad.series.push_back(mismatched);
  CHECK_THROWS_AS(plot::render_line_plot(bad), std::invalid_argument);
}

TEST_CASE("plot: ticks are round numbers and labels read cleanly", "[plot]") {
  const std::vector<double> ticks = plot::nice_ticks(0.0, 1.0, 5);
  REQUIRE(ticks.size() == 6);
  for (std::size_t i = 0; i < ticks.size(); ++i) CHECK(ticks[i] == Approx(0.2 * i));
  CHECK(plot::nice_ticks(-3.7, 12.2, 4) == std::vector<double>{0, 5, 10});
  CHECK(plot::nice_ticks(2.0, 2.0, 5) == std::vector<double>{2.0});
  CHECK(plot::format_tick(0.5, 0.5) == "0.5");
  CHECK(plot::format_tick(-1e-17, 0.5) == "0.0");
  CHECK(plot::format_tick(20, 10) == "20");
  CHECK(plot::format_tick(0.05, 0.05) == "0.05");
  CHECK(plot::format_tick(3e7, 1e7) == "3e+07");
}

TEST_CASE("plot: text is drawn with both the TrueType and the built-in font", "[plot]") {
  const bool had_truetype = plot::using_truetype_font();
  for (bool builtin : {false, true}) {
    if (builtin) {
      REQUIRE(plot::select_font(""));
      CHECK_FALSE(plot::using_truetype_font());
    } else if (!had_truetype) {
      continue;  // no fonts-dejavu-core on this machine
    }
    plot::Image image(200, 60);
    plot::draw_text(image, "Ag 0.5", 10, 40, 20, plot::colours::black);
    const int ink = count_pixels(image, 0, 0, 200, 60, is_dark);
    CHECK(ink > 40);
    CHECK(count_pixels(image, 0, 0, 10, 60, is_dark) == 0);  // left-aligned at x = 10
    CHECK(plot::text_width("0.5", 16) < plot::text_width("0.5 0.5", 16));
    CHECK(plot::line_height(16) > 10);
    // Unknown characters still render (a box in the built-in font).
    plot::Image other(100, 40);
    plot::draw_text(other, "\xCE\xA3", 10, 30, 20, plot::colours::black);  // Greek sigma
    CHECK(count_pixels(other, 0, 0, 100, 40, is_dark) > 0);
  }
  if (had_truetype) {
    CHECK(plot::select_font("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"));
    CHECK(plot::using_truetype_font());
  }
  CHECK_FALSE(plot::select_font("/nonexistent/font.ttf"));
}

TEST_CASE("plot: a line plot shows its series, title and legend", "[plot]") {
  TempFolder folder;
  plot::LinePlot lines;
  lines.width = 600;
  lines.height = 400;
  lines.title = "Title";
  lines.x_label = "x";
  lines.y_label = "y";
  plot::Series flat;
  flat.x = {0, 1, 2, 3};
  flat.y = {1, 1, 1, 1};
  flat.colour = plot::Rgb{220, 20, 20};
  flat.line_width = 3;
  flat.label = "flat";
  lines.series.push_back(flat);
  plot::save_line_plot(folder.file("lines.png"), lines);
  const plot::Image image = plot::load_png(folder.file("lines.png"));
  REQUIRE(image.width() == 600);
  REQUIRE(image.height() == 400);
  // A flat series sits in the vertical middle of the plot area: a full red row there.
  int best_row = 0, best_count = 0;
  for (int y = 0; y < image.height(); ++y) {
    const int n = count_pixels(image, 0, y, image.width(), y + 1, is_reddish);
    if (n > best_count) best_count = n, best_row = y;
  }
  CHECK(best_count > 400);
  CHECK(best_row > 150);
  CHECK(best_row < 250);
  CHECK(count_pixels(image, 200, 0, 400, 35, is_dark) > 20);  // the title
  CHECK(count_pixels(image, 0, 100, 40, 300, is_dark) > 10);  // y label and tick labels
}

TEST_CASE("plot: panels and volumes render their data", "[plot]") {
  TempFolder folder;
  std::vector<double> ramp(16 * 16);
  for (std::size_t i = 0; i < ramp.size(); ++i) ramp[i] = static_cast<double>(i);
  plot::PanelStyle style;
  style.title = "original | noisy | smoothed";
  plot::save_panels(folder.file("panels.png"),
                    {{ramp, 16, 16, "a"}, {ramp, 16, 16, "b", plot::Colormap::viridis}}, style);
  const plot::Image panels = plot::load_png(folder.file("panels.png"));
  CHECK(panels.width() > 2 * 16 * 15);
  auto has = [](const plot::Image& image, plot::Rgb colour) {
    for (int y = 0; y < image.height(); ++y) {
      for (int x = 0; x < image.width(); ++x) {
        if (image.at(x, y) == colour) return true;
      }
    }
    return false;
  };
  CHECK(has(panels, plot::viridis(1.0)));
  CHECK(has(panels, plot::colours::black));

  std::vector<float> volume(5 * 4 * 3, 0.f);
  volume[(4 * 4 + 3) * 3 + 2] = 2.f;  // the last voxel is the maximum
  plot::save_volume(folder.file("volume.png"), volume, 5, 4, 3);
  const plot::Image image = plot::load_png(folder.file("volume.png"));
  CHECK(has(image, plot::viridis(1.0)));
  CHECK(has(image, plot::viridis(0.0)));
  CHECK_THROWS_AS(plot::save_volume(folder.file("v.png"), volume, 5, 4, 4),
                  std::invalid_argument);
}

#endif  // __has_include("plot.hpp")
