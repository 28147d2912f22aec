// Shared helpers of the data tests: scratch files, images, running the adallava binary.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "common/error.h"
#include "support/paths.h"

namespace adallava::test {

inline void write_file(const std::string& path, const std::string& contents) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << contents;
}

// A small image whose pixels depend on `seed`, in the format the extension names.
inline void write_image(const std::string& path, int width, int height, int seed) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  cv::Mat img(height, width, CV_8UC3);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      img.at<cv::Vec3b>(y, x) =
          cv::Vec3b((x * 7 + seed) % 256, (y * 5 + seed * 3) % 256, (x + y + seed * 11) % 256);
  if (!cv::imwrite(path, img)) throw Error("cannot write test image " + path);
}

struct CommandResult {
  int exit_code = -1;
  std::string out;
};

// Runs the adallava binary with `args` (shell syntax); stdout captured, stderr appended to it.
inline CommandResult run_adallava(const std::string& args) {
  CommandResult r;
  const std::string command = adallava_bin() + " " + args + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return r;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) r.out.append(buffer, n);
  const int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

inline std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}

}  // namespace adallava::test
