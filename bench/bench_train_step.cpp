// One training step of a config's model, split into the evaluations it is made of: the
// forward pass with the loss, value_and_grad (forward + backward), and the optimizer update
// given evaluated gradients, each timed as its own eval, next to the whole step as
// `xlax train` runs it (one eval of loss, gradients, update and BatchNorm statistics).
// Batches are the config's first training examples at its batch_size; for reconstruct tasks
// the parts run on the clean batch (the whole step adds the config's input noise).
// Usage: bench_train_step CONFIG.json [--steps N (default 20)] [--threads T]
#include <xlax/autodiff.hpp>
#include <xlax/core.hpp>
#include <xlax/nn.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <numeric>
#include <string>
#include <vector>

namespace {

using namespace xlax;

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Median milliseconds of `steps` runs after one warm-up run.
double median_ms(int steps, const std::function<void()>& run) {
  run();
  std::vector<double> ms;
  for (int i = 0; i < steps; ++i) {
    const double t0 = now_seconds();
    run();
    ms.push_back(1e3 * (now_seconds() - t0));
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0) {
    std::printf("usage: bench_train_step CONFIG.json [--steps N] [--threads T]\n");
    return argc < 2 ? 2 : 0;
  }
  int steps = 20, threads = 0;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--steps") == 0) steps = std::max(1, std::atoi(argv[i + 1]));
    if (std::strcmp(argv[i], "--threads") == 0) threads = std::atoi(argv[i + 1]);
  }
  try {
    nn::Config config = nn::load_config(argv[1]);
    if (threads > 0) config.training.threads = threads;
    nn::Trainer trainer(config);
    nn::TrainState state = trainer.init_state();
    const nn::Dataset& data = trainer.train_data();
    const int64_t batch = std::min<int64_t>(config.training.batch_size, data.size());
    std::vector<int64_t> order(static_cast<size_t>(data.size()));
    std::iota(order.begin(), order.end(), 0);
    auto [x, labels] = nn::make_batch(data, order, 0, batch);
    const bool classify = config.training.task == "classify";
    const Tensor target = classify ? labels : x;
    std::vector<bool> trainable;
    for (auto& p : config.model->param_info()) trainable.push_back(p.trainable);
    std::vector<int> argnums(state.params.size());
    std::iota(argnums.begin(), argnums.end(), 0);

    auto loss_fn = [&](const std::vector<Tensor>& params) {
      nn::Context ctx;
      ctx.train = true;
      ctx.key = random::key(1);
      std::map<std::string, Tensor> updates;
      ctx.updates = &updates;
      return trainer.loss(params, x, target, ctx);
    };
    const double forward_ms = median_ms(steps, [&] { loss_fn(state.params).eval(); });
    std::vector<Tensor> grads;
    const double vg_ms = median_ms(steps, [&] {
      auto [value, g] = value_and_grad(loss_fn, argnums)(state.params);
      std::vector<Tensor> all = g;
      all.push_back(value);
      eval(all);
      grads = g;
    });
    const double update_ms = median_ms(steps, [&] {
      std::vector<Tensor> params = state.params;
      nn::OptState opt = state.opt;
      config.optimizer->update(params, grads, opt, 1e-3, trainable);
      std::vector<Tensor> all = params;
      for (auto& slot : opt.slots) all.insert(all.end(), slot.begin(), slot.end());
      eval(all);
    });
    nn::TrainState run = state;
    const double step_ms = median_ms(steps, [&] { trainer.step(run, x, labels, run.opt.step); });

    std::printf("config %s: batch %lld, %d threads, %zu parameter tensors, float32; median of %d runs\n", argv[1],
                static_cast<long long>(batch), get_num_threads(), state.params.size(), steps);
    std::printf("  forward (loss, train mode)      %8.2f ms\n", forward_ms);
    std::printf("  value_and_grad                  %8.2f ms  (backward = %.2f ms, %.2fx the forward)\n", vg_ms,
                vg_ms - forward_ms, (vg_ms - forward_ms) / forward_ms);
    std::printf("  optimizer update                %8.2f ms  (%s, gradients given)\n", update_ms,
                config.optimizer->name().c_str());
    std::printf("  parts summed                    %8.2f ms\n", vg_ms + update_ms);
    std::printf("  whole step (one eval)           %8.2f ms  = %.0f img/s\n", step_ms, 1e3 * batch / step_ms);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_train_step: %s\n", e.what());
    return 1;
  }
  return 0;
}
