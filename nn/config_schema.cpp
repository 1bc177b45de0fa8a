// The accepted keys of every config section and layer type, with their documentation.
#include "nn/config_schema.hpp"

#include "xlax/nn.hpp"

namespace xlax::nn::detail {

const std::vector<SectionSpec>& config_sections() {
  static const std::vector<SectionSpec> t{
      {"top level",
       {{"schema_version", "int", "must be 1"},
        {"description", "string", "free text"},
        {"model", "object", "the network"},
        {"loss", "string", "softmax_cross_entropy (integer labels) | mse | binary_cross_entropy (from logits)"},
        {"optimizer", "object", "the optimizer"},
        {"schedule", "object", "learning-rate schedule (default constant)"},
        {"data", "object", "the dataset"},
        {"training", "object", "loop settings"},
        {"checkpoint", "object", "checkpointing (default none)"}}},
      {"model",
       {{"layers", "[object]", "layers in order; each has a type, that type's keys, and may have a name and inputs"},
        {"output", "string", "the layer whose output is the model's (default the last)"}}},
      {"optimizer",
       {{"type", "string", "sgd | adam | adamw"},
        {"learning_rate", "number", "peak learning rate (default 1e-3)"},
        {"momentum", "number", "sgd: momentum (default 0)"},
        {"nesterov", "bool", "sgd: Nesterov momentum (default false)"},
        {"weight_decay", "number", "sgd/adam: L2 added to the gradient; adamw: decoupled (default 0, adamw 1e-2)"},
        {"b1", "number", "adam/adamw (default 0.9)"},
        {"b2", "number", "adam/adamw (default 0.999)"},
        {"eps", "number", "adam/adamw (default 1e-8)"}}},
      {"schedule",
       {{"type", "string", "constant | step | cosine | multistep | reduce_on_plateau"},
        {"step_size", "int", "step: optimizer steps between decays"},
        {"gamma", "number", "step, multistep: decay factor (default 0.1)"},
        {"milestones", "[int]", "multistep: optimizer steps after which lr is multiplied by gamma"},
        {"metric", "string", "reduce_on_plateau: val_loss (default) | val_acc | test_loss | test_acc | train_loss | train_acc"},
        {"factor", "number", "reduce_on_plateau: lr multiplier when the metric stalls (default 0.1)"},
        {"patience", "int", "reduce_on_plateau: epochs without improvement before reducing (default 2)"},
        {"min_delta", "number", "reduce_on_plateau: smallest change that counts as improvement (default 0)"},
        {"mode", "string", "reduce_on_plateau: min | max (default: max for *_acc, min otherwise)"},
        {"warmup_steps", "int", "cosine: linear warm-up steps (default 0)"},
        {"decay_steps", "int", "cosine: steps of the cosine part (default: the rest of training)"},
        {"final_fraction", "number", "cosine: final lr as a fraction of the peak (default 0)"}}},
      {"data",
       {{"source", "string", "fashion_mnist | idx | npy | image_folder | synthetic"},
        {"dir", "string", "fashion_mnist: folder of the IDX .gz files (default the Debian package's); image_folder: training images, one subfolder per class"},
        {"test_dir", "string", "image_folder: test images, the same class subfolders"},
        {"image_size", "[int]", "image_folder: [height, width] the images are resized to"},
        {"channels", "int", "image_folder: 1 (grey) or 3 (RGB; default 1)"},
        {"resize", "bool", "image_folder: resize images of another size (default true; false: an error)"},
        {"x", "string", "npy: training inputs (N, spatial..., channels), uint8 (scaled to [0, 1]), float32 or float64"},
        {"y", "string", "npy: training labels (N,), integers (may be omitted to reconstruct)"},
        {"test_x", "string", "npy: test inputs"},
        {"test_y", "string", "npy: test labels"},
        {"train_images", "string", "idx: path (images of any size: (N, H, W) or (N, H, W, C))"},
        {"train_labels", "string", "idx: path"},
        {"test_images", "string", "idx: path"},
        {"test_labels", "string", "idx: path"},
        {"kind", "string", "synthetic: waves1d (32x1) | images2d (12x12x1) | blobs3d (8x8x8x1)"},
        {"train_size", "int", "examples used for training (0 = all; synthetic: required)"},
        {"test_size", "int", "examples used for testing (0 = all; synthetic: required)"},
        {"num_classes", "int", "classes; the model output must match (default 10; image_folder: the class folders)"},
        {"mean", "number", "normalisation: x = (x - mean) / std after scaling pixels to [0, 1]"},
        {"std", "number", "see mean (default 1)"},
        {"noise_std", "number", "Gaussian noise added to the inputs (denoising; default 0)"},
        {"validation", "number | object", "a fraction of the training set (split with training.seed), or {x, y} (npy) or {dir} (image_folder)"},
        {"augment", "[object]", "training-batch augmentations, applied in order (see augment)"}}},
      {"validation",
       {{"x", "string", "npy: validation inputs"},
        {"y", "string", "npy: validation labels"},
        {"dir", "string", "image_folder: validation images, the same class subfolders"}}},
      {"augment",
       {{"type", "string", "random_crop | random_flip | gaussian_noise | random_erasing"},
        {"padding", "int", "random_crop: pad every spatial side with P zero pixels, crop back at a random offset"},
        {"horizontal", "bool", "random_flip: flip the last spatial axis with probability 1/2 (default true)"},
        {"vertical", "bool", "random_flip: flip the second-last spatial axis with probability 1/2 (default false)"},
        {"std", "number", "gaussian_noise: standard deviation in [0, 1] pixel units"},
        {"probability", "number", "random_erasing: chance that an example gets one erased box (default 0.5)"}}},
      {"training",
       {{"epochs", "int", "default 1"},
        {"batch_size", "int", "default 64"},
        {"seed", "int", "initialisation, shuffling and dropout (default 0)"},
        {"threads", "int", "xlax threads (default: XLAX_NUM_THREADS or all cores)"},
        {"max_steps_per_epoch", "int", "0 = full epochs"},
        {"metrics_file", "string", "JSONL file, one line per epoch"},
        {"task", "string", "classify (default) | reconstruct (targets are the clean inputs)"},
        {"output_dir", "string", "learning_curves.png, confusion_matrix.png (classify) and reconstructions (reconstruct)"},
        {"early_stopping", "object", "stop when a metric stops improving (see early_stopping)"}}},
      {"early_stopping",
       {{"metric", "string", "val_loss (default) | val_acc | test_loss | test_acc | train_loss | train_acc"},
        {"patience", "int", "epochs without improvement before stopping (default 3)"},
        {"min_delta", "number", "smallest change that counts as improvement (default 0)"},
        {"mode", "string", "min | max (default: max for *_acc, min otherwise)"}}},
      {"checkpoint",
       {{"dir", "string", "folder of ckpt_epoch_NNNN.safetensors files"},
        {"every_epochs", "int", "default 1"},
        {"keep", "int", "newest checkpoints kept (default 2)"},
        {"keep_best", "string", "also keep ckpt_best.safetensors, the best epoch by this metric (val_acc, val_loss, ...); the final test uses it"}}},
  };
  return t;
}

namespace {
// Every layer object accepts these besides its own keys.
std::vector<KeySpec> with_common(std::vector<KeySpec> own) {
  std::vector<KeySpec> keys{{"type", "string", "the layer type"}};
  keys.insert(keys.end(), own.begin(), own.end());
  keys.push_back({"name", "string", "a name for inputs and parameters (default: the layer's index)"});
  keys.push_back({"inputs", "string | [string]", "earlier layer names or \"input\" (default: the previous layer)"});
  return keys;
}
}  // namespace

const std::vector<SectionSpec>& layer_sections() {
  static const std::vector<SectionSpec> t = [] {
    std::vector<SectionSpec> own{
      {"Conv",
       {{"features", "int", "output channels (required)"},
        {"kernel_size", "[int]", "one per spatial dim; its length sets 1-, 2- or 3-D (required)"},
        {"strides", "int | [int]", "default 1"},
        {"padding", "padding", "SAME | SAME_LOWER | VALID | int | [int] | [[lo, hi], ...] (default SAME)"},
        {"input_dilation", "int | [int]", "lhs dilation (default 1)"},
        {"kernel_dilation", "int | [int]", "rhs dilation (default 1)"},
        {"feature_group_count", "int", "groups; = input channels for depthwise (default 1)"},
        {"use_bias", "bool", "default true"},
        {"kernel_init", "string", "default lecun_normal"},
        {"bias_init", "string", "default zeros"},
        {"dimension_numbers", "[string] x3", "[lhs, rhs, out], e.g. [\"NCHW\", \"OIHW\", \"NCHW\"] (default channels-last, HWIO)"}}},
      {"ConvTranspose",
       {{"features", "int", "output channels (required)"},
        {"kernel_size", "[int]", "one per spatial dim (required)"},
        {"strides", "int | [int]", "upsampling factor (default 1)"},
        {"padding", "padding", "SAME (out = in * stride) | VALID | int | [int] | [[lo, hi], ...] as lax.conv_transpose"},
        {"kernel_dilation", "int | [int]", "default 1"},
        {"output_padding", "int | [int]", "extra output rows on the high side, as PyTorch (default 0)"},
        {"feature_group_count", "int", "default 1"},
        {"use_bias", "bool", "default true"},
        {"transpose_kernel", "bool", "flip the kernel spatially (default false)"},
        {"kernel_init", "string", "default lecun_normal"},
        {"bias_init", "string", "default zeros"},
        {"dimension_numbers", "[string] x3", "as Conv"}}},
      {"Dense",
       {{"features", "int", "output size (required)"},
        {"use_bias", "bool", "default true"},
        {"kernel_init", "string", "default lecun_normal"},
        {"bias_init", "string", "default zeros"}}},
      {"MaxPool",
       {{"window_shape", "[int]", "one per spatial dim (required)"},
        {"strides", "int | [int]", "default window_shape"},
        {"padding", "padding", "default VALID"}}},
      {"AvgPool",
       {{"window_shape", "[int]", "one per spatial dim (required)"},
        {"strides", "int | [int]", "default window_shape"},
        {"padding", "padding", "default VALID (padding counts in the average)"}}},
      {"Flatten", {}},
      {"Reshape", {{"shape", "[int]", "per-example shape; one -1 allowed (required)"}}},
      {"Dropout", {{"rate", "number", "drop probability in [0, 1) (required)"}}},
      {"BatchNorm",
       {{"momentum", "number", "running-average momentum (default 0.99)"}, {"epsilon", "number", "default 1e-5"}}},
      {"relu", {}},
      {"leaky_relu", {{"negative_slope", "number", "default 0.01"}}},
      {"gelu", {}},
      {"tanh", {}},
      {"sigmoid", {}},
      {"softmax", {}},
      {"log_softmax", {}},
      {"Identity", {}},
      {"Add", {}},
      {"Concatenate", {{"axis", "int", "join axis, the batch dimension counted as 0 (default -1; 0 is rejected)"}}},
      {"GlobalAvgPool", {}},
      {"GlobalMaxPool", {}},
      {"Upsample", {{"scale", "int | [int]", "nearest-neighbour factor per spatial dim (required)"}}},
    };
    for (auto& section : own) section.keys = with_common(section.keys);
    return own;
  }();
  return t;
}

const SectionSpec* find_section(const std::vector<SectionSpec>& table, const std::string& name) {
  for (auto& s : table)
    if (s.name == name) return &s;
  return nullptr;
}

}  // namespace xlax::nn::detail

namespace xlax::nn {

std::string config_reference() {
  std::string out;
  auto print = [&](const detail::SectionSpec& s, const std::string& title) {
    out += title + "\n";
    for (auto& k : s.keys) {
      std::string line = std::string("  ") + k.name;
      line.resize(std::max<size_t>(line.size() + 1, 24), ' ');
      std::string ty = k.type;
      ty.resize(std::max<size_t>(ty.size() + 1, 14), ' ');
      out += line + ty + k.doc + "\n";
    }
  };
  for (auto& s : detail::config_sections()) print(s, s.name == "top level" ? "top level:" : "\"" + s.name + "\":");
  out += "\nlayer types (model.layers[i].type; case and underscores do not matter; Add and Concatenate take\n"
         "2 or more inputs, every other layer 1):\n";
  for (auto& s : detail::layer_sections()) print(s, "  " + s.name);
  return out;
}

}  // namespace xlax::nn
