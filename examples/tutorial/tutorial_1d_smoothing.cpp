// Tutorial section 1, "Basic one-dimensional convolution": smoothing a noisy sine with a
// moving average, numpy::convolve(y, ones(10) / 10, "same").
// Usage: tutorial_1d_smoothing [output folder]
#include "plot.hpp"
#include "tutorial_cases.hpp"
#include "tutorial_output.hpp"

int main(int argc, char** argv) {
  using namespace xlax;
  return tutorial::run_program("tutorial_1d_smoothing", [&] {
    const std::string folder = tutorial::prepare_output_folder(argc, argv);
    const tutorial::Smoothing1D s = tutorial::smoothing_1d();
    eval({s.y, s.y_smooth});

    plot::LinePlot picture;
    picture.title = "1-D smoothing: numpy::convolve(y, ones(10)/10, \"same\")";
    picture.x_label = "x";
    picture.y_label = "y";
    const std::vector<double> x = to_vector<double>(s.x);
    plot::Series noisy{x, to_vector<double>(s.y), plot::Rgb{211, 211, 211},  // 'lightgray'
                       "y = sin(x) + 0.2 * normal(key(1701))", 1.5};
    plot::Series smooth{x, to_vector<double>(s.y_smooth), plot::colours::black,
                        "smoothed (window of 10)", 2.0};
    picture.series = {noisy, smooth};
    plot::save_line_plot(tutorial::picture_path(folder, "1d_smoothing.png"), picture);
  });
}
