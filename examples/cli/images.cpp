#include "images.hpp"

#include <filesystem>

#include "plot.hpp"

namespace xlax::cli {

namespace {
// count images of h x w laid out in 2 rows
std::vector<double> mosaic(const std::vector<float>& v, int count, size_t h, size_t w, size_t& H, size_t& W) {
  const int cols = (count + 1) / 2;
  H = 2 * h;
  W = cols * w;
  std::vector<double> out(H * W, 0.0);
  for (int k = 0; k < count; ++k)
    for (size_t r = 0; r < h; ++r)
      for (size_t c = 0; c < w; ++c) out[((k / cols) * h + r) * W + (k % cols) * w + c] = v[(k * h + r) * w + c];
  return out;
}
}  // namespace

std::vector<std::string> save_reconstructions(nn::Trainer& trainer, const std::vector<Tensor>& params,
                                              const std::string& dir, int count) {
  const nn::Dataset& test = trainer.test_data();
  if (test.example_shape.size() != 3 || test.example_shape[2] != 1) return {};  // grey images only
  count = static_cast<int>(std::min<int64_t>(count, test.size()));
  std::vector<int64_t> order(count);
  for (int i = 0; i < count; ++i) order[i] = i;
  auto [clean, labels] = nn::make_batch(test, order, 0, count);
  const double noise = trainer.config().data.noise_std;
  Tensor noisy = noise > 0 ? clean + random::normal(random::key(12345), clean.shape()) * noise : clean;
  Tensor out = trainer.predict(params, noisy)[0];
  std::filesystem::create_directories(dir);
  const size_t h = test.example_shape[0], w = test.example_shape[1];
  std::vector<plot::Panel> panels;
  std::vector<std::string> written;
  const std::pair<const char*, Tensor> parts[] = {{"noisy", noisy}, {"denoised", out}, {"clean", clean}};
  for (auto& [name, t] : parts) {
    size_t H, W;
    auto m = mosaic(to_vector<float>(t), count, h, w, H, W);
    const std::string path = dir + "/" + name + ".png";
    plot::HeatmapStyle style;
    style.colormap = plot::Colormap::greys;
    style.vmin = 0;
    style.vmax = 1;
    style.colorbar = false;
    style.pixels_per_cell = 4;
    plot::save_png(path, plot::render_heatmap(m, H, W, style));
    written.push_back(path);
    plot::Panel p;
    p.values = m;
    p.height = H;
    p.width = W;
    p.title = name;
    p.vmin = 0;
    p.vmax = 1;
    panels.push_back(p);
  }
  plot::PanelStyle style;
  style.panel_pixels = 360;
  style.colorbars = false;
  style.title = "noisy | denoised | clean (first test images)";
  plot::save_panels(dir + "/denoise_panels.png", panels, style);
  written.push_back(dir + "/denoise_panels.png");
  return written;
}

}  // namespace xlax::cli
