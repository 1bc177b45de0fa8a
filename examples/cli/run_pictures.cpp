#include "run_pictures.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "plot.hpp"

namespace xlax::cli {

std::string save_learning_curves(const std::string& dir, const std::vector<nn::EpochMetrics>& history, bool classify) {
  std::filesystem::create_directories(dir);
  const bool validation = !history.empty() && history.back().validation;
  const std::string held_out = validation ? "validation" : "test";
  plot::Series train_loss, held_loss, train_acc, held_acc;
  for (const auto& m : history) {
    const double e = static_cast<double>(m.epoch);
    for (auto* s : {&train_loss, &held_loss, &train_acc, &held_acc}) s->x.push_back(e);
    train_loss.y.push_back(m.train_loss);
    held_loss.y.push_back(validation ? m.val_loss : m.test_loss);
    train_acc.y.push_back(m.train_acc);
    held_acc.y.push_back(validation ? m.val_acc : m.test_acc);
  }
  train_loss.label = train_acc.label = "train";
  held_loss.label = held_acc.label = held_out;
  for (auto* s : {&train_loss, &held_loss, &train_acc, &held_acc}) s->marker_radius = 3.5;
  train_loss.colour = train_acc.colour = plot::palette(0);
  held_loss.colour = held_acc.colour = plot::palette(1);
  plot::LinePlot loss;
  loss.series = {train_loss, held_loss};
  loss.title = classify ? "loss (cross-entropy)" : "loss (per example)";
  loss.x_label = "epoch";
  loss.y_label = "loss";
  loss.width = 640;
  loss.height = 440;
  std::vector<plot::Image> parts{plot::render_line_plot(loss)};
  if (classify) {
    plot::LinePlot acc = loss;
    acc.series = {train_acc, held_acc};
    acc.title = "accuracy";
    acc.y_label = "accuracy";
    parts.push_back(plot::render_line_plot(acc));
  }
  int width = 0, height = 0;
  for (auto& p : parts) {
    width += p.width();
    height = std::max(height, p.height());
  }
  plot::Image out(width, height);
  int x = 0;
  for (auto& p : parts) {
    out.paste(p, x, 0);
    x += p.width();
  }
  const std::string path = dir + "/learning_curves.png";
  plot::save_png(path, out);
  return path;
}

std::string save_confusion_matrix(const std::string& dir, const std::vector<int64_t>& counts,
                                  const std::vector<std::string>& class_names) {
  const size_t k = class_names.size();
  if (k == 0 || counts.size() != k * k) throw std::invalid_argument("save_confusion_matrix: counts must be k x k");
  std::filesystem::create_directories(dir);
  std::vector<double> share(k * k, 0.0);
  for (size_t r = 0; r < k; ++r) {
    int64_t row = 0;
    for (size_t c = 0; c < k; ++c) row += counts[r * k + c];
    for (size_t c = 0; c < k; ++c) share[r * k + c] = row ? static_cast<double>(counts[r * k + c]) / row : 0.0;
  }
  const int cell = k <= 10 ? 56 : std::max(14, 560 / static_cast<int>(k));
  const double font = std::min(14.0, cell * 0.3);
  int label_w = 0;
  for (auto& n : class_names) label_w = std::max(label_w, plot::text_width(n, 14));
  const int left = label_w + 60, top = 60, grid = cell * static_cast<int>(k);
  int64_t total = 0, correct = 0;
  for (size_t r = 0; r < k; ++r)
    for (size_t c = 0; c < k; ++c) {
      total += counts[r * k + c];
      if (r == c) correct += counts[r * k + c];
    }
  char title[96];
  std::snprintf(title, sizeof title, "confusion matrix, test set: %lld of %lld correct (%.2f %%)",
                static_cast<long long>(correct), static_cast<long long>(total), total ? 100.0 * correct / total : 0.0);
  plot::Image img(std::max(left + grid + 30, plot::text_width(title, 16) + 40), top + grid + label_w + 70);
  const plot::Image cells = plot::render_cells(share, k, k, plot::Colormap::viridis, 0, 1, cell);
  img.paste(cells, left, top);
  for (size_t r = 0; r < k; ++r)
    for (size_t c = 0; c < k; ++c) {
      const plot::Rgb ink = share[r * k + c] > 0.6 ? plot::colours::black : plot::colours::white;
      if (cell >= 28)
        plot::draw_text(img, std::to_string(counts[r * k + c]), left + static_cast<int>(c) * cell + cell / 2,
                        top + static_cast<int>(r) * cell + cell / 2, font, ink, plot::HAlign::centre, plot::VAlign::middle);
    }
  for (size_t i = 0; i < k; ++i) {
    plot::draw_text(img, class_names[i], left - 8, top + static_cast<int>(i) * cell + cell / 2, 14, plot::colours::text,
                    plot::HAlign::right, plot::VAlign::middle);
    plot::draw_text(img, class_names[i], left + static_cast<int>(i) * cell + cell / 2, top + grid + 8, 14,
                    plot::colours::text, plot::HAlign::right, plot::VAlign::middle, true);
  }
  plot::draw_text(img, title, 20, 28, 16, plot::colours::text, plot::HAlign::left, plot::VAlign::middle);
  plot::draw_text(img, "true class (rows)", 18, top + grid / 2, 14, plot::colours::text, plot::HAlign::centre,
                  plot::VAlign::middle, true);
  plot::draw_text(img, "predicted class (columns)", left + grid / 2, img.height() - 16, 14, plot::colours::text,
                  plot::HAlign::centre, plot::VAlign::middle);
  const std::string path = dir + "/confusion_matrix.png";
  plot::save_png(path, img);
  return path;
}

}  // namespace xlax::cli
