// The computations of JAX's "Generalized convolutions in JAX" tutorial, cell by cell.
// The tutorial programs print and draw these; tests/test_tutorial.cpp compares the very
// same tensors with the golden cases, so nothing here may differ from what the programs run.
// Every function builds its inputs itself (nothing is loaded from the golden files).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <xlax/core.hpp>
#include <xlax/lax.hpp>

namespace xlax::tutorial {

// The notebook's printed lines are reproduced character for character; Python's
// print("out shape: ", shape, note) puts one space between arguments, hence two after ':'.
std::string out_shape_line(const Shape& shape, const std::string& note = "");

// ---- section 1: basic one-dimensional convolution (smoothing) -------------------------
struct Smoothing1D {
  Tensor x;         // linspace(0, 10, 500)
  Tensor y;         // sin(x) + 0.2 * normal(key(1701), (500,))
  Tensor window;    // ones(10) / 10
  Tensor y_smooth;  // numpy::convolve(y, window, "same")
};
Smoothing1D smoothing_1d();

// ---- section 2: basic N-dimensional convolution (Gaussian denoising) ------------------
// A deterministic greyscale test picture in [0, 255] (no download needed): a shaded
// background, a bright disc, concentric rings, a checkerboard, the word "xlax" and a dark
// bar, so that both smooth areas and fine detail show what the smoothing does. The default
// size keeps the gallery picture (whose noise does not compress) well under 200 KB.
Tensor generated_test_image(int64_t height = 132, int64_t width = 176);  // float32 (H, W)
// A PNG converted to greyscale as the notebook does (mean over the colour channels).
Tensor load_greyscale_png(const std::string& path);  // float32 (H, W), values 0..255

Tensor gaussian_window_7x7();  // norm.pdf(x) * norm.pdf(x[:, None]), x = linspace(-3, 3, 7); sums to 1
struct Denoise2D {
  Tensor image;     // as given
  Tensor noisy;     // image + 50 * normal(key(1701), image.shape)
  Tensor window;    // gaussian_window_7x7()
  Tensor smoothed;  // scipy::signal::convolve(noisy, window, "same")
};
Denoise2D gaussian_denoise(const Tensor& image);

// ---- section 3: general convolutions on the three-squares image -----------------------
Tensor edge_kernel_hwio();   // (3, 3, 3, 3): [[1,1,0],[1,0,-1],[0,-1,-1]] for every (in, out)
Tensor three_squares_nhwc(); // (1, 200, 198, 3): a 10x10 square of ones per channel

// The cell's call with everything but the two arrays fixed, so tests can differentiate it.
using ConvOp = std::function<Tensor(const Tensor& lhs, const Tensor& rhs)>;

struct ConvCell {
  std::string name;     // file stem, matches the golden case name 00x_tutorial_<name>
  std::string heading;  // the notebook's heading for the cell, shortened (picture title)
  Tensor lhs, rhs;      // exactly the arguments the cell passes to the op
  ConvOp op;
  Tensor out;           // op(lhs, rhs)
  bool channels_first;  // out is NCHW (lax.conv cells) rather than NHWC
  std::vector<std::string> lines;  // what the notebook prints for the cell, in order
};
// The eight cells in notebook order: lax_conv_nchw_same, conv_with_general_padding,
// nhwc_same, nhwc_valid, nhwc_same_stride2, nhwc_valid_rhs_dilation12, nhwc_lhs_dilation2,
// transposed_conv_rot_kernel. Lazy: nothing is computed until the outputs are used.
std::vector<ConvCell> general_conv_cells();
// The lines printed before the first cell ("Edge Conv kernel:", "Original Image:").
std::vector<std::string> general_conv_intro_lines();
// Everything the general-convolution program prints, in order (intro, then every cell).
std::vector<std::string> general_conv_transcript(const std::vector<ConvCell>& cells);

// out[0, :, :, 0] (NHWC) or out[0, 0, :, :] (NCHW) as a row-major (H, W) plane.
std::vector<double> first_output_channel(const ConvCell& cell, size_t& height, size_t& width);

// ---- section 4: 1-D (NWC/WIO) and 3-D (NHWDC/HWDIO) convolutions ----------------------
struct NdCase {
  Tensor lhs, rhs;
  ConvOp op;
  Tensor out;  // op(lhs, rhs)
  std::vector<std::string> lines;  // "in shapes: ...", the dimension numbers, "out shape: ..."
};
NdCase conv_1d_nwc();  // data (1, 200, 2) of 30-sample pulses, kernel (3, 2, 2), SAME
// The field sin(2 pi x) cos(2 pi y) cos(2 pi z) on mgrid[0:1:30j]^3, evaluated in double and
// rounded to float32 as the golden case was built; the convolution then runs in float64 on
// those values, so it matches the golden float64 result to rounding.
NdCase conv_3d_nhwdc();

}  // namespace xlax::tutorial
