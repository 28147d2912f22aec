// Shared helpers of the data tests: scratch files, images, running the adallava binary
// (support/cli_run.h).
#pragma once

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "common/error.h"
#include "support/cli_run.h"
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

inline std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}

}  // namespace adallava::test
