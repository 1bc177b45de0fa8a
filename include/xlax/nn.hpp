// xlax::nn: functional layers, initializers, losses, optimizers, schedules, data, JSON
// configs, safetensors checkpoints and a trainer, on top of xlax's ops and autodiff.
//
// A layer is functional: init(key, input_shape) -> params, apply(params, x, context) -> y,
// output_shape(input_shape). Shapes include the batch dimension and are channels-last
// (NWC / NHWC / NDHWC, as Flax); kernels are HWIO-style (spatial..., in/groups, out).
// Training is value_and_grad(loss)(params) plus an optimizer step on the flat param list.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "autodiff.hpp"
#include "core.hpp"
#include "lax.hpp"

namespace xlax::nn {

// ---- context -------------------------------------------------------------------------

// What apply() needs besides params and input: the mode, a key for Dropout, and a place for
// BatchNorm's running-statistic updates (name -> new value, applied by the caller after the
// step, so apply itself stays a pure function of its arguments).
struct Context {
  bool train = false;
  random::Key key{{0, 0}};
  std::string scope;                        // name prefix of the layer being applied ("3.")
  std::map<std::string, Tensor>* updates = nullptr;   // null: updates are dropped
};

// ---- initializers --------------------------------------------------------------------

// "zeros", "ones", "he_normal", "he_uniform", "glorot_normal", "glorot_uniform",
// "lecun_normal", "lecun_uniform". Normal variants are untruncated.
using Initializer = std::function<Tensor(const random::Key&, const Shape&, DType, int64_t fan_in,
                                         int64_t fan_out)>;
Initializer initializer(const std::string& name);   // Error for an unknown name
const std::vector<std::string>& initializer_names();

// ---- layers --------------------------------------------------------------------------

struct ParamInfo {
  std::string name;        // "kernel", "bias", "scale", "mean", "var"
  bool trainable = true;   // false: running statistics (no gradient step, no weight decay)
};

class Layer {
 public:
  virtual ~Layer() = default;
  virtual std::string type() const = 0;                  // "Conv", "Dense", ...
  virtual std::vector<ParamInfo> param_info() const { return {}; }
  // Throws Error naming the layer and the input shape when the input does not fit.
  virtual Shape output_shape(const Shape& input_shape) const = 0;
  virtual std::vector<Tensor> init(const random::Key& /*key*/, const Shape& input_shape,
                                   DType /*dtype*/ = DType::float32) const {
    output_shape(input_shape);
    return {};
  }
  virtual Tensor apply(const std::vector<Tensor>& params, const Tensor& x, Context& ctx) const = 0;
  virtual std::string describe() const { return type(); }   // "Conv(features=32, kernel_size=(3, 3))"

