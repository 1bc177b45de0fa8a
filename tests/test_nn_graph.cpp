// Graph models: the graph layers (values and order-2 float64 gradients), nn::Graph built in
// C++, graph configs (names, inputs, model.output and every rejection), summary,
// checkpoint names, gradcheck and training of a small residual model.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <xlax/xlax.hpp>

using namespace xlax;
using namespace xlax::nn;
using Catch::Matchers::Contains;
#include "core/graph.hpp"
#include "nn_test_util.hpp"

using namespace nn_test;

namespace {

Tensor apply_multi(const LayerPtr& layer, const std::vector<Tensor>& xs) {
  Context ctx;
  return layer->apply_multi({}, xs, ctx);
}

// Order-2 reverse-mode check (finite differences of the gradient too) through a
// parameter-free layer of any number of inputs.
void check_order2(const LayerPtr& layer, const std::vector<Tensor>& xs) {
  Fn f = [&](const std::vector<Tensor>& a) {
    Context ctx;
    return std::vector<Tensor>{layer->apply_multi({}, a, ctx)};
  };
  check_grads(f, xs, 2, 1e-6, 1e-5, 1e-6);
}

ConvOptions conv3x3(int64_t features, int64_t stride = 1) {
  ConvOptions o;
  o.features = features;
  o.kernel_size = {3, 3};
  o.strides = {stride, stride};
  return o;
}

}  // namespace

TEST_CASE("Add and Concatenate: values, shape rules, order-2 gradients", "[nn][graph]") {
  Tensor a = f64({1, 2, 3, 4, 5, 6}, {1, 2, 3}), b = f64({10, 20, 30, 40, 50, 60}, {1, 2, 3});
  Tensor c = f64({-1, -2, -3, -4, -5, -6}, {1, 2, 3});
  CHECK(vals(apply_multi(Add(), {a, b})) == std::vector<double>{11, 22, 33, 44, 55, 66});
  CHECK(vals(apply_multi(Add(), {a, b, c})) == std::vector<double>{10, 20, 30, 40, 50, 60});
  CHECK_THROWS_WITH(Add()->output_shape_multi({{1, 2, 3}, {1, 2, 1}}),
                    Contains("input 1 has shape (1, 2, 1), input 0 has (1, 2, 3)") && Contains("does not broadcast"));
  CHECK_THROWS_WITH(Add()->output_shape_multi({{1, 2, 3}}), Contains("Add takes 2 or more inputs, got 1"));
  CHECK(Add()->multi_input());

  // axis -1 (channels) and axis 1, counted with the batch as 0
  Tensor d = f64({7, 8}, {1, 2, 1});
  CHECK(Concatenate()->output_shape_multi({{1, 2, 3}, {1, 2, 1}}) == Shape{1, 2, 4});
  CHECK(vals(apply_multi(Concatenate(), {a, d})) == std::vector<double>{1, 2, 3, 7, 4, 5, 6, 8});
  CHECK(vals(apply_multi(Concatenate(1), {a, b})) == std::vector<double>{1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 60});
  CHECK(vals(apply_multi(Concatenate(-2), {a, b})) == vals(apply_multi(Concatenate(1), {a, b})));
  CHECK(vals(apply_multi(Concatenate(2), {a, d, a})) ==
        std::vector<double>{1, 2, 3, 7, 1, 2, 3, 4, 5, 6, 8, 4, 5, 6});
  CHECK_THROWS_WITH(Concatenate(0), Contains("axis 0 is the batch dimension"));
  CHECK_THROWS_WITH(Concatenate(-3)->output_shape_multi({{1, 2, 3}, {1, 2, 3}}), Contains("the batch dimension"));
  CHECK_THROWS_WITH(Concatenate(3)->output_shape_multi({{1, 2, 3}, {1, 2, 3}}), Contains("out of range"));
  CHECK_THROWS_WITH(Concatenate()->output_shape_multi({{1, 2, 3}, {1, 3, 3}}),
                    Contains("input 1 has shape (1, 3, 3), input 0 has (1, 2, 3)"));

  check_order2(Add(), {rnd({2, 3, 2}, 1), rnd({2, 3, 2}, 2)});
  check_order2(Add(), {rnd({2, 3}, 1), rnd({2, 3}, 2), rnd({2, 3}, 3)});
  check_order2(Concatenate(), {rnd({2, 3, 2}, 1), rnd({2, 3, 1}, 2)});
  check_order2(Concatenate(1), {rnd({2, 1, 2}, 1), rnd({2, 3, 2}, 2)});
}

