// xlax autodiff: reverse mode by tracing functions over graph nodes.
#pragma once

#include <functional>
#include <utility>
#include <vector>

#include "core.hpp"

namespace xlax {

using Fn = std::function<std::vector<Tensor>(const std::vector<Tensor>&)>;
using ScalarFn = std::function<Tensor(const std::vector<Tensor>&)>;  // returns a rank-0 tensor

// Returns (outputs of f at primals, one cotangent per primal). Evaluates nothing.
std::pair<std::vector<Tensor>, std::vector<Tensor>> vjp(const Fn& f,
                                                        const std::vector<Tensor>& primals,
                                                        const std::vector<Tensor>& cotangents);

Fn grad(const ScalarFn& f, const std::vector<int>& argnums = {0});
std::function<std::pair<Tensor, std::vector<Tensor>>(const std::vector<Tensor>&)> value_and_grad(
    const ScalarFn& f, const std::vector<int>& argnums = {0});

// As jax.test_util.check_grads (reverse mode); args must be float64; throws Error naming
// the worst mismatch.
void check_grads(const Fn& f, const std::vector<Tensor>& args, int order = 1, double atol = 1e-5,
                 double rtol = 1e-5, double eps = 1e-6);
void check_grads(const ScalarFn& f, const std::vector<Tensor>& args, int order = 1,
                 double atol = 1e-5, double rtol = 1e-5, double eps = 1e-6);

}  // namespace xlax
