// SGD (as torch.optim.SGD), Adam (L2 in the gradient, as torch.optim.Adam) and AdamW
// (decoupled weight decay), plus learning-rate schedules.
#include <cmath>

#include "xlax/nn.hpp"

namespace xlax::nn {
namespace {

void check_sizes(const char* fn, const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                 const OptState& s, const std::vector<bool>& trainable) {
  if (grads.size() != params.size() || trainable.size() != params.size())
    throw Error(std::string(fn) + ".update: params, grads and trainable must have the same length");
  for (auto& slot : s.slots)
    if (slot.size() != params.size()) throw Error(std::string(fn) + ".update: optimizer state does not match params");
}

OptState zero_slots(const std::vector<Tensor>& params, std::vector<std::string> names) {
  OptState s;
  s.slot_names = std::move(names);
  for (size_t k = 0; k < s.slot_names.size(); ++k) {
    s.slots.emplace_back();
    for (auto& p : params) s.slots.back().push_back(zeros_like(p));
  }
  return s;
}

class SGDOptimizer : public Optimizer {
 public:
  SGDOptimizer(double momentum, bool nesterov, double wd) : mu_(momentum), nesterov_(nesterov), wd_(wd) {
    if (momentum < 0) throw Error("SGD: momentum must be >= 0");
    if (nesterov && momentum == 0) throw Error("SGD: nesterov needs momentum > 0");
  }
  std::string name() const override { return "sgd"; }
  OptState init(const std::vector<Tensor>& params) const override {
    return zero_slots(params, mu_ > 0 ? std::vector<std::string>{"momentum"} : std::vector<std::string>{});
  }
  void update(std::vector<Tensor>& params, const std::vector<Tensor>& grads, OptState& s, double lr,
              const std::vector<bool>& trainable) const override {
    check_sizes("SGD", params, grads, s, trainable);
    for (size_t i = 0; i < params.size(); ++i) {
      if (!trainable[i]) continue;
      Tensor g = wd_ != 0 ? grads[i] + wd_ * params[i] : grads[i];
      if (mu_ > 0) {
        // torch: the buffer starts as the first gradient, which mu * 0 + g also gives.
        Tensor buf = mu_ * s.slots[0][i] + g;
        s.slots[0][i] = buf;
        g = nesterov_ ? g + mu_ * buf : buf;
      }
      params[i] = params[i] - lr * g;
    }
    ++s.step;
  }

 private:
  double mu_;
  bool nesterov_;
  double wd_;
};

class AdamOptimizer : public Optimizer {
 public:
  AdamOptimizer(double b1, double b2, double eps, double wd, bool decoupled)
      : b1_(b1), b2_(b2), eps_(eps), wd_(wd), decoupled_(decoupled) {
    if (!(b1 >= 0 && b1 < 1 && b2 >= 0 && b2 < 1)) throw Error("Adam: b1 and b2 must be in [0, 1)");
    if (!(eps > 0)) throw Error("Adam: eps must be positive");
  }
  std::string name() const override { return decoupled_ ? "adamw" : "adam"; }
  OptState init(const std::vector<Tensor>& params) const override { return zero_slots(params, {"m", "v"}); }
  void update(std::vector<Tensor>& params, const std::vector<Tensor>& grads, OptState& s, double lr,
              const std::vector<bool>& trainable) const override {
    check_sizes("Adam", params, grads, s, trainable);
    const double t = static_cast<double>(s.step + 1);
    const double c1 = 1 - std::pow(b1_, t), c2 = 1 - std::pow(b2_, t);
    for (size_t i = 0; i < params.size(); ++i) {
      if (!trainable[i]) continue;
      Tensor g = !decoupled_ && wd_ != 0 ? grads[i] + wd_ * params[i] : grads[i];
      Tensor m = b1_ * s.slots[0][i] + (1 - b1_) * g;
      Tensor v = b2_ * s.slots[1][i] + (1 - b2_) * square(g);
      s.slots[0][i] = m;
      s.slots[1][i] = v;
      Tensor step = (m / c1) / (sqrt(v / c2) + eps_);
      if (decoupled_ && wd_ != 0) step = step + wd_ * params[i];
      params[i] = params[i] - lr * step;
    }
    ++s.step;
  }

 private:
  double b1_, b2_, eps_, wd_;
  bool decoupled_;
};

}  // namespace

OptimizerPtr SGD(double momentum, bool nesterov, double wd) {
  return std::make_shared<SGDOptimizer>(momentum, nesterov, wd);
}
OptimizerPtr Adam(double b1, double b2, double eps, double wd) {
  return std::make_shared<AdamOptimizer>(b1, b2, eps, wd, false);
}
OptimizerPtr AdamW(double b1, double b2, double eps, double wd) {
  return std::make_shared<AdamOptimizer>(b1, b2, eps, wd, true);
}

double Schedule::operator()(int64_t step) const {
  if (kind == "constant") return lr;
  if (kind == "step") return lr * std::pow(gamma, static_cast<double>(step / std::max<int64_t>(step_size, 1)));
  if (kind == "cosine") {
    if (step < warmup_steps) return lr * static_cast<double>(step + 1) / static_cast<double>(warmup_steps);
    const double span = static_cast<double>(std::max<int64_t>(decay_steps, 1));
    const double t = std::min(1.0, static_cast<double>(step - warmup_steps) / span);
    return lr * (final_fraction + (1 - final_fraction) * 0.5 * (1 + std::cos(M_PI * t)));
  }
  if (kind == "multistep") {
    double out = lr;
    for (auto m : milestones)
      if (step >= m) out *= gamma;
    return out;
  }
  if (kind == "reduce_on_plateau") return lr;  // the trainer applies its multiplier
  throw Error("Schedule: unknown kind '" + kind + "' (constant, step, cosine, multistep or reduce_on_plateau)");
}

}  // namespace xlax::nn
