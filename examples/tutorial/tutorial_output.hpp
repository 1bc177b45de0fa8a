// What every tutorial program shares besides the computations: where the pictures go.
#pragma once

#include <exception>
#include <filesystem>
#include <functional>
#include <iostream>
#include <string>

namespace xlax::tutorial {

// The folder named by the first argument, else the current folder; created if missing,
// printed so the user knows where to look.
inline std::string prepare_output_folder(int argc, char** argv) {
  namespace fs = std::filesystem;
  const fs::path folder = argc > 1 ? fs::path(argv[1]) : fs::current_path();
  fs::create_directories(folder);
  std::cout << "output folder: " << fs::absolute(folder).lexically_normal().string() << "\n";
  return folder.string();
}

inline std::string picture_path(const std::string& folder, const std::string& file) {
  const std::string path = (std::filesystem::path(folder) / file).string();
  std::cout << "wrote " << path << "\n";
  return path;
}

// Runs a program body and turns any exception into a message and exit status 1.
inline int run_program(const char* name, const std::function<void()>& body) {
  try {
    body();
    return 0;
  } catch (const std::exception& e) {
    std::cerr << name << ": " << e.what() << "\n";
    return 1;
  }
}

}  // namespace xlax::tutorial
