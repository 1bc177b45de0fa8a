// safetensors: u64 little-endian header length, a JSON header {name: {dtype, shape,
// data_offsets}, "__metadata__": {str: str}}, then the raw little-endian tensor bytes.
// Writes go to a temp file in the same folder, are fsync'ed and renamed over the target, so
// a crash mid-save leaves the previous file intact.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "xlax/nn.hpp"

namespace xlax::nn {
using nlohmann::json;

void save_safetensors(const std::string& path, const NamedTensors& t) {
  if (t.names.size() != t.tensors.size()) throw Error("save_safetensors: names and tensors differ in length");
  json header = json::object();
  std::string data;
  for (size_t i = 0; i < t.names.size(); ++i) {
    const Tensor& x = t.tensors[i];
    if (t.names[i] == "__metadata__" || t.names[i].empty())
      throw Error("save_safetensors: invalid tensor name '" + t.names[i] + "'");
    if (header.contains(t.names[i])) throw Error("save_safetensors: duplicate tensor name '" + t.names[i] + "'");
    const size_t begin = data.size();
    if (x.dtype() == DType::float32) {
      auto v = to_vector<float>(x);
      data.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
    } else if (x.dtype() == DType::float64) {
      auto v = to_vector<double>(x);
      data.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(double));
    } else {
      throw Error("save_safetensors: tensor '" + t.names[i] + "' has dtype " + to_string(x.dtype()) +
                  " (float32 or float64 supported)");
    }
    header[t.names[i]] = {{"dtype", x.dtype() == DType::float32 ? "F32" : "F64"},
                          {"shape", x.shape()},
                          {"data_offsets", {begin, data.size()}}};
  }
  if (!t.metadata.empty()) header["__metadata__"] = t.metadata;
  std::string h = header.dump();
  h.append((8 - h.size() % 8) % 8, ' ');  // the format allows trailing spaces; keeps data 8-aligned
  uint8_t len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(static_cast<uint64_t>(h.size()) >> (8 * i));

  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) throw Error("save_safetensors: cannot create '" + tmp + "': " + std::strerror(errno));
  auto write_all = [&](const char* p, size_t n) {
    while (n > 0) {
      const ssize_t w = ::write(fd, p, n);
      if (w < 0) return false;
      p += w;
      n -= static_cast<size_t>(w);
    }
    return true;
  };
  const bool ok = write_all(reinterpret_cast<const char*>(len), 8) && write_all(h.data(), h.size()) &&
                  write_all(data.data(), data.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    throw Error("save_safetensors: cannot write '" + path + "': " + why);
  }
}

NamedTensors load_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("load_safetensors: cannot open '" + path + "'");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto fail = [&](const std::string& why) -> Error { return Error("load_safetensors: '" + path + "': " + why); };
  if (bytes.size() < 8) throw fail("file is shorter than the 8-byte header length");
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[i])) << (8 * i);
  if (n > bytes.size() - 8) throw fail("header length " + std::to_string(n) + " runs past the end of the file");
  json header;
  try {
    header = json::parse(bytes.substr(8, n));
  } catch (const json::exception& e) {
    throw fail(std::string("header is not valid JSON: ") + e.what());
  }
  if (!header.is_object()) throw fail("header is not a JSON object");
  const size_t data_begin = 8 + n, data_size = bytes.size() - data_begin;
  NamedTensors out;
  try {
    for (auto& [name, info] : header.items()) {
      if (name == "__metadata__") {
        for (auto& [k, v] : info.items()) out.metadata[k] = v.get<std::string>();
        continue;
      }
      const std::string dtype = info.at("dtype").get<std::string>();
      const Shape shape = info.at("shape").get<Shape>();
      const auto offsets = info.at("data_offsets").get<std::vector<uint64_t>>();
      int64_t count = 1;
      for (auto d : shape)
        if (d < 0 || __builtin_mul_overflow(count, d, &count) || count > (int64_t(1) << 60))
          throw fail("tensor '" + name + "' has shape " + to_string(shape) +
                     " (negative, or more elements than any file holds)");
      const size_t item = dtype == "F32" ? 4 : dtype == "F64" ? 8 : 0;
      if (!item) throw fail("tensor '" + name + "' has dtype " + dtype + " (F32 and F64 supported)");
      if (offsets.size() != 2 || offsets[0] > offsets[1] || offsets[1] > data_size ||
          offsets[1] - offsets[0] != static_cast<uint64_t>(count) * item)
        throw fail("tensor '" + name + "' has data_offsets that do not match its shape or the file size");
      const char* p = bytes.data() + data_begin + offsets[0];
      Tensor t;
      if (item == 4) {
        std::vector<float> v(count);
        std::memcpy(v.data(), p, count * 4);
        t = asarray<float>(v.data(), shape);
      } else {
        std::vector<double> v(count);
        std::memcpy(v.data(), p, count * 8);
        t = asarray<double>(v.data(), shape);
      }
      out.names.push_back(name);
      out.tensors.push_back(t);
    }
  } catch (const json::exception& e) {
    throw fail(std::string("malformed header: ") + e.what());
  }
  return out;
}

}  // namespace xlax::nn
