// Text for the pictures: stb_truetype with DejaVuSans when available, else the built-in
// bitmap font. Both paths render a coverage mask first, so alignment and rotation are shared.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <mutex>

#include <stb_truetype.h>  // implementation lives in libstb (Debian ships it compiled)

#include "bitmap_font.hpp"
#include "plot.hpp"

namespace xlax::plot {
namespace {

constexpr const char* default_font_path = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

struct FontState {
  bool truetype = false;
  std::vector<unsigned char> data;  // stbtt_fontinfo points into this buffer
  stbtt_fontinfo info{};
};

bool load_truetype(FontState& state, const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return false;
  std::vector<unsigned char> data((std::istreambuf_iterator<char>(file)),
                                  std::istreambuf_iterator<char>());
  if (data.empty()) return false;
  stbtt_fontinfo info{};
  const int offset = stbtt_GetFontOffsetForIndex(data.data(), 0);
  if (offset < 0 || !stbtt_InitFont(&info, data.data(), offset)) return false;
  state.data = std::move(data);
  info.data = state.data.data();  // the moved buffer keeps its address, but be explicit
  state.info = info;
  state.truetype = true;
  return true;
}

// XLAX_PLOT_FONT overrides the default: a TTF path, or "builtin" for the bitmap font.
FontState& font_state() {
  static FontState state;
  static std::once_flag once;
  std::call_once(once, [] {
    const char* requested = std::getenv("XLAX_PLOT_FONT");
    const std::string path = requested ? requested : default_font_path;
    if (path != "builtin" && !path.empty()) load_truetype(state, path);
  });
  return state;
}

std::vector<char32_t> decode_utf8(const std::string& text) {
  std::vector<char32_t> out;
  for (std::size_t i = 0; i < text.size();) {
    const unsigned char lead = static_cast<unsigned char>(text[i]);
    int extra = lead < 0x80 ? 0 : (lead >> 5) == 6 ? 1 : (lead >> 4) == 14 ? 2
              : (lead >> 3) == 30 ? 3 : -1;
    if (extra < 0 || i + extra >= text.size()) {  // bad lead byte or cut short
      out.push_back(U'\ufffd');
      ++i;
      continue;
    }
    char32_t code = extra == 0 ? lead : lead & (0x3f >> extra);
    bool valid = true;
    for (int k = 1; k <= extra; ++k) {
      const unsigned char next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xc0) != 0x80) valid = false;
      code = (code << 6) | (next & 0x3f);
    }
    out.push_back(valid ? code : U'\ufffd');
    i += valid ? extra + 1 : 1;
  }
  return out;
}

// A rendered line of text: alpha coverage, with the baseline row and capital height
// (for centring labels on tick marks by their visible letters).
struct TextMask {
  int width = 0, height = 0, baseline = 0, cap_height = 0;
  std::vector<std::uint8_t> alpha;
};

TextMask truetype_mask(const FontState& font, const std::vector<char32_t>& codes, double px) {
  const float scale = stbtt_ScaleForPixelHeight(&font.info, static_cast<float>(px));
  int ascent = 0, descent = 0, gap = 0;
  stbtt_GetFontVMetrics(&font.info, &ascent, &descent, &gap);
  int hx0, hy0, hx1, hy1;
  stbtt_GetCodepointBitmapBox(&font.info, 'H', scale, scale, &hx0, &hy0, &hx1, &hy1);
  TextMask mask;
  mask.baseline = static_cast<int>(std::ceil(ascent * scale));
  mask.height = mask.baseline + static_cast<int>(std::ceil(-descent * scale)) + 1;
  mask.cap_height = -hy0;
  const int pad = 1;  // glyphs may overhang their advance by a pixel
  float pen = 0;
  for (std::size_t i = 0; i < codes.size(); ++i) {
    int advance = 0, bearing = 0;
    stbtt_GetCodepointHMetrics(&font.info, static_cast<int>(codes[i]), &advance, &bearing);
    pen += advance * scale;
    if (i + 1 < codes.size()) {
      pen += scale * stbtt_GetCodepointKernAdvance(&font.info, static_cast<int>(codes[i]),
                                                   static_cast<int>(codes[i + 1]));
    }
  }
  mask.width = static_cast<int>(std::ceil(pen)) + 2 * pad;
  mask.alpha.assign(static_cast<std::size_t>(mask.width) * mask.height, 0);
  pen = 0;
  std::vector<unsigned char> glyph;
  for (std::size_t i = 0; i < codes.size(); ++i) {
    const int code = static_cast<int>(codes[i]);
    const float shift = pen - std::floor(pen);
    int x0, y0, x1, y1;
    stbtt_GetCodepointBitmapBoxSubpixel(&font.info, code, scale, scale, shift, 0, &x0, &y0,
                                        &x1, &y1);
    const int gw = x1 - x0, gh = y1 - y0;
    if (gw > 0 && gh > 0) {
      glyph.assign(static_cast<std::size_t>(gw) * gh, 0);
      stbtt_MakeCodepointBitmapSubpixel(&font.info, glyph.data(), gw, gh, gw, scale, scale,
                                        shift, 0, code);
      const int left = static_cast<int>(std::floor(pen)) + x0 + pad;
      const int top = mask.baseline + y0;
      // Max-combine: kerned neighbours may overlap and must not erase each other.
      for (int gy = 0; gy < gh; ++gy) {
        for (int gx = 0; gx < gw; ++gx) {
          const int mx = left + gx, my = top + gy;
          if (mx < 0 || my < 0 || mx >= mask.width || my >= mask.height) continue;
          std::uint8_t& cell = mask.alpha[static_cast<std::size_t>(my) * mask.width + mx];
          cell = std::max<std::uint8_t>(cell, glyph[static_cast<std::size_t>(gy) * gw + gx]);
        }
      }
    }
    int advance = 0, bearing = 0;
    stbtt_GetCodepointHMetrics(&font.info, code, &advance, &bearing);
    pen += advance * scale;
    if (i + 1 < codes.size()) {
      pen += scale * stbtt_GetCodepointKernAdvance(&font.info, code,
                                                   static_cast<int>(codes[i + 1]));
    }
  }
  return mask;
}