TEST_CASE("GlobalAvgPool, GlobalMaxPool, Upsample, Identity: values and order-2 gradients", "[nn][graph]") {
  // (N=2, H=2, W=2, C=2)
  Tensor x = f64({1, -1, 2, -2, 3, -3, 4, -9,  //
                  5, 0, 6, 1, 7, 2, 8, 3},
                 {2, 2, 2, 2});
  CHECK(GlobalAvgPool()->output_shape({2, 2, 2, 2}) == Shape{2, 2});
  CHECK(vals(apply(GlobalAvgPool(), {}, x)) == std::vector<double>{2.5, -3.75, 6.5, 1.5});
  CHECK(vals(apply(GlobalMaxPool(), {}, x)) == std::vector<double>{4, -1, 8, 3});
  CHECK(GlobalMaxPool()->output_shape({3, 5, 4}) == Shape{3, 4});           // 1-D
  CHECK(GlobalAvgPool()->output_shape({3, 2, 2, 2, 6}) == Shape{3, 6});     // 3-D
  CHECK_THROWS_WITH(GlobalAvgPool()->output_shape({3, 4}), Contains("rank >= 3"));

  // nearest: each value repeated scale times along each spatial dim
  Tensor y = f64({1, 2, 3, 4}, {1, 2, 2, 1});
  CHECK(Upsample({2})->output_shape({1, 2, 2, 1}) == Shape{1, 4, 4, 1});
  CHECK(vals(apply(Upsample({2}), {}, y)) ==
        std::vector<double>{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4});
  CHECK(vals(apply(Upsample({1, 3}), {}, y)) == std::vector<double>{1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4});
  Tensor z = f64({1, 10, 2, 20}, {1, 2, 2});  // 1-D, 2 channels
  CHECK(vals(apply(Upsample({2}), {}, z)) == std::vector<double>{1, 10, 1, 10, 2, 20, 2, 20});
  CHECK_THROWS_WITH(Upsample({2, 2, 2})->output_shape({1, 4, 4, 1}), Contains("scale has 3 entries"));
  CHECK_THROWS_WITH(Upsample({0}), Contains("must be >= 1"));
  CHECK(vals(apply(Identity(), {}, y)) == vals(y));

  auto one = [](const LayerPtr& l, Tensor t) { check_order2(l, {t}); };
  one(GlobalAvgPool(), rnd({2, 3, 2, 3}, 4));
  one(GlobalMaxPool(), rnd({2, 3, 2, 3}, 5));
  one(Upsample({2, 3}), rnd({2, 2, 2, 2}, 6));
  one(Upsample({2}), rnd({1, 3, 2}, 7));
  one(Identity(), rnd({2, 3}, 8));
}

