// Tutorial section 4, "1D Convolutions" and "3D Convolutions": lax::conv_general_dilated
// with NWC/WIO and NHWDC/HWDIO dimension numbers. Prints what the notebook prints, plots
// the 1-D input and output channels, and shows the 3-D input and output as slice grids and
// as the notebook's 3-D scatter plots (opacity rising with the value).
// Usage: tutorial_1d_3d [output folder]
#include <algorithm>
#include <cmath>
#include <numeric>

#include "plot.hpp"
#include "tutorial_cases.hpp"
#include "tutorial_output.hpp"

namespace {

using namespace xlax;

// One line per channel of a (1, W, C) array, as plt.plot(data[0]) draws the columns.
void save_channels(const std::string& path, const Tensor& t, const std::string& title) {
  const int64_t width = t.shape()[1], channels = t.shape()[2];
  const std::vector<double> values = to_vector<double>(t);
  plot::LinePlot picture;
  picture.title = title;
  picture.x_label = "W (sample index)";
  picture.y_label = "value";
  picture.width = 900;
  picture.height = 450;
  for (int64_t c = 0; c < channels; ++c) {
    plot::Series s;
    for (int64_t w = 0; w < width; ++w) {
      s.x.push_back(double(w));
      s.y.push_back(values[size_t(w * channels + c)]);
    }
    s.label = "channel " + std::to_string(c);
    picture.series.push_back(s);
  }
  plot::save_line_plot(path, picture);
}

void save_field(const std::string& path, const Tensor& t, const std::string& title) {
  const Shape& s = t.shape();  // (1, H, W, D, 1)
  plot::VolumeStyle style;
  style.title = title;
  style.max_slices = 10;
  style.slice_pixels = 90;
  plot::save_volume(path, to_vector<double>(t), size_t(s[1]), size_t(s[2]), size_t(s[3]), style);
}

// One field of an (n, n, n) grid on [0, 1]^3 drawn as a 3-D scatter seen from matplotlib's
// default view (elevation 30, azimuth -60 degrees): each point a small disc coloured with
// viridis, with opacity t^3 of its normalised value t as the notebook's colour map has, so
// only the high values stand out. Points are painted far to near.
plot::Image render_scatter(const std::vector<double>& values, int n, const std::string& title) {
  const double pi = 3.14159265358979323846;
  const double elevation = 30 * pi / 180, azimuth = -60 * pi / 180;
  const int size = 220, pad = 12, title_px = 16, radius = 2;
  const double scale = 110;  // pixels per unit of the [0, 1] cube
  const plot::ValueRange range = plot::finite_range(values);
  struct Point { double depth, u, v, t; };
  std::vector<Point> points;
  for (int a = 0; a < n; ++a)
    for (int b = 0; b < n; ++b)
      for (int c = 0; c < n; ++c) {
        const double x = a / (n - 1.0) - 0.5, y = b / (n - 1.0) - 0.5, z = c / (n - 1.0) - 0.5;
        const double along = std::cos(azimuth) * x + std::sin(azimuth) * y;
        const double value = values[size_t((a * n + b) * n + c)];
        points.push_back({std::cos(elevation) * along + std::sin(elevation) * z,
                          -std::sin(azimuth) * x + std::cos(azimuth) * y,
                          -std::sin(elevation) * along + std::cos(elevation) * z,
                          (value - range.lo) / std::max(range.hi - range.lo, 1e-300)});
      }
  std::sort(points.begin(), points.end(),
            [](const Point& p, const Point& q) { return p.depth < q.depth; });
  plot::Image image(size + 2 * pad, size + 2 * pad + title_px + 8);
  plot::draw_text(image, title, image.width() / 2, pad, title_px, plot::colours::text,
                  plot::HAlign::centre, plot::VAlign::top);
  const int cx = image.width() / 2, cy = pad + title_px + 8 + size / 2;
  for (const Point& p : points) {
    const double alpha = p.t * p.t * p.t;
    if (alpha < 0.01) continue;
    const int px = cx + int(std::lround(p.u * scale)), py = cy - int(std::lround(p.v * scale));
    for (int dy = -radius; dy <= radius; ++dy)
      for (int dx = -radius; dx <= radius; ++dx)
        if (dx * dx + dy * dy <= radius * radius + 1)
          image.blend(px + dx, py + dy, plot::viridis(p.t), alpha);
  }
  return image;
}

void save_scatters(const std::string& path, const Tensor& input, const Tensor& output) {
  const int n = int(input.shape()[1]);
  const plot::Image left = render_scatter(to_vector<double>(input), n, "input");
  const plot::Image right = render_scatter(to_vector<double>(output), n, "3D conv output");
  plot::Image both(left.width() + right.width(), std::max(left.height(), right.height()));
  both.paste(left, 0, 0);
  both.paste(right, left.width(), 0);
  plot::save_png(path, both);
}

void print_lines(const std::vector<std::string>& lines) {
  for (const std::string& line : lines) std::cout << line << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  return tutorial::run_program("tutorial_1d_3d", [&] {
    const std::string folder = tutorial::prepare_output_folder(argc, argv);

    const tutorial::NdCase one = tutorial::conv_1d_nwc();
    print_lines(one.lines);
    save_channels(tutorial::picture_path(folder, "conv1d_input.png"), one.lhs,
                  "1-D input data[0], NWC " + to_string(one.lhs.shape()));
    save_channels(tutorial::picture_path(folder, "conv1d_output.png"), one.out,
                  "1-D output out[0], WIO kernel " + to_string(one.rhs.shape()) + ", SAME");

    const tutorial::NdCase three = tutorial::conv_3d_nhwdc();
    print_lines(three.lines);
    save_field(tutorial::picture_path(folder, "conv3d_input.png"), three.lhs,
               "3-D input sin(2 pi x) cos(2 pi y) cos(2 pi z), NHWDC " +
                   to_string(three.lhs.shape()));
    save_field(tutorial::picture_path(folder, "conv3d_output.png"), three.out,
               "3-D conv output, HWDIO kernel " + to_string(three.rhs.shape()) + ", SAME");
    save_scatters(tutorial::picture_path(folder, "conv3d_scatter.png"), three.lhs, three.out);
  });
}