  // Multi-input layers (Add, Concatenate) take two or more inputs, every other layer one.
  // A Graph calls the *_multi forms; their defaults require exactly one input and forward
  // to the one-input forms above, and multi-input layers override them.
  virtual bool multi_input() const { return false; }
  virtual Shape output_shape_multi(const std::vector<Shape>& input_shapes) const;
  virtual std::vector<Tensor> init_multi(const random::Key& key, const std::vector<Shape>& input_shapes,
                                         DType dtype = DType::float32) const;
  virtual Tensor apply_multi(const std::vector<Tensor>& params, const std::vector<Tensor>& inputs, Context& ctx) const;
};
using LayerPtr = std::shared_ptr<const Layer>;

// One padding for all spatial dims: a mode string, or explicit (lo, hi) pairs.
using PaddingSpec = lax::Padding;

struct ConvOptions {
  int64_t features = 0;
  Shape kernel_size;                 // its length sets the spatial rank (1, 2 or 3)
  Shape strides;                     // {} = ones
  PaddingSpec padding = "SAME";
  Shape input_dilation;              // lhs dilation; {} = ones
  Shape kernel_dilation;             // rhs dilation; {} = ones
  int64_t feature_group_count = 1;   // = input channels for depthwise
  bool use_bias = true;
  std::string kernel_init = "lecun_normal";
  std::string bias_init = "zeros";
  // {} = channels-last ("NHWC", "HWIO", "NHWC" and the 1-/3-D analogues), else {lhs, rhs,
  // out} as lax.conv_general_dilated strings, e.g. {"NCHW", "OIHW", "NCHW"} for PyTorch's layout.
  std::vector<std::string> dimension_numbers;
};
// With input_dilation != 1, SAME/VALID are resolved on the dilated input size.
LayerPtr Conv(ConvOptions);

struct ConvTransposeOptions {
  int64_t features = 0;
  Shape kernel_size;
  Shape strides;                     // the lhs dilation of the underlying conv
  PaddingSpec padding = "SAME";      // as lax.conv_transpose: SAME gives in*stride
  Shape kernel_dilation;
  Shape output_padding;              // extra rows on the high side (as PyTorch); {} = zeros
  int64_t feature_group_count = 1;
  bool use_bias = true;
  bool transpose_kernel = false;     // true flips the kernel spatially (gradient-of-conv form)
  std::string kernel_init = "lecun_normal";
  std::string bias_init = "zeros";
  std::vector<std::string> dimension_numbers;   // as ConvOptions
};
LayerPtr ConvTranspose(ConvTransposeOptions);

LayerPtr Dense(int64_t features, bool use_bias = true, const std::string& kernel_init = "lecun_normal",
               const std::string& bias_init = "zeros");
// Pooling over the spatial dims of channels-last input; strides {} = window_shape.
// Non-overlapping unpadded windows run as reshape + max/mean (a tie in a max window shares
// the gradient); other windows use lax::reduce_window.
LayerPtr MaxPool(Shape window_shape, Shape strides = {}, PaddingSpec padding = "VALID");
LayerPtr AvgPool(Shape window_shape, Shape strides = {}, PaddingSpec padding = "VALID");  // counts pads
LayerPtr Flatten();                       // (N, ...) -> (N, prod)
LayerPtr Reshape(Shape shape);            // per example; one -1 allowed
LayerPtr Activation(const std::string& name, double negative_slope = 0.01);
// relu, leaky_relu, gelu (the tanh approximation, Flax's default), tanh, sigmoid,
// softmax and log_softmax (over the last axis)
const std::vector<std::string>& activation_names();
LayerPtr Dropout(double rate);
LayerPtr BatchNorm(double momentum = 0.99, double epsilon = 1e-5);  // over all but the last axis
LayerPtr Identity();
// Elementwise sum of two or more inputs of equal shape (no broadcasting).
LayerPtr Add();
// Two or more inputs joined along `axis`, counted with the batch dimension as 0 (negative
// from the end; axis 0, the batch, is rejected); the other dimensions must agree.
LayerPtr Concatenate(int64_t axis = -1);
// Mean / max over the spatial dims of channels-last input: (N, spatial..., C) -> (N, C).
LayerPtr GlobalAvgPool();
LayerPtr GlobalMaxPool();
// Nearest-neighbour upsampling of channels-last input: each spatial dim d grows scale[d]
// times. One value applies to every spatial dim.
LayerPtr Upsample(Shape scale);

// ---- models: graphs of layers ----------------------------------------------------------

// One node of a Graph: a layer, its name and the names of the nodes it reads.
struct GraphNode {
  LayerPtr layer;
  std::string name;                   // "" = the node's index ("3")
  std::vector<std::string> inputs;    // earlier node names or "input"; {} = the previous node
};

// A directed acyclic graph of layers, in the order the nodes are given (each reads only
// the model input, "input", or earlier nodes). The model output is the last node, or the
// node named `output`. Parameters are named "<node name>.<param>" and node i initialises
// with the i-th of split(key, nodes + 1), so a chain of unnamed nodes is exactly the
// Sequential of its layers. The constructor rejects (xlax::Error naming the node): a
// duplicate or reserved name, an unknown or later input (cycles), the wrong number of
// inputs, and a node whose output nothing uses. Shape errors (a merge whose inputs
// disagree) name the node and the shapes when output_shape or init sees the input shape.
class Graph : public Layer {
 public:
  explicit Graph(std::vector<GraphNode> nodes, std::string output = "");
  std::string type() const override { return "Graph"; }
  std::vector<ParamInfo> param_info() const override;
  Shape output_shape(const Shape& input_shape) const override;
  std::vector<Tensor> init(const random::Key& key, const Shape& input_shape,
                           DType dtype = DType::float32) const override;
  Tensor apply(const std::vector<Tensor>& params, const Tensor& x, Context& ctx) const override;

  const std::vector<GraphNode>& nodes() const { return nodes_; }        // names and inputs filled in
  const std::vector<LayerPtr>& layers() const { return layers_; }        // one per node
  const std::vector<std::vector<int>>& node_inputs() const { return inputs_; }  // indices; -1 = input
  size_t output_node() const { return output_; }
  std::vector<Shape> layer_output_shapes(const Shape& input_shape) const;   // one per node
  size_t param_offset(size_t node) const { return offsets_[node]; }
  bool named(size_t node) const { return named_[node]; }   // a name was given

