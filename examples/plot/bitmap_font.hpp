// The built-in fallback font: 5x9 cells (7 rows above the baseline, 2 below), used when no
// TrueType font is available so that pictures still get readable labels.
#pragma once

namespace xlax::plot::detail {

constexpr int bitmap_glyph_width = 5;
constexpr int bitmap_glyph_rows = 9;
constexpr int bitmap_ascent_rows = 7;  // rows 0..6 sit on the baseline; 7..8 descend

// Rows of the glyph for a codepoint: '#' ink, '.' empty, rows separated by single spaces,
// missing trailing rows are empty. Characters the font lacks get an empty box.
const char* bitmap_glyph(char32_t codepoint);

}  // namespace xlax::plot::detail
