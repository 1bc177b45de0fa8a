// Tutorial section 2, "Basic N-dimensional convolution": denoising a greyscale picture with
// a 7x7 Gaussian, scipy::signal::convolve(noisy, window, "same").
// Usage: tutorial_nd_gaussian [output folder] [picture.png]
// Without a picture a built-in test image is used (no download).
#include "plot.hpp"
#include "tutorial_cases.hpp"
#include "tutorial_output.hpp"

int main(int argc, char** argv) {
  using namespace xlax;
  return tutorial::run_program("tutorial_nd_gaussian", [&] {
    const std::string folder = tutorial::prepare_output_folder(argc, argv);
    const Tensor image = argc > 2 ? tutorial::load_greyscale_png(argv[2])
                                  : tutorial::generated_test_image();
    std::cout << "image: " << (argc > 2 ? argv[2] : "built-in test image") << ", shape "
              << to_string(image.shape()) << "\n";
    const tutorial::Denoise2D d = tutorial::gaussian_denoise(image);
    eval({d.noisy, d.smoothed});

    const size_t height = size_t(image.shape()[0]), width = size_t(image.shape()[1]);
    // Each panel scaled to its own range, as imshow does ('binary_r' = greys).
    auto panel = [&](const Tensor& t, const char* title) {
      plot::Panel p;
      p.values = to_vector<double>(t);
      p.height = height;
      p.width = width;
      p.title = title;
      p.colormap = plot::Colormap::greys;
      return p;
    };
    plot::PanelStyle style;
    style.title = "Gaussian denoising: scipy::signal::convolve(noisy, 7x7 Gaussian, \"same\")";
    plot::save_panels(tutorial::picture_path(folder, "nd_gaussian_denoise.png"),
                      {panel(d.image, "original"), panel(d.noisy, "noisy (std 50)"),
                       panel(d.smoothed, "smoothed")},
                      style);
  });
}