TEST_CASE("Graph in C++: a residual block, names, keys, a chain equals Sequential", "[nn][graph]") {
  ConvOptions c = conv3x3(4);
  // x -> conv1 -> bn -> relu -> conv2 -> add(x') -> relu, with a 1x1 projection of x
  ConvOptions proj;
  proj.features = 4;
  proj.kernel_size = {1, 1};
  Graph block({{Conv(c), "conv1", {}},
               {BatchNorm(0.9), "bn1", {}},
               {Activation("relu"), "", {}},
               {Conv(c), "conv2", {}},
               {Conv(proj), "shortcut", {"input"}},
               {Add(), "add", {"conv2", "shortcut"}},
               {Activation("relu"), "out", {}}});
  auto info = block.param_info();
  std::vector<std::string> names;
  for (auto& p : info) names.push_back(p.name);
  CHECK(names == std::vector<std::string>{"conv1.kernel", "conv1.bias", "bn1.scale", "bn1.bias", "bn1.mean", "bn1.var",
                                          "conv2.kernel", "conv2.bias", "shortcut.kernel", "shortcut.bias"});
  CHECK(block.nodes()[2].name == "2");
  CHECK(block.nodes()[3].inputs == std::vector<std::string>{"2"});
  CHECK(block.output_shape({2, 6, 6, 3}) == Shape{2, 6, 6, 4});

  // the block's value equals the same computation spelled out with the layers
  auto p = block.init(random::key(1), {2, 6, 6, 3}, DType::float64);
  for (auto& t : p) t = t + 0.1 * rnd(t.shape(), 11);
  Tensor x = rnd({2, 6, 6, 3}, 2);
  std::map<std::string, Tensor> updates;
  Context ctx;
  ctx.train = true;
  ctx.updates = &updates;
  Tensor got = block.apply(p, x, ctx);
  Context sub;
  sub.train = true;
  Tensor h = block.layers()[0]->apply({p[0], p[1]}, x, sub);
  h = relu(block.layers()[1]->apply({p[2], p[3], p[4], p[5]}, h, sub));
  h = block.layers()[3]->apply({p[6], p[7]}, h, sub);
  Tensor want = relu(h + block.layers()[4]->apply({p[8], p[9]}, x, sub));
  auto g = vals(got), w = vals(want);
  REQUIRE(g.size() == w.size());
  for (size_t i = 0; i < g.size(); ++i) REQUIRE(g[i] == Approx(w[i]).margin(1e-12));
  // BatchNorm inside a graph reports its running statistics under the node's name
  CHECK(updates.size() == 2);
  CHECK(updates.count("bn1.mean") == 1);
  CHECK(updates.count("bn1.var") == 1);
  // eval mode uses the running statistics (init: mean 0, var 1), so differs from train mode
  Context eval_ctx;
  CHECK(vals(block.apply(p, x, eval_ctx)) != g);

  // order-2 gradients through the whole block (train-mode BatchNorm) w.r.t. input and params
  Fn f = [&](const std::vector<Tensor>& a) {
    Context t;
    t.train = true;
    return std::vector<Tensor>{block.apply(std::vector<Tensor>(a.begin() + 1, a.end()), a[0], t)};
  };
  std::vector<Tensor> args{rnd({2, 3, 3, 3}, 3)};
  auto small = block.init(random::key(2), {2, 3, 3, 3}, DType::float64);
  for (auto& t : small) t = t + 0.1 * rnd(t.shape(), 12);
  args.insert(args.end(), small.begin(), small.end());
  check_grads(f, args, 2, 1e-5, 1e-4, 1e-6);

  // a chain of unnamed nodes is Sequential: same names, same init keys, same values
  std::vector<LayerPtr> layers{Conv(c), Activation("relu"), Dropout(0.5), Flatten(), Dense(3)};
  Sequential seq(layers);
  std::vector<GraphNode> nodes;
  for (auto& l : layers) nodes.push_back({l, "", {}});
  Graph chain(nodes);
  CHECK(chain.param_info()[2].name == "4.kernel");
  auto ps = seq.init(random::key(5), {2, 5, 5, 1}), pc = chain.init(random::key(5), {2, 5, 5, 1});
  REQUIRE(ps.size() == pc.size());
  for (size_t i = 0; i < ps.size(); ++i) CHECK(to_vector<float>(ps[i]) == to_vector<float>(pc[i]));
  Context k1, k2;
  k1.train = k2.train = true;
  k1.key = k2.key = random::key(9);
  Tensor xs = random::normal(random::key(3), {2, 5, 5, 1});
  CHECK(to_vector<float>(seq.apply(ps, xs, k1)) == to_vector<float>(chain.apply(pc, xs, k2)));
  // a named node changes the parameter name only
  nodes[4].name = "head";
  CHECK(Graph(nodes).param_info()[2].name == "head.kernel");
  // model output other than the last node
  Graph early({{Conv(c), "a", {}}, {Activation("relu"), "b", {}}, {Add(), "c", {"a", "b"}}}, "c");
  CHECK(early.output_node() == 2);
}

