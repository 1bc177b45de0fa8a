// summary (a Keras-like table) and gradcheck (float64 check_grads of every parameter).
#include <array>
#include <iomanip>
#include <sstream>

#include "nn/layer_util.hpp"

namespace xlax::nn {

std::string summary(const Config& config) {
  const Graph& model = *config.model;
  Shape in{1};
  for (auto d : config.data.example_shape()) in.push_back(d);
  const auto shapes = model.layer_output_shapes(in);
  auto batchless = [](Shape s) {
    std::string str = to_string(s);
    return "(None" + str.substr(str.find_first_of(",)")) ;
  };
  // A chain (every layer reads the previous one, none named) prints as Keras's Sequential
  // summary; any other graph gets a column of each node's inputs.
  bool chain = model.output_node() + 1 == model.nodes().size();
  for (size_t i = 0; i < model.nodes().size(); ++i)
    chain = chain && !model.named(i) && model.node_inputs()[i] == std::vector<int>{static_cast<int>(i) - 1};
  std::vector<std::array<std::string, 4>> rows;
  int64_t total = 0, trainable = 0;
  for (size_t i = 0; i < model.nodes().size(); ++i) {
    const GraphNode& node = model.nodes()[i];
    std::vector<Shape> node_in;
    for (int j : model.node_inputs()[i]) node_in.push_back(j < 0 ? in : shapes[j]);
    auto params = node.layer->init_multi(random::key(0), node_in);
    const auto info = node.layer->param_info();
    int64_t count = 0;
    for (size_t k = 0; k < params.size(); ++k) {
      count += params[k].size();
      if (info[k].trainable) trainable += params[k].size();
    }
    total += count;
    std::string inputs;
    for (auto& name : node.inputs) inputs += (inputs.empty() ? "" : ", ") + name;
    if (i == model.output_node() && !chain) inputs += "  -> output";
    rows.push_back({node.name + " " + node.layer->describe(), batchless(shapes[i]), std::to_string(count), inputs});
  }
  size_t w0 = 5, w1 = 12, w3 = 6;
  for (auto& r : rows) {
    w0 = std::max(w0, r[0].size());
    w1 = std::max(w1, r[1].size());
    w3 = std::max(w3, r[3].size());
  }
  const size_t width = w0 + w1 + 14 + (chain ? 0 : w3 + 2);
  std::ostringstream os;
  os << "Model: " << (chain ? "Sequential" : "Graph") << ", input " << batchless(in);
  if (!chain) os << ", output '" << model.nodes()[model.output_node()].name << "' " << batchless(shapes[model.output_node()]);
  os << "\n" << std::string(width, '=') << "\n";
  os << std::left << std::setw(w0 + 2) << "Layer" << std::setw(w1 + 2) << "Output shape" << std::right << std::setw(10)
     << "Param #";
  if (!chain) os << "  Inputs";
  os << "\n" << std::string(width, '-') << "\n";
  for (auto& r : rows) {
    os << std::left << std::setw(w0 + 2) << r[0] << std::setw(w1 + 2) << r[1] << std::right << std::setw(10) << r[2];
    if (!chain) os << "  " << r[3];
    os << "\n";
  }
  os << std::string(width, '=') << "\nTotal params: " << total << "\nTrainable params: " << trainable
     << "\nNon-trainable params: " << total - trainable << "\n";
  return os.str();
}

std::vector<std::string> gradcheck(const Config& config, int64_t batch, double atol, double rtol) {
  Trainer trainer(config);
  const Dataset& data = trainer.train_data();
  batch = std::min<int64_t>(batch, data.size());
  std::vector<int64_t> order(batch);
  for (int64_t i = 0; i < batch; ++i) order[i] = i;
  auto [x, labels] = make_batch(data, order, 0, batch, DType::float64);
  const bool classify = config.training.task == "classify";
  Tensor target = classify ? labels : x;
  if (!classify && config.data.noise_std > 0)
    x = x + random::normal(random::key(7), x.shape(), DType::float64) * config.data.noise_std;
  Shape in{1};
  for (auto d : config.data.example_shape()) in.push_back(d);
  std::vector<Tensor> params = config.model->init(random::key(config.training.seed), in, DType::float64);
  const auto info = config.model->param_info();
  // Check at a generic point: zero-initialised biases put relu exactly on its kink for
  // all-zero input patches (image backgrounds), where finite differences are one-sided.
  auto keys = random::split(random::key(config.training.seed + 1), static_cast<int>(params.size()) + 1);
  for (size_t i = 0; i < params.size(); ++i)
    if (info[i].trainable) params[i] = params[i] + 0.05 * random::normal(keys[i], params[i].shape(), DType::float64);
  eval(params);
  std::vector<std::string> report;
  for (size_t i = 0; i < params.size(); ++i) {
    if (!info[i].trainable) {
      report.push_back(info[i].name + " " + to_string(params[i].shape()) + ": skipped (running statistic)");
      continue;
    }
    ScalarFn f = [&](const std::vector<Tensor>& arg) {
      std::vector<Tensor> p = params;
      p[i] = arg[0];
      Context ctx;
      ctx.train = true;  // a fixed key: dropout masks are the same in every evaluation
      ctx.key = random::key(config.training.seed + 2);
      return trainer.loss(p, x, target, ctx);
    };
    try {
      check_grads(f, {params[i]}, 1, atol, rtol, 1e-7);
    } catch (const Error& e) {
      throw GradientMismatch("gradcheck: parameter " + info[i].name + " " + to_string(params[i].shape()) + ": " + e.what());
    }
    report.push_back(info[i].name + " " + to_string(params[i].shape()) + ": ok");
  }
  return report;
}

}  // namespace xlax::nn
