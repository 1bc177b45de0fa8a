// examples/tutorial: the "Generalized convolutions in JAX" tutorial programs. Their shared
// computations are compared with the golden tutorial cases 000-009 (values, and gradients
// where the case has them), the printed lines with the notebook's, and the programs are run.
// Only built into xlax_tests when the examples (and so xlax_tutorial_cases) are in the build.
#if __has_include("tutorial_cases.hpp")
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <xlax/xlax.hpp>

#include "plot.hpp"
#include "tutorial_cases.hpp"

namespace fs = std::filesystem;
namespace tut = xlax::tutorial;
using xlax::Tensor;

namespace {

std::string golden_dir(const std::string& case_name) {
  return std::string(XLAX_TEST_DATA) + "/golden/" + case_name + "/";
}

Tensor golden(const std::string& case_name, const std::string& array) {
  return xlax::load_npy(golden_dir(case_name) + array + ".npy");
}

// max |actual - expected| / max |expected|, after checking the shapes agree.
double relative_error(const Tensor& actual, const Tensor& expected) {
  REQUIRE(xlax::to_string(actual.shape()) == xlax::to_string(expected.shape()));
  const std::vector<double> a = xlax::to_vector<double>(actual);
  const std::vector<double> e = xlax::to_vector<double>(expected);
  double worst = 0, scale = 0;
  for (size_t i = 0; i < e.size(); ++i) {
    worst = std::max(worst, std::abs(a[i] - e[i]));
    scale = std::max(scale, std::abs(e[i]));
  }
  return worst / std::max(scale, 1e-300);
}

// lhs, rhs and out of a cell against its golden case, then (if stored) the VJP of the
// cell's own op with the golden cotangent.
void check_against_golden(const std::string& case_name, const Tensor& lhs, const Tensor& rhs,
                          const tut::ConvOp& op, const Tensor& out, double tolerance) {
  INFO("golden case " << case_name);
  CHECK(relative_error(lhs, golden(case_name, "lhs")) == 0.0);  // inputs are built exactly
  CHECK(relative_error(rhs, golden(case_name, "rhs")) == 0.0);
  CHECK(relative_error(out, golden(case_name, "out")) <= tolerance);
  if (!fs::exists(golden_dir(case_name) + "cot.npy")) return;
  const Tensor cot = xlax::astype(golden(case_name, "cot"), out.dtype());
  const auto [outs, grads] = xlax::vjp(
      [&](const std::vector<Tensor>& a) { return std::vector<Tensor>{op(a[0], a[1])}; },
      {lhs, rhs}, {cot});
  CHECK(relative_error(grads[0], golden(case_name, "grad_lhs")) <= tolerance);
  CHECK(relative_error(grads[1], golden(case_name, "grad_rhs")) <= tolerance);
}

const std::vector<std::string> notebook_general_conv_output = {
    "Edge Conv kernel:",
    "Original Image:",
    "out shape:  (1, 3, 200, 198)",
    "First output channel:",
    "out shape:  (1, 3, 202, 200)",
    "First output channel:",
    "ConvDimensionNumbers(lhs_spec=(0, 3, 1, 2), rhs_spec=(3, 2, 0, 1), out_spec=(0, 3, 1, 2))",
    "out shape:  (1, 200, 198, 3)",
    "First output channel:",
    "out shape:  (1, 198, 196, 3) DIFFERENT from above!",
    "First output channel:",
    "out shape:  (1, 100, 99, 3)  <-- half the size of above",
    "First output channel:",
    "out shape:  (1, 176, 174, 3)",
    "First output channel:",
    "out shape:  (1, 397, 393, 3) <-- larger than original!",
    "First output channel:",
    "out shape:  (1, 400, 396, 3) <-- transposed_conv",
    "First output channel:"};

const std::vector<std::string> notebook_1d_output = {
    "in shapes: (1, 200, 2) (3, 2, 2)",
    "ConvDimensionNumbers(lhs_spec=(0, 2, 1), rhs_spec=(2, 1, 0), out_spec=(0, 2, 1))",
    "out shape:  (1, 200, 2)"};

const std::vector<std::string> notebook_3d_output = {
    "in shapes: (1, 30, 30, 30, 1) (3, 3, 3, 1, 1)",
    "ConvDimensionNumbers(lhs_spec=(0, 4, 1, 2, 3), rhs_spec=(4, 3, 0, 1, 2), "
    "out_spec=(0, 4, 1, 2, 3))",
    "out shape:  (1, 30, 30, 30, 1)"};

// Runs a tutorial program into a fresh folder; returns its stdout lines.
struct ProgramRun {
  fs::path folder;
  std::vector<std::string> lines;
  int status = -1;
};
ProgramRun run_program(const std::string& program) {
  static int counter = 0;
  ProgramRun run;
  run.folder = fs::temp_directory_path() / ("xlax_test_tutorial_" + std::to_string(getpid()) +
                                            "_" + std::to_string(counter++));
  fs::remove_all(run.folder);
  const fs::path stdout_file = run.folder.string() + ".out";
  const std::string command = "\"" + std::string(XLAX_TUTORIAL_BIN_DIR) + "/" + program +
                              "\" \"" + run.folder.string() + "\" > \"" +
                              stdout_file.string() + "\"";
  run.status = std::system(command.c_str());
  std::ifstream in(stdout_file);
  for (std::string line; std::getline(in, line);) run.lines.push_back(line);
  fs::remove(stdout_file);
  return run;
}

// The printed lines without the "output folder:" / "wrote ..." bookkeeping.
std::vector<std::string> notebook_lines(const std::vector<std::string>& lines) {
  std::vector<std::string> kept;
  for (const std::string& line : lines) {
    if (line.rfind("output folder: ", 0) == 0 || line.rfind("wrote ", 0) == 0) continue;
    kept.push_back(line);
  }
  return kept;
}

void check_pictures(const ProgramRun& run, const std::vector<std::string>& files) {
  for (const std::string& file : files) {
    INFO(file);
    const fs::path path = run.folder / file;
    REQUIRE(fs::exists(path));
    const xlax::plot::Image image = xlax::plot::load_png(path.string());
    CHECK(image.width() > 100);
    CHECK(image.height() > 100);
    CHECK(fs::file_size(path) < 200 * 1024);  // small enough for the committed gallery
  }
  fs::remove_all(run.folder);
}

}  // namespace

