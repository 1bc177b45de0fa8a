// PNGs for reconstruction models: noisy inputs, model outputs and clean images side by side.
#pragma once

#include <string>
#include <vector>

#include <xlax/nn.hpp>

namespace xlax::cli {

// Writes <dir>/noisy.png, <dir>/denoised.png, <dir>/clean.png and <dir>/denoise_panels.png
// for the first `count` test images; returns the paths written.
std::vector<std::string> save_reconstructions(nn::Trainer& trainer, const std::vector<Tensor>& params,
                                              const std::string& dir, int count = 8);

}  // namespace xlax::cli
