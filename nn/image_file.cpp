// Image files for data sets and predict: PNG, JPEG and BMP through stb_image, compiled
// here with only those decoders and static linkage (no clash with the plot module's
// libstb, and a decoder the sanitizers instrument). The header's size is checked with
// stbi_info before decoding, so a hostile file cannot ask for a giant buffer.
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#define STBI_NO_STDIO_WRITE
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#endif
#include <stb_image.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <memory>

#include "nn/layer_util.hpp"

namespace xlax::nn {

namespace {
constexpr int64_t kMaxPixels = int64_t{1} << 26;  // 64 Mpixel: far above any training image

// Bilinear resampling with pixel centres at +0.5 (align_corners = false, as PIL and
// torchvision without antialiasing); channels interleaved.
std::vector<float> resize_bilinear(const std::vector<float>& src, int64_t h, int64_t w, int64_t c, int64_t out_h,
                                   int64_t out_w) {
  std::vector<float> out(static_cast<size_t>(out_h * out_w * c));
  for (int64_t y = 0; y < out_h; ++y) {
    const double sy = std::clamp((y + 0.5) * h / out_h - 0.5, 0.0, static_cast<double>(h - 1));
    const int64_t y0 = static_cast<int64_t>(sy), y1 = std::min(y0 + 1, h - 1);
    const double fy = sy - y0;
    for (int64_t x = 0; x < out_w; ++x) {
      const double sx = std::clamp((x + 0.5) * w / out_w - 0.5, 0.0, static_cast<double>(w - 1));
      const int64_t x0 = static_cast<int64_t>(sx), x1 = std::min(x0 + 1, w - 1);
      const double fx = sx - x0;
      for (int64_t k = 0; k < c; ++k) {
        auto at = [&](int64_t yy, int64_t xx) { return src[static_cast<size_t>((yy * w + xx) * c + k)]; };
        const double top = at(y0, x0) * (1 - fx) + at(y0, x1) * fx;
        const double bottom = at(y1, x0) * (1 - fx) + at(y1, x1) * fx;
        out[static_cast<size_t>((y * out_w + x) * c + k)] = static_cast<float>(top * (1 - fy) + bottom * fy);
      }
    }
  }
  return out;
}
}  // namespace

std::vector<float> decode_image(const std::string& bytes, const std::string& name, int64_t height, int64_t width,
                                int64_t channels, bool resize) {
  if (channels != 1 && channels != 3) throw Error("load_image: channels must be 1 or 3, got " + std::to_string(channels));
  if (height <= 0 || width <= 0 || height * width > kMaxPixels)
    throw Error("load_image: image_size must be positive and at most 2^26 pixels");
  if (bytes.size() > static_cast<size_t>(INT32_MAX)) throw Error("load_image: '" + name + "' is larger than 2 GiB");
  const auto* data = reinterpret_cast<const stbi_uc*>(bytes.data());
  const int len = static_cast<int>(bytes.size());
  int w = 0, h = 0, file_channels = 0;
  if (!stbi_info_from_memory(data, len, &w, &h, &file_channels))
    throw Error("load_image: '" + name + "' is not a readable PNG, JPEG or BMP image (" + stbi_failure_reason() + ")");
  if (w <= 0 || h <= 0 || static_cast<int64_t>(w) * h > kMaxPixels)
    throw Error("load_image: '" + name + "' claims " + std::to_string(w) + "x" + std::to_string(h) +
                " pixels (at most 2^26 are read)");
  if (!resize && (h != height || w != width))
    throw Error("load_image: '" + name + "' is " + std::to_string(h) + "x" + std::to_string(w) + ", image_size is " +
                std::to_string(height) + "x" + std::to_string(width) + " and data.resize is false");
  std::unique_ptr<stbi_uc, void (*)(void*)> pixels(
      stbi_load_from_memory(data, len, &w, &h, &file_channels, static_cast<int>(channels)), stbi_image_free);
  if (!pixels)
    throw Error("load_image: '" + name + "' cannot be decoded (" + std::string(stbi_failure_reason()) + ")");
  const int64_t count = static_cast<int64_t>(w) * h * channels;
  std::vector<float> out(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) out[static_cast<size_t>(i)] = pixels.get()[i] / 255.0f;
  if (h == height && w == width) return out;
  return resize_bilinear(out, h, w, channels, height, width);
}

std::vector<float> load_image(const std::string& path, int64_t height, int64_t width, int64_t channels, bool resize) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("load_image: cannot open '" + path + "'");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return decode_image(bytes, path, height, width, channels, resize);
}

}  // namespace xlax::nn