TEST_CASE("tutorial general convolution cells equal golden cases 000-007", "[tutorial]") {
  const std::vector<tut::ConvCell> cells = tut::general_conv_cells();
  REQUIRE(cells.size() == 8);
  for (size_t i = 0; i < cells.size(); ++i) {
    const std::string case_name = "00" + std::to_string(i) + "_tutorial_" + cells[i].name;
    check_against_golden(case_name, cells[i].lhs, cells[i].rhs, cells[i].op, cells[i].out,
                         1e-5);
  }
}

TEST_CASE("tutorial 1-D and 3-D cells equal golden cases 008 and 009", "[tutorial]") {
  const tut::NdCase one = tut::conv_1d_nwc();
  check_against_golden("008_tutorial_1d_nwc_same", one.lhs, one.rhs, one.op, one.out, 1e-5);
  // Computed in float64 on the float32-rounded field, exactly as the golden case was.
  const tut::NdCase three = tut::conv_3d_nhwdc();
  CHECK(three.out.dtype() == xlax::DType::float64);
  check_against_golden("009_tutorial_3d_nhwdc_same", three.lhs, three.rhs, three.op, three.out,
                       1e-12);
}

TEST_CASE("tutorial printed lines are the notebook's", "[tutorial]") {
  CHECK(tut::general_conv_transcript(tut::general_conv_cells()) == notebook_general_conv_output);
  CHECK(tut::conv_1d_nwc().lines == notebook_1d_output);
  CHECK(tut::conv_3d_nhwdc().lines == notebook_3d_output);
  CHECK(tut::out_shape_line({1, 100, 99, 3}, " <-- half") == "out shape:  (1, 100, 99, 3)  <-- half");
}

TEST_CASE("tutorial 1-D smoothing is a centred moving average of the noisy sine", "[tutorial]") {
  const tut::Smoothing1D s = tut::smoothing_1d();
  REQUIRE(s.y_smooth.shape() == xlax::Shape{500});
  const std::vector<double> x = xlax::to_vector<double>(s.x);
  const std::vector<double> y = xlax::to_vector<double>(s.y);
  const std::vector<double> smooth = xlax::to_vector<double>(s.y_smooth);
  CHECK(x.front() == 0.0);
  CHECK(x.back() == Approx(10.0));
  // numpy 'same' with a window of 10 keeps full[4:504]: out[i] = mean(y[i-5 .. i+4]).
  double worst = 0, noise_power = 0;
  for (int i = 0; i < 500; ++i) {
    double sum = 0;
    for (int j = i - 5; j <= i + 4; ++j) sum += (j >= 0 && j < 500) ? y[size_t(j)] : 0.0;
    worst = std::max(worst, std::abs(smooth[size_t(i)] - sum / 10));
    const double noise = y[size_t(i)] - std::sin(x[size_t(i)]);
    noise_power += noise * noise;
  }
  CHECK(worst < 1e-5);
  const double noise_std = std::sqrt(noise_power / 500);
  CHECK(noise_std > 0.17);  // 0.2 * normal: 500 draws put the sample std within ~10%
  CHECK(noise_std < 0.23);
}

