// Shape rules shared by the layers: per-dim options, padding resolution, error text.
#include "nn/layer_util.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace xlax::nn::detail {

void shape_error(const std::string& layer, const Shape& input, const std::string& rule) {
  throw Error(layer + ": input shape " + to_string(input) + ": " + rule);
}

Shape per_dim(const Shape& v, size_t rank, int64_t fill, const std::string& layer, const char* option) {
  if (v.empty()) return Shape(rank, fill);
  if (v.size() == 1) return Shape(rank, v[0]);
  if (v.size() != rank)
    throw Error(layer + ": " + option + " has " + std::to_string(v.size()) + " entries, expected 1 or " +
                std::to_string(rank) + " (one per spatial dim)");
  return v;
}

std::string shape_str(const Shape& s) { return to_string(s); }

std::string number_str(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

int64_t product(const Shape& s, size_t begin, size_t end) {
  int64_t p = 1;
  for (size_t i = begin; i < std::min(end, s.size()); ++i) p *= s[i];
  return p;
}

Pairs resolve_padding(const PaddingSpec& p, const Shape& in, const Shape& window, const Shape& strides,
                      const std::string& layer) {
  const size_t r = in.size();
  if (!p.is_string()) {
    const auto& pairs = p.pairs();
    if (pairs.size() == 1) return Pairs(r, pairs[0]);
    if (pairs.size() != r)
      throw Error(layer + ": padding has " + std::to_string(pairs.size()) + " (lo, hi) pairs, expected 1 or " +
                  std::to_string(r));
    return pairs;
  }
  std::string mode = p.mode();
  std::transform(mode.begin(), mode.end(), mode.begin(), [](unsigned char c) { return std::toupper(c); });
  Pairs out(r, {0, 0});
  if (mode == "VALID") return out;
  if (mode != "SAME" && mode != "SAME_LOWER")
    throw Error(layer + ": padding '" + p.mode() + "' is not SAME, SAME_LOWER, VALID or a list of (lo, hi) pairs");
  for (size_t i = 0; i < r; ++i) {
    const int64_t o = (in[i] + strides[i] - 1) / strides[i];
    const int64_t total = std::max<int64_t>((o - 1) * strides[i] + window[i] - in[i], 0);
    out[i] = mode == "SAME" ? std::make_pair(total / 2, total - total / 2)
                            : std::make_pair(total - total / 2, total / 2);
  }
  return out;
}

std::string padding_str(const PaddingSpec& p) {
  if (p.is_string()) return p.mode();
  std::string s = "(";
  for (size_t i = 0; i < p.pairs().size(); ++i)
    s += (i ? ", (" : "(") + std::to_string(p.pairs()[i].first) + ", " + std::to_string(p.pairs()[i].second) + ")";
  return s + ")";
}

int64_t window_out(int64_t in, int64_t lo, int64_t hi, int64_t window, int64_t stride) {
  const int64_t span = in + lo + hi - window;
  return span < 0 ? 0 : span / stride + 1;
}

lax::DimensionNumbers channels_last_dims(size_t spatial_rank) {
  std::string sp;
  if (spatial_rank == 1) sp = "H";
  else if (spatial_rank <= 3) sp = std::string("DHW").substr(3 - spatial_rank);
  else  // more dims: any distinct letters but N, C, I, O work
    for (size_t i = 0; i < spatial_rank; ++i) sp += static_cast<char>('a' + i);
  return lax::DimensionNumbers("N" + sp + "C", sp + "IO", "N" + sp + "C");
}

Tensor add_bias(const Tensor& y, const Tensor& bias) { return y + bias; }

}  // namespace xlax::nn::detail
