// The pictures `xlax train` keeps in training.output_dir, rewritten after every epoch:
// learning curves (loss and accuracy, train vs validation or test) and, for classifiers,
// the test set's confusion matrix.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <xlax/nn.hpp>

namespace xlax::cli {

// <dir>/learning_curves.png; returns its path.
std::string save_learning_curves(const std::string& dir, const std::vector<nn::EpochMetrics>& history, bool classify);
// <dir>/confusion_matrix.png from counts[true * k + predicted]; rows are normalised so a
// cell's colour is the share of that true class; cells print the counts.
std::string save_confusion_matrix(const std::string& dir, const std::vector<int64_t>& counts,
                                  const std::vector<std::string>& class_names);

}  // namespace xlax::cli