TEST_CASE("tutorial Gaussian denoising smooths with the normalised 7x7 kernel", "[tutorial]") {
  const std::vector<double> w = xlax::to_vector<double>(tut::gaussian_window_7x7());
  REQUIRE(w.size() == 49);
  double total = 0;
  for (double v : w) total += v;
  CHECK(total == Approx(1.0).epsilon(1e-6));
  CHECK(w[24] == Approx(std::pow(1 / std::sqrt(2 * M_PI), 2) / 0.999458791826337).epsilon(1e-6));
  CHECK(w[0] == Approx(w[48]));
  CHECK(w[3] == Approx(w[21]));  // symmetric: the outer product of one pdf vector

  const Tensor image = tut::generated_test_image();
  const tut::Denoise2D d = tut::gaussian_denoise(image);
  const int64_t height = image.shape()[0], width = image.shape()[1];
  REQUIRE(d.smoothed.shape() == image.shape());
  const std::vector<double> clean = xlax::to_vector<double>(d.image);
  const std::vector<double> noisy = xlax::to_vector<double>(d.noisy);
  const std::vector<double> smooth = xlax::to_vector<double>(d.smoothed);
  CHECK(*std::min_element(clean.begin(), clean.end()) >= 0.0);
  CHECK(*std::max_element(clean.begin(), clean.end()) <= 255.0);
  // 'same' convolution by hand at a few pixels (the kernel is symmetric, so no flip shows).
  for (const auto& [r, c] : std::vector<std::pair<int64_t, int64_t>>{{0, 0}, {40, 77}, {height - 1, width - 2}}) {
    double expected = 0;
    for (int64_t i = 0; i < 7; ++i)
      for (int64_t j = 0; j < 7; ++j) {
        const int64_t rr = r + 3 - i, cc = c + 3 - j;
        if (rr >= 0 && rr < height && cc >= 0 && cc < width)
          expected += noisy[size_t(rr * width + cc)] * w[size_t(i * 7 + j)];
      }
    CHECK(smooth[size_t(r * width + c)] == Approx(expected).epsilon(1e-5).margin(1e-3));
  }
  // Noise of std 50 in; what the smoothing leaves of it (the smoothed picture minus the
  // smoothed clean picture) has std 50 * sqrt(sum w^2) = 50 * 0.28 for this kernel.
  const std::vector<double> clean_smooth = xlax::to_vector<double>(
      xlax::scipy::signal::convolve(d.image, d.window, "same"));
  double noise_in = 0, noise_out = 0, sum_w2 = 0;
  for (double v : w) sum_w2 += v * v;
  int64_t count = 0;
  for (int64_t r = 3; r < height - 3; ++r)  // away from the zero-padded border
    for (int64_t c = 3; c < width - 3; ++c) {
      const size_t k = size_t(r * width + c);
      noise_in += std::pow(noisy[k] - clean[k], 2);
      noise_out += std::pow(smooth[k] - clean_smooth[k], 2);
      ++count;
    }
  CHECK(std::sqrt(noise_in / count) == Approx(50).epsilon(0.05));
  CHECK(std::sqrt(noise_out / count) == Approx(50 * std::sqrt(sum_w2)).epsilon(0.1));
}

TEST_CASE("tutorial programs print the notebook's lines and write their pictures", "[tutorial]") {
  {
    const ProgramRun run = run_program("tutorial_general_conv");
    REQUIRE(run.status == 0);
    CHECK(notebook_lines(run.lines) == notebook_general_conv_output);
    std::vector<std::string> files = {"conv2d_kernel.png", "conv2d_input.png"};
    for (const tut::ConvCell& cell : tut::general_conv_cells())
      files.push_back("conv2d_" + cell.name + ".png");
    check_pictures(run, files);
  }
  {
    const ProgramRun run = run_program("tutorial_1d_3d");
    REQUIRE(run.status == 0);
    std::vector<std::string> expected = notebook_1d_output;
    expected.insert(expected.end(), notebook_3d_output.begin(), notebook_3d_output.end());
    CHECK(notebook_lines(run.lines) == expected);
    check_pictures(run, {"conv1d_input.png", "conv1d_output.png", "conv3d_input.png",
                         "conv3d_output.png", "conv3d_scatter.png"});
  }
  {
    const ProgramRun run = run_program("tutorial_1d_smoothing");
    REQUIRE(run.status == 0);
    REQUIRE(!run.lines.empty());
    CHECK(run.lines.front() == "output folder: " + run.folder.string());
    check_pictures(run, {"1d_smoothing.png"});
  }
  {
    const ProgramRun run = run_program("tutorial_nd_gaussian");
    REQUIRE(run.status == 0);
    check_pictures(run, {"nd_gaussian_denoise.png"});
  }
}

#endif  // __has_include("tutorial_cases.hpp")