 private:
  template <class F>
  void for_each_node(const Shape& input_shape, F&& run) const;   // shapes in order, errors naming the node
  std::vector<GraphNode> nodes_;
  std::vector<LayerPtr> layers_;
  std::vector<bool> named_;
  std::vector<std::vector<int>> inputs_;
  std::vector<int> last_use_;    // the last node reading each node's output (-1: none)
  std::vector<size_t> offsets_;  // first param index of each node, plus the total
  size_t output_ = 0;
};

// A chain: the Graph of unnamed nodes, each reading the previous one.
class Sequential : public Graph {
 public:
  explicit Sequential(std::vector<LayerPtr> layers);
  std::string type() const override { return "Sequential"; }
};

// ---- losses (mean over the batch) ----------------------------------------------------

Tensor softmax_cross_entropy(const Tensor& logits, const Tensor& labels);   // labels int32 (N,)
Tensor mse(const Tensor& predictions, const Tensor& targets);
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& targets);
Tensor one_hot(const Tensor& labels, int64_t num_classes, DType dtype = DType::float32);

// ---- optimizers and schedules --------------------------------------------------------

struct OptState {
  int64_t step = 0;                 // updates done so far
  std::vector<std::string> slot_names;   // "m", "v", "momentum": one slot = one tensor per param
  std::vector<std::vector<Tensor>> slots;
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  virtual std::string name() const = 0;
  virtual OptState init(const std::vector<Tensor>& params) const = 0;
  // One step with learning rate lr; params with trainable[i] false are left alone.
  // Returns lazy tensors: evaluate the new params and state together.
  virtual void update(std::vector<Tensor>& params, const std::vector<Tensor>& grads, OptState& state,
                      double lr, const std::vector<bool>& trainable) const = 0;
};
using OptimizerPtr = std::shared_ptr<const Optimizer>;

OptimizerPtr SGD(double momentum = 0, bool nesterov = false, double weight_decay = 0);  // as torch.optim.SGD
OptimizerPtr Adam(double b1 = 0.9, double b2 = 0.999, double eps = 1e-8, double weight_decay = 0);  // L2 in the gradient
OptimizerPtr AdamW(double b1 = 0.9, double b2 = 0.999, double eps = 1e-8, double weight_decay = 1e-2);  // decoupled

struct Schedule {
  std::string kind = "constant";   // constant | step | cosine | multistep | reduce_on_plateau
  double lr = 1e-3;
  int64_t step_size = 1000;        // step: multiply by gamma every step_size steps
  double gamma = 0.1;
  std::vector<int64_t> milestones; // multistep: multiply by gamma after each of these steps
  // reduce_on_plateau: the trainer multiplies lr by `factor` when `metric` has not improved
  // for `patience` epochs (the multiplier lives in TrainState and in checkpoints).
  std::string metric = "val_loss", mode = "min";
  double factor = 0.1, min_delta = 0;
  int64_t patience = 2;
  int64_t warmup_steps = 0;        // cosine: linear from 0 to lr, then cosine to lr * final_fraction
  int64_t decay_steps = 0;         // cosine: 0 = the rest of training (the trainer fills it in)
  double final_fraction = 0;
  double operator()(int64_t step) const;   // learning rate for the update after `step` updates
};

// ---- data ----------------------------------------------------------------------------

struct Dataset {
  Shape example_shape;             // (28, 28, 1)
  std::vector<float> x;            // n * prod(example_shape), row-major
  std::vector<int32_t> labels;     // n (may be empty for unlabelled data)
  int64_t num_classes = 0;
  std::vector<std::string> class_names;   // image folders: the sorted subfolder names
  int64_t size() const;
  int64_t example_size() const;
};

// IDX (MNIST format) file, gzip-compressed or plain: returns dims and the uint8 payload.
std::pair<Shape, std::vector<uint8_t>> read_idx(const std::string& path);
// IDX images (N, H, W) or (N, H, W, C) + labels (N,): pixels scaled to [0, 1], example
// shape (H, W, 1) or (H, W, C).
Dataset load_idx_dataset(const std::string& images_path, const std::string& labels_path);
Shape idx_example_shape(const std::string& images_path);   // reads the header only
// .npy x (N, spatial..., C) uint8 (scaled to [0, 1]) / float32 / float64 and y (N,)
// integer labels ("" = none).
Dataset load_npy_dataset(const std::string& x_path, const std::string& y_path);
Shape npy_example_shape(const std::string& x_path);        // reads the header only
// A PNG, JPEG or BMP file as height*width*channels floats in [0, 1] (channels 1 = grey,
// 3 = RGB), resized bilinearly to height x width, or an error when resize is false.
std::vector<float> load_image(const std::string& path, int64_t height, int64_t width, int64_t channels,
                              bool resize = true);
