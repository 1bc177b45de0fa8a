// The checkpoint folder contract: one run per folder at a time (an flock the kernel drops
// when the process dies), listing what a folder holds, and clearing it for --overwrite.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "nn/layer_util.hpp"

namespace xlax::nn {
namespace fs = std::filesystem;

namespace {
bool is_checkpoint_name(const std::string& name) {
  const std::string suffix = ".safetensors";
  return name.rfind("ckpt_", 0) == 0 && name.size() > suffix.size() &&
         name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}
}  // namespace

FolderLock::FolderLock(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (!fs::is_directory(dir, ec)) throw Error("checkpoint.dir: cannot create the folder '" + dir + "'");
  const std::string path = dir + "/.xlax.lock";
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw Error("checkpoint.dir: cannot open '" + path + "': " + std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd_);
    fd_ = -1;
    throw Error("checkpoint.dir: '" + dir + "' is in use by another xlax run (it holds the lock on " + path +
                "); wait for it to finish or choose another folder");
  }
}

FolderLock::~FolderLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

std::vector<std::string> list_checkpoints(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (auto& e : fs::directory_iterator(dir, ec))
    if (is_checkpoint_name(e.path().filename().string())) out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

void remove_checkpoints(const std::string& dir) {
  std::error_code ec;
  for (auto& p : list_checkpoints(dir)) fs::remove(p, ec);
  remove_stale_temp_files(dir);
}

void remove_stale_temp_files(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return;
  const std::string own = ".tmp." + std::to_string(::getpid());
  for (auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("ckpt_", 0) == 0 && name.find(".safetensors.tmp.") != std::string::npos &&
        name.find(own) == std::string::npos)
      fs::remove(e.path(), ec);
  }
}

}  // namespace xlax::nn