TEST_CASE("Graph in C++: every rejection names the layer and the rule", "[nn][graph]") {
  ConvOptions c = conv3x3(2);
  auto rejects = [](std::vector<GraphNode> nodes, const std::string& output, const std::string& expected) {
    INFO(expected);
    CHECK_THROWS_WITH(Graph(std::move(nodes), output), Contains(expected));
  };
  rejects({{Conv(c), "a", {"b"}}, {Activation("relu"), "b", {}}}, "",
          "layer 0 (Conv 'a'): inputs: 'b' is this layer or a later one");
  rejects({{Conv(c), "a", {"a"}}}, "", "'a' is this layer or a later one");
  rejects({{Conv(c), "a", {"nope"}}}, "", "unknown layer 'nope'");
  rejects({{Conv(c), "a", {}}, {Activation("relu"), "a", {}}}, "", "duplicate name 'a' (layer 0 has it)");
  rejects({{Conv(c), "input", {}}}, "", "'input' is reserved");
  rejects({{Conv(c), "a.b", {}}}, "", "may not contain '.'");
  rejects({{Conv(c), "a", {}}, {Add(), "b", {}}}, "", "Add takes 2 or more inputs, got 1");
  rejects({{Conv(c), "a", {}}, {Activation("relu"), "b", {"a", "input"}}}, "", "relu takes exactly 1 input, got 2");
  rejects({{Conv(c), "a", {}}, {Activation("relu"), "b", {"input"}}}, "",
          "layer 0 (Conv 'a'): the output of this layer is used by no other layer");
  rejects({{Conv(c), "a", {}}, {Activation("relu"), "b", {}}}, "a", "layer 1 (relu 'b')");
  rejects({{Conv(c), "a", {}}}, "z", "output: 'z' is not a layer name");
  rejects({{Conv(c), "a", {}}}, "input", "the model input cannot be the output");
  rejects({{nullptr, "a", {}}}, "", "no layer given");
  // a dead branch: b reads a, c reads b, but the output is a
  rejects({{Conv(c), "a", {}}, {Activation("relu"), "b", {}}, {Activation("relu"), "c", {}}}, "a", "layer 2 (relu 'c')");
  // shape errors name the node and the shapes of its inputs with their sources
  Graph g({{Conv(c), "a", {}}, {MaxPool({2, 2}), "p", {}}, {Add(), "s", {"a", "p"}}});
  CHECK_THROWS_WITH(g.output_shape({1, 4, 4, 1}),
                    Contains("layer 2 (Add 's'): with input shapes (1, 4, 4, 2) from 'a', (1, 2, 2, 2) from 'p'") &&
                        Contains("input 1 has shape (1, 2, 2, 2), input 0 has (1, 4, 4, 2)"));
}

namespace {
const char* kResidualConfig = R"({
  "schema_version": 1,
  "model": {"layers": [
    {"type": "Conv", "name": "stem", "features": 4, "kernel_size": [3, 3]},
    {"type": "BatchNorm", "name": "stem_bn", "momentum": 0.9},
    {"type": "relu", "name": "stem_relu"},
    {"type": "Conv", "name": "block1_conv1", "features": 4, "kernel_size": [3, 3]},
    {"type": "relu"},
    {"type": "Conv", "name": "block1_conv2", "features": 4, "kernel_size": [3, 3]},
    {"type": "Add", "name": "block1_add", "inputs": ["block1_conv2", "stem_relu"]},
    {"type": "relu", "name": "block1_out"},
    {"type": "Conv", "name": "down", "features": 6, "kernel_size": [3, 3], "strides": 2},
    {"type": "Upsample", "name": "up", "scale": 2},
    {"type": "Concatenate", "name": "cat", "inputs": ["up", "block1_out"]},
    {"type": "Dropout", "rate": 0.25},
    {"type": "GlobalAvgPool", "name": "gap"},
    {"type": "Dense", "name": "head", "features": 3}
  ]},
  "optimizer": {"type": "adam", "learning_rate": 0.01},
  "data": {"source": "synthetic", "kind": "images2d", "train_size": 96, "test_size": 48, "num_classes": 3},
  "training": {"epochs": 2, "batch_size": 32, "seed": 1}
})";
}  // namespace

