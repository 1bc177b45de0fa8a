// The tutorial's cells (see tutorial_cases.hpp). Inputs are built host-side the way the
// notebook builds them, then every computation goes through xlax's public API.
#include "tutorial_cases.hpp"

#include <cmath>
#include <sstream>
#include <stdexcept>

#include "plot.hpp"

namespace xlax::tutorial {
namespace {

constexpr double pi = 3.14159265358979323846;

Tensor from_floats(const std::vector<float>& values, const Shape& shape) {
  return asarray<float>(values.data(), shape);
}

std::string print_text(const lax::ConvDimensionNumbers& dn) {
  std::ostringstream text;
  text << dn;
  return text.str();
}

// The notebook prints ("in shapes:", data.shape, kernel.shape), then the dimension numbers.
std::vector<std::string> nd_lines(const Tensor& lhs, const Tensor& rhs,
                                  const lax::ConvDimensionNumbers& dn, const Tensor& out) {
  return {"in shapes: " + to_string(lhs.shape()) + " " + to_string(rhs.shape()),
          print_text(dn), out_shape_line(out.shape())};
}

}  // namespace

std::string out_shape_line(const Shape& shape, const std::string& note) {
  std::string line = "out shape:  " + to_string(shape);
  if (!note.empty()) line += " " + note;
  return line;
}

// ---- section 1 ------------------------------------------------------------------------

Smoothing1D smoothing_1d() {
  Smoothing1D s;
  s.x = linspace(0, 10, 500);
  // xlax has no sin op; the curve is input data, so it is evaluated host-side.
  std::vector<float> sine;
  for (float v : to_vector<float>(s.x)) sine.push_back(static_cast<float>(std::sin(double(v))));
  s.y = from_floats(sine, {500}) + 0.2 * random::normal(random::key(1701), {500});
  s.window = ones({10}) / 10.0;
  s.y_smooth = numpy::convolve(s.y, s.window, "same");
  return s;
}

// ---- section 2 ------------------------------------------------------------------------

Tensor generated_test_image(int64_t height, int64_t width) {
  if (height < 32 || width < 32) throw std::invalid_argument("generated_test_image: too small");
  const double h = double(height), w = double(width);
  // Text is drawn by the picture module into an RGB raster and used as a mask.
  plot::Image text(int(width), int(height), plot::colours::black);
  plot::draw_text(text, "xlax", int(0.06 * w), int(0.80 * h), 0.22 * h, plot::colours::white);

  std::vector<float> pixels(size_t(height * width));
  for (int64_t r = 0; r < height; ++r) {
    for (int64_t c = 0; c < width; ++c) {
      const double y = r / h, x = c / w;
      double v = 70 + 90 * x + 30 * y;  // shaded background
      const double disc = std::hypot(y - 0.33, (x - 0.27) * w / h);
      if (disc < 0.21) v = 225;
      const double ring = std::hypot(y - 0.33, (x - 0.74) * w / h);
      if (ring < 0.26) v = 128 + 100 * std::cos(ring * ring * 700);  // finer towards the edge
      if (y > 0.62 && y < 0.93 && x > 0.60 && x < 0.93) {  // 8-pixel checkerboard
        v = ((r / 8 + c / 8) % 2 == 0) ? 35 : 215;
      }
      if (y > 0.86 && y < 0.93 && x > 0.06 && x < 0.52) v = 15;  // dark bar
      const double ink = text.at(int(c), int(r)).r / 255.0;
      v = v * (1 - ink) + 245 * ink;
      pixels[size_t(r * width + c)] = static_cast<float>(v);
    }
  }
  return from_floats(pixels, {height, width});
}

Tensor load_greyscale_png(const std::string& path) {
  const plot::Image image = plot::load_png(path);
  std::vector<float> grey(size_t(image.width()) * size_t(image.height()));
  for (int r = 0; r < image.height(); ++r) {
    for (int c = 0; c < image.width(); ++c) {
      const plot::Rgb p = image.at(c, r);
      grey[size_t(r) * size_t(image.width()) + size_t(c)] = (p.r + p.g + p.b) / 3.0f;
    }
  }
  return from_floats(grey, {image.height(), image.width()});
}

Tensor gaussian_window_7x7() {
  std::vector<double> pdf;
  for (int i = 0; i < 7; ++i) {
    const double x = -3.0 + i;  // linspace(-3, 3, 7)
    pdf.push_back(std::exp(-0.5 * x * x) / std::sqrt(2 * pi));
  }
  // The notebook's window sums to 0.99946 (the tails beyond 3 sigma are cut off);
  // normalising keeps the smoothed picture's brightness equal to the input's.
  double total = 0;
  for (double a : pdf) for (double b : pdf) total += a * b;
  std::vector<float> window;
  for (double a : pdf) for (double b : pdf) window.push_back(static_cast<float>(a * b / total));
  return from_floats(window, {7, 7});
}

Denoise2D gaussian_denoise(const Tensor& image) {
  Denoise2D d;
  d.image = astype(image, DType::float32);
  d.noisy = d.image + 50.0 * random::normal(random::key(1701), d.image.shape());
  d.window = gaussian_window_7x7();
  d.smoothed = scipy::signal::convolve(d.noisy, d.window, "same");
  return d;
}

// ---- section 3 ------------------------------------------------------------------------

Tensor edge_kernel_hwio() {
  const float edge[3][3] = {{1, 1, 0}, {1, 0, -1}, {0, -1, -1}};
  std::vector<float> kernel;
  for (int h = 0; h < 3; ++h)
    for (int w = 0; w < 3; ++w)
      for (int i = 0; i < 3 * 3; ++i) kernel.push_back(edge[h][w]);  // every (in, out) pair
  return from_floats(kernel, {3, 3, 3, 3});
}

Tensor three_squares_nhwc() {
  const int64_t height = 200, width = 198, channels = 3;
  std::vector<float> img(size_t(height * width * channels), 0.0f);
  for (int64_t k = 0; k < channels; ++k) {
    const int64_t row = 30 + 60 * k, col = 20 + 60 * k;  // img[0, row:row+10, col:col+10, k] = 1
    for (int64_t r = row; r < row + 10; ++r)
      for (int64_t c = col; c < col + 10; ++c) img[size_t((r * width + c) * channels + k)] = 1.0f;
  }
  return from_floats(img, {1, height, width, channels});
}

std::vector<ConvCell> general_conv_cells() {
  const Tensor img = three_squares_nhwc();
  const Tensor kernel = edge_kernel_hwio();
  const Tensor img_nchw = transpose(img, {0, 3, 1, 2});
  std::vector<ConvCell> cells;

  auto add_cell = [&](std::string name, std::string heading, const Tensor& lhs,
                      const Tensor& rhs, ConvOp op, bool channels_first) {
    const Tensor out = op(lhs, rhs);
    cells.push_back({std::move(name), std::move(heading), lhs, rhs, std::move(op), out,
                     channels_first, {}});
  };

  add_cell("lax_conv_nchw_same", "lax.conv, NCHW / OIHW, SAME", img_nchw,
           transpose(kernel, {3, 2, 0, 1}),
           [](const Tensor& l, const Tensor& r) { return lax::conv(l, r, {1, 1}, "SAME"); },
           true);
  // The notebook transposes to IOHW here; the kernel is the same for every (in, out) pair.
  add_cell("conv_with_general_padding", "conv_with_general_padding, padding 2x2", img_nchw,
           transpose(kernel, {2, 3, 0, 1}),
           [](const Tensor& l, const Tensor& r) {
             return lax::conv_with_general_padding(l, r, {1, 1}, {{2, 2}, {2, 2}}, {1, 1},
                                                   {1, 1});
           },
           true);

  const lax::ConvDimensionNumbers dn =
      lax::conv_dimension_numbers(img.shape(), kernel.shape(), {"NHWC", "HWIO", "NHWC"});
  auto nhwc_cell = [&](std::string name, std::string heading, const Tensor& rhs,
                       std::vector<int64_t> strides, lax::Padding padding,
                       std::vector<int64_t> lhs_dilation, std::vector<int64_t> rhs_dilation) {
    ConvOp op = [=](const Tensor& l, const Tensor& r) {
      return lax::conv_general_dilated(l, r, strides, padding, lhs_dilation, rhs_dilation,
                                       lax::DimensionNumbers(dn));
    };
    add_cell(std::move(name), std::move(heading), img, rhs, std::move(op), false);
  };
  nhwc_cell("nhwc_same", "SAME padding, no stride, no dilation", kernel, {1, 1}, "SAME",
            {1, 1}, {1, 1});
  nhwc_cell("nhwc_valid", "VALID padding, no stride, no dilation", kernel, {1, 1}, "VALID",
            {1, 1}, {1, 1});
  nhwc_cell("nhwc_same_stride2", "SAME padding, 2,2 stride, no dilation", kernel, {2, 2},
            "SAME", {1, 1}, {1, 1});
  nhwc_cell("nhwc_valid_rhs_dilation12", "VALID padding, rhs kernel dilation 12 (atrous)",
            kernel, {1, 1}, "VALID", {1, 1}, {12, 12});
  nhwc_cell("nhwc_lhs_dilation2", "padding ((0,0),(0,0)), lhs dilation 2", kernel, {1, 1},
            lax::Padding({{0, 0}, {0, 0}}), {2, 2}, {1, 1});
  // Transposed convolution: the kernel rotated by 180 degrees (rot90 twice over H, W is a
  // reversal of both axes) plus lhs dilation and the padding TF's conv2d_transpose implies.
  const Tensor kernel_rot = lax::rev(kernel, {0, 1});
  nhwc_cell("transposed_conv_rot_kernel", "transposed conv: rotated kernel, lhs dilation 2",
            kernel_rot, {1, 1}, lax::Padding({{2, 1}, {2, 1}}), {2, 2}, {1, 1});

  const char* notes[] = {"", "", "", "DIFFERENT from above!", " <-- half the size of above",
                         "", "<-- larger than original!", "<-- transposed_conv"};
  for (size_t i = 0; i < cells.size(); ++i) {
    if (cells[i].name == "nhwc_same") cells[i].lines.push_back(print_text(dn));
    cells[i].lines.push_back(out_shape_line(cells[i].out.shape(), notes[i]));
    cells[i].lines.push_back("First output channel:");
  }
  return cells;
}

std::vector<std::string> general_conv_intro_lines() {
  return {"Edge Conv kernel:", "Original Image:"};
}

std::vector<std::string> general_conv_transcript(const std::vector<ConvCell>& cells) {
  std::vector<std::string> lines = general_conv_intro_lines();
  for (const ConvCell& cell : cells) lines.insert(lines.end(), cell.lines.begin(), cell.lines.end());
  return lines;
}

std::vector<double> first_output_channel(const ConvCell& cell, size_t& height, size_t& width) {
  const Shape& shape = cell.out.shape();
  const std::vector<double> all = to_vector<double>(cell.out);
  if (cell.channels_first) {  // (N, C, H, W): the first H*W values
    height = size_t(shape[2]);
    width = size_t(shape[3]);
    return std::vector<double>(all.begin(), all.begin() + std::ptrdiff_t(height * width));
  }
  height = size_t(shape[1]);  // (N, H, W, C): every C-th value
  width = size_t(shape[2]);
  const size_t channels = size_t(shape[3]);
  std::vector<double> plane(height * width);
  for (size_t i = 0; i < plane.size(); ++i) plane[i] = all[i * channels];
  return plane;
}

// ---- section 4 ------------------------------------------------------------------------

NdCase conv_1d_nwc() {
  // The notebook writes the kernel as (O, I, W) and transposes it to WIO.
  const std::vector<float> oiw = {1, 0, -1, -1, 0, 1,   // out 0: in 0, in 1
                                  1, 1, 1,  -1, -1, -1};  // out 1: in 0, in 1
  const Tensor kernel = transpose(from_floats(oiw, {2, 2, 3}), {2, 1, 0});
  std::vector<float> data(200 * 2, 0.0f);
  for (int i = 0; i < 2; ++i)
    for (int k = 0; k < 2; ++k) {
      const int x = 35 * i + 30 + 60 * k;  // data[0, x:x+30, k] = 1
      for (int w = x; w < x + 30; ++w) data[size_t(w * 2 + k)] = 1.0f;
    }
  NdCase c;
  c.lhs = from_floats(data, {1, 200, 2});
  c.rhs = kernel;
  const auto dn = lax::conv_dimension_numbers(c.lhs.shape(), c.rhs.shape(), {"NWC", "WIO", "NWC"});
  c.op = [dn](const Tensor& l, const Tensor& r) {
    return lax::conv_general_dilated(l, r, {1}, "SAME", {1}, {1}, lax::DimensionNumbers(dn));
  };
  c.out = c.op(c.lhs, c.rhs);
  c.lines = nd_lines(c.lhs, c.rhs, dn, c.out);
  return c;
}

NdCase conv_3d_nhwdc() {
  const double laplace_like[3][3][3] = {{{0, 0, 0}, {0, 1, 0}, {0, 0, 0}},
                                        {{0, -1, 0}, {-1, 0, -1}, {0, -1, 0}},
                                        {{0, 0, 0}, {0, 1, 0}, {0, 0, 0}}};
  std::vector<double> kernel(&laplace_like[0][0][0], &laplace_like[0][0][0] + 27);
  const int n = 30;
  const double step = 1.0 / (n - 1);  // np.mgrid[0:1:30j]: i * step
  std::vector<double> field;
  for (int a = 0; a < n; ++a)
    for (int b = 0; b < n; ++b)
      for (int c = 0; c < n; ++c) {
        const double x = a * step, y = b * step, z = c * step;
        const double v = std::sin(2 * x * pi) * std::cos(2 * y * pi) * std::cos(2 * z * pi);
        field.push_back(double(static_cast<float>(v)));  // the notebook's data is float32
      }
  NdCase c;
  c.lhs = asarray<double>(field.data(), {1, n, n, n, 1});
  c.rhs = asarray<double>(kernel.data(), {3, 3, 3, 1, 1});
  const auto dn =
      lax::conv_dimension_numbers(c.lhs.shape(), c.rhs.shape(), {"NHWDC", "HWDIO", "NHWDC"});
  c.op = [dn](const Tensor& l, const Tensor& r) {
    return lax::conv_general_dilated(l, r, {1, 1, 1}, "SAME", {1, 1, 1}, {1, 1, 1},
                                     lax::DimensionNumbers(dn));
  };
  c.out = c.op(c.lhs, c.rhs);
  c.lines = nd_lines(c.lhs, c.rhs, dn, c.out);
  return c;
}

}  // namespace xlax::tutorial