std::vector<float> decode_image(const std::string& bytes, const std::string& name, int64_t height, int64_t width,
                                int64_t channels, bool resize = true);
// One subfolder of images per class; classes = the sorted subfolder names (or the given
// list, so a test folder uses the training set's classes).
std::vector<std::string> image_folder_classes(const std::string& dir);
Dataset load_image_folder(const std::string& dir, int64_t height, int64_t width, int64_t channels,
                          bool resize = true, const std::vector<std::string>& classes = {});
Dataset subset(const Dataset& d, const std::vector<int64_t>& indices);
// {train, validation}: a seeded random fraction of d becomes the validation set.
std::pair<Dataset, Dataset> split_validation(const Dataset& d, double fraction, uint64_t seed);
// Throws an Error naming `what` and the bytes when a set would take over half the memory.
void check_fits_memory(const std::string& what, int64_t bytes);
// kinds: "waves1d" (length 32, 1 channel), "images2d" (12x12x1), "blobs3d" (8x8x8x1).
Dataset synthetic_dataset(const std::string& kind, int64_t n, int64_t num_classes, uint64_t seed);
void normalize(Dataset& d, double mean, double std);
std::vector<int64_t> shuffled_indices(int64_t n, uint64_t seed, int64_t epoch);
// A batch of the given examples: x (B, example_shape...) and labels int32 (B,).
std::pair<Tensor, Tensor> make_batch(const Dataset& d, const std::vector<int64_t>& indices,
                                     int64_t begin, int64_t end, DType dtype = DType::float32);

// Training-batch augmentation. Each example's draws depend only on (seed, epoch, the
// example's index in the data set), so a resumed run or a batch split across processes
// sees the same ones. Values are in pixel units ([0, 1]) before normalisation.
struct Augment {
  std::string type;                // random_crop | random_flip | gaussian_noise | random_erasing
  int64_t padding = 0;             // random_crop: zero pixels padded on every spatial side
  bool horizontal = true, vertical = false;   // random_flip: last / second-last spatial axis
  double std = 0;                  // gaussian_noise
  double probability = 0.5;        // random_erasing
};
struct AugmentSettings {
  std::vector<Augment> augments;
  uint64_t seed = 0;
  double mean = 0, std = 1;        // the data's normalisation, to pad with pixel 0
};
// Augments one example in place: geometric transforms apply to input and target (target
// may be null), noise and erasing to the input only.
void augment_example(const AugmentSettings& a, const Shape& example_shape, int64_t epoch, int64_t index,
                     float* input, float* target);
// make_batch with augmentation: {inputs, labels} or, with reconstruct, {inputs, targets}.
std::pair<Tensor, Tensor> make_augmented_batch(const Dataset& d, const std::vector<int64_t>& indices, int64_t begin,
                                               int64_t end, const AugmentSettings& a, int64_t epoch, bool reconstruct);

// ---- safetensors ---------------------------------------------------------------------

struct NamedTensors {
  std::vector<std::string> names;
  std::vector<Tensor> tensors;     // float32 or float64
  std::map<std::string, std::string> metadata;
};
// Atomic: writes <path>.tmp.<pid> then renames over path.
void save_safetensors(const std::string& path, const NamedTensors& t);
NamedTensors load_safetensors(const std::string& path);

// ---- configs -------------------------------------------------------------------------

