// Tutorial section 3, "General convolutions": the diagonal edge kernel applied to the
// three-squares image through lax::conv, conv_with_general_padding and conv_general_dilated
// (SAME, VALID, stride 2, rhs dilation 12, lhs dilation 2, transposed convolution).
// Prints what the notebook prints and saves every cell's first output channel (viridis).
// Usage: tutorial_general_conv [output folder]
#include <algorithm>

#include "plot.hpp"
#include "tutorial_cases.hpp"
#include "tutorial_output.hpp"

namespace {

using namespace xlax;

// Same scale for every picture, so the lhs-dilated outputs really show up twice as large.
constexpr int pixels_per_cell = 2;

// img[0] as an RGB picture (channel k -> colour k), as plt.imshow shows a 3-channel image.
void save_input_image(const std::string& path, const Tensor& img) {
  const int64_t height = img.shape()[1], width = img.shape()[2];
  const std::vector<float> values = to_vector<float>(img);
  auto byte = [](float v) { return std::uint8_t(std::clamp(v, 0.0f, 1.0f) * 255.0f + 0.5f); };
  plot::Image cells(int(width * pixels_per_cell), int(height * pixels_per_cell));
  for (int64_t r = 0; r < height; ++r)
    for (int64_t c = 0; c < width; ++c) {
      const float* p = &values[size_t((r * width + c) * 3)];
      cells.fill_rect(int(c * pixels_per_cell), int(r * pixels_per_cell), pixels_per_cell,
                      pixels_per_cell, plot::Rgb{byte(p[0]), byte(p[1]), byte(p[2])});
    }
  const int pad = 14, title_px = 17;
  const std::string title = "Original Image, img[0] of " + to_string(img.shape());
  plot::Image picture(std::max(cells.width(), plot::text_width(title, title_px)) + 2 * pad,
                      cells.height() + title_px + 10 + 2 * pad);
  plot::draw_text(picture, title, picture.width() / 2, pad, title_px, plot::colours::text,
                  plot::HAlign::centre, plot::VAlign::top);
  picture.paste(cells, pad, pad + title_px + 10);
  picture.draw_rect_outline(pad - 1, pad + title_px + 9, cells.width() + 2, cells.height() + 2,
                            plot::colours::grid);
  plot::save_png(path, picture);
}

void print_lines(const std::vector<std::string>& lines) {
  for (const std::string& line : lines) std::cout << line << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  return tutorial::run_program("tutorial_general_conv", [&] {
    const std::string folder = tutorial::prepare_output_folder(argc, argv);
    const std::vector<std::string> intro = tutorial::general_conv_intro_lines();

    std::cout << intro[0] << "\n";  // "Edge Conv kernel:"
    const Tensor kernel = tutorial::edge_kernel_hwio();
    std::vector<double> k00;  // kernel[:, :, 0, 0]
    const std::vector<double> k = to_vector<double>(kernel);
    for (size_t i = 0; i < 9; ++i) k00.push_back(k[i * 9]);
    plot::HeatmapStyle kernel_style;
    kernel_style.pixels_per_cell = 80;
    kernel_style.title = "Edge Conv kernel[:, :, 0, 0]";
    plot::save_heatmap(tutorial::picture_path(folder, "conv2d_kernel.png"), k00, 3, 3,
                       kernel_style);

    std::cout << intro[1] << "\n";  // "Original Image:"
    save_input_image(tutorial::picture_path(folder, "conv2d_input.png"),
                     tutorial::three_squares_nhwc());

    for (const tutorial::ConvCell& cell : tutorial::general_conv_cells()) {
      print_lines(cell.lines);
      size_t height = 0, width = 0;
      const std::vector<double> plane = tutorial::first_output_channel(cell, height, width);
      plot::HeatmapStyle style;
      style.pixels_per_cell = pixels_per_cell;
      style.title = cell.heading + ": out " + to_string(cell.out.shape());
      plot::save_heatmap(tutorial::picture_path(folder, "conv2d_" + cell.name + ".png"), plane,
                         height, width, style);
    }
  });
}