TEST_CASE("graph configs: names, inputs, summary, checkpoint names, gradcheck, training", "[nn][graph][config]") {
  Config c = parse_config(kResidualConfig);
  CHECK(c.model->output_shape({2, 12, 12, 1}) == Shape{2, 3});
  CHECK(c.model->layer_output_shapes({2, 12, 12, 1})[10] == Shape{2, 12, 12, 10});
  auto info = c.model->param_info();
  CHECK(info[0].name == "stem.kernel");
  CHECK(info[6].name == "block1_conv1.kernel");
  CHECK(c.model->nodes()[4].name == "4");   // unnamed: its index
  CHECK(c.model->nodes()[5].inputs == std::vector<std::string>{"4"});
  CHECK(c.layer_types[6] == "Add");

  const std::string table = summary(c);
  INFO(table);
  CHECK_THAT(table, Contains("Model: Graph, input (None, 12, 12, 1), output 'head' (None, 3)"));
  CHECK_THAT(table, Contains("block1_add Add()") && Contains("block1_conv2, stem_relu"));
  CHECK_THAT(table, Contains("cat Concatenate(axis=-1)") && Contains("(None, 12, 12, 10)") && Contains("up, block1_out"));
  // stem 40, stem_bn 16, two block convs 148 each, down 222, head 33: 607, 8 running statistics
  CHECK_THAT(table, Contains("Total params: 607") && Contains("Non-trainable params: 8"));
  // a chain still prints as a Sequential
  Config chain = load_config(XLAX_SOURCE_DIR "/examples/fashion_mnist_cnn.json");
  CHECK_THAT(summary(chain), Contains("Model: Sequential") && !Contains("Inputs"));

  auto lines = gradcheck(c);
  CHECK(lines.size() == info.size());
  CHECK_THAT(lines[0], Contains("stem.kernel") && Contains("ok"));

  // training: the loss falls, BatchNorm statistics move, checkpoint names use node names
  const std::string dir = (fs::temp_directory_path() / ("xlax_test_graph_" + std::to_string(::getpid()))).string();
  fs::remove_all(dir);
  auto j = nlohmann::json::parse(kResidualConfig);
  j["checkpoint"] = {{"dir", dir}};
  Config trained = parse_config(j.dump());
  Trainer trainer(trained);
  TrainState s = trainer.init_state();
  auto hist = trainer.fit(s);
  REQUIRE(hist.size() == 2);
  CHECK(hist[1].train_loss < hist[0].train_loss);
  CHECK(to_vector<float>(s.params[4]) != std::vector<float>(4, 0.0f));   // stem_bn.mean
  NamedTensors saved = load_safetensors(newest_checkpoint(dir));
  CHECK(std::find(saved.names.begin(), saved.names.end(), "params/block1_conv1.kernel") != saved.names.end());
  CHECK(std::find(saved.names.begin(), saved.names.end(), "params/stem_bn.mean") != saved.names.end());
  CHECK(std::find(saved.names.begin(), saved.names.end(), "opt/m/head.bias") != saved.names.end());
  TrainState back = load_checkpoint(newest_checkpoint(dir), trained);
  for (size_t i = 0; i < s.params.size(); ++i) CHECK(to_vector<float>(back.params[i]) == to_vector<float>(s.params[i]));
  fs::remove_all(dir);
}