// Relative paths are resolved from the config file's folder while parsing: the fields
// below hold usable paths.
struct DataConfig {
  std::string source = "fashion_mnist";   // fashion_mnist | idx | npy | image_folder | synthetic
  std::string dir = "/usr/share/datasets/fashion-mnist";   // image_folder: training images
  std::string train_images, train_labels, test_images, test_labels;   // idx
  std::string x, y, test_x, test_y;       // npy
  std::string test_dir;                   // image_folder
  int64_t image_height = 0, image_width = 0, channels = 1;
  bool resize = true;
  std::vector<std::string> class_names;   // image_folder: read from dir while parsing
  double validation_fraction = 0;         // > 0: split off the training set
  std::string validation_x, validation_y, validation_dir;   // or a separate set
  std::vector<Augment> augment;
  Shape shape;                            // the example shape, found while parsing
  bool has_validation() const {
    return validation_fraction > 0 || !validation_x.empty() || !validation_dir.empty();
  }
  std::string kind;                       // synthetic
  int64_t train_size = 0, test_size = 0;  // 0 = all (synthetic: required)
  int64_t num_classes = 10;
  double mean = 0, std = 1;               // after scaling pixels to [0, 1]
  double noise_std = 0;                   // > 0: inputs get Gaussian noise (denoising)
  Shape example_shape() const;
};

struct TrainingConfig {
  int64_t epochs = 1, batch_size = 64;
  uint64_t seed = 0;
  int threads = 0;                        // 0 = leave as is
  int64_t max_steps_per_epoch = 0;        // 0 = all
  std::string metrics_file;               // JSONL, one line per epoch; "" = none
  std::string task = "classify";          // classify | reconstruct (targets = clean inputs)
  std::string output_dir;                 // PNGs: curves, confusion matrix, reconstructions
  // early stopping (patience 0 = off): stop after `patience` epochs without improvement
  std::string early_stopping_metric = "val_loss", early_stopping_mode = "min";
  int64_t early_stopping_patience = 0;
  double early_stopping_min_delta = 0;
};

struct CheckpointConfig {
  std::string dir;                        // "" = no checkpoints
  int64_t every_epochs = 1;
  int64_t keep = 2;                       // newest files kept
  std::string keep_best;                  // metric: also keep ckpt_best.safetensors ("" = off)
};

struct Config {
  int schema_version = 1;
  std::shared_ptr<Graph> model;
  std::vector<std::string> layer_types;   // per layer, canonical ("Conv", "relu")
  std::string loss = "softmax_cross_entropy";   // | mse | binary_cross_entropy
  OptimizerPtr optimizer;
  std::string optimizer_name;
  Schedule schedule;
  DataConfig data;
  TrainingConfig training;
  CheckpointConfig checkpoint;
  std::string text;                       // the JSON as read (stored in checkpoints)
  std::string source_dir;                 // relative paths in the config resolve from here
  std::vector<std::string> warnings;      // legal but probably wrong ("softmax before ...")
};
// Errors name the JSON path ("model.layers[2].kernel_size") and the layer index.
// JSON with // and /* */ comments allowed; enum strings are case-insensitive. Relative
// paths (data, checkpoint.dir, metrics_file, output_dir) resolve from source_dir.
// overrides: "training.batch_size=128" (a JSON value, or a bare string) set before
// parsing, as if written in the file.
Config parse_config(const std::string& json_text, const std::string& source_dir = ".",
                    const std::vector<std::string>& overrides = {});
Config load_config(const std::string& path, const std::vector<std::string>& overrides = {});
std::string config_reference();           // every accepted key per section and layer type

// ---- training ------------------------------------------------------------------------

struct EpochMetrics {
  int64_t epoch = 0;                      // 1-based
  double train_loss = 0, train_acc = 0, test_loss = 0, test_acc = 0;
  bool validation = false;                // true: val_* were measured and test_* were not
  double val_loss = 0, val_acc = 0;
  double learning_rate = 0;               // of the epoch's last update
  double metric(const std::string& name) const;   // "val_loss", "test_acc", ...
  // "max" for accuracies (*_acc), "min" for losses: the default direction in which a metric
  // improves (early stopping, reduce_on_plateau and keep_best use it unless told otherwise).
  static std::string improves_by(const std::string& name);
  double seconds = 0, images_per_s = 0;
  int64_t step = 0;                       // optimizer steps done
};

// Everything a resumed run needs beyond the tensors; saved in checkpoint metadata.
struct RunState {
  std::string run_id;                     // names the run a checkpoint folder belongs to
  double lr_scale = 1;                    // reduce_on_plateau's multiplier
  double plateau_best = 0;                // best metric so far (valid when plateau_epochs >= 0)
  int64_t plateau_wait = 0, plateau_epochs = 0;   // epochs without improvement, epochs seen
  double stop_best = 0, best_metric = 0;  // early stopping's best; keep_best's best
  int64_t stop_wait = 0, stop_epochs = 0, best_epoch = 0;
  bool stopped = false;                   // early stopping ended the run
};

