// Losses, each the mean over the batch.
#include "nn/layer_util.hpp"

namespace xlax::nn {

Tensor one_hot(const Tensor& labels, int64_t num_classes, DType dtype) {
  if (labels.ndim() != 1) throw Error("one_hot: labels must have rank 1, got shape " + to_string(labels.shape()));
  Tensor classes = arange(0, static_cast<double>(num_classes), 1, labels.dtype());
  return astype(expand_dims(labels, {1}) == classes, dtype);
}

Tensor softmax_cross_entropy(const Tensor& logits, const Tensor& labels) {
  if (logits.ndim() != 2 || labels.ndim() != 1 || labels.shape()[0] != logits.shape()[0])
    throw Error("softmax_cross_entropy: logits must be (N, classes) and labels (N,), got " + to_string(logits.shape()) +
                " and " + to_string(labels.shape()));
  if (labels.dtype() != DType::int32)
    throw Error("softmax_cross_entropy: labels must be int32 class indices, got " + to_string(labels.dtype()));
  Tensor picked = sum(logits * one_hot(labels, logits.shape()[1], logits.dtype()), {1});
  return mean(logsumexp(logits, {1}) - picked);
}

Tensor mse(const Tensor& predictions, const Tensor& targets) {
  if (predictions.shape() != targets.shape())
    throw Error("mse: predictions " + to_string(predictions.shape()) + " and targets " + to_string(targets.shape()) +
                " must have the same shape");
  return mean(square(predictions - targets));
}

Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& targets) {
  if (logits.shape() != targets.shape())
    throw Error("binary_cross_entropy_with_logits: logits " + to_string(logits.shape()) + " and targets " +
                to_string(targets.shape()) + " must have the same shape");
  // max(x, 0) - x z + log(1 + exp(-|x|)): never overflows.
  return mean(maximum(logits, 0.0) - logits * targets + log1p(exp(-abs(logits))));
}

}  // namespace xlax::nn
