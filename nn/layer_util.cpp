// Shape rules shared by the layers: per-dim options, padding resolution, error text.
#include "nn/layer_util.hpp"

#include "ops/padding.hpp"

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
  for (size_t i = begin; i < std::min(end, s.size()); ++i)
    if (__builtin_mul_overflow(p, s[i], &p))
      throw Error("shape " + shape_str(s) + ": the product of its dims overflows int64");
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
  return padtype_to_pads(layer, p.mode(), in, window, strides);
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

ConvLayout::ConvLayout(const std::vector<std::string>& dn, size_t r, const std::string& layer) {
  if (dn.empty()) {
    auto d = channels_last_dims(r);
    lhs_ = d.lhs;
    rhs_ = d.rhs;
    out_ = d.out;
  } else {
    default_ = false;
    if (dn.size() != 3)
      throw Error(layer + ": dimension_numbers must be three strings (lhs, rhs, out), e.g. NCHW, OIHW, NCHW");
    lhs_ = dn[0];
    rhs_ = dn[1];
    out_ = dn[2];
  }
  auto bad = [&](const std::string& why) -> Error {
    return Error(layer + ": dimension_numbers (" + lhs_ + ", " + rhs_ + ", " + out_ + ") " + why);
  };
  for (auto* s : {&lhs_, &rhs_, &out_}) {
    if (s->size() != r + 2) throw bad("must each have " + std::to_string(r + 2) + " letters for " + std::to_string(r) + " spatial dims");
    for (size_t i = 0; i < s->size(); ++i)
      if (s->find((*s)[i]) != i) throw bad("repeat a letter");
  }
  std::string spatial;  // kernel-string order
  for (char c : rhs_)
    if (c != 'I' && c != 'O') spatial += c;
  if (rhs_.find('I') == std::string::npos || rhs_.find('O') == std::string::npos || spatial.size() != r)
    throw bad("need I and O in the rhs string");
  auto positions = [&](const std::string& s, char first, char last) {
    std::vector<size_t> pos;
    for (char c : std::string(1, first) + spatial + std::string(1, last)) {
      const auto p = s.find(c);
      if (p == std::string::npos) throw bad("need " + std::string(1, c) + " in " + s);
      pos.push_back(p);
    }
    return pos;
  };
  lhs_pos_ = positions(lhs_, 'N', 'C');
  out_pos_ = positions(out_, 'N', 'C');
  for (char c : spatial) rhs_pos_.push_back(rhs_.find(c));
  rhs_pos_.push_back(rhs_.find('I'));
  rhs_pos_.push_back(rhs_.find('O'));
}

Shape ConvLayout::canonical_input(const Shape& in) const {
  if (in.size() != lhs_pos_.size()) return in;  // the caller reports the rank error
  Shape c;
  for (size_t p : lhs_pos_) c.push_back(in[p]);
  return c;
}

Shape ConvLayout::actual_output(const Shape& canonical) const {
  Shape out(canonical.size());
  for (size_t i = 0; i < canonical.size(); ++i) out[out_pos_[i]] = canonical[i];
  return out;
}

Shape ConvLayout::kernel_shape(const Shape& kernel_size, int64_t in_per_group, int64_t features) const {
  Shape k(kernel_size.size() + 2);
  for (size_t i = 0; i < kernel_size.size(); ++i) k[rhs_pos_[i]] = kernel_size[i];
  k[rhs_pos_[kernel_size.size()]] = in_per_group;
  k[rhs_pos_[kernel_size.size() + 1]] = features;
  return k;
}

Tensor ConvLayout::add_bias(const Tensor& y, const Tensor& bias) const {
  if (default_ && out_pos_.back() == out_.size() - 1) return y + bias;
  Shape s(out_.size(), 1);
  s[out_pos_.back()] = bias.shape()[0];
  return y + reshape(bias, s);
}

lax::DimensionNumbers ConvLayout::dimension_numbers() const { return lax::DimensionNumbers(lhs_, rhs_, out_); }
std::string ConvLayout::str() const { return "(" + lhs_ + ", " + rhs_ + ", " + out_ + ")"; }

}  // namespace xlax::nn::detail