// The bitmap font's integer scale for a requested pixel height (its capitals are 7 rows).
int bitmap_scale(double px) { return std::max(1, static_cast<int>(std::lround(px / 8.0))); }

TextMask bitmap_mask(const std::vector<char32_t>& codes, double px) {
  using namespace detail;
  const int s = bitmap_scale(px);
  const int advance = (bitmap_glyph_width + 1) * s;
  TextMask mask;
  mask.baseline = bitmap_ascent_rows * s;
  mask.cap_height = bitmap_ascent_rows * s;
  mask.height = bitmap_glyph_rows * s;
  mask.width = codes.empty() ? 0 : static_cast<int>(codes.size()) * advance - s;
  mask.alpha.assign(static_cast<std::size_t>(mask.width) * mask.height, 0);
  for (std::size_t i = 0; i < codes.size(); ++i) {
    const char* rows = bitmap_glyph(codes[i]);
    int row = 0, col = 0;
    for (const char* c = rows; *c; ++c) {
      if (*c == ' ') {
        ++row;
        col = 0;
        continue;
      }
      if (*c == '#' && row < bitmap_glyph_rows && col < bitmap_glyph_width) {
        for (int dy = 0; dy < s; ++dy) {
          for (int dx = 0; dx < s; ++dx) {
            const int mx = static_cast<int>(i) * advance + col * s + dx;
            const int my = row * s + dy;
            mask.alpha[static_cast<std::size_t>(my) * mask.width + mx] = 255;
          }
        }
      }
      ++col;
    }
  }
  return mask;
}

TextMask render_mask(const std::string& utf8, double px) {
  const std::vector<char32_t> codes = decode_utf8(utf8);
  const FontState& font = font_state();
  return font.truetype ? truetype_mask(font, codes, px) : bitmap_mask(codes, px);
}

}  // namespace

bool select_font(const std::string& ttf_path) {
  FontState& state = font_state();
  if (ttf_path.empty() || ttf_path == "builtin") {
    state.truetype = false;
    return true;
  }
  FontState loaded;
  if (!load_truetype(loaded, ttf_path)) return false;
  state.data = std::move(loaded.data);
  state.info = loaded.info;
  state.info.data = state.data.data();
  state.truetype = true;
  return true;
}

bool using_truetype_font() { return font_state().truetype; }

int text_width(const std::string& utf8, double pixel_height) {
  return render_mask(utf8, pixel_height).width;
}

int line_height(double pixel_height) { return render_mask("Hg", pixel_height).height; }

void draw_text(Image& image, const std::string& utf8, int x, int y, double pixel_height,
               Rgb colour, HAlign h, VAlign v, bool vertical) {
  const TextMask mask = render_mask(utf8, pixel_height);
  if (mask.width == 0) return;
  // The anchor point in mask coordinates, then placed at (x, y) in the image.
  const int ax = h == HAlign::left ? 0 : h == HAlign::centre ? mask.width / 2 : mask.width;
  const int ay = v == VAlign::top        ? 0
                 : v == VAlign::middle   ? mask.baseline - mask.cap_height / 2
                 : v == VAlign::baseline ? mask.baseline
                                         : mask.height;
  for (int my = 0; my < mask.height; ++my) {
    for (int mx = 0; mx < mask.width; ++mx) {
      const std::uint8_t a = mask.alpha[static_cast<std::size_t>(my) * mask.width + mx];
      if (a == 0) continue;
      // Vertical text is turned a quarter counter-clockwise: mask x runs up the image.
      const int px = vertical ? x + (my - ay) : x + (mx - ax);
      const int py = vertical ? y - (mx - ax) : y + (my - ay);
      image.blend(px, py, colour, a / 255.0);
    }
  }
}

}  // namespace xlax::plot
