// Checkpoints: one safetensors file per saved epoch holding params, optimizer slots, the
// step, the epoch and the config text. Loading matches tensors by name and shape.
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <unistd.h>

#include "nn/layer_util.hpp"

namespace xlax::nn {
namespace fs = std::filesystem;

std::string best_checkpoint_path(const CheckpointConfig& c) { return c.dir + "/ckpt_best.safetensors"; }

std::string checkpoint_path(const CheckpointConfig& c, int64_t epoch) {
  char name[64];
  std::snprintf(name, sizeof name, "ckpt_epoch_%04lld.safetensors", static_cast<long long>(epoch));
  return c.dir + "/" + name;
}

namespace {
// Epoch number of a finished checkpoint file name, or -1 (temp files and others).
int64_t checkpoint_epoch(const std::string& name) {
  const std::string prefix = "ckpt_epoch_", suffix = ".safetensors";
  if (name.size() <= prefix.size() + suffix.size() || name.rfind(prefix, 0) != 0 ||
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
    return -1;
  const std::string digits = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) return -1;
  return std::stoll(digits);
}
}  // namespace

std::string newest_checkpoint(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return "";
  int64_t best = -1;
  std::string path;
  for (auto& entry : fs::directory_iterator(dir, ec)) {
    const int64_t e = checkpoint_epoch(entry.path().filename().string());
    if (e > best) {
      best = e;
      path = entry.path().string();
    }
  }
  return path;
}

void prune_checkpoints(const CheckpointConfig& c) {
  std::error_code ec;
  std::vector<std::pair<int64_t, fs::path>> found;
  const std::string own_temp = ".tmp." + std::to_string(::getpid());
  for (auto& entry : fs::directory_iterator(c.dir, ec)) {
    const std::string name = entry.path().filename().string();
    const int64_t e = checkpoint_epoch(name);
    if (e >= 0) found.push_back({e, entry.path()});
    // temp files of killed saves (ours are renamed or removed before we get here)
    const auto tmp = name.find(".safetensors.tmp.");
    if (name.rfind("ckpt_", 0) == 0 && tmp != std::string::npos && name.find(own_temp) == std::string::npos)
      fs::remove(entry.path(), ec);
  }
  std::sort(found.rbegin(), found.rend());
  for (size_t i = static_cast<size_t>(std::max<int64_t>(c.keep, 1)); i < found.size(); ++i) fs::remove(found[i].second, ec);
}

void save_checkpoint(const std::string& path, const Config& config, const TrainState& state) {
  const fs::path parent = fs::path(path).parent_path();
  std::error_code ec;
  if (!parent.empty()) fs::create_directories(parent, ec);
  NamedTensors t;
  const auto info = config.model->param_info();
  if (info.size() != state.params.size()) throw Error("save_checkpoint: the state does not match the model");
  for (size_t i = 0; i < info.size(); ++i) {
    t.names.push_back("params/" + info[i].name);
    t.tensors.push_back(state.params[i]);
  }
  for (size_t k = 0; k < state.opt.slots.size(); ++k)
    for (size_t i = 0; i < info.size(); ++i) {
      t.names.push_back("opt/" + state.opt.slot_names[k] + "/" + info[i].name);
      t.tensors.push_back(state.opt.slots[k][i]);
    }
  t.metadata = {{"format", "xlax-checkpoint"},
                {"format_version", "1"},
                {"epoch", std::to_string(state.epoch)},
                {"step", std::to_string(state.opt.step)},
                {"optimizer", config.optimizer_name},
                {"config", config.text}};
  const RunState& r = state.run;
  auto num = [](double v) {
    char b[40];
    std::snprintf(b, sizeof b, "%.17g", v);
    return std::string(b);
  };
  t.metadata["run_id"] = r.run_id;
  t.metadata["run_state"] = num(r.lr_scale) + " " + num(r.plateau_best) + " " + std::to_string(r.plateau_wait) + " " +
                            std::to_string(r.plateau_epochs) + " " + num(r.stop_best) + " " + std::to_string(r.stop_wait) +
                            " " + std::to_string(r.stop_epochs) + " " + num(r.best_metric) + " " +
                            std::to_string(r.best_epoch) + " " + (r.stopped ? "1" : "0");
  std::string classes;
  for (auto& c : config.data.class_names) classes += (classes.empty() ? "" : "\n") + c;
  if (!classes.empty()) t.metadata["class_names"] = classes;
  save_safetensors(path, t);
}

std::vector<std::string> checkpoint_class_names(const std::string& path) {
  NamedTensors t = load_safetensors(path);
  std::vector<std::string> out;
  auto it = t.metadata.find("class_names");
  if (it == t.metadata.end()) return out;
  std::stringstream ss(it->second);
  for (std::string line; std::getline(ss, line);) out.push_back(line);
  return out;
}

TrainState load_checkpoint(const std::string& path, const Config& config, bool params_only) {
  NamedTensors t = load_safetensors(path);
  auto fail = [&](const std::string& why) -> Error { return Error("load_checkpoint: '" + path + "': " + why); };
  if (t.metadata["format"] != "xlax-checkpoint") throw fail("not an xlax checkpoint (metadata format is missing)");
  std::map<std::string, Tensor> by_name;
  for (size_t i = 0; i < t.names.size(); ++i) by_name[t.names[i]] = t.tensors[i];
  // Shapes come from the model on the config's input shape.
  Trainer shapes_only(config);
  TrainState s = shapes_only.init_state();
  const auto info = config.model->param_info();
  auto take = [&](const std::string& name, Tensor& into) {
    auto it = by_name.find(name);
    if (it == by_name.end()) throw fail("tensor '" + name + "' is missing (was it saved from another model?)");
    if (it->second.shape() != into.shape())
      throw fail("tensor '" + name + "' has shape " + to_string(it->second.shape()) + ", the model expects " +
                 to_string(into.shape()));
    into = astype(it->second, into.dtype());
    by_name.erase(it);
  };
  for (size_t i = 0; i < info.size(); ++i) take("params/" + info[i].name, s.params[i]);
  if (params_only) {
    for (auto it = by_name.begin(); it != by_name.end();) it = it->first.rfind("opt/", 0) == 0 ? by_name.erase(it) : std::next(it);
  } else {
    for (size_t k = 0; k < s.opt.slots.size(); ++k)
      for (size_t i = 0; i < info.size(); ++i) take("opt/" + s.opt.slot_names[k] + "/" + info[i].name, s.opt.slots[k][i]);
  }
  if (!by_name.empty()) throw fail("unexpected tensor '" + by_name.begin()->first + "' (another model or optimizer?)");
  try {
    s.epoch = std::stoll(t.metadata.at("epoch"));
    s.opt.step = std::stoll(t.metadata.at("step"));
  } catch (const std::exception&) {
    throw fail("metadata epoch/step missing or not integers");
  }
  s.run.run_id = t.metadata.count("run_id") ? t.metadata["run_id"] : "";
  if (t.metadata.count("run_state")) {
    std::stringstream ss(t.metadata["run_state"]);
    RunState& r = s.run;
    int stopped = 0;
    ss >> r.lr_scale >> r.plateau_best >> r.plateau_wait >> r.plateau_epochs >> r.stop_best >> r.stop_wait >>
        r.stop_epochs >> r.best_metric >> r.best_epoch >> stopped;
    if (ss.fail() || !(r.lr_scale > 0)) throw fail("metadata run_state is malformed");
    r.stopped = stopped != 0;
  }
  std::vector<Tensor> all = s.params;
  for (auto& slot : s.opt.slots) all.insert(all.end(), slot.begin(), slot.end());
  eval(all);
  return s;
}

}  // namespace xlax::nn
