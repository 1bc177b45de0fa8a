// .npy files (NumPy format versions 1.0, 2.0 and 3.0): load_npy and an atomic save_npy.
// Little-endian C-order float32 ('<f4'), float64 ('<f8'), int32 ('<i4') and bool ('|b1').
// The header is a Python dict literal; the small parser below reads exactly the three keys
// NumPy writes (descr, fortran_order, shape). Assumes a little-endian host (x86, arm64).
#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <unistd.h>

#include "core/graph.hpp"

namespace xlax {
namespace {

const char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;

struct Header {
  std::string descr;
  bool fortran_order = false;
  bool has_descr = false, has_order = false, has_shape = false;
  Shape shape;
};

// A cursor over the header text; every failure names the file and what was expected.
class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& path) : s_(text), path_(path) {}

  Header parse() {
    Header h;
    expect('{');
    while (true) {
      skip_space();
      if (peek() == '}') break;
      const std::string key = parse_string();
      expect(':');
      skip_space();
      if (key == "descr") {
        h.descr = parse_string();
        h.has_descr = true;
      } else if (key == "fortran_order") {
        h.fortran_order = parse_bool();
        h.has_order = true;
      } else if (key == "shape") {
        h.shape = parse_tuple();
        h.has_shape = true;
      } else {
        fail("unknown header key '" + key + "'");
      }
      skip_space();
      if (peek() == ',') ++pos_;
      else if (peek() != '}') fail("expected ',' or '}'");
    }
    if (!h.has_descr || !h.has_order || !h.has_shape) fail("header lacks descr, fortran_order or shape");
    return h;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error("load_npy: " + path_ + ": malformed header (" + what + " at character " + std::to_string(pos_) +
                " of \"" + s_ + "\")");
  }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void skip_space() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  void expect(char c) {
    skip_space();
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++pos_;
  }
  std::string parse_string() {
    skip_space();
    const char quote = peek();
    if (quote != '\'' && quote != '"') fail("expected a quoted string");
    const size_t end = s_.find(quote, pos_ + 1);
    if (end == std::string::npos) fail("unterminated string");
    std::string out = s_.substr(pos_ + 1, end - pos_ - 1);
    pos_ = end + 1;
    return out;
  }
  bool parse_bool() {
    if (s_.compare(pos_, 4, "True") == 0) {
      pos_ += 4;
      return true;
    }
    if (s_.compare(pos_, 5, "False") == 0) {
      pos_ += 5;
      return false;
    }
    fail("expected True or False");
  }
  Shape parse_tuple() {
    expect('(');
    Shape shape;
    while (true) {
      skip_space();
      if (peek() == ')') {
        ++pos_;
        return shape;
      }
      if (!std::isdigit(static_cast<unsigned char>(peek()))) fail("expected a non-negative integer");
      int64_t v = 0;
      while (std::isdigit(static_cast<unsigned char>(peek()))) {
        if (v > (int64_t{1} << 50)) fail("dimension too large");
        v = v * 10 + (s_[pos_++] - '0');
      }
      if (peek() == 'L') ++pos_;  // Python 2 long suffix
      shape.push_back(v);
      skip_space();
      if (peek() == ',') ++pos_;
      else if (peek() != ')') fail("expected ',' or ')'");
    }
  }

  const std::string& s_;
  const std::string& path_;
  size_t pos_ = 0;
};

DType dtype_of_descr(const std::string& descr, const std::string& path) {
  if (descr == "<f4" || descr == "=f4") return DType::float32;
  if (descr == "<f8" || descr == "=f8") return DType::float64;
  if (descr == "<i4" || descr == "=i4") return DType::int32;
  if (descr == "|b1") return DType::bool_;
  if (!descr.empty() && descr[0] == '>')
    throw Error("load_npy: " + path + ": big-endian dtype '" + descr + "' is not supported (little-endian only)");
  throw Error("load_npy: " + path + ": dtype '" + descr +
              "' is not supported (float32 '<f4', float64 '<f8', int32 '<i4' or bool '|b1')");
}

const char* descr_of(DType d) {
  switch (d) {
    case DType::float32: return "<f4";
    case DType::float64: return "<f8";
    case DType::int32: return "<i4";
    case DType::bool_: return "|b1";
  }
  return "?";
}

// "float64" for the dtypes Tensor has, NumPy's descr for the others.
std::string descr_name(const std::string& descr) {
  if (descr == "<f4" || descr == "=f4") return "float32";
  if (descr == "<f8" || descr == "=f8") return "float64";
  if (descr == "<i4" || descr == "=i4") return "int32";
  if (descr == "|b1") return "bool";
  return "'" + descr + "'";
}

uint32_t read_le(const std::string& bytes, size_t pos, int n) {
  uint32_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(bytes[pos + i]);
  return v;
}

}  // namespace

