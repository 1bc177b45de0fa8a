// plot_demo [folder]: writes one picture of each kind so they can be looked at.
#include <cmath>
#include <filesystem>
#include <iostream>

#include "plot.hpp"

namespace plot = xlax::plot;

int main(int argc, char** argv) {
  const std::filesystem::path folder = argc > 1 ? argv[1] : ".";
  std::filesystem::create_directories(folder);

  // Line plot: a noisy signal and two smoothings of it.
  const int n = 200;
  plot::Series raw{{}, {}, std::nullopt, "noisy sin(x)", 1.0};
  plot::Series smooth{{}, {}, std::nullopt, "smoothed (width 9)", 2.5};
  plot::Series truth{{}, {}, plot::Rgb{40, 40, 40}, "sin(x)", 1.5, 0.0};
  unsigned state = 12345;
  auto noise = [&] {  // small LCG: the demo must not depend on <random> distributions
    state = state * 1103515245u + 12345u;
    return ((state >> 16) & 0x7fff) / 32768.0 - 0.5;
  };
  for (int i = 0; i < n; ++i) {
    const double x = i * 0.05;
    raw.x.push_back(x);
    raw.y.push_back(std::sin(x) + 0.6 * noise());
    truth.x.push_back(x);
    truth.y.push_back(std::sin(x));
  }
  for (int i = 0; i < n; ++i) {
    double sum = 0;
    int count = 0;
    for (int k = -4; k <= 4; ++k) {
      if (i + k >= 0 && i + k < n) sum += raw.y[i + k], ++count;
    }
    smooth.x.push_back(raw.x[i]);
    smooth.y.push_back(sum / count);
  }
  plot::Series samples{{}, {}, std::nullopt, "every 10th sample", 0.0, 3.5};
  for (int i = 0; i < n; i += 10) samples.x.push_back(raw.x[i]), samples.y.push_back(raw.y[i]);
  plot::LinePlot lines;
  lines.series = {raw, smooth, truth, samples};
  lines.title = "1-D convolution: smoothing a noisy signal";
  lines.x_label = "x";
  lines.y_label = "amplitude";
  plot::save_line_plot((folder / "demo_lines.png").string(), lines);

  // Heatmap: a Gaussian kernel (small, so its values are written in the cells).
  std::vector<double> kernel;
  for (int r = -2; r <= 2; ++r) {
    for (int c = -2; c <= 2; ++c) kernel.push_back(std::exp(-(r * r + c * c) / 2.0) / 6.28);
  }
  plot::HeatmapStyle kernel_style;
  kernel_style.title = "5 x 5 Gaussian kernel";
  plot::save_heatmap((folder / "demo_kernel.png").string(), kernel, 5, 5, kernel_style);

  // Heatmap of a larger field, and panels side by side.
  const int h = 64, w = 96;
  std::vector<double> field(h * w), noisy(h * w), blurred(h * w);
  for (int r = 0; r < h; ++r) {
    for (int c = 0; c < w; ++c) {
      field[r * w + c] = std::sin(c * 0.12) * std::cos(r * 0.09) + ((r / 16 + c / 16) % 2) * 0.5;
      noisy[r * w + c] = field[r * w + c] + 0.8 * noise();
    }
  }
  for (int r = 0; r < h; ++r) {
    for (int c = 0; c < w; ++c) {
      double sum = 0;
      int count = 0;
      for (int dr = -2; dr <= 2; ++dr) {
        for (int dc = -2; dc <= 2; ++dc) {
          const int rr = r + dr, cc = c + dc;
          if (rr >= 0 && rr < h && cc >= 0 && cc < w) sum += noisy[rr * w + cc], ++count;
        }
      }
      blurred[r * w + c] = sum / count;
    }
  }
  plot::save_heatmap((folder / "demo_heatmap.png").string(), field, h, w);
  plot::save_grey((folder / "demo_grey.png").string(), noisy, h, w);
  plot::PanelStyle panel_style;
  panel_style.title = "2-D convolution with a 5 x 5 box filter";
  plot::save_panels((folder / "demo_panels.png").string(),
                    {{field, h, w, "original"}, {noisy, h, w, "noisy"},
                     {blurred, h, w, "smoothed"}, {kernel, 5, 5, "kernel", plot::Colormap::viridis}},
                    panel_style);

  // Volume: a blob drifting through a 12 x 24 x 24 cube.
  const int d0 = 12, d1 = 24, d2 = 24;
  std::vector<float> volume(d0 * d1 * d2);
  for (int i = 0; i < d0; ++i) {
    for (int j = 0; j < d1; ++j) {
      for (int k = 0; k < d2; ++k) {
        const double dj = j - 6 - i, dk = k - 12, di = i - 5.5;
        volume[(i * d1 + j) * d2 + k] =
            static_cast<float>(std::exp(-(dj * dj + dk * dk) / 18.0 - di * di / 20.0));
      }
    }
  }
  plot::VolumeStyle volume_style;
  volume_style.title = "3-D input volume";
  plot::save_volume((folder / "demo_volume.png").string(), volume, d0, d1, d2, volume_style);

  std::cout << "wrote demo_{lines,kernel,heatmap,grey,panels,volume}.png to " << folder.string()
            << (plot::using_truetype_font() ? " (DejaVuSans)" : " (built-in font)") << "\n";
  return 0;
}
