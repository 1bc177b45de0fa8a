// A residual block as an nn::Graph built in C++: two 3x3 convs with BatchNorm on the main
// path, a 1x1 stride-2 projection on the shortcut, Add, relu; then a small classifier around
// it. Prints each node's inputs and output shape, trains a few steps on random data and
// checks the gradient of every parameter against finite differences (float64).
#include <xlax/xlax.hpp>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

using namespace xlax;
using nn::GraphNode;

// The nodes of one basic block reading `from`; names are prefixed with `name`.
std::vector<GraphNode> basic_block(const std::string& name, const std::string& from, int64_t features) {
  auto conv = [](int64_t f, int64_t k, int64_t stride) {
    nn::ConvOptions o;
    o.features = f;
    o.kernel_size = {k, k};
    o.strides = {stride, stride};
    o.use_bias = false;
    o.kernel_init = "he_normal";
    return nn::Conv(o);
  };
  return {
      {conv(features, 3, 2), name + "_conv1", {from}},
      {nn::BatchNorm(0.9), name + "_bn1", {}},   // {} = the previous node
      {nn::Activation("relu"), name + "_relu1", {}},
      {conv(features, 3, 1), name + "_conv2", {}},
      {nn::BatchNorm(0.9), name + "_bn2", {}},
      {conv(features, 1, 2), name + "_proj", {from}},   // the shortcut: a second branch
      {nn::BatchNorm(0.9), name + "_proj_bn", {}},
      {nn::Add(), name + "_add", {name + "_bn2", name + "_proj_bn"}},
      {nn::Activation("relu"), name + "_out", {}},
  };
}

int main() {
  nn::ConvOptions stem;
  stem.features = 8;
  stem.kernel_size = {3, 3};
  std::vector<GraphNode> nodes{{nn::Conv(stem), "stem", {"input"}}, {nn::Activation("relu"), "stem_relu", {}}};
  for (auto& n : basic_block("block1", "stem_relu", 16)) nodes.push_back(n);
  nodes.push_back({nn::GlobalAvgPool(), "pool", {}});
  nodes.push_back({nn::Dense(10), "head", {}});
  nn::Graph model(nodes);   // the output is the last node; Graph(nodes, "name") picks another

  const Shape input{4, 12, 12, 1};
  const std::vector<Shape> shapes = model.layer_output_shapes(input);
  for (size_t i = 0; i < model.nodes().size(); ++i) {
    std::string from;
    for (auto& in : model.nodes()[i].inputs) from += (from.empty() ? "" : ", ") + in;
    std::printf("%-16s %-13s <- %-26s %s\n", model.nodes()[i].name.c_str(), model.layers()[i]->type().c_str(),
                from.c_str(), to_string(shapes[i]).c_str());
  }
  std::printf("parameters: %zu tensors, named like %s\n", model.param_info().size(),
              model.param_info()[2].name.c_str());

  // Training: value_and_grad of the loss, an optimizer step, BatchNorm's running
  // statistics taken from ctx.updates (keyed by parameter name).
  std::vector<Tensor> params = model.init(random::key(0), input);
  nn::OptimizerPtr opt = nn::SGD(0.9);
  nn::OptState state = opt->init(params);
  std::vector<bool> trainable;
  for (auto& p : model.param_info()) trainable.push_back(p.trainable);
  const Tensor x = random::normal(random::key(1), input);
  const int32_t label_values[4] = {3, 1, 4, 1};
  const Tensor labels = asarray(label_values, {4});
  std::vector<int> argnums(params.size());
  for (size_t i = 0; i < argnums.size(); ++i) argnums[i] = static_cast<int>(i);
  for (int step = 0; step < 5; ++step) {
    std::map<std::string, Tensor> updates;
    nn::Context ctx;
    ctx.train = true;
    ctx.updates = &updates;
    ScalarFn loss = [&](const std::vector<Tensor>& p) {
      return nn::softmax_cross_entropy(model.apply(p, x, ctx), labels);
    };
    auto [value, grads] = value_and_grad(loss, argnums)(params);
    opt->update(params, grads, state, 0.05, trainable);
    const auto info = model.param_info();
    for (size_t i = 0; i < info.size(); ++i)
      if (updates.count(info[i].name)) params[i] = updates.at(info[i].name);
    eval(params);
    std::printf("step %d: loss %.4f\n", step + 1, value.item<double>());
  }

  // The gradient of every parameter, in eval mode, against finite differences.
  std::vector<Tensor> params64;
  for (auto& p : params) params64.push_back(astype(p, DType::float64));
  const Tensor x64 = astype(x, DType::float64);
  ScalarFn loss64 = [&](const std::vector<Tensor>& p) {
    nn::Context ctx;
    return nn::softmax_cross_entropy(model.apply(p, x64, ctx), labels);
  };
  check_grads(loss64, params64, 1);
  std::printf("check_grads: %zu parameter tensors agree with finite differences\n", params64.size());
  return 0;
}