NpyArray read_npy(const std::string& path, bool header_only) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("load_npy: cannot open '" + path + "' for reading");
  in.seekg(0, std::ios::end);
  const int64_t file_size = static_cast<int64_t>(in.tellg());
  in.seekg(0);
  // The prelude and header come first; the data only when asked for (header_only reads
  // a shape without loading a data set).
  std::string bytes(static_cast<size_t>(std::min<int64_t>(file_size, 12)), '\0');
  in.read(&bytes[0], static_cast<std::streamsize>(bytes.size()));
  if (bytes.size() < kMagicLen + 2 || bytes.compare(0, kMagicLen, kMagic, kMagicLen) != 0)
    throw Error("load_npy: " + path + ": not a .npy file (missing \\x93NUMPY magic)");
  const int major = static_cast<unsigned char>(bytes[6]);
  const int minor = static_cast<unsigned char>(bytes[7]);
  size_t prelude;
  uint32_t header_len;
  if (major == 1) {
    prelude = 10;
    if (bytes.size() < prelude) throw Error("load_npy: " + path + ": truncated file (incomplete header length)");
    header_len = read_le(bytes, 8, 2);
  } else if (major == 2 || major == 3) {
    prelude = 12;
    if (bytes.size() < prelude) throw Error("load_npy: " + path + ": truncated file (incomplete header length)");
    header_len = read_le(bytes, 8, 4);
  } else {
    throw Error("load_npy: " + path + ": unsupported format version " + std::to_string(major) + "." +
                std::to_string(minor) + " (1.0, 2.0 and 3.0 are supported)");
  }
  if (file_size < static_cast<int64_t>(prelude + header_len))
    throw Error("load_npy: " + path + ": truncated file (header of " + std::to_string(header_len) +
                " bytes, file has " + std::to_string(file_size) + ")");
  std::string text(header_len, '\0');
  in.seekg(static_cast<std::streamoff>(prelude));
  in.read(&text[0], header_len);
  Header h = HeaderParser(text, path).parse();
  if (h.fortran_order)
    throw Error("load_npy: " + path + ": fortran_order=True is not supported (save a C-ordered array, e.g. "
                "np.ascontiguousarray)");
  NpyArray a;
  a.shape = h.shape;
  a.descr = h.descr;
  if (!h.descr.empty() && h.descr[0] == '>')
    throw Error("load_npy: " + path + ": big-endian dtype '" + h.descr + "' is not supported (little-endian only)");
  if (h.descr.size() < 3 || (h.descr[0] != '<' && h.descr[0] != '|' && h.descr[0] != '='))
    throw Error("load_npy: " + path + ": dtype '" + h.descr + "' is not supported (little-endian numbers only)");
  const std::string digits = h.descr.substr(2);
  if (digits.empty() || digits.size() > 2 || digits.find_first_not_of("0123456789") != std::string::npos)
    throw Error("load_npy: " + path + ": dtype '" + h.descr + "' is not supported (little-endian numbers only)");
  a.itemsize = std::stoi(digits);
  const int64_t count = detail::shape_size(h.shape);
  if (a.itemsize > 0 && count > (int64_t{1} << 62) / a.itemsize)
    throw Error("load_npy: " + path + ": shape " + to_string(h.shape) + " is too large");
  a.data_bytes = count * a.itemsize;
  const int64_t available = file_size - static_cast<int64_t>(prelude + header_len);
  if (available < a.data_bytes)
    throw Error("load_npy: " + path + ": truncated file (shape " + to_string(h.shape) + " " + descr_name(h.descr) + " needs " +
                std::to_string(a.data_bytes) + " data bytes, found " + std::to_string(available) + ")");
  if (!header_only && a.data_bytes > 0) {
    a.data.resize(static_cast<size_t>(a.data_bytes));
    in.read(&a.data[0], static_cast<std::streamsize>(a.data_bytes));
    if (in.gcount() != a.data_bytes) throw Error("load_npy: " + path + ": read failed");
  }
  return a;
}

Tensor load_npy(const std::string& path) {
  NpyArray a = read_npy(path);
  const DType dtype = dtype_of_descr(a.descr, path);
  Tensor t = detail::make_leaf(a.shape, dtype);
  if (a.data_bytes > 0) std::memcpy(t.node()->data->ptr, a.data.data(), static_cast<size_t>(a.data_bytes));
  if (dtype == DType::bool_) {
    // only 0/1 bytes are valid bools
    auto* p = t.node()->ptr<unsigned char>();
    for (int64_t i = 0; i < a.data_bytes; ++i) p[i] = p[i] != 0;
  }
  return t;
}

void save_npy(const std::string& path, const Tensor& t) {
  const detail::Node& n = detail::node_of(t, "save_npy", "t");
  t.eval();
  std::string dict = std::string("{'descr': '") + descr_of(n.dtype) + "', 'fortran_order': False, 'shape': " +
                     to_string(n.shape) + ", }";
  // Pad with spaces so the data starts 64-byte aligned; the header ends with '\n'.
  size_t prelude = 10;
  size_t total = prelude + dict.size() + 1;
  if (total + (64 - total % 64) % 64 - prelude > 65535) {
    prelude = 12;
    total = prelude + dict.size() + 1;
  }
  dict.append((64 - total % 64) % 64, ' ');
  dict.push_back('\n');
  std::string head(kMagic, kMagicLen);
  head.push_back(static_cast<char>(prelude == 10 ? 1 : 2));
  head.push_back(0);
  const uint32_t len = static_cast<uint32_t>(dict.size());
  for (size_t i = 0; i < prelude - 8; ++i) head.push_back(static_cast<char>((len >> (8 * i)) & 0xff));
  head += dict;

  // Write next to the target, then rename: readers never see a half-written file.
  static std::atomic<unsigned> counter{0};
  const std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) throw Error("save_npy: cannot open '" + tmp + "' for writing (does the directory exist?)");
  const size_t data_bytes = static_cast<size_t>(n.size * itemsize(n.dtype));
  bool ok = std::fwrite(head.data(), 1, head.size(), f) == head.size();
  if (ok && data_bytes > 0) ok = std::fwrite(n.data->ptr, 1, data_bytes, f) == data_bytes;
  ok = (std::fflush(f) == 0) && ok;
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) {
    std::remove(tmp.c_str());
    throw Error("save_npy: writing '" + tmp + "' failed (disk full?)");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw Error("save_npy: cannot rename '" + tmp + "' to '" + path + "'");
  }
}

}  // namespace xlax