TEST_CASE("graph config errors name the JSON path and the layer", "[nn][graph][config]") {
  using nlohmann::json;
  const json base = json::parse(kResidualConfig);
  REQUIRE_NOTHROW(parse_config(base.dump()));
  auto layer = [](json& j, int i) -> json& { return j["model"]["layers"][i]; };
  std::vector<ConfigErrorCase> cases = {
      {[&](json& j) { layer(j, 6)["inputs"] = {"block1_conv2", "stem_rleu"}; },
       "config: model.layers[6].inputs (layer 6, Add 'block1_add'): unknown layer 'stem_rleu'"},
      {[&](json& j) { layer(j, 6)["inputs"] = {"block1_conv2", "cat"}; },
       "config: model.layers[6].inputs (layer 6, Add 'block1_add'): 'cat' is this layer or a later one"},
      {[&](json& j) { layer(j, 3)["name"] = "stem"; }, "config: model.layers[3].name (layer 3, Conv 'stem'): duplicate name 'stem'"},
      {[&](json& j) { layer(j, 0)["name"] = "input"; }, "config: model.layers[0].name (layer 0, Conv 'input'): 'input' is reserved"},
      {[&](json& j) { layer(j, 0)["name"] = ""; }, "config: model.layers[0].name (layer 0, Conv ''): expected a non-empty string"},
      {[&](json& j) { layer(j, 0)["name"] = 3; }, "config: model.layers[0].name (layer 0, Conv): expected a non-empty string, got integer 3"},
      {[&](json& j) { layer(j, 6)["inputs"] = json::array(); }, "config: model.layers[6].inputs (layer 6, Add 'block1_add'): expected a layer name or a non-empty list"},
      {[&](json& j) { layer(j, 6)["inputs"] = {"stem", 2}; }, "config: model.layers[6].inputs[1] (layer 6, Add 'block1_add'): expected a layer name, got integer 2"},
      {[&](json& j) { layer(j, 6)["inputs"] = "block1_conv2"; },
       "config: model.layers[6].inputs (layer 6, Add 'block1_add'): Add takes 2 or more inputs, got 1"},
      {[&](json& j) { layer(j, 6).erase("inputs"); }, "Add takes 2 or more inputs, got 1 (list them in \"inputs\")"},
      {[&](json& j) { layer(j, 7)["inputs"] = {"block1_add", "stem"}; },
       "config: model.layers[7].inputs (layer 7, relu 'block1_out'): relu takes exactly 1 input, got 2"},
      {[&](json& j) { layer(j, 10)["inputs"] = {"down", "block1_out"}; },
       "config: model.layers[9] (layer 9, Upsample 'up'): the output of this layer is used by no other layer"},
      {[&](json& j) { layer(j, 6)["inputs"] = {"block1_conv2", "down"}; },
       "config: model.layers[6].inputs (layer 6, Add 'block1_add'): 'down' is this layer or a later one"},
      {[&](json& j) { layer(j, 10)["inputs"] = {"down", "block1_out", "up"}; },
       "config: model.layers[10] (layer 10, Concatenate 'cat'): with input shapes (1, 6, 6, 6) from 'down', (1, 12, 12, 4) "
       "from 'block1_out', (1, 12, 12, 6) from 'up': Concatenate: input 1 has shape (1, 12, 12, 4), input 0 has (1, 6, 6, 6)"},
      {[&](json& j) { layer(j, 10)["axis"] = 0; }, "config: model.layers[10] (layer 10, Concatenate 'cat'): Concatenate: axis 0 is the batch"},
      {[&](json& j) { layer(j, 9)["scale"] = {2, 2, 2}; }, "config: model.layers[9] (layer 9, Upsample 'up'): with inferred input shape (1, 6, 6, 6): Upsample: input shape (1, 6, 6, 6): Upsample: scale has 3 entries"},
      {[&](json& j) { j["model"]["output"] = "cat"; },
       "config: model.layers[13] (layer 13, Dense 'head'): the output of this layer is used by no other layer"},
      {[&](json& j) { j["model"]["layers"].erase(13); }, "config: model: the model output (1, 10) must be (batch, classes)"},
      {[&](json& j) { j["model"]["output"] = "gpa"; }, "config: model.output: 'gpa' is not a layer name"},
      {[&](json& j) { j["model"]["output"] = "input"; }, "config: model.output: 'input' is not a layer name (the model input cannot be the output)"},
      {[&](json& j) { j["model"]["output"] = ""; }, "config: model.output: expected a layer name"},
      {[&](json& j) { j["model"]["outputs"] = "x"; }, "config: model.outputs: unknown key 'outputs' (accepted: layers, output)"},
      {[&](json& j) { layer(j, 12)["name"] = "gap"; layer(j, 12)["inputz"] = "cat"; },
       "config: model.layers[12].inputz (layer 12, GlobalAvgPool 'gap'): unknown key 'inputz'"},
  };
  check_config_errors(base, cases);
  // layer types are found ignoring case and underscores
  json j = base;
  layer(j, 12)["type"] = "global_avg_pool";
  layer(j, 6)["type"] = "add";
  layer(j, 10)["type"] = "CONCATENATE";
  CHECK(parse_config(j.dump()).layer_types[12] == "GlobalAvgPool");
}

// Graph evaluation adds no passes: a named node's output is the layer's own tensor, an Add
// of two conv outputs is one elementwise node reading them, a Concatenate one node that
// copies each input once.
TEST_CASE("graph: Add and Concatenate are one node over their inputs", "[nn][graph]") {
  ConvOptions c = conv3x3(4);
  c.use_bias = false;
  for (const std::string merge : {"add", "concatenate"}) {
    INFO(merge);
    Graph g({{Conv(c), "a", {"input"}},
             {Conv(c), "b", {"input"}},
             {merge == "add" ? Add() : Concatenate(), "m", {"a", "b"}}});
    std::vector<Tensor> p = g.init(random::key(0), {2, 6, 6, 3});
    Context ctx;
    Tensor y = g.apply(p, random::normal(random::key(1), {2, 6, 6, 3}), ctx);
    const auto& node = *y.node();
    REQUIRE(node.prim);
    CHECK(node.prim->name() == merge);
    REQUIRE(node.inputs.size() == 2);
    for (auto& in : node.inputs) {
      REQUIRE(in->prim);
      CHECK(in->prim->name() == "conv_general_dilated");
    }
  }
}