// The epochs 1..max_epoch of a metrics file (JSON lines written by Trainer::fit); lines cut
// by a crash are skipped; a missing file gives none.
std::vector<EpochMetrics> read_metrics(const std::string& path, int64_t max_epoch);

struct TrainState {
  std::vector<Tensor> params;
  OptState opt;
  int64_t epoch = 0;                      // completed epochs
  RunState run;
};

// A non-finite loss: the run stops, naming the step; checkpoints already written stay.
class NonFiniteLoss : public Error {
 public:
  using Error::Error;
};

struct TrainCallbacks {
  // after each step: epoch (1-based), step in epoch, steps in epoch, running mean loss,
  // running accuracy (classify), examples done in this epoch, seconds since epoch start
  std::function<void(int64_t, int64_t, int64_t, double, double, int64_t, double)> on_step;
  std::function<void(const EpochMetrics&)> on_epoch;
  std::function<void(const std::string&)> on_message;
};

struct Evaluation {
  double loss = 0, accuracy = 0;
};

class Trainer {
 public:
  explicit Trainer(Config config);
  const Config& config() const { return config_; }
  const Dataset& train_data();            // loaded on first use (without the validation part)
  const Dataset& test_data();
  const Dataset* validation_data();       // null without data.validation
  TrainState init_state() const;
  // Runs epochs state.epoch+1 .. epochs; checkpoints as configured.
  std::vector<EpochMetrics> fit(TrainState& state, const TrainCallbacks& callbacks = {});
  Evaluation evaluate(const std::vector<Tensor>& params, const Dataset& d, int64_t batch = 1000);
  Tensor loss(const std::vector<Tensor>& params, const Tensor& x, const Tensor& labels_or_targets,
              Context& ctx) const;
  // One optimizer step on a batch; returns the loss and the accuracy of the batch (classify).
  std::pair<double, double> step(TrainState& state, const Tensor& x, const Tensor& y, int64_t global_step);
  std::vector<Tensor> predict(const std::vector<Tensor>& params, const Tensor& x) const;
  // confusion[true_class * classes + predicted_class] counts on d.
  std::vector<int64_t> confusion_matrix(const std::vector<Tensor>& params, const Dataset& d, int64_t batch = 1000);

 private:
  Config config_;
  std::unique_ptr<Dataset> train_, test_, validation_;
  void load_train_and_validation();
  std::vector<bool> trainable_;
};

// Checkpoint: params "params/<name>", optimizer slots "opt/<slot>/<name>", metadata with
// step, epoch, optimizer and the config text.
void save_checkpoint(const std::string& path, const Config& config, const TrainState& state);
// params_only: the optimizer slots are not needed (eval, predict) and are skipped.
TrainState load_checkpoint(const std::string& path, const Config& config, bool params_only = false);
std::string best_checkpoint_path(const CheckpointConfig& c);   // <dir>/ckpt_best.safetensors
std::vector<std::string> checkpoint_class_names(const std::string& path);   // image folders' classes

// The checkpoint folder contract. A run holds a FolderLock on its folder (an flock on
// <dir>/.xlax.lock, released by the kernel if the process dies): a second run on the
// same folder gets an Error. A fresh run refuses a folder that list_checkpoints finds
// non-empty (resume, overwrite or choose another folder); run ids are in the metadata.
class FolderLock {
 public:
  explicit FolderLock(const std::string& dir);   // creates dir; throws if it is locked
  ~FolderLock();
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;

 private:
  int fd_ = -1;
};
std::vector<std::string> list_checkpoints(const std::string& dir);   // ckpt_*.safetensors, sorted
void remove_checkpoints(const std::string& dir);                     // for --overwrite
void remove_stale_temp_files(const std::string& dir);                // of killed saves
std::string checkpoint_path(const CheckpointConfig& c, int64_t epoch);
std::string newest_checkpoint(const std::string& dir);   // "" if none
void prune_checkpoints(const CheckpointConfig& c);        // keeps the newest c.keep

// A gradient that disagrees with finite differences (other errors stay plain Errors).
class GradientMismatch : public Error {
 public:
  using Error::Error;
};
// Float64 gradient check of every parameter tensor on a small batch, along random
// directions (check_grads). Returns one line per parameter; throws GradientMismatch on a
// mismatch.
std::vector<std::string> gradcheck(const Config& config, int64_t batch = 2, double atol = 1e-6,
                                   double rtol = 1e-4);

// The Keras-like table: layer, output shape, params.
std::string summary(const Config& config);

}  // namespace xlax::nn
